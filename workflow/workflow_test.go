package workflow_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/localstack"
	"github.com/videojobs/videojobs/internal/tracking"
	"github.com/videojobs/videojobs/internal/tracking/trackingtest"
	"github.com/videojobs/videojobs/workflow"
)

// env is one moto server behind one Lambda front, shared by the tests:
// starting moto takes seconds, executions are independent.
type env struct {
	moto  *localstack.Moto
	front *localstack.LambdaFront
	srv   *httptest.Server
	sfn   *sfn.Client
	stubs *stubs
}

var (
	sharedOnce sync.Once
	shared     *env
	sharedErr  error
)

var motoLog = filepath.Join(os.TempDir(), fmt.Sprintf("videojobs-workflow-test-moto-%d.log", os.Getpid()))

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.srv.Close()
		shared.moto.Close()
	}
	if code != 0 {
		// Moto's own tracebacks explain most failures; show them.
		if b, err := os.ReadFile(motoLog); err == nil {
			for line := range strings.SplitSeq(string(b), "\n") {
				if !strings.HasPrefix(line, "127.0.0.1 - -") {
					fmt.Fprintln(os.Stderr, "moto:", line)
				}
			}
		}
	}
	os.Remove(motoLog)
	os.Exit(code)
}

func startEnv(t *testing.T) *env {
	t.Helper()
	sharedOnce.Do(func() {
		stubs := newStubs()
		front := localstack.NewLambdaFront(nil)
		front.Register("watch", localstack.HandlerFunc(stubs.watch))
		front.Register("store", stubs)
		srv := httptest.NewServer(front)
		port := srv.Listener.Addr().(interface{ String() string }).String()
		port = port[strings.LastIndexByte(port, ':')+1:]
		var lambdaPort int
		fmt.Sscan(port, &lambdaPort)
		moto, err := localstack.StartMoto(context.Background(), localstack.MotoOptions{
			LambdaPort: lambdaPort,
			LogPath:    motoLog,
		})
		if err != nil {
			srv.Close()
			sharedErr = err
			return
		}
		if err := front.SetUpstream(moto.URL()); err != nil {
			sharedErr = err
			return
		}
		cfg := localstack.AWSConfig(moto.URL())
		stubs.sfn = sfn.NewFromConfig(cfg)
		shared = &env{moto: moto, front: front, srv: srv, sfn: stubs.sfn, stubs: stubs}
		if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(context.Background(), &eventbridge.CreateEventBusInput{Name: aws.String("videojobs")}); err != nil {
			sharedErr = fmt.Errorf("create bus: %w", err)
		}
	})
	if errors.Is(sharedErr, localstack.ErrNotInstalled) {
		t.Skipf("moto_server absent (pip install \"moto[server]\"): %v", sharedErr)
	}
	if sharedErr != nil {
		t.Fatalf("start moto: %v", sharedErr)
	}
	return shared
}

var substitutions = map[string]string{
	workflow.WatchFunctionArn: localstack.FunctionARN("watch"),
	workflow.StoreFunctionArn: localstack.FunctionARN("store"),
	workflow.EventBusName:     "videojobs",
}

// createMachine deploys def (with placeholders) under a unique name.
func (e *env) createMachine(t *testing.T, def []byte) string {
	t.Helper()
	body, err := workflow.Substitute(def, substitutions)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.sfn.CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name:       aws.String("m-" + newJobID()[3:]),
		Definition: aws.String(string(body)),
		RoleArn:    aws.String("arn:aws:iam::" + localstack.AccountID + ":role/videojobs-workflow"),
	})
	if err != nil {
		t.Fatalf("create state machine: %v", err)
	}
	return aws.ToString(out.StateMachineArn)
}

// run starts an execution named after the job and waits for it to end.
func (e *env) run(t *testing.T, machine, jobID string, input any) run {
	t.Helper()
	in, _ := json.Marshal(input)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start, err := e.sfn.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machine),
		Name:            aws.String(jobID),
		Input:           aws.String(string(in)),
	})
	if err != nil {
		t.Fatalf("start execution: %v", err)
	}
	for {
		d, err := e.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: start.ExecutionArn})
		if err != nil {
			t.Fatalf("describe execution: %v", err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return run{status: d.Status, history: e.history(t, aws.ToString(start.ExecutionArn))}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("execution %s still running: %v", jobID, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (e *env) history(t *testing.T, arn string) []sfntypes.HistoryEvent {
	t.Helper()
	var events []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(e.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("execution history: %v", err)
		}
		events = append(events, page.Events...)
	}
	return events
}

type run struct {
	status  sfntypes.ExecutionStatus
	history []sfntypes.HistoryEvent
}

// states lists the states entered, in order. Each entry is one billed state
// transition of a Standard workflow.
func (r run) states() []string {
	var out []string
	for _, ev := range r.history {
		if strings.HasSuffix(string(ev.Type), "StateEntered") && ev.StateEnteredEventDetails != nil {
			out = append(out, aws.ToString(ev.StateEnteredEventDetails.Name))
		}
	}
	return out
}

// eventDetail returns the Detail of the putEvents entry the run published.
func (r run) eventDetail(t *testing.T) (string, map[string]any) {
	t.Helper()
	for _, ev := range r.history {
		d := ev.TaskScheduledEventDetails
		if d == nil || aws.ToString(d.ResourceType) != "events" {
			continue
		}
		var params struct {
			Entries []struct {
				DetailType string
				Detail     json.RawMessage
			}
		}
		if err := json.Unmarshal([]byte(aws.ToString(d.Parameters)), &params); err != nil || len(params.Entries) != 1 {
			t.Fatalf("putEvents parameters %s: %v", aws.ToString(d.Parameters), err)
		}
		detail := map[string]any{}
		raw := params.Entries[0].Detail
		// Step Functions may pass Detail as an object or as a JSON string.
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = json.RawMessage(s)
		}
		if err := json.Unmarshal(raw, &detail); err != nil {
			t.Fatalf("event detail %s: %v", raw, err)
		}
		return params.Entries[0].DetailType, detail
	}
	t.Fatal("no putEvents task in history")
	return "", nil
}

func newJobID() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var b [26]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "vj_" + string(b[:])
}

func input(jobID string, waitSeconds int) map[string]any {
	return map[string]any{"jobId": jobID, "poll": map[string]any{"state": "queued", "waitSeconds": waitSeconds}}
}

func TestJobWorkflowPaths(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	machine := e.createMachine(t, workflow.JobASL)

	tests := []struct {
		name       string
		script     plan
		webhook    string // state sent with SendTaskSuccess once the job is armed
		recheck    bool   // the webhook reschedules instead (its GET timed out)
		wantStatus sfntypes.ExecutionStatus
		wantStates []string
		wantCalls  []string
		wantDetail string
		maxStates  int
	}{
		{
			name: "webhook wakes the workflow",
			// The first poll sets a 60 s wait; the webhook comes first.
			script:     plan{polls: []string{"processing"}, reschedules: []int{60}},
			webhook:    "completed",
			wantStatus: sfntypes.ExecutionStatusSucceeded,
			wantStates: []string{"FirstWait", "Watch", "Watch", "Route", "Store", "PublishSucceeded"},
			wantCalls:  []string{"watch:1", "watch:60", "store"},
			wantDetail: "Job Succeeded",
			maxStates:  8,
		},
		{
			name:       "webhook asks for a re-read when the provider was slow",
			script:     plan{polls: []string{"processing", "processing", "completed"}, reschedules: []int{60}},
			webhook:    "processing",
			recheck:    true,
			wantStatus: sfntypes.ExecutionStatusSucceeded,
			wantStates: []string{"FirstWait", "Watch", "Watch", "Watch", "Route", "Store", "PublishSucceeded"},
			// The webhook's reschedule keeps the wait; the entry it causes
			// polls and finds the job completed.
			wantCalls:  []string{"watch:1", "watch:60", "watch:60", "store"},
			wantDetail: "Job Succeeded",
			maxStates:  8,
		},
		{
			name:       "webhook reports a cancelled job",
			script:     plan{polls: []string{"processing"}, reschedules: []int{60}},
			webhook:    "cancelled",
			wantStatus: sfntypes.ExecutionStatusSucceeded,
			wantStates: []string{"FirstWait", "Watch", "Watch", "Route", "PublishFailed"},
			wantCalls:  []string{"watch:1", "watch:60"},
			wantDetail: "Job Failed",
		},
		{
			name:       "timeouts re-enter Watch until a poll finds the job completed",
			script:     plan{polls: []string{"processing", "processing", "completed"}},
			wantStatus: sfntypes.ExecutionStatusSucceeded,
			wantStates: []string{"FirstWait", "Watch", "Watch", "Watch", "Route", "Store", "PublishSucceeded"},
			wantCalls:  []string{"watch:1", "watch:1", "watch:1", "store"},
			wantDetail: "Job Succeeded",
		},
		{
			name: "a reschedule sets the wait of the following entries",
			script: plan{polls: []string{"processing", "processing", "processing", "completed"},
				reschedules: []int{2}},
			wantStatus: sfntypes.ExecutionStatusSucceeded,
			wantStates: []string{"FirstWait", "Watch", "Watch", "Watch", "Watch", "Route", "Store", "PublishSucceeded"},
			wantCalls:  []string{"watch:1", "watch:2", "watch:2", "watch:2", "store"},
			wantDetail: "Job Succeeded",
		},
		{
			name:       "poll finds the provider job failed",
			script:     plan{polls: []string{"failed"}},
			wantStatus: sfntypes.ExecutionStatusSucceeded,
			wantStates: []string{"FirstWait", "Watch", "Route", "PublishFailed"},
			wantCalls:  []string{"watch:1"},
			wantDetail: "Job Failed",
		},
		{
			name:       "a crashing watch marks the job failed",
			script:     plan{watchFailures: 99},
			wantStatus: sfntypes.ExecutionStatusSucceeded,
			wantStates: []string{"FirstWait", "Watch", "MarkFailed", "PublishWorkflowFailed"},
			// One attempt plus the three retries of the States.TaskFailed
			// retrier (the Reschedule retrier before it never retries).
			wantCalls:  []string{"watch:1", "watch:1", "watch:1", "watch:1", "fail"},
			wantDetail: "Job Failed",
		},
		{
			name:       "a Lambda service error is retried",
			script:     plan{polls: []string{"completed"}, storeServiceErrors: 1},
			wantStatus: sfntypes.ExecutionStatusSucceeded,
			wantStates: []string{"FirstWait", "Watch", "Route", "Store", "PublishSucceeded"},
			wantCalls:  []string{"watch:1", "store", "store"},
			wantDetail: "Job Succeeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			jobID := newJobID()
			js := e.stubs.add(jobID, tt.script)
			if tt.webhook != "" {
				go func() {
					token := <-js.armed
					var err error
					if tt.recheck {
						_, err = e.sfn.SendTaskFailure(context.Background(), &sfn.SendTaskFailureInput{TaskToken: aws.String(token),
							Error: aws.String(tracking.RescheduleError), Cause: aws.String("60")})
					} else {
						out := fmt.Sprintf(`{"state":%q,"waitSeconds":60}`, tt.webhook)
						_, err = e.sfn.SendTaskSuccess(context.Background(), &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(out)})
					}
					if err != nil {
						t.Errorf("complete the task: %v", err)
					}
				}()
			}

			got := e.run(t, machine, jobID, input(jobID, 1))

			if got.status != tt.wantStatus {
				t.Errorf("status = %s, want %s", got.status, tt.wantStatus)
			}
			if diff := cmp.Diff(got.states(), tt.wantStates); diff != "" {
				t.Errorf("states entered (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(js.callLog(), tt.wantCalls); diff != "" {
				t.Errorf("function calls (-got +want):\n%s", diff)
			}
			if tt.maxStates > 0 && len(got.states()) > tt.maxStates {
				t.Errorf("transitions = %d, want ≤ %d", len(got.states()), tt.maxStates)
			}
			detailType, detail := got.eventDetail(t)
			if detailType != tt.wantDetail {
				t.Errorf("published %q, want %q", detailType, tt.wantDetail)
			}
			if detail["jobId"] != jobID {
				t.Errorf("event jobId = %v, want %s", detail["jobId"], jobID)
			}
			if detailType == "Job Succeeded" {
				if want := "s3://videojobs-videos/videos/" + jobID + "/0.mp4"; detail["s3Uri"] != want {
					t.Errorf("event s3Uri = %v, want %s", detail["s3Uri"], want)
				}
				if detail["sha256"] != storedSHA {
					t.Errorf("event sha256 = %v, want %s", detail["sha256"], storedSHA)
				}
			}
			t.Logf("%s: %d state transitions %v", tt.name, len(got.states()), got.states())
			if t.Failed() {
				for _, ev := range got.history {
					b, _ := json.Marshal(ev)
					t.Logf("history: %s", b)
				}
			}
		})
	}
}

// TestTransitionsAgainstFixedLoop measures, on moto, the transitions of
// job.asl.json with one and three Watch entries and of a fixed "Wait 20 s →
// Task → Choice" loop at one and three polls (waits scaled down to 1 s),
// fits transitions = a + b·n for each, and compares the two for a 3-minute
// job whose provider says poll_after_seconds = 20: the fixed loop polls 9
// times, the Watch entries of job.asl.json are the ones the real watch
// function makes on a simulated clock (trackingtest.ReplayWatch), with the
// provider's progress and without it.
func TestTransitionsAgainstFixedLoop(t *testing.T) {
	t.Parallel()
	e := startEnv(t)
	ours := e.createMachine(t, workflow.JobASL)
	fixedDef, err := os.ReadFile(filepath.Join("testdata", "fixedloop.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	fixed := e.createMachine(t, fixedDef)

	measure := func(t *testing.T, machine string, polls int, in func(jobID string) any) int {
		jobID := newJobID()
		var p plan
		for range polls - 1 {
			p.polls = append(p.polls, "processing")
		}
		p.polls = append(p.polls, "completed")
		e.stubs.add(jobID, p)
		got := e.run(t, machine, jobID, in(jobID))
		if got.status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("%s with %d polls: status %s", machine, polls, got.status)
		}
		return len(got.states())
	}
	type fit struct{ a, b float64 }
	var mu sync.Mutex
	fits := map[string]fit{}
	t.Run("measure", func(t *testing.T) {
		for name, m := range map[string]struct {
			machine string
			in      func(string) any
		}{
			"job.asl.json": {ours, func(id string) any { return input(id, 1) }},
			"fixed loop":   {fixed, func(id string) any { return map[string]any{"jobId": id, "interval": 1} }},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				one := measure(t, m.machine, 1, m.in)
				three := measure(t, m.machine, 3, m.in)
				b := float64(three-one) / 2
				mu.Lock()
				fits[name] = fit{a: float64(one) - b, b: b}
				mu.Unlock()
				t.Logf("%s: %d transitions with 1 poll, %d with 3 polls", name, one, three)
			})
		}
	})
	if t.Failed() {
		return
	}

	const jobSeconds = 180
	o, f := fits["job.asl.json"], fits["fixed loop"]
	fixedPolls := int(math.Ceil(jobSeconds / 20.0))
	fixedTransitions := f.a + f.b*float64(fixedPolls)
	for _, lj := range []trackingtest.LinearJob{
		{Queue: 10 * time.Second, Gen: 170 * time.Second},
		{Queue: 10 * time.Second, Gen: 170 * time.Second, NoProgress: true},
	} {
		r, err := trackingtest.ReplayWatch(lj, tracking.DefaultPollAfter, time.Second, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		oursTransitions := o.a + o.b*float64(r.Entries)
		ratio := fixedTransitions / oursTransitions
		t.Logf("3-minute job, provider progress %v: job.asl.json %.0f transitions (%d Watch entries: %d polls, %d reschedules), fixed 20 s loop %.0f transitions (%d polls): %.2fx fewer",
			!lj.NoProgress, oursTransitions, r.Entries, r.Polls, r.Reschedules, fixedTransitions, fixedPolls, ratio)
		if ratio < 2 {
			t.Errorf("fixed loop / job.asl.json transitions = %.2f, want ≥ 2", ratio)
		}
		if !lj.NoProgress && oursTransitions > 8 {
			t.Errorf("job.asl.json: %.0f transitions with the provider's progress, want ≤ 8", oursTransitions)
		}
	}
}

// TestDefinitionSubstitutes checks the placeholders CDK fills are exactly the
// ones the definition uses, and the result is valid JSON with every state
// reachable.
func TestDefinitionSubstitutes(t *testing.T) {
	body, err := workflow.Substitute(workflow.JobASL, substitutions)
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		StartAt string
		States  map[string]json.RawMessage
	}
	if err := json.Unmarshal(body, &def); err != nil {
		t.Fatalf("substituted definition is not JSON: %v", err)
	}
	if strings.Contains(string(body), "${") {
		t.Error("placeholder left after substitution")
	}
	reached := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if reached[name] {
			return
		}
		raw, ok := def.States[name]
		if !ok {
			t.Errorf("transition to undefined state %q", name)
			return
		}
		reached[name] = true
		for _, next := range nextStates(raw) {
			visit(next)
		}
	}
	visit(def.StartAt)
	for name := range def.States {
		if !reached[name] {
			t.Errorf("state %q is unreachable", name)
		}
	}

	if _, err := workflow.Substitute(workflow.JobASL, map[string]string{workflow.WatchFunctionArn: "x"}); err == nil {
		t.Error("Substitute with missing values: got nil error")
	}
	extra := map[string]string{"Unused": "x"}
	for k, v := range substitutions {
		extra[k] = v
	}
	if _, err := workflow.Substitute(workflow.JobASL, extra); err == nil {
		t.Error("Substitute with an unused value: got nil error")
	}
}

func nextStates(raw json.RawMessage) []string {
	var s struct {
		Next    string
		Default string
		Choices []struct{ Next string }
		Catch   []struct{ Next string }
	}
	_ = json.Unmarshal(raw, &s)
	var out []string
	for _, n := range []string{s.Next, s.Default} {
		if n != "" {
			out = append(out, n)
		}
	}
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	for _, c := range s.Catch {
		out = append(out, c.Next)
	}
	return out
}

const storedSHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// plan tells the stub functions how one job behaves. The stub watch plays
// the watch function: the n-th call "polls" polls[n] (the last repeats); a
// settled state completes the token with it, a positive reschedules[n]
// fails it with videojobs.Reschedule and that wait, anything else hands the
// token to the test (armed) and lets the timeout re-enter Watch.
type plan struct {
	polls              []string
	reschedules        []int
	watchFailures      int // watch calls that fail before one succeeds
	storeServiceErrors int // store calls the Lambda service itself fails
}

// jobScript is one job's plan and what the stubs saw of it.
type jobScript struct {
	plan
	mu    sync.Mutex
	calls []string
	kinds []string
	armed chan string
}

// record logs call and returns how many calls of kind there were so far.
func (j *jobScript) record(call, kind string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = append(j.calls, call)
	j.kinds = append(j.kinds, kind)
	n := 0
	for _, k := range j.kinds {
		if k == kind {
			n++
		}
	}
	return n
}

func (j *jobScript) callLog() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.calls...)
}

// stubs are in-process watch and store functions driven by jobScripts.
type stubs struct {
	mu   sync.Mutex
	jobs map[string]*jobScript
	sfn  *sfn.Client // completes task tokens, as the watch function does
}

func newStubs() *stubs { return &stubs{jobs: map[string]*jobScript{}} }

func (s *stubs) add(jobID string, p plan) *jobScript {
	j := &jobScript{plan: p, armed: make(chan string, 8)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[jobID] = j
	return j
}

func (s *stubs) job(jobID string) (*jobScript, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[jobID]
	if !ok {
		return nil, fmt.Errorf("unknown job %q", jobID)
	}
	return j, nil
}

type watchInput struct {
	Action      string          `json:"action"`
	JobID       string          `json:"jobId"`
	TaskToken   string          `json:"taskToken"`
	WaitSeconds int             `json:"waitSeconds"`
	Cause       json.RawMessage `json:"cause"`
}

func (s *stubs) watch(ctx context.Context, payload []byte) ([]byte, error) {
	var in watchInput
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, err
	}
	j, err := s.job(in.JobID)
	if err != nil {
		return nil, err
	}
	switch in.Action {
	case "watch":
		n := j.record(fmt.Sprintf("watch:%d", in.WaitSeconds), "watch")
		if in.TaskToken == "" {
			return nil, errors.New("watch without task token")
		}
		if n <= j.watchFailures {
			return nil, &localstack.FunctionError{Type: "Runtime.ExitError", Message: "watch crashed"}
		}
		if len(j.polls) == 0 {
			return nil, errors.New("no polls planned")
		}
		state := j.polls[min(n, len(j.polls))-1]
		switch {
		case state != "processing" && state != "queued":
			out := fmt.Sprintf(`{"state":%q,"waitSeconds":0}`, state)
			_, err = s.sfn.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(in.TaskToken), Output: aws.String(out)})
		case n <= len(j.reschedules) && j.reschedules[n-1] > 0:
			_, err = s.sfn.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(in.TaskToken),
				Error: aws.String(tracking.RescheduleError), Cause: aws.String(strconv.Itoa(j.reschedules[n-1]))})
		default:
			select {
			case j.armed <- in.TaskToken:
			default:
			}
		}
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"state": state, "waitSeconds": in.WaitSeconds})
	case "poll":
		n := j.record("poll", "poll")
		state := j.polls[min(n, len(j.polls))-1]
		return json.Marshal(map[string]any{"state": state, "waitSeconds": 1})
	case "fail":
		j.record("fail", "fail")
		var cause struct{ Error string }
		if err := json.Unmarshal(in.Cause, &cause); err != nil || cause.Error == "" {
			return nil, fmt.Errorf("fail without a cause: %s", in.Cause)
		}
		return []byte(`{"state":"failed","waitSeconds":0}`), nil
	}
	return nil, fmt.Errorf("unknown action %q", in.Action)
}

// Invoke makes stubs the store function; it can fail the way the Lambda
// service does (an Invoke error, not a function error).
func (s *stubs) Invoke(_ context.Context, payload []byte) (localstack.Response, error) {
	var in struct{ JobID string }
	if err := json.Unmarshal(payload, &in); err != nil {
		return localstack.Response{}, err
	}
	j, err := s.job(in.JobID)
	if err != nil {
		return localstack.Response{}, err
	}
	if n := j.record("store", "store"); n <= j.storeServiceErrors {
		return localstack.Response{}, errors.New("lambda service unavailable")
	}
	out, _ := json.Marshal(map[string]any{
		"state": "stored", "bucket": "videojobs-videos", "key": "videos/" + in.JobID + "/0.mp4",
		"size": 14216, "sha256": storedSHA,
	})
	return localstack.Response{Payload: out}, nil
}
