package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const auditFixtures = "../../testdata/audit/"

func runAuditCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"audit"}, args...), &out, &errOut, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

func TestAuditCommand(t *testing.T) {
	readme := auditFixtures + "bad/pypi-publish-readme.yml"
	good := auditFixtures + "good/release.yml"
	notYAML := auditFixtures + "invalid/not-yaml.yml"
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // lines, exactly and in order (nil: stdout not checked)
		stderrHas  []string
		stdoutHas  []string
		stderrNone bool
	}{
		{name: "good workflow", args: []string{good}, code: 0, stdout: []string{"0 findings in 1 workflow"}, stderrNone: true},
		{name: "good workflow strict", args: []string{"--strict", good}, code: 0, stdout: []string{"0 findings in 1 workflow"}, stderrNone: true},
		{name: "findings are warnings by default", args: []string{readme}, code: 0, stdout: []string{
			readme + `:24: warning: unpinned-action (job pypi-publish): action pypa/gh-action-pypi-publish@release/v1 is pinned by "release/v1", a tag or branch that can be moved to other code; pin it by full commit SHA: uses: pypa/gh-action-pypi-publish@<40-hex commit SHA> # release/v1`,
			"1 finding in 1 workflow (warnings; --strict makes them fail)",
		}, stderrNone: true},
		{name: "strict fails on findings", args: []string{"--strict", readme, good}, code: 1,
			stdoutHas: []string{readme + ":24: error: unpinned-action (job pypi-publish):", "1 finding in 2 workflows\n"},
			stderrHas: []string{"attest-publish audit: error: 1 finding (--strict)"}},
		{name: "invalid YAML names the file", args: []string{good, notYAML}, code: 1,
			stdout:    []string{"0 findings in 1 workflow"},
			stderrHas: []string{"attest-publish audit: error: " + notYAML + ": invalid YAML: yaml: line"}},
		{name: "strict with findings and an invalid file", args: []string{"--strict", readme, notYAML}, code: 1,
			stdoutHas: []string{"1 finding in 1 workflow\n"},
			stderrHas: []string{"attest-publish audit: error: " + notYAML + ": invalid YAML", "; 1 finding (--strict)"}},
		{name: "a self-merging workflow is refused, not a crash", args: []string{auditFixtures + "invalid/merge-self.yml"}, code: 1, stdout: []string{},
			stderrHas: []string{"merge-self.yml: refusing the workflow: line 5: a YAML merge key (<<:) refers to the mapping it is in"}},
		{name: "missing file", args: []string{auditFixtures + "nope.yml"}, code: 1, stdout: []string{},
			stderrHas: []string{"nope.yml: no such file or directory"}},
		{name: "no files", args: nil, code: 2, stderrHas: []string{"name at least one workflow file"}},
		{name: "bad format", args: []string{"--format", "sarif", good}, code: 2, stderrHas: []string{"--format must be text or json"}},
		{name: "unknown flag", args: []string{"--fix", good}, code: 2, stderrHas: []string{"flag provided but not defined: -fix", "Usage: attest-publish audit"}},
		{name: "help", args: []string{"-h"}, code: 0, stderrHas: []string{"persist-credentials: false", "--strict"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runAuditCmd(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if tt.stdout != nil {
				got := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
				if stdout == "" {
					got = []string{}
				}
				if strings.Join(got, "\n") != strings.Join(tt.stdout, "\n") || len(got) != len(tt.stdout) {
					t.Errorf("stdout:\n%s\nwant:\n%s", stdout, strings.Join(tt.stdout, "\n"))
				}
			}
			for _, s := range tt.stdoutHas {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tt.stderrNone && stderr != "" {
				t.Errorf("stderr not empty:\n%s", stderr)
			}
		})
	}
}

func TestAuditJSON(t *testing.T) {
	bad := auditFixtures + "bad/workflow-permissions.yml"
	missing := auditFixtures + "nope.yml"
	code, stdout, stderr := runAuditCmd(t, "--format", "json", "--strict", auditFixtures+"good/self.yml", bad, missing)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a missing file)\nstderr:\n%s", code, stderr)
	}
	var got []struct {
		Path     string `json:"path"`
		Error    string `json:"error"`
		Findings []struct {
			Rule, Job, Message string
			Line               int
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(got) != 3 || got[0].Findings == nil || len(got[0].Findings) != 0 || got[0].Error != "" {
		t.Fatalf("results: %+v", got)
	}
	var lines []string
	for _, f := range got[1].Findings {
		lines = append(lines, fmt.Sprintf("%s@%d", f.Rule, f.Line))
		if f.Message == "" || f.Job != "" {
			t.Errorf("finding %+v", f)
		}
	}
	if want := "risky-trigger@2 workflow-write-permissions@4 id-token-outside-publish@5 workflow-write-permissions@6"; strings.Join(lines, " ") != want {
		t.Errorf("findings %s, want %s", strings.Join(lines, " "), want)
	}
	if got[2].Path != missing || !strings.Contains(got[2].Error, "no such file") || got[2].Findings == nil {
		t.Errorf("missing file: %+v", got[2])
	}
	if !strings.Contains(stdout, `"findings": []`) {
		t.Errorf("empty findings should be [], not null:\n%s", stdout)
	}
}
