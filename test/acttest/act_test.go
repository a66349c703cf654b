//go:build e2e

// Package acttest runs this repository's workflows end to end under act
// (nektos/act v0.2.89, host mode, offline) against the local Sigstore stack
// and the local package index: .github/workflows/release.yml builds the sample
// project and releases it with `uses: ./` (the checksum-verified
// dist/attest-publish-linux-amd64 of the code under test), then
// .github/workflows/verify.yml downloads it from the index and verifies it,
// and fails once a dist on the index is swapped.
//
// Remote actions are replaced by the stubs in testdata/stubs (act's
// --local-repository); the environment act does not set (OIDC token request,
// GITHUB_WORKFLOW_REF, ids, RUNNER_ENVIRONMENT) is injected consistently
// with test/oidcissuer's default claims (../shared/docs/actions-harness.md).
//
//	ATTEST_STACK_DIR=.stack ATTEST_VENV=.cache/venv \
//	  bash -c 'source .stack/stack.env && go test -count=1 -tags e2e -timeout 20m ./test/acttest/'
//
// It fails (never skips) when the stack, the venv or act is missing.
package acttest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
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
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// The identity the local issuer's default claims describe (test/oidcissuer).
const (
	owner        = "octo-org"
	repository   = "octo-org/octo-repo"
	repositoryID = "700000001"
	ownerID      = "9919"
	actor        = "octocat"
	actorID      = "583231"
	runID        = "12345678901"
	runAttempt   = "1"
	sampleName   = "attest-publish-sample"
	sampleVer    = "0.1.0"
)

// Pinned remote actions of the workflows and the stub standing in for each.
var stubs = map[string]string{
	"actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683":          "checkout",
	"actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065":      "setup-python",
	"actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02":   "upload-artifact",
	"actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093": "download-artifact",
}

type stackEnv struct {
	trustedRoot, signingConfig, issuer, tokenURL, requestToken, venv string
}

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
		t.Fatal("acttest: the local stack is not up (STACK_* / ACTIONS_ID_TOKEN_REQUEST_* / ATTEST_VENV missing): run through `make test`, or `source .stack/stack.env` with ATTEST_VENV=.cache/venv")
	}
	return s
}

// actBinary is act v0.2.89 from .cache/bin (or $ACT).
func actBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("ACT")
	if bin == "" {
		bin = filepath.Join(repoRoot(), ".cache", "bin", "act")
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("act is missing (%s: %v): install it with `make act-tools` (go install github.com/nektos/act@v0.2.89 into .cache/bin)", bin, err)
	}
	if !strings.Contains(string(out), "0.2.89") {
		t.Fatalf("act %s is %q, want v0.2.89: run `make act-tools`", bin, strings.TrimSpace(string(out)))
	}
	return bin
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

// copyRepo copies the working tree (tracked and untracked, not ignored files;
// dist/'s binaries left out) into a fresh git repository on branch main with
// an origin remote on github.com, and commits it.
func copyRepo(t *testing.T, dst string) string {
	t.Helper()
	root := repoRoot()
	files := run(t, root, nil, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	for _, f := range strings.Split(files, "\x00") {
		if f == "" || strings.HasPrefix(f, "dist/attest-publish-") {
			continue
		}
		src := filepath.Join(root, f)
		info, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		} else if err != nil {
			t.Fatal(err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string { return run(t, dst, nil, "git", args...) }
	git("init", "-q", "-b", "main")
	git("config", "user.email", "acttest@example.invalid")
	git("config", "user.name", "acttest")
	git("config", "commit.gpgsign", "false")
	git("add", "-A")
	git("commit", "-q", "-m", "code under test")
	git("remote", "add", "origin", "https://github.com/"+repository)
	return strings.TrimSpace(git("rev-parse", "HEAD"))
}

// buildDist builds dist/attest-publish-linux-amd64 in repo with the dist
// script (its flags, from the committed copy) and puts the binary's line into
// dist/SHA256SUMS, so the action runs a checksum-verified binary of the code
// under test. It returns the binary's sha256.
func buildDist(t *testing.T, repo string) string {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Fatalf("acttest runs the linux-amd64 binary under act's host mode; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	out := filepath.Join(t.TempDir(), "dist")
	run(t, repo, []string{"GOTOOLCHAIN=auto"}, "./scripts/dist.sh", "-o", out, "linux-amd64")
	name := "attest-publish-linux-amd64"
	data, err := os.ReadFile(filepath.Join(out, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "dist", name), data, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256File(t, filepath.Join(repo, "dist", name))
	// Keep the other targets' lines of a committed SHA256SUMS; replace ours.
	var lines []string
	if old, err := os.ReadFile(filepath.Join(repo, "dist", "SHA256SUMS")); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(old)), "\n") {
			if f := strings.Fields(l); len(f) == 2 && strings.TrimPrefix(f[1], "*") != name {
				lines = append(lines, l)
			}
		}
	}
	lines = append(lines, sum+"  "+name)
	sort.Slice(lines, func(i, j int) bool { return strings.Fields(lines[i])[1] < strings.Fields(lines[j])[1] })
	if err := os.WriteFile(filepath.Join(repo, "dist", "SHA256SUMS"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return sum
}

// index is a running test index (test/indexfront/harness.py).
type index struct{ url, simple, upload, packages string }

func startIndex(t *testing.T, s stackEnv) index {
	t.Helper()
	dir := t.TempDir()
	py := filepath.Join(s.venv, "bin", "python")
	harness := filepath.Join(repoRoot(), "test", "indexfront", "harness.py")
	run(t, repoRoot(), nil, py, harness, "start", "--dir", dir, "--issuer", s.issuer, "--trusted-root", s.trustedRoot)
	t.Cleanup(func() { _ = exec.Command(py, harness, "stop", "--dir", dir).Run() })
	data, err := os.ReadFile(filepath.Join(dir, "indexfront.env"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = v
		}
	}
	return index{url: vars["INDEXFRONT_URL"], simple: vars["INDEXFRONT_SIMPLE_URL"], upload: vars["INDEXFRONT_UPLOAD_URL"], packages: vars["INDEXFRONT_PACKAGES_DIR"]}
}

// harness is one act setup: the repository copy, stubs, env and caches.
type harness struct {
	t               *testing.T
	act, repo, head string
	work, artifacts string
	stack           stackEnv
	index           index
	runs            int // act runs so far (names the logs)
}

// env is the environment act does not set, consistent with the issuer's
// default claims (plus environment pypi, and the copy's commit), as KEY=VALUE.
func (h *harness) env(workflow string) []string {
	claims := "&environment=pypi&sha=" + h.head + "&workflow_sha=" + h.head + "&job_workflow_sha=" + h.head
	return []string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + h.stack.tokenURL + claims,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + h.stack.requestToken,
		"GITHUB_WORKFLOW_REF=" + repository + "/.github/workflows/" + workflow + "@refs/heads/main",
		"GITHUB_WORKFLOW_SHA=" + h.head,
		"GITHUB_REPOSITORY_ID=" + repositoryID,
		"GITHUB_REPOSITORY_OWNER_ID=" + ownerID,
		"GITHUB_ACTOR_ID=" + actorID,
		"RUNNER_ENVIRONMENT=github-hosted",
		"GITHUB_RUN_ID=" + runID,
		"GITHUB_RUN_ATTEMPT=" + runAttempt,
		"GITHUB_SERVER_URL=https://github.com",
		"GITHUB_API_URL=https://api.github.com",
		// Stubs: the Python venv for setup-python, the shared artifact store.
		"AP_STUB_PYTHON_BIN=" + filepath.Join(h.stack.venv, "bin"),
		"AP_STUB_ARTIFACTS=" + h.artifacts,
		// Every pip in the workflows talks to the local index only.
		"PIP_INDEX_URL=" + h.index.simple,
		"PIP_DISABLE_PIP_VERSION_CHECK=1",
	}
}

// envPath is where envFile writes the env file of workflow.
func (h *harness) envPath(workflow string) string {
	return filepath.Join(h.work, strings.TrimSuffix(workflow, ".yml")+".env")
}

// envFile writes env(workflow) and extra for act's --env-file (0600: it
// holds the token request token, as a runner's own environment does).
func (h *harness) envFile(workflow string, extra ...string) string {
	vars := append(h.env(workflow), extra...)
	path := h.envPath(workflow)
	if err := os.WriteFile(path, []byte(strings.Join(vars, "\n")+"\n"), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// checkClaims mints a token the way the binary will under act (the injected
// request URL and token, audience sigstore) and checks that its claims say
// what the injected GITHUB_* / RUNNER_* environment says, so the harness
// cannot drift from test/oidcissuer's defaults.
func (h *harness) checkClaims() {
	h.t.Helper()
	vars := map[string]string{}
	for _, kv := range h.env("release.yml") {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	req, err := http.NewRequest("GET", vars["ACTIONS_ID_TOKEN_REQUEST_URL"]+"&audience=sigstore", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+vars["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Value == "" {
		h.t.Fatalf("token endpoint: %v (status %s)", err, resp.Status)
	}
	tok, err := idtoken.Parse(body.Value)
	if err != nil {
		h.t.Fatal(err)
	}
	for claim, want := range map[string]string{
		"repository":          repository, // act: from the origin remote
		"repository_owner":    owner,
		"repository_id":       vars["GITHUB_REPOSITORY_ID"],
		"repository_owner_id": vars["GITHUB_REPOSITORY_OWNER_ID"],
		"actor":               actor, // act -a
		"actor_id":            vars["GITHUB_ACTOR_ID"],
		"workflow_ref":        vars["GITHUB_WORKFLOW_REF"],
		"job_workflow_ref":    vars["GITHUB_WORKFLOW_REF"],
		"workflow_sha":        vars["GITHUB_WORKFLOW_SHA"],
		"sha":                 h.head, // act: GITHUB_SHA is the copy's HEAD
		"ref":                 "refs/heads/main",
		"event_name":          "workflow_dispatch",
		"run_id":              vars["GITHUB_RUN_ID"],
		"run_attempt":         vars["GITHUB_RUN_ATTEMPT"],
		"runner_environment":  vars["RUNNER_ENVIRONMENT"],
		"environment":         "pypi", // the publish job's environment
	} {
		if got := tok.Claims.String(claim); got != want {
			h.t.Errorf("token claim %s = %q, but the harness injects %q", claim, got, want)
		}
	}
}

// actRun is the outcome of one act run.
type actRun struct {
	jobs   map[string]string // job id -> jobResult
	log    string            // every msg, in order
	output string            // raw stdout+stderr
	err    error
}

// actOptions change how runActWith runs act.
type actOptions struct {
	// extraEnv are entries added to the job environment's env file.
	extraEnv []string
	// githubToken, when set, is the GITHUB_TOKEN secret (act reads it
	// from its own environment, so it is not on act's command line).
	githubToken string
	// insecureSecrets leaves secrets visible in act's output, for a test
	// that models the runner's masking itself.
	insecureSecrets bool
	// isolate keeps the test's own token variables (the stack's
	// ACTIONS_ID_TOKEN_REQUEST_*, GITHUB_TOKEN) out of act's environment.
	isolate bool
}

// runAct runs one workflow_dispatch workflow under act in host mode.
func (h *harness) runAct(workflow string, inputs map[string]string) actRun {
	h.t.Helper()
	return h.runActWith(workflow, inputs, actOptions{})
}

// runActWith runs one workflow_dispatch workflow under act in host mode,
// as opts say.
func (h *harness) runActWith(workflow string, inputs map[string]string, opts actOptions) actRun {
	h.t.Helper()
	envFile := h.envFile(workflow, opts.extraEnv...)
	args := []string{"workflow_dispatch", "-W", ".github/workflows/" + workflow,
		"-P", "ubuntu-latest=-self-hosted", "-P", "ubuntu-24.04=-self-hosted",
		"--no-cache-server", "--action-offline-mode", "--action-cache-path", filepath.Join(h.work, "act-cache"),
		"--env-file", envFile, "-a", actor, "--json"}
	if opts.insecureSecrets {
		args = append(args, "--insecure-secrets")
	}
	if opts.githubToken != "" {
		args = append(args, "-s", "GITHUB_TOKEN")
	}
	stubDir := filepath.Join(h.repo, "testdata", "stubs")
	refs := make([]string, 0, len(stubs))
	for ref := range stubs {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		args = append(args, "--local-repository", ref+"="+filepath.Join(stubDir, stubs[ref]))
	}
	keys := make([]string, 0, len(inputs))
	for k := range inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--input", k+"="+inputs[k])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.act, args...)
	cmd.Dir = h.repo
	home := filepath.Join(h.work, "home")
	_ = os.MkdirAll(home, 0o755)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if opts.isolate && (strings.HasPrefix(k, "ACTIONS_ID_TOKEN_REQUEST_") || k == "GITHUB_TOKEN") || k == "HOME" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "HOME="+home)
	if opts.githubToken != "" {
		cmd.Env = append(cmd.Env, "GITHUB_TOKEN="+opts.githubToken)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Stdin = nil
	start := time.Now()
	err := cmd.Run()
	h.t.Logf("act %s: %v in %s", workflow, err, time.Since(start).Round(time.Millisecond))
	r := actRun{jobs: map[string]string{}, output: out.String(), err: err}
	var log strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			log.WriteString(sc.Text() + "\n")
			continue
		}
		job, _ := line["jobID"].(string)
		if job == "" {
			job, _ = line["job"].(string)
		}
		if res, ok := line["jobResult"].(string); ok {
			r.jobs[job] = res
		}
		if msg, ok := line["msg"].(string); ok {
			fmt.Fprintf(&log, "[%s] %s\n", job, strings.TrimRight(msg, "\n"))
		}
	}
	r.log = log.String()
	h.runs++
	logFile := filepath.Join(artifactsDir(h.t), fmt.Sprintf("%d-%s.log", h.runs, strings.TrimSuffix(workflow, ".yml")))
	if err := os.WriteFile(logFile, []byte(r.log), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// artifactsDir is test/artifacts/acttest (kept after the run for reading).
func artifactsDir(t *testing.T) string {
	dir := filepath.Join(repoRoot(), "test", "artifacts", "acttest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (r actRun) requireSuccess(t *testing.T, jobs ...string) {
	t.Helper()
	for _, j := range jobs {
		if r.jobs[j] != "success" {
			t.Fatalf("job %q: jobResult %q (want success; all: %v; act: %v)\n%s", j, r.jobs[j], r.jobs, r.err, tail(r.log, 120))
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// outputLine returns the value of the first "key=value" message.
func outputLine(log, key string) string {
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, "] "+key+"="); i >= 0 {
			return strings.TrimSpace(l[i+len(key)+3:])
		}
	}
	return ""
}

func TestReleaseAndVerifyUnderAct(t *testing.T) {
	s := loadStack(t)
	h := &harness{t: t, act: actBinary(t), stack: s, work: t.TempDir()}
	h.repo = filepath.Join(h.work, "repo")
	h.artifacts = filepath.Join(h.work, "artifacts")
	h.head = copyRepo(t, h.repo)
	binSum := buildDist(t, h.repo)
	h.index = startIndex(t, s)
	h.checkClaims()

	// release.yml: build job (sample project → artifact), publish job (uses: ./).
	rel := h.runAct("release.yml", map[string]string{
		"repository-url": h.index.upload,
		"signing-config": s.signingConfig,
		"trusted-root":   s.trustedRoot,
	})
	rel.requireSuccess(t, "build", "publish")

	// The action ran the binary we built, after checking it against SHA256SUMS.
	checked := "dist/attest-publish-linux-amd64 sha256 " + binSum + " (matches dist/SHA256SUMS)"
	if !strings.Contains(rel.log, checked) {
		t.Errorf("the log does not show the checksum check of the binary under test (want %q)", checked)
	}
	// Outputs, echoed by the workflow's last step.
	var bundles, attestations, published []string
	for key, dst := range map[string]*[]string{"bundles": &bundles, "attestations": &attestations, "published-urls": &published} {
		v := outputLine(rel.log, key)
		if err := json.Unmarshal([]byte(v), dst); err != nil {
			t.Errorf("output %s = %q: not a JSON list: %v", key, v, err)
		}
	}
	if len(bundles) != 2 || len(attestations) < 2 || len(published) != 2 {
		t.Errorf("outputs: bundles %v, attestations %v, published-urls %v (want 2 dists each)", bundles, attestations, published)
	}
	for _, u := range published {
		if !strings.HasPrefix(u, h.index.url) {
			t.Errorf("published URL %q is not on the test index %s", u, h.index.url)
		}
	}
	if p := outputLine(rel.log, "provenance-bundle-path"); !strings.HasSuffix(p, ".sigstore.json") {
		t.Errorf("output provenance-bundle-path = %q", p)
	}
	if v := outputLine(rel.log, "verified"); v != "true" {
		t.Errorf("output verified = %q, want true", v)
	}

	// The release installs from the index into a fresh venv.
	venv := filepath.Join(h.work, "consumer")
	run(t, h.work, nil, filepath.Join(s.venv, "bin", "python"), "-m", "venv", venv)
	run(t, h.work, nil, filepath.Join(venv, "bin", "pip"), "install", "-q", "--no-deps", "--index-url", h.index.simple, sampleName+"=="+sampleVer)
	if got := strings.TrimSpace(run(t, h.work, nil, filepath.Join(venv, "bin", "python"), "-c", "import attest_publish_sample as m; print(m.__version__)")); got != sampleVer {
		t.Errorf("installed version %q, want %s", got, sampleVer)
	}

	// verify.yml: every file of the release from the index (from-index),
	// verified against the publisher.
	verifyInputs := map[string]string{
		"index-url":               h.index.simple,
		"trusted-root":            s.trustedRoot,
		"certificate-oidc-issuer": s.issuer,
	}
	ok := h.runAct("verify.yml", verifyInputs)
	ok.requireSuccess(t, "verify")
	if v := outputLine(ok.log, "verified"); v != "true" {
		t.Errorf("verify.yml: verified = %q, want true", v)
	}
	if !strings.Contains(ok.log, "] OK ") || !strings.Contains(ok.log, "publisher") {
		t.Errorf("verify.yml: no OK verdict with the publisher check:\n%s", tail(ok.log, 40))
	}
	if !strings.Contains(ok.log, checked) {
		t.Errorf("verify.yml: the log does not show the checksum check of the binary under test (want %q)", checked)
	}

	// A binary that does not match dist/SHA256SUMS is never run.
	bin := filepath.Join(h.repo, "dist", "attest-publish-linux-amd64")
	orig, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte{}, orig...)
	tampered[len(tampered)/2] ^= 0xff
	if err := os.WriteFile(bin, tampered, 0o755); err != nil {
		t.Fatal(err)
	}
	refused := h.runAct("verify.yml", verifyInputs)
	if err := os.WriteFile(bin, orig, 0o755); err != nil {
		t.Fatal(err)
	}
	if refused.jobs["verify"] != "failure" || !strings.Contains(refused.log, "checksum mismatch for dist/attest-publish-linux-amd64") {
		t.Errorf("a tampered binary: jobResult %q, want failure with a checksum mismatch\n%s", refused.jobs["verify"], tail(refused.log, 40))
	}
	if strings.Contains(refused.log, "] OK ") || strings.Contains(refused.log, "] FAIL ") {
		t.Error("the tampered binary was run")
	}

	// Swap the wheel on the index for one with the same name and other bytes:
	// verification must fail.
	wheels, _ := filepath.Glob(filepath.Join(h.index.packages, "*.whl"))
	if len(wheels) != 1 {
		t.Fatalf("want one wheel in %s, got %v", h.index.packages, wheels)
	}
	swapWheel(t, wheels[0])
	bad := h.runAct("verify.yml", verifyInputs)
	if bad.jobs["verify"] != "failure" {
		t.Fatalf("verify.yml after swapping %s: jobResult %q, want failure\n%s", filepath.Base(wheels[0]), bad.jobs["verify"], tail(bad.log, 80))
	}
	if !strings.Contains(bad.log, "] FAIL ") || !strings.Contains(bad.log, "subject check failed") {
		t.Errorf("the failed verification does not name the subject check:\n%s", tail(bad.log, 60))
	}
	// The sdist is untouched and may verify; the swapped wheel must not.
	for _, line := range strings.Split(bad.log, "\n") {
		if strings.Contains(line, "] OK ") && strings.Contains(line, ".whl") {
			t.Errorf("the swapped wheel got an OK verdict: %s", line)
		}
	}
}

// swapWheel rewrites a wheel with one more file in it: a valid zip with the
// same name, other bytes (what a compromised index could serve).
func swapWheel(t *testing.T, path string) {
	t.Helper()
	r, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		dst, err := w.CreateHeader(&f.FileHeader)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	r.Close()
	extra, err := w.Create("attest_publish_sample/injected.py")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(extra, "print('not what was signed')")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
