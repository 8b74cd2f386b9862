package webhook

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small single-pass JSON reader for the delivery payload.
// encoding/json's reflection costs about ten times the HMAC over the same
// body (BenchmarkEncodingJSON4KiB). This reader checks the whole body is
// UTF-8, holds everything it reads to json.Valid's grammar, decodes the
// few known fields without allocating per field, and steps over the rest:
// scalars by the full grammar, objects and arrays by their delimiting only
// (skipBulk), which is what Parse documents. FuzzParse holds it to
// encoding/json's results.

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

// decoder reads one body. The first error stops it: err is set and every
// later step reports no more members, so the object decoders unwind.
//
// The strings it returns are not allocated one by one: their contents are
// copied to arena[:n] and each destination is recorded in fix; flush then
// makes one string of the arena and points every destination into it. The
// arena is an array, not a slice, so that it stays on the stack.
type decoder struct {
	b   []byte
	i   int
	err error

	progress *int // where Data.Progress points, allocated with the Delivery

	arena   [1024]byte
	n       int
	fix     [32]fixup
	nfix    int
	visited uint8 // structs decoded so far, to notice a repeated key

	// next caches, for each byte of marks, the index of its first
	// occurrence at or after some earlier position (len(b) if none): still
	// exact for any position up to it. skipBulk reads it.
	next [len(marks)]int

	// For tests (see parse): strict checks skipped values by the full
	// grammar too; skipped, when not nil, receives the values skipBulk
	// stepped over.
	strict  bool
	skipped *[]span
}

// span is b[start:end].
type span struct{ start, end int }

// marks are the bytes skipBulk looks for, in the order of decoder.next.
const marks = "{}[]\\"

// fixup is a string destination waiting for flush: arena[start:end].
type fixup struct {
	dst        *string
	start, end int
}

// Structs that hold strings, for decoder.visited.
const (
	visitDeliveryInfo = 1 << iota
	visitData
	visitWebhook
	visitDeliverySummary
)

// invalidUTF8At returns the offset of the first invalid UTF-8 sequence in b.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// decode reads the body into out, which it zeroes first.
func (d *decoder) decode(out *Delivery) error {
	b := d.b
	// JSON text is UTF-8 (RFC 8259 §8.1). Checked once for the whole body,
	// skipped values included, so no scanner below has to.
	if !utf8.Valid(b) {
		return &syntaxError{off: invalidUTF8At(b), msg: "invalid UTF-8"}
	}
	for k := range d.next {
		d.next[k] = -1
	}
	d.ws()
	if !d.at('{') {
		d.skip(1)
		if d.err != nil {
			return d.err
		}
		return fmt.Errorf("payload is not a json object: %w", ErrMalformed)
	}
	d.delivery(out)
	if d.err == nil {
		d.ws()
		if d.i != len(b) {
			d.fail("data after the payload")
		}
	}
	if d.err != nil {
		return d.err
	}
	d.flush()
	return nil
}

// flush gives every pending destination its string.
func (d *decoder) flush() {
	if d.nfix == 0 {
		return
	}
	s := string(d.arena[:d.n])
	for _, f := range d.fix[:d.nfix] {
		*f.dst = s[f.start:f.end]
	}
	d.nfix, d.n = 0, 0
}

// revisit is called as a struct's decoder starts. When the struct was
// decoded before (its key repeated), strings still pending for it would
// land after the reset and revive the earlier value, so they are settled
// first and then cleared with the struct.
func (d *decoder) revisit(bit uint8) {
	if d.visited&bit != 0 {
		d.flush()
	}
	d.visited |= bit
}

// The object decoders below share one shape: object enters the object, and
// member steps to each key with d.i at its value, for a switch that decodes
// the value. depth is the nesting depth of the object itself; member values
// are one deeper. A known key whose value has another JSON type is skipped
// and left at the zero value, so each decoder first zeroes its destination:
// a repeated key then replaces the earlier value whole.

// open starts an object decoder for out, marked visit: it notes a repeated
// key (revisit), zeroes out, and enters the object, or skips a value of
// another type and reports false.
func open[T any](d *decoder, out *T, visit uint8, depth int) bool {
	d.revisit(visit)
	var zero T
	*out = zero
	if !d.at('{') {
		d.skip(depth)
		return false
	}
	d.object(depth)
	return true
}

func (d *decoder) delivery(out *Delivery) {
	const depth = 1
	*out = Delivery{}
	d.object(depth)
	for first := true; ; first = false {
		key, ok := d.member(first)
		if !ok {
			return
		}
		switch string(key) {
		case "id":
			d.str(&out.ID, depth+1)
		case "type":
			d.str(&out.Type, depth+1)
		case "created_at":
			d.int64(&out.CreatedAt, depth+1)
		case "delivery":
			d.deliveryInfo(&out.Delivery, depth+1)
		case "data":
			d.data(&out.Data, depth+1)
		default:
			d.skip(depth + 1)
		}
	}
}

func (d *decoder) deliveryInfo(out *DeliveryInfo, depth int) {
	if !open(d, out, visitDeliveryInfo, depth) {
		return
	}
	for first := true; ; first = false {
		key, ok := d.member(first)
		if !ok {
			return
		}
		switch string(key) {
		case "key":
			d.str(&out.Key, depth+1)
		case "attempt":
			d.int(&out.Attempt, depth+1)
		case "max_attempts":
			d.int(&out.MaxAttempts, depth+1)
		default:
			d.skip(depth + 1)
		}
	}
}

func (d *decoder) data(out *Data, depth int) {
	if !open(d, out, visitData, depth) {
		return
	}
	for first := true; ; first = false {
		key, ok := d.member(first)
		if !ok {
			return
		}
		switch string(key) {
		case "id":
			d.str(&out.ID, depth+1)
		case "object":
			d.str(&out.Object, depth+1)
		case "status":
			d.str(&out.Status, depth+1)
		case "lifecycle_status":
			d.str(&out.LifecycleStatus, depth+1)
		case "native_id":
			d.str(&out.NativeID, depth+1)
		case "progress":
			out.Progress = nil
			if p, ok := d.intOK(depth + 1); ok {
				*d.progress = p
				out.Progress = d.progress
			}
		case "provider":
			d.str(&out.Provider, depth+1)
		case "model":
			d.str(&out.Model, depth+1)
		case "cancel_url":
			d.str(&out.CancelURL, depth+1)
		case "content_url":
			d.str(&out.ContentURL, depth+1)
		case "download_url":
			d.str(&out.DownloadURL, depth+1)
		case "expires_at":
			d.int64(&out.ExpiresAt, depth+1)
		case "webhook":
			d.webhook(&out.Webhook, depth+1)
		case "upstream_error":
			out.UpstreamError = nil
			if !d.at('{') {
				d.skip(depth + 1)
				break
			}
			out.UpstreamError = &UpstreamError{}
			d.upstreamError(out.UpstreamError, depth+1)
		case "status_change":
			out.StatusChange = nil
			if !d.at('{') {
				d.skip(depth + 1)
				break
			}
			out.StatusChange = &StatusChange{}
			d.statusChange(out.StatusChange, depth+1)
		case "updated_at":
			d.text(&out.UpdatedAt, depth+1)
		case "finalized_at":
			d.text(&out.FinalizedAt, depth+1)
		default:
			d.skip(depth + 1)
		}
	}
}

func (d *decoder) webhook(out *WebhookState, depth int) {
	if !open(d, out, visitWebhook, depth) {
		return
	}
	for first := true; ; first = false {
		key, ok := d.member(first)
		if !ok {
			return
		}
		switch string(key) {
		case "url":
			d.str(&out.URL, depth+1)
		case "delivery":
			d.deliverySummary(&out.Delivery, depth+1)
		default:
			d.skip(depth + 1)
		}
	}
}

func (d *decoder) deliverySummary(out *DeliverySummary, depth int) {
	if !open(d, out, visitDeliverySummary, depth) {
		return
	}
	for first := true; ; first = false {
		key, ok := d.member(first)
		if !ok {
			return
		}
		switch string(key) {
		case "total_attempts":
			d.int(&out.TotalAttempts, depth+1)
		case "delivered_events":
			d.int(&out.DeliveredEvents, depth+1)
		case "pending_retries":
			d.int(&out.PendingRetries, depth+1)
		case "next_retry_at":
			d.text(&out.NextRetryAt, depth+1)
		case "last_attempt_at":
			d.text(&out.LastAttemptAt, depth+1)
		case "last_attempt_status":
			d.str(&out.LastAttemptStatus, depth+1)
		case "last_response_status":
			d.int(&out.LastResponseStatus, depth+1)
		case "last_delivered_at":
			d.text(&out.LastDeliveredAt, depth+1)
		case "last_failure_at":
			d.text(&out.LastFailureAt, depth+1)
		case "last_error_message":
			d.str(&out.LastErrorMessage, depth+1)
		default:
			d.skip(depth + 1)
		}
	}
}

// upstreamError and statusChange are called at an object, into a fresh
// struct, so a repeated key needs no revisit.
func (d *decoder) upstreamError(out *UpstreamError, depth int) {
	d.object(depth)
	for first := true; ; first = false {
		key, ok := d.member(first)
		if !ok {
			return
		}
		switch string(key) {
		case "code":
			d.text(&out.Code, depth+1)
		case "type":
			d.text(&out.Type, depth+1)
		case "message":
			d.text(&out.Message, depth+1)
		case "description":
			d.text(&out.Description, depth+1)
		case "param":
			d.text(&out.Param, depth+1)
		case "status":
			d.text(&out.Status, depth+1)
		default:
			d.skip(depth + 1)
		}
	}
}

func (d *decoder) statusChange(out *StatusChange, depth int) {
	d.object(depth)
	for first := true; ; first = false {
		key, ok := d.member(first)
		if !ok {
			return
		}
		switch string(key) {
		case "previous_status":
			d.str(&out.PreviousStatus, depth+1)
		case "status":
			d.str(&out.Status, depth+1)
		default:
			d.skip(depth + 1)
		}
	}
}

// Typed values. Each consumes one value; one of another JSON type (null
// included) is validated and skipped, leaving the zero value.

func (d *decoder) str(dst *string, depth int) {
	if !d.at('"') {
		d.setString(dst, d.i, d.i, 0) // cancels a pending earlier value
		d.skip(depth)
		return
	}
	start, end, flags, ok := d.scanString()
	if ok {
		d.setString(dst, start, end, flags)
	}
}

// text accepts a string, or a number kept as its literal text.
func (d *decoder) text(dst *string, depth int) {
	if d.atNumber() {
		start, _, ok := d.number()
		if ok {
			d.setString(dst, start, d.i, 0)
		}
		return
	}
	d.str(dst, depth)
}

// setString makes the raw string contents b[start:end], unquoted when
// flags has hasEscape, the value of *dst once flush runs. Unquoting never
// lengthens a string, so end-start bytes of arena are enough.
func (d *decoder) setString(dst *string, start, end, flags int) {
	if d.nfix == len(d.fix) || end-start > len(d.arena)-d.n {
		d.flush()
	}
	if end-start > len(d.arena) {
		// Settled at once: the pending strings were settled just above,
		// so the order of assignments, and the last value, stay right.
		if flags&hasEscape == 0 {
			*dst = string(d.b[start:end])
		} else {
			*dst = string(d.unquote(nil, start, end))
		}
		return
	}
	at := d.n
	if flags&hasEscape == 0 {
		d.n += copy(d.arena[at:], d.b[start:end])
	} else {
		d.n += copy(d.arena[at:], d.unquote(d.arena[at:at], start, end))
	}
	d.fix[d.nfix] = fixup{dst: dst, start: at, end: d.n}
	d.nfix++
}

func (d *decoder) int(dst *int, depth int) {
	*dst, _ = d.intOK(depth)
}

func (d *decoder) int64(dst *int64, depth int) {
	n, _ := d.intOK(depth)
	*dst = int64(n)
}

// intOK decodes an integer literal that fits an int; it reports false, and
// zero, for any other value, including 1.0 and 1e3.
func (d *decoder) intOK(depth int) (int, bool) {
	if !d.atNumber() {
		d.skip(depth)
		return 0, false
	}
	start, isInt, ok := d.number()
	if !ok || !isInt {
		return 0, false
	}
	return parseInt(d.b[start:d.i])
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

// Grammar. The decoder methods keep their position in d.i; the scanners
// under them are plain functions of (b, i) so their loops keep i in a
// register.

// fail records the first error, at d.i, and stops the decoder.
func (d *decoder) fail(msg string) {
	d.failAt(d.i, msg)
}

func (d *decoder) failAt(i int, msg string) {
	if d.err == nil {
		d.err = &syntaxError{off: i, msg: msg}
	}
	d.i = len(d.b)
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

// object steps into the object at d.i, which sits at the given depth.
func (d *decoder) object(depth int) {
	if depth > maxDepth {
		d.fail("nesting too deep")
		return
	}
	d.i++ // {
}

// member steps to the next member of the object being read, past its key
// and colon, and returns the key; ok is false at the end of the object or
// after an error. The key aliases the body unless it had escapes: callers
// only compare it.
func (d *decoder) member(first bool) (key []byte, ok bool) {
	if d.err != nil {
		return nil, false
	}
	b, i := d.b, skipWS(d.b, d.i)
	if !first {
		if i >= len(b) || b[i] != ',' {
			if i < len(b) && b[i] == '}' {
				d.i = i + 1
			} else {
				d.failAt(i, "expected comma or end of object")
			}
			return nil, false
		}
		i = skipWS(b, i+1)
	} else if i < len(b) && b[i] == '}' {
		d.i = i + 1
		return nil, false
	}
	if i >= len(b) || b[i] != '"' {
		d.failAt(i, "expected object key")
		return nil, false
	}
	end, flags, msg := scanString(b, i)
	if msg != "" {
		d.failAt(end, msg)
		return nil, false
	}
	key = b[i+1 : end]
	if flags&hasEscape != 0 {
		key = d.unquote(nil, i+1, end)
	}
	i = skipWS(b, end+1)
	if i >= len(b) || b[i] != ':' {
		d.failAt(i, "expected colon")
		return nil, false
	}
	d.i = skipWS(b, i+1)
	return key, true
}

// scanString steps over the string whose opening quote is at d.i and
// returns the bounds of its raw contents; ok is false after an error.
func (d *decoder) scanString() (start, end, flags int, ok bool) {
	end, flags, msg := scanString(d.b, d.i)
	if msg != "" {
		d.failAt(end, msg)
		return 0, 0, 0, false
	}
	start, d.i = d.i+1, end+1
	return start, end, flags, true
}

// number steps over the number at d.i, reporting where it starts and
// whether it is an integer (no fraction, no exponent).
func (d *decoder) number() (start int, isInt, ok bool) {
	end, isInt, ok := scanNumber(d.b, d.i)
	if !ok {
		d.failAt(end, "invalid number")
		return 0, false, false
	}
	start, d.i = d.i, end
	return start, isInt, true
}

// skip validates and steps over the value at d.i, whose nesting depth would
// be depth if it is a container.
func (d *decoder) skip(depth int) {
	if d.i >= len(d.b) {
		d.fail("unexpected end of json")
		return
	}
	switch c := d.b[d.i]; c {
	case '"':
		d.scanString()
		return
	case '{', '[':
		if !d.strict && d.skipBulk(depth) {
			return
		}
		end, msg := skipContainer(d.b, d.i, depth)
		if msg != "" {
			d.failAt(end, msg)
			return
		}
		d.i = end
		return
	case 'n':
		d.literal("null")
		return
	case 't':
		d.literal("true")
		return
	case 'f':
		d.literal("false")
		return
	}
	if d.atNumber() {
		d.number()
		return
	}
	d.fail("unexpected character")
}

func (d *decoder) literal(word string) {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		d.fail("invalid literal")
		return
	}
	d.i += len(word)
}

// skipBulk steps over the object or array at d.i, whose nesting depth is
// depth, without reading its members: nothing in it is returned, and the
// body is authenticated already, so only what keeps the rest of the body
// well delimited is checked (decode checked UTF-8 for the whole body):
//
//   - every '{' and '[' outside strings is closed, by a '}' or ']'
//     respectively, in proper nesting, no deeper than maxDepth;
//   - every string ends (quotes pair up).
//
// Commas, colons, keys, numbers, literals and control characters in
// strings are not checked. Telling string quotes from escaped ones needs
// no backslash in the value: when it holds one, skipBulk returns false
// having consumed nothing, and the caller checks the value by the full
// grammar instead. Brackets are found with bytes.IndexByte and quote parity
// with bytes.Count, which cover many bytes per instruction, so the cost
// follows the number of brackets rather than of tokens.
func (d *decoder) skipBulk(depth int) bool {
	b, start := d.b, d.i
	var local [2]uint64
	objects := local[:] // bit n: the container n levels in is an object
	open := 0           // containers open
	pos, c := start, b[start]
	quotes, counted := 0, start // quotes in b[start:counted]
	for {
		if c == '{' || c == '[' {
			if depth+open > maxDepth {
				d.failAt(pos, "nesting too deep")
				return true
			}
			if open>>6 == len(objects) {
				objects = append(objects, 0)
			}
			isObj := uint64(c>>5) & 1 // '{' is 0x7b, '[' is 0x5b
			w := &objects[open>>6]
			*w = *w&^(1<<(open&63)) | isObj<<(open&63)
			open++
		} else {
			open--
			if isObj := objects[open>>6]>>(open&63)&1 != 0; isObj != (c == '}') {
				d.failAt(pos, "mismatched bracket")
				return true
			}
			if open == 0 {
				end := pos + 1
				d.i = end
				if d.skipped != nil {
					*d.skipped = append(*d.skipped, span{start, end})
				}
				return true
			}
		}
		// The next bracket outside strings: the next one at all, unless
		// an odd number of quotes precede it.
		for {
			p := len(b)
			for k := range 4 {
				p = min(p, d.nextMark(k, pos+1))
			}
			if d.nextMark(4, start) < p {
				return false // a backslash before it
			}
			if p == len(b) {
				d.failAt(p, "unexpected end of json")
				return true
			}
			quotes += bytes.Count(b[counted:p], quote)
			counted, pos, c = p, p, b[p]
			if quotes%2 == 0 {
				break
			}
		}
	}
}

var quote = []byte{'"'}

// nextMark returns the index of the first marks[k] at or after from, or
// len(b) if there is none.
func (d *decoder) nextMark(k, from int) int {
	if p := d.next[k]; p >= from {
		return p
	}
	p := bytes.IndexByte(d.b[from:], marks[k])
	if p < 0 {
		p = len(d.b)
	} else {
		p += from
	}
	d.next[k] = p
	return p
}

// skipContainer validates and steps over the object or array at b[i],
// whose nesting depth is depth, and returns the index after it; on failure
// msg says why and end is where. It keeps its own stack of open containers
// (one bit each: object or array) instead of recursing, so stepping over a
// value costs a few comparisons per token.
func skipContainer(b []byte, i, depth int) (end int, msg string) {
	const (
		wantValue = iota // after '[', ',' in an array, or ':'
		wantKey          // after ',' in an object
		wantNext         // after a value: ',' or the close of the container
	)
	var local [2]uint64
	objects := local[:] // bit n: the container n levels in is an object
	open := 0           // containers open inside this call
	state := wantValue
	for {
		if i < len(b) && b[i] <= ' ' {
			i = skipWS(b, i)
		}
		if i >= len(b) {
			return i, "unexpected end of json"
		}
		c := b[i]
		switch state {
		case wantValue:
			switch c {
			case '"':
				j, _, msg := scanString(b, i)
				if msg != "" {
					return j, msg
				}
				i = j + 1
			case '{', '[':
				if depth+open > maxDepth {
					return i, "nesting too deep"
				}
				if open>>6 == len(objects) {
					objects = append(objects, 0)
				}
				isObj := uint64(c>>5) & 1 // '{' is 0x7b, '[' is 0x5b
				w := &objects[open>>6]
				*w = *w&^(1<<(open&63)) | isObj<<(open&63)
				open++
				i = skipWS(b, i+1)
				if i >= len(b) || b[i] != c+2 { // not at once '}' or ']'
					if isObj != 0 {
						state = wantKey
					}
					continue
				}
				open--
				i++
			case 'n', 't', 'f':
				word := "null"
				if c == 't' {
					word = "true"
				} else if c == 'f' {
					word = "false"
				}
				if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
					return i, "invalid literal"
				}
				i += len(word)
			default:
				j, _, ok := scanNumber(b, i)
				if !ok {
					if j == i {
						return i, "unexpected character"
					}
					return j, "invalid number"
				}
				i = j
			}
			if open == 0 {
				return i, ""
			}
			state = wantNext
		case wantKey:
			if c != '"' {
				return i, "expected object key"
			}
			j, _, msg := scanString(b, i)
			if msg != "" {
				return j, msg
			}
			i = skipWS(b, j+1)
			if i >= len(b) || b[i] != ':' {
				return i, "expected colon"
			}
			i++
			state = wantValue
		case wantNext:
			inObj := objects[(open-1)>>6]>>((open-1)&63)&1 != 0
			switch {
			case c == ',':
				i++
				state = wantValue
				if inObj {
					state = wantKey
				}
			case inObj && c == '}' || !inObj && c == ']':
				i++
				open--
				if open == 0 {
					return i, ""
				}
			case inObj:
				return i, "expected comma or end of object"
			default:
				return i, "expected comma or end of array"
			}
		}
	}
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

// unquote appends to dst the decoded string with raw contents b[start:end],
// which scanString has validated (valid UTF-8 included), exactly as
// encoding/json would decode it. Common escapes are decoded here; escaped
// surrogates (which encoding/json replaces with U+FFFD by rules of its own)
// go through encoding/json.
func (d *decoder) unquote(dst []byte, start, end int) []byte {
	raw := d.b[start:end]
	at := len(dst)
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := raw[i+1]; e {
		case 'u':
			r := rune(hexVal(raw[i+2])<<12 | hexVal(raw[i+3])<<8 | hexVal(raw[i+4])<<4 | hexVal(raw[i+5]))
			if utf16.IsSurrogate(r) {
				var s string
				// scanString validated the string, which encoding/json
				// therefore accepts.
				_ = json.Unmarshal(d.b[start-1:end+1], &s)
				return append(dst[:at], s...)
			}
			dst = utf8.AppendRune(dst, r)
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
		dst = append(dst, c)
		i += 2
	}
	return dst
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

// hasEscape is scanString's flag for a string with a backslash.
const hasEscape = 1

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// scanString validates the string whose opening quote is b[i] (UTF-8 aside:
// decode checks the whole body) and returns the index of its closing quote,
// with flags hasEscape if it has escapes. On failure msg says why and end
// is where.
func scanString(b []byte, i int) (end, flags int, msg string) {
	i++
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character: most of a payload is plain string bytes. The
		// lowest flagged byte is exactly the first such byte (the borrows of
		// these bit tricks only run towards higher bytes).
		for rest := b[i:]; len(rest) >= 8; rest = rest[8:] {
			if m := specials(binary.LittleEndian.Uint64(rest)); m != 0 {
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
			i++
		}
	}
}

// specials flags, in their top bits, the bytes of w that are a quote, a
// backslash or a control character. Flipping bit 1 (0x02) maps the quote
// (0x22) to 0x20 and keeps control characters below 0x20, so one "less than
// 0x21" test finds both.
func specials(w uint64) uint64 {
	q := w ^ (ones * 0x02)
	s := w ^ (ones * '\\')
	return (((q - ones*0x21) &^ q) | ((s - ones) &^ s)) & highs
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
