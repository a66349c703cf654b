package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitLabInputErrors: an input outside its options (or otherwise
// wrong for GitLab) is refused before anything runs, with a message naming
// the input, the value and what it accepts; every mistake at once.
func TestGitLabInputErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{name: "mode not an option", env: map[string]string{"AP_INPUT_MODE": "deploy"},
			want: []string{`input mode must be one of release, sign, publish, verify, got "deploy"`}},
		{name: "boolean not an option", env: map[string]string{"AP_INPUT_SKIP_EXISTING": "yes", "AP_INPUT_ATTESTATIONS": "1"},
			want: []string{`input skip-existing must be true or false, got "yes"`, `input attestations must be true or false, got "1"`}},
		{name: "GitHub's instance", env: map[string]string{"AP_INPUT_SIGSTORE_INSTANCE": "github"},
			want: []string{`input sigstore-instance must be one of auto, public-good in GitLab CI, got "github"`}},
		{name: "unknown instance", env: map[string]string{"AP_INPUT_SIGSTORE_INSTANCE": "staging"},
			want: []string{`input sigstore-instance must be one of auto, public-good, github, got "staging"`}},
		{name: "password-variable not a name", env: map[string]string{"AP_INPUT_PASSWORD_VARIABLE": "pypi-abc123"},
			want: []string{`input password-variable must name a CI/CD variable (letters, digits, _), got "pypi-abc123"`}},
		{name: "password-variable unset", env: map[string]string{"AP_INPUT_PASSWORD_VARIABLE": "PYPI_API_TOKEN"},
			want: []string{"input password-variable names PYPI_API_TOKEN, which is empty or not set in this job"}},
		{name: "GitHub-only inputs", env: map[string]string{"AP_INPUT_AUDIT": "strict", "AP_INPUT_ATTEST_TO_GITHUB": "true", "AP_INPUT_MODE": "verify", "AP_INPUT_FROM_GITHUB": "o/r"},
			want: []string{"input audit: the workflow audit reads GitHub Actions workflows", "input attest-to-github stores the provenance with GitHub's attestations API", "input from-github reads GitHub's attestations API"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"gitlab"}, &stdout, &stderr, mapEnv(tc.env))
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stdout.String(), "section_start") {
				t.Errorf("a stage started despite the bad input:\n%s", stdout.String())
			}
		})
	}
}

// TestGitLabPasswordOnlyFromVariable: the password is read from the CI/CD
// variable password-variable names, never from a literal input.
func TestGitLabPasswordOnlyFromVariable(t *testing.T) {
	env := map[string]string{"AP_INPUT_PASSWORD": "literal", "AP_INPUT_PASSWORD_VARIABLE": "MY_TOKEN", "MY_TOKEN": "pypi-secret", "PYPI_ID_TOKEN": "x"}
	in, err := readGitLabInputs(mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if in.password != "pypi-secret" || !in.gitlab || in.audit != "off" || in.instance != "public-good" || in.pypiTokenVar != "PYPI_ID_TOKEN" {
		t.Errorf("inputs %+v", in)
	}
	delete(env, "AP_INPUT_PASSWORD_VARIABLE")
	if in, err = readGitLabInputs(mapEnv(env)); err != nil || in.password != "" {
		t.Errorf("a literal AP_INPUT_PASSWORD was used (%q, %v)", in.password, err)
	}
}

// TestGitLabRunFailsWithReports: a run that fails (no dists) still writes
// the dotenv report and the summaries, and says why in the log, escaped.
func TestGitLabRunFailsWithReports(t *testing.T) {
	dir := t.TempDir()
	pkgs := filepath.Join(dir, "dist\x1b[0Ksection_end:1:x\r\x1b[0Kd")
	if err := os.MkdirAll(pkgs, 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AP_INPUT_MODE": "publish", "AP_INPUT_PACKAGES_DIR": pkgs, "AP_INPUT_PASSWORD_VARIABLE": "TOKEN", "TOKEN": "pypi-x",
		"AP_GITLAB_DOTENV": filepath.Join(dir, "ap.env"), "AP_GITLAB_SUMMARY": filepath.Join(dir, "s.md"), "AP_GITLAB_JSON": filepath.Join(dir, "s.json"),
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"gitlab"}, &stdout, &stderr, mapEnv(env)); code != 1 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	for _, f := range []string{"ap.env", "s.md", "s.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "ap.env"))
	if !strings.Contains(string(data), "AP_VERIFIED=false\n") {
		t.Errorf("dotenv:\n%s", data)
	}
	all := stdout.String() + stderr.String()
	if !strings.Contains(stderr.String(), "attest-publish gitlab: error:") || !strings.Contains(all, "%1B[0Ksection_end:1:x%0D%1B[0Kd") {
		t.Errorf("the error is missing or not escaped:\n%q", all)
	}
	if strings.Contains(all, "section_end:1:x\r") {
		t.Error("the packages directory's name forged a section line")
	}
}
