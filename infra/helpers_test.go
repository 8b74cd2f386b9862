package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestMain closes the jsii runtime (a node child process) after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	for _, d := range sharedDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// sharedDirs are output directories of stacks shared between tests, removed
// after every test has run.
var sharedDirs []string

// sharedDir makes an output directory that outlives the test creating it.
func sharedDir() string {
	d, err := os.MkdirTemp("", "videojobs-infra-")
	if err != nil {
		panic(err)
	}
	sharedDirs = append(sharedDirs, d)
	return d
}

// check runs CDK assertions, which panic on failure, and turns the panic
// into a test failure with the assertion's message.
func check(t *testing.T, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("CDK assertion failed: %v", r)
		}
	}()
	assertion()
}

// synthesized is one synthesized stack: the CDK objects for assertions and
// the template as plain JSON for walking.
type synthesized struct {
	stack    *Stack
	template assertions.Template
	json     map[string]any
}

var (
	sharedOnce sync.Once
	shared     *synthesized
	sharedErr  error
)

// defaultStack synthesizes the stack with default settings once per test
// binary (a synth takes seconds; the tests only read it).
func defaultStack(t *testing.T) *synthesized {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = synth(sharedDir(), nil, nil) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// synth builds an app the way `cdk synth` does: the feature flags from the
// repo's cdk.json, extra context, placeholder function binaries, and the
// real workflow definition when it exists (else a fixture). mutate, when
// set, changes the stack before synthesis.
func synth(dir string, context map[string]any, mutate func(*Stack)) (s *synthesized, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synth panicked: %v", r)
		}
	}()
	ctx, err := cdkJSONContext()
	if err != nil {
		return nil, err
	}
	assets, err := placeholderAssets(dir)
	if err != nil {
		return nil, err
	}
	// The CLI sets this; tests find resources by their construct path.
	ctx["aws:cdk:enable-path-metadata"] = true
	ctx["assetRoot"] = assets
	ctx["workflowDefinition"] = workflowDefinitionForTests()
	for k, v := range context {
		ctx[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &ctx,
		Outdir:  jsii.String(filepath.Join(dir, "cdk.out")),
	})
	stack, err := build(app)
	if err != nil {
		return nil, err
	}
	if mutate != nil {
		mutate(stack)
	}
	tmpl := assertions.Template_FromStack(stack.Stack, nil)
	raw, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return nil, fmt.Errorf("marshal template: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("unmarshal template: %w", err)
	}
	return &synthesized{stack: stack, template: tmpl, json: m}, nil
}

// cdkJSONContext returns the "context" block of the repo's cdk.json.
func cdkJSONContext() (map[string]any, error) {
	raw, err := os.ReadFile("../cdk.json")
	if err != nil {
		return nil, fmt.Errorf("read cdk.json: %w", err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse cdk.json: %w", err)
	}
	if doc.Context == nil {
		doc.Context = map[string]any{}
	}
	return doc.Context, nil
}

// placeholderAssets writes a stand-in bootstrap per function, so the tests
// need no Lambda build.
func placeholderAssets(dir string) (string, error) {
	root := filepath.Join(dir, "bin")
	for _, fn := range FunctionNames {
		if err := os.MkdirAll(filepath.Join(root, fn), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(root, fn, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			return "", err
		}
	}
	return root, nil
}

// workflowDefinitionForTests prefers the repo's real definition, so the
// tests also check that it carries the placeholders the stack substitutes.
func workflowDefinitionForTests() string {
	const real = "../workflow/job.asl.json"
	if _, err := os.Stat(real); err == nil {
		return real
	}
	return "testdata/job.asl.json"
}

// resources returns the template's resources of one type, by logical ID.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// props returns a resource's Properties.
func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

// cdkPath is the construct path CDK records in each resource's metadata.
func cdkPath(res map[string]any) string {
	md, _ := res["Metadata"].(map[string]any)
	p, _ := md["aws:cdk:path"].(string)
	return p
}

// functionsByName maps short function names to their template resources.
func (s *synthesized) functionsByName(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, res := range s.resources("AWS::Lambda::Function") {
		path := cdkPath(res)
		for _, n := range FunctionNames {
			if path == fmt.Sprintf("%s/Functions/%s/Resource", *s.stack.StackName(), exportName(n)) {
				out[n] = res
			}
		}
	}
	if len(out) != len(FunctionNames) {
		t.Fatalf("found functions %v, want %v", keys(out), FunctionNames)
	}
	return out
}

// ref returns the logical ID a {"Ref": id} or {"Fn::GetAtt": [id, attr]}
// points to, or "".
func ref(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		id, _ := ga[0].(string)
		return id
	}
	return ""
}

// asList normalises IAM's "string or list" fields.
func asList(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case nil:
		return nil
	default:
		return []any{t}
	}
}

// render flattens a CloudFormation value (string, Ref, GetAtt, Join) into
// a readable string, with <LogicalId> / <LogicalId.Attr> for references.
func render(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		if r, ok := t["Ref"].(string); ok {
			return "<" + r + ">"
		}
		if ga, ok := t["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return fmt.Sprintf("<%v.%v>", ga[0], ga[1])
		}
		if j, ok := t["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range asList(j[1]) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, fmt.Sprint(j[0]))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
