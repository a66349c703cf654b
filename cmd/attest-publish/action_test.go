package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/attest-publish/attest-publish/internal/actionio"
)

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestActionYAMLMapsEveryInput: action.yml maps every input it declares to
// AP_INPUT_<NAME> in the run step's env, declares every input action mode
// reads, and every output reads steps.run.
func TestActionYAMLMapsEveryInput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Inputs  map[string]struct{ Description, Default string }
		Outputs map[string]struct{ Description, Value string }
		Runs    struct {
			Using string
			Steps []struct {
				ID, Shell, Run, Uses string
				Env                  map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Runs.Using != "composite" || len(meta.Runs.Steps) != 1 {
		t.Fatalf("runs: %+v", meta.Runs)
	}
	step := meta.Runs.Steps[0]
	if step.Uses != "" || step.ID != "run" || step.Shell != "bash" || !strings.Contains(step.Run, `exec "$bin" action`) {
		t.Errorf("run step: id %q shell %q uses %q", step.ID, step.Shell, step.Uses)
	}
	for name, in := range meta.Inputs {
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
		if got, want := step.Env[actionio.InputEnv(name)], "${{ inputs."+name+" }}"; got != want {
			t.Errorf("env %s = %q, want %q", actionio.InputEnv(name), got, want)
		}
	}
	for k := range step.Env {
		if name, ok := strings.CutPrefix(k, actionio.InputPrefix); ok {
			if _, declared := meta.Inputs[strings.ToLower(strings.ReplaceAll(name, "_", "-"))]; !declared {
				t.Errorf("env %s maps no declared input", k)
			}
		}
	}
	read := append([]string{"mode", "packages-dir", "user", "password", "repository-url", "verify-metadata", "skip-existing",
		"verbose", "print-hash", "attestations", "signing-config", "trusted-root", "sigstore-instance", "attest-to-github",
		"github-token", "audit", "verify-paths", "bundle", "attestation", "deny-self-hosted-runners"}, verifyInputFlags...)
	for _, name := range read {
		if _, ok := meta.Inputs[name]; !ok {
			t.Errorf("action mode reads input %s, which action.yml does not declare", name)
		}
	}
	for _, name := range []string{"bundles", "attestations", "provenance-bundle-path", "attestation-id", "attestation-url", "published-urls", "verified", "verdicts"} {
		if got, want := meta.Outputs[name].Value, "${{ steps.run.outputs."+name+" }}"; got != want {
			t.Errorf("output %s = %q, want %q", name, got, want)
		}
	}
}

func TestActionInputErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runAction(context.Background(), nil, &stdout, &stderr, mapEnv(map[string]string{
		"AP_INPUT_MODE":          "deploy",
		"AP_INPUT_SKIP_EXISTING": "yes",
		"AP_INPUT_PASSWORD":      "pypi-s3cret",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`input mode must be one of release, sign, publish, verify, got "deploy"`, `input skip-existing must be true or false, got "yes"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "::add-mask::pypi-s3cret\n") {
		t.Errorf("the password is not masked first:\n%s", out)
	}
	if !strings.Contains(out, "::error title=attest-publish%3A inputs::") {
		t.Errorf("no error annotation:\n%s", out)
	}
}

func TestSigstoreInstance(t *testing.T) {
	events := map[string]string{"public": `{"repository":{"visibility":"public"}}`, "private": `{"repository":{"visibility":"private"}}`, "act": `{"inputs":{}}`}
	dir := t.TempDir()
	for name, body := range events {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		instance, event string
		want            string // the instance signing uses
	}{
		{"auto", "public", "public-good"},
		{"auto", "private", "github"},
		{"auto", "act", "github"},
		{"public-good", "private", "public-good"},
		{"github", "public", "github"},
	} {
		env := map[string]string{"GITHUB_EVENT_PATH": filepath.Join(dir, tc.event+".json")}
		a := actionio.New(actionio.Options{Getenv: mapEnv(env), Out: &bytes.Buffer{}})
		if got := sigstoreInstance(a, tc.instance, &bytes.Buffer{}); got != tc.want {
			t.Errorf("%s/%s: %q, want %q", tc.instance, tc.event, got, tc.want)
		}
	}
}

// TestActionVerifyFromIndexNeedsReleases: verify mode with from-index names
// releases in verify-paths; without them it says so instead of verifying the
// packages directory.
func TestActionVerifyFromIndexNeedsReleases(t *testing.T) {
	var stdout, stderr bytes.Buffer
	dir := t.TempDir()
	for _, f := range []string{"output", "summary"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := runAction(context.Background(), nil, &stdout, &stderr, mapEnv(map[string]string{
		"AP_INPUT_MODE":                    "verify",
		"AP_INPUT_FROM_INDEX":              "http://127.0.0.1:1/",
		"AP_INPUT_CERTIFICATE_IDENTITY":    "https://github.com/o/r/.github/workflows/release.yml@refs/heads/main",
		"AP_INPUT_CERTIFICATE_OIDC_ISSUER": "https://token.actions.githubusercontent.com",
		"GITHUB_OUTPUT":                    filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY":              filepath.Join(dir, "summary"),
	}))
	if err == nil || !strings.Contains(err.Error(), "from-index needs verify-paths") {
		t.Fatalf("error %v, want one about verify-paths\n%s%s", err, stdout.String(), stderr.String())
	}
}

// TestActionGitHubInstanceRelease: a release that would sign with GitHub's
// instance and still send PEP 740 attestations is refused before signing,
// saying what to change.
func TestActionGitHubInstanceRelease(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"output", "summary"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(event, []byte(`{"repository":{"visibility":"private"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := runAction(context.Background(), nil, &stdout, &stderr, mapEnv(map[string]string{
		"AP_INPUT_MODE":  "release",
		"AP_INPUT_AUDIT": "off",
		// packages-dir does not exist: the refusal must come first.
		"AP_INPUT_PACKAGES_DIR": filepath.Join(dir, "no-dists"),
		"GITHUB_EVENT_PATH":     event,
		"GITHUB_OUTPUT":         filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY":   filepath.Join(dir, "summary"),
	}))
	if !errors.Is(err, errGitHubInstancePEP740) {
		t.Fatalf("error %v, want errGitHubInstancePEP740\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(err.Error(), "sigstore-instance: public-good") || !strings.Contains(err.Error(), "attestations: false") {
		t.Errorf("the error does not say what to change: %v", err)
	}
}
