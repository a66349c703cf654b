package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/gitlabtest"
)

// TestVerifyFromGitLabGeneric verifies a real attestation stored in a
// stand-in generic package under the dist's name, with the job token.
func TestVerifyFromGitLabGeneric(t *testing.T) {
	for _, k := range []string{"GITLAB_TOKEN", "GITLAB_DEPLOY_TOKEN", "CI_SERVER_URL"} {
		t.Setenv(k, "")
	}
	t.Setenv("CI_JOB_TOKEN", "job-secret")
	rw := filepath.Join(vectorsDir(t), "gh-reusable-workflow-attestation")
	whl := filepath.Join(rw, "github_provenance_demo-0.0.0-py3-none-any.whl")
	bundle, err := os.ReadFile(filepath.Join(rw, "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	reg := gitlabtest.New("job-secret")
	api := gitlabtest.Start(t, reg)
	t.Setenv("CI_API_V4_URL", api)
	reg.Put("7", "github_provenance_demo", "0.0.0", filepath.Base(whl)+".sigstore.json", bundle)
	pkg := gitlabtest.PackageURL(api, "7", "github_provenance_demo", "0.0.0")
	base := []string{"--trusted-root", filepath.Join(rw, "trusted_root.json"), "--certificate-identity", rwIdentity, "--certificate-oidc-issuer", ghIssuer}
	code, results, stderr := runVerifyCLI(t, append(append([]string{}, base...), "--from-gitlab-generic", pkg, whl)...)
	if code != 0 || len(results) != 1 || !results[0].Verified || results[0].Material[0] != pkg+"/"+filepath.Base(whl)+".sigstore.json" {
		t.Fatalf("exit %d: %+v\n%s", code, results, stderr)
	}
	for _, r := range reg.Requests() {
		if r.Header != "JOB-TOKEN" || r.Token != "job-secret" {
			t.Errorf("request %+v: want the job token", r)
		}
	}
	// Nothing stored for another name: a failed verdict naming what was
	// looked for.
	code, results, _ = runVerifyCLI(t, append(append([]string{}, base...), "--from-gitlab-generic", strings.Replace(pkg, "0.0.0", "0.0.1", 1), whl)...)
	if code != 1 || results[0].Verified || !strings.Contains(results[0].Error, "holds no material for github_provenance_demo-0.0.0-py3-none-any.whl") {
		t.Errorf("empty package: exit %d, %+v", code, results)
	}
}

func TestVerifyGitLabUsage(t *testing.T) {
	for _, k := range []string{"CI_JOB_TOKEN", "GITLAB_TOKEN", "GITLAB_DEPLOY_TOKEN", "CI_API_V4_URL", "CI_PROJECT_ID"} {
		t.Setenv(k, "")
	}
	rw := filepath.Join(vectorsDir(t), "gh-reusable-workflow-attestation")
	whl := filepath.Join(rw, "github_provenance_demo-0.0.0-py3-none-any.whl")
	b := filepath.Join(rw, "bundle.sigstore.json")
	id := []string{"--certificate-identity", rwIdentity, "--certificate-oidc-issuer", ghIssuer}
	pkg := "https://gitlab.example.com/api/v4/projects/7/packages/generic/demo/0.0.0"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"signature without certificate", []string{"--bundle", b, "--signature", "x.sig", whl}, "--signature and --certificate go together"},
		{"pair without bundle", []string{"--signature", "x.sig", "--certificate", "x.crt", whl}, "need exactly one --bundle"},
		{"pair with two bundles", []string{"--bundle", b, "--bundle", b, "--signature", "x.sig", "--certificate", "x.crt", whl}, "need exactly one --bundle"},
		{"plain http registry", []string{"--from-gitlab-generic", "http://gitlab.example.com/api/v4/projects/7/packages/generic/demo/0.0.0", whl}, "plain http"},
		{"not a generic package", []string{"--from-gitlab-generic", "https://gitlab.example.com/api/v4/projects/7/packages/pypi", whl}, "want <API URL>/projects/<id>/packages/generic"},
		{"fetch and local material", []string{"--from-gitlab-generic", pkg, "--bundle", b, whl}, "cannot be combined with --from-gitlab-generic"},
		{"two sources", []string{"--from-gitlab-generic", pkg, "--from-index", "https://pypi.org", whl}, "are exclusive"},
		{"store from a file argument", []string{"--bundle", b, "--gitlab-generic-package", pkg, whl}, "is not a directory"},
		{"store without a token", []string{"--gitlab-generic-package", pkg, rw}, "needs a token to upload"},
		{"store auto outside CI", []string{"--gitlab-generic-package", "auto", rw}, "needs $CI_API_V4_URL and $CI_PROJECT_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runVerifyCLI(t, append(append([]string{}, id...), tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want 2 with %q:\n%s", code, tc.want, stderr)
			}
		})
	}
	t.Setenv("CI_JOB_TOKEN", "job-secret")
	t.Setenv("CI_SERVER_URL", "https://gitlab.com")
	if code, _, stderr := runVerifyCLI(t, append(append([]string{}, id...), "--from-gitlab-generic", pkg, whl)...); code != 2 || !strings.Contains(stderr, "refusing to send $CI_JOB_TOKEN to https://gitlab.example.com") || strings.Contains(stderr, "job-secret") {
		t.Errorf("job token for another instance: exit %d\n%s", code, stderr)
	}
}
