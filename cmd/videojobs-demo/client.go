package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/localapi"
	"github.com/videojobs/videojobs/internal/localstack"
)

// client reads and writes the system the way a user can: the HTTP API,
// the simulator's /_sim inspection routes, and moto's S3 and Step Functions.
type client struct {
	t    *target
	api  *localapi.Client
	http *http.Client // for the simulator
	s3   *s3.Client
	sfn  *sfn.Client
}

func newClient(t *target) *client {
	cfg := localstack.AWSConfig(t.MotoURL)
	return &client{
		t:    t,
		api:  localapi.New(t.APIURL),
		http: &http.Client{},
		s3:   s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		sfn:  sfn.NewFromConfig(cfg),
	}
}

// getJSON reads a simulator inspection route, which answers 200 with JSON.
func (c *client) getJSON(ctx context.Context, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// submit posts one job.
func (c *client) submit(ctx context.Context, prompt string) (intake.View, error) {
	body, _ := json.Marshal(map[string]string{"prompt": prompt})
	r, err := c.api.Submit(ctx, body, "")
	if err != nil {
		return intake.View{}, fmt.Errorf("submit: %w", err)
	}
	if r.Status != http.StatusAccepted {
		return intake.View{}, fmt.Errorf("submit: POST /jobs: %s", r)
	}
	v, err := localapi.DecodeJob(r)
	if err != nil {
		return intake.View{}, fmt.Errorf("submit: %w", err)
	}
	return v, nil
}

// rejected counts the simulator's deliveries for a provider job that the
// webhook endpoint answered 401.
func (c *client) rejected(ctx context.Context, providerJobID string) (int, error) {
	var ds []struct {
		Status int `json:"status"`
	}
	if err := c.getJSON(ctx, c.t.SimulatorURL+"/_sim/deliveries?job="+url.QueryEscape(providerJobID), &ds); err != nil {
		return 0, fmt.Errorf("simulator deliveries: %w", err)
	}
	n := 0
	for _, d := range ds {
		if d.Status == http.StatusUnauthorized {
			n++
		}
	}
	return n, nil
}

// object reads a stored video back from S3, hashes it, and compares it to
// what the simulator served for the provider job.
func (c *client) object(ctx context.Context, bucket, key, providerJobID string) (*object, error) {
	var sim struct {
		SHA256 string `json:"sha256"`
		Bytes  int64  `json:"bytes"`
	}
	if err := c.getJSON(ctx, c.t.SimulatorURL+"/_sim/jobs/"+url.PathEscape(providerJobID)+"/sha256", &sim); err != nil {
		return nil, fmt.Errorf("simulator sha256: %w", err)
	}
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	o := &object{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), SimSHA256: sim.SHA256}
	o.Match = o.SHA256 == sim.SHA256 && n == sim.Bytes
	return o, nil
}

// transitions counts the states entered in the job's execution (named
// after the job id), which is what Step Functions Standard bills. ok is
// false while the execution is still running.
func (c *client) transitions(ctx context.Context, jobID string) (n int, ok bool, err error) {
	arn := strings.Replace(c.t.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + jobID
	d, err := c.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return 0, false, fmt.Errorf("describe execution: %w", err)
	}
	if d.Status == "RUNNING" {
		return 0, false, nil
	}
	p := sfn.NewGetExecutionHistoryPaginator(c.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, false, fmt.Errorf("execution history: %w", err)
		}
		for _, ev := range page.Events {
			if strings.HasSuffix(string(ev.Type), "StateEntered") {
				n++
			}
		}
	}
	return n, true, nil
}
