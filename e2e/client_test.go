package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/localapi"
)

// sourceOf returns who moved the job into state to ("" if it never got there).
func sourceOf(v intake.View, to job.State) string {
	for _, c := range v.History {
		if c.To == to {
			return string(c.Source)
		}
	}
	return ""
}

// sources lists who made each transition, for failure messages.
func sources(v intake.View) string {
	var s []string
	for _, c := range v.History {
		s = append(s, fmt.Sprintf("%s→%s(%s)", c.From, c.To, c.Source))
	}
	return strings.Join(s, " ")
}

func submitBody(prompt string) string {
	b, _ := json.Marshal(map[string]string{"prompt": prompt, "model": defaultModel})
	return string(b)
}

func decodeJob(t *testing.T, r localapi.Response) intake.View {
	t.Helper()
	v, err := localapi.DecodeJob(r)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// jobWaitLimit bounds how long one job may take. The slowest job in the
// suite is polled three times 20 s apart (two faulted polls, one good).
const jobWaitLimit = 150 * time.Second

// rank orders the states as the job model does: a job only moves forward.
var rank = map[job.State]int{"accepted": 0, "queued": 1, "processing": 2, "completed": 3,
	"stored": 4, "failed": 4, "cancelled": 4, "expired": 4, "rejected": 4}

// waitTerminal polls GET /jobs/{id} until the job is terminal, and fails
// the test if a read ever shows the job behind an earlier one: clients
// must never see a job move backwards (design.md guarantee 4).
func waitTerminal(t *testing.T, api *localapi.Client, id string) intake.View {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), jobWaitLimit)
	defer cancel()
	var seen job.State
	v, err := api.WaitTerminal(ctx, id, time.Second, func(v intake.View) {
		if seen != "" && rank[v.State] < rank[seen] {
			t.Errorf("job %s went back from %s to %s; history %s", id, seen, v.State, sources(v))
		}
		if seen == "" || rank[v.State] > rank[seen] {
			seen = v.State
		}
	})
	if err != nil {
		t.Fatalf("after %s: %v", jobWaitLimit, err)
	}
	return v
}

// checkStored proves the job's video is in S3 intact: the object's bytes
// hash to what the simulator served, and the job and the object metadata
// say the same.
func checkStored(t *testing.T, s *system, v intake.View) {
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
