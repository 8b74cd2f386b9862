package chaos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/localapi"
	"github.com/videojobs/videojobs/internal/simulator"
)

// RunConfig configures [Run].
type RunConfig struct {
	// Jobs is how many jobs to submit.
	Jobs int
	// InFlight bounds the jobs submitted and not yet terminal; default 40.
	InFlight int
	// JobTimeout is how long one job may take before it counts as stuck;
	// default 4 min (a job whose webhooks are all lost is polled at the
	// gateway's 20 s cadence, slower while polls fail).
	JobTimeout time.Duration
	// ForgeShare is the share of jobs that get forged callbacks (one while
	// in flight, one once terminal); default 0.25, negative for none.
	ForgeShare float64
	// Profile is the simulator's fault mix; nil means Profile().
	Profile *simulator.Settings
	// Kill is the kill probability per function; nil means DefaultKill.
	Kill map[string]float64
	// Settle bounds the wait, after the last job ends, for the gateway's
	// pending retries and late copies, after which every job is read again
	// to prove no terminal state moved; default 30 s.
	Settle time.Duration
	// Progress receives a status line every 10 s; nil discards.
	Progress io.Writer
}

func (c *RunConfig) defaults() {
	if c.InFlight <= 0 {
		c.InFlight = 40
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = 4 * time.Minute
	}
	if c.ForgeShare == 0 {
		c.ForgeShare = 0.25
	}
	if c.Profile == nil {
		p := Profile()
		c.Profile = &p
	}
	if c.Kill == nil {
		c.Kill = DefaultKill
	}
	if c.Settle <= 0 {
		c.Settle = 30 * time.Second
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Run drives one seeded chaos run through sys and returns its ledger. It
// returns an error only when the run could not be carried out (the stack
// failed, the context ended); broken guarantees are in
// Ledger.Violations.
func Run(ctx context.Context, sys *System, cfg RunConfig) (*Ledger, error) {
	cfg.defaults()
	start := time.Now()
	if err := sys.Sim.Configure(*cfg.Profile); err != nil {
		return nil, fmt.Errorf("chaos: configure simulator: %w", err)
	}
	sys.SetKill(cfg.Kill)
	l := &Ledger{Seed: sys.Seed, Jobs: cfg.Jobs, Profile: *cfg.Profile, KillProbabilities: maps.Clone(cfg.Kill)}
	scripts := Scripts(sys.Seed, cfg.Jobs)
	l.Rows = make([]Row, cfg.Jobs)
	rng := rand.New(rand.NewPCG(uint64(sys.Seed), 0xf0e6e))
	forgeKinds := make([][]string, cfg.Jobs)
	for i := range forgeKinds {
		if rng.Float64() < cfg.ForgeShare {
			k := rng.IntN(len(ForgeKinds))
			forgeKinds[i] = []string{ForgeKinds[k], ForgeKinds[(k+1+rng.IntN(len(ForgeKinds)-1))%len(ForgeKinds)]}
		}
	}
	master := sys.Stack.WebhookSecret
	keyPrefix := fmt.Sprintf("chaos-%d-%d-", sys.Seed, time.Now().UnixNano())

	var (
		mu       sync.Mutex
		forged   []Forgery
		done     int
		lastID   string
		inFlight = make(chan struct{}, cfg.InFlight)
		wg       sync.WaitGroup
	)
	stopProgress, progressDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(progressDone)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				mu.Lock()
				fmt.Fprintf(cfg.Progress, "chaos: %d/%d jobs ended after %s\n", done, cfg.Jobs, time.Since(start).Round(time.Second))
				mu.Unlock()
			}
		}
	}()
	// Jobs are submitted one at a time, so the simulator numbers them in
	// index order and its seeded fault draws (keyed by that number) repeat
	// from run to run; only their waits overlap.
	for i := range cfg.Jobs {
		select {
		case inFlight <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			close(stopProgress)
			<-progressDone
			return nil, ctx.Err()
		}
		row := &l.Rows[i]
		row.Index, row.Script, row.Expected = i, scripts[i], scripts[i].Expected()
		t0 := time.Now()
		v, statuses, err := submit(ctx, sys.API, scripts[i].Prompt(i), keyPrefix+fmt.Sprint(i))
		row.SubmitStatuses = statuses
		if err != nil {
			row.Err = err.Error()
			mu.Lock()
			done++
			mu.Unlock()
			<-inFlight
			continue
		}
		row.ID, row.ProviderJobID = v.ID, v.ProviderJobID
		other := lastID
		if other == "" {
			other = NewJobID()
		}
		lastID = v.ID
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inFlight }()
			claim := "completed"
			if row.Expected == job.Stored {
				claim = "failed"
			}
			kinds := forgeKinds[i]
			sendForgery := func(n int) {
				pid := row.ProviderJobID
				if pid == "" {
					pid = "G-00000000000000000000000000"
				}
				f := forge(ctx, sys.API, kinds[n], row.ID, pid, claim, master, other, n)
				mu.Lock()
				forged = append(forged, f)
				mu.Unlock()
				row.ForgedClaims = append(row.ForgedClaims, claim)
			}
			if len(kinds) > 0 {
				sendForgery(0)
			}
			st, pid, stuck := waitTerminal(ctx, sys, row.ID, cfg.JobTimeout)
			row.FirstTerminal, row.Stuck, row.Took = st, stuck, time.Since(t0)
			if pid != "" {
				row.ProviderJobID = pid
			}
			if len(kinds) > 1 && !stuck {
				sendForgery(1)
			}
			mu.Lock()
			done++
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stopProgress)
	<-progressDone
	l.Forgeries = forged
	l.Elapsed = time.Since(start)

	// Let the gateway's retries and late copies land while faults and kills
	// are still on, then stop injecting and read the end state.
	settleUntil := time.Now().Add(cfg.Settle)
	for time.Now().Before(settleUntil) && sys.Sim.Pending() > 0 {
		sleep(ctx, 250*time.Millisecond)
	}
	l.SimPending = sys.Sim.Pending()
	sys.SetKill(nil)
	if err := sys.Sim.Configure(simulator.Settings{}); err != nil {
		return nil, fmt.Errorf("chaos: reset simulator: %w", err)
	}
	if err := collect(ctx, sys, l); err != nil {
		return nil, err
	}
	l.Total = time.Since(start)
	return l, nil
}

// submit posts one job, retrying transport errors, 5xx and 429 with the same
// Idempotency-Key as a client should.
func submit(ctx context.Context, c *localapi.Client, prompt, key string) (intake.View, []int, error) {
	body, _ := json.Marshal(map[string]string{"prompt": prompt})
	var statuses []int
	var last string
	for attempt := range 6 {
		if attempt > 0 {
			sleep(ctx, time.Duration(attempt)*time.Second)
		}
		r, err := c.Submit(ctx, body, key)
		if err != nil {
			statuses = append(statuses, 0)
			last = err.Error()
			continue
		}
		statuses = append(statuses, r.Status)
		if r.Status == http.StatusAccepted || r.Status == http.StatusOK {
			v, err := localapi.DecodeJob(r)
			return v, statuses, err
		}
		last = r.String()
		if r.Status < 500 && r.Status != http.StatusTooManyRequests {
			break
		}
	}
	return intake.View{}, statuses, fmt.Errorf("POST /jobs never accepted: %s", last)
}

// waitTerminal reads the job from the table until it is terminal.
func waitTerminal(ctx context.Context, sys *System, id string, limit time.Duration) (job.State, string, bool) {
	deadline := time.Now().Add(limit)
	var last job.State
	var pid string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		j, err := sys.Jobs.GetJob(ctx, id)
		if err == nil {
			last, pid = j.State, j.ProviderJobID
			if j.State.Terminal() {
				return j.State, pid, false
			}
		}
		sleep(ctx, time.Second+time.Duration(rand.Int64N(int64(500*time.Millisecond))))
	}
	return last, pid, true
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// collect reads the end state of every job and what the simulator, the
// table, S3, Step Functions and the function logs recorded.
func collect(ctx context.Context, sys *System, l *Ledger) error {
	providerJobs := map[string][]string{}
	for _, sj := range sys.Sim.Jobs() {
		if u, err := url.Parse(sj.WebhookURL); err == nil {
			if id := u.Query().Get("job"); id != "" {
				providerJobs[id] = append(providerJobs[id], sj.ID)
			}
		}
	}
	for i := range l.Rows {
		row := &l.Rows[i]
		if row.ID == "" {
			continue
		}
		row.ProviderJobs = len(providerJobs[row.ID])
		if row.ProviderJobs == 1 {
			row.GatewayJobID = providerJobs[row.ID][0]
		}
		if err := checkRow(ctx, sys, row); err != nil {
			return err
		}
	}
	pks, err := sys.Jobs.ScanAll(ctx)
	if err != nil {
		return fmt.Errorf("chaos: scan table: %w", err)
	}
	l.Items = len(pks)
	unknown := map[string]bool{}
	for _, f := range l.Forgeries {
		if f.UnknownJobID != "" {
			unknown[f.UnknownJobID] = true
		}
	}
	for _, pk := range pks {
		_, id, _ := strings.Cut(pk, "#")
		if strings.Contains(pk, "_forged_") || unknown[id] || unknown[strings.SplitN(id, "#", 2)[0]] {
			l.ForgedWrites = append(l.ForgedWrites, pk)
		}
	}

	l.Faults = map[string]int{}
	l.DeliveryAnswers = map[string]map[int]int{}
	for _, d := range sys.Sim.Deliveries() {
		if d.Fault == "" {
			continue
		}
		l.Faults[d.Fault]++
		if l.DeliveryAnswers[d.Fault] == nil {
			l.DeliveryAnswers[d.Fault] = map[int]int{}
		}
		l.DeliveryAnswers[d.Fault][d.Status]++
	}
	// A faulted status GET is recovered when a later GET of the same job
	// succeeds: the client's retry, the next poll or the next delivery's
	// reconcile.
	pending := map[string]int{}
	ambiguous := map[string]bool{}
	for _, r := range sys.Sim.Requests() {
		if strings.HasPrefix(r.Fault, "create.") && r.JobID != "" {
			ambiguous[r.JobID] = true
		}
		if r.Method == http.MethodGet && r.JobID != "" && strings.HasSuffix(r.Path, "/"+r.JobID) {
			switch {
			case strings.HasPrefix(r.Fault, "poll."):
				pending[r.JobID]++
				l.PollFaults++
			case r.Status == http.StatusOK:
				l.PollFaultsRecovered += pending[r.JobID]
				pending[r.JobID] = 0
			}
		}
		// A content fetch may carry several faults, comma-joined.
		for f := range strings.SplitSeq(r.Fault, ",") {
			if f != "" {
				l.Faults[f]++
			}
		}
	}
	for _, r := range l.Rows {
		if ambiguous[r.ProviderJobID] {
			l.AmbiguousAdopted++
		}
	}
	l.AmbiguousCreates = len(ambiguous)
	var logs []string
	for _, fn := range Functions {
		logs = append(logs, sys.LogPaths()[fn]...)
	}
	if l.Metrics, err = ReadMetrics(logs); err != nil {
		return err
	}
	l.Kills = sys.KillStats()
	return nil
}

// checkRow reads one job as a client sees it and checks its execution and,
// when stored, its object.
func checkRow(ctx context.Context, sys *System, row *Row) error {
	var v intake.View
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			sleep(ctx, time.Second)
		}
		if v, err = sys.API.Job(ctx, row.ID); err == nil {
			break
		}
	}
	if err != nil {
		row.Err = "read job: " + err.Error()
		return nil
	}
	row.Final = v.State
	if v.ProviderJobID != "" {
		row.ProviderJobID = v.ProviderJobID
	}
	if v.Deliveries != nil {
		row.Deliveries = *v.Deliveries
	}
	var hist []string
	for _, c := range v.History {
		hist = append(hist, fmt.Sprintf("%s→%s(%s)", c.From, c.To, c.Source))
		// Who ended the provider's part: the move to completed (stored
		// is always the workflow's) or to a failed-family state.
		if row.TerminalSource == "" && (c.To == job.Completed || c.To.Terminal() && c.To != job.Stored) {
			row.TerminalSource = string(c.Source)
		}
		if c.Reason == "reconciled" {
			row.Reconciled = true
		}
		if slices.Contains(row.ForgedClaims, string(c.To)) {
			row.ForgedSeen = true
		}
	}
	row.History = strings.Join(hist, " ")
	row.Execution = executionStatus(ctx, sys, row.ID)
	if row.Stuck || row.Final != row.Expected || row.Execution != "SUCCEEDED" && row.Execution != "none" {
		row.Trace = executionTrace(ctx, sys, row.ID)
	}
	switch {
	case row.Final == job.Stored:
		row.StoredNote = checkObject(ctx, sys, row, v)
		row.StoredOK = row.StoredNote == ""
	case row.Final.Terminal():
		out, err := sys.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: aws.String(sys.Stack.Resources.BucketName), Prefix: aws.String("videos/" + row.ID + "/")})
		if err != nil {
			return fmt.Errorf("chaos: list objects: %w", err)
		}
		if len(out.Contents) > 0 {
			row.StoredNote = fmt.Sprintf("ended %s with %d objects under videos/%s/", row.Final, len(out.Contents), row.ID)
		}
	}
	return nil
}

// executionStatus waits (briefly) for the job's execution to end and
// returns its status, "none" if it has none.
func executionStatus(ctx context.Context, sys *System, id string) string {
	arn := strings.Replace(sys.Stack.Resources.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + id
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := sys.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		var missing *sfntypes.ExecutionDoesNotExist
		switch {
		case errors.As(err, &missing):
			return "none"
		case err != nil:
			return "error: " + err.Error()
		case d.Status != sfntypes.ExecutionStatusRunning || time.Now().After(deadline):
			return string(d.Status)
		}
		sleep(ctx, 500*time.Millisecond)
	}
}

// executionTrace summarises a job's execution history for a report: the
// states entered, each failed task or Lambda call with its error, and how
// the execution ended, e.g. "Watch Poll[Runtime.ExitError] Poll Route Store".
func executionTrace(ctx context.Context, sys *System, id string) string {
	arn := strings.Replace(sys.Stack.Resources.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + id
	var parts []string
	p := sfn.NewGetExecutionHistoryPaginator(sys.SFN, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "history: " + err.Error()
		}
		for _, ev := range page.Events {
			switch {
			case ev.StateEnteredEventDetails != nil:
				parts = append(parts, aws.ToString(ev.StateEnteredEventDetails.Name))
			case ev.TaskFailedEventDetails != nil:
				parts = append(parts, "["+aws.ToString(ev.TaskFailedEventDetails.Error)+"]")
			case ev.LambdaFunctionFailedEventDetails != nil:
				parts = append(parts, "["+aws.ToString(ev.LambdaFunctionFailedEventDetails.Error)+"]")
			case ev.TaskTimedOutEventDetails != nil:
				parts = append(parts, "[timeout]")
			case ev.ExecutionFailedEventDetails != nil:
				parts = append(parts, "FAILED:"+aws.ToString(ev.ExecutionFailedEventDetails.Error))
			}
		}
	}
	return strings.Join(parts, " ")
}

// checkObject proves a stored job's video is intact: the object's bytes
// hash to what the simulator served, and the job and the object metadata
// say the same. It returns "" when all agree.
func checkObject(ctx context.Context, sys *System, row *Row, v intake.View) string {
	if v.Output == nil || row.ProviderJobID == "" {
		return "stored without output or provider job id"
	}
	want, err := sys.Sim.ContentSHA256(row.ProviderJobID)
	if err != nil {
		return "simulator sha256: " + err.Error()
	}
	wantSize, _ := sys.Sim.ContentSize(row.ProviderJobID)
	obj, err := sys.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(v.Output.Bucket), Key: aws.String(v.Output.Key)})
	if err != nil {
		return fmt.Sprintf("get s3://%s/%s: %v", v.Output.Bucket, v.Output.Key, err)
	}
	defer obj.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj.Body)
	if err != nil {
		return "read object: " + err.Error()
	}
	row.SHA256 = hex.EncodeToString(h.Sum(nil))
	var bad []string
	if row.SHA256 != want || n != wantSize {
		bad = append(bad, fmt.Sprintf("object %d bytes sha256 %s, gateway served %d bytes %s", n, row.SHA256, wantSize, want))
	}
	if v.Output.SHA256 != want || v.Output.Size != wantSize {
		bad = append(bad, fmt.Sprintf("job output says %d bytes %s", v.Output.Size, v.Output.SHA256))
	}
	if got := obj.Metadata["sha256"]; got != want {
		bad = append(bad, "object metadata sha256 "+got)
	}
	if !strings.HasPrefix(v.Output.Key, "videos/"+row.ID+"/") {
		bad = append(bad, "object key "+v.Output.Key)
	}
	return strings.Join(bad, "; ")
}
