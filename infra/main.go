// Command infra is the videojobs CDK app: `cdk synth` / `cdk deploy` from the
// repository root run it (cdk.json: "cd infra && go run ."). Settings come
// from CDK context; see Config and docs/operations.md.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if _, err := build(app); err != nil {
		fmt.Fprintln(os.Stderr, "videojobs infra:", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}
