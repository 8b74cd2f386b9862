package localstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Route maps an HTTP API route to a function. Path segments written {name}
// match one segment and become path parameters.
type Route struct {
	Method   string // "GET", "POST", … or "ANY"
	Path     string // e.g. "/jobs/{id}"
	Function string
	// IAM marks a route that uses IAM authorization in the deployed API; the
	// front does not check signatures but fills requestContext.authorizer.iam
	// as API Gateway does after a successful check.
	IAM bool
}

// Key is the route key as API Gateway writes it: "GET /jobs/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// DefaultRoutes is the videojobs HTTP API (design.md §4).
func DefaultRoutes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/jobs", Function: "submit", IAM: true},
		{Method: http.MethodGet, Path: "/jobs", Function: "jobs", IAM: true},
		{Method: http.MethodGet, Path: "/jobs/{id}", Function: "jobs", IAM: true},
		{Method: http.MethodGet, Path: "/jobs/{id}/download-url", Function: "jobs", IAM: true},
		{Method: http.MethodPost, Path: "/jobs/{id}/cancel", Function: "jobs", IAM: true},
		{Method: http.MethodPost, Path: "/webhooks/ai-stats", Function: "webhook"},
	}
}

// FunctionSource finds the invoker of a function by name. [LambdaFront]
// satisfies it, so both fronts share one registry.
type FunctionSource interface {
	Function(name string) (Invoker, bool)
}

var _ FunctionSource = (*LambdaFront)(nil)

// APIFrontOptions configures [NewAPIFront].
type APIFrontOptions struct {
	// MaxBody is the request payload limit; default 10 MB, API Gateway's.
	MaxBody int64
	// IntegrationTimeout bounds one function call; default 30 s, HTTP API's
	// maximum integration timeout.
	IntegrationTimeout time.Duration
	// AlwaysBase64 sends every non-empty body base64-encoded, so handlers can
	// be exercised on that path too; by default only bodies that are not
	// UTF-8 text are encoded.
	AlwaysBase64 bool
	// AccountID fills requestContext.accountId; default 123456789012.
	AccountID string
	Log       *slog.Logger
}

// APIFront turns HTTP requests into API Gateway HTTP API payload 2.0 events
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
// invokes the routed function and writes its response back.
type APIFront struct {
	routes []compiledRoute
	fns    FunctionSource
	opts   APIFrontOptions
}

type compiledRoute struct {
	Route
	segments []string
}

// NewAPIFront returns a front serving routes with functions from fns.
func NewAPIFront(routes []Route, fns FunctionSource, opts APIFrontOptions) *APIFront {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 10 * 1024 * 1024
	}
	if opts.IntegrationTimeout <= 0 {
		opts.IntegrationTimeout = 30 * time.Second
	}
	if opts.AccountID == "" {
		opts.AccountID = AccountID
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	f := &APIFront{fns: fns, opts: opts}
	for _, r := range routes {
		f.routes = append(f.routes, compiledRoute{Route: r, segments: splitPath(r.Path)})
	}
	return f
}

func splitPath(p string) []string { return strings.Split(strings.TrimPrefix(p, "/"), "/") }

// match finds the route for method and path; literal segments win over
// parameters, as in API Gateway's route selection.
func (f *APIFront) match(method, path string) (*compiledRoute, map[string]string) {
	segs := splitPath(path)
	var best *compiledRoute
	var bestParams map[string]string
	bestLiterals := -1
	for i := range f.routes {
		r := &f.routes[i]
		if r.Method != method && r.Method != "ANY" {
			continue
		}
		if len(r.segments) != len(segs) {
			continue
		}
		params := map[string]string{}
		literals := 0
		ok := true
		for j, s := range r.segments {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				if segs[j] == "" {
					ok = false
					break
				}
				v, err := url.PathUnescape(segs[j])
				if err != nil {
					ok = false
					break
				}
				params[s[1:len(s)-1]] = v
				continue
			}
			if s != segs[j] {
				ok = false
				break
			}
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestParams, bestLiterals = r, params, literals
		}
	}
	if best != nil && len(bestParams) == 0 {
		bestParams = nil
	}
	return best, bestParams
}

func (f *APIFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	w.Header().Set("Apigw-Requestid", requestID)

	route, params := f.match(r.Method, r.URL.EscapedPath())
	if route == nil {
		writeGatewayMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.ContentLength > f.opts.MaxBody {
		writeGatewayMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, f.opts.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeGatewayMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		writeGatewayMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	inv, ok := f.fns.Function(route.Function)
	if !ok {
		f.opts.Log.Warn("route has no function", "route", route.Key(), "function", route.Function)
		writeGatewayMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}

	event := f.event(r, route, params, body, requestID)
	payload, err := json.Marshal(event)
	if err != nil {
		writeGatewayMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.opts.IntegrationTimeout)
	defer cancel()
	resp, err := inv.Invoke(ctx, payload)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		writeGatewayMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case err != nil:
		f.opts.Log.Warn("invoke failed", "route", route.Key(), "function", route.Function, "err", err)
		writeGatewayMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	case resp.FunctionError != "":
		writeGatewayMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeFunctionResponse(w, resp.Payload)
}

// event builds the payload 2.0 event for r.
func (f *APIFront) event(r *http.Request, route *compiledRoute, params map[string]string, body []byte, requestID string) events.APIGatewayV2HTTPRequest {
	now := time.Now().UTC()
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}

	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lname := strings.ToLower(name)
		if lname == "cookie" {
			// Payload 2.0 moves cookies out of the headers into their own field.
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lname] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	headers["x-forwarded-for"] = sourceIP
	headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	}
	if _, ok := headers["x-amzn-trace-id"]; !ok {
		headers["x-amzn-trace-id"] = "Root=1-" + strconv.FormatInt(now.Unix(), 16) + "-" + requestID[:24]
	}

	var query map[string]string
	if r.URL.RawQuery != "" {
		values, _ := url.ParseQuery(r.URL.RawQuery)
		query = make(map[string]string, len(values))
		for k, vs := range values {
			query[k] = strings.Join(vs, ",")
		}
	}

	domain, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		domain = r.Host
	}
	domainPrefix, _, _ := strings.Cut(domain, ".")

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    f.opts.AccountID,
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   domain,
			DomainPrefix: domainPrefix,
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if route.IAM {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
				AccessKey: "AKIALOCALSTACK000000",
				AccountID: f.opts.AccountID,
				CallerID:  "AIDALOCALSTACK000000",
				UserARN:   "arn:aws:iam::" + f.opts.AccountID + ":user/local",
				UserID:    "AIDALOCALSTACK000000",
			},
		}
	}
	if len(body) > 0 {
		if f.opts.AlwaysBase64 || !isText(r.Header.Get("Content-Type"), body) {
			// The function must see the exact bytes (webhook signatures are
			// computed over them), and a JSON string cannot carry invalid UTF-8.
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		} else {
			ev.Body = string(body)
		}
	}
	return ev
}

// isText reports whether a body can travel as a JSON string unchanged:
// valid UTF-8 with a textual (or absent) content type.
func isText(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/x-www-form-urlencoded",
		mt == "application/javascript":
		return true
	}
	return false
}

// writeFunctionResponse applies payload 2.0 response rules: a JSON object
// with statusCode is a structured response; anything else is a 200 JSON body.
func writeFunctionResponse(w http.ResponseWriter, payload []byte) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(payload, &probe); err != nil || probe["statusCode"] == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		writeGatewayMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			writeGatewayMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		body = decoded
	}
	h := w.Header()
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Del("Content-Length")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// writeGatewayMessage writes API Gateway's own error shape.
func writeGatewayMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
