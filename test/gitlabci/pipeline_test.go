//go:build e2e

package gitlabci

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestExamplePipelineUnderGitLabCILocal runs the example pipeline as a tag
// pipeline (build, release, verify), then checks the refusals: an input
// outside its options (GitLab's own check, in the template's spec) and a
// binary whose SHA-256 is not the template's pin.
func TestExamplePipelineUnderGitLabCILocal(t *testing.T) {
	s := loadStack(t)
	work := t.TempDir()
	bin := buildBinary(t, work)
	binSum := sha256File(t, bin)
	p := newPipeline(t, work, bin)
	p.gcl = gitlabCILocal(t)
	ix := startIndex(t, s)

	// A tag pipeline: gitlab-ci-local sets no CI_COMMIT_TAG of its own.
	p.flags = []string{
		"--variable", "CI_COMMIT_TAG=" + tag, "--variable", "CI_COMMIT_REF_NAME=" + tag, "--unset-variable", "CI_COMMIT_BRANCH",
		"--ignore-predefined-vars", "CI_COMMIT_REF_NAME",
		"--variable", "PATH=" + filepath.Join(s.venv, "bin") + ":" + os.Getenv("PATH"),
		"--variable", "PIP_NO_INDEX=1", "--variable", "PIP_DISABLE_PIP_VERSION_CHECK=1",
		"--input", "binary-url=file://" + filepath.Join(work, "attest-publish-linux-{arch}"),
		"--input", "signing-config=" + s.signingConfig,
		"--input", "trusted-root=" + s.trustedRoot,
		"--input", "certificate-oidc-issuer=" + s.issuer + "/gitlab",
	}
	p.flags = append(p.flags, "--input", "repository-url="+ix.vars["INDEXFRONT_UPLOAD_URL"])
	p.tokens(s, nil)

	r := p.run()
	logPath := filepath.Join(artifactsDir(t), "pipeline.log")
	_ = os.WriteFile(logPath, []byte(r.out), 0o644)
	if r.err != nil {
		t.Fatalf("the pipeline failed: %v\n%s", r.err, tail(r.out, 150))
	}
	for _, job := range []string{"build", "attest-publish-release", "attest-publish-verify"} {
		if !strings.Contains(r.out, "PASS  "+job) {
			t.Errorf("job %s did not pass (log: %s)", job, logPath)
		}
	}
	checked := "attest-publish: attest-publish-linux-" + runtime.GOARCH + " sha256 " + binSum + " (matches the pin in the template)"
	if strings.Count(r.out, checked) != 2 {
		t.Errorf("the release and verify jobs do not both show the pin check of the binary under test (%q)", checked)
	}
	// gitlab-ci-local parses the section lines as GitLab does, and shows
	// each section as "<name>_started" and "<name> took …".
	for _, stage := range []string{"sign", "verify", "publish"} {
		name := "attest_publish_" + stage
		if !strings.Contains(r.out, "attest-publish-release "+name+"_started\n") || !strings.Contains(r.out, "attest-publish-release "+name+" took ") {
			t.Errorf("the release job log has no section %s", name)
		}
	}

	// The release job's reports: signed, verified, live on the index.
	rel := readDotenv(t, p.artifact(t, "attest-publish-release", "attest-publish.env"))
	identity := "https://" + serverFQDN + "/" + projectPath + "//.gitlab-ci.yml@refs/tags/" + tag
	var bundles, attestations, published []string
	for k, dst := range map[string]*[]string{"AP_BUNDLES": &bundles, "AP_ATTESTATIONS": &attestations, "AP_PUBLISHED_URLS": &published} {
		if err := json.Unmarshal([]byte(rel[k]), dst); err != nil {
			t.Errorf("release %s = %q: %v", k, rel[k], err)
		}
	}
	// Two dists: a bundle and a publish attestation each (and, once GitLab
	// signing makes SLSA provenance, a .slsa.attestation each).
	publishAtt := 0
	for _, a := range attestations {
		if strings.HasSuffix(a, ".publish.attestation") {
			publishAtt++
		} else if !strings.HasSuffix(a, ".slsa.attestation") {
			t.Errorf("unexpected attestation %s", a)
		}
	}
	if rel["AP_VERIFIED"] != "true" || len(bundles) != 2 || publishAtt != 2 {
		t.Errorf("release outputs: %v", rel)
	}
	if len(published) != 2 {
		t.Errorf("published-urls %v, want both dists", published)
	}
	for _, u := range published {
		get(t, u)
	}
	// The front took both files through its GitLab publisher (trusted
	// publishing with the job's PYPI_ID_TOKEN), each with its attestations,
	// which it verified with pypi-attestations' GitLab policy.
	var uploads []struct {
		Filename     string         `json:"filename"`
		Attestations int            `json:"attestations"`
		Publisher    map[string]any `json:"publisher"`
	}
	if err := json.Unmarshal(get(t, ix.vars["INDEXFRONT_URL"]+"/_/front/uploads"), &uploads); err != nil {
		t.Fatal(err)
	}
	if len(uploads) != 2 {
		t.Errorf("the front took %d uploads, want 2: %+v", len(uploads), uploads)
	}
	for _, u := range uploads {
		if u.Attestations < 1 || fmt.Sprint(u.Publisher["kind"]) != "gitlab" {
			t.Errorf("upload %s: %d attestation(s), publisher %v", u.Filename, u.Attestations, u.Publisher)
		}
	}
	var summary struct {
		Report struct {
			Signer struct{ SAN, Issuer string } `json:"signer"`
		} `json:"report"`
	}
	data, err := os.ReadFile(p.artifact(t, "attest-publish-release", "attest-publish-summary.json"))
	if err != nil || json.Unmarshal(data, &summary) != nil {
		t.Fatalf("release JSON summary: %v", err)
	}
	if summary.Report.Signer.SAN != identity || summary.Report.Signer.Issuer != s.issuer+"/gitlab" {
		t.Errorf("signer %+v, want %s from %s/gitlab", summary.Report.Signer, identity, s.issuer)
	}
	md, _ := os.ReadFile(p.artifact(t, "attest-publish-release", "attest-publish-summary.md"))
	if !strings.Contains(string(md), "## ✓ attest-publish release: attest-publish-sample 0.1.0") {
		t.Errorf("release summary:\n%s", md)
	}
	// The consumer's verify job: every dist, against the pipeline's identity.
	ver := readDotenv(t, p.artifact(t, "attest-publish-verify", "attest-publish.env"))
	if ver["AP_VERIFIED"] != "true" || !strings.Contains(r.out, "OK   dist/"+strings.ReplaceAll(sampleName, "-", "_")) {
		t.Errorf("verify outputs: %v", ver)
	}

	// The other way in: the template by URL with its integrity (computed as
	// examples/.gitlab-ci.yml says), here the verify component served from
	// the copy; its job runs the same pinned binary and verifies again.
	p.remoteVerify(t, s)

	// GitLab's options check: mode is one of release, sign, publish.
	bad := p.run("--list", "--input", "mode=deploy")
	if bad.err == nil || !strings.Contains(bad.out, "`mode` input: `deploy` cannot be used because it is not in the list of allowed options") {
		t.Errorf("mode=deploy was not refused by the spec's options:\n%s", tail(bad.out, 20))
	}
	// A binary that is not the pinned one is never run.
	tampered, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	tampered[len(tampered)/2] ^= 0xff
	if err := os.WriteFile(bin, tampered, 0o755); err != nil {
		t.Fatal(err)
	}
	refused := p.run("attest-publish-verify")
	if refused.err == nil || !strings.Contains(refused.out, "checksum mismatch for file://") || strings.Contains(refused.out, "section_start:") {
		t.Errorf("the tampered binary was not refused before running (%v):\n%s", refused.err, tail(refused.out, 30))
	}
}

// artifact is a file a job of the last run left in its isolated build
// directory (gitlab-ci-local --shell-isolation).
func (p *pipeline) artifact(t *testing.T, job, name string) string {
	t.Helper()
	for _, dir := range []string{
		filepath.Join(p.repo, ".gitlab-ci-local", "artifacts", job),
		filepath.Join(p.repo, ".gitlab-ci-local", "builds", job),
	} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	t.Fatalf("job %s left no %s", job, name)
	return ""
}

// artifactsDir is test/artifacts/gitlabci (kept after the run for reading).
func artifactsDir(t *testing.T) string {
	dir := filepath.Join(repoRoot(), "test", "artifacts", "gitlabci")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// remoteVerify includes templates/verify.yml with include:remote and
// integrity (gitlab-ci-local checks the integrity's form, GitLab its
// value) and runs its job.
func (p *pipeline) remoteVerify(t *testing.T, s stackEnv) {
	t.Helper()
	tpl := filepath.Join(p.repo, "templates", "verify.yml")
	data, err := os.ReadFile(tpl)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sri := "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	// The command examples/.gitlab-ci.yml gives, on the same bytes.
	out := run(t, p.repo, nil, "sh", "-c", "cat templates/verify.yml | openssl dgst -sha256 -binary | openssl base64 -A")
	if "sha256-"+strings.TrimSpace(out) != sri {
		t.Errorf("the documented integrity command gives sha256-%s, want %s", out, sri)
	}
	// The dists with their bundles, as the release job left them.
	dists := filepath.Join(filepath.Dir(p.artifact(t, "attest-publish-release", "attest-publish.env")), "dist")
	srv := httptest.NewServer(http.FileServer(http.Dir(p.repo)))
	defer srv.Close()
	ci := "stages: [verify]\ninclude:\n  - remote: " + srv.URL + "/templates/verify.yml\n    integrity: " + sri + "\n" +
		"    inputs:\n      stage: verify\n      run-if: $CI_COMMIT_TAG\n      packages-dir: " + dists + "\n" +
		"      certificate-identity: https://$CI_SERVER_FQDN/$CI_PROJECT_PATH//.gitlab-ci.yml@refs/tags/$CI_COMMIT_TAG\n"
	if err := os.WriteFile(filepath.Join(p.repo, "remote.yml"), []byte(ci), 0o644); err != nil {
		t.Fatal(err)
	}
	r := p.run("--file", "remote.yml", "attest-publish-verify")
	_ = os.WriteFile(filepath.Join(artifactsDir(t), "remote.log"), []byte(r.out), 0o644)
	if r.err != nil || !strings.Contains(r.out, "PASS  attest-publish-verify") || !strings.Contains(r.out, "(matches the pin in the template)") {
		t.Errorf("the verify job from include:remote failed (%v):\n%s", r.err, tail(r.out, 40))
	}
}
