package plugin

import (
	"os/exec"
	"syscall"
)

// pluginCommand runs a plugin binary that the kernel kills if the daemon
// dies without stopping it (SIGKILL, OOM): a plugin left behind would keep
// delivering notifications or holding the push port for nobody.
func pluginCommand(path string) *exec.Cmd {
	cmd := exec.Command(path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}
