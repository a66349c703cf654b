//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/test/e2e/leakscan"
)

const (
	identity   = "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
	repository = "octo-org/octo-repo"
)

// copyDists copies the sample wheel and sdist into a fresh directory.
func copyDists(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(sampleDists)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(sampleDists, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// distFiles lists the wheel and sdist paths in dir.
func distFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"*.whl", "*.tar.gz"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		out = append(out, m...)
	}
	if len(out) != 2 {
		t.Fatalf("want one wheel and one sdist in %s, got %v", dir, out)
	}
	return out
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return strings.Join(names, "\n")
}

// runnerEnv is the environment of a GitHub-hosted runner job with
// "permissions: id-token: write", its token endpoint pointing at the local
// issuer. tokenQuery is appended to ACTIONS_ID_TOKEN_REQUEST_URL (the local
// issuer turns extra query parameters into claim overrides).
func runnerEnv(tokenQuery string) map[string]string {
	return map[string]string{
		"PATH":                           os.Getenv("PATH"),
		"HOME":                           os.TempDir(),
		"CI":                             "true",
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_SERVER_URL":              "https://github.com",
		"GITHUB_REPOSITORY":              repository,
		"GITHUB_WORKFLOW_REF":            "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		"GITHUB_REF":                     "refs/heads/main",
		"GITHUB_EVENT_NAME":              "workflow_dispatch",
		"RUNNER_ENVIRONMENT":             "github-hosted",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   env.tokenURL + tokenQuery,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": env.requestToken,
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// command runs `attest-publish <name> args…` in exactly the given environment.
func command(t *testing.T, environ map[string]string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(attestPublish, append([]string{name}, args...)...)
	for k, v := range environ {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// sign runs `attest-publish sign` in exactly the given environment.
func sign(t *testing.T, environ map[string]string, args ...string) result {
	t.Helper()
	return command(t, environ, "sign", args...)
}

// signingConfigThrough writes a copy of the stack's Rekor v1 signing config
// whose Fulcio, Rekor and TSA origins are replaced: to gets each service's
// name (fulcio0, rekor0, tsa0) and scheme://host, and returns what to use
// instead (a proxy's URL, or the origin itself to keep it).
func signingConfigThrough(t *testing.T, to func(name, origin string) string) string {
	t.Helper()
	data, err := os.ReadFile(env.signingConfig)
	if err != nil {
		t.Fatal(err)
	}
	data, err = leakscan.RewriteSigningConfig(data, func(name, origin string) (string, error) { return to(name, origin), nil })
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// trustArgs are the flags pointing sign at the local stack.
func trustArgs(signingConfig string) []string {
	return []string{"--signing-config", signingConfig, "--trusted-root", env.trustedRoot}
}

// tool runs one of the judges and returns its combined output.
func tool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // cosign writes ~/.sigstore
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func cosign(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return tool(t, filepath.Join(env.stackBin, "cosign"), args...)
}

func python(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return tool(t, filepath.Join(env.venv, "bin", "python"), args...)
}

// fulcioCerts is how many certificates the stack's Fulcio has issued.
func fulcioCerts(t *testing.T) int {
	t.Helper()
	out, err := tool(t, filepath.Join(repoRoot, ".cache", "bin", "stack"), "fulcio-certs")
	if err != nil {
		t.Fatalf("stack fulcio-certs: %v\n%s", err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("stack fulcio-certs printed %q", out)
	}
	return n
}

// mintToken asks the local issuer's token endpoint for a token, as a
// runner would (query is appended: audience and claim overrides).
func mintToken(t *testing.T, query string) string {
	t.Helper()
	req, err := http.NewRequest("GET", env.tokenURL+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+env.requestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v struct{ Value string }
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		t.Fatalf("token endpoint: %s", body)
	}
	return v.Value
}

// claims returns the claims of a runner's sigstore token (to know what the
// certificate must say).
func claims(t *testing.T) idtoken.Claims {
	t.Helper()
	tok, err := idtoken.Parse(mintToken(t, "&audience=sigstore"))
	if err != nil {
		t.Fatal(err)
	}
	return tok.Claims
}
