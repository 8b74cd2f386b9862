//go:build unix

package mototest

import (
	"os/exec"
	"syscall"
)

// newGroup puts the server in a process group of its own: moto_server is
// often a pyenv or venv shim that starts python as a child, and killing the
// group stops both.
func newGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the process group led by cmd's PID.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
