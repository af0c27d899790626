package h2test

import (
	"os/exec"
	"syscall"
)

func init() {
	dieWithParent = func(cmd *exec.Cmd) {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
}
