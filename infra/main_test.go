package main

import "testing"

// cdk.json runs the app from infra/, but the CLI reads the assembly from the
// CDK_OUTDIR it passed, relative to the repository root.
func TestOutdirIsRootedAtTheRepository(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"cdk.out", "../cdk.out"},
		{"/tmp/assembly", "/tmp/assembly"},
	} {
		if got := outdir(tt.in); got == nil || *got != tt.want {
			t.Errorf("outdir(%q) = %v, want %q", tt.in, got, tt.want)
		}
	}
	if got := outdir(""); got != nil {
		t.Errorf("outdir(\"\") = %q, want nil (the CDK default)", *got)
	}
}
