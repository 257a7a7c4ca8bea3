//go:build !linux

package plugin

import "os/exec"

// pluginCommand runs a plugin binary. Only Linux can tie the plugin's life
// to the daemon's; elsewhere a plugin outlives a daemon that is killed.
func pluginCommand(path string) *exec.Cmd { return exec.Command(path) }
