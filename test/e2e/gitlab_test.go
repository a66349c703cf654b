//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestGitLabCI signs in a GitLab CI job's environment: the identity is the
// CI config ref URI, there is no SLSA provenance (GitHub-only for now), and
// cosign accepts the bundles with the GitLab identity.
func TestGitLabCI(t *testing.T) {
	dir := copyDists(t)
	e := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.TempDir(), "CI": "true", "GITLAB_CI": "true",
		"SIGSTORE_ID_TOKEN": mintToken(t, "&audience=sigstore&kind=gitlab"),
	}
	res := sign(t, e, append(trustArgs(env.signingConfig), "--packages-dir", dir)...)
	if res.code != 0 {
		t.Fatalf("sign failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	const gitlabIdentity = "https://gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main"
	if !strings.Contains(res.stdout, "Signer: "+gitlabIdentity) || !strings.Contains(res.stdout, "no SLSA provenance") {
		t.Errorf("unexpected report:\n%s", res.stdout)
	}
	for _, dist := range distFiles(t, dir) {
		out, err := cosign(t, "verify-blob", dist, "--bundle", dist+".sigstore.json", "--trusted-root", env.trustedRoot,
			"--certificate-identity", gitlabIdentity, "--certificate-oidc-issuer", env.issuer+"/gitlab")
		if err != nil || !strings.Contains(out, "Verified OK") {
			t.Errorf("cosign rejected the GitLab bundle of %s: %v\n%s", dist, err, out)
		}
		if _, err := os.Stat(dist + ".publish.attestation"); err != nil {
			t.Errorf("no publish attestation: %v", err)
		}
	}
}
