package localstack

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Function is a Lambda function run from its bootstrap binary under the RIE.
type Function struct {
	Bootstrap string
	// Env adds to (and overrides) the stack's environment for this function.
	Env map[string]string
	// Concurrency is the number of RIE processes; default 1.
	Concurrency int
	// Timeout is the function timeout; default 30 s.
	Timeout time.Duration
}

// Options configures [Start].
type Options struct {
	// Dir holds logs (moto.log, rie/<fn>-<i>.log, sim.log); default a new
	// temporary directory, removed by Close.
	Dir string
	// Python is the interpreter with moto installed; default "python3".
	Python string
	// RIEBin is the aws-lambda-rie executable; needed when Functions is set.
	RIEBin string
	// Functions run under the RIE, by function name (submit, webhook, …).
	Functions map[string]Function
	// Handlers run in-process, by function name; they take precedence over
	// Functions of the same name (tests use them as stubs).
	Handlers map[string]Invoker
	// Routes of the HTTP API; default DefaultRoutes().
	Routes []Route
	// APIPort fixes the HTTP API port; 0 picks a free one.
	APIPort int
	// AlwaysBase64 makes the HTTP API base64-encode every body.
	AlwaysBase64 bool

	// The simulator: at most one of these. SimulatorURL uses one already
	// running; SimulatorCommand starts one that prints
	// AI_STATS_SIM_URL=<url> as its first stdout line (it gets the API key in
	// AI_STATS_SIM_API_KEY); NewSimulator builds an in-process handler.
	SimulatorURL     string
	SimulatorCommand []string
	NewSimulator     func(SimulatorConfig) (http.Handler, error)

	// APIKey, WebhookSecret and PreviousWebhookSecret go into Secrets
	// Manager; empty values are generated.
	APIKey                string
	WebhookSecret         string
	PreviousWebhookSecret string
	// Env adds to every function's environment (e.g. POLL_INTERVAL_CAP_SECONDS).
	Env map[string]string
	// Resources overrides resource names and the workflow definition.
	Resources ResourceOptions

	Log *slog.Logger
}

// SimulatorConfig is what an in-process simulator needs to know.
type SimulatorConfig struct {
	// BaseURL is where the handler will be served.
	BaseURL string
	// APIKey is the key the functions will send (Authorization: Bearer).
	APIKey string
}

// Stack is the running local system.
type Stack struct {
	// Resources made in moto.
	Resources Resources
	// APIKey and the webhook master secrets as stored in Secrets Manager, so
	// a caller can configure the simulator or sign test deliveries.
	APIKey                string
	WebhookSecret         string
	PreviousWebhookSecret string

	dir, ownDir string
	log         *slog.Logger
	moto        *Moto
	lambda      *LambdaFront
	api         *APIFront
	servers     []*http.Server
	lambdaURL   string
	apiURL      string
	simURL      string
	sim         *child
	simLog      *os.File
	simCloser   interface{ Close() error }
	functions   map[string]*RIE
	closeOnce   sync.Once
}

// Start brings the stack up: Lambda front, moto, HTTP API front, simulator,
// resources, and one RIE pool per function. On error everything started so
// far is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{log: opts.Log, functions: map[string]*RIE{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.dir = opts.Dir; s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "videojobs-local-"); err != nil {
			return nil, fmt.Errorf("stack dir: %w", err)
		}
		s.ownDir = s.dir
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("stack dir: %w", err)
	}

	s.lambda = NewLambdaFront(s.log)
	lambdaLn, err := net.Listen("tcp", hostPort(0))
	if err != nil {
		return nil, fmt.Errorf("lambda front: %w", err)
	}
	s.lambdaURL = s.serve(lambdaLn, s.lambda)

	s.moto, err = StartMoto(ctx, MotoOptions{
		Python:     opts.Python,
		LambdaPort: lambdaLn.Addr().(*net.TCPAddr).Port,
		LogPath:    filepath.Join(s.dir, "moto.log"),
	})
	if err != nil {
		return nil, err
	}
	if err := s.lambda.SetUpstream(s.moto.URL()); err != nil {
		return nil, err
	}

	routes := opts.Routes
	if routes == nil {
		routes = DefaultRoutes()
	}
	s.api = NewAPIFront(routes, s.lambda, APIFrontOptions{AlwaysBase64: opts.AlwaysBase64, Log: s.log})
	apiLn, err := net.Listen("tcp", hostPort(opts.APIPort))
	if err != nil {
		return nil, fmt.Errorf("http api front: %w", err)
	}
	s.apiURL = s.serve(apiLn, s.api)

	// A well-formed key (aistats_v1_sk_<kid>_<secret>) so a strict simulator
	// accepts it.
	s.APIKey = orRandom(opts.APIKey, "aistats_v1_sk_local_")
	if err := s.startSimulator(ctx, opts); err != nil {
		return nil, err
	}
	s.WebhookSecret = orRandom(opts.WebhookSecret, "whsec_local_current_")
	s.PreviousWebhookSecret = orRandom(opts.PreviousWebhookSecret, "whsec_local_previous_")
	ro := opts.Resources
	ro.APIKey, ro.WebhookSecret, ro.PreviousWebhookSecret = s.APIKey, s.WebhookSecret, s.PreviousWebhookSecret
	if s.Resources, err = CreateResources(ctx, AWSConfig(s.moto.URL()), ro); err != nil {
		return nil, err
	}

	for name, h := range opts.Handlers {
		s.lambda.Register(name, h)
	}
	env := s.FunctionEnv()
	maps.Copy(env, opts.Env)
	for _, name := range slices.Sorted(maps.Keys(opts.Functions)) {
		if _, ok := opts.Handlers[name]; ok {
			continue
		}
		fn := opts.Functions[name]
		fnEnv := maps.Clone(env)
		maps.Copy(fnEnv, fn.Env)
		rie, err := StartRIE(ctx, RIEOptions{
			Bin:         opts.RIEBin,
			Name:        name,
			Bootstrap:   fn.Bootstrap,
			Env:         envList(fnEnv),
			Concurrency: fn.Concurrency,
			Timeout:     fn.Timeout,
			LogDir:      filepath.Join(s.dir, "rie"),
		})
		if err != nil {
			return nil, err
		}
		s.functions[name] = rie
		s.lambda.Register(name, rie)
	}
	return s, nil
}

// serve runs h on l until Close and returns its base URL.
func (s *Stack) serve(l net.Listener, h http.Handler) string {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String()
}

func (s *Stack) startSimulator(ctx context.Context, opts Options) error {
	switch {
	case opts.SimulatorURL != "":
		s.simURL = strings.TrimRight(opts.SimulatorURL, "/")
	case opts.NewSimulator != nil:
		ln, err := net.Listen("tcp", hostPort(0))
		if err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		base := "http://" + ln.Addr().String()
		h, err := opts.NewSimulator(SimulatorConfig{BaseURL: base, APIKey: s.APIKey})
		if err != nil {
			ln.Close()
			return fmt.Errorf("simulator: %w", err)
		}
		// The simulator runs delivery workers and a sweep; stop them on Close.
		if c, ok := h.(interface{ Close() error }); ok {
			s.simCloser = c
		}
		s.simURL = s.serve(ln, h)
	case len(opts.SimulatorCommand) > 0:
		return s.startSimulatorProcess(ctx, opts.SimulatorCommand)
	}
	return nil
}

// startSimulatorProcess runs the simulator command and reads its URL from the
// first stdout line (AI_STATS_SIM_URL=http://…); the rest of its output goes
// to sim.log.
func (s *Stack) startSimulatorProcess(ctx context.Context, command []string) error {
	logf, err := openLog(filepath.Join(s.dir, "sim.log"))
	if err != nil {
		return err
	}
	s.simLog = logf
	pr, pw := io.Pipe()
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "AI_STATS_SIM_API_KEY="+s.APIKey)
	c, err := startChild(cmd, pw, logf)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	s.sim = c
	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(pr)
		line, _ := r.ReadString('\n')
		first <- strings.TrimSpace(line)
		_, _ = io.Copy(logf, r)
	}()
	go func() {
		<-c.done
		pw.Close()
	}()
	select {
	case line := <-first:
		url, ok := strings.CutPrefix(line, "AI_STATS_SIM_URL=")
		if !ok {
			return fmt.Errorf("simulator: first line %q lacks AI_STATS_SIM_URL=", line)
		}
		s.simURL = strings.TrimRight(url, "/")
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("simulator: no URL within 30 s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// FunctionEnv is the environment every function gets (docs/internals.md),
// before per-function additions.
func (s *Stack) FunctionEnv() map[string]string {
	env := map[string]string{
		"AWS_ENDPOINT_URL":      s.moto.URL(),
		"AWS_REGION":            Region,
		"AWS_DEFAULT_REGION":    Region,
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"METRICS_NAMESPACE":     "videojobs",
		// A model the simulator knows, so POST /jobs works without one.
		"DEFAULT_MODEL":    "google/veo-3.1-lite",
		"WEBHOOK_BASE_URL": s.apiURL,
		"EVENT_BUS_NAME":   s.Resources.EventBusName,
	}
	set := func(k, v string) {
		if v != "" {
			env[k] = v
		}
	}
	set("TABLE_NAME", s.Resources.TableName)
	set("BUCKET_NAME", s.Resources.BucketName)
	set("STATE_MACHINE_ARN", s.Resources.StateMachineARN)
	set("AISTATS_API_KEY_SECRET_ARN", s.Resources.APIKeySecretARN)
	set("WEBHOOK_MASTER_SECRET_ARN", s.Resources.WebhookSecretARN)
	set("AISTATS_BASE_URL", s.simURL)
	return env
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func orRandom(v, prefix string) string {
	if v != "" {
		return v
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// APIURL is the HTTP API base URL (also WEBHOOK_BASE_URL).
func (s *Stack) APIURL() string { return s.apiURL }

// MotoURL is moto's endpoint (AWS_ENDPOINT_URL).
func (s *Stack) MotoURL() string { return s.moto.URL() }

// LambdaURL is the Lambda front (moto's MOTO_PORT points here).
func (s *Stack) LambdaURL() string { return s.lambdaURL }

// SimulatorURL is the AI Stats simulator's base URL, empty without one.
func (s *Stack) SimulatorURL() string { return s.simURL }

// Dir is where the logs are.
func (s *Stack) Dir() string { return s.dir }

// Lambda is the Lambda front, to register or replace functions.
func (s *Stack) Lambda() *LambdaFront { return s.lambda }

// RIE returns the RIE pool running a function.
func (s *Stack) RIE(name string) (*RIE, bool) {
	r, ok := s.functions[name]
	return r, ok
}

// Ports lists every port the stack listens on, by role, for printing.
func (s *Stack) Ports() map[string]int {
	port := func(u string) int {
		_, p, err := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
		if err != nil {
			return 0
		}
		n, _ := strconv.Atoi(p)
		return n
	}
	out := map[string]int{"api": port(s.apiURL), "lambda": port(s.lambdaURL)}
	if s.moto != nil {
		out["moto"] = s.moto.Port()
	}
	if s.simURL != "" {
		out["simulator"] = port(s.simURL)
	}
	return out
}

// PIDs lists the process (and process group) ids of every child: moto, the
// RIE processes and the simulator process.
func (s *Stack) PIDs() []int {
	var pids []int
	if s.moto != nil {
		pids = append(pids, s.moto.PID())
	}
	for _, name := range slices.Sorted(maps.Keys(s.functions)) {
		pids = append(pids, s.functions[name].PIDs()...)
	}
	if s.sim != nil {
		pids = append(pids, s.sim.cmd.Process.Pid)
	}
	return pids
}

// Close stops every server and child process. Logs in a caller-given Dir
// are kept; a temporary Dir is removed.
func (s *Stack) Close() {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, srv := range s.servers {
			_ = srv.Shutdown(ctx)
		}
		if s.lambda != nil {
			s.lambda.Wait()
		}
		for _, r := range s.functions {
			r.Close()
		}
		if s.simCloser != nil {
			_ = s.simCloser.Close()
		}
		if s.sim != nil {
			s.sim.stop(2 * time.Second)
		}
		if s.simLog != nil {
			s.simLog.Close()
		}
		if s.moto != nil {
			s.moto.Close()
		}
		if s.ownDir != "" {
			_ = os.RemoveAll(s.ownDir)
		}
	})
}
