package simulator

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var directiveRE = regexp.MustCompile(`\[sim(?:\s+([^\]]*))?\]`)

// ParseDirective extracts the job script from the first "[sim ...]" in a
// prompt, e.g. "[sim outcome=failed duration=180s size=1048576
// faults=drop_webhooks,poll.429]". It reports ok=false when the prompt has no
// directive.
func ParseDirective(prompt string) (p Plan, ok bool, err error) {
	m := directiveRE.FindStringSubmatch(prompt)
	if m == nil {
		return Plan{}, false, nil
	}
	for _, field := range strings.Fields(m[1]) {
		key, val, found := strings.Cut(field, "=")
		if !found {
			return Plan{}, true, fmt.Errorf("sim directive: %q is not key=value", field)
		}
		switch strings.ToLower(key) {
		case "outcome":
			p.Outcome = strings.ToLower(val)
		case "queue":
			d, err := parseDuration(val)
			if err != nil {
				return Plan{}, true, fmt.Errorf("sim directive queue: %w", err)
			}
			dd := Duration(d)
			p.Queue = &dd
		case "duration":
			d, err := parseDuration(val)
			if err != nil {
				return Plan{}, true, fmt.Errorf("sim directive duration: %w", err)
			}
			dd := Duration(d)
			p.Duration = &dd
		case "size":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return Plan{}, true, fmt.Errorf("sim directive size %q: want bytes", val)
			}
			p.Size = n
		case "faults", "fault":
			for _, f := range strings.Split(val, ",") {
				if f == "" {
					continue
				}
				c, err := canonicalFault(f)
				if err != nil {
					return Plan{}, true, fmt.Errorf("sim directive: %w", err)
				}
				p.Faults = append(p.Faults, c)
			}
		case "provider":
			p.Provider = val
		case "cancel":
			p.Cancel = strings.ToLower(val)
		case "progress":
			p.Progress = strings.ToLower(val)
		case "content_type":
			p.ContentType = val
		case "error":
			p.Error = strings.ReplaceAll(val, "_", " ")
		default:
			return Plan{}, true, fmt.Errorf("sim directive: unknown key %q", key)
		}
	}
	if err := p.validate(); err != nil {
		return Plan{}, true, fmt.Errorf("sim directive: %w", err)
	}
	return p, true, nil
}
