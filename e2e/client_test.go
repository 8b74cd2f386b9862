package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// apiClient talks to the local HTTP API as a client would.
type apiClient struct {
	base string
	http *http.Client
}

// jobView is the part of the API's job representation the tests read.
type jobView struct {
	ID             string `json:"id"`
	State          string `json:"state"`
	ProviderJobID  string `json:"providerJobId"`
	ProviderStatus string `json:"providerStatus"`
	History        []struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Source string `json:"source"`
		Reason string `json:"reason"`
	} `json:"history"`
	Error *struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
	Output *struct {
		Bucket string `json:"bucket"`
		Key    string `json:"key"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"output"`
	Deliveries *struct {
		Received   int `json:"received"`
		Duplicates int `json:"duplicates"`
		Retries    int `json:"retries"`
		Late       int `json:"late"`
	} `json:"deliveries"`
}

// sourceOf returns who moved the job into state to ("" if it never got there).
func (v jobView) sourceOf(to string) string {
	for _, c := range v.History {
		if c.To == to {
			return c.Source
		}
	}
	return ""
}

func (v jobView) terminal() bool {
	switch v.State {
	case "stored", "failed", "cancelled", "expired", "rejected":
		return true
	}
	return false
}

// response is one HTTP exchange.
type response struct {
	status int
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// errorCode is the code of the API's error envelope, "" if there is none.
func (r response) errorCode() string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &e) != nil || e.Error.Message == "" {
		return ""
	}
	return e.Error.Code
}

func (c *apiClient) do(ctx context.Context, method, path string, body []byte, header map[string]string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return response{status: resp.StatusCode, body: b}, nil
}

// submitRaw posts body to /jobs with an optional Idempotency-Key.
func (c *apiClient) submitRaw(t *testing.T, body, key string) response {
	t.Helper()
	h := map[string]string{}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	r, err := c.do(t.Context(), http.MethodPost, "/jobs", []byte(body), h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func submitBody(prompt string) string {
	b, _ := json.Marshal(map[string]string{"prompt": prompt, "model": defaultModel})
	return string(b)
}

func decodeJob(t *testing.T, r response) jobView {
	t.Helper()
	var env struct {
		Job jobView `json:"job"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Job.ID == "" {
		t.Fatalf("job response %s: no job in it (%v)", r, err)
	}
	return env.Job
}

// job reads GET /jobs/{id}.
func (c *apiClient) job(ctx context.Context, id string) (jobView, error) {
	r, err := c.do(ctx, http.MethodGet, "/jobs/"+id, nil, nil)
	if err != nil {
		return jobView{}, err
	}
	if r.status != http.StatusOK {
		return jobView{}, fmt.Errorf("GET /jobs/%s: %s", id, r)
	}
	var env struct {
		Job jobView `json:"job"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		return jobView{}, fmt.Errorf("GET /jobs/%s: %w: %s", id, err, r.body)
	}
	return env.Job, nil
}

// jobWaitLimit bounds how long one job may take. The slowest job in the
// suite is polled three times 20 s apart (two faulted polls, one good).
const jobWaitLimit = 150 * time.Second

// rank orders the states as the job model does: a job only moves forward.
var rank = map[string]int{"accepted": 0, "queued": 1, "processing": 2, "completed": 3,
	"stored": 4, "failed": 4, "cancelled": 4, "expired": 4, "rejected": 4}

// waitTerminal polls GET /jobs/{id} until the job is terminal, and fails
// the test if a read ever shows the job behind an earlier one: clients
// must never see a job move backwards (design.md guarantee 4).
func (c *apiClient) waitTerminal(t *testing.T, id string) jobView {
	t.Helper()
	deadline := time.Now().Add(jobWaitLimit)
	var last jobView
	var lastErr error
	seen := ""
	for time.Now().Before(deadline) {
		last, lastErr = c.job(t.Context(), id)
		if lastErr == nil {
			if seen != "" && rank[last.State] < rank[seen] {
				t.Errorf("job %s went back from %s to %s; history %s", id, seen, last.State, last.sources())
			}
			if seen == "" || rank[last.State] > rank[seen] {
				seen = last.State
			}
			if last.terminal() {
				return last
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("job %s not terminal after %s: last state %q, last error %v", id, jobWaitLimit, last.State, lastErr)
	return last
}

// checkStored proves the job's video is in S3 intact: the object's bytes
// hash to what the simulator served, and the job and the object metadata
// say the same.
func checkStored(t *testing.T, s *system, v jobView) {
	t.Helper()
	if v.State != "stored" {
		t.Errorf("job %s: state %q (error %+v), want stored", v.ID, v.State, v.Error)
		return
	}
	if v.Output == nil || v.ProviderJobID == "" {
		t.Errorf("job %s: stored without output or provider job id: %+v", v.ID, v)
		return
	}
	wantSum, err := s.sim.ContentSHA256(v.ProviderJobID)
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	wantSize, _ := s.sim.ContentSize(v.ProviderJobID)
	if v.Output.Bucket != s.stack.Resources.BucketName || !strings.HasPrefix(v.Output.Key, "videos/"+v.ID+"/") {
		t.Errorf("job %s: output at s3://%s/%s, want s3://%s/videos/%s/…", v.ID, v.Output.Bucket, v.Output.Key, s.stack.Resources.BucketName, v.ID)
	}
	obj, err := s.s3.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(v.Output.Bucket), Key: aws.String(v.Output.Key)})
	if err != nil {
		t.Errorf("job %s: get s3://%s/%s: %v", v.ID, v.Output.Bucket, v.Output.Key, err)
		return
	}
	defer obj.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj.Body)
	if err != nil {
		t.Fatalf("job %s: read object: %v", v.ID, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != wantSum || n != wantSize {
		t.Errorf("job %s: S3 object is %d bytes sha256 %s, simulator served %d bytes sha256 %s", v.ID, n, got, wantSize, wantSum)
	}
	if v.Output.SHA256 != wantSum || v.Output.Size != wantSize {
		t.Errorf("job %s: job output says %d bytes sha256 %s, want %d bytes %s", v.ID, v.Output.Size, v.Output.SHA256, wantSize, wantSum)
	}
	for k, want := range map[string]string{"sha256": wantSum, "job-id": v.ID, "provider-job-id": v.ProviderJobID} {
		if got := obj.Metadata[k]; got != want {
			t.Errorf("job %s: object metadata %s = %q, want %q", v.ID, k, got, want)
		}
	}
}

// checkNoObject proves a job that did not finish stored nothing.
func checkNoObject(t *testing.T, s *system, id string) {
	t.Helper()
	out, err := s.s3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: s.bucket(), Prefix: aws.String("videos/" + id + "/")})
	if err != nil {
		t.Fatalf("list objects: %v", err)
	}
	if len(out.Contents) != 0 {
		t.Errorf("job %s ended without a video but has %d objects under videos/%s/", id, len(out.Contents), id)
	}
}

// executionReport is what Step Functions recorded for one job's execution.
type executionReport struct {
	status string
	// transitions counts the states entered, which is what Step Functions
	// Standard bills as state transitions.
	transitions int
	path        []string
}

func (e executionReport) String() string {
	return fmt.Sprintf("%d transitions (%s) %s", e.transitions, e.status, strings.Join(e.path, "→"))
}

// execution waits for the job's execution (named after the job id) to end
// and reads its history.
func execution(t *testing.T, s *system, jobID string) executionReport {
	t.Helper()
	arn := executionARN(s.stack.Resources.StateMachineARN, jobID)
	ctx := t.Context()
	var status sfntypes.ExecutionStatus
	for deadline := time.Now().Add(60 * time.Second); ; {
		d, err := s.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("describe execution %s: %v", arn, err)
		}
		if status = d.Status; status != sfntypes.ExecutionStatusRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still running after its job ended", arn)
		}
		time.Sleep(500 * time.Millisecond)
	}
	rep := executionReport{status: string(status)}
	p := sfn.NewGetExecutionHistoryPaginator(s.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("execution history %s: %v", arn, err)
		}
		for _, ev := range page.Events {
			if strings.HasSuffix(string(ev.Type), "StateEntered") {
				rep.transitions++
				if d := ev.StateEnteredEventDetails; d != nil {
					rep.path = append(rep.path, aws.ToString(d.Name))
				}
			}
		}
	}
	return rep
}

// executionARN is the ARN of the execution named name of a state machine.
func executionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// providerJobsFor lists the simulator's jobs created with this job's
// webhook URL: the provider jobs one submission made.
func providerJobsFor(s *system, jobID string) []string {
	var ids []string
	for _, j := range s.sim.Jobs() {
		if strings.Contains(j.WebhookURL, "job="+jobID) {
			ids = append(ids, j.ID)
		}
	}
	return ids
}

// deliveryOutcomes counts the simulator's delivery attempts to a job by
// the receiver's status ("dropped" for those never sent).
func deliveryOutcomes(s *system, providerJobID string) map[string]int {
	out := map[string]int{}
	for _, d := range s.sim.Deliveries() {
		if d.JobID != providerJobID {
			continue
		}
		switch {
		case d.Outcome == "dropped":
			out["dropped"]++
		case d.Status != 0:
			out[fmt.Sprint(d.Status)]++
		default:
			out["error"]++
		}
	}
	return out
}

// sources lists who made each transition, for failure messages.
func (v jobView) sources() string {
	var s []string
	for _, c := range v.History {
		s = append(s, c.From+"→"+c.To+"("+c.Source+")")
	}
	return strings.Join(s, " ")
}
