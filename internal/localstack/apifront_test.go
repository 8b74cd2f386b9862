package localstack_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/videojobs/videojobs/internal/localstack"
)

// startEcho runs echofn under the real RIE and serves DefaultRoutes plus a
// failing route through an API front.
func startEcho(t *testing.T, opts localstack.APIFrontOptions) (*httptest.Server, *localstack.RIE) {
	t.Helper()
	bin := rieBin(t)
	rie, err := localstack.StartRIE(context.Background(), localstack.RIEOptions{
		Bin: bin, Name: "echo", Bootstrap: echoBootstrap(t), LogDir: t.TempDir(),
		Env: []string{"ECHO_GREETING=hello"},
	})
	if err != nil {
		t.Fatalf("start rie: %v", err)
	}
	t.Cleanup(rie.Close)
	fns := localstack.NewLambdaFront(nil)
	for _, name := range []string{"submit", "jobs", "webhook"} {
		fns.Register(name, rie)
	}
	fns.Register("boom", localstack.HandlerFunc(func(context.Context, []byte) ([]byte, error) {
		return nil, errors.New("boom")
	}))
	routes := append(localstack.DefaultRoutes(), localstack.Route{Method: "POST", Path: "/boom", Function: "boom"})
	srv := httptest.NewServer(localstack.NewAPIFront(routes, fns, opts))
	t.Cleanup(srv.Close)
	return srv, rie
}

// echoed decodes the event echofn sends back as its response body.
func echoed(t *testing.T, resp *http.Response) events.APIGatewayV2HTTPRequest {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("response is not an event: %v: %s", err, body)
	}
	return ev
}

func TestAPIFrontBuildsV2Events(t *testing.T) {
	srv, _ := startEcho(t, localstack.APIFrontOptions{})
	binary := []byte{0xff, 0xfe, 0x00, 'a', 0x80}
	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        []byte
		headers     map[string][]string
		// want
		routeKey   string
		rawQuery   string
		query      map[string]string
		pathParams map[string]string
		cookies    []string
		base64     bool
		iam        bool
	}{
		{
			name:        "signed webhook keeps its bytes and headers",
			method:      "POST",
			target:      "/webhooks/ai-stats?job=vj_01hzy&a=1&a=2",
			contentType: "application/json",
			body:        []byte(`{"id":"evt_1","type":"video.completed","note":"ünïcödé"}`),
			headers: map[string][]string{
				"X-Ai-Stats-Signature": {"abc123"},
				"X-Ai-Stats-Timestamp": {"1781712000"},
				"X-Multi":              {"one", "two"},
				"Cookie":               {"a=1; b=2"},
			},
			routeKey: "POST /webhooks/ai-stats",
			rawQuery: "job=vj_01hzy&a=1&a=2",
			query:    map[string]string{"job": "vj_01hzy", "a": "1,2"},
			cookies:  []string{"a=1", "b=2"},
		},
		{
			name:       "job route has path parameters and IAM identity",
			method:     "GET",
			target:     "/jobs/vj_01hzy",
			routeKey:   "GET /jobs/{id}",
			pathParams: map[string]string{"id": "vj_01hzy"},
			iam:        true,
		},
		{
			name:       "literal segment after a parameter",
			method:     "GET",
			target:     "/jobs/vj_01hzy/download-url",
			routeKey:   "GET /jobs/{id}/download-url",
			pathParams: map[string]string{"id": "vj_01hzy"},
			iam:        true,
		},
		{
			name:     "list route with query",
			method:   "GET",
			target:   "/jobs?state=queued&limit=5",
			routeKey: "GET /jobs",
			rawQuery: "state=queued&limit=5",
			query:    map[string]string{"state": "queued", "limit": "5"},
			iam:      true,
		},
		{
			name:        "binary body travels base64-encoded",
			method:      "POST",
			target:      "/webhooks/ai-stats",
			contentType: "application/octet-stream",
			body:        binary,
			routeKey:    "POST /webhooks/ai-stats",
			base64:      true,
		},
		{
			name:        "invalid UTF-8 in a JSON body travels base64-encoded",
			method:      "POST",
			target:      "/jobs",
			contentType: "application/json",
			body:        []byte("{\"prompt\":\"\xff\"}"),
			routeKey:    "POST /jobs",
			base64:      true,
			iam:         true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.target, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			for k, vs := range tt.headers {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			ev := echoed(t, resp)

			path, _, _ := strings.Cut(tt.target, "?")
			if ev.Version != "2.0" || ev.RouteKey != tt.routeKey || ev.RequestContext.RouteKey != tt.routeKey {
				t.Errorf("version, routeKey = %q, %q, %q; want 2.0, %q", ev.Version, ev.RouteKey, ev.RequestContext.RouteKey, tt.routeKey)
			}
			if ev.RawPath != path || ev.RequestContext.HTTP.Path != path || ev.RequestContext.HTTP.Method != tt.method {
				t.Errorf("rawPath, http = %q, %+v; want %s %s", ev.RawPath, ev.RequestContext.HTTP, tt.method, path)
			}
			if ev.RawQueryString != tt.rawQuery {
				t.Errorf("rawQueryString = %q, want %q", ev.RawQueryString, tt.rawQuery)
			}
			if diff := cmp.Diff(ev.QueryStringParameters, tt.query); diff != "" {
				t.Errorf("queryStringParameters (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(ev.PathParameters, tt.pathParams); diff != "" {
				t.Errorf("pathParameters (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(ev.Cookies, tt.cookies); diff != "" {
				t.Errorf("cookies (-got +want):\n%s", diff)
			}
			if ev.RequestContext.HTTP.SourceIP != "127.0.0.1" || ev.RequestContext.RequestID == "" || ev.RequestContext.Stage != "$default" {
				t.Errorf("requestContext = %+v", ev.RequestContext)
			}
			if got := ev.RequestContext.Authorizer != nil && ev.RequestContext.Authorizer.IAM != nil; got != tt.iam {
				t.Errorf("IAM authorizer present = %v, want %v", got, tt.iam)
			}
			for k, vs := range tt.headers {
				if strings.EqualFold(k, "cookie") {
					if _, ok := ev.Headers["cookie"]; ok {
						t.Error("cookie header not moved to cookies")
					}
					continue
				}
				if got, want := ev.Headers[strings.ToLower(k)], strings.Join(vs, ","); got != want {
					t.Errorf("header %s = %q, want %q", strings.ToLower(k), got, want)
				}
			}
			for k := range ev.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header %q not lowercased", k)
				}
			}

			if ev.IsBase64Encoded != tt.base64 {
				t.Errorf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tt.base64)
			}
			got := []byte(ev.Body)
			if ev.IsBase64Encoded {
				if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
					t.Fatalf("body is not base64: %v", err)
				}
			}
			if !bytes.Equal(got, tt.body) {
				t.Errorf("body bytes = %q, want %q", got, tt.body)
			}
		})
	}
}

func TestAPIFrontAlwaysBase64(t *testing.T) {
	srv, _ := startEcho(t, localstack.APIFrontOptions{AlwaysBase64: true})
	body := `{"id":"evt_1"}`
	resp, err := http.Post(srv.URL+"/webhooks/ai-stats", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ev := echoed(t, resp)
	got, err := base64.StdEncoding.DecodeString(ev.Body)
	if !ev.IsBase64Encoded || err != nil || string(got) != body {
		t.Errorf("body = %q (base64 %v, %v), want base64 of %q", ev.Body, ev.IsBase64Encoded, err, body)
	}
}

func TestAPIFrontResponses(t *testing.T) {
	srv, _ := startEcho(t, localstack.APIFrontOptions{MaxBody: 1 << 20})
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	tests := []struct {
		name        string
		method      string
		target      string
		body        io.Reader
		wantStatus  int
		wantBody    []byte // nil: not checked
		wantHeader  map[string]string
		wantCookies []string
	}{
		{
			name: "function status, headers and cookies", method: "POST", target: "/jobs?status=202",
			wantStatus:  http.StatusAccepted,
			wantHeader:  map[string]string{"X-Echo": "1", "Content-Type": "application/json"},
			wantCookies: []string{"session=abc; Path=/", "theme=dark"},
		},
		{
			name: "base64 response body is decoded", method: "GET", target: "/jobs?binary=1",
			wantStatus: http.StatusOK, wantBody: allBytes,
			wantHeader: map[string]string{"Content-Type": "application/octet-stream"},
		},
		{
			name: "unknown route", method: "GET", target: "/nope",
			wantStatus: http.StatusNotFound, wantBody: []byte(`{"message":"Not Found"}` + "\n"),
		},
		{
			name: "wrong method", method: "DELETE", target: "/jobs/vj_1",
			wantStatus: http.StatusNotFound,
		},
		{
			name: "payload over the limit", method: "POST", target: "/webhooks/ai-stats",
			body:       bytes.NewReader(make([]byte, 1<<20+1)),
			wantStatus: http.StatusRequestEntityTooLarge, wantBody: []byte(`{"message":"Request Entity Too Large"}` + "\n"),
		},
		{
			name: "chunked payload over the limit", method: "POST", target: "/webhooks/ai-stats",
			body:       io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), strings.NewReader("x")),
			wantStatus: http.StatusRequestEntityTooLarge,
		},
		{
			name: "function error", method: "POST", target: "/boom",
			wantStatus: http.StatusInternalServerError, wantBody: []byte(`{"message":"Internal Server Error"}` + "\n"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.target, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantBody != nil && !bytes.Equal(body, tt.wantBody) {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if diff := cmp.Diff(resp.Header.Values("Set-Cookie"), tt.wantCookies); tt.wantCookies != nil && diff != "" {
				t.Errorf("Set-Cookie (-got +want):\n%s", diff)
			}
		})
	}
}
