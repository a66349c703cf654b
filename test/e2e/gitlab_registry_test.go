//go:build e2e

package e2e

import (
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/attest-publish/attest-publish/internal/gitlabtest"
)

// glJobToken is the stand-in registry's CI_JOB_TOKEN (gitlabIdentity, the
// default GitLab tokens' identity, is in gitlab_publish_test.go).
const glJobToken = "glcbt-e2e-job-token-not-a-secret"

// gitlabJob is the environment of a GitLab CI job whose instance's API is
// api: a sigstore ID token of the GitLab kind, the job token, the
// project.
func gitlabJob(t *testing.T, api string) map[string]string {
	t.Helper()
	return map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.TempDir(), "CI": "true", "GITLAB_CI": "true",
		"SIGSTORE_ID_TOKEN": mintToken(t, "&audience=sigstore&kind=gitlab"),
		"CI_JOB_TOKEN":      glJobToken,
		"CI_API_V4_URL":     api,
		// The stack's GitLab issuer plays the job's instance (it issued
		// SIGSTORE_ID_TOKEN); the registry is the stand-in's API.
		"CI_SERVER_URL": env.issuer + "/gitlab",
		"CI_PROJECT_ID": "42",
	}
}

// gitlabPolicy is the GitLab signer every verification requires, with the
// stack's root.
func gitlabPolicy() []string {
	return []string{"--trusted-root", env.trustedRoot, "--certificate-identity", gitlabIdentity, "--certificate-oidc-issuer", env.issuer + "/gitlab"}
}

// cosignLegacyEnv writes the stack's Fulcio chain, Rekor v1 key and CT log
// key as the PEM files cosign verify-blob reads for a detached pair
// (--trusted-root is for bundles only), and returns the variables naming
// them: with them cosign checks the chain, the SCT and the Rekor entry it
// looks up online in the stack's Rekor.
func cosignLegacyEnv(t *testing.T) []string {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(env.trustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var chain []*x509.Certificate
	for _, ca := range tr.FulcioCertificateAuthorities() {
		f, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok {
			t.Fatalf("unexpected CA type %T", ca)
		}
		chain = append(append(chain, f.Intermediates...), f.Root)
	}
	chainPEM, err := cryptoutils.MarshalCertificatesToPEM(chain)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := func(logs map[string]*root.TransparencyLog, want func(*root.TransparencyLog) bool) []byte {
		for _, l := range logs {
			if want(l) {
				p, err := cryptoutils.MarshalPublicKeyToPEM(l.PublicKey)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
		}
		t.Fatal("no such log in the trusted root")
		return nil
	}
	rekorV1 := os.Getenv("STACK_REKOR_V1_URL")
	return []string{
		"SIGSTORE_ROOT_FILE=" + write("fulcio.pem", chainPEM),
		"SIGSTORE_REKOR_PUBLIC_KEY=" + write("rekor.pub", pubPEM(tr.RekorLogs(), func(l *root.TransparencyLog) bool {
			return strings.TrimSuffix(l.BaseURL, "/") == strings.TrimSuffix(rekorV1, "/")
		})),
		"SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + write("ctlog.pub", pubPEM(tr.CTLogs(), func(*root.TransparencyLog) bool { return true })),
	}
}

// cosignDetached runs cosign verify-blob on a detached pair, as GitLab's
// tutorial does, with every check on: chain, SCT, identity, and the Rekor
// v1 entry looked up in the stack's log.
func cosignDetached(t *testing.T, legacy []string, dist, sig, crt string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(env.stackBin, "cosign"), "verify-blob", dist, "--signature", sig, "--certificate", crt,
		"--certificate-identity", gitlabIdentity, "--certificate-oidc-issuer", env.issuer+"/gitlab",
		"--rekor-url", os.Getenv("STACK_REKOR_V1_URL"))
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir()), legacy...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestGitLabRegistry runs GitLab's tutorial flow with attest-publish: sign
// in a GitLab job with detached outputs, store the material in the generic
// package registry (a stand-in failing halfway, then finishing without
// signing again), and verify as a consumer from the registry: attest-publish
// verify --from-gitlab-generic, and cosign verify-blob on the downloaded
// .sig/.crt.
func TestGitLabRegistry(t *testing.T) {
	if os.Getenv("STACK_REKOR_V1_URL") == "" {
		t.Fatal("STACK_REKOR_V1_URL is not set: source the stack's stack.env")
	}
	reg := gitlabtest.New(glJobToken)
	api := gitlabtest.Start(t, reg)
	reg.Fail = func(method string, n int, _ string) (int, bool) {
		if method == http.MethodPut && n >= 4 {
			return http.StatusServiceUnavailable, false
		}
		return 0, false
	}
	dir := copyDists(t)
	job := gitlabJob(t, api)
	res := sign(t, job, append(trustArgs(env.signingConfig), "--packages-dir", dir, "--detached-signatures", "--gitlab-generic-package", "auto")...)
	if res.code != 1 {
		t.Fatalf("sign with a failing registry: exit %d, want 1\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"but storing the signature material on GitLab failed: GitLab generic package " + api + "/projects/42/packages/generic/attest-publish-sample/0.1.0: ",
		"3 of ", "not stored:", "  stored          ", "HTTP 503 (Service Unavailable) after 3 attempts",
		"not attempted: stopped after", "rerun to finish",
		"to finish without signing again: attest-publish verify " + dir + " --certificate-identity " + gitlabIdentity,
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("sign's error lacks %q:\n%s", want, res.stderr)
		}
	}
	if strings.Contains(res.stdout+res.stderr, glJobToken) {
		t.Error("the job token was printed")
	}
	// The outputs are kept, every pair on the run's one certificate.
	dists := distFiles(t, dir)
	signed := map[string][]byte{}
	for _, d := range dists {
		for _, s := range []string{".sig", ".crt", ".sigstore.json"} {
			data, err := os.ReadFile(d + s)
			if err != nil {
				t.Fatalf("signed output missing after the failed store: %v", err)
			}
			signed[d+s] = data
		}
	}
	if string(signed[dists[0]+".crt"]) != string(signed[dists[1]+".crt"]) {
		t.Error("the pairs carry different certificates: one run, one certificate")
	}
	// Finish without signing again: verify the directory, then store.
	reg.Fail = nil
	res = command(t, job, "verify", append(gitlabPolicy(), "--gitlab-generic-package", "auto", dir)...)
	if res.code != 0 || strings.Count(res.stderr, "already stored ") != 3 {
		t.Fatalf("finishing: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for p, data := range signed {
		if now, _ := os.ReadFile(p); string(now) != string(data) {
			t.Errorf("finishing changed %s: it must not sign again", p)
		}
	}
	// The consumer: fresh dists, the material from the registry.
	pkg := ""
	for _, f := range reg.Files() {
		pkg = gitlabtest.PackageURL(api, f.Project, f.Package, f.Version)
	}
	consumer := copyDists(t)
	consumerEnv := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.TempDir(), "GITLAB_TOKEN": glJobToken}
	res = command(t, consumerEnv, "verify", append(append(gitlabPolicy(), "--from-gitlab-generic", pkg), distFiles(t, consumer)...)...)
	if res.code != 0 || strings.Count(res.stdout, "OK   ") != 2 {
		t.Fatalf("verify --from-gitlab-generic: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// cosign verify-blob, as the tutorial's consumer_verification job,
	// on the pair downloaded from the registry.
	legacy := cosignLegacyEnv(t)
	for _, d := range distFiles(t, consumer) {
		name := filepath.Base(d)
		sig, crt := download(t, pkg+"/"+name+".sig"), download(t, pkg+"/"+name+".crt")
		out, err := cosignDetached(t, legacy, d, sig, crt)
		if err != nil || !strings.Contains(out, "Verified OK") {
			t.Errorf("cosign rejected the registry's pair of %s: %v\n%s", name, err, out)
		}
	}
}

// download fetches a registry file with the job token into a temporary file.
func download(t *testing.T, u string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("JOB-TOKEN", glJobToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(u))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDetachedCosign: sign --detached-signatures writes the pairs cosign
// sign-blob --output-signature --output-certificate writes; cosign
// verify-blob accepts them with the GitLab identity and rejects a pair
// swapped between dists; attest-publish verify accepts a pair with its
// bundle and refuses it alone.
func TestDetachedCosign(t *testing.T) {
	dir := copyDists(t)
	res := sign(t, gitlabJob(t, "https://gitlab.example.com/api/v4"), append(trustArgs(env.signingConfig), "--packages-dir", dir, "--detached-signatures")...)
	if res.code != 0 {
		t.Fatalf("sign: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	legacy := cosignLegacyEnv(t)
	ds := distFiles(t, dir)
	for _, d := range ds {
		out, err := cosignDetached(t, legacy, d, d+".sig", d+".crt")
		if err != nil || !strings.Contains(out, "Verified OK") {
			t.Errorf("cosign rejected the detached pair of %s: %v\n%s", d, err, out)
		}
		t.Logf("cosign verify-blob %s --signature … --certificate …: %s", filepath.Base(d), strings.TrimSpace(out))
		res := command(t, map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.TempDir()}, "verify",
			append(gitlabPolicy(), "--bundle", d+".sigstore.json", "--signature", d+".sig", "--certificate", d+".crt", d)...)
		if res.code != 0 || !strings.Contains(res.stdout, "OK   ") {
			t.Errorf("verify --signature --certificate --bundle %s: exit %d\n%s\n%s", d, res.code, res.stdout, res.stderr)
		}
	}
	out, err := cosignDetached(t, legacy, ds[0], ds[1]+".sig", ds[1]+".crt")
	if err == nil || strings.Contains(out, "Verified OK") {
		t.Errorf("cosign accepted the other dist's pair:\n%s", out)
	}
	t.Logf("cosign on a swapped pair: %v: %s", err, strings.TrimSpace(out))
	res = command(t, map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.TempDir()}, "verify",
		append(gitlabPolicy(), "--signature", ds[0]+".sig", "--certificate", ds[0]+".crt", ds[0])...)
	if res.code != 2 || !strings.Contains(res.stderr, "need exactly one --bundle") {
		t.Errorf("a lone pair: exit %d, want 2\n%s", res.code, res.stderr)
	}
}
