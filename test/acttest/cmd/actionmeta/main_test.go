package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		file, want string // want: a substring of the error; "" = passes
	}{
		{"good.yml", ""},
		{"unmapped.yml", `input "packages-dir" is not mapped: add ` + "`AP_INPUT_PACKAGES_DIR: ${{ inputs.packages-dir }}`"},
		{"wrong-input.yml", `AP_INPUT_PACKAGES_DIR is "${{ inputs.mode }}", want "${{ inputs.packages-dir }}"`},
		{"extra-env.yml", "env AP_INPUT_GONE maps no declared input"},
		{"nested-uses.yml", "has uses: actions/checkout@v4"},
		{"no-shell.yml", "has run: without shell:"},
		{"node.yml", `runs.using is "node20", want composite`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var out bytes.Buffer
			err := run("check", filepath.Join("testdata", tc.file), &out)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("check failed: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("check passed, want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestGenerated(t *testing.T) {
	for cmd, want := range map[string][]string{
		"caller":    {"uses: ./", "mode: release", "packages-dir: dist", "OUT_VERIFIED: ${{ steps.ap.outputs.verified }}"},
		"composite": {"workflow_call:", "packages-dir:", "AP_INPUT_MODE: ${{ inputs.mode }}", "OUTPUT_VERIFIED: ${{ steps.run.outputs.verified }}"},
		"script":    {`echo "verified=true" >> "$GITHUB_OUTPUT"`},
	} {
		var out bytes.Buffer
		if err := run(cmd, filepath.Join("testdata", "good.yml"), &out); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s output lacks %q:\n%s", cmd, w, out.String())
			}
		}
	}
}
