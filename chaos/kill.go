package chaos

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/videojobs/videojobs/internal/localstack"
)

// KillPoolOptions configures [StartKillPool].
type KillPoolOptions struct {
	Name      string
	RIEBin    string
	Bootstrap string
	// Env is the function's whole environment.
	Env map[string]string
	// Size is the number of RIE processes (concurrent invocations); default 1.
	Size   int
	LogDir string
	// Seed makes the kill draws reproducible for a given invocation order.
	Seed int64
	// MaxDelay bounds how long after an invocation starts its process is
	// killed; default from the function's typical duration (killDelays).
	MaxDelay time.Duration
}

// killDelays are the upper bounds of the kill delay, about half a typical
// warm invocation on this machine, so most kills land while the handler is
// between its reads and its writes.
var killDelays = map[string]time.Duration{"webhook": 40 * time.Millisecond, "watch": 30 * time.Millisecond, "store": 80 * time.Millisecond}

// KillStats counts one function's invocations and the kills aimed at them.
type KillStats struct {
	Invocations int
	// Attempted: invocations drawn for a kill.
	Attempted int
	// Landed: the process was killed while the invocation ran, and the
	// invocation failed (Runtime.ExitError) as a crashed Lambda does.
	Landed int
	// Missed: the invocation finished before the kill was due; nothing was
	// killed.
	Missed int
}

// KillPool is a localstack.Invoker that runs one function on Size
// single-process RIEs. Because each RIE serves one invocation at a time and
// the pool knows which one it handed out, it can SIGKILL exactly the
// function process (the RIE's child) serving a given invocation. The RIE
// then reports Runtime.ExitError and starts a fresh process on the next
// invocation, as Lambda replaces a crashed execution environment.
//
// localstack's own RIE pool hides which process serves an invocation, so
// its PIDs alone cannot aim a kill at one invocation; hence this pool.
type KillPool struct {
	name     string
	procs    []*localstack.RIE
	idle     chan *localstack.RIE
	maxDelay time.Duration

	mu    sync.Mutex
	rng   *rand.Rand
	prob  float64
	stats KillStats
}

var _ localstack.Invoker = (*KillPool)(nil)

// StartKillPool starts the pool's RIE processes. Kills are off until
// SetProbability.
func StartKillPool(ctx context.Context, opts KillPoolOptions) (*KillPool, error) {
	if opts.Size < 1 {
		opts.Size = 1
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = killDelays[opts.Name]
		if opts.MaxDelay <= 0 {
			opts.MaxDelay = 30 * time.Millisecond
		}
	}
	h := fnv.New64a()
	h.Write([]byte(opts.Name))
	p := &KillPool{
		name:     opts.Name,
		idle:     make(chan *localstack.RIE, opts.Size),
		maxDelay: opts.MaxDelay,
		rng:      rand.New(rand.NewPCG(uint64(opts.Seed), h.Sum64())),
	}
	env := make([]string, 0, len(opts.Env))
	for _, k := range slices.Sorted(maps.Keys(opts.Env)) {
		env = append(env, k+"="+opts.Env[k])
	}
	for i := range opts.Size {
		r, err := localstack.StartRIE(ctx, localstack.RIEOptions{
			Bin: opts.RIEBin, Name: opts.Name, Bootstrap: opts.Bootstrap, Env: env,
			// One process per RIE, so each gets its own log name.
			LogDir: opts.LogDir + "/" + opts.Name + "-" + strconv.Itoa(i),
		})
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("kill pool %s: %w", opts.Name, err)
		}
		p.procs = append(p.procs, r)
		p.idle <- r
	}
	return p, nil
}

// SetProbability sets the chance that an invocation is killed.
func (p *KillPool) SetProbability(prob float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prob = prob
}

// Stats returns the counts so far.
func (p *KillPool) Stats() KillStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// LogPaths lists the process logs.
func (p *KillPool) LogPaths() []string {
	var out []string
	for _, r := range p.procs {
		out = append(out, r.LogPaths()...)
	}
	return out
}

// Close stops every process.
func (p *KillPool) Close() {
	for _, r := range p.procs {
		r.Close()
	}
}

// draw decides whether this invocation is killed and when. A pool that has
// not landed a kill after ten invocations forces one, so even a short run
// crashes every killable function at least once.
func (p *KillPool) draw() (bool, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Invocations++
	if p.prob <= 0 {
		return false, 0
	}
	u := p.rng.Float64()
	force := p.stats.Landed == 0 && p.stats.Invocations >= 10
	if u >= p.prob && !force {
		return false, 0
	}
	p.stats.Attempted++
	return true, time.Duration(p.rng.Int64N(int64(p.maxDelay))) + time.Millisecond
}

func (p *KillPool) record(landed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if landed {
		p.stats.Landed++
	} else {
		p.stats.Missed++
	}
}

// Invoke implements localstack.Invoker.
func (p *KillPool) Invoke(ctx context.Context, payload []byte) (localstack.Response, error) {
	var r *localstack.RIE
	select {
	case r = <-p.idle:
	case <-ctx.Done():
		return localstack.Response{}, fmt.Errorf("invoke %s: %w", p.name, ctx.Err())
	}
	defer func() { p.idle <- r }()
	kill, delay := p.draw()
	if !kill {
		return r.Invoke(ctx, payload)
	}
	type result struct {
		resp localstack.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := r.Invoke(ctx, payload)
		done <- result{resp, err}
	}()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case res := <-done:
		p.record(false)
		return res.resp, res.err
	case <-timer.C:
	}
	killed := 0
	for _, pid := range r.PIDs() {
		killed += killChildren(pid)
	}
	res := <-done
	p.record(killed > 0 && res.resp.FunctionError != "")
	return res.resp, res.err
}

// killChildren SIGKILLs every process whose parent is pid (the RIE's
// function process) and returns how many it signalled. Only PIDs the pool
// itself started are ever parents here.
func killChildren(pid int) int {
	n := 0
	for _, c := range childrenOf(pid) {
		if syscall.Kill(c, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if ppid, ok := parentFromStat(string(b)); ok && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// parentFromStat reads the parent PID from a /proc/<pid>/stat line. The
// command name (field 2) is in parentheses and may hold spaces or ')', so
// fields are counted after its last ')': state, then ppid.
func parentFromStat(stat string) (int, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}
