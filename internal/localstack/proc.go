package localstack

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Loopback is the only address the local stack binds.
const Loopback = "127.0.0.1"

// freePort asks the kernel for an unused loopback port. The port is released
// before the caller's child binds it, so a rare race is possible; callers that
// start children retry on an early exit.
func freePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(Loopback, "0"))
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func hostPort(port int) string { return net.JoinHostPort(Loopback, strconv.Itoa(port)) }

// child is a process started in its own process group, so that stopping it
// also stops whatever it started (the RIE forks the function's bootstrap).
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done is closed

	stopOnce sync.Once
}

// startChild starts cmd in a new process group with its stdout and stderr
// sent to the given writers. The child gets SIGKILL if this process dies, so a crashed test leaves
// no servers behind.
func startChild(cmd *exec.Cmd, stdout, stderr io.Writer) (*child, error) {
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// exited reports whether the child has already ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the child's process group, then SIGKILL after grace.
// It returns once the child has been reaped.
func (c *child) stop(grace time.Duration) {
	c.stopOnce.Do(func() {
		pgid := c.cmd.Process.Pid
		if c.exited() {
			// The leader is gone but members of its group may live on.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(grace):
		}
		// Always sweep the group: the RIE's bootstrap may ignore SIGTERM.
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			_ = c.cmd.Process.Kill()
		}
		<-c.done
	})
}

// openLog creates (truncating) a log file for a child.
func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	return f, nil
}

// waitTCP waits until addr accepts connections, the child exits, or timeout.
func waitTCP(addr string, c *child, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if c != nil && c.exited() {
			return fmt.Errorf("wait for %s: process exited: %v", addr, c.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: not listening after %s", addr, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
