//go:build linux

package probe

import (
	"syscall"
	"unsafe"
)

// pPID is waitid's idtype for "one process by pid" (P_PID in <sys/wait.h>);
// the syscall package exports the flags but not the id types.
const pPID = 1

// canWaitNoReap says waitExited works here, so the runner may sweep a
// probe's process group safely after the probe itself exits.
const canWaitNoReap = true

// waitExited blocks until the process pid has exited WITHOUT reaping it
// (waitid with WNOWAIT). While the exited process is an unreaped zombie its
// pid — which is also its process group id — cannot be reused, so the
// runner can SIGKILL the rest of the group without any risk of hitting an
// unrelated process that happened to get the same id. exec.Cmd.Wait reaps it
// afterwards.
func waitExited(pid int) error {
	var info [128]byte // siginfo_t; contents unused, the kernel wants room for it
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return errno
		}
	}
}
