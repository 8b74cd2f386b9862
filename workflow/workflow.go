// Package workflow holds the job workflow's Amazon States Language
// definition, the one file that both the CDK app (through definition
// substitutions) and the local stack deploy, so both run the same workflow.
package workflow

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
)

// JobASL is workflow/job.asl.json as written, with ${…} placeholders.
//
//go:embed job.asl.json
var JobASL []byte

// Placeholders the job definition expects, as CDK DefinitionSubstitutions keys.
const (
	WatchFunctionArn = "WatchFunctionArn"
	StoreFunctionArn = "StoreFunctionArn"
	EventBusName     = "EventBusName"
)

var placeholderRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Substitute replaces every ${Name} in def with vars[Name], the way Step
// Functions definition substitutions do. A placeholder without a value, or
// a value never used, is an error, so a renamed placeholder cannot slip by.
func Substitute(def []byte, vars map[string]string) ([]byte, error) {
	used := map[string]bool{}
	var missing []string
	out := placeholderRE.ReplaceAllFunc(def, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		used[name] = true
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("substitute workflow: no value for %s", strings.Join(missing, ", "))
	}
	for name := range vars {
		if !used[name] {
			return nil, fmt.Errorf("substitute workflow: %s is not in the definition", name)
		}
	}
	return out, nil
}
