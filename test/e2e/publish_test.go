//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// startIndex starts pypiserver behind our trusted-publishing front (PyPI's
// exchange and attestation checks, with pypi-attestations) and returns the
// URLs from its env file.
func startIndex(t *testing.T, extra ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	harness := filepath.Join(repoRoot, "test", "indexfront", "harness.py")
	args := append([]string{harness, "start", "--dir", dir, "--issuer", env.issuer, "--trusted-root", env.trustedRoot}, extra...)
	if out, err := python(t, args...); err != nil {
		t.Fatalf("starting the index: %v\n%s", err, out)
	}
	t.Cleanup(func() { python(t, harness, "stop", "--dir", dir) })
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
	return vars
}

// publish runs `attest-publish publish` in exactly the given environment.
func publish(t *testing.T, environ map[string]string, args ...string) result {
	t.Helper()
	return command(t, environ, "publish", args...)
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return body
}

// TestPublishWithTrustedPublishing: sign, then publish through the front
// (audience → mint-token → upload with both attestations, each verified by
// pypi-attestations against the publisher), then install and download from
// the index and compare digests with what was signed.
func TestPublishWithTrustedPublishing(t *testing.T) {
	index := startIndex(t)
	dir := copyDists(t)
	if res := sign(t, runnerEnv(""), append(trustArgs(env.signingConfig), "--packages-dir", dir)...); res.code != 0 {
		t.Fatalf("sign failed:\n%s", res.stderr)
	}
	res := publish(t, runnerEnv(""), "--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir, "--trusted-root", env.trustedRoot)
	if res.code != 0 {
		t.Fatalf("publish failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("publish output:\n%s%s", res.stdout, res.stderr)
	// The token may appear only in the ::add-mask:: command that hides it.
	masked := 0
	for _, line := range strings.Split(res.stdout+res.stderr, "\n") {
		if strings.HasPrefix(line, "::add-mask::pypi-") {
			masked++
		} else if strings.Contains(line, "pypi-") {
			t.Errorf("the minted API token appears in the output: %q", line)
		}
	}
	if masked == 0 {
		t.Error("the minted token was not masked (::add-mask::)")
	}

	for _, dist := range distFiles(t, dir) {
		name := filepath.Base(dist)
		want, err := os.ReadFile(dist)
		if err != nil {
			t.Fatal(err)
		}
		got := get(t, index["INDEXFRONT_URL"]+"/packages/"+name)
		if sha256.Sum256(got) != sha256.Sum256(want) {
			t.Errorf("%s on the index differs from what was signed", name)
		}
		// PyPI's Integrity API serves what was accepted; verify it.
		prov := filepath.Join(t.TempDir(), name+".provenance.json")
		if err := os.WriteFile(prov, get(t, index["INDEXFRONT_URL"]+"/integrity/attest-publish-sample/0.1.0/"+name+"/provenance"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := verify(t, "--attestation", prov, "--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer,
			"--publisher-kind", "github", "--publisher-repository", repository, "--publisher-workflow", "release.yml", dist); code != 0 {
			t.Errorf("the index's provenance for %s does not verify:\n%s", name, out)
		}
	}

	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := python(t, "-m", "venv", venv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := tool(t, filepath.Join(venv, "bin", "pip"), "install", "-q", "--no-deps", "--index-url", index["INDEXFRONT_SIMPLE_URL"], "attest-publish-sample==0.1.0"); err != nil {
		t.Fatalf("pip install from the index: %v\n%s", err, out)
	}
	if out, err := tool(t, filepath.Join(venv, "bin", "python"), "-c", "import attest_publish_sample as m; print(m.__version__)"); err != nil || strings.TrimSpace(out) != "0.1.0" {
		t.Errorf("installed package: %v %q", err, out)
	}
	dl := t.TempDir()
	if out, err := tool(t, filepath.Join(venv, "bin", "pip"), "download", "-q", "--no-deps", "--only-binary", ":all:", "-d", dl, "--index-url", index["INDEXFRONT_SIMPLE_URL"], "attest-publish-sample==0.1.0"); err != nil {
		t.Fatalf("pip download: %v\n%s", err, out)
	}
	wheels, _ := filepath.Glob(filepath.Join(dl, "*.whl"))
	if len(wheels) != 1 {
		t.Fatalf("pip download got %v", wheels)
	}
	if digest(t, wheels[0]) != digest(t, filepath.Join(dir, filepath.Base(wheels[0]))) {
		t.Error("pip download's wheel differs from the signed one")
	}
}

// TestPublishWrongWorkflow: a token from another workflow file is refused
// by the index; the diagnosis shows the claim that does not match.
func TestPublishWrongWorkflow(t *testing.T) {
	index := startIndex(t)
	dir := copyDists(t)
	if res := sign(t, runnerEnv(""), append(trustArgs(env.signingConfig), "--packages-dir", dir)...); res.code != 0 {
		t.Fatalf("sign failed:\n%s", res.stderr)
	}
	other := runnerEnv("&job_workflow_ref=octo-org/octo-repo/.github/workflows/other.yml@refs/heads/main")
	res := publish(t, other, "--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir, "--trusted-root", env.trustedRoot,
		"--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer)
	if res.code != 1 {
		t.Fatalf("publish exit %d, want 1:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, w := range []string{"invalid-publisher", "other.yml"} {
		if !strings.Contains(res.stdout+res.stderr, w) {
			t.Errorf("diagnosis does not mention %q:\n%s\n%s", w, res.stdout, res.stderr)
		}
	}
	if uploads, _ := os.ReadDir(index["INDEXFRONT_PACKAGES_DIR"]); len(uploads) != 0 {
		t.Errorf("files reached the index: %v", uploads)
	}
}

func digest(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// signedRelease copies the sample dists and signs them as the runner would.
func signedRelease(t *testing.T) string {
	t.Helper()
	dir := copyDists(t)
	if res := sign(t, runnerEnv(""), append(trustArgs(env.signingConfig), "--packages-dir", dir)...); res.code != 0 {
		t.Fatalf("sign failed:\n%s", res.stderr)
	}
	return dir
}

// TestPublishWrongEnvironment: the publisher is bound to the "pypi"
// environment; a job without it is refused, and the claim table says so.
func TestPublishWrongEnvironment(t *testing.T) {
	publishers := filepath.Join(t.TempDir(), "publishers.json")
	if err := os.WriteFile(publishers, []byte(`[{"project":"attest-publish-sample","kind":"github","repository":"octo-org/octo-repo",
"repository_owner":"octo-org","repository_owner_id":"9919","workflow":"release.yml","environment":"pypi"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	index := startIndex(t, "--publishers", publishers)
	dir := signedRelease(t)
	res := publish(t, runnerEnv("&environment=staging"), "--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir,
		"--trusted-root", env.trustedRoot, "--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer)
	if res.code != 1 || !strings.Contains(res.stderr, "invalid-publisher") || !strings.Contains(res.stderr, "staging") {
		t.Fatalf("exit %d, want 1 with invalid-publisher and the environment claim:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// With the right environment the same release goes through.
	if res := publish(t, runnerEnv("&environment=pypi"), "--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir,
		"--trusted-root", env.trustedRoot, "--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer); res.code != 0 {
		t.Fatalf("publish with environment pypi failed:\n%s\n%s", res.stdout, res.stderr)
	}
}

// TestPublishIndexDiesHalfway: the index drops the connection after the
// first file; the report says exactly which file is live, and a rerun with
// --skip-existing finishes the job.
func TestPublishIndexDiesHalfway(t *testing.T) {
	index := startIndex(t, "--fail-after", "1")
	dir := signedRelease(t)
	args := []string{"--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir, "--trusted-root", env.trustedRoot}
	res := publish(t, runnerEnv(""), args...)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	out := res.stdout + res.stderr
	dists := distFiles(t, dir) // sorted: the wheel is uploaded first
	if !strings.Contains(out, "1 of 2") || !reportState(out, filepath.Base(dists[0]), "uploaded") || !reportState(out, filepath.Base(dists[1]), "not uploaded") {
		t.Errorf("report does not say exactly what is live:\n%s", out)
	}
	if _, err := http.Post(index["INDEXFRONT_URL"]+"/_/front/heal", "text/plain", nil); err != nil {
		t.Fatal(err)
	}
	res = publish(t, runnerEnv(""), append(args, "--skip-existing")...)
	if res.code != 0 {
		t.Fatalf("rerun with --skip-existing failed:\n%s\n%s", res.stdout, res.stderr)
	}
	if out := res.stdout + res.stderr; !reportState(out, filepath.Base(dists[0]), "skipped") || !reportState(out, filepath.Base(dists[1]), "uploaded") {
		t.Errorf("rerun report:\n%s", out)
	}
}

// TestPublishModifiedDist: a dist changed after signing is never uploaded.
func TestPublishModifiedDist(t *testing.T) {
	index := startIndex(t)
	dir := signedRelease(t)
	dist := distFiles(t, dir)[1]
	data, err := os.ReadFile(dist)
	if err != nil {
		t.Fatal(err)
	}
	data[100] ^= 1
	if err := os.WriteFile(dist, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := publish(t, runnerEnv(""), "--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir, "--trusted-root", env.trustedRoot)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if uploads, _ := os.ReadDir(index["INDEXFRONT_PACKAGES_DIR"]); len(uploads) != 0 {
		t.Errorf("files reached the index although a dist failed verification: %v", uploads)
	}
}

// TestPublishPasswordMode uploads straight to pypiserver with its htpasswd
// user: no trusted publishing, and attestations are not sent (with a warning).
func TestPublishPasswordMode(t *testing.T) {
	index := startIndex(t)
	dir := signedRelease(t)
	e := runnerEnv("")
	e["ATTEST_PUBLISH_PASSWORD"] = index["INDEXFRONT_UPSTREAM_PASSWORD"]
	res := publish(t, e, "--repository-url", index["INDEXFRONT_UPSTREAM_URL"]+"/", "--packages-dir", dir,
		"--user", index["INDEXFRONT_UPSTREAM_USER"], "--trusted-root", env.trustedRoot)
	if res.code != 0 {
		t.Fatalf("password-mode publish failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if out := res.stdout + res.stderr; !strings.Contains(out, "warning:") || !strings.Contains(out, "attestation") {
		t.Errorf("no warning that attestations were not sent:\n%s", out)
	}
	if strings.Contains(res.stdout+res.stderr, index["INDEXFRONT_UPSTREAM_PASSWORD"]) {
		t.Error("the password appears in the output")
	}
	if uploads, _ := os.ReadDir(index["INDEXFRONT_PACKAGES_DIR"]); len(uploads) != 2 {
		t.Errorf("pypiserver holds %v", uploads)
	}
}

// reportState reports whether the report has a row for name whose state
// column is state (the row is "DIST STATE SHA256 URL", state may be two words).
func reportState(out, name, state string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == name {
			rest := strings.Join(f[1:], " ")
			if rest == state || strings.HasPrefix(rest, state+" ") {
				return true
			}
		}
	}
	return false
}
