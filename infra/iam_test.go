package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// policyDocuments returns every policy document in the template (identity
// policies, inline role policies, and resource policies) by a readable
// location.
func (s *synthesized) policyDocuments() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		p := props(res)
		if doc, ok := p["PolicyDocument"].(map[string]any); ok {
			out[id] = doc
		}
		for i, pol := range asList(p["Policies"]) {
			if doc, ok := pol.(map[string]any)["PolicyDocument"].(map[string]any); ok {
				out[id+"/Policies/"+string(rune('0'+i))] = doc
			}
		}
		if doc, ok := p["AssumeRolePolicyDocument"].(map[string]any); ok {
			out[id+"/AssumeRolePolicyDocument"] = doc
		}
		if doc, ok := p["KeyPolicy"].(map[string]any); ok {
			out[id+"/KeyPolicy"] = doc
		}
	}
	return out
}

func TestNoWildcardActions(t *testing.T) {
	s := defaultStack(t)
	docs := s.policyDocuments()
	if len(docs) < 10 {
		t.Fatalf("found only %d policy documents; the walk is broken", len(docs))
	}
	for loc, doc := range docs {
		for _, st := range asList(doc["Statement"]) {
			stmt := st.(map[string]any)
			if _, ok := stmt["NotAction"]; ok {
				t.Errorf("%s: NotAction grants everything else", loc)
			}
			// A Deny may name every action: enforceSSL denies s3:* / sqs:*
			// without TLS, which only ever takes permissions away.
			if stmt["Effect"] == "Deny" {
				continue
			}
			for _, a := range asList(stmt["Action"]) {
				if strings.Contains(a.(string), "*") {
					t.Errorf("%s: wildcard action %q", loc, a)
				}
			}
		}
	}
}

// TestResourceWildcardOnlyWhereAWSRequiresIt backs the cdk-nag IAM5
// suppressions: they accept Resource "*" on the function and state machine
// roles, which would also hide a new "*" statement there; this test does not.
func TestResourceWildcardOnlyWhereAWSRequiresIt(t *testing.T) {
	s := defaultStack(t)
	// Actions without resource-level permissions (Service Authorization
	// Reference: X-Ray; CloudWatch Logs vended log delivery).
	allowed := map[string]bool{
		"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true,
		"xray:GetSamplingRules": true, "xray:GetSamplingTargets": true,
		"logs:CreateLogDelivery": true, "logs:GetLogDelivery": true, "logs:UpdateLogDelivery": true,
		"logs:DeleteLogDelivery": true, "logs:ListLogDeliveries": true, "logs:PutResourcePolicy": true,
		"logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
	}
	for id, pol := range s.resources("AWS::IAM::Policy") {
		for _, st := range asList(props(pol)["PolicyDocument"].(map[string]any)["Statement"]) {
			stmt := st.(map[string]any)
			wildcard := false
			for _, r := range asList(stmt["Resource"]) {
				if r == "*" {
					wildcard = true
				}
			}
			if !wildcard {
				continue
			}
			for _, a := range asList(stmt["Action"]) {
				if !allowed[a.(string)] {
					t.Errorf("%s: %v on Resource \"*\"", id, a)
				}
			}
		}
	}
}

// grants is what one role may do: action → rendered resources.
type grants map[string][]string

// roleGrants collects the Allow statements of every policy attached to the
// role of each function.
func (s *synthesized) roleGrants(t *testing.T) map[string]grants {
	t.Helper()
	out := map[string]grants{}
	policies := s.resources("AWS::IAM::Policy")
	for name, fn := range s.functionsByName(t) {
		role := ref(props(fn)["Role"])
		g := grants{}
		for _, pol := range policies {
			p := props(pol)
			attached := false
			for _, r := range asList(p["Roles"]) {
				if ref(r) == role {
					attached = true
				}
			}
			if !attached {
				continue
			}
			for _, st := range asList(p["PolicyDocument"].(map[string]any)["Statement"]) {
				stmt := st.(map[string]any)
				if stmt["Effect"] != "Allow" {
					continue
				}
				for _, a := range asList(stmt["Action"]) {
					for _, r := range asList(stmt["Resource"]) {
						g[a.(string)] = append(g[a.(string)], render(r))
					}
				}
			}
		}
		for a := range g {
			sort.Strings(g[a])
		}
		out[name] = g
	}
	return out
}

func TestEachFunctionHasOnlyTheActionsItCalls(t *testing.T) {
	s := defaultStack(t)
	// Every function writes its own logs, traces, and parks failed async
	// invocations in the DLQ.
	platform := []string{"logs:CreateLogStream", "logs:PutLogEvents",
		"xray:PutTelemetryRecords", "xray:PutTraceSegments",
		"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}
	// internal/jobstore's calls: GetItem, PutItem (conditional puts and
	// TransactWriteItems of puts); Query only on the byState index.
	rw := []string{"dynamodb:GetItem", "dynamodb:PutItem"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		sort.Strings(out)
		return out
	}
	want := map[string][]string{
		"submit":  cat(platform, rw, []string{"secretsmanager:GetSecretValue", "states:StartExecution"}),
		"webhook": cat(platform, rw, []string{"secretsmanager:GetSecretValue", "states:SendTaskFailure", "states:SendTaskSuccess"}),
		"watch":   cat(platform, rw, []string{"secretsmanager:GetSecretValue", "states:SendTaskFailure", "states:SendTaskSuccess"}),
		"store": cat(platform, rw, []string{"secretsmanager:GetSecretValue",
			"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"}),
		"jobs": cat(platform, rw, []string{"dynamodb:Query", "secretsmanager:GetSecretValue", "s3:GetObject"}),
	}
	got := map[string][]string{}
	for name, g := range s.roleGrants(t) {
		got[name] = keys(g)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("actions per function (-got +want):\n%s", diff)
	}
}

func TestGrantsNameExactResources(t *testing.T) {
	s := defaultStack(t)
	g := s.roleGrants(t)
	var sm, apiKey, master string
	for id := range s.resources("AWS::StepFunctions::StateMachine") {
		sm = "<" + id + ">"
	}
	for id, r := range s.resources("AWS::SecretsManager::Secret") {
		if strings.Contains(cdkPath(r), "ApiKey") {
			apiKey = "<" + id + ">"
		} else {
			master = "<" + id + ">"
		}
	}
	objects := "<" + VideoBucketLogicalID + ".Arn>/videos/*"
	staging := "<" + VideoBucketLogicalID + ".Arn>/staging/videos/*"
	table := "<" + TableLogicalID + ".Arn>"
	tests := []struct {
		fn, action string
		want       []string
	}{
		{"submit", "states:StartExecution", []string{sm}},
		{"webhook", "states:SendTaskSuccess", []string{sm}},
		{"watch", "states:SendTaskSuccess", []string{sm}},
		{"webhook", "states:SendTaskFailure", []string{sm}},
		{"watch", "states:SendTaskFailure", []string{sm}},
		{"submit", "secretsmanager:GetSecretValue", sortedCopy(apiKey, master)},
		{"webhook", "secretsmanager:GetSecretValue", sortedCopy(apiKey, master)},
		{"watch", "secretsmanager:GetSecretValue", []string{apiKey}},
		{"store", "secretsmanager:GetSecretValue", []string{apiKey}},
		{"jobs", "secretsmanager:GetSecretValue", []string{apiKey}},
		{"store", "s3:PutObject", sortedCopy(objects, staging)},
		{"store", "s3:AbortMultipartUpload", sortedCopy(objects, staging)},
		{"store", "s3:DeleteObject", []string{staging}},
		{"store", "s3:ListBucket", []string{"<" + VideoBucketLogicalID + ".Arn>"}},
		{"jobs", "s3:GetObject", []string{objects}},
		{"submit", "dynamodb:PutItem", []string{table}},
		{"webhook", "dynamodb:PutItem", []string{table}},
		{"jobs", "dynamodb:Query", []string{table + "/index/byState"}},
		{"jobs", "dynamodb:PutItem", []string{table}},
	}
	for _, tt := range tests {
		t.Run(tt.fn+" "+tt.action, func(t *testing.T) {
			if diff := cmp.Diff(g[tt.fn][tt.action], tt.want); diff != "" {
				t.Errorf("resources (-got +want):\n%s", diff)
			}
		})
	}
}

func TestStateMachineRoleInvokesOnlyWatchAndStore(t *testing.T) {
	s := defaultStack(t)
	var smRole string
	for _, r := range s.resources("AWS::StepFunctions::StateMachine") {
		smRole = ref(props(r)["RoleArn"])
	}
	fns := map[string]string{}
	for id, r := range s.resources("AWS::Lambda::Function") {
		fns[cdkPath(r)] = id
	}
	got := map[string][]string{}
	for _, pol := range s.resources("AWS::IAM::Policy") {
		p := props(pol)
		if len(asList(p["Roles"])) != 1 || ref(asList(p["Roles"])[0]) != smRole {
			continue
		}
		for _, st := range asList(p["PolicyDocument"].(map[string]any)["Statement"]) {
			stmt := st.(map[string]any)
			for _, a := range asList(stmt["Action"]) {
				if a == "lambda:InvokeFunction" || a == "events:PutEvents" {
					for _, r := range asList(stmt["Resource"]) {
						got[a.(string)] = append(got[a.(string)], render(r))
					}
				}
			}
		}
	}
	stack := *s.stack.StackName()
	var bus string
	for id := range s.resources("AWS::Events::EventBus") {
		bus = "<" + id + ".Arn>"
	}
	want := map[string][]string{
		"lambda:InvokeFunction": sortedCopy(
			"<"+fns[stack+"/Functions/Watch/Resource"]+".Arn>",
			"<"+fns[stack+"/Functions/Store/Resource"]+".Arn>"),
		"events:PutEvents": {bus},
	}
	for k := range got {
		sort.Strings(got[k])
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("state machine grants (-got +want):\n%s", diff)
	}
}

func sortedCopy(s ...string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
