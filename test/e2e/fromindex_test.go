//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyFromIndex: a release published through the test index (whose
// Integrity API serves the provenance it accepted) verifies with
// `verify --from-index` and the publisher policy, file by file; another
// workflow, a release uploaded without attestations, and a release or
// project the index does not have all fail.
func TestVerifyFromIndex(t *testing.T) {
	index := startIndex(t)
	dir := signedRelease(t)
	if res := publish(t, runnerEnv(""), "--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir, "--trusted-root", env.trustedRoot); res.code != 0 {
		t.Fatalf("publish failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	policy := func(indexURL, workflow string) []string {
		return []string{"--from-index", indexURL, "--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer,
			"--publisher-kind", "github", "--publisher-repository", repository, "--publisher-workflow", workflow}
	}
	out, code := verify(t, append(policy(index["INDEXFRONT_URL"], "release.yml"), "attest-publish-sample==0.1.0")...)
	if code != 0 {
		t.Fatalf("verify --from-index: exit %d\n%s", code, out)
	}
	t.Logf("verify --from-index:\n%s", out)
	for _, dist := range distFiles(t, dir) {
		if !strings.Contains(out, "OK   "+filepath.Base(dist)+": signed by "+identity) {
			t.Errorf("no OK verdict for %s:\n%s", filepath.Base(dist), out)
		}
	}
	// The simple URL works as the index URL too.
	if out, code := verify(t, append(policy(index["INDEXFRONT_SIMPLE_URL"], "release.yml"), "attest_publish_sample==0.1.0")...); code != 0 {
		t.Errorf("verify --from-index with the /simple/ URL: exit %d\n%s", code, out)
	}

	for _, tc := range []struct {
		name, workflow, release, want string
	}{
		{"another workflow", "other.yml", "attest-publish-sample==0.1.0", "publisher check failed"},
		{"no such version", "release.yml", "attest-publish-sample==9.9.9", "versions there: 0.1.0"},
		{"no such project", "release.yml", "no-such-project==0.1.0", "project not found"},
	} {
		out, code := verify(t, append(policy(index["INDEXFRONT_URL"], tc.workflow), tc.release)...)
		if code != 1 || !strings.Contains(out, "FAIL ") || !strings.Contains(out, tc.want) || strings.Contains(out, "OK   ") {
			t.Errorf("%s: exit %d, want 1 with %q and no OK verdict:\n%s", tc.name, code, tc.want, out)
		}
	}

	// The same release uploaded straight to pypiserver, without
	// attestations: the Integrity API has no provenance for any file.
	bare := startIndex(t)
	e := runnerEnv("")
	e["ATTEST_PUBLISH_PASSWORD"] = bare["INDEXFRONT_UPSTREAM_PASSWORD"]
	if res := publish(t, e, "--repository-url", bare["INDEXFRONT_UPSTREAM_URL"]+"/", "--packages-dir", dir,
		"--user", bare["INDEXFRONT_UPSTREAM_USER"], "--trusted-root", env.trustedRoot); res.code != 0 {
		t.Fatalf("password-mode publish failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	out, code = verify(t, append(policy(bare["INDEXFRONT_URL"], "release.yml"), "attest-publish-sample==0.1.0")...)
	if code != 1 || strings.Count(out, "FAIL ") != 2 || strings.Count(out, "no provenance for ") != 2 {
		t.Errorf("release without provenance: exit %d, want 1 with two FAIL verdicts saying there is no provenance:\n%s", code, out)
	}
	t.Logf("without provenance:\n%s", out)
}
