package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/videojobs/videojobs/internal/localstack"
)

// ddbCall is one DynamoDB request a function sent, with the capacity it
// would consume on an on-demand table.
type ddbCall struct {
	Function string
	Op       string // PutItem, TransactWriteItems, …
	Request  []byte
	WRU, RRU float64
	// Duration is moto's answer time, as the function waited for it.
	Duration time.Duration
}

// invocation is one Lambda invocation through the local fronts.
type invocation struct {
	Function string
	Payload  []byte
	Duration time.Duration
}

// ledger collects what the functions did while a benchmark watched.
type ledger struct {
	mu      sync.Mutex
	ddb     []ddbCall
	invokes []invocation
	units   *capacity
}

func newLedger() *ledger { return &ledger{units: newCapacity()} }

func (l *ledger) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ddb, l.invokes = nil, nil
}

func (l *ledger) addDDB(c ddbCall) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ddb = append(l.ddb, c)
}

func (l *ledger) addInvocation(i invocation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.invokes = append(l.invokes, i)
}

// snapshot returns copies of what was recorded so far.
func (l *ledger) snapshot() ([]ddbCall, []invocation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ddbCall(nil), l.ddb...), append([]invocation(nil), l.invokes...)
}

// countingInvoker times and records every invocation of one function. It
// replaces the function's RIE pool in the Lambda front's registry, which
// both the Step Functions executor and the HTTP API front look up per call.
type countingInvoker struct {
	name   string
	next   localstack.Invoker
	ledger *ledger
}

func (c *countingInvoker) Invoke(ctx context.Context, payload []byte) (localstack.Response, error) {
	start := time.Now()
	resp, err := c.next.Invoke(ctx, payload)
	c.ledger.addInvocation(invocation{Function: c.name, Payload: bytes.Clone(payload), Duration: time.Since(start)})
	return resp, err
}

// meter is the AWS endpoint one function is given (AWS_ENDPOINT_URL): it
// proxies every call to moto and records the DynamoDB ones with the
// capacity units they would consume, so a benchmark can count writes per
// job and per function. Moto reports no consumed capacity itself.
type meter struct {
	function string
	ledger   *ledger
	upstream atomic.Pointer[url.URL]
	proxy    *httputil.ReverseProxy
}

func newMeter(function string, l *ledger) *meter {
	m := &meter{function: function, ledger: l}
	m.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(m.upstream.Load())
			r.Out.Host = r.In.Host // SigV4 signed the host the client used
		},
		// Streams S3 bodies through as they come.
		FlushInterval: -1,
	}
	return m
}

// setUpstream points the meter at moto; until then it answers 503.
func (m *meter) setUpstream(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	m.upstream.Store(u)
	return nil
}

const ddbTargetPrefix = "DynamoDB_20120810."

func (m *meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.upstream.Load() == nil {
		http.Error(w, "meter: no upstream yet", http.StatusServiceUnavailable)
		return
	}
	op, isDDB := strings.CutPrefix(r.Header.Get("X-Amz-Target"), ddbTargetPrefix)
	if !isDDB {
		m.proxy.ServeHTTP(w, r)
		return
	}
	req, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "meter: read request: "+err.Error(), http.StatusBadGateway)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(req))
	rec := &captureWriter{ResponseWriter: w}
	start := time.Now()
	m.proxy.ServeHTTP(rec, r)
	took := time.Since(start)
	// A failed conditional write still consumes write capacity, so every
	// answered request counts.
	wru, rru := m.ledger.units.units(op, req, rec.body.Bytes())
	m.ledger.addDDB(ddbCall{Function: m.function, Op: op, Request: req, WRU: wru, RRU: rru, Duration: took})
}

// captureWriter keeps a copy of a DynamoDB response (a few KB of JSON)
// for read accounting.
type captureWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

// capacity computes on-demand capacity units the way DynamoDB bills them
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
// one write unit per 1 KB of item written, two per item in a transaction;
// one read unit per 4 KB read strongly consistently, half for eventually
// consistent reads, two for transactional reads. Update and delete
// requests do not carry the whole item, so they are charged for the item's
// size as last written through this meter (one unit when unknown).
type capacity struct {
	mu    sync.Mutex
	sizes map[string]int // pk + "\x00" + sk → item size
}

func newCapacity() *capacity { return &capacity{sizes: map[string]int{}} }

type attrs = map[string]json.RawMessage

func (c *capacity) units(op string, req, resp []byte) (wru, rru float64) {
	var in struct {
		Item           attrs
		Key            attrs
		ConsistentRead bool
		TransactItems  []struct {
			Put            *struct{ Item attrs }
			Update         *struct{ Key attrs }
			Delete         *struct{ Key attrs }
			ConditionCheck *struct{ Key attrs }
		}
		RequestItems map[string]json.RawMessage
	}
	_ = json.Unmarshal(req, &in)
	var out struct {
		Item      attrs
		Items     []attrs
		Responses json.RawMessage
	}
	_ = json.Unmarshal(resp, &out)

	switch op {
	case "PutItem":
		return c.put(in.Item, 1), 0
	case "UpdateItem":
		return c.known(in.Key, 1), 0
	case "DeleteItem":
		u := c.known(in.Key, 1)
		c.forget(in.Key)
		return u, 0
	case "TransactWriteItems":
		for _, t := range in.TransactItems {
			switch {
			case t.Put != nil:
				wru += c.put(t.Put.Item, 2)
			case t.Update != nil:
				wru += c.known(t.Update.Key, 2)
			case t.Delete != nil:
				wru += c.known(t.Delete.Key, 2)
				c.forget(t.Delete.Key)
			case t.ConditionCheck != nil:
				wru += c.known(t.ConditionCheck.Key, 2)
			}
		}
		return wru, 0
	case "BatchWriteItem":
		for _, raw := range in.RequestItems {
			var reqs []struct {
				PutRequest    *struct{ Item attrs }
				DeleteRequest *struct{ Key attrs }
			}
			_ = json.Unmarshal(raw, &reqs)
			for _, r := range reqs {
				if r.PutRequest != nil {
					wru += c.put(r.PutRequest.Item, 1)
				} else if r.DeleteRequest != nil {
					wru += c.known(r.DeleteRequest.Key, 1)
				}
			}
		}
		return wru, 0
	case "GetItem":
		return 0, readUnits(itemSize(out.Item), in.ConsistentRead)
	case "Query", "Scan":
		total := 0
		for _, it := range out.Items {
			total += itemSize(it)
		}
		return 0, readUnits(total, in.ConsistentRead)
	case "TransactGetItems":
		var rs []struct{ Item attrs }
		_ = json.Unmarshal(out.Responses, &rs)
		for _, r := range rs {
			rru += 2 * readUnits(itemSize(r.Item), true)
		}
		return 0, rru
	case "BatchGetItem":
		var rs map[string][]attrs
		_ = json.Unmarshal(out.Responses, &rs)
		for _, items := range rs {
			for _, it := range items {
				rru += readUnits(itemSize(it), false)
			}
		}
		return 0, rru
	}
	return 0, 0 // control-plane calls (DescribeTable, …) are not billed per request
}

func (c *capacity) put(item attrs, factor float64) float64 {
	size := itemSize(item)
	c.mu.Lock()
	c.sizes[keyOf(item)] = size
	c.mu.Unlock()
	return factor * writeUnits(size)
}

func (c *capacity) known(key attrs, factor float64) float64 {
	c.mu.Lock()
	size, ok := c.sizes[keyOf(key)]
	c.mu.Unlock()
	if !ok {
		return factor
	}
	return factor * writeUnits(size)
}

func (c *capacity) forget(key attrs) {
	c.mu.Lock()
	delete(c.sizes, keyOf(key))
	c.mu.Unlock()
}

func keyOf(item attrs) string {
	var pk, sk struct{ S string }
	_ = json.Unmarshal(item["pk"], &pk)
	_ = json.Unmarshal(item["sk"], &sk)
	return pk.S + "\x00" + sk.S
}

func writeUnits(size int) float64 { return max(1, math.Ceil(float64(size)/1024)) }

func readUnits(size int, consistent bool) float64 {
	u := max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// itemSize is an item's billed size: attribute names plus values, as
// DynamoDB counts them (strings and binaries by length, numbers by
// significant digits, 3 bytes of overhead per map or list and 1 per
// element).
func itemSize(item attrs) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(raw json.RawMessage) int {
	var v struct {
		S    *string
		N    *string
		B    *string
		BOOL *bool
		NULL *bool
		M    attrs
		L    []json.RawMessage
		SS   []string
		NS   []string
		BS   []string
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0
	}
	switch {
	case v.S != nil:
		return len(*v.S)
	case v.N != nil:
		return numberSize(*v.N)
	case v.B != nil:
		return binaryLen(*v.B)
	case v.BOOL != nil, v.NULL != nil:
		return 1
	case v.M != nil:
		n := 3
		for name, e := range v.M {
			n += len(name) + valueSize(e) + 1
		}
		return n
	case v.L != nil:
		n := 3
		for _, e := range v.L {
			n += valueSize(e) + 1
		}
		return n
	case v.SS != nil:
		n := 0
		for _, s := range v.SS {
			n += len(s)
		}
		return n
	case v.NS != nil:
		n := 0
		for _, s := range v.NS {
			n += numberSize(s)
		}
		return n
	case v.BS != nil:
		n := 0
		for _, s := range v.BS {
			n += binaryLen(s)
		}
		return n
	}
	return 0
}

// numberSize is 1 byte per two significant digits, plus 1.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	mant, _, _ := strings.Cut(strings.ToLower(s), "e")
	digits := strings.ReplaceAll(mant, ".", "")
	// Leading and trailing zeros are not stored.
	digits = strings.Trim(digits, "0")
	if digits == "" {
		digits = "0"
	}
	return (len(digits)+1)/2 + 1
}

// binaryLen is the decoded length of a base64 binary value.
func binaryLen(b64 string) int {
	return base64.StdEncoding.DecodedLen(len(b64)) - strings.Count(b64, "=")
}
