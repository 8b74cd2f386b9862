// Package jobstore is the DynamoDB adapter that persists videojobs jobs,
// webhook delivery records and idempotency keys in one table, following the
// layout in docs/internals.md ("DynamoDB single table").
//
// Every job write is conditional on the version the writer read (optimistic
// locking), so two Lambdas updating one job never lose each other's change;
// the losing writer re-reads and re-applies its change. Deliveries and
// idempotency keys are claimed with conditional puts, so a duplicate is
// detected by DynamoDB itself, durably, before any side effect. DynamoDB's
// condition failures are translated into the job package's sentinels
// (job.ErrConflict) or into duplicate/claimed results; callers never see SDK
// error types.
//
// See https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
// and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html.
package jobstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/videojobs/videojobs/internal/job"
)

// Table layout (docs/internals.md).
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrGSI1PK    = "gsi1pk"
	attrGSI1SK    = "gsi1sk"
	attrTTL       = "ttl"
	attrVersion   = "version"
	attrTaskToken = "taskToken"

	// IndexByState is the GSI that lists jobs by state, newest first.
	IndexByState = "byState"

	jobSK      = "JOB"
	deliverySK = "DELIVERY"
	idempSK    = "IDEMP"
)

// Retention of the short-lived items, past which DynamoDB's TTL deletes them.
const (
	// DeliveryTTL outlives the gateway's retry horizon, so a late retry
	// of a delivery is still recognised as a duplicate.
	DeliveryTTL = 14 * 24 * time.Hour
	// IdempotencyTTL is how long an Idempotency-Key is honoured.
	IdempotencyTTL = 24 * time.Hour
)

// updateAttempts bounds how often UpdateJob re-reads and re-applies a
// change that lost a version race before reporting job.ErrConflict.
const updateAttempts = 10

// ErrInvalidCursor means a ListJobs cursor was not one ListJobs returned
// for that state.
var ErrInvalidCursor = errors.New("invalid cursor")

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Store reads and writes the videojobs table.
// It is safe for concurrent use.
type Store struct {
	db    API
	table string
	now   func() time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock used for timestamps the store fills in and for
// TTLs. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// New returns a store for table.
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	return newStore(client, table, opts...)
}

func newStore(db API, table string, opts ...Option) *Store {
	s := &Store{db: db, table: table, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// IdempotencyRecord is what an Idempotency-Key maps to.
type IdempotencyRecord struct {
	Key         string    `json:"key"`
	Fingerprint string    `json:"fingerprint"`
	JobID       string    `json:"jobId"`
	CreatedAt   time.Time `json:"createdAt"`
}

// DeliveryRecord is one webhook delivery, recorded before it has any effect.
type DeliveryRecord struct {
	// PayloadID is the signed payload's id, the primary dedupe key.
	PayloadID string `json:"payloadId"`
	JobID     string `json:"jobId"`
	// DeliveryKey is the payload's delivery.key; with JobID it is the
	// second dedupe key. Empty when the payload has none.
	DeliveryKey string    `json:"deliveryKey,omitempty"`
	EventType   string    `json:"eventType,omitempty"`
	Attempt     int       `json:"attempt,omitempty"`
	ReceivedAt  time.Time `json:"receivedAt"`
}

// CreateJob stores a new job. It fills in CreatedAt and UpdatedAt when they
// are zero and returns job.ErrConflict if a job with that id exists. The
// version is stored as given (new jobs start at 0); every later write
// increments it.
func (s *Store) CreateJob(ctx context.Context, j *job.Job) error {
	if j.ID == "" {
		return errors.New("create job: empty id")
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = s.now().UTC()
	}
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = j.CreatedAt
	}
	item, err := marshalJob(j)
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	cond := expression.AttributeNotExists(expression.Name(attrPK))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if ccf := (*types.ConditionalCheckFailedException)(nil); errors.As(err, &ccf) {
		return fmt.Errorf("create job %s: id exists: %w", j.ID, job.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	return nil
}

// GetJob returns the job with id, read strongly consistently, or
// job.ErrNotFound.
func (s *Store) GetJob(ctx context.Context, id string) (*job.Job, error) {
	j, err := s.getJob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

func (s *Store) getJob(ctx context.Context, id string) (*job.Job, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            jobKey(id),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, job.ErrNotFound
	}
	return unmarshalJob(out.Item)
}

// UpdateJob reads the job, calls fn on it and writes it back, conditional on
// the version it read; the written job has version+1. When another writer
// got there first, it re-reads the job and calls fn again, a few times,
// before giving up with job.ErrConflict, so fn must be safe to call more
// than once and must derive its change from the job it is given. If fn
// returns an error nothing is written and that error is returned, wrapped.
// If fn leaves UpdatedAt as it was, UpdateJob sets it to the store's clock.
// It returns the job as written.
func (s *Store) UpdateJob(ctx context.Context, id string, fn func(*job.Job) error) (*job.Job, error) {
	var cur *job.Job // the job as last seen in the table
	for attempt := range updateAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, fmt.Errorf("update job %s: %w", id, err)
			}
		}
		if cur == nil {
			var err error
			if cur, err = s.getJob(ctx, id); err != nil {
				return nil, fmt.Errorf("update job %s: %w", id, err)
			}
		}
		j, err := s.tryUpdate(ctx, cur, fn)
		if !errors.Is(err, job.ErrConflict) {
			if err != nil {
				return nil, fmt.Errorf("update job %s: %w", id, err)
			}
			return j, nil
		}
		// The failed write returned the winner's item when the table
		// supports ReturnValuesOnConditionCheckFailure; otherwise re-read.
		cur = nil
		var lost *conflictError
		if errors.As(err, &lost) && lost.current != nil {
			cur = lost.current
		}
	}
	return nil, fmt.Errorf("update job %s: gave up after %d attempts: %w", id, updateAttempts, job.ErrConflict)
}

// conflictError carries the item that won a version race, when DynamoDB
// returned it, so the next attempt need not read it again.
type conflictError struct{ current *job.Job }

func (e *conflictError) Error() string { return job.ErrConflict.Error() }
func (e *conflictError) Unwrap() error { return job.ErrConflict }

func (s *Store) tryUpdate(ctx context.Context, read *job.Job, fn func(*job.Job) error) (*job.Job, error) {
	j := cloneJob(read)
	if err := fn(j); err != nil {
		return nil, err
	}
	if j.ID != read.ID {
		return nil, fmt.Errorf("fn changed the job id to %q", j.ID)
	}
	if j.UpdatedAt.Equal(read.UpdatedAt) {
		j.UpdatedAt = s.now().UTC()
	}
	j.Version = read.Version + 1
	item, err := marshalJob(j)
	if err != nil {
		return nil, err
	}
	cond := expression.Name(attrVersion).Equal(expression.Value(read.Version))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                item,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if ccf := (*types.ConditionalCheckFailedException)(nil); errors.As(err, &ccf) {
		// No item back: either the table does not return it, or the
		// job is gone (the version condition keeps a put from
		// resurrecting it); the retry's read tells which.
		if len(ccf.Item) == 0 {
			return nil, &conflictError{}
		}
		cur, uerr := unmarshalJob(ccf.Item)
		if uerr != nil {
			return nil, &conflictError{}
		}
		return nil, &conflictError{current: cur}
	}
	if err != nil {
		return nil, err
	}
	return j, nil
}

// cloneJob copies j deeply enough that fn's changes to slices and pointers
// do not leak into the copy a retry starts from.
func cloneJob(j *job.Job) *job.Job {
	c := *j
	c.History = append([]job.Change(nil), j.History...)
	if j.Error != nil {
		e := *j.Error
		c.Error = &e
	}
	if j.Output != nil {
		o := *j.Output
		c.Output = &o
	}
	return &c
}

// backoff is the jittered wait before the attempt'th try of a contended
// update: enough to let the winner's write land, short enough for a Lambda.
func backoff(attempt int) time.Duration {
	ceiling := min(2*time.Millisecond<<attempt, 100*time.Millisecond)
	return ceiling/2 + rand.N(ceiling/2)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ClaimIdempotencyKey stores key → (fingerprint, jobID) if the key is not
// held. If it is, it returns the existing record and claimed=false; the
// caller compares fingerprints. A key whose TTL has passed can be claimed
// again even before DynamoDB gets round to deleting it.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, key, fingerprint, jobID string) (IdempotencyRecord, bool, error) {
	if key == "" {
		return IdempotencyRecord{}, false, errors.New("claim idempotency key: empty key")
	}
	now := s.now().UTC()
	rec := IdempotencyRecord{Key: key, Fingerprint: fingerprint, JobID: jobID, CreatedAt: now}
	item, err := marshal(rec)
	if err != nil {
		return IdempotencyRecord{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	item[attrPK] = str("IDEMP#" + key)
	item[attrSK] = str(idempSK)
	item[attrTTL] = epoch(now.Add(IdempotencyTTL))

	existing, claimed, err := s.claim(ctx, item, now)
	if err != nil {
		return IdempotencyRecord{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if claimed {
		return rec, true, nil
	}
	var old IdempotencyRecord
	if err := unmarshal(existing, &old); err != nil {
		return IdempotencyRecord{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	return old, false, nil
}

// claim puts item unless a live item with its key exists, which it returns.
func (s *Store) claim(ctx context.Context, item map[string]types.AttributeValue, now time.Time) (map[string]types.AttributeValue, bool, error) {
	expr, err := expression.NewBuilder().WithCondition(absentOrExpired(now)).Build()
	if err != nil {
		return nil, false, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                item,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	ccf := (*types.ConditionalCheckFailedException)(nil)
	if !errors.As(err, &ccf) {
		return nil, err == nil, err
	}
	if len(ccf.Item) > 0 {
		return ccf.Item, false, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, false, err
	}
	if len(out.Item) == 0 {
		// Deleted between the put and the read: a racing claim is
		// settled by retrying rather than guessing.
		return nil, false, fmt.Errorf("record vanished after a conflicting claim: %w", job.ErrConflict)
	}
	return out.Item, false, nil
}

// absentOrExpired is the condition for claiming a key: nobody holds it, or
// the holder's TTL has passed (DynamoDB deletes expired items lazily, up to
// days later).
func absentOrExpired(now time.Time) expression.ConditionBuilder {
	return expression.Or(
		expression.AttributeNotExists(expression.Name(attrPK)),
		expression.Name(attrTTL).LessThan(expression.Value(now.Unix())),
	)
}

// RecordDelivery durably records a delivery under its payload id and, when
// it has a delivery key, under job id + delivery key, in one transaction,
// so either both records are written or neither. duplicate is true when
// either key was already recorded; nothing is written then.
func (s *Store) RecordDelivery(ctx context.Context, d DeliveryRecord) (duplicate bool, err error) {
	if d.PayloadID == "" {
		return false, errors.New("record delivery: empty payload id")
	}
	now := s.now().UTC()
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = now
	}
	base, err := marshal(d)
	if err != nil {
		return false, fmt.Errorf("record delivery %s: %w", d.PayloadID, err)
	}
	base[attrTTL] = epoch(now.Add(DeliveryTTL))
	byPayload := withKey(base, "DELIVERY#"+d.PayloadID, deliverySK)

	if d.DeliveryKey == "" {
		_, claimed, err := s.claim(ctx, byPayload, now)
		if err != nil {
			return false, fmt.Errorf("record delivery %s: %w", d.PayloadID, err)
		}
		return !claimed, nil
	}

	byKey := withKey(base, "JOBKEY#"+d.JobID+"#"+d.DeliveryKey, deliverySK)
	expr, err := expression.NewBuilder().WithCondition(absentOrExpired(now)).Build()
	if err != nil {
		return false, fmt.Errorf("record delivery %s: %w", d.PayloadID, err)
	}
	put := func(item map[string]types.AttributeValue) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{
			TableName:                 aws.String(s.table),
			Item:                      item,
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		}}
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{put(byPayload), put(byKey)},
	})
	if tce := (*types.TransactionCanceledException)(nil); errors.As(err, &tce) {
		// Only a failed condition means "seen before"; a cancellation
		// for any other reason (a conflicting transaction, throttling)
		// is transient and reported as an error, so the sender retries.
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return true, nil
			}
		}
		return false, fmt.Errorf("record delivery %s: %w", d.PayloadID, err)
	}
	if err != nil {
		return false, fmt.Errorf("record delivery %s: %w", d.PayloadID, err)
	}
	return false, nil
}

func withKey(base map[string]types.AttributeValue, pk, sk string) map[string]types.AttributeValue {
	item := make(map[string]types.AttributeValue, len(base)+2)
	for k, v := range base {
		item[k] = v
	}
	item[attrPK] = str(pk)
	item[attrSK] = str(sk)
	return item
}

// ScanAll returns the pk of every item in the table, sorted. Tests use it
// to prove a rejected request wrote nothing.
func (s *Store) ScanAll(ctx context.Context) ([]string, error) {
	var pks []string
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName:                aws.String(s.table),
		ProjectionExpression:     aws.String("#pk"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		ConsistentRead:           aws.Bool(true),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", s.table, err)
		}
		for _, item := range out.Items {
			if v, ok := item[attrPK].(*types.AttributeValueMemberS); ok {
				pks = append(pks, v.Value)
			}
		}
	}
	sort.Strings(pks)
	return pks, nil
}

func jobKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str("JOB#" + id), attrSK: str(jobSK)}
}

// gsi1skTime formats UpdatedAt for the byState sort key: RFC 3339 in UTC
// with all nine fraction digits, because RFC3339Nano trims trailing zeros
// and its strings then no longer sort in time order.
const gsi1skTime = "2006-01-02T15:04:05.000000000Z07:00"

func marshalJob(j *job.Job) (map[string]types.AttributeValue, error) {
	item, err := marshal(j)
	if err != nil {
		return nil, err
	}
	for k, v := range jobKey(j.ID) {
		item[k] = v
	}
	item[attrGSI1PK] = str("STATE#" + string(j.State))
	item[attrGSI1SK] = str(j.UpdatedAt.UTC().Format(gsi1skTime) + "#" + j.ID)
	// TaskToken is kept out of JSON so the API never returns it, but the
	// store needs it.
	if j.TaskToken != "" {
		item[attrTaskToken] = str(j.TaskToken)
	}
	return item, nil
}

func unmarshalJob(item map[string]types.AttributeValue) (*job.Job, error) {
	var j job.Job
	if err := unmarshal(item, &j); err != nil {
		return nil, err
	}
	if v, ok := item[attrTaskToken].(*types.AttributeValueMemberS); ok {
		j.TaskToken = v.Value
	}
	return &j, nil
}

// marshal and unmarshal use the json struct tags, so the table holds the
// same field names the API returns.
func marshal(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
}

func unmarshal(item map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalMapWithOptions(item, v, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" })
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func epoch(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(t.Unix())}
}
