package jobstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/videojobs/videojobs/internal/job"
)

// List page sizes.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// ListJobs returns up to limit jobs in state, most recently updated first,
// and a cursor for the next page ("" when there is none). limit ≤ 0 means
// DefaultListLimit; larger than MaxListLimit is capped. cursor is "" for the
// first page, otherwise a value ListJobs returned for the same state; any
// other value is reported as ErrInvalidCursor. The index is eventually
// consistent, so a job that just changed state may show up a moment late.
func (s *Store) ListJobs(ctx context.Context, state job.State, limit int, cursor string) ([]*job.Job, string, error) {
	if !state.Valid() {
		return nil, "", fmt.Errorf("list jobs: unknown state %q", state)
	}
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	gsi1pk := "STATE#" + string(state)

	start, err := decodeCursor(cursor, gsi1pk)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs %s: %w", state, err)
	}
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrGSI1PK).Equal(expression.Value(gsi1pk))).
		Build()
	if err != nil {
		return nil, "", fmt.Errorf("list jobs %s: %w", state, err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexByState),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list jobs %s: %w", state, err)
	}
	jobs := make([]*job.Job, 0, len(out.Items))
	for _, item := range out.Items {
		j, err := unmarshalJob(item)
		if err != nil {
			return nil, "", fmt.Errorf("list jobs %s: %w", state, err)
		}
		jobs = append(jobs, j)
	}
	next, err := encodeCursor(out.LastEvaluatedKey)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs %s: %w", state, err)
	}
	return jobs, next, nil
}

// The cursor is the query's LastEvaluatedKey (four string attributes of the
// table and the index keys), as base64url JSON: opaque to clients, and
// checked on the way back in so a cursor cannot point a query elsewhere.
var cursorAttrs = []string{attrPK, attrSK, attrGSI1PK, attrGSI1SK}

func encodeCursor(key map[string]types.AttributeValue) (string, error) {
	if len(key) == 0 {
		return "", nil
	}
	m := make(map[string]string, len(key))
	for _, a := range cursorAttrs {
		v, ok := key[a].(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("encode cursor: attribute %s missing from the last key", a)
		}
		m[a] = v.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeCursor(cursor, gsi1pk string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrInvalidCursor
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || len(m) != len(cursorAttrs) {
		return nil, ErrInvalidCursor
	}
	key := make(map[string]types.AttributeValue, len(m))
	for _, a := range cursorAttrs {
		v, ok := m[a]
		if !ok || v == "" {
			return nil, ErrInvalidCursor
		}
		key[a] = str(v)
	}
	if m[attrGSI1PK] != gsi1pk {
		return nil, fmt.Errorf("cursor is for another state: %w", ErrInvalidCursor)
	}
	return key, nil
}
