package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/localapi"
)

// The job and provider job ids the sample events are written for. The test
// replaces them with a real job's, so each event means something to the
// running stack, then re-signs the webhook events with cmd/sign-event, as a
// developer does before `sam local invoke`.
const (
	sampleJobID      = "vj_01jz8q3v4x5y6z7a8b9c0d1e2f"
	sampleProviderID = "G-01JZ8Q3V4X5Y6Z7A8B9C0D1E2F"
)

// invocation is what a function returned for one event.
type invocation struct {
	payload       []byte
	functionError string
}

// api decodes an API Gateway v2 response payload.
func (inv invocation) api(t *testing.T) (status int, body []byte) {
	t.Helper()
	var r struct {
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(inv.payload, &r); err != nil || r.StatusCode == 0 {
		t.Fatalf("not an API Gateway v2 response: %s (%v)", inv.payload, err)
	}
	if r.IsBase64Encoded {
		t.Fatalf("JSON API answered with a base64 body: %s", inv.payload)
	}
	if r.Body != "" && !json.Valid([]byte(r.Body)) {
		t.Errorf("status %d body is not JSON: %q", r.StatusCode, r.Body)
	}
	if r.StatusCode >= 400 {
		var env struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(r.Body), &env); env.Error.Code == "" || env.Error.Message == "" {
			t.Errorf("status %d without the error envelope {\"error\":{\"code\",\"message\"}}: %s", r.StatusCode, r.Body)
		}
	}
	return r.StatusCode, []byte(r.Body)
}

// invoke runs one invocation of a function through the Lambda front, the
// way the Lambda Invoke API (and `sam local invoke`) would.
func invoke(t *testing.T, s *system, function string, event []byte) invocation {
	t.Helper()
	url := s.stack.LambdaURL() + "/2015-03-31/functions/" + function + "/invocations"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", function, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke %s: lambda front answered %d %s", function, resp.StatusCode, b)
	}
	return invocation{payload: b, functionError: resp.Header.Get("X-Amz-Function-Error")}
}

// sampleEvent reads events/<name>, points it at the given job, and re-signs
// it when it is a webhook event.
func sampleEvent(t *testing.T, s *system, name, jobID, providerID string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	if jobID != "" {
		raw = bytes.ReplaceAll(raw, []byte(sampleJobID), []byte(jobID))
	}
	if providerID != "" {
		raw = bytes.ReplaceAll(raw, []byte(sampleProviderID), []byte(providerID))
	}
	if !strings.HasPrefix(name, "webhook-") {
		return raw
	}
	// cmd/sign-event rewrites files in place and takes its rule (forge or
	// sign) from the file name, so sign a copy under the same name.
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), s.signEvent, "-master", webhookSecret, path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sign-event %s: %v\n%s", name, err, out)
	}
	signed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// eventCase says which function an events/ file is for and what it must
// answer when pointed at a stored job.
type eventCase struct {
	function string
	check    func(t *testing.T, s *system, v intake.View, inv invocation)
}

// apiStatus expects an API response with one of the given statuses.
func apiStatus(want ...int) func(t *testing.T, s *system, v intake.View, inv invocation) {
	return func(t *testing.T, s *system, v intake.View, inv invocation) {
		if inv.functionError != "" {
			t.Fatalf("function error %s: %s", inv.functionError, inv.payload)
		}
		got, body := inv.api(t)
		if !slices.Contains(want, got) {
			t.Errorf("status %d (%s), want one of %v", got, body, want)
		}
		t.Logf("status %d: %.200s", got, body)
	}
}

// watchResult expects the watch function's {"state","waitSeconds"} with the
// job still stored: a stored job never changes state.
func watchResult(t *testing.T, s *system, v intake.View, inv invocation) {
	if inv.functionError != "" {
		t.Fatalf("function error %s: %s", inv.functionError, inv.payload)
	}
	var out struct {
		State       *string `json:"state"`
		WaitSeconds *int    `json:"waitSeconds"`
	}
	if err := json.Unmarshal(inv.payload, &out); err != nil || out.State == nil || out.WaitSeconds == nil {
		t.Fatalf("output %s, want {\"state\",\"waitSeconds\"} (%v)", inv.payload, err)
	}
	if *out.State != "stored" {
		t.Errorf("state %q for a stored job, want stored", *out.State)
	}
	after, err := s.api.Job(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != "stored" || after.Output == nil || after.Output.SHA256 != v.Output.SHA256 {
		t.Errorf("job after the event: %s %+v, want still stored with the same output", after.State, after.Output)
	}
}

var eventCases = map[string]eventCase{
	"submit-ok.json":             {function: "submit", check: apiStatus(http.StatusAccepted)},
	"submit-idempotent.json":     {function: "submit", check: apiStatus(http.StatusAccepted, http.StatusOK)},
	"submit-bad-json.json":       {function: "submit", check: apiStatus(http.StatusBadRequest)},
	"jobs-get.json":              {function: "jobs", check: checkJobsGet},
	"jobs-list.json":             {function: "jobs", check: checkJobsList},
	"jobs-download-url.json":     {function: "jobs", check: checkDownloadURL},
	"jobs-cancel.json":           {function: "jobs", check: apiStatus(http.StatusConflict)},
	"webhook-completed.json":     {function: "webhook", check: apiStatus(http.StatusOK, http.StatusAccepted, http.StatusNoContent)},
	"webhook-duplicate.json":     {function: "webhook", check: apiStatus(http.StatusOK, http.StatusAccepted, http.StatusNoContent)},
	"webhook-bad-signature.json": {function: "webhook", check: apiStatus(http.StatusUnauthorized)},
	"webhook-unsigned.json":      {function: "webhook", check: apiStatus(http.StatusUnauthorized)},
	"watch.json":                 {function: "watch", check: watchResult},
	"watch-poll.json":            {function: "watch", check: watchResult},
	"watch-fail.json":            {function: "watch", check: watchResult},
	"store.json":                 {function: "store", check: checkStore},
}

// functionFor maps an events/ file to its function by the naming rule in
// events/README.md (<function>-<case>.json, or <function>.json).
func functionFor(name string) string {
	base := strings.TrimSuffix(name, ".json")
	fn, _, _ := strings.Cut(base, "-")
	if _, ok := functions[fn]; ok {
		return fn
	}
	return ""
}

// TestSampleEvents runs every events/*.json through the real bootstrap
// under the RIE against the running stack. A job made by submit-ok.json is
// followed to stored, and the other events are pointed at it.
func TestSampleEvents(t *testing.T) {
	s := requireSystem(t)
	files, err := filepath.Glob(filepath.Join(s.root, "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events/*.json (%v)", err)
	}

	// submit-ok.json makes the job the rest are pointed at.
	inv := invoke(t, s, "submit", sampleEvent(t, s, "submit-ok.json", "", ""))
	eventCases["submit-ok.json"].check(t, s, intake.View{}, inv)
	_, body := inv.api(t)
	v := waitTerminal(t, s.api, decodeJob(t, localapi.Response{Status: 202, Body: body}).ID)
	checkStored(t, s, v)
	if t.Failed() {
		t.FailNow()
	}

	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			c, known := eventCases[name]
			fn := functionFor(name)
			switch {
			case name == "submit-ok.json":
				t.Logf("invoked above: it made job %s, which the other events use", v.ID)
				return
			case known && c.function != fn:
				t.Fatalf("expectation says function %s, file name says %q", c.function, fn)
			case fn == "":
				// Samples for consumers outside the five functions (the S3
				// event on the bus, say): they must at least be JSON that
				// names this job's object.
				raw := sampleEvent(t, s, name, v.ID, v.ProviderJobID)
				if !json.Valid(raw) {
					t.Fatalf("%s is not JSON", name)
				}
				t.Logf("%s: no function consumes it; checked it is valid JSON", name)
				return
			}
			inv := invoke(t, s, fn, sampleEvent(t, s, name, v.ID, v.ProviderJobID))
			if !known {
				// A new sample nobody described here yet: it must still run
				// cleanly and, for the HTTP API, answer below 500.
				if inv.functionError != "" {
					t.Fatalf("function error %s: %s", inv.functionError, inv.payload)
				}
				if bytes.Contains(inv.payload, []byte(`"statusCode"`)) {
					if got, body := inv.api(t); got >= 500 {
						t.Errorf("status %d: %s", got, body)
					}
				}
				t.Logf("%s: no expectation in eventCases; ran cleanly: %.300s", name, inv.payload)
				return
			}
			c.check(t, s, v, inv)
		})
	}
}

func checkJobsGet(t *testing.T, s *system, v intake.View, inv invocation) {
	apiStatus(http.StatusOK)(t, s, v, inv)
	_, body := inv.api(t)
	got := decodeJob(t, localapi.Response{Status: 200, Body: body})
	if got.ID != v.ID || got.State != "stored" || got.Output == nil || got.Output.SHA256 != v.Output.SHA256 {
		t.Errorf("GET /jobs/%s: %s", v.ID, body)
	}
}

func checkJobsList(t *testing.T, s *system, v intake.View, inv invocation) {
	apiStatus(http.StatusOK)(t, s, v, inv)
	_, body := inv.api(t)
	var list struct {
		Jobs []intake.View `json:"jobs"`
	}
	if err := json.Unmarshal(body, &list); err != nil || list.Jobs == nil {
		t.Fatalf("list body %s, want {\"jobs\":[…]} (%v)", body, err)
	}
	for _, j := range list.Jobs {
		if j.State != "queued" {
			t.Errorf("GET /jobs?state=queued listed job %s in state %s", j.ID, j.State)
		}
	}
}

// checkDownloadURL follows the presigned URL and checks the bytes.
func checkDownloadURL(t *testing.T, s *system, v intake.View, inv invocation) {
	apiStatus(http.StatusOK)(t, s, v, inv)
	_, body := inv.api(t)
	var d struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(body, &d); err != nil || d.URL == "" {
		t.Fatalf("download-url body %s, want {\"url\",…} (%v)", body, err)
	}
	resp, err := http.Get(d.URL)
	if err != nil {
		t.Fatalf("GET presigned url: %v", err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); resp.StatusCode != http.StatusOK || got != v.Output.SHA256 {
		t.Errorf("presigned GET: %d, sha256 %s, want 200 and %s", resp.StatusCode, got, v.Output.SHA256)
	}
}

// checkStore re-runs the copy of a stored job: it must answer the same
// object (skip a verified object or overwrite the same key).
func checkStore(t *testing.T, s *system, v intake.View, inv invocation) {
	if inv.functionError != "" {
		t.Fatalf("function error %s: %s", inv.functionError, inv.payload)
	}
	var out struct {
		State  string `json:"state"`
		Bucket string `json:"bucket"`
		Key    string `json:"key"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(inv.payload, &out); err != nil {
		t.Fatalf("store output %s: %v", inv.payload, err)
	}
	want := fmt.Sprintf("stored s3://%s/%s %d %s", v.Output.Bucket, v.Output.Key, v.Output.Size, v.Output.SHA256)
	if got := fmt.Sprintf("%s s3://%s/%s %d %s", out.State, out.Bucket, out.Key, out.Size, out.SHA256); got != want {
		t.Errorf("store of a stored job: %s, want %s", got, want)
	}
	after, err := s.api.Job(t.Context(), v.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, s, after)
}
