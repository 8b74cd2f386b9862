package localstack

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// ErrNotInstalled reports that an emulator binary is absent. Tests skip on it.
var ErrNotInstalled = errors.New("not installed")

// motoPatch starts moto's server with a fix for a moto bug; see the file.
//
//go:embed motopatch.py
var motoPatch string

// MotoOptions configures [StartMoto].
type MotoOptions struct {
	// Python is the interpreter that has moto installed; default "python3".
	// Moto runs as `python -c <motopatch.py> -H 127.0.0.1 -p <port>`, which is
	// moto_server with two fixes: a state machine can run more than one
	// execution, and DynamoDB conditional writes are atomic.
	Python string
	// LambdaPort is written to MOTO_PORT. Moto's Step Functions executor sends
	// Lambda and EventBridge calls to http://localhost:$MOTO_PORT, so this is
	// the port of the [LambdaFront]. Zero leaves MOTO_PORT as moto's own port
	// (task states calling Lambda will then fail).
	LambdaPort int
	// LogPath receives moto's output; empty means os.DevNull.
	LogPath string
}

// Moto is a running moto server.
type Moto struct {
	url   string
	port  int
	child *child
	log   *os.File
}

// StartMoto starts moto_server on a free loopback port, waits until it
// answers, and turns on real ASL execution for Step Functions.
func StartMoto(ctx context.Context, opts MotoOptions) (*Moto, error) {
	python := opts.Python
	if python == "" {
		python = "python3"
	}
	path, err := exec.LookPath(python)
	if err != nil {
		return nil, fmt.Errorf("moto server: %s: %w", python, ErrNotInstalled)
	}
	if err := exec.CommandContext(ctx, path, "-c", "import moto.server, moto.stepfunctions.models").Run(); err != nil {
		return nil, fmt.Errorf("moto server: %s cannot import moto (pip install \"moto[server]\"): %w", python, ErrNotInstalled)
	}
	logPath := opts.LogPath
	if logPath == "" {
		logPath = os.DevNull
	} else if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("moto log dir: %w", err)
	}

	var lastErr error
	// A second try covers the small window in which another process can take
	// the free port before moto binds it.
	for range 2 {
		m, err := startMotoOnce(ctx, path, logPath, opts.LambdaPort)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func startMotoOnce(ctx context.Context, path, logPath string, lambdaPort int) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if lambdaPort == 0 {
		lambdaPort = port
	}
	logf, err := openLog(logPath)
	if err != nil {
		return nil, err
	}
	// moto_server reads its default port from MOTO_PORT, so the port must be
	// given explicitly when MOTO_PORT points elsewhere.
	cmd := exec.Command(path, "-c", motoPatch, "-H", Loopback, "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(),
		"MOTO_PORT="+strconv.Itoa(lambdaPort),
		"PYTHONUNBUFFERED=1",
	)
	c, err := startChild(cmd, logf, logf)
	if err != nil {
		logf.Close()
		return nil, err
	}
	m := &Moto{url: "http://" + hostPort(port), port: port, child: c, log: logf}
	if err := m.waitReady(ctx, 60*time.Second); err != nil {
		m.Close()
		return nil, fmt.Errorf("start moto: %w", err)
	}
	if err := m.postConfig(ctx, `{"stepfunctions":{"execute_state_machine":true}}`); err != nil {
		m.Close()
		return nil, fmt.Errorf("start moto: %w", err)
	}
	return m, nil
}

func (m *Moto) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/moto-api/config", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			// The config endpoint answers 201 to GET and POST alike.
			if resp.StatusCode/100 == 2 {
				return nil
			}
		}
		if m.child.exited() {
			return fmt.Errorf("moto exited before answering (see its log): %v", m.child.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("moto not ready after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (m *Moto) postConfig(ctx context.Context, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url+"/moto-api/config", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("configure moto: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("configure moto: status %d: %s", resp.StatusCode, b)
	}
	return nil
}

// URL is moto's own endpoint (http://127.0.0.1:<port>).
func (m *Moto) URL() string { return m.url }

// Port is moto's own port.
func (m *Moto) Port() int { return m.port }

// PID is the moto process id (also its process group id).
func (m *Moto) PID() int { return m.child.cmd.Process.Pid }

// Close stops moto and its process group.
func (m *Moto) Close() {
	m.child.stop(3 * time.Second)
	m.log.Close()
}
