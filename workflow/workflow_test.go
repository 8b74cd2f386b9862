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
		shared = &env{moto: moto, front: front, srv: srv, sfn: sfn.NewFromConfig(cfg), stubs: stubs}
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
		name        string
		script      plan
		webhook     string // state sent with SendTaskSuccess once the job is armed
		recheck     bool   // the wake asks for a re-read (the webhook's GET timed out)
		wantStatus  sfntypes.ExecutionStatus
		wantStates  []string
		wantCalls   []string
		wantDetail  string
		maxStates   int
		waitSeconds int
	}{
		{
			name:        "webhook wakes the workflow",
			webhook:     "completed",
			waitSeconds: 60,
			wantStatus:  sfntypes.ExecutionStatusSucceeded,
			wantStates:  []string{"Watch", "Route", "Store", "PublishSucceeded"},
			wantCalls:   []string{"arm", "store"},
			wantDetail:  "Job Succeeded",
			maxStates:   8,
		},
		{
			name:        "webhook asks for a re-read when the provider was slow",
			webhook:     "processing",
			recheck:     true,
			script:      plan{polls: []string{"completed"}},
			waitSeconds: 60,
			wantStatus:  sfntypes.ExecutionStatusSucceeded,
			wantStates:  []string{"Watch", "Route", "Poll", "Route", "Store", "PublishSucceeded"},
			wantCalls:   []string{"arm", "poll", "store"},
			wantDetail:  "Job Succeeded",
			maxStates:   8,
		},
		{
			name:        "webhook reports a cancelled job",
			webhook:     "cancelled",
			waitSeconds: 60,
			wantStatus:  sfntypes.ExecutionStatusSucceeded,
			wantStates:  []string{"Watch", "Route", "PublishFailed"},
			wantCalls:   []string{"arm"},
			wantDetail:  "Job Failed",
		},
		{
			name:        "timeout polls until completed",
			script:      plan{polls: []string{"processing", "processing", "completed"}},
			waitSeconds: 1,
			wantStatus:  sfntypes.ExecutionStatusSucceeded,
			wantStates: []string{
				"Watch", "Poll", "Route",
				"Watch", "Poll", "Route",
				"Watch", "Poll", "Route",
				"Store", "PublishSucceeded",
			},
			wantCalls:  []string{"arm", "poll", "arm", "poll", "arm", "poll", "store"},
			wantDetail: "Job Succeeded",
		},
		{
			name:        "poll finds the provider job failed",
			script:      plan{polls: []string{"failed"}},
			waitSeconds: 1,
			wantStatus:  sfntypes.ExecutionStatusSucceeded,
			wantStates:  []string{"Watch", "Poll", "Route", "PublishFailed"},
			wantCalls:   []string{"arm", "poll"},
			wantDetail:  "Job Failed",
		},
		{
			name:        "a crashing watch marks the job failed",
			script:      plan{armFailures: 99},
			waitSeconds: 60,
			wantStatus:  sfntypes.ExecutionStatusSucceeded,
			wantStates:  []string{"Watch", "MarkFailed", "PublishWorkflowFailed"},
			// One attempt plus the two retries of the States.TaskFailed retrier.
			wantCalls:  []string{"arm", "arm", "arm", "fail"},
			wantDetail: "Job Failed",
		},
		{
			name:        "a Lambda service error is retried",
			webhook:     "completed",
			script:      plan{storeServiceErrors: 1},
			waitSeconds: 60,
			wantStatus:  sfntypes.ExecutionStatusSucceeded,
			wantStates:  []string{"Watch", "Route", "Store", "PublishSucceeded"},
			wantCalls:   []string{"arm", "store", "store"},
			wantDetail:  "Job Succeeded",
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
					out := fmt.Sprintf(`{"state":%q,"waitSeconds":20}`, tt.webhook)
					if tt.recheck {
						out = fmt.Sprintf(`{"state":%q,"waitSeconds":20,"recheck":true}`, tt.webhook)
					}
					if _, err := e.sfn.SendTaskSuccess(context.Background(), &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(out)}); err != nil {
						t.Errorf("send task success: %v", err)
					}
				}()
			}

			got := e.run(t, machine, jobID, input(jobID, tt.waitSeconds))

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
		})
	}
}

// TestTransitionsAgainstFixedLoop measures, on moto, the transitions of
// job.asl.json's poll-only path and of a fixed "Wait 20 s → Task → Choice"
// loop at one and three polls (waits scaled down to 1 s), fits
// transitions = a + b·polls for each, and compares the two for a 3-minute job
// whose provider says poll_after_seconds = 20.
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

	// A 3-minute job, provider poll_after_seconds = 20. The fixed loop polls
	// every 20 s; the watch function backs off exponentially from 20 s
	// (docs/internals.md), so its polls come at 20, 60, 140 and 300 s.
	const jobSeconds = 180
	fixedPolls := int(math.Ceil(jobSeconds / 20.0))
	oursPolls, elapsed := 0, 0
	for wait := 20; elapsed < jobSeconds; wait = min(wait*2, 300) {
		elapsed += wait
		oursPolls++
	}
	o, f := fits["job.asl.json"], fits["fixed loop"]
	oursTransitions := o.a + o.b*float64(oursPolls)
	fixedTransitions := f.a + f.b*float64(fixedPolls)
	ratio := fixedTransitions / oursTransitions
	t.Logf("3-minute job: job.asl.json %.0f transitions (%d polls), fixed 20 s loop %.0f transitions (%d polls): %.2fx fewer",
		oursTransitions, oursPolls, fixedTransitions, fixedPolls, ratio)
	if ratio < 2 {
		t.Errorf("fixed loop / job.asl.json transitions = %.2f, want ≥ 2", ratio)
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

// plan tells the stub functions how one job behaves.
type plan struct {
	polls              []string // states successive polls return; the last repeats
	armFailures        int      // arm calls that fail before one succeeds
	storeServiceErrors int      // store calls the Lambda service itself fails
}

// jobScript is one job's plan and what the stubs saw of it.
type jobScript struct {
	plan
	mu    sync.Mutex
	calls []string
	armed chan string
}

func (j *jobScript) record(call string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.calls = append(j.calls, call)
	n := 0
	for _, c := range j.calls {
		if c == call {
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
	Action    string          `json:"action"`
	JobID     string          `json:"jobId"`
	TaskToken string          `json:"taskToken"`
	Cause     json.RawMessage `json:"cause"`
}

func (s *stubs) watch(_ context.Context, payload []byte) ([]byte, error) {
	var in watchInput
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, err
	}
	j, err := s.job(in.JobID)
	if err != nil {
		return nil, err
	}
	n := j.record(in.Action)
	switch in.Action {
	case "arm":
		if in.TaskToken == "" {
			return nil, errors.New("arm without task token")
		}
		if n <= j.armFailures {
			return nil, &localstack.FunctionError{Type: "Runtime.ExitError", Message: "watch crashed"}
		}
		j.armed <- in.TaskToken
		return []byte(`{"armed":true}`), nil
	case "poll":
		state := j.polls[min(n, len(j.polls))-1]
		return json.Marshal(map[string]any{"state": state, "waitSeconds": 1})
	case "fail":
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
	if n := j.record("store"); n <= j.storeServiceErrors {
		return localstack.Response{}, errors.New("lambda service unavailable")
	}
	out, _ := json.Marshal(map[string]any{
		"state": "stored", "bucket": "videojobs-videos", "key": "videos/" + in.JobID + "/0.mp4",
		"size": 14216, "sha256": storedSHA,
	})
	return localstack.Response{Payload: out}, nil
}
