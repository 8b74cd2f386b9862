package lambdaenv_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/videojobs/videojobs/internal/lambdaenv"
)

// startChild is set when the test binary runs as the child of
// TestStartFailsInit: Start exits the process, so it runs in its own.
const startChild = "LAMBDAENV_TEST_START_CHILD"

type config struct{ arn string }

func (c config) APIKeySecretARN() string { return c.arn }

func TestStartFailsInit(t *testing.T) {
	if os.Getenv(startChild) != "" {
		load := func(func(string) string) (config, error) {
			return config{}, errors.New("store config: TABLE_NAME is required")
		}
		lambdaenv.Start("store", load, func(config, lambdaenv.AWS) (any, error) {
			t.Fatal("build ran after load failed")
			return nil, nil
		})
		t.Fatal("Start returned after a failed load")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartFailsInit$")
	cmd.Env = append(os.Environ(), startChild+"=1")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("child exited with %v, want status 1; output:\n%s", err, out)
	}
	for _, w := range []string{"store init failed", "store config: TABLE_NAME is required"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("init log %q lacks %q", out, w)
		}
	}
}
