package bench

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestItemSize(t *testing.T) {
	tests := []struct {
		name string
		item string
		want int
	}{
		{"string", `{"pk":{"S":"JOB#1"}}`, 2 + 5},
		{"number digits", `{"n":{"N":"12345"}}`, 1 + 4},
		{"number zeros trimmed", `{"n":{"N":"1000.00"}}`, 1 + 2},
		{"bool and null", `{"b":{"BOOL":true},"z":{"NULL":true}}`, 1 + 1 + 1 + 1},
		{"map", `{"m":{"M":{"a":{"S":"xy"}}}}`, 1 + 3 + 1 + 2 + 1},
		{"list", `{"l":{"L":[{"S":"abc"},{"N":"7"}]}}`, 1 + 3 + (3 + 1) + (2 + 1)},
		{"binary", `{"b":{"B":"AAECAw=="}}`, 1 + 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var item attrs
			if err := json.Unmarshal([]byte(tt.item), &item); err != nil {
				t.Fatal(err)
			}
			if got := itemSize(item); got != tt.want {
				t.Errorf("itemSize(%s) = %d, want %d", tt.item, got, tt.want)
			}
		})
	}
}

func TestCapacityUnits(t *testing.T) {
	big := strings.Repeat("x", 3000) // a ~3 KB item: 3 write units
	tests := []struct {
		name     string
		op       string
		req      string
		resp     string
		wantWRU  float64
		wantRRU  float64
		prepared bool // a 3 KB JOB#1 item was written first
	}{
		{name: "small put", op: "PutItem", req: `{"Item":{"pk":{"S":"JOB#2"},"sk":{"S":"JOB"}}}`, wantWRU: 1},
		{name: "big put", op: "PutItem", req: `{"Item":{"pk":{"S":"JOB#1"},"sk":{"S":"JOB"},"d":{"S":"` + big + `"}}}`, wantWRU: 3},
		{name: "update of a known item", op: "UpdateItem", req: `{"Key":{"pk":{"S":"JOB#1"},"sk":{"S":"JOB"}}}`, wantWRU: 3, prepared: true},
		{name: "update of an unknown item", op: "UpdateItem", req: `{"Key":{"pk":{"S":"JOB#9"},"sk":{"S":"JOB"}}}`, wantWRU: 1},
		{name: "transaction doubles", op: "TransactWriteItems",
			req:     `{"TransactItems":[{"Put":{"Item":{"pk":{"S":"DELIVERY#a"},"sk":{"S":"DELIVERY"}}}},{"Put":{"Item":{"pk":{"S":"JOBKEY#b"},"sk":{"S":"DELIVERY"}}}}]}`,
			wantWRU: 4},
		{name: "consistent get", op: "GetItem", req: `{"ConsistentRead":true}`, resp: `{"Item":{"d":{"S":"` + big + big + `"}}}`, wantRRU: 2},
		{name: "eventual get of nothing", op: "GetItem", req: `{}`, resp: `{}`, wantRRU: 0.5},
		{name: "query", op: "Query", req: `{}`, resp: `{"Items":[{"d":{"S":"` + big + `"}},{"d":{"S":"` + big + `"}}]}`, wantRRU: 1},
		{name: "control plane", op: "DescribeTable", req: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapacity()
			if tt.prepared {
				c.units("PutItem", []byte(`{"Item":{"pk":{"S":"JOB#1"},"sk":{"S":"JOB"},"d":{"S":"`+big+`"}}}`), nil)
			}
			gotWRU, gotRRU := c.units(tt.op, []byte(tt.req), []byte(tt.resp))
			if gotWRU != tt.wantWRU || gotRRU != tt.wantRRU {
				t.Errorf("units(%s) = %v WRU, %v RRU; want %v, %v", tt.op, gotWRU, gotRRU, tt.wantWRU, tt.wantRRU)
			}
		})
	}
}
