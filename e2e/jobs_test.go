package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/videojobs/videojobs/internal/intake"
	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/localapi"
)

// maxWebhookTransitions is the state-transition budget of a job finished by
// its webhook: Watch → Route → Store → PublishSucceeded → Done is five; the
// rest is headroom for one early wake-up or retry, never for a poll loop.
const maxWebhookTransitions = 8

// scenario is one job the suite drives and what it must end as.
type scenario struct {
	name   string
	prompt string
	check  func(t *testing.T, s *system, v intake.View)
	// webhookPath marks jobs whose transitions are held to the budget.
	webhookPath bool
}

// submitted maps each scenario's prompt to its job id. Every scenario job is
// submitted once, right after the stack starts, so all of them run at the
// same time whatever the test parallelism; the tests then only wait and
// check, and the suite takes about as long as its slowest job.
var submitted = map[string]string{}

// submitScenarios submits every scenario job.
func submitScenarios(ctx context.Context, s *system) error {
	for _, list := range [][]scenario{webhookScenarios, pollScenarios, faultScenarios, endedScenarios} {
		for _, sc := range list {
			r, err := s.api.Submit(ctx, []byte(submitBody(sc.prompt)), "")
			if err != nil {
				return err
			}
			v, err := localapi.DecodeJob(r)
			if r.Status != http.StatusAccepted || err != nil {
				return fmt.Errorf("submit %q: got %s, want 202 with a job", sc.prompt, r)
			}
			submitted[sc.prompt] = v.ID
		}
	}
	return nil
}

// runScenarios checks each scenario's job in its own subtest and reports
// its state transitions.
func runScenarios(t *testing.T, s *system, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			id, ok := submitted[sc.prompt]
			if !ok {
				t.Fatalf("scenario %q was not submitted (add its list to submitScenarios)", sc.name)
			}
			v := waitTerminal(t, s.api, id)
			sc.check(t, s, v)
			ex := execution(t, s, v.ID)
			t.Logf("job %s (%s): %s; history %s", v.ID, v.State, ex, sources(v))
			if ex.status != "SUCCEEDED" {
				t.Errorf("job %s: execution %s, want SUCCEEDED", v.ID, ex.status)
			}
			if sc.webhookPath && ex.transitions > maxWebhookTransitions {
				t.Errorf("job %s: %d state transitions on the webhook path, want ≤ %d: %s", v.ID, ex.transitions, maxWebhookTransitions, ex)
			}
		})
	}
}

// storedByWebhook: the webhook woke the workflow and the video is intact.
func storedByWebhook(t *testing.T, s *system, v intake.View) {
	checkStored(t, s, v)
	if got := sourceOf(v, "completed"); got != "webhook" {
		t.Errorf("job %s: completed by %q, want webhook; history %s", v.ID, got, sources(v))
	}
	if v.Deliveries == nil || v.Deliveries.Received < 1 {
		t.Errorf("job %s: deliveries %+v, want at least one received", v.ID, v.Deliveries)
	}
}

var webhookScenarios = []scenario{
	{name: "default", prompt: "A lighthouse at dusk, waves breaking", check: storedByWebhook, webhookPath: true},
	{name: "larger video", prompt: "A paper boat on a river [sim size=3145728]", check: storedByWebhook, webhookPath: true},
}

// TestWebhookPath: with webhooks delivered, jobs are woken by the webhook,
// stored intact, and cost at most maxWebhookTransitions state transitions.
func TestWebhookPath(t *testing.T) {
	s := requireSystem(t)
	runScenarios(t, s, webhookScenarios)

	// The stored jobs are listed by state (GSI byState).
	r, err := s.api.Do(t.Context(), http.MethodGet, "/jobs?state=stored&limit=100", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Jobs []intake.View `json:"jobs"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &list) != nil {
		t.Fatalf("GET /jobs?state=stored: %s", r)
	}
	listed := map[string]bool{}
	for _, j := range list.Jobs {
		if j.State != "stored" {
			t.Errorf("GET /jobs?state=stored listed %s in state %s", j.ID, j.State)
		}
		listed[j.ID] = true
	}
	for _, sc := range webhookScenarios {
		if id := submitted[sc.prompt]; !listed[id] {
			t.Errorf("GET /jobs?state=stored does not list stored job %s", id)
		}
	}
}

var pollScenarios = []scenario{{
	name:   "all webhooks lost",
	prompt: "A hot-air balloon over vineyards [sim faults=drop_webhooks]",
	check: func(t *testing.T, s *system, v intake.View) {
		checkStored(t, s, v)
		if got := sourceOf(v, "completed"); got != "poll" {
			t.Errorf("job %s: completed by %q, want poll; history %s", v.ID, got, sources(v))
		}
		if v.Deliveries == nil || v.Deliveries.Received != 0 {
			t.Errorf("job %s: deliveries %+v, want none received", v.ID, v.Deliveries)
		}
		if got := deliveryOutcomes(s, v.ProviderJobID); got["dropped"] == 0 {
			t.Errorf("job %s: simulator delivery outcomes %v, want dropped deliveries", v.ID, got)
		}
	},
}}

// TestPollPath: with every webhook lost, the poll loop alone finishes the job.
func TestPollPath(t *testing.T) {
	runScenarios(t, requireSystem(t), pollScenarios)
}

// storedByPollDespite: the job was finished by polls, at least one of which
// met the named fault.
func storedByPollDespite(fault string) func(t *testing.T, s *system, v intake.View) {
	return func(t *testing.T, s *system, v intake.View) {
		checkStored(t, s, v)
		n := 0
		for _, r := range s.sim.Requests() {
			if r.JobID == v.ProviderJobID && r.Fault == fault {
				n++
			}
		}
		if n == 0 {
			t.Errorf("job %s: no status poll met fault %s", v.ID, fault)
		}
		if got := sourceOf(v, "completed"); got != "poll" {
			t.Errorf("job %s: completed by %q, want poll; history %s", v.ID, got, sources(v))
		}
	}
}

var faultScenarios = []scenario{
	{
		name:   "duplicates and reorder",
		prompt: "A fox in fresh snow [sim faults=duplicate_webhooks,reorder]",
		check: func(t *testing.T, s *system, v intake.View) {
			storedByWebhook(t, s, v)
			if d := v.Deliveries; d == nil || d.Duplicates < 1 || d.Late < 1 {
				t.Errorf("job %s: deliveries %+v, want duplicates ≥ 1 and late ≥ 1", v.ID, d)
			}
		},
		webhookPath: true,
	},
	{
		name:   "lost acks",
		prompt: "A city tram at night [sim faults=lost_ack]",
		check: func(t *testing.T, s *system, v intake.View) {
			storedByWebhook(t, s, v)
			if d := v.Deliveries; d == nil || d.Duplicates < 1 || d.Retries < 1 {
				t.Errorf("job %s: deliveries %+v, want duplicates ≥ 1 and retries ≥ 1", v.ID, d)
			}
		},
		webhookPath: true,
	},
	{
		name:   "bad signatures and poll 5xx",
		prompt: "A robot watering plants [sim faults=bad_signature,poll_5xx]",
		check: func(t *testing.T, s *system, v intake.View) {
			storedByPollDespite("poll.5xx")(t, s, v)
			if got := deliveryOutcomes(s, v.ProviderJobID); got["401"] == 0 || got["200"]+got["202"]+got["204"] != 0 {
				t.Errorf("job %s: receiver answered %v to badly signed deliveries, want only 401", v.ID, got)
			}
			if d := v.Deliveries; d != nil && d.Received != 0 {
				t.Errorf("job %s: %d forged deliveries were counted as received", v.ID, d.Received)
			}
		},
	},
	{
		name:   "webhooks lost and poll 429",
		prompt: "A kite festival on a beach [sim faults=drop_webhooks,poll_429]",
		check:  storedByPollDespite("poll.429"),
	},
}

// TestFaultProfile: duplicated, reordered, lost-ack and badly signed
// webhooks, and 5xx and 429 on status polls, still end stored and intact,
// with the delivery health counting what happened.
func TestFaultProfile(t *testing.T) {
	runScenarios(t, requireSystem(t), faultScenarios)
}

// endedWithout: the job ended in state with the reason, and stored nothing.
func endedWithout(state job.State, reason, message string) func(t *testing.T, s *system, v intake.View) {
	return func(t *testing.T, s *system, v intake.View) {
		if v.State != state {
			t.Errorf("job %s: state %q, want %q", v.ID, v.State, state)
		}
		if v.Error == nil || v.Error.Reason != reason || !strings.Contains(v.Error.Message, message) {
			t.Errorf("job %s: error %+v, want reason %q with message containing %q", v.ID, v.Error, reason, message)
		}
		if v.Output != nil {
			t.Errorf("job %s: output %+v on a job that did not complete", v.ID, v.Output)
		}
		checkNoObject(t, s, v.ID)
	}
}

var endedScenarios = []scenario{
	{name: "failed", prompt: "A dragon over a castle [sim outcome=failed error=content_policy_violation]",
		check: endedWithout("failed", "generation_failed", "content policy violation")},
	{name: "expired", prompt: "A slow sunrise [sim outcome=expired]",
		check: endedWithout("expired", "expired", "")},
}

// TestFailedAndExpired: provider failures and expiries end failed/expired
// with the reason, and store nothing.
func TestFailedAndExpired(t *testing.T) {
	runScenarios(t, requireSystem(t), endedScenarios)
}

// TestIdempotentSubmit: the same Idempotency-Key and body give the same job,
// another body gives 409, concurrent retries converge, and each submission
// made exactly one provider job.
func TestIdempotentSubmit(t *testing.T) {
	s := requireSystem(t)
	key := "e2e-idem-" + t.Name()
	body := submitBody("An origami crane unfolding")

	submit := func(body string) localapi.Response {
		t.Helper()
		r, err := s.api.Submit(t.Context(), []byte(body), key)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := submit(body)
	if first.Status != http.StatusAccepted {
		t.Fatalf("first POST: got %s, want 202", first)
	}
	id := decodeJob(t, first).ID
	again := submit(body)
	if again.Status/100 != 2 || decodeJob(t, again).ID != id {
		t.Errorf("same key and body: got %s, want 2xx for job %s", again, id)
	}
	other := submit(submitBody("An origami frog jumping"))
	if _, ok := other.Envelope(); other.Status != http.StatusConflict || !ok {
		t.Errorf("same key, other body: got %s, want 409 with an error envelope", other)
	}

	// Three clients retry one request at the same moment.
	key2, body2 := key+"-concurrent", submitBody("A clockwork bird taking flight")
	var wg sync.WaitGroup
	got := make([]localapi.Response, 3)
	for i := range got {
		wg.Go(func() {
			r, err := s.api.Submit(t.Context(), []byte(body2), key2)
			if err != nil {
				r = localapi.Response{Body: []byte(err.Error())}
			}
			got[i] = r
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, r := range got {
		if r.Status/100 != 2 {
			t.Errorf("concurrent POST with one key: got %s, want 2xx", r)
			continue
		}
		ids[decodeJob(t, r).ID] = true
	}
	if len(ids) != 1 {
		t.Errorf("concurrent POSTs with one key made jobs %v, want one", ids)
	}

	all := []string{id}
	for id2 := range ids {
		all = append(all, id2)
	}
	for _, jid := range all {
		v := waitTerminal(t, s.api, jid)
		checkStored(t, s, v)
		if p := providerJobsFor(s, jid); len(p) != 1 || p[0] != v.ProviderJobID {
			t.Errorf("job %s: provider jobs %v, want exactly [%s]", jid, p, v.ProviderJobID)
		}
		t.Logf("job %s: %s", jid, execution(t, s, jid))
	}
}
