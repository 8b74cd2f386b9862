package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/videojobs/videojobs/internal/aistats"
	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/localstack"
	"github.com/videojobs/videojobs/workflow"
)

var generation = flag.Duration("bench.generation", 3*time.Minute,
	"BenchmarkJobCost: the simulated generation time (queued 10 s, then generating), run in real time")

// Job paths BenchmarkJobCost compares.
const (
	pathWebhook   = "webhook"
	pathPollOnly  = "poll-only"
	pathFixedLoop = "fixed-20s-loop"
)

// BenchmarkJobCost runs one job down each path at once, in real time, on
// the local stack with the real functions, and counts per job what AWS
// bills: Step Functions state transitions (from the execution history),
// Lambda invocations and GB-seconds (every invocation through the fronts,
// at the memory infra/functions.go configures), and DynamoDB capacity
// units (every request the functions send, see capacity).
//
//   - webhook: POST /jobs; the simulator's signed webhooks reach the
//     webhook λ, which wakes the workflow when the job completes.
//   - poll-only: POST /jobs with every webhook dropped (the simulator's
//     drop_webhooks fault); the workflow finds out by polling.
//   - fixed-20s-loop: workflow/testdata/fixedloop.asl.json, a Wait 20 s →
//     poll Task → Choice loop with the same store and publish tail, on the
//     real watch and store functions. Its job is created directly (provider
//     create + job item) rather than through submit, which would start
//     job.asl.json for it too; submit's measured cost (the mean of the
//     other two paths') is added to its row so all three rows are per
//     submitted job.
//
// The gateway asks for poll_after_seconds = 20 in real seconds whatever the
// simulator's time scale, so the generation runs in real time: about
// -bench.generation plus a poll interval, or plus up to the gateway's
// 5-minute sweep for the webhook path.
func BenchmarkJobCost(b *testing.B) {
	s := requireSystem(b)
	gen := *generation
	queue := min(10*time.Second, gen/2)
	// Once webhooks arrive the watch λ waits the poll cap (300 s), and the
	// gateway sends the terminal webhook only when a GET or its 5-minute
	// sweep finalises the job (provider-contract.md), so the webhook path
	// may end up to about 5 minutes after the generation.
	ctx, cancel := context.WithTimeout(context.Background(), gen+6*time.Minute)
	defer cancel()

	fixedARN, err := createFixedLoop(ctx, s)
	if err != nil {
		b.Fatal(err)
	}
	nonce := randomHex(6)
	directive := fmt.Sprintf("[sim queue=%ds duration=%ds]", int(queue.Seconds()), int((gen - queue).Seconds()))
	dropped := fmt.Sprintf("[sim queue=%ds duration=%ds faults=drop_webhooks]", int(queue.Seconds()), int((gen - queue).Seconds()))
	prompts := map[string]string{
		pathWebhook:   fmt.Sprintf("bench %s %s %s", pathWebhook, nonce, directive),
		pathPollOnly:  fmt.Sprintf("bench %s %s %s", pathPollOnly, nonce, dropped),
		pathFixedLoop: fmt.Sprintf("bench %s %s %s", pathFixedLoop, nonce, dropped),
	}

	s.ledger.reset()
	jobIDs := map[string]string{}
	executions := map[string]string{}
	for _, path := range []string{pathWebhook, pathPollOnly} {
		id, err := submit(ctx, s, prompts[path])
		if err != nil {
			b.Fatalf("%s: %v", path, err)
		}
		jobIDs[path] = id
		executions[path] = executionARN(s.stack.Resources.StateMachineARN, id)
	}
	id, err := startFixedLoop(ctx, s, fixedARN, prompts[pathFixedLoop])
	if err != nil {
		b.Fatalf("%s: %v", pathFixedLoop, err)
	}
	jobIDs[pathFixedLoop] = id
	executions[pathFixedLoop] = executionARN(fixedARN, id)
	fmt.Fprintf(os.Stderr, "bench: job cost: three %s generations running in real time\n", gen)

	runs := map[string]execution{}
	for _, path := range []string{pathWebhook, pathPollOnly, pathFixedLoop} {
		r, err := waitExecution(ctx, s.sfn, executions[path])
		if err != nil {
			b.Fatalf("%s: %v", path, err)
		}
		if r.status != sfntypes.ExecutionStatusSucceeded {
			b.Fatalf("%s: execution %s ended %s", path, executions[path], r.status)
		}
		runs[path] = r
	}
	// Late deliveries (a retried webhook, the last progress event) may
	// still be in flight when the execution ends.
	time.Sleep(2 * time.Second)

	calls, invokes := s.ledger.snapshot()
	costs := map[string]*jobCost{}
	for path, id := range jobIDs {
		c := &jobCost{transitions: runs[path].transitions, seconds: runs[path].elapsed.Seconds(), invocations: map[string]int{}}
		c.attribute(calls, invokes, id, prompts[path])
		costs[path] = c
	}
	costs[pathFixedLoop].addSubmit(costs[pathWebhook], costs[pathPollOnly])

	for _, path := range []string{pathWebhook, pathPollOnly, pathFixedLoop} {
		c := costs[path]
		b.Run("path="+path, func(b *testing.B) {
			b.ReportMetric(float64(c.transitions), "transitions/job")
			b.ReportMetric(float64(c.total()), "invocations/job")
			b.ReportMetric(float64(c.invocations["watch-step"]), "watch/job")
			b.ReportMetric(float64(c.invocations["webhook"]), "webhooks/job")
			b.ReportMetric(c.gbSeconds, "GB-s/job")
			b.ReportMetric(c.wru, "WRU/job")
			b.ReportMetric(c.rru, "RRU/job")
			b.ReportMetric(c.writes, "ddb-writes/job")
			b.ReportMetric(c.seconds, "s-to-done")
			b.ReportMetric(gen.Seconds(), "generation-s")
		})
	}
}

// jobCost is what one job cost, attributed from the ledger.
type jobCost struct {
	transitions int
	seconds     float64
	// invocations by function; "watch-step" counts the watch λ's Watch
	// entries and plain polls again (they are also in "watch"), not its
	// MarkFailed calls.
	invocations map[string]int
	gbSeconds   float64
	wru, rru    float64
	writes      float64 // write requests
	// submit is the part of the above that the submit λ spent.
	submit struct{ gbSeconds, wru, rru, writes float64 }
}

func (c *jobCost) total() int {
	n := 0
	for fn, k := range c.invocations {
		if fn != "watch-step" {
			n += k
		}
	}
	return n
}

var writeOps = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "TransactWriteItems": true, "BatchWriteItem": true}

// attribute adds every invocation and DynamoDB request of the job: those
// that name its id, and submit's invocation, which only the prompt ties
// to the job (the id does not exist yet).
func (c *jobCost) attribute(calls []ddbCall, invokes []invocation, jobID, prompt string) {
	id := []byte(jobID)
	// The prompt sits JSON-encoded inside the event's JSON body string.
	enc, _ := json.Marshal(prompt)
	enc, _ = json.Marshal(string(enc[1 : len(enc)-1]))
	needle := enc[1 : len(enc)-1]
	for _, inv := range invokes {
		if inv.Function == "submit" && !bytes.Contains(inv.Payload, needle) ||
			inv.Function != "submit" && !bytes.Contains(inv.Payload, id) {
			continue
		}
		c.invocations[inv.Function]++
		if a := watchAction(inv.Payload); inv.Function == "watch" && (a == "poll" || a == "watch") {
			c.invocations["watch-step"]++
		}
		// Lambda bills duration rounded up to the millisecond.
		gbs := math.Ceil(ms(inv.Duration)) / 1000 * memoryMB[inv.Function] / 1024
		c.gbSeconds += gbs
		if inv.Function == "submit" {
			c.submit.gbSeconds += gbs
		}
	}
	for _, call := range calls {
		if !bytes.Contains(call.Request, id) {
			continue
		}
		w := 0.0
		if writeOps[call.Op] {
			w = 1
		}
		c.wru += call.WRU
		c.rru += call.RRU
		c.writes += w
		if call.Function == "submit" {
			c.submit.wru += call.WRU
			c.submit.rru += call.RRU
			c.submit.writes += w
		}
	}
}

func watchAction(payload []byte) string {
	var in struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal(payload, &in)
	return in.Action
}

// addSubmit adds the mean submit cost of paths (which went through
// submit) to c (which did not).
func (c *jobCost) addSubmit(paths ...*jobCost) {
	n := float64(len(paths))
	var inv float64
	for _, p := range paths {
		inv += float64(p.invocations["submit"])
		c.gbSeconds += p.submit.gbSeconds / n
		c.wru += p.submit.wru / n
		c.rru += p.submit.rru / n
		c.writes += p.submit.writes / n
	}
	c.invocations["submit"] += int(math.Round(inv / n))
}

// execution is a finished Step Functions execution.
type execution struct {
	status      sfntypes.ExecutionStatus
	transitions int
	elapsed     time.Duration
}

func waitExecution(ctx context.Context, c *sfn.Client, arn string) (execution, error) {
	for {
		out, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return execution{}, fmt.Errorf("describe execution: %w", err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning {
			r := execution{status: out.Status}
			if out.StartDate != nil && out.StopDate != nil {
				r.elapsed = out.StopDate.Sub(*out.StartDate)
			}
			r.transitions, err = transitions(ctx, c, arn)
			return r, err
		}
		select {
		case <-ctx.Done():
			return execution{}, fmt.Errorf("execution %s still running: %w", arn, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

// transitions counts the states an execution entered: Step Functions
// Standard bills one transition per state entered.
func transitions(ctx context.Context, c *sfn.Client, arn string) (int, error) {
	n := 0
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("execution history: %w", err)
		}
		for _, ev := range page.Events {
			if strings.HasSuffix(string(ev.Type), "StateEntered") {
				n++
			}
		}
	}
	return n, nil
}

func executionARN(machineARN, name string) string {
	return strings.Replace(machineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// submit sends POST /jobs and returns the job id.
func submit(ctx context.Context, s *system, prompt string) (string, error) {
	body, _ := json.Marshal(map[string]string{"prompt": prompt, "model": model})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.stack.APIURL()+"/jobs", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.api.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST /jobs: %w", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("POST /jobs: %d %s", resp.StatusCode, out)
	}
	var env struct {
		Job struct {
			ID string `json:"id"`
		} `json:"job"`
	}
	if err := json.Unmarshal(out, &env); err != nil || env.Job.ID == "" {
		return "", fmt.Errorf("POST /jobs: no job id in %s", out)
	}
	return env.Job.ID, nil
}

func createFixedLoop(ctx context.Context, s *system) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	def, err := os.ReadFile(filepath.Join(root, "workflow", "testdata", "fixedloop.asl.json"))
	if err != nil {
		return "", err
	}
	body, err := workflow.Substitute(def, map[string]string{
		workflow.WatchFunctionArn: localstack.FunctionARN("watch"),
		workflow.StoreFunctionArn: localstack.FunctionARN("store"),
		workflow.EventBusName:     s.stack.Resources.EventBusName,
	})
	if err != nil {
		return "", err
	}
	out, err := s.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String("bench-fixed-loop-" + randomHex(4)),
		Definition: aws.String(string(body)),
		RoleArn:    aws.String("arn:aws:iam::" + localstack.AccountID + ":role/videojobs-workflow"),
	})
	if err != nil {
		return "", fmt.Errorf("create fixed loop: %w", err)
	}
	return aws.ToString(out.StateMachineArn), nil
}

// startFixedLoop creates a provider job (no webhook) and its job item as
// submit would, then starts the fixed loop on it.
func startFixedLoop(ctx context.Context, s *system, machineARN, prompt string) (string, error) {
	v, err := aistats.New(s.stack.SimulatorURL(), apiKey).Create(ctx, aistats.CreateRequest{Model: model, Prompt: prompt})
	if err != nil {
		return "", fmt.Errorf("provider create: %w", err)
	}
	now := time.Now().UTC()
	j := &job.Job{ID: intake.NewJobID(), State: job.Queued, ProviderJobID: v.ID, Model: model, Fingerprint: "bench-fixed-loop",
		CreatedAt: now, UpdatedAt: now, SubmittedAt: now}
	if err := s.store.CreateJob(ctx, j); err != nil {
		return "", err
	}
	in, _ := json.Marshal(map[string]any{"jobId": j.ID, "interval": 20})
	if _, err := s.sfn.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machineARN), Name: aws.String(j.ID), Input: aws.String(string(in)),
	}); err != nil {
		return "", fmt.Errorf("start fixed loop: %w", err)
	}
	return j.ID, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
