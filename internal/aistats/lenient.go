package aistats

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// object is a JSON object whose members are decoded on demand. The gateway's
// field types drift between versions (numbers as strings, strings as
// objects), so each accessor accepts the plausible shapes and yields the
// zero value for anything else instead of failing the whole document.
type object map[string]json.RawMessage

// parseObject decodes b as a JSON object; ok is false for anything else
// (including null).
func parseObject(b []byte) (object, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, false
	}
	var o object
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, false
	}
	return o, true
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// str returns a string member; numbers and booleans are rendered as text
// because codes have been seen as numbers in OpenAI-compatible errors.
func (o object) str(key string) string {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	t := bytes.TrimSpace(raw)
	if t[0] == '-' || (t[0] >= '0' && t[0] <= '9') || string(t) == "true" || string(t) == "false" {
		return string(t)
	}
	return ""
}

// num returns a numeric member given as a JSON number or a numeric string.
func (o object) num(key string) (float64, bool) {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return 0, false
	}
	return rawNum(raw)
}

func rawNum(raw json.RawMessage) (float64, bool) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	return 0, false
}

// int64 returns an integral member; fractions are truncated and values
// outside int64 are rejected.
func (o object) int64(key string) (int64, bool) {
	f, ok := o.num(key)
	if !ok || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0, false
	}
	return int64(f), true
}

func (o object) int(key string) int {
	n, ok := o.int64(key)
	if !ok || n > math.MaxInt32 || n < math.MinInt32 {
		return 0
	}
	return int(n)
}

// bool returns a boolean member given as a JSON boolean or "true"/"false".
func (o object) bool(key string) (bool, bool) {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return false, false
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return b, true
		}
	}
	return false, false
}

func (o object) obj(key string) (object, bool) {
	raw, ok := o[key]
	if !ok {
		return nil, false
	}
	return parseObject(raw)
}

func (o object) arr(key string) []json.RawMessage {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil
	}
	return a
}

// strs returns an array of strings, skipping members that are not strings.
func (o object) strs(key string) []string {
	var out []string
	for _, raw := range o.arr(key) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}

// time returns a timestamp member: unix seconds (milliseconds when the value
// has 13 or more digits) as a number or numeric string, or a textual
// ISO-8601 / database timestamp.
func (o object) time(key string) time.Time {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return time.Time{}
	}
	return rawTime(raw)
}

func rawTime(raw json.RawMessage) time.Time {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return parseTimeText(s)
	}
	return numericTime(string(bytes.TrimSpace(raw)))
}

// numericTime parses a unix timestamp given as decimal text, keeping
// integral milliseconds exact (a float64 would round them).
func numericTime(s string) time.Time {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n >= 1e12 && n < 1e14 {
			return time.UnixMilli(n).UTC()
		}
		return unixTime(float64(n))
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return unixTime(f)
	}
	return time.Time{}
}

// unixTime converts unix seconds, or milliseconds for values of 13+ digits,
// to a UTC time; absurd values yield the zero time.
func unixTime(f float64) time.Time {
	if f <= 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}
	}
	if f >= 1e12 {
		f /= 1000
	}
	if f >= 1e11 { // beyond year 5000: not a timestamp we can trust
		return time.Time{}
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC()
}

// timeLayouts covers ISO-8601 and the Postgres-style text the gateway emits
// for DB timestamps ("2026-06-17 16:00:00.123+00").
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999-0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999-0700",
	time.RFC1123,
	time.RFC1123Z,
	"2006-01-02",
}

func parseTimeText(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if t := numericTime(s); !t.IsZero() {
		return t
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
