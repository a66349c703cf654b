//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
)

// sigstorePythonTrustConfig writes the ClientTrustConfig sigstore-python
// needs to verify against the local stack offline.
func sigstorePythonTrustConfig(t *testing.T, signingConfig string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "trust_config.json")
	if msg, err := python(t, filepath.Join(repoRoot, "test", "judges", "sigstore_trust_config.py"),
		"--trusted-root", env.trustedRoot, "--signing-config", signingConfig, "--out", out); err != nil {
		t.Fatalf("making the sigstore-python trust config: %v\n%s", err, msg)
	}
	return out
}

// pep740Judge verifies attestations for dist with pypi-attestations' own
// code and PyPI's GitHub publisher policy, the issuer being the local one.
func pep740Judge(t *testing.T, dist, workflow string, attestations ...string) (string, error) {
	t.Helper()
	args := []string{filepath.Join(repoRoot, "test", "judges", "pep740_verify.py"),
		"--trusted-root", env.trustedRoot, "--issuer", env.issuer,
		"--repository", repository, "--workflow", workflow, dist}
	return python(t, append(args, attestations...)...)
}
