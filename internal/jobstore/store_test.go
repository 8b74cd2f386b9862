package jobstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/mototest"
)

func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }

// t0 is the fixed "now" of the tests' clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	store  *Store
	client *dynamodb.Client
	table  string
}

// newEnv creates a fresh table on the shared moto server.
func newEnv(t *testing.T, opts ...Option) env {
	t.Helper()
	return newEnvAt(t, mototest.Shared(t).URL, opts...)
}

func newEnvAt(t *testing.T, url string, opts ...Option) env {
	t.Helper()
	client := dynamodb.NewFromConfig(mototest.AWSConfig(t, url))
	table := mototest.Name(t)
	if err := CreateTable(context.Background(), client, table); err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithClock(func() time.Time { return t0 })}, opts...)
	return env{store: New(client, table, opts...), client: client, table: table}
}

func (e env) rawItem(t *testing.T, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(e.table),
		Key:       map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func newJob(id string, state job.State, updated time.Time) *job.Job {
	return &job.Job{
		ID:          id,
		State:       state,
		Model:       "veo-3",
		Fingerprint: "fp-" + id,
		CreatedAt:   updated.Add(-time.Minute),
		UpdatedAt:   updated,
	}
}

func TestCreateGetJob(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	want := &job.Job{
		ID:             "vj_01hzzzzzzzzzzzzzzzzzzzzzzz",
		State:          job.Completed,
		ProviderJobID:  "vid_123",
		Model:          "veo-3",
		Fingerprint:    "abc",
		IdempotencyKey: "key-1",
		WebhookURL:     "https://example.test/webhooks/ai-stats?job=vj_01hzzzzzzzzzzzzzzzzzzzzzzz",
		CreatedAt:      t0.Add(-time.Hour),
		UpdatedAt:      t0.Add(-time.Minute),
		SubmittedAt:    t0.Add(-59 * time.Minute),
		Deadline:       t0.Add(time.Hour),
		History: []job.Change{
			{From: job.Accepted, To: job.Queued, Source: job.SourceAPI, At: t0.Add(-58 * time.Minute)},
			{From: job.Queued, To: job.Completed, Source: job.SourceWebhook, At: t0.Add(-time.Minute), Reason: "done"},
		},
		Progress:    100,
		AssetBytes:  1234,
		PollCount:   3,
		NextPollAt:  t0.Add(20 * time.Second),
		WaitSeconds: 20,
		TaskToken:   "token-abc",
		Error:       &job.Failure{Reason: "copy_failed", Message: "m", Code: "c"},
		Output:      &job.Output{Bucket: "b", Key: "videos/x/0.mp4", Size: 1234, SHA256: "ff", ContentType: "video/mp4"},
		Deliveries: job.Deliveries{Received: 4, Duplicates: 1, Retries: 2, Late: 1, LastReceivedAt: t0,
			Gateway: job.GatewayDelivery{TotalAttempts: 5, DeliveredEvents: 4, LastResponseStatus: 503, LastFailureAt: t0, LastErrorMessage: "timeout"}},
	}
	if err := e.store.CreateJob(ctx, want); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	got, err := e.store.GetJob(ctx, want.ID)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("GetJob after CreateJob (-got +want):\n%s", diff)
	}

	again := newJob(want.ID, job.Accepted, t0)
	if err := e.store.CreateJob(ctx, again); !errors.Is(err, job.ErrConflict) {
		t.Errorf("CreateJob of an existing id: err = %v, want job.ErrConflict", err)
	}
	if _, err := e.store.GetJob(ctx, "vj_missing"); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("GetJob of a missing id: err = %v, want job.ErrNotFound", err)
	}

	item := e.rawItem(t, "JOB#"+want.ID, "JOB")
	for attr, wantV := range map[string]string{
		attrGSI1PK:    "STATE#completed",
		attrGSI1SK:    "2026-03-01T11:59:00.000000000Z#" + want.ID,
		attrTaskToken: "token-abc",
	} {
		if v, _ := item[attr].(*types.AttributeValueMemberS); v == nil || v.Value != wantV {
			t.Errorf("item attribute %s = %v, want %q", attr, item[attr], wantV)
		}
	}
}

func TestCreateJobFillsTimestamps(t *testing.T) {
	e := newEnv(t)
	j := &job.Job{ID: "vj_stamps", State: job.Accepted}
	if err := e.store.CreateJob(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.GetJob(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0) {
		t.Errorf("CreatedAt, UpdatedAt = %v, %v; want both %v", got.CreatedAt, got.UpdatedAt, t0)
	}
}

func TestUpdateJob(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.store.CreateJob(ctx, newJob("vj_u", job.Accepted, t0.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}

	got, err := e.store.UpdateJob(ctx, "vj_u", func(j *job.Job) error {
		j.ProviderJobID = "vid_1"
		j.TaskToken = "tok-1"
		_, err := j.Transition(job.Queued, job.SourceAPI, t0.Add(-time.Minute), "")
		return err
	})
	if err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	if got.Version != 1 || got.State != job.Queued || got.TaskToken != "tok-1" {
		t.Errorf("UpdateJob returned version %d state %s token %q; want 1 queued tok-1", got.Version, got.State, got.TaskToken)
	}
	read, err := e.store.GetJob(ctx, "vj_u")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(read, got); diff != "" {
		t.Errorf("GetJob after UpdateJob differs from the job UpdateJob returned (-got +want):\n%s", diff)
	}
	if gsi := e.rawItem(t, "JOB#vj_u", "JOB")[attrGSI1PK]; gsi.(*types.AttributeValueMemberS).Value != "STATE#queued" {
		t.Errorf("gsi1pk after the transition = %v, want STATE#queued", gsi)
	}

	// A change that leaves UpdatedAt alone gets the store's clock, so
	// the byState index orders by the latest write; clearing the task
	// token removes it.
	got, err = e.store.UpdateJob(ctx, "vj_u", func(j *job.Job) error {
		j.Progress = 40
		j.TaskToken = ""
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(t0) || got.Version != 2 {
		t.Errorf("after a progress update: UpdatedAt %v version %d; want %v, 2", got.UpdatedAt, got.Version, t0)
	}
	if _, ok := e.rawItem(t, "JOB#vj_u", "JOB")[attrTaskToken]; ok {
		t.Error("taskToken attribute still present after it was cleared")
	}

	// fn's error: nothing written, error returned.
	_, err = e.store.UpdateJob(ctx, "vj_u", func(j *job.Job) error {
		j.Progress = 99
		_, err := j.Transition(job.Accepted, job.SourcePoll, t0, "")
		return err
	})
	if !errors.Is(err, job.ErrStaleTransition) {
		t.Errorf("UpdateJob with a stale transition: err = %v, want job.ErrStaleTransition", err)
	}
	read, err = e.store.GetJob(ctx, "vj_u")
	if err != nil {
		t.Fatal(err)
	}
	if read.Version != 2 || read.Progress != 40 {
		t.Errorf("after a failed fn: version %d progress %d, want 2 and 40 (nothing written)", read.Version, read.Progress)
	}

	if _, err := e.store.UpdateJob(ctx, "vj_nope", func(*job.Job) error { return nil }); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("UpdateJob of a missing job: err = %v, want job.ErrNotFound", err)
	}
	if _, err := e.store.UpdateJob(ctx, "vj_u", func(j *job.Job) error { j.ID = "vj_other"; return nil }); err == nil {
		t.Error("UpdateJob let fn change the job id")
	}
}

// TestUpdateJobConcurrentWriters has 20 writers race on one job, each
// counting a delivery and moving the job forward, the way concurrent
// webhook and poll invocations do. Every write must land (no lost update),
// the state must only move forward, and the version must count the writes.
// moto does not make conditional writes atomic, so the test serializes
// requests to it as DynamoDB's per-item atomicity would.
func TestUpdateJobConcurrentWriters(t *testing.T) {
	e := newEnvAt(t, mototest.Shared(t).Serialized(t), WithClock(time.Now))
	ctx := context.Background()
	const id, writers = "vj_race", 20
	if err := e.store.CreateJob(ctx, newJob(id, job.Accepted, t0)); err != nil {
		t.Fatal(err)
	}
	targets := []job.State{job.Queued, job.Processing, job.Completed}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var applied, unchanged, late, gaveUp int
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := targets[i%len(targets)]
			var res job.Result
			var stale bool
			for {
				_, err := e.store.UpdateJob(ctx, id, func(j *job.Job) error {
					j.Deliveries.Received++
					j.Progress = max(j.Progress, i)
					var err error
					res, err = j.Transition(to, job.SourceWebhook, time.Now(), "")
					stale = errors.Is(err, job.ErrStaleTransition)
					if stale {
						j.Deliveries.Late++ // counted, not applied
						return nil
					}
					return err
				})
				if errors.Is(err, job.ErrConflict) {
					// What the webhook's 5xx and the gateway's
					// retry do for a real caller.
					mu.Lock()
					gaveUp++
					mu.Unlock()
					continue
				}
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
					return
				}
				break
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case stale:
				late++
			case res == job.Applied:
				applied++
			default:
				unchanged++
			}
		}()
	}
	wg.Wait()
	t.Logf("applied %d, unchanged %d, late %d, UpdateJob gave up %d times", applied, unchanged, late, gaveUp)

	got, err := e.store.GetJob(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != writers || got.Deliveries.Received != writers {
		t.Errorf("version %d, deliveries received %d; want both %d (one per write, none lost)", got.Version, got.Deliveries.Received, writers)
	}
	if got.Deliveries.Late != late {
		t.Errorf("late %d, want %d", got.Deliveries.Late, late)
	}
	if got.Progress != writers-1 {
		t.Errorf("progress %d, want %d", got.Progress, writers-1)
	}
	if got.State != job.Completed {
		t.Errorf("state %s, want completed", got.State)
	}
	if len(got.History) != applied {
		t.Errorf("history has %d changes, want %d (one per applied transition)", len(got.History), applied)
	}
	rank := map[job.State]int{job.Accepted: 0, job.Queued: 1, job.Processing: 2, job.Completed: 3}
	prev := job.Accepted
	for _, c := range got.History {
		if c.From != prev || rank[c.To] <= rank[c.From] {
			t.Errorf("history regresses or skips: %s -> %s after %s", c.From, c.To, prev)
		}
		prev = c.To
	}
}

func TestClaimIdempotencyKey(t *testing.T) {
	now := t0
	e := newEnv(t, WithClock(func() time.Time { return now }))
	ctx := context.Background()

	rec, claimed, err := e.store.ClaimIdempotencyKey(ctx, "k1", "fp-a", "vj_a")
	if err != nil || !claimed {
		t.Fatalf("first claim: claimed %v err %v, want true, nil", claimed, err)
	}
	want := IdempotencyRecord{Key: "k1", Fingerprint: "fp-a", JobID: "vj_a", CreatedAt: t0}
	if diff := cmp.Diff(rec, want); diff != "" {
		t.Errorf("first claim record (-got +want):\n%s", diff)
	}

	now = t0.Add(time.Hour)
	rec, claimed, err = e.store.ClaimIdempotencyKey(ctx, "k1", "fp-b", "vj_b")
	if err != nil || claimed {
		t.Fatalf("second claim: claimed %v err %v, want false, nil", claimed, err)
	}
	if diff := cmp.Diff(rec, want); diff != "" {
		t.Errorf("second claim returned (-got +want):\n%s", diff)
	}

	item := e.rawItem(t, "IDEMP#k1", "IDEMP")
	wantTTL := strconv.FormatInt(t0.Add(IdempotencyTTL).Unix(), 10)
	if v, _ := item[attrTTL].(*types.AttributeValueMemberN); v == nil || v.Value != wantTTL {
		t.Errorf("ttl = %v, want %s (24 h after the claim)", item[attrTTL], wantTTL)
	}

	// Past its TTL the key is free again, even before DynamoDB deletes it.
	now = t0.Add(IdempotencyTTL + time.Minute)
	rec, claimed, err = e.store.ClaimIdempotencyKey(ctx, "k1", "fp-c", "vj_c")
	if err != nil || !claimed || rec.JobID != "vj_c" {
		t.Errorf("claim after expiry: rec %+v claimed %v err %v; want vj_c, true, nil", rec, claimed, err)
	}
}

func TestRecordDelivery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := func(payload, jobID, key string) DeliveryRecord {
		return DeliveryRecord{PayloadID: payload, JobID: jobID, DeliveryKey: key, EventType: "video.completed", Attempt: 1, ReceivedAt: t0}
	}
	steps := []struct {
		name string
		rec  DeliveryRecord
		want bool
	}{
		{"first delivery", d("evt_1", "vj_a", "k1"), false},
		{"same payload id again", d("evt_1", "vj_a", "k1"), true},
		{"same payload id, other delivery key", d("evt_1", "vj_a", "k2"), true},
		{"same job and delivery key, other payload id", d("evt_2", "vj_a", "k1"), true},
		{"other payload id and key", d("evt_3", "vj_a", "k3"), false},
		{"same delivery key on another job", d("evt_4", "vj_b", "k1"), false},
		{"no delivery key", d("evt_5", "vj_b", ""), false},
		{"no delivery key, repeated", d("evt_5", "vj_b", ""), true},
	}
	for _, s := range steps {
		got, err := e.store.RecordDelivery(ctx, s.rec)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: duplicate = %v, want %v", s.name, got, s.want)
		}
	}

	pks, err := e.store.ScanAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantPKs := []string{
		"DELIVERY#evt_1", "DELIVERY#evt_3", "DELIVERY#evt_4", "DELIVERY#evt_5",
		"JOBKEY#vj_a#k1", "JOBKEY#vj_a#k3", "JOBKEY#vj_b#k1",
	}
	if diff := cmp.Diff(pks, wantPKs); diff != "" {
		t.Errorf("items after the deliveries (-got +want): duplicates must write nothing\n%s", diff)
	}

	wantTTL := strconv.FormatInt(t0.Add(DeliveryTTL).Unix(), 10)
	for _, pk := range []string{"DELIVERY#evt_1", "JOBKEY#vj_a#k1"} {
		item := e.rawItem(t, pk, "DELIVERY")
		if v, _ := item[attrTTL].(*types.AttributeValueMemberN); v == nil || v.Value != wantTTL {
			t.Errorf("%s ttl = %v, want %s (14 days)", pk, item[attrTTL], wantTTL)
		}
		if v, _ := item["jobId"].(*types.AttributeValueMemberS); v == nil || v.Value != "vj_a" {
			t.Errorf("%s jobId = %v, want vj_a", pk, item["jobId"])
		}
	}
}

func TestListJobs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var want []string // queued jobs, newest first
	for i := range 5 {
		id := fmt.Sprintf("vj_q%d", i)
		// Sub-second times whose RFC3339Nano forms would sort wrongly
		// (.1 vs .12) if the sort key trimmed zeros.
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if err := e.store.CreateJob(ctx, newJob(id, job.Queued, at)); err != nil {
			t.Fatal(err)
		}
		want = append([]string{id}, want...)
	}
	if err := e.store.CreateJob(ctx, newJob("vj_p0", job.Processing, t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}

	var got []string
	var cursors []string
	cursor := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("ListJobs does not stop paging")
		}
		jobs, next, err := e.store.ListJobs(ctx, job.Queued, 2, cursor)
		if err != nil {
			t.Fatalf("ListJobs page %d: %v", page, err)
		}
		if len(jobs) > 2 {
			t.Errorf("page %d has %d jobs, limit 2", page, len(jobs))
		}
		for _, j := range jobs {
			got = append(got, j.ID)
		}
		if next == "" {
			break
		}
		cursors = append(cursors, next)
		cursor = next
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("queued jobs over all pages (-got +want):\n%s", diff)
	}

	_, _, err := e.store.ListJobs(ctx, job.Processing, 2, cursors[0])
	if !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("cursor of another state: err = %v, want ErrInvalidCursor", err)
	}
	jobs, _, err := e.store.ListJobs(ctx, job.Processing, 0, "")
	if err != nil || len(jobs) != 1 || jobs[0].ID != "vj_p0" {
		t.Errorf("processing jobs: %v err %v, want [vj_p0]", jobs, err)
	}
	if _, _, err := e.store.ListJobs(ctx, job.State("bogus"), 0, ""); err == nil {
		t.Error("ListJobs accepted an unknown state")
	}
}

func TestCreateTableIsIdempotentAndEnablesTTL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := CreateTable(ctx, e.client, e.table); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	ttl, err := e.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(e.table)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != attrTTL {
		t.Errorf("ttl %s on %q, want ENABLED on %q", d.TimeToLiveStatus, aws.ToString(d.AttributeName), attrTTL)
	}
	desc, err := e.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(e.table)})
	if err != nil {
		t.Fatal(err)
	}
	if gsis := desc.Table.GlobalSecondaryIndexes; len(gsis) != 1 || aws.ToString(gsis[0].IndexName) != IndexByState {
		t.Errorf("indexes %v, want one named %s", gsis, IndexByState)
	}
}

// TestRecordDeliveryConcurrentRetries has the same delivery arrive ten
// times at once (the gateway retrying while the first is in flight): exactly
// one must be recorded as new.
func TestRecordDeliveryConcurrentRetries(t *testing.T) {
	e := newEnvAt(t, mototest.Shared(t).Serialized(t))
	ctx := context.Background()
	const n = 10
	var wg sync.WaitGroup
	results := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dup, err := e.store.RecordDelivery(ctx, DeliveryRecord{PayloadID: "evt_race", JobID: "vj_r", DeliveryKey: "k", Attempt: i + 1, ReceivedAt: t0})
			if err != nil {
				t.Errorf("delivery %d: %v", i, err)
			}
			results[i] = dup
		}()
	}
	wg.Wait()
	var fresh int
	for _, dup := range results {
		if !dup {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d of %d concurrent copies recorded as new, want exactly 1", fresh, n)
	}
}
