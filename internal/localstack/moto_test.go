package localstack_test

import (
	"context"
	"errors"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/videojobs/videojobs/internal/job"
	"github.com/videojobs/videojobs/internal/jobstore"
	"github.com/videojobs/videojobs/internal/localstack"
)

// The local stack's moto must honour DynamoDB conditional writes under
// concurrency, as DynamoDB does: the job store's optimistic locking (and so
// every monotonic job update in `make dev`) depends on it. Plain moto lets
// two conditional puts on the same version both win now and then.
func TestMotoConditionalWritesAreAtomic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := motoTable(ctx, t, "atomic")
	store := jobstore.New(client, "atomic")
	if err := store.CreateJob(ctx, &job.Job{ID: "vj_atomic", State: job.Processing, History: []job.Change{}}); err != nil {
		t.Fatalf("create job: %v", err)
	}
	const writers, rounds = 8, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				// UpdateJob retries a version conflict; keep going until
				// this increment lands, so every increment is counted once.
				for {
					_, err := store.UpdateJob(ctx, "vj_atomic", func(j *job.Job) error { j.PollCount++; return nil })
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						t.Errorf("update: %v", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	got, err := store.GetJob(ctx, "vj_atomic")
	if err != nil {
		t.Fatalf("get job: %v", err)
	}
	if got.PollCount != writers*rounds || got.Version != writers*rounds {
		t.Fatalf("poll count %d, version %d after %d increments: a conditional write was lost", got.PollCount, got.Version, writers*rounds)
	}
}

// motoTable starts the local stack's patched moto for t, stopped when t
// ends, and creates the job table name in it.
func motoTable(ctx context.Context, t *testing.T, name string) *dynamodb.Client {
	t.Helper()
	m, err := localstack.StartMoto(ctx, localstack.MotoOptions{LogPath: t.TempDir() + "/moto.log"})
	skipIfNoMoto(t, err)
	if err != nil {
		t.Fatalf("start moto: %v", err)
	}
	t.Cleanup(m.Close)
	client := dynamodb.NewFromConfig(localstack.AWSConfig(m.URL()))
	if err := jobstore.CreateTable(ctx, client, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return client
}

// The patched moto snapshots only the partitions a TransactWriteItems
// names before running it (motopatch.py, sixth fix). A cancelled
// transaction must still leave every item as it was: a put it made is
// undone, an item it updated in place gets its old value back, and items
// outside it are untouched.
func TestMotoCancelledTransactionRollsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := motoTable(ctx, t, "rollback")
	item := func(pk, v string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "X"},
			"v": &types.AttributeValueMemberS{Value: v}}
	}
	for _, pk := range []string{"A", "B", "OTHER"} {
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("rollback"), Item: item(pk, "old")}); err != nil {
			t.Fatal(err)
		}
	}
	key := func(pk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "X"}}
	}
	_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("rollback"), Item: item("NEW", "new")}},
		{Update: &types.Update{TableName: aws.String("rollback"), Key: key("A"), UpdateExpression: aws.String("SET v = :n"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberS{Value: "new"}}}},
		{Put: &types.Put{TableName: aws.String("rollback"), Item: item("B", "new"), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}})
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		t.Fatalf("transaction: %v, want it cancelled by B's condition", err)
	}
	for pk, want := range map[string]string{"A": "old", "B": "old", "OTHER": "old", "NEW": ""} {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("rollback"), Key: key(pk), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if v, ok := out.Item["v"].(*types.AttributeValueMemberS); ok {
			got = v.Value
		}
		if got != want {
			t.Errorf("item %s: v = %q after the cancelled transaction, want %q", pk, got, want)
		}
	}
}
