package webhook

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small single-pass JSON reader for the delivery payload.
// encoding/json's reflection costs about nine times the HMAC over the same
// body. This reader validates the whole document by json.Valid's rules,
// decodes the few known fields and skips the rest, in about a tenth of
// encoding/json's time (BenchmarkParse4KiB, BenchmarkEncodingJSON4KiB).
// FuzzParse holds it to encoding/json's results.

// maxDepth is encoding/json's nesting limit, so both accept the same bodies.
const maxDepth = 10000

// syntaxError reports where a body stops being valid JSON. It names a byte
// offset and never quotes the body.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%s at byte %d: %v", e.msg, e.off, ErrMalformed)
}

func (e *syntaxError) Unwrap() error { return ErrMalformed }

type decoder struct {
	b []byte
	i int
}

func decodeDelivery(b []byte, out *Delivery) error {
	d := decoder{b: b}
	d.ws()
	if !d.at('{') {
		if err := d.skip(1); err != nil {
			return err
		}
		return fmt.Errorf("payload is not a json object: %w", ErrMalformed)
	}
	if err := d.delivery(out); err != nil {
		return err
	}
	d.ws()
	if d.i != len(b) {
		return d.fail("data after the payload")
	}
	return nil
}

// The object decoders below share one shape: members enters the object and
// hands each key to a switch that decodes the value. depth is the nesting
// depth of the object itself; member values are one deeper. A known key whose
// value has another JSON type is skipped and left at the zero value, so
// each decoder first zeroes its destination: a repeated key then replaces
// the earlier value whole.

func (d *decoder) delivery(out *Delivery) error {
	const depth = 1
	*out = Delivery{}
	return d.members(depth, func(key []byte) (err error) {
		switch string(key) {
		case "id":
			err = d.str(&out.ID, depth+1)
		case "type":
			err = d.str(&out.Type, depth+1)
		case "created_at":
			err = d.int64(&out.CreatedAt, depth+1)
		case "delivery":
			err = d.deliveryInfo(&out.Delivery, depth+1)
		case "data":
			err = d.data(&out.Data, depth+1)
		default:
			err = d.skip(depth + 1)
		}
		return err
	})
}

func (d *decoder) deliveryInfo(out *DeliveryInfo, depth int) error {
	*out = DeliveryInfo{}
	if !d.at('{') {
		return d.skip(depth)
	}
	return d.members(depth, func(key []byte) (err error) {
		switch string(key) {
		case "key":
			err = d.str(&out.Key, depth+1)
		case "attempt":
			err = d.int(&out.Attempt, depth+1)
		case "max_attempts":
			err = d.int(&out.MaxAttempts, depth+1)
		default:
			err = d.skip(depth + 1)
		}
		return err
	})
}

func (d *decoder) data(out *Data, depth int) error {
	*out = Data{}
	if !d.at('{') {
		return d.skip(depth)
	}
	return d.members(depth, func(key []byte) (err error) {
		switch string(key) {
		case "id":
			err = d.str(&out.ID, depth+1)
		case "object":
			err = d.str(&out.Object, depth+1)
		case "status":
			err = d.str(&out.Status, depth+1)
		case "lifecycle_status":
			err = d.str(&out.LifecycleStatus, depth+1)
		case "native_id":
			err = d.str(&out.NativeID, depth+1)
		case "progress":
			out.Progress = nil
			var p int
			var ok bool
			if ok, err = d.intOK(&p, depth+1); ok {
				out.Progress = &p
			}
		case "provider":
			err = d.str(&out.Provider, depth+1)
		case "model":
			err = d.str(&out.Model, depth+1)
		case "cancel_url":
			err = d.str(&out.CancelURL, depth+1)
		case "content_url":
			err = d.str(&out.ContentURL, depth+1)
		case "download_url":
			err = d.str(&out.DownloadURL, depth+1)
		case "expires_at":
			err = d.int64(&out.ExpiresAt, depth+1)
		case "webhook":
			err = d.webhook(&out.Webhook, depth+1)
		case "upstream_error":
			out.UpstreamError = nil
			if !d.at('{') {
				err = d.skip(depth + 1)
				break
			}
			out.UpstreamError = &UpstreamError{}
			err = d.upstreamError(out.UpstreamError, depth+1)
		case "status_change":
			out.StatusChange = nil
			if !d.at('{') {
				err = d.skip(depth + 1)
				break
			}
			out.StatusChange = &StatusChange{}
			err = d.statusChange(out.StatusChange, depth+1)
		case "updated_at":
			err = d.text(&out.UpdatedAt, depth+1)
		case "finalized_at":
			err = d.text(&out.FinalizedAt, depth+1)
		default:
			err = d.skip(depth + 1)
		}
		return err
	})
}

func (d *decoder) webhook(out *WebhookState, depth int) error {
	*out = WebhookState{}
	if !d.at('{') {
		return d.skip(depth)
	}
	return d.members(depth, func(key []byte) (err error) {
		switch string(key) {
		case "url":
			err = d.str(&out.URL, depth+1)
		case "delivery":
			err = d.deliverySummary(&out.Delivery, depth+1)
		default:
			err = d.skip(depth + 1)
		}
		return err
	})
}

func (d *decoder) deliverySummary(out *DeliverySummary, depth int) error {
	*out = DeliverySummary{}
	if !d.at('{') {
		return d.skip(depth)
	}
	return d.members(depth, func(key []byte) (err error) {
		switch string(key) {
		case "total_attempts":
			err = d.int(&out.TotalAttempts, depth+1)
		case "delivered_events":
			err = d.int(&out.DeliveredEvents, depth+1)
		case "pending_retries":
			err = d.int(&out.PendingRetries, depth+1)
		case "next_retry_at":
			err = d.text(&out.NextRetryAt, depth+1)
		case "last_attempt_at":
			err = d.text(&out.LastAttemptAt, depth+1)
		case "last_attempt_status":
			err = d.str(&out.LastAttemptStatus, depth+1)
		case "last_response_status":
			err = d.int(&out.LastResponseStatus, depth+1)
		case "last_delivered_at":
			err = d.text(&out.LastDeliveredAt, depth+1)
		case "last_failure_at":
			err = d.text(&out.LastFailureAt, depth+1)
		case "last_error_message":
			err = d.str(&out.LastErrorMessage, depth+1)
		default:
			err = d.skip(depth + 1)
		}
		return err
	})
}

// upstreamError and statusChange are called at an object.
func (d *decoder) upstreamError(out *UpstreamError, depth int) error {
	return d.members(depth, func(key []byte) (err error) {
		switch string(key) {
		case "code":
			err = d.text(&out.Code, depth+1)
		case "type":
			err = d.text(&out.Type, depth+1)
		case "message":
			err = d.text(&out.Message, depth+1)
		case "description":
			err = d.text(&out.Description, depth+1)
		case "param":
			err = d.text(&out.Param, depth+1)
		case "status":
			err = d.text(&out.Status, depth+1)
		default:
			err = d.skip(depth + 1)
		}
		return err
	})
}

func (d *decoder) statusChange(out *StatusChange, depth int) error {
	return d.members(depth, func(key []byte) (err error) {
		switch string(key) {
		case "previous_status":
			err = d.str(&out.PreviousStatus, depth+1)
		case "status":
			err = d.str(&out.Status, depth+1)
		default:
			err = d.skip(depth + 1)
		}
		return err
	})
}

// members enters the object at d.i, at nesting depth depth, and calls member
// for each key with d.i at its value, until the end of the object or the
// first error.
func (d *decoder) members(depth int, member func(key []byte) error) error {
	if err := d.enter(depth); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, more, err := d.next(first)
		if !more || err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
	}
}

// Typed values. Each consumes one value; one of another JSON type (null
// included) is validated and skipped, leaving the zero value.

func (d *decoder) str(dst *string, depth int) error {
	*dst = ""
	if !d.at('"') {
		return d.skip(depth)
	}
	s, err := d.string()
	*dst = s
	return err
}

// text accepts a string, or a number kept as its literal text.
func (d *decoder) text(dst *string, depth int) error {
	if d.atNumber() {
		start, _, err := d.number()
		*dst = string(d.b[start:d.i])
		return err
	}
	return d.str(dst, depth)
}

func (d *decoder) int(dst *int, depth int) error {
	_, err := d.intOK(dst, depth)
	return err
}

func (d *decoder) int64(dst *int64, depth int) error {
	var n int
	_, err := d.intOK(&n, depth)
	*dst = int64(n)
	return err
}

// intOK decodes an integer literal that fits an int; it reports false, with
// *dst zero, for any other value, including 1.0 and 1e3.
func (d *decoder) intOK(dst *int, depth int) (bool, error) {
	*dst = 0
	if !d.atNumber() {
		return false, d.skip(depth)
	}
	start, isInt, err := d.number()
	if err != nil || !isInt {
		return false, err
	}
	n, ok := parseInt(d.b[start:d.i])
	*dst = n
	return ok, nil
}

// parseInt converts a valid JSON integer literal, reporting false when it
// does not fit an int (strconv.ParseInt would allocate its argument).
func parseInt(b []byte) (int, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n uint64
	for _, c := range b {
		if n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63 && n <= uint64(-math.MinInt):
		return int(-n), true
	case !neg && n <= math.MaxInt:
		return int(n), true
	}
	return 0, false
}

// Grammar. The decoder methods keep their position in d.i; the string and
// number scanners under them are plain functions of (b, i) so their loops
// keep i in a register.

func (d *decoder) fail(msg string) error {
	return &syntaxError{off: d.i, msg: msg}
}

// failAt reports an error at offset i.
func (d *decoder) failAt(i int, msg string) error {
	d.i = i
	return d.fail(msg)
}

func (d *decoder) at(c byte) bool {
	return d.i < len(d.b) && d.b[d.i] == c
}

func (d *decoder) atNumber() bool {
	return d.i < len(d.b) && (d.b[d.i] == '-' || '0' <= d.b[d.i] && d.b[d.i] <= '9')
}

func (d *decoder) ws() {
	d.i = skipWS(d.b, d.i)
}

// enter steps into the object at d.i, which sits at the given depth.
func (d *decoder) enter(depth int) error {
	if depth > maxDepth {
		return d.fail("nesting too deep")
	}
	d.i++ // {
	return nil
}

// next steps to the next member of the object being read, past its key and
// colon, and returns the key; more is false at the end of the object. The
// key aliases the body unless it had escapes: callers only compare it.
func (d *decoder) next(first bool) (key []byte, more bool, err error) {
	d.ws()
	if first {
		if d.at('}') {
			d.i++
			return nil, false, nil
		}
		return d.key()
	}
	switch {
	case d.at(','):
		d.i++
		d.ws()
		return d.key()
	case d.at('}'):
		d.i++
		return nil, false, nil
	}
	return nil, false, d.fail("expected comma or end of object")
}

func (d *decoder) key() ([]byte, bool, error) {
	if !d.at('"') {
		return nil, false, d.fail("expected object key")
	}
	start, end, flags, err := d.scanString()
	if err != nil {
		return nil, false, err
	}
	key := d.b[start:end]
	if flags&hasEscape != 0 {
		s, err := d.unquote(start, end)
		if err != nil {
			return nil, false, err
		}
		key = []byte(s)
	}
	d.ws()
	if !d.at(':') {
		return nil, false, d.fail("expected colon")
	}
	d.i++
	d.ws()
	return key, true, nil
}

// scanString steps over the string whose opening quote is at d.i and
// returns the bounds of its raw contents.
func (d *decoder) scanString() (start, end, flags int, err error) {
	end, flags, msg := scanString(d.b, d.i)
	if msg != "" {
		return 0, 0, 0, d.failAt(end, msg)
	}
	start, d.i = d.i+1, end+1
	// JSON text is UTF-8 (RFC 8259 §8.1) and bytes >= 0x80 can only stand
	// inside strings, so checking the strings that have any checks the
	// whole body, skipped fields included.
	if flags&hasHigh != 0 && !utf8.Valid(d.b[start:end]) {
		return 0, 0, 0, d.failAt(start, "invalid UTF-8 in string")
	}
	return start, end, flags, nil
}

// number steps over the number at d.i, reporting where it starts and
// whether it is an integer (no fraction, no exponent).
func (d *decoder) number() (start int, isInt bool, err error) {
	end, isInt, ok := scanNumber(d.b, d.i)
	if !ok {
		return 0, false, d.failAt(end, "invalid number")
	}
	start, d.i = d.i, end
	return start, isInt, nil
}

// skip validates and steps over the value at d.i, whose nesting depth would
// be depth if it is a container.
func (d *decoder) skip(depth int) error {
	if d.i >= len(d.b) {
		return d.fail("unexpected end of json")
	}
	switch c := d.b[d.i]; c {
	case '{':
		return d.skipObject(depth)
	case '[':
		return d.skipArray(depth)
	case '"':
		_, _, _, err := d.scanString()
		return err
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	}
	if d.atNumber() {
		_, _, err := d.number()
		return err
	}
	return d.fail("unexpected character")
}

func (d *decoder) skipObject(depth int) error {
	if err := d.enter(depth); err != nil {
		return err
	}
	for first := true; ; first = false {
		_, more, err := d.next(first)
		if !more || err != nil {
			return err
		}
		if err := d.skip(depth + 1); err != nil {
			return err
		}
	}
}

func (d *decoder) skipArray(depth int) error {
	if depth > maxDepth {
		return d.fail("nesting too deep")
	}
	d.i++ // [
	d.ws()
	if d.at(']') {
		d.i++
		return nil
	}
	for {
		if err := d.skip(depth + 1); err != nil {
			return err
		}
		d.ws()
		switch {
		case d.at(','):
			d.i++
			d.ws()
		case d.at(']'):
			d.i++
			return nil
		default:
			return d.fail("expected comma or end of array")
		}
	}
}

func (d *decoder) literal(word string) error {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return d.fail("invalid literal")
	}
	d.i += len(word)
	return nil
}

func skipWS(b []byte, i int) int {
	// Compact JSON has no whitespace: one comparison decides.
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanNumber steps over the number literal at b[i:]. It returns the index
// after it and whether it is an integer; when it is not a valid number, ok
// is false and end is where it went wrong.
func scanNumber(b []byte, i int) (end int, isInt, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, false, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		j := digits(b, i+1)
		if j == i+1 {
			return j, false, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, false, false
		}
		i = j
	}
	return i, isInt, true
}

// digits returns the index after the run of decimal digits at b[i:].
func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// string reads the string at d.i and returns its value.
func (d *decoder) string() (string, error) {
	start, end, flags, err := d.scanString()
	if err != nil {
		return "", err
	}
	if flags&hasEscape == 0 { // valid UTF-8 already (scanString)
		return string(d.b[start:end]), nil
	}
	return d.unquote(start, end)
}

// unquote decodes the string with raw contents b[start:end], which
// scanString has validated (valid UTF-8 included), exactly as encoding/json
// would. Common escapes are decoded here; escaped surrogates (which
// encoding/json replaces with U+FFFD by rules of its own) go through
// encoding/json.
func (d *decoder) unquote(start, end int) (string, error) {
	raw := d.b[start:end]
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch e := raw[i+1]; e {
		case 'u':
			r := rune(hexVal(raw[i+2])<<12 | hexVal(raw[i+3])<<8 | hexVal(raw[i+4])<<4 | hexVal(raw[i+5]))
			if utf16.IsSurrogate(r) {
				return d.unquoteJSON(start, end)
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		default: // " \\ /
			c = e
		}
		out = append(out, c)
		i += 2
	}
	return string(out), nil
}

func (d *decoder) unquoteJSON(start, end int) (string, error) {
	var out string
	if err := json.Unmarshal(d.b[start-1:end+1], &out); err != nil {
		return "", &syntaxError{off: start - 1, msg: "invalid string"}
	}
	return out, nil
}

func hexVal(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c - 'a' + 10)
	}
	return int(c - 'A' + 10)
}

// scanString flags.
const (
	hasEscape = 1 << iota
	hasHigh   // a byte >= 0x80: the contents may not be valid UTF-8
)

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// scanString validates the string whose opening quote is b[i] and returns
// the index of its closing quote, with flags: hasEscape, and hasHigh when
// the contents may hold non-ASCII bytes (it may also be set for an ASCII
// string; it only asks for a UTF-8 check). On failure msg says why and end
// is where.
func scanString(b []byte, i int) (end, flags int, msg string) {
	i++
	var seen uint64 // every 8-byte word read, OR-ed, for hasHigh
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character: most of a payload is plain string bytes. The
		// lowest flagged byte is exactly the first such byte (the borrows of
		// these bit tricks only run towards higher bytes).
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			seen |= w
			if m := specials(w); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			return i, 0, "unterminated string"
		}
		switch c := b[i]; {
		case c == '"':
			if seen&highs != 0 {
				flags |= hasHigh
			}
			return i, flags, ""
		case c == '\\':
			flags |= hasEscape
			if i+1 >= len(b) {
				return i, 0, "unterminated string"
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, 0, "invalid unicode escape"
				}
				i += 6
			default:
				return i, 0, "invalid escape"
			}
		case c < 0x20:
			return i, 0, "control character in string"
		default:
			if c >= 0x80 {
				flags |= hasHigh
			}
			i++
		}
	}
}

// specials flags, in their top bits, the bytes of w that are a quote, a
// backslash or a control character.
func specials(w uint64) uint64 {
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return (((q - ones) &^ q) | ((s - ones) &^ s) | ((w - ones*0x20) &^ w)) & highs
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
