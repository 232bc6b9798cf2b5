package host

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel SIGKILL the plugin when runtimectl dies,
// however it dies (SIGKILL included), so a plugin never outlives it. The
// signal is tied to the OS thread that forked the child; Go keeps its
// threads for the life of the process unless a goroutine locked to one
// exits, which runtimectl does not do.
func setPdeathsig(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
