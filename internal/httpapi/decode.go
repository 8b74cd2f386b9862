package httpapi

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// MaxBodyBytes is the largest request body the API accepts, after base64
// decoding. Job requests are a prompt and a few options; anything near this
// size is a mistake or abuse.
const MaxBodyBytes = 64 << 10

// Error codes of the envelope for request-shape problems.
const (
	CodeInvalidJSON     = "invalid_json"
	CodeInvalidEncoding = "invalid_encoding"
	CodeBodyTooLarge    = "body_too_large"
	CodeUnknownField    = "unknown_field"
	CodeDuplicateField  = "duplicate_field"
	CodeInvalidType     = "invalid_type"
	CodeBodyRequired    = "body_required"
)

// Body returns the raw request body, base64-decoded when API Gateway says
// it is encoded. A body over MaxBodyBytes is refused with 413 before and
// after decoding, so a huge payload is never decoded in full.
func Body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBodyBytes {
			return nil, tooLarge()
		}
		return []byte(req.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBodyBytes+3 {
		return nil, tooLarge()
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidEncoding, Message: "request body is not valid base64"}
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge()
	}
	return b, nil
}

func tooLarge() *Error {
	return &Error{
		Status:  http.StatusRequestEntityTooLarge,
		Code:    CodeBodyTooLarge,
		Message: fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes),
	}
}

// DecodeRequest reads the request body (see Body) and decodes it strictly
// into v (see Decode).
func DecodeRequest(req events.APIGatewayV2HTTPRequest, v any) error {
	b, err := Body(req)
	if err != nil {
		return err
	}
	return Decode(b, v)
}

// Decode decodes body strictly into v, which must be a pointer to a struct.
// The body must be valid UTF-8 holding exactly one JSON object; every key
// must match a field's JSON name exactly (encoding/json alone would accept
// "PROMPT" for "prompt") and appear once per object; every value must have
// the field's type. Any violation is an *Error with status 400 (413 for
// size) naming the offending field as a dotted path, e.g.
// "input_references[0].image_url.url". Nothing is partially applied: on
// error v must be discarded.
func Decode(body []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("httpapi decode: target must be a non-nil pointer, got %T", v)
	}
	if len(body) > MaxBodyBytes {
		return tooLarge()
	}
	if !utf8.Valid(body) {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidEncoding, Message: "request body is not valid UTF-8"}
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return &Error{Status: http.StatusBadRequest, Code: CodeBodyRequired, Message: "request body is required: a JSON object"}
	}
	if trimmed[0] != '{' {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body must be a JSON object"}
	}
	// Pass 1: syntax, a single value, exact and unique keys. encoding/json
	// matches names case-insensitively and lets a repeated key win
	// silently; both would let two different-looking bodies mean the same
	// request (or the same-looking body mean two), which the idempotency
	// fingerprint must not see.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	paths := map[int64]string{}
	if err := checkValue(dec, rv.Type().Elem(), "", paths); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body must contain a single JSON object"}
	}
	// Pass 2: the real decode; types are checked here.
	// UseNumber keeps free-form numbers (provider_params) exact instead of
	// rounding them through float64.
	dec = json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, paths)
	}
	return nil
}

// decodeError turns an encoding/json error into a client-facing *Error.
// paths maps input offsets to field paths (see checkValue): encoding/json
// names a mistyped field without its array indexes, the offset finds it
// exactly.
func decodeError(err error, paths map[int64]string) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if p, ok := paths[te.Offset]; ok && p != "" {
			field = p
		}
		if field == "" {
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidType, Message: "request body must be a JSON object"}
		}
		return &Error{
			Status:  http.StatusBadRequest,
			Code:    CodeInvalidType,
			Field:   field,
			Message: fmt.Sprintf("field %q must be %s, got %s", field, typeName(te.Type), te.Value),
		}
	case errors.As(err, &se):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: fmt.Sprintf("request body is not valid JSON (at byte %d)", se.Offset)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body is truncated JSON"}
	}
	// DisallowUnknownFields reports an unexported error type; pass 1
	// normally catches unknown keys first, this is the backstop.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return unknownField(name)
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body could not be decoded"}
}

func unknownField(path string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeUnknownField, Field: path, Message: fmt.Sprintf("unknown field %q", path)}
}

// typeName describes a Go type in JSON terms for error messages.
func typeName(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return "a valid value"
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// checkValue reads one JSON value from dec, checking object keys against t
// (nil means "any keys allowed", still unique). It records the value's path
// in paths under the input offset just past its first token (the end of a
// scalar, the opening delimiter of a container), which is where
// encoding/json reports a type error for that value.
func checkValue(dec *json.Decoder, t reflect.Type, path string, paths map[int64]string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	paths[dec.InputOffset()] = path
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar; its type is checked by pass 2
	}
	t = structural(t)
	switch delim {
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = fieldsOf(t)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return syntaxError(err)
			}
			key, _ := kt.(string)
			child := joinPath(path, key)
			if seen[key] {
				return &Error{Status: http.StatusBadRequest, Code: CodeDuplicateField, Field: child, Message: fmt.Sprintf("field %q appears more than once", child)}
			}
			seen[key] = true
			var ft reflect.Type
			if fields != nil {
				var ok bool
				if ft, ok = fields[key]; !ok {
					return unknownField(child)
				}
			} else {
				ft = elem
			}
			if err := checkValue(dec, ft, child, paths); err != nil {
				return err
			}
		}
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, elem, path+"["+strconv.Itoa(i)+"]", paths); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return syntaxError(err)
	}
	return nil
}

// structural returns the type whose keys should be checked, or nil when
// the value may hold any keys (interfaces, custom unmarshalers).
func structural(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	pt := reflect.PointerTo(t)
	if t.Implements(unmarshalerType) || pt.Implements(unmarshalerType) ||
		t.Implements(textUnmarshalerType) || pt.Implements(textUnmarshalerType) {
		return nil
	}
	return t
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: fmt.Sprintf("request body is not valid JSON (at byte %d)", se.Offset)}
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "request body is not valid JSON"}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// fieldsOf maps the exact JSON names of a struct's fields to their types,
// following encoding/json's rules for tags, "-" and embedded structs.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range fieldsOf(et) {
					if _, ok := m[k]; !ok {
						m[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
