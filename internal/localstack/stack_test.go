package localstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/videojobs/videojobs/internal/localstack"
)

// TestStack starts the whole stack with echofn under the RIE as the webhook
// function, in-process watch and store stubs, and an in-process simulator
// stand-in, then checks the resources, the wiring and the clean stop.
func TestStack(t *testing.T) {
	rie := rieBin(t)
	echo := echoBootstrap(t)
	var tasks atomic.Pointer[sfn.Client] // set once the stack runs
	stubs := map[string]localstack.Invoker{
		// The watch function's first poll finds the job completed and
		// completes the Watch task with it.
		"watch": localstack.HandlerFunc(func(ctx context.Context, p []byte) ([]byte, error) {
			var in struct{ Action, TaskToken string }
			if err := json.Unmarshal(p, &in); err != nil || in.Action != "watch" || tasks.Load() == nil {
				return nil, fmt.Errorf("watch stub: unexpected call %s (%v)", p, err)
			}
			out := `{"state":"completed","waitSeconds":0}`
			if _, err := tasks.Load().SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(in.TaskToken), Output: aws.String(out)}); err != nil {
				return nil, err
			}
			return []byte(out), nil
		}),
		"store": localstack.HandlerFunc(func(context.Context, []byte) ([]byte, error) {
			return []byte(`{"state":"stored","bucket":"videojobs-videos","key":"videos/x/0.mp4","size":1,"sha256":"00"}`), nil
		}),
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LOCALSTACK_TEST_FAKE_SIM", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := localstack.Start(ctx, localstack.Options{
		Dir:                   t.TempDir(),
		RIEBin:                rie,
		Functions:             map[string]localstack.Function{"webhook": {Bootstrap: echo, Concurrency: 2}},
		Handlers:              stubs,
		SimulatorCommand:      []string{self},
		Env:                   map[string]string{"POLL_INTERVAL_CAP_SECONDS": "5"},
		WebhookSecret:         "whsec_current",
		PreviousWebhookSecret: "whsec_previous",
	})
	skipIfNoMoto(t, err)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	pids := st.PIDs()
	defer func() {
		st.Close()
		for _, pid := range pids {
			// Signal 0 to the group: ESRCH means no process of it is left,
			// including the bootstraps the RIE processes started.
			if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process group %d still alive after Close (kill -0: %v)", pid, err)
			}
		}
	}()
	if len(pids) != 4 {
		t.Errorf("PIDs = %v, want moto, two RIE processes and the simulator", pids)
	}

	t.Run("simulator got the API key", func(t *testing.T) {
		req, _ := http.NewRequest("GET", st.SimulatorURL()+"/v1/videos", nil)
		req.Header.Set("Authorization", "Bearer "+st.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("simulator status = %d, want 200", resp.StatusCode)
		}
	})

	t.Run("function environment", func(t *testing.T) {
		want := map[string]string{
			"AWS_ENDPOINT_URL":           st.MotoURL(),
			"AWS_REGION":                 "us-east-1",
			"TABLE_NAME":                 st.Resources.TableName,
			"BUCKET_NAME":                st.Resources.BucketName,
			"STATE_MACHINE_ARN":          st.Resources.StateMachineARN,
			"AISTATS_BASE_URL":           st.SimulatorURL(),
			"AISTATS_API_KEY_SECRET_ARN": st.Resources.APIKeySecretARN,
			"WEBHOOK_MASTER_SECRET_ARN":  st.Resources.WebhookSecretARN,
			"WEBHOOK_BASE_URL":           st.APIURL(),
			"POLL_INTERVAL_CAP_SECONDS":  "5",
		}
		for k, v := range want {
			resp, body := lambdaInvoke(t, st.LambdaURL(), "webhook", "", fmt.Sprintf(`{"env":%q}`, k))
			if resp.StatusCode != 200 {
				t.Fatalf("invoke: %d %s", resp.StatusCode, body)
			}
			if want := fmt.Sprintf(`{"value":%q}`, v); body != want || v == "" {
				t.Errorf("%s: function sees %s, want %s", k, body, want)
			}
		}
	})

	t.Run("http api reaches the RIE function", func(t *testing.T) {
		resp, err := http.Post(st.APIURL()+"/webhooks/ai-stats?job=vj_1", "application/json", strings.NewReader(`{"id":"evt"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		ev := echoed(t, resp)
		if ev.RouteKey != "POST /webhooks/ai-stats" || ev.Body != `{"id":"evt"}` {
			t.Errorf("event = %+v", ev)
		}
	})

	cfg := localstack.AWSConfig(st.MotoURL())
	tasks.Store(sfn.NewFromConfig(cfg))
	t.Run("resources", func(t *testing.T) {
		table, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(st.Resources.TableName)})
		if err != nil {
			t.Fatal(err)
		}
		if gsis := table.Table.GlobalSecondaryIndexes; len(gsis) != 1 || aws.ToString(gsis[0].IndexName) != "byState" {
			t.Errorf("GSIs = %+v, want byState", gsis)
		}
		ttl, err := dynamodb.NewFromConfig(cfg).DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(st.Resources.TableName)})
		if err != nil || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "ttl" {
			t.Errorf("ttl = %+v, %v", ttl, err)
		}

		sm := secretsmanager.NewFromConfig(cfg)
		for stage, want := range map[string]string{"AWSCURRENT": "whsec_current", "AWSPREVIOUS": "whsec_previous"} {
			v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(st.Resources.WebhookSecretARN), VersionStage: aws.String(stage)})
			if err != nil || aws.ToString(v.SecretString) != want {
				t.Errorf("webhook secret %s = %v, want it set (%v)", stage, v, err)
			}
		}
		key, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(st.Resources.APIKeySecretARN)})
		if err != nil || aws.ToString(key.SecretString) != st.APIKey || !strings.HasPrefix(st.APIKey, "aistats_v1_sk_") {
			t.Errorf("api key secret = %v (%v), want %q", key, err, st.APIKey)
		}

		// No UsePathStyle: the SDK picks path style for an IP endpoint, so
		// the functions' S3 clients need no local special case.
		if _, err := s3.NewFromConfig(cfg).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(st.Resources.BucketName)}); err != nil {
			t.Errorf("head bucket: %v", err)
		}
		if _, err := eventbridge.NewFromConfig(cfg).DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("videojobs")}); err != nil {
			t.Errorf("describe bus: %v", err)
		}
		t.Logf("bucket EventBridge notifications: %v; PITR: %v", st.Resources.BucketEventBridgeOn, st.Resources.PointInTimeRecoveryOn)
	})

	t.Run("workflow runs through the Lambda front", func(t *testing.T) {
		c := sfn.NewFromConfig(cfg)
		jobID := "vj_01stacktest00000000000000"
		start, err := c.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(st.Resources.StateMachineARN),
			Name:            aws.String(jobID),
			Input:           aws.String(`{"jobId":"` + jobID + `","poll":{"state":"queued","waitSeconds":1}}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		for {
			d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: start.ExecutionArn})
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != sfntypes.ExecutionStatusRunning {
				if d.Status != sfntypes.ExecutionStatusSucceeded {
					t.Errorf("execution %s", d.Status)
				}
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("cold start reports", func(t *testing.T) {
		r, ok := st.RIE("webhook")
		if !ok {
			t.Fatal("no RIE for webhook")
		}
		reports, err := r.Reports()
		if err != nil {
			t.Fatal(err)
		}
		if len(reports) == 0 || reports[0].Init <= 0 {
			t.Errorf("reports = %+v, want a first one with an init duration", reports)
		}
	})
}
