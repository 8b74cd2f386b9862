package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/google/go-cmp/cmp"
)

func TestFunctionsRunOnProvidedAL2023Arm64(t *testing.T) {
	s := defaultStack(t)
	for name, fn := range s.functionsByName(t) {
		t.Run(name, func(t *testing.T) {
			p := props(fn)
			got := map[string]any{
				"Runtime":       p["Runtime"],
				"Architectures": p["Architectures"],
				"Handler":       p["Handler"],
				"LogFormat":     p["LoggingConfig"].(map[string]any)["LogFormat"],
				"LogGroup":      ref(p["LoggingConfig"].(map[string]any)["LogGroup"]) != "",
				"Tracing":       p["TracingConfig"].(map[string]any)["Mode"],
			}
			want := map[string]any{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"LogFormat":     "JSON",
				"LogGroup":      true,
				"Tracing":       "Active",
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("function settings (-got +want):\n%s", diff)
			}
		})
	}
	// The same through the CDK assertions API, with its own matcher.
	check(t, func() {
		s.template.ResourcePropertiesCountIs(strPtr("AWS::Lambda::Function"), map[string]any{
			"Runtime":       "provided.al2023",
			"Architectures": []any{"arm64"},
			"Handler":       "bootstrap",
		}, floatPtr(5))
	})
}

func TestFunctionSizing(t *testing.T) {
	s := defaultStack(t)
	fns := s.functionsByName(t)
	store := props(fns["store"])
	if got := store["Timeout"].(float64); got != 900 {
		t.Errorf("store timeout = %v s, want 900 (a whole video is streamed)", got)
	}
	if got := store["MemorySize"].(float64); got < 1024 {
		t.Errorf("store memory = %v MB, want >= 1024", got)
	}
	for _, n := range []string{"submit", "webhook", "jobs"} {
		if got := props(fns[n])["Timeout"].(float64); got >= 30 {
			t.Errorf("%s timeout = %v s, want < 30 (HTTP API integration limit)", n, got)
		}
	}
	for _, n := range []string{"store", "watch"} {
		if _, ok := props(fns[n])["ReservedConcurrentExecutions"]; !ok {
			t.Errorf("%s has no reserved concurrency; it protects the gateway", n)
		}
	}
}

func TestAsyncInvocationsHaveOnFailureDestination(t *testing.T) {
	s := defaultStack(t)
	queues := s.resources("AWS::SQS::Queue")
	configs := s.resources("AWS::Lambda::EventInvokeConfig")
	covered := map[string]bool{}
	for _, c := range configs {
		p := props(c)
		dest := ref(p["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)["Destination"])
		if _, ok := queues[dest]; !ok {
			t.Errorf("on-failure destination %q is not a queue of this stack", dest)
		}
		covered[ref(p["FunctionName"])] = true
	}
	for name, fn := range s.functionsByName(t) {
		for id, r := range s.resources("AWS::Lambda::Function") {
			if cdkPath(r) == cdkPath(fn) && !covered[id] {
				t.Errorf("%s has no on-failure destination for asynchronous invocations", name)
			}
		}
	}
	for id, q := range queues {
		if props(q)["SqsManagedSseEnabled"] != true {
			t.Errorf("queue %s is not encrypted", id)
		}
	}
	check(t, func() {
		s.template.HasResourceProperties(strPtr("AWS::SQS::QueuePolicy"), map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Deny",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				}),
			})},
		})
	})
}

// internalsEnv reads the "Function configuration" table of
// docs/internals.md: which function reads which variable.
func internalsEnv(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("../docs/internals.md")
	if err != nil {
		t.Fatalf("open docs/internals.md: %v", err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `([A-Z0-9_]+)` \\| ([^|]+) \\|")
	want := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		users := strings.TrimSpace(m[2])
		names := FunctionNames
		if users != "all five" {
			names = nil
			for _, u := range strings.Split(users, ",") {
				names = append(names, strings.TrimSpace(u))
			}
		}
		for _, n := range names {
			want[n] = append(want[n], m[1])
		}
	}
	if len(want) == 0 {
		t.Fatal("docs/internals.md: no environment variable table found")
	}
	for n := range want {
		sort.Strings(want[n])
	}
	return want
}

func TestFunctionEnvironmentMatchesInternals(t *testing.T) {
	s := defaultStack(t)
	want := internalsEnv(t)
	for name, fn := range s.functionsByName(t) {
		vars := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
		got := keys(vars)
		if diff := cmp.Diff(got, want[name]); diff != "" {
			t.Errorf("%s environment (-got +want):\n%s", name, diff)
		}
	}
}

func TestWebhookBaseURLIsTheAPIEndpoint(t *testing.T) {
	s := defaultStack(t)
	vars := props(s.functionsByName(t)["submit"])["Environment"].(map[string]any)["Variables"].(map[string]any)
	apis := s.resources("AWS::ApiGatewayV2::Api")
	got := vars["WEBHOOK_BASE_URL"].(map[string]any)["Fn::GetAtt"].([]any)
	if _, ok := apis[got[0].(string)]; !ok || got[1] != "ApiEndpoint" {
		t.Errorf("WEBHOOK_BASE_URL = %v, want the HTTP API's ApiEndpoint", got)
	}
	machines := s.resources("AWS::StepFunctions::StateMachine")
	if _, ok := machines[ref(vars["STATE_MACHINE_ARN"])]; !ok {
		t.Errorf("STATE_MACHINE_ARN = %v, want the job state machine", vars["STATE_MACHINE_ARN"])
	}
}

// routes maps route keys to their Route resources.
func (s *synthesized) routes() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		out[props(r)["RouteKey"].(string)] = r
	}
	return out
}

var jobRouteKeys = []string{"POST /jobs", "GET /jobs", "GET /jobs/{id}", "GET /jobs/{id}/download-url", "POST /jobs/{id}/cancel"}

func TestJobRoutesUseIAMAndWebhookRouteIsOpen(t *testing.T) {
	s := defaultStack(t)
	routes := s.routes()
	var got []string
	for k := range routes {
		got = append(got, k)
	}
	sort.Strings(got)
	want := append([]string{"POST " + WebhookPath}, jobRouteKeys...)
	sort.Strings(want)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Fatalf("routes (-got +want):\n%s", diff)
	}
	for _, k := range jobRouteKeys {
		if got := props(routes[k])["AuthorizationType"]; got != "AWS_IAM" {
			t.Errorf("%s authorization = %v, want AWS_IAM", k, got)
		}
	}
	if got := props(routes["POST "+WebhookPath])["AuthorizationType"]; got != "NONE" {
		t.Errorf("webhook authorization = %v, want NONE (HMAC is verified in the function)", got)
	}
	check(t, func() {
		s.template.ResourceCountIs(strPtr("AWS::ApiGatewayV2::Authorizer"), floatPtr(0))
	})
}

func TestStageThrottlesWebhookAndLogsAccess(t *testing.T) {
	s := defaultStack(t)
	stages := s.resources("AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("got %d stages, want 1", len(stages))
	}
	for _, st := range stages {
		p := props(st)
		if p["StageName"] != "$default" {
			t.Errorf("stage name = %v, want $default (WEBHOOK_BASE_URL has no stage path)", p["StageName"])
		}
		rs := p["RouteSettings"].(map[string]any)["POST "+WebhookPath].(map[string]any)
		if rs["ThrottlingRateLimit"] == nil || rs["ThrottlingBurstLimit"] == nil {
			t.Errorf("webhook route settings %v lack throttling", rs)
		}
		def := p["DefaultRouteSettings"].(map[string]any)
		if def["ThrottlingRateLimit"] == nil {
			t.Errorf("default route settings %v lack throttling", def)
		}
		als := p["AccessLogSettings"].(map[string]any)
		if _, ok := s.resources("AWS::Logs::LogGroup")[ref(als["DestinationArn"])]; !ok {
			t.Errorf("access logs go to %v, want a log group of this stack", als["DestinationArn"])
		}
		var format map[string]string
		if err := json.Unmarshal([]byte(als["Format"].(string)), &format); err != nil {
			t.Errorf("access log format is not JSON: %v", err)
		}
		for _, secretish := range []string{"header", "body", "signature"} {
			if strings.Contains(strings.ToLower(als["Format"].(string)), secretish) {
				t.Errorf("access log format records %q", secretish)
			}
		}
		dependsOn := fmt.Sprint(st["DependsOn"])
		webhookRoute := ""
		for id, r := range s.resources("AWS::ApiGatewayV2::Route") {
			if props(r)["RouteKey"] == "POST "+WebhookPath {
				webhookRoute = id
			}
		}
		if !strings.Contains(dependsOn, webhookRoute) {
			t.Errorf("stage DependsOn %s lacks the webhook route %s (route settings need it)", dependsOn, webhookRoute)
		}
	}
}

func TestJWTAuthorizerAndCORSFromContext(t *testing.T) {
	s, err := synth(t.TempDir(), map[string]any{
		"jwtIssuer":           "https://issuer.example.com/",
		"jwtAudience":         "videojobs-api",
		"allowedOrigins":      []any{"https://app.example.com"},
		"alarmEmail":          "ops@example.com",
		"reservedConcurrency": "false",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	routes := s.routes()
	for _, k := range jobRouteKeys {
		if got := props(routes[k])["AuthorizationType"]; got != "JWT" {
			t.Errorf("%s authorization = %v, want JWT", k, got)
		}
	}
	if got := props(routes["POST "+WebhookPath])["AuthorizationType"]; got != "NONE" {
		t.Errorf("webhook authorization = %v, want NONE", got)
	}
	check(t, func() {
		s.template.HasResourceProperties(strPtr("AWS::ApiGatewayV2::Authorizer"), map[string]any{
			"AuthorizerType": "JWT",
			"JwtConfiguration": map[string]any{
				"Issuer":   "https://issuer.example.com/",
				"Audience": []any{"videojobs-api"},
			},
		})
		s.template.HasResourceProperties(strPtr("AWS::ApiGatewayV2::Api"), map[string]any{
			"CorsConfiguration": assertions.Match_ObjectLike(&map[string]any{
				"AllowOrigins": []any{"https://app.example.com"},
			}),
		})
		s.template.HasResourceProperties(strPtr("AWS::SNS::Subscription"), map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com",
		})
	})
	for name, fn := range s.functionsByName(t) {
		if v, ok := props(fn)["ReservedConcurrentExecutions"]; ok {
			t.Errorf("%s reserves %v with reservedConcurrency=false", name, v)
		}
	}
	if errs := nagErrors(s); len(errs) > 0 {
		t.Errorf("JWT variant has unsuppressed cdk-nag findings:\n%s", strings.Join(errs, "\n"))
	}
}

func strPtr(s string) *string     { return &s }
func floatPtr(f float64) *float64 { return &f }

// TestFunctionEnvironmentCoversWhatTheCodeReads reads each function's
// source for the variables its loadConfig asks for, so a variable added to
// a function but not to the stack fails here rather than at cold start.
func TestFunctionEnvironmentCoversWhatTheCodeReads(t *testing.T) {
	s := defaultStack(t)
	read := regexp.MustCompile(`getenv(?:\(|, )"([A-Z][A-Z0-9_]+)"`)
	for name, fn := range s.functionsByName(t) {
		t.Run(name, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join("..", "functions", name, "*.go"))
			if err != nil || len(files) == 0 {
				t.Skipf("functions/%s source absent; nothing to compare", name)
			}
			vars := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
			var found int
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range read.FindAllStringSubmatch(string(src), -1) {
					found++
					if _, ok := vars[m[1]]; !ok {
						t.Errorf("%s reads %s, which the stack does not set", f, m[1])
					}
				}
			}
			if found == 0 {
				t.Errorf("found no getenv calls in functions/%s; the pattern is stale", name)
			}
		})
	}
}
