package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/localapi"
	"github.com/videojobs/videojobs/internal/localstack"
	"github.com/videojobs/videojobs/internal/simulator"
)

// Functions are the five Lambdas, in build order.
var Functions = []string{"submit", "webhook", "watch", "store", "jobs"}

// Killable are the functions whose processes the harness may kill mid-
// invocation: the ones the gateway or the workflow retries, so a crash there
// must cost nothing but time.
var Killable = []string{"webhook", "watch", "store"}

// defaultConcurrency is how many warm execution environments (RIE
// processes) each function gets: enough for ~40 jobs in flight on two
// cores. submit has three because a create that hangs holds one for up to
// the client's timeout.
var defaultConcurrency = map[string]int{"submit": 3, "jobs": 2, "webhook": 4, "watch": 3, "store": 2}

// Options configures [StartSystem].
type Options struct {
	// Root is the repository root; "" finds it from the working directory.
	Root string
	// Dir receives the build output and every log (moto.log,
	// rie/<fn>-<i>.log, sim.log, stack.log); "" makes a temporary directory
	// that Close removes unless KeepDir is set.
	Dir     string
	KeepDir bool
	// RIEBin is the aws-lambda-rie executable; "" looks in $RIE_BIN,
	// <root>/.cache/bin and $PATH.
	RIEBin string
	// Seed drives the simulator (job ids, fault draws, content) and the
	// harness's own choices.
	Seed int64
	// TimeScale speeds up the simulator's jobs and webhook retries; 0 means 60.
	TimeScale float64
	// HangFor is how long a hanging gateway call is held (create timeouts,
	// poll hangs); 0 means 4 s, below every client timeout in the functions.
	HangFor time.Duration
	// Env adds to every function's environment.
	Env map[string]string
	// Concurrency overrides RIE processes per function.
	Concurrency map[string]int
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// System is the running local stack with handles for driving and
// inspecting it.
type System struct {
	Stack *localstack.Stack
	Sim   *simulator.Server
	API   *localapi.Client
	Jobs  *jobstore.Store
	S3    *s3.Client
	SFN   *sfn.Client
	// Dir holds the logs.
	Dir  string
	Seed int64

	pools   map[string]*KillPool
	files   []*os.File
	removes string
}

// ErrToolsAbsent wraps localstack.ErrNotInstalled: moto_server or the RIE is
// missing, so callers (tests) skip rather than fail.
var ErrToolsAbsent = localstack.ErrNotInstalled

// StartSystem builds the five bootstraps for this host and starts the whole
// stack. webhook, watch and store run on [KillPool]s of single-process RIEs,
// so [System.SetKill] can crash exactly the process serving an invocation;
// submit and jobs run on the stack's own RIE pools.
func StartSystem(ctx context.Context, opts Options) (_ *System, err error) {
	if opts.Root == "" {
		if opts.Root, err = RepoRoot(); err != nil {
			return nil, err
		}
	}
	rie, err := findRIE(opts.Root, opts.RIEBin)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		return nil, fmt.Errorf("moto_server absent (pip install \"moto[server]\", make tools): %w", ErrToolsAbsent)
	}
	s := &System{Dir: opts.Dir, Seed: opts.Seed, pools: map[string]*KillPool{}}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "videojobs-chaos-"); err != nil {
			return nil, fmt.Errorf("chaos dir: %w", err)
		}
		if !opts.KeepDir {
			s.removes = s.Dir
		}
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	logf := opts.Log
	if logf == nil {
		logf = io.Discard
	}
	start := time.Now()
	bins, err := BuildBootstraps(ctx, opts.Root, filepath.Join(s.Dir, "bin"))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "chaos: built %d bootstraps in %s\n", len(bins), time.Since(start).Round(100*time.Millisecond))

	simLog, err := s.create("sim.log")
	if err != nil {
		return nil, err
	}
	stackLog, err := s.create("stack.log")
	if err != nil {
		return nil, err
	}
	conc := maps.Clone(defaultConcurrency)
	maps.Copy(conc, opts.Concurrency)
	scale := opts.TimeScale
	if scale == 0 {
		scale = 60
	}
	hang := opts.HangFor
	if hang == 0 {
		hang = 4 * time.Second
	}
	fns := map[string]localstack.Function{}
	for _, fn := range []string{"submit", "jobs"} {
		fns[fn] = localstack.Function{Bootstrap: bins[fn], Concurrency: conc[fn]}
	}
	env := map[string]string{
		// The back-off cap at its lowest allowed value (the gateway's
		// poll_after_seconds), so failed polls cost as little time as possible.
		"POLL_INTERVAL_CAP_SECONDS": "20",
	}
	maps.Copy(env, opts.Env)
	st, err := localstack.Start(ctx, localstack.Options{
		Dir:       s.Dir,
		RIEBin:    rie,
		Functions: fns,
		NewSimulator: func(c localstack.SimulatorConfig) (http.Handler, error) {
			s.Sim = simulator.New(simulator.Config{
				TimeScale: scale,
				Seed:      opts.Seed,
				APIKey:    c.APIKey,
				BaseURL:   c.BaseURL,
				HangFor:   hang,
				Logger:    slog.New(slog.NewJSONHandler(simLog, nil)),
			})
			return s.Sim, nil
		},
		Env: env,
		Log: slog.New(slog.NewJSONHandler(stackLog, nil)),
	})
	if err != nil {
		return nil, err
	}
	s.Stack = st
	fnEnv := st.FunctionEnv()
	maps.Copy(fnEnv, env)
	for _, fn := range Killable {
		p, err := StartKillPool(ctx, KillPoolOptions{
			Name: fn, RIEBin: rie, Bootstrap: bins[fn], Env: fnEnv, Size: conc[fn],
			LogDir: filepath.Join(s.Dir, "rie"), Seed: opts.Seed,
		})
		if err != nil {
			return nil, err
		}
		s.pools[fn] = p
		st.Lambda().Register(fn, p)
	}
	cfg := localstack.AWSConfig(st.MotoURL())
	s.Jobs = jobstore.New(dynamodb.NewFromConfig(cfg), st.Resources.TableName)
	s.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	s.SFN = sfn.NewFromConfig(cfg)
	s.API = localapi.New(st.APIURL())
	fmt.Fprintf(logf, "chaos: stack up in %s (logs in %s)\n", time.Since(start).Round(100*time.Millisecond), s.Dir)
	return s, nil
}

func (s *System) create(name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(s.Dir, name))
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	s.files = append(s.files, f)
	return f, nil
}

// SetKill sets, per killable function, the probability that an invocation
// has its process killed mid-way; absent functions are never killed.
func (s *System) SetKill(probs map[string]float64) {
	for name, p := range s.pools {
		p.SetProbability(probs[name])
	}
}

// KillStats reports the kills so far, by function.
func (s *System) KillStats() map[string]KillStats {
	out := map[string]KillStats{}
	for name, p := range s.pools {
		out[name] = p.Stats()
	}
	return out
}

// LogPaths lists every function process log, by function.
func (s *System) LogPaths() map[string][]string {
	out := map[string][]string{}
	for _, fn := range Functions {
		if p, ok := s.pools[fn]; ok {
			out[fn] = p.LogPaths()
			continue
		}
		if r, ok := s.Stack.RIE(fn); ok {
			out[fn] = r.LogPaths()
		}
	}
	return out
}

// Close stops everything the system started.
func (s *System) Close() {
	if s.Stack != nil {
		s.Stack.Close()
	}
	for _, name := range slices.Sorted(maps.Keys(s.pools)) {
		s.pools[name].Close()
	}
	for _, f := range s.files {
		f.Close()
	}
	if s.removes != "" {
		_ = os.RemoveAll(s.removes)
	}
}

// RepoRoot finds the module root (the directory holding go.mod) from the
// working directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repo root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "functions")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repo root: no go.mod with functions/ above the working directory")
		}
		dir = parent
	}
}

func findRIE(root, given string) (string, error) {
	for _, p := range []string{given, os.Getenv("RIE_BIN"), filepath.Join(root, ".cache", "bin", "aws-lambda-rie")} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("aws-lambda-rie absent (make tools installs it into .cache/bin): %w", ErrToolsAbsent)
}

// BuildBootstraps builds every function for this host the way `make build`
// does for Lambda into dir/<fn>/bootstrap, in one go command so the build
// cache and the two cores are shared.
func BuildBootstraps(ctx context.Context, root, dir string) (map[string]string, error) {
	pkgs := make([]string, 0, len(Functions))
	for _, fn := range Functions {
		pkgs = append(pkgs, "./functions/"+fn)
	}
	return localstack.Build(ctx, root, dir, pkgs...)
}
