//go:build e2e

// Package gitlabci runs examples/.gitlab-ci.yml end to end under
// gitlab-ci-local (npm, pinned by scripts/deps.sh, shell executor) with the
// GitLab components of this tree (templates/), against the local Sigstore
// stack and the test index (test/indexfront): build → attest-publish-release
// (sign, verify, publish) → attest-publish-verify, as a tag pipeline.
//
// The example is used as it is but for three edits in a throwaway copy: the
// component references point at the copy itself (gitlab-ci-local resolves
// $CI_SERVER_FQDN/<origin's path>/<name>@<HEAD> from the working tree), and
// the build runs without build isolation (offline). The templates' pins are
// rewritten by scripts/template-pins.sh to the SHA-256 of a binary built from
// the tree, which the jobs fetch from a file:// binary-url and check, as they
// would the release binary. gitlab-ci-local has no id_tokens: the local
// issuer's GitLab-shaped tokens are given as variables scoped to the release
// job's environment (as a protected environment's variables would be), after
// checking that their claims say what gitlab-ci-local reports for the project,
// commit, ref and CI config path.
//
//	ATTEST_STACK_DIR=.stack ATTEST_VENV=.cache/venv \
//	  bash -c 'source .stack/stack.env && go test -count=1 -tags e2e ./test/gitlabci/'
//
// It fails (never skips) when the stack, the venv or gitlab-ci-local is
// missing.
package gitlabci

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The pipeline the harness runs: a tag pipeline of octo-org/octo-repo on
// gitlab.com (the origin remote gitlab-ci-local derives CI_* from).
const (
	projectPath = "octo-org/octo-repo"
	serverFQDN  = "gitlab.com"
	tag         = "v0.1.0"
	environment = "pypi"
	sampleName  = "attest-publish-sample"
	sampleVer   = "0.1.0"
)

type stackEnv struct{ trustedRoot, signingConfig, issuer, tokenURL, requestToken, venv string }

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func loadStack(t *testing.T) stackEnv {
	t.Helper()
	s := stackEnv{
		trustedRoot: os.Getenv("STACK_TRUSTED_ROOT"), signingConfig: os.Getenv("STACK_SIGNING_CONFIG"),
		issuer: os.Getenv("STACK_OIDC_ISSUER"), tokenURL: os.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL"),
		requestToken: os.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"), venv: os.Getenv("ATTEST_VENV"),
	}
	if s.trustedRoot == "" || s.signingConfig == "" || s.issuer == "" || s.tokenURL == "" || s.requestToken == "" || s.venv == "" {
		t.Fatal("gitlabci: the local stack is not up (STACK_* / ACTIONS_ID_TOKEN_REQUEST_* / ATTEST_VENV missing): run through `make test`, or `source .stack/stack.env` with ATTEST_VENV=.cache/venv")
	}
	return s
}

// gitlabCILocal is the pinned gitlab-ci-local and its Node.js from
// $CACHE/gitlab-ci-local (scripts/deps.sh), or $GITLAB_CI_LOCAL_DIR.
func gitlabCILocal(t *testing.T) []string {
	t.Helper()
	dir := os.Getenv("GITLAB_CI_LOCAL_DIR")
	if dir == "" {
		cache := os.Getenv("CACHE")
		if cache == "" {
			cache = filepath.Join(repoRoot(), ".cache")
		}
		dir = filepath.Join(cache, "gitlab-ci-local")
	}
	cmd := []string{filepath.Join(dir, "node_modules", ".bin", "node"), filepath.Join(dir, "node_modules", "gitlab-ci-local", "dist", "index.js")}
	out, err := exec.Command(cmd[0], cmd[1], "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "4.75.1" {
		t.Fatalf("gitlab-ci-local 4.75.1 is missing in %s (%v: %s): run scripts/deps.sh (make deps)", dir, err, out)
	}
	return cmd
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// buildBinary builds attest-publish from the tree (static, as dist.sh
// does) for the jobs to fetch through binary-url.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Fatalf("the components run linux amd64 and arm64 binaries; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	bin := filepath.Join(dir, "attest-publish-linux-"+runtime.GOARCH)
	run(t, repoRoot(), []string{"CGO_ENABLED=0", "GOTOOLCHAIN=auto"}, "go", "build", "-trimpath", "-o", bin, "./cmd/attest-publish")
	return bin
}

// index is a running test index (test/indexfront/harness.py).
type index struct {
	vars map[string]string
}

// startIndex starts the index front with a GitLab trusted publisher for the
// pipeline (warehouse's GitLab publisher: project path, top-level pipeline
// file, environment; the local issuer's /gitlab tokens stand for
// gitlab.com).
func startIndex(t *testing.T, s stackEnv) index {
	t.Helper()
	py := filepath.Join(s.venv, "bin", "python")
	harness := filepath.Join(repoRoot(), "test", "indexfront", "harness.py")
	start := func(publishers string) (index, error) {
		dir := t.TempDir()
		args := []string{harness, "start", "--dir", dir, "--issuer", s.issuer, "--trusted-root", s.trustedRoot}
		if publishers != "" {
			path := filepath.Join(dir, "publishers.json")
			if err := os.WriteFile(path, []byte(publishers), 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, "--publishers", path)
		}
		out, err := exec.Command(py, args...).CombinedOutput()
		if err != nil {
			return index{}, fmt.Errorf("%v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command(py, harness, "stop", "--dir", dir).Run() })
		data, err := os.ReadFile(filepath.Join(dir, "indexfront.env"))
		if err != nil {
			t.Fatal(err)
		}
		ix := index{vars: map[string]string{}}
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				ix.vars[k] = v
			}
		}
		return ix, nil
	}
	pub, _ := json.Marshal([]map[string]any{{
		"project": sampleName, "kind": "gitlab", "project_path": projectPath,
		"workflow_filepath": ".gitlab-ci.yml", "environment": environment,
	}})
	ix, err := start(string(pub))
	if err != nil {
		t.Fatalf("starting the index front with a GitLab publisher: %v", err)
	}
	return ix
}

// get fetches url and returns its body (failing on an error status).
func get(t *testing.T, url string) []byte {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return body
}

// readDotenv reads a dotenv report.
func readDotenv(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: line %q is not KEY=VALUE", path, line)
		}
		vars[k] = v
	}
	return vars
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
