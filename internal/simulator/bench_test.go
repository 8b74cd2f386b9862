package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkConcurrentJobs runs 200 concurrent jobs, each polled at the
// scaled poll_after_seconds and subscribed to created, progress and terminal
// webhooks, at time scale 60 (the local stack's: a 70 s job takes 1.17 s)
// and 600 (117 ms). It reports
// lag-ratio: the observed time until every terminal webhook arrived divided
// by the time the scale promises (job time plus one poll interval). Near 1
// means the simulator keeps up with the time scale on this machine. Since a
// shared machine's other load inflates wall time, it also reports
// cores-needed: the process CPU time (simulator, receiver and clients
// together) divided by that same expected time; below the machine's core
// count means the work fits the time scale when the cores are free.
func BenchmarkConcurrentJobs(b *testing.B) {
	for _, scale := range []float64{60, 600} {
		b.Run(fmt.Sprintf("scale=%g", scale), func(b *testing.B) { benchConcurrentJobs(b, scale) })
	}
}

func benchConcurrentJobs(b *testing.B, scale float64) {
	const (
		jobs  = 200
		queue = 10 * time.Second
		gen   = 60 * time.Second
		poll  = 20 * time.Second
	)
	var terminal atomic.Int64
	var received atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		received.Add(1)
		if bytes.Contains(body, []byte(`"type":"video.completed"`)) && bytes.Contains(body, []byte(`"attempt":1,`)) {
			terminal.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: jobs}}

	var ratios, deliveries, cores float64
	for b.Loop() {
		terminal.Store(0)
		received.Store(0)
		sim := New(Config{TimeScale: scale, Seed: 1, DeliveryWorkers: 16, Sweep: 5 * time.Minute})
		srv := httptest.NewServer(sim)
		body := fmt.Sprintf(`{"model":"google/veo-3.1-lite","prompt":"[sim queue=%s duration=%s]","webhook":{"url":%q,"secret":"s","events":["created","progress","completed"]}}`,
			queue, gen, hook.URL+"/hook")
		cpu0 := cpuTime()
		start := time.Now()
		var wg sync.WaitGroup
		for range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := benchCreate(client, srv.URL, body)
				if err != nil {
					b.Error(err)
					return
				}
				// Poll like a client, every scaled poll_after_seconds.
				for {
					time.Sleep(poll / time.Duration(scale))
					status, err := benchStatus(client, srv.URL, id)
					if err != nil {
						b.Error(err)
						return
					}
					if status == "completed" {
						return
					}
				}
			}()
		}
		wg.Wait()
		deadline := time.Now().Add(time.Minute)
		for terminal.Load() < jobs && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		observed := time.Since(start)
		cpu := cpuTime() - cpu0
		if terminal.Load() < jobs {
			b.Fatalf("only %d of %d terminal webhooks arrived", terminal.Load(), jobs)
		}
		expected := (queue + gen + poll) / time.Duration(scale)
		ratios += observed.Seconds() / expected.Seconds()
		cores += cpu.Seconds() / expected.Seconds()
		deliveries += float64(received.Load()) / observed.Seconds()
		srv.Close()
		_ = sim.Close()
	}
	n := float64(b.N)
	b.ReportMetric(ratios/n, "lag-ratio")
	b.ReportMetric(deliveries/n, "deliveries/s")
	b.ReportMetric(cores/n, "cores-needed")
}

func benchCreate(c *http.Client, base, body string) (string, error) {
	req, _ := http.NewRequest("POST", base+"/v1/videos", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("create: %d %v", resp.StatusCode, err)
	}
	return v.ID, nil
}

func benchStatus(c *http.Client, base, id string) (string, error) {
	req, _ := http.NewRequest("GET", base+"/v1/videos/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", fmt.Errorf("status %s: %d %w", id, resp.StatusCode, err)
	}
	return v.Status, nil
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
