package jobstore

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestCursorRoundTrip(t *testing.T) {
	key := map[string]types.AttributeValue{
		attrPK: str("JOB#vj_1"), attrSK: str("JOB"),
		attrGSI1PK: str("STATE#queued"), attrGSI1SK: str("2026-01-01T00:00:00.000000000Z#vj_1"),
	}
	c, err := encodeCursor(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCursor(c, "STATE#queued")
	if err != nil {
		t.Fatal(err)
	}
	for a, v := range key {
		if got[a].(*types.AttributeValueMemberS).Value != v.(*types.AttributeValueMemberS).Value {
			t.Errorf("attribute %s = %v, want %v", a, got[a], v)
		}
	}
	if _, err := decodeCursor(c, "STATE#processing"); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("cursor used for another state: err = %v, want ErrInvalidCursor", err)
	}
}

func TestDecodeCursorRejects(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct{ name, cursor string }{
		{"not base64", "%%%"},
		{"not json", enc("nope")},
		{"missing attribute", enc(`{"pk":"a","sk":"b","gsi1pk":"STATE#queued"}`)},
		{"extra attribute", enc(`{"pk":"a","sk":"b","gsi1pk":"STATE#queued","gsi1sk":"x","other":"y"}`)},
		{"empty value", enc(`{"pk":"","sk":"b","gsi1pk":"STATE#queued","gsi1sk":"x"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeCursor(tc.cursor, "STATE#queued"); !errors.Is(err, ErrInvalidCursor) {
				t.Errorf("err = %v, want ErrInvalidCursor", err)
			}
		})
	}
}
