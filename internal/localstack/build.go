package localstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build compiles the named main packages for this host in one `go build`,
// as `make build` does for Lambda (static, -trimpath, -tags lambda.norpc,
// stripped),
// into dir/<last path element>/bootstrap, and returns those paths by last
// path element: Build(ctx, root, dir, "./functions/webhook") gives
// {"webhook": dir/webhook/bootstrap}. root is the module root.
func Build(ctx context.Context, root, dir string, pkgs ...string) (map[string]string, error) {
	out := filepath.Join(dir, ".out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	defer os.RemoveAll(out)
	args := append([]string{"build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %w\n%s", strings.Join(pkgs, " "), err, strings.TrimSpace(string(b)))
	}
	bins := map[string]string{}
	for _, pkg := range pkgs {
		name := filepath.Base(pkg)
		path := filepath.Join(dir, name, "bootstrap")
		if fi, err := os.Stat(filepath.Dir(path)); err == nil && !fi.IsDir() {
			// A binary left by an older layout (dir/<name>) takes the
			// place of the folder: replace it.
			if err := os.Remove(filepath.Dir(path)); err != nil {
				return nil, fmt.Errorf("build: %w", err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("build: %w", err)
		}
		if err := os.Rename(filepath.Join(out, name), path); err != nil {
			return nil, fmt.Errorf("build %s: %w", pkg, err)
		}
		bins[name] = path
	}
	return bins, nil
}
