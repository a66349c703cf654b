//go:build e2e

package gitlabci

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// pipeline is one throwaway copy of a project using the example pipeline.
type pipeline struct {
	t          *testing.T
	gcl        []string
	repo, head string
	vars       string   // the variables file (tokens scoped to the environment)
	flags      []string // --variable and --input flags of every run
}

// newPipeline lays out the project: the sample project at the root,
// templates/ pinned to bin, the example as .gitlab-ci.yml, one commit on
// main tagged v0.1.0, origin on gitlab.com/octo-org/octo-repo.
func newPipeline(t *testing.T, work, bin string) *pipeline {
	t.Helper()
	root := repoRoot()
	repo := filepath.Join(work, "repo")
	run(t, root, nil, "cp", "-r", filepath.Join(root, "testdata", "sampleproject"), repo)
	run(t, root, nil, "cp", "-r", filepath.Join(root, "templates"), filepath.Join(repo, "templates"))
	// The templates pin the binary under test (its SHA-256; arm64 keeps the
	// committed pin), written by the script dist.sh uses.
	sums := filepath.Join(work, "SHA256SUMS")
	committed, err := os.ReadFile(filepath.Join(root, "dist", "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{sha256File(t, bin) + "  attest-publish-linux-" + runtime.GOARCH}
	for _, l := range strings.Split(string(committed), "\n") {
		if f := strings.Fields(l); len(f) == 2 && strings.HasPrefix(f[1], "attest-publish-linux-") && f[1] != "attest-publish-linux-"+runtime.GOARCH {
			lines = append(lines, l)
		}
	}
	if err := os.WriteFile(sums, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, root, nil, "bash", "scripts/template-pins.sh", sums, filepath.Join(repo, "templates", "release.yml"), filepath.Join(repo, "templates", "verify.yml"))
	git := func(args ...string) string {
		return run(t, repo, []string{"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z"}, "git", args...)
	}
	git("init", "-q", "-b", "main")
	git("-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "-c", "commit.gpgsign=false", "add", "-A")
	git("-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "release "+tag)
	git("tag", tag)
	git("remote", "add", "origin", "https://"+serverFQDN+"/"+projectPath+".git")
	head := strings.TrimSpace(git("rev-parse", "HEAD"))
	// The example, with its components at this commit of this project
	// (gitlab-ci-local's local component rule), built without isolation.
	example, err := os.ReadFile(filepath.Join(root, "examples", ".gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ci := string(example)
	for _, name := range []string{"release", "verify"} {
		old := "$CI_SERVER_FQDN/attest-publish/attest-publish/" + name + "@"
		i := strings.Index(ci, old)
		if i < 0 {
			t.Fatalf("examples/.gitlab-ci.yml does not include %s<sha>", old)
		}
		ci = ci[:i] + "$CI_SERVER_FQDN/" + projectPath + "/" + name + "@" + head + ci[i+len(old)+40:]
	}
	if !strings.Contains(ci, "- python -m build\n") {
		t.Fatal("examples/.gitlab-ci.yml: no `python -m build` line")
	}
	ci = strings.Replace(ci, "- python -m build\n", "- python -m build --no-isolation\n", 1)
	if err := os.WriteFile(filepath.Join(repo, ".gitlab-ci.yml"), []byte(ci), 0o644); err != nil {
		t.Fatal(err)
	}
	return &pipeline{t: t, repo: repo, head: head}
}

// glRun is one gitlab-ci-local run.
type glRun struct {
	out string
	err error
}

// run runs gitlab-ci-local in the copy with the pipeline's flags and args.
func (p *pipeline) run(args ...string) glRun {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	all := append([]string{p.gcl[1], "--force-shell-executor", "--shell-isolation", "--no-color", "--max-job-name-padding", "0"}, p.flags...)
	if p.vars != "" {
		all = append(all, "--variables-file", p.vars)
	}
	cmd := exec.CommandContext(ctx, p.gcl[0], append(all, args...)...)
	cmd.Dir = p.repo
	home := filepath.Join(filepath.Dir(p.repo), "home")
	_ = os.MkdirAll(home, 0o755)
	// The test's own token request variables stay out of the jobs.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "ACTIONS_ID_TOKEN_REQUEST_") && k != "HOME" && !strings.HasPrefix(k, "CI_") && k != "GITLAB_CI" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	p.t.Logf("gitlab-ci-local %s: %v in %s", strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond))
	return glRun{out: string(out), err: err}
}

// mint asks the local issuer for a GitLab-shaped token for audience with
// the claims of this pipeline.
func mint(t *testing.T, s stackEnv, audience string, claims map[string]string) string {
	t.Helper()
	q := url.Values{"audience": {audience}, "kind": {"gitlab"}}
	for k, v := range claims {
		q.Set(k, v)
	}
	sep := "&"
	if !strings.Contains(s.tokenURL, "?") {
		sep = "?"
	}
	req, err := http.NewRequest("GET", s.tokenURL+sep+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.requestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Value == "" {
		t.Fatalf("token endpoint: %v (%s)", err, resp.Status)
	}
	return body.Value
}

// tokens mints the release job's two tokens, writes them (and extra) to a
// variables file scoped to the release environment, then checks their
// claims against the CI variables gitlab-ci-local gives a job of this
// pipeline, and that a job outside the environment does not get them.
func (p *pipeline) tokens(s stackEnv, extra map[string]string) {
	t := p.t
	t.Helper()
	claims := map[string]string{
		"project_path": projectPath, "namespace_path": "octo-org", "project_id": "1217",
		"sha": p.head, "ci_config_sha": p.head, "ref": tag, "ref_type": "tag", "ref_path": "refs/tags/" + tag,
		"ci_config_ref_uri": serverFQDN + "/" + projectPath + "//.gitlab-ci.yml@refs/tags/" + tag,
		"environment":       environment, "environment_protected": "true", "pipeline_source": "push",
	}
	sig, pypi := mint(t, s, "sigstore", claims), mint(t, s, "pypi", claims)
	vars := map[string]any{}
	for k, v := range map[string]string{"SIGSTORE_ID_TOKEN": sig, "PYPI_ID_TOKEN": pypi} {
		vars[k] = map[string]any{"type": "variable", "values": map[string]string{environment: v}}
	}
	for k, v := range extra {
		vars[k] = map[string]any{"type": "variable", "values": map[string]string{environment: v}}
	}
	out, err := yaml.Marshal(vars)
	if err != nil {
		t.Fatal(err)
	}
	p.vars = filepath.Join(filepath.Dir(p.repo), "variables.yml")
	if err := os.WriteFile(p.vars, out, 0o600); err != nil {
		t.Fatal(err)
	}
	// What gitlab-ci-local says about the pipeline, from a job of its own
	// (no environment: it must not see the tokens).
	work := filepath.Dir(p.repo)
	dump := "dump:\n  script:\n    - env | grep -E '^(CI_|[A-Z]+_ID_TOKEN=)' | sort > '" + filepath.Join(work, "ci.env") + "'\n"
	if err := os.WriteFile(filepath.Join(work, "dump.yml"), []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := p.run("--file", "../dump.yml", "dump"); r.err != nil {
		t.Fatalf("env dump: %v\n%s", r.err, r.out)
	}
	ci := map[string]string{}
	data, _ := os.ReadFile(filepath.Join(work, "ci.env"))
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			ci[k] = v
		}
	}
	tok, err := idtoken.Parse(sig)
	if err != nil {
		t.Fatal(err)
	}
	configPath := ci["CI_CONFIG_PATH"]
	if configPath == "" {
		configPath = ".gitlab-ci.yml" // gitlab-ci-local sets none; GitLab's default
	}
	for claim, want := range map[string]string{
		"project_path":      ci["CI_PROJECT_PATH"],
		"namespace_path":    ci["CI_PROJECT_NAMESPACE"],
		"project_id":        ci["CI_PROJECT_ID"],
		"sha":               ci["CI_COMMIT_SHA"],
		"ref":               ci["CI_COMMIT_REF_NAME"],
		"pipeline_source":   ci["CI_PIPELINE_SOURCE"],
		"ci_config_ref_uri": ci["CI_SERVER_FQDN"] + "/" + ci["CI_PROJECT_PATH"] + "//" + configPath + "@refs/tags/" + ci["CI_COMMIT_TAG"],
	} {
		if got := tok.Claims.String(claim); got != want || want == "" {
			t.Errorf("token claim %s = %q, but gitlab-ci-local reports %q", claim, got, want)
		}
	}
	if ci["SIGSTORE_ID_TOKEN"] != "" || ci["PYPI_ID_TOKEN"] != "" {
		t.Error("a job outside the release environment got the tokens")
	}
}
