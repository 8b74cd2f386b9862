// Package mototest starts a moto server (the AWS emulator, `moto_server`) for
// integration tests and builds AWS SDK configurations that talk to it.
//
// Starting moto takes a few seconds, so a package's tests normally share one
// server per test binary:
//
//	func TestMain(m *testing.M) { os.Exit(mototest.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		srv := mototest.Shared(t)
//		cfg := srv.Config() // or mototest.AWSConfig(t, srv.URL)
//		db := dynamodb.NewFromConfig(cfg)
//		table := mototest.Name(t) // unique, so tests can share the server
//		...
//	}
//
// A test that needs a server of its own calls [Start]. Either way the test is
// skipped, with a message saying so, only when `moto_server` is not on PATH
// (install it with `pip install "moto[server]"`); any other failure to start
// fails the test. Every server binds 127.0.0.1 on a free port, runs in its own
// process group and is stopped by its PID.
package mototest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Binary is the moto server executable looked up on PATH.
const Binary = "moto_server"

// Region is the region every configuration from this package uses.
const Region = "us-east-1"

// startTimeout bounds how long a moto start may take; a cold Python start
// on a busy 2-core machine takes a few seconds.
const startTimeout = 60 * time.Second

// Server is a running moto server.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:<port>.
	URL string

	cmd  *exec.Cmd
	out  *capWriter
	done chan struct{} // closed when the process has exited
	once sync.Once
}

// Start starts a moto server for tb alone and stops it when tb finishes.
// It skips tb when moto_server is not installed.
func Start(tb testing.TB) *Server {
	tb.Helper()
	skipIfAbsent(tb)
	s, err := start()
	if err != nil {
		tb.Fatalf("start moto: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

var shared struct {
	mu     sync.Mutex
	inMain bool // Run is in charge of the shared server's lifetime
	srv    *Server
	err    error
}

// Run runs the tests of m and then stops the server [Shared] started, if
// any. Call it from TestMain: os.Exit(mototest.Run(m)).
func Run(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	shared.mu.Unlock()
	return code
}

// Shared returns the test binary's shared moto server, starting it on first
// use. Tests sharing it must not step on each other: use unique resource
// names ([Name]). Without a TestMain that calls [Run], nobody would stop a
// shared server, so Shared falls back to [Start].
func Shared(tb testing.TB) *Server {
	tb.Helper()
	skipIfAbsent(tb)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		return Start(tb)
	}
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.err = start()
	}
	if shared.err != nil {
		tb.Fatalf("start shared moto: %v", shared.err)
	}
	return shared.srv
}

// Config returns an AWS configuration for the server (see [AWSConfig]).
func (s *Server) Config() aws.Config { return awsConfig(s.URL) }

// AWSConfig returns an AWS configuration that sends every service client
// to the moto server at url, with static dummy credentials and region
// us-east-1. It reads nothing from the environment or ~/.aws, so a
// developer's real credentials can never reach a test.
//
// Plain s3.NewFromConfig(cfg) works: the SDK addresses buckets by path on
// an IP endpoint, which is what moto needs.
func AWSConfig(tb testing.TB, url string) aws.Config {
	tb.Helper()
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		tb.Fatalf("mototest.AWSConfig: url %q is not an http(s) URL", url)
	}
	return awsConfig(url)
}

func awsConfig(url string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(url),
	}
}

// Serialized returns the URL of a proxy in front of the server that passes
// on one request at a time, and stops it when tb finishes.
//
// moto serves requests on parallel threads and does not make a conditional
// write atomic: two racing writes conditioned on the same version can both
// succeed, which DynamoDB never allows. A test that races conditional
// writes (optimistic locking, dedupe) therefore talks to moto through this
// proxy, which restores per-request atomicity while leaving the clients'
// read-modify-write cycles free to interleave.
func (s *Server) Serialized(tb testing.TB) string {
	tb.Helper()
	target, err := neturl.Parse(s.URL)
	if err != nil {
		tb.Fatalf("serialized proxy: %v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(front.Close)
	return front.URL
}

// Reset wipes every resource on the server (moto's /moto-api/reset).
// Only useful on a server a test owns: on a shared server it would pull
// resources out from under other tests.
func (s *Server) Reset(tb testing.TB) {
	tb.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL+"/moto-api/reset", nil)
	if err != nil {
		tb.Fatalf("reset moto: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("reset moto: status %d", resp.StatusCode)
	}
}

// Stop kills the server's process group and waits for it to exit. It is
// safe to call more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		killGroup(s.cmd)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
}

var nameSeq atomic.Int64

var nameUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// Name returns a name unique within the test binary, derived from the test
// name, that is valid as an S3 bucket, DynamoDB table or secret name (lower
// case letters, digits and hyphens, at most 48 characters).
func Name(tb testing.TB) string {
	base := nameUnsafe.ReplaceAllString(strings.ToLower(tb.Name()), "-")
	base = strings.Trim(base, "-")
	if len(base) > 32 {
		base = base[:32]
	}
	return fmt.Sprintf("t-%s-%d-%d", strings.Trim(base, "-"), os.Getpid()%100000, nameSeq.Add(1))
}

func skipIfAbsent(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath(Binary); err != nil {
		tb.Skipf("%s not on PATH (pip install \"moto[server]\"): skipping integration test", Binary)
	}
}

// start launches moto on a free port. The port is found by binding :0 and
// releasing it, so another process can grab it in between; a start that
// dies early is retried on a new port.
func start() (*Server, error) {
	var lastErr error
	for range 3 {
		s, err := startOnce()
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnce() (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(Binary, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	out := &capWriter{max: 64 << 10}
	cmd.Stdout = out
	cmd.Stderr = out
	newGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", Binary, err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w; moto output: %s", err, out.String())
	}
	return s, nil
}

func (s *Server) waitReady() error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("moto exited before it was ready")
		default:
		}
		resp, err := client.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("moto not ready at %s after %s", s.URL, startTimeout)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// capWriter keeps the first max bytes written to it: enough to explain a
// failed start, without growing with moto's per-request log lines.
type capWriter struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (w *capWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
