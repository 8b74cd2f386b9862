//go:build !unix

package mototest

import "os/exec"

func newGroup(*exec.Cmd) {}

// killGroup kills the server by its PID; without process groups a shim's
// child may outlive it.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
}
