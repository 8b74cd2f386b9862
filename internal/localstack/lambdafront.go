package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// LambdaFront answers Lambda Invoke calls
// (POST /2015-03-31/functions/{name or ARN}/invocations) from its function
// registry and proxies every other request to moto. Moto's Step Functions
// executor reaches it through MOTO_PORT.
type LambdaFront struct {
	mu        sync.RWMutex
	functions map[string]Invoker
	proxy     atomic.Pointer[httputil.ReverseProxy]
	log       *slog.Logger
	// async tracks Event invocations so Close can wait for them.
	async sync.WaitGroup
}

// NewLambdaFront returns a front with no functions and no upstream yet.
func NewLambdaFront(log *slog.Logger) *LambdaFront {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LambdaFront{functions: map[string]Invoker{}, log: log}
}

// Register routes invocations of the named function to inv. A later call
// replaces the invoker.
func (f *LambdaFront) Register(name string, inv Invoker) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.functions[name] = inv
}

// Function returns the invoker registered under name.
func (f *LambdaFront) Function(name string) (Invoker, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	inv, ok := f.functions[name]
	return inv, ok
}

// SetUpstream makes the front proxy non-Lambda requests to rawURL (moto).
func (f *LambdaFront) SetUpstream(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("lambda front upstream: %w", err)
	}
	// NewSingleHostReverseProxy keeps the client's Host header, which SigV4
	// signatures and moto's S3 virtual-host parsing both depend on.
	f.proxy.Store(httputil.NewSingleHostReverseProxy(u))
	return nil
}

const invokePrefix = "/2015-03-31/functions/"

func (f *LambdaFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, invokePrefix) && strings.HasSuffix(r.URL.Path, "/invocations") {
		f.serveInvoke(w, r)
		return
	}
	p := f.proxy.Load()
	if p == nil {
		http.Error(w, "local stack: upstream not ready", http.StatusServiceUnavailable)
		return
	}
	p.ServeHTTP(w, r)
}

// serveInvoke speaks the Lambda Invoke wire protocol
// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html) as far as
// the SDKs and Step Functions need it.
func (f *LambdaFront) serveInvoke(w http.ResponseWriter, r *http.Request) {
	// botocore (moto's Step Functions executor) reads the request id from
	// this header, and fails on errors without one.
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	raw := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, invokePrefix), "/invocations")
	if unescaped, err := url.PathUnescape(raw); err == nil {
		raw = unescaped
	}
	name, err := functionName(raw)
	if err != nil {
		writeLambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", err.Error())
		return
	}
	inv, ok := f.Function(name)
	if !ok {
		writeLambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+raw)
		return
	}
	// Lambda's synchronous payload limit.
	payload, err := io.ReadAll(io.LimitReader(r.Body, 6*1024*1024+1))
	if err != nil {
		writeLambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "read payload: "+err.Error())
		return
	}
	if len(payload) > 6*1024*1024 {
		writeLambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}

	switch r.Header.Get("X-Amz-Invocation-Type") {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		f.async.Add(1)
		go func() {
			defer f.async.Done()
			// The caller is gone by the time this runs, so its context is not ours.
			if _, err := inv.Invoke(context.WithoutCancel(r.Context()), payload); err != nil {
				f.log.Warn("async invoke failed", "function", name, "err", err)
			}
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	}

	resp, err := inv.Invoke(r.Context(), payload)
	if err != nil {
		f.log.Warn("invoke failed", "function", name, "err", err)
		writeLambdaError(w, http.StatusInternalServerError, "ServiceException", "local stack: invoke failed")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if resp.FunctionError != "" {
		w.Header().Set("X-Amz-Function-Error", resp.FunctionError)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp.Payload)
}

// Wait blocks until every Event (asynchronous) invocation has finished.
func (f *LambdaFront) Wait() { f.async.Wait() }

// writeLambdaError writes a Lambda API error the way the SDKs parse it: the
// error code in X-Amzn-ErrorType, so Step Functions names it Lambda.<code>.
func writeLambdaError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}
