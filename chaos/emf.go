package chaos

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Metrics are EMF metric totals read back from the function logs, keyed
// "Function/Name" plus "/Dim=Value" for each extra dimension (sorted), e.g.
// "webhook/WebhookRejected/Reason=mismatch".
type Metrics map[string]float64

// Get returns one total, 0 if absent.
func (m Metrics) Get(key string) float64 { return m[key] }

// Sum adds every total whose key starts with prefix.
func (m Metrics) Sum(prefix string) float64 {
	var t float64
	for k, v := range m {
		if k == prefix || strings.HasPrefix(k, prefix+"/") {
			t += v
		}
	}
	return t
}

// ReadMetrics parses every EMF line in the given log files. Lines that are
// not EMF documents (the RIE's own lines, the functions' slog lines) are
// skipped.
func ReadMetrics(paths []string) (Metrics, error) {
	m := Metrics{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read metrics: %w", err)
		}
		err = m.add(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read metrics %s: %w", p, err)
		}
	}
	return m, nil
}

type emfDoc struct {
	AWS struct {
		CloudWatchMetrics []struct {
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
}

func (m Metrics) add(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !json.Valid(line) || !strings.Contains(string(line), `"_aws"`) {
			continue
		}
		var doc emfDoc
		var fields map[string]json.RawMessage
		if json.Unmarshal(line, &doc) != nil || json.Unmarshal(line, &fields) != nil {
			continue
		}
		for _, d := range doc.AWS.CloudWatchMetrics {
			// The widest dimension set holds the document's values; the
			// narrower ones are the same values published again.
			var dims []string
			for _, set := range d.Dimensions {
				if len(set) > len(dims) {
					dims = set
				}
			}
			key := str(fields["Function"])
			extra := slices.DeleteFunc(slices.Clone(dims), func(s string) bool { return s == "Function" })
			slices.Sort(extra)
			for _, mt := range d.Metrics {
				k := key + "/" + mt.Name
				for _, dim := range extra {
					k += "/" + dim + "=" + str(fields[dim])
				}
				m[k] += sum(fields[mt.Name])
			}
		}
	}
	return sc.Err()
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// sum reads an EMF value: a number or an array of numbers.
func sum(raw json.RawMessage) float64 {
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f
	}
	var fs []float64
	_ = json.Unmarshal(raw, &fs)
	var t float64
	for _, v := range fs {
		t += v
	}
	return t
}
