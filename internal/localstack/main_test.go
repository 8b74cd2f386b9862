package localstack_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Getenv("LOCALSTACK_TEST_FAKE_SIM") == "1" {
		fakeSimulator()
		return
	}
	code := m.Run()
	if echoPath != "" {
		os.RemoveAll(filepath.Dir(echoPath))
	}
	os.Exit(code)
}

// fakeSimulator stands in for cmd/ai-stats-sim when the test binary is run
// as the stack's simulator command: it prints its URL first, as the real
// one does, and accepts only the API key the stack handed it.
func fakeSimulator() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("AI_STATS_SIM_URL=http://%s\n", l.Addr())
	fmt.Println("fake simulator ready")
	key := os.Getenv("AI_STATS_SIM_API_KEY")
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key == "" || r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	}))
}
