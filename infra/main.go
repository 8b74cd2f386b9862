// Command infra is the videojobs CDK app: `cdk synth` / `cdk deploy` from the
// repository root run it (cdk.json: "cd infra && go run ."). Settings come
// from CDK context; see Config and docs/operations.md.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: outdir(os.Getenv("CDK_OUTDIR"))})
	if _, err := build(app); err != nil {
		fmt.Fprintln(os.Stderr, "videojobs infra:", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}

// outdir is where the CLI asked for the cloud assembly. cdk.json runs the
// app from infra/ (its own Go module), while the CLI resolves a relative
// CDK_OUTDIR from the repository root, so a relative one is re-rooted.
func outdir(dir string) *string {
	if dir == "" {
		return nil
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir)
	}
	return jsii.String(dir)
}
