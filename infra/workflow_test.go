package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

func TestStateMachineFromDefinitionFile(t *testing.T) {
	s := defaultStack(t)
	check(t, func() {
		s.template.HasResourceProperties(strPtr("AWS::StepFunctions::StateMachine"), map[string]any{
			"StateMachineType": "STANDARD",
			// From the file, as an asset, with the three substitutions.
			"DefinitionS3Location": assertions.Match_AnyValue(),
			"DefinitionSubstitutions": map[string]any{
				"WatchFunctionArn": assertions.Match_AnyValue(),
				"StoreFunctionArn": assertions.Match_AnyValue(),
				"EventBusName":     assertions.Match_AnyValue(),
			},
			"LoggingConfiguration": assertions.Match_ObjectLike(&map[string]any{"Level": "ALL"}),
			"TracingConfiguration": map[string]any{"Enabled": true},
		})
		s.template.HasResourceProperties(strPtr("AWS::Events::EventBus"), map[string]any{"Name": "videojobs"})
	})
	for _, r := range s.resources("AWS::StepFunctions::StateMachine") {
		subs := props(r)["DefinitionSubstitutions"].(map[string]any)
		for _, k := range []string{"WatchFunctionArn", "StoreFunctionArn"} {
			ga := subs[k].(map[string]any)["Fn::GetAtt"].([]any)
			fn := s.resources("AWS::Lambda::Function")[ga[0].(string)]
			want := "/Functions/" + strings.TrimSuffix(k, "FunctionArn") + "/Resource"
			if !strings.HasSuffix(cdkPath(fn), want) || ga[1] != "Arn" {
				t.Errorf("%s = %v, want the Arn of %s", k, ga, want)
			}
		}
		logs := props(r)["LoggingConfiguration"].(map[string]any)["Destinations"].([]any)
		lg := ref(logs[0].(map[string]any)["CloudWatchLogsLogGroup"].(map[string]any)["LogGroupArn"])
		if _, ok := s.resources("AWS::Logs::LogGroup")[lg]; !ok {
			t.Errorf("state machine logs to %q, want a log group of this stack", lg)
		}
	}
}

func TestCheckDefinition(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"fixture", "testdata/job.asl.json", ""},
		{"missing file", filepath.Join(dir, "absent.json"), "read workflow definition"},
		{"not JSON", write("bad.json", "{"), "parse workflow definition"},
		{"no states", write("empty.json", `{"StartAt":"A","States":{}}`), "needs StartAt and States"},
		{"StartAt unknown", write("start.json", `{"StartAt":"B","States":{"A":{"Type":"Succeed"}}}`), `StartAt "B" is not a state`},
		{"placeholder missing", write("nobus.json",
			`{"StartAt":"A","States":{"A":{"Type":"Pass","Comment":"${WatchFunctionArn} ${StoreFunctionArn}","End":true}}}`),
			"${EventBusName} is not used"},
	}
	if _, err := os.Stat("../workflow/job.asl.json"); err == nil {
		tests = append(tests, struct {
			name    string
			path    string
			wantErr string
		}{"repo definition", "../workflow/job.asl.json", ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDefinition(tt.path)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckDefinition = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckDefinition = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
