package localstack_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/videojobs/videojobs/internal/localstack"
)

// repoRoot is two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// rieBin finds the emulator installed by scripts/install-rie.sh, or skips.
func rieBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RIE_BIN"); p != "" {
		return p
	}
	p := filepath.Join(repoRoot(t), ".cache", "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err != nil {
		if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
			return p
		}
		t.Skipf("aws-lambda-rie absent (run scripts/install-rie.sh): %v", err)
	}
	return p
}

var (
	echoOnce sync.Once
	echoPath string
	echoErr  error
)

// echoBootstrap builds testdata/echofn once per test binary, the way the
// functions are built for the local stack.
func echoBootstrap(t *testing.T) string {
	t.Helper()
	echoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "echofn-")
		if err != nil {
			echoErr = err
			return
		}
		echoPath = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", echoPath, "./testdata/echofn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			echoErr = errors.New(string(out))
		}
	})
	if echoErr != nil {
		t.Fatalf("build echofn: %v", echoErr)
	}
	return echoPath
}

func skipIfNoMoto(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, localstack.ErrNotInstalled) {
		t.Skipf("moto absent (pip install \"moto[server]\"): %v", err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
