package localstack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/videojobs/videojobs/internal/localstack"
)

// lambdaInvoke calls the Lambda Invoke API the way an SDK does.
func lambdaInvoke(t *testing.T, baseURL, function, invocationType, payload string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", baseURL+"/2015-03-31/functions/"+function+"/invocations", strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	if invocationType != "" {
		req.Header.Set("X-Amz-Invocation-Type", invocationType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestLambdaFrontInvokesRIE(t *testing.T) {
	rie, err := localstack.StartRIE(context.Background(), localstack.RIEOptions{
		Bin: rieBin(t), Name: "echo", Bootstrap: echoBootstrap(t), LogDir: t.TempDir(),
		Env: []string{"ECHO_GREETING=hello"},
	})
	if err != nil {
		t.Fatalf("start rie: %v", err)
	}
	defer rie.Close()
	front := localstack.NewLambdaFront(nil)
	front.Register("echo", rie)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream "+r.Method+" "+r.URL.Path)
	}))
	defer upstream.Close()
	if err := front.SetUpstream(upstream.URL); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(front)
	defer srv.Close()

	tests := []struct {
		name           string
		function       string
		invocationType string
		payload        string
		wantStatus     int
		wantBody       string
		wantFuncError  string
		wantErrorType  string
	}{
		{name: "by name", function: "echo", payload: `{"x":1}`, wantStatus: 200, wantBody: `{"x":1}`},
		{name: "by ARN", function: localstack.FunctionARN("echo"), payload: `{"x":2}`, wantStatus: 200, wantBody: `{"x":2}`},
		{name: "by qualified ARN", function: localstack.FunctionARN("echo") + ":$LATEST", payload: `{"x":3}`, wantStatus: 200, wantBody: `{"x":3}`},
		{name: "function environment", function: "echo", payload: `{"env":"ECHO_GREETING"}`, wantStatus: 200, wantBody: `{"value":"hello"}`},
		{name: "host environment does not leak", function: "echo", payload: `{"env":"HOME"}`, wantStatus: 200, wantBody: `{"value":""}`},
		{name: "function error", function: "echo", payload: `{"fail":"boom"}`, wantStatus: 200, wantFuncError: "Unhandled", wantErrorType: "errorString"},
		{name: "unknown function", function: "nope", payload: `{}`, wantStatus: 404},
		{name: "dry run", function: "echo", invocationType: "DryRun", payload: `{}`, wantStatus: 204},
		{name: "event invocation", function: "echo", invocationType: "Event", payload: `{}`, wantStatus: 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := lambdaInvoke(t, srv.URL, tt.function, tt.invocationType, tt.payload)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tt.wantStatus, body)
			}
			if resp.Header.Get("X-Amzn-RequestId") == "" {
				t.Error("no X-Amzn-RequestId")
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body = %s, want %s", body, tt.wantBody)
			}
			if got := resp.Header.Get("X-Amz-Function-Error"); got != tt.wantFuncError {
				t.Errorf("X-Amz-Function-Error = %q, want %q", got, tt.wantFuncError)
			}
			if tt.wantErrorType != "" {
				var e struct{ ErrorType string }
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.ErrorType != tt.wantErrorType {
					t.Errorf("errorType = %q (%v), want %q", e.ErrorType, err, tt.wantErrorType)
				}
			}
		})
	}
	front.Wait()

	t.Run("other requests go upstream", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/some-bucket/some-key")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if got, want := string(body), "upstream GET /some-bucket/some-key"; got != want {
			t.Errorf("body = %q, want %q", got, want)
		}
	})
}

func TestRIEPoolServesConcurrentInvocations(t *testing.T) {
	const n = 3
	rie, err := localstack.StartRIE(context.Background(), localstack.RIEOptions{
		Bin: rieBin(t), Name: "echo", Bootstrap: echoBootstrap(t), LogDir: t.TempDir(), Concurrency: n,
	})
	if err != nil {
		t.Fatalf("start rie: %v", err)
	}
	defer rie.Close()

	// n overlapping invocations: with a pool of n each gets its own process
	// (and function instance), where one process would serve them in turn.
	var wg sync.WaitGroup
	pids := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := rie.Invoke(context.Background(), []byte(`{"sleepMs":300}`))
			if err != nil || resp.FunctionError != "" {
				t.Errorf("invoke: %v %s", err, resp.Payload)
				return
			}
			var out struct{ PID int }
			if err := json.Unmarshal(resp.Payload, &out); err != nil {
				t.Errorf("decode %s: %v", resp.Payload, err)
			}
			pids <- out.PID
		}()
	}
	wg.Wait()
	close(pids)
	distinct := map[int]bool{}
	for pid := range pids {
		distinct[pid] = true
	}
	if len(distinct) != n {
		t.Errorf("invocations ran in %d function processes, want %d", len(distinct), n)
	}

	// A second round is warm: no new INIT.
	if _, err := rie.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	reports, err := rie.Reports()
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != n+1 {
		t.Fatalf("got %d REPORT lines, want %d", len(reports), n+1)
	}
	cold := 0
	for _, r := range reports {
		if r.Init > 0 {
			cold++
		}
		if r.Duration <= 0 || r.RequestID == "" {
			t.Errorf("report %+v lacks duration or request id", r)
		}
	}
	if cold != n {
		t.Errorf("%d reports carry an init duration, want %d (one per process)", cold, n)
	}
}

func TestParseReports(t *testing.T) {
	path := t.TempDir() + "/fn-0.log"
	log := "START RequestId: a Version: $LATEST\n" +
		"27 Nov 2026 06:20:46,879 [INFO] (rapid) INIT REPORT(durationMs: 3.548000)\n" +
		"END RequestId: a\n" +
		"REPORT RequestId: a\tInit Duration: 0.03 ms\tDuration: 4.79 ms\tBilled Duration: 5 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t\n" +
		"REPORT RequestId: b\tDuration: 1.45 ms\tBilled Duration: 2 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t\n"
	if err := writeFile(path, log); err != nil {
		t.Fatal(err)
	}
	got, err := localstack.ParseReports(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []localstack.Report{
		{RequestID: "a", Init: 3548000, Duration: 4790000, LogPath: path},
		{RequestID: "b", Duration: 1450000, LogPath: path},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d reports, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("report %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
