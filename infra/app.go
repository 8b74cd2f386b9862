package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// build reads the configuration from the app's context, checks the inputs
// that synth would otherwise trip over with a less helpful message, adds the
// stack, and applies the cdk-nag AwsSolutions checks: any unsuppressed
// finding is an error annotation, and `cdk synth` fails on it.
func build(app awscdk.App) (*Stack, error) {
	cfg, err := LoadConfig(func(key string) (any, bool) {
		v := app.Node().TryGetContext(jsii.String(key))
		return v, v != nil
	})
	if err != nil {
		return nil, err
	}
	if err := checkInputs(cfg); err != nil {
		return nil, err
	}
	stack := NewStack(app, cfg.StackName, &StackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("videojobs: AI video generation jobs against the AI Stats gateway"),
		},
		Config: cfg,
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return stack, nil
}

// checkInputs makes sure the function binaries and the workflow definition
// exist before synth tries to package them.
func checkInputs(cfg Config) error {
	for _, fn := range FunctionNames {
		p := filepath.Join(cfg.AssetRoot, fn, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("function binary %s is missing (run `make build` first): %w", p, err)
		}
	}
	return CheckDefinition(cfg.WorkflowDefinition)
}
