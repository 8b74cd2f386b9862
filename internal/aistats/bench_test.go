package aistats

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkDecodeVideo reports the lenient decoder's cost as a ratio to a
// plain json.Unmarshal of the same body into a map, measured in the same
// run ("x-baseline"), so the number survives machine changes.
func BenchmarkDecodeVideo(b *testing.B) {
	body := readFixtureB(b, "videos/get_completed.json")
	baseline := func(n int) time.Duration {
		start := time.Now()
		for range n {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := DecodeVideo(body, testBase); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if base := baseline(b.N); base > 0 {
		b.ReportMetric(float64(elapsed)/float64(base), "x-baseline")
	}
}

func readFixtureB(b *testing.B, name string) []byte {
	b.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return body
}
