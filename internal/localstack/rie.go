package localstack

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// RIEOptions configures [StartRIE].
type RIEOptions struct {
	// Bin is the aws-lambda-rie executable (see scripts/install-rie.sh).
	Bin string
	// Name is the function name (AWS_LAMBDA_FUNCTION_NAME, log file names).
	Name string
	// Bootstrap is the function's bootstrap binary.
	Bootstrap string
	// Env is the function's environment, "KEY=value" entries. The RIE passes
	// its own environment to the function, so the process gets only these
	// plus PATH and the AWS_LAMBDA_* basics; nothing leaks from the host.
	Env []string
	// Concurrency is the number of RIE processes. The RIE serves one
	// invocation at a time, so N processes serve N concurrent invocations,
	// as N warm Lambda execution environments would. Default 1.
	Concurrency int
	// Timeout is the function timeout (AWS_LAMBDA_FUNCTION_TIMEOUT); default 30 s.
	Timeout time.Duration
	// LogDir receives <name>-<i>.log per process: the RIE's own lines, the
	// function's stdout/stderr and the START/END/REPORT lines.
	LogDir string
}

// RIE is a pool of Runtime Interface Emulator processes running one function.
type RIE struct {
	name   string
	procs  []*rieProc
	idle   chan *rieProc
	client *http.Client
}

type rieProc struct {
	url     string
	logPath string
	child   *child
	log     *os.File
}

// StartRIE starts opts.Concurrency RIE processes for one function and waits
// until each accepts invocations. The function itself starts lazily on the
// first invocation of each process, as a cold Lambda does.
func StartRIE(ctx context.Context, opts RIEOptions) (*RIE, error) {
	if opts.Bin == "" {
		return nil, fmt.Errorf("rie for %s: no binary given: %w", opts.Name, ErrNotInstalled)
	}
	if _, err := os.Stat(opts.Bin); err != nil {
		return nil, fmt.Errorf("rie %s: %w (run scripts/install-rie.sh)", opts.Bin, ErrNotInstalled)
	}
	if _, err := os.Stat(opts.Bootstrap); err != nil {
		return nil, fmt.Errorf("rie for %s: bootstrap: %w", opts.Name, err)
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.LogDir == "" {
		opts.LogDir = os.TempDir()
	}
	if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("rie log dir: %w", err)
	}
	r := &RIE{
		name: opts.Name,
		idle: make(chan *rieProc, opts.Concurrency),
		// No client timeout: the RIE enforces the function timeout itself.
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.Concurrency}},
	}
	for i := range opts.Concurrency {
		p, err := startRIEProc(ctx, opts, i)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.procs = append(r.procs, p)
		r.idle <- p
	}
	return r, nil
}

func startRIEProc(ctx context.Context, opts RIEOptions, i int) (*rieProc, error) {
	bootstrap, err := filepath.Abs(opts.Bootstrap)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 2 { // a second try covers losing a free port to another process
		apiPort, err := freePort()
		if err != nil {
			return nil, err
		}
		runtimePort, err := freePort()
		if err != nil {
			return nil, err
		}
		logPath := filepath.Join(opts.LogDir, fmt.Sprintf("%s-%d.log", opts.Name, i))
		logf, err := openLog(logPath)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(opts.Bin,
			"--runtime-interface-emulator-address", hostPort(apiPort),
			"--runtime-api-address", hostPort(runtimePort),
			bootstrap)
		cmd.Dir = filepath.Dir(bootstrap)
		cmd.Env = append([]string{
			"PATH=" + os.Getenv("PATH"),
			"AWS_LAMBDA_FUNCTION_NAME=" + opts.Name,
			"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(opts.Timeout/time.Second)),
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
			"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + opts.Name,
			"AWS_LAMBDA_LOG_STREAM_NAME=local-" + strconv.Itoa(i),
		}, opts.Env...)
		c, err := startChild(cmd, logf, logf)
		if err != nil {
			logf.Close()
			return nil, err
		}
		p := &rieProc{url: "http://" + hostPort(apiPort) + "/2015-03-31/functions/function/invocations", logPath: logPath, child: c, log: logf}
		if err := waitTCP(hostPort(apiPort), c, 10*time.Second); err != nil {
			p.stop()
			lastErr = fmt.Errorf("start rie for %s: %w", opts.Name, err)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		return p, nil
	}
	return nil, lastErr
}

func (p *rieProc) stop() {
	p.child.stop(2 * time.Second)
	p.log.Close()
}

// Invoke implements [Invoker]. It waits for an idle process, so at most
// Concurrency invocations run at once and the rest queue, as with reserved
// concurrency (without the throttle).
func (r *RIE) Invoke(ctx context.Context, payload []byte) (Response, error) {
	var p *rieProc
	select {
	case p = <-r.idle:
	case <-ctx.Done():
		return Response{}, fmt.Errorf("invoke %s: %w", r.name, ctx.Err())
	}
	defer func() { r.idle <- p }()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(payload))
	if err != nil {
		return Response{}, fmt.Errorf("invoke %s: %w", r.name, err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("invoke %s: %w", r.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("invoke %s: read response: %w", r.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		// The RIE uses 5xx for a runtime that crashed or timed out (a function
		// error in Lambda terms) and 4xx for its own state errors.
		if resp.StatusCode >= 500 {
			return errorResponse(&FunctionError{Type: "Runtime.ExitError", Message: fmt.Sprintf("rie status %d: %s", resp.StatusCode, truncate(body, 200))}), nil
		}
		return Response{}, fmt.Errorf("invoke %s: rie status %d: %s", r.name, resp.StatusCode, truncate(body, 200))
	}
	if bytes.HasPrefix(body, []byte("Task timed out after")) {
		return errorResponse(&FunctionError{Type: "Sandbox.Timedout", Message: string(body)}), nil
	}
	out := Response{Payload: body}
	if isFunctionError(body) {
		out.FunctionError = "Unhandled"
	}
	return out, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// LogPaths lists the per-process log files.
func (r *RIE) LogPaths() []string {
	paths := make([]string, len(r.procs))
	for i, p := range r.procs {
		paths[i] = p.logPath
	}
	return paths
}

// PIDs lists the RIE process ids (each also a process group id).
func (r *RIE) PIDs() []int {
	pids := make([]int, len(r.procs))
	for i, p := range r.procs {
		pids[i] = p.child.cmd.Process.Pid
	}
	return pids
}

// Close stops every RIE process and the function processes they started.
func (r *RIE) Close() {
	for _, p := range r.procs {
		p.stop()
	}
}

// Report is one invocation's REPORT line from an RIE log.
type Report struct {
	RequestID string
	// Init is the function's initialisation time for the invocation that
	// started it (zero for warm invocations), taken from the emulator's
	// "INIT REPORT(durationMs: …)" line: the REPORT line's own
	// "Init Duration" is measured around an asynchronous call and reads ~0.
	Init     time.Duration
	Duration time.Duration
	LogPath  string
}

var (
	initReportRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	reportRE     = regexp.MustCompile(`^REPORT RequestId: (\S+)\t(?:Init Duration: [0-9.]+ ms\t)?Duration: ([0-9.]+) ms`)
)

// Reports parses the REPORT lines of every process log, in log order per
// process. Cold-start benchmarks read Init from the first report of each
// process.
func (r *RIE) Reports() ([]Report, error) {
	var all []Report
	for _, p := range r.procs {
		reps, err := ParseReports(p.logPath)
		if err != nil {
			return nil, err
		}
		all = append(all, reps...)
	}
	return all, nil
}

// ParseReports reads one RIE log file.
func ParseReports(path string) ([]Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read rie log: %w", err)
	}
	defer f.Close()
	var out []Report
	var pendingInit time.Duration
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if m := initReportRE.FindStringSubmatch(line); m != nil {
			pendingInit = msDuration(m[1])
			continue
		}
		if !strings.HasPrefix(line, "REPORT ") {
			continue
		}
		m := reportRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		out = append(out, Report{RequestID: m[1], Init: pendingInit, Duration: msDuration(m[2]), LogPath: path})
		pendingInit = 0
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read rie log %s: %w", path, err)
	}
	return out, nil
}

func msDuration(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return time.Duration(f * float64(time.Millisecond))
}
