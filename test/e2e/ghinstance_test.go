//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitHubInstanceShape signs the way GitHub's own Sigstore instance
// works (Fulcio and an RFC 3161 timestamp authority, no transparency log):
// the bundles carry a signed timestamp and no log entry, PEP 740 objects are
// not made (PyPI needs a Rekor v1 entry), and both attest-publish verify and
// cosign (told to use signed timestamps instead of the log) accept them
// with a trusted root that, like GitHub's, has no logs.
func TestGitHubInstanceShape(t *testing.T) {
	dir := copyDists(t)
	signingConfig := withoutKey(t, env.signingConfig, "rekorTlogUrls", "rekorTlogConfig")
	trustedRoot := withoutKey(t, env.trustedRoot, "tlogs")
	res := sign(t, runnerEnv(""), "--signing-config", signingConfig, "--trusted-root", trustedRoot, "--packages-dir", dir)
	if res.code != 0 {
		t.Fatalf("sign failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "PEP 740 attestations not made") {
		t.Errorf("no warning about PEP 740:\n%s", res.stdout)
	}
	for _, dist := range distFiles(t, dir) {
		var b struct {
			VerificationMaterial struct {
				TlogEntries               []json.RawMessage `json:"tlogEntries"`
				TimestampVerificationData struct {
					RFC3161Timestamps []json.RawMessage `json:"rfc3161Timestamps"`
				} `json:"timestampVerificationData"`
			} `json:"verificationMaterial"`
		}
		data, err := os.ReadFile(dist + ".sigstore.json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		if n := len(b.VerificationMaterial.TlogEntries); n != 0 {
			t.Errorf("%s: %d log entries, want none", dist, n)
		}
		if n := len(b.VerificationMaterial.TimestampVerificationData.RFC3161Timestamps); n != 1 {
			t.Errorf("%s: %d RFC 3161 timestamps, want 1", dist, n)
		}
		// verify passes the stack's root first; this later --trusted-root wins.
		if out, code := verify(t, "--trusted-root", trustedRoot, "--bundle", dist+".sigstore.json", "--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer, dist); code != 0 {
			t.Errorf("verify rejected %s (%d):\n%s", filepath.Base(dist), code, out)
		}
		out, err := cosign(t, "verify-blob", dist, "--bundle", dist+".sigstore.json", "--trusted-root", trustedRoot,
			"--use-signed-timestamps", "--insecure-ignore-tlog",
			"--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer)
		if err != nil || !strings.Contains(out, "Verified OK") {
			t.Errorf("cosign rejected the timestamp-only bundle of %s: %v\n%s", dist, err, out)
		}
	}
}

// withoutKey writes a copy of a JSON trust file without the given
// top-level keys (GitHub's instance has no transparency log).
func withoutKey(t *testing.T, path string, keys ...string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		delete(doc, k)
	}
	out, _ := json.Marshal(doc)
	copyPath := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(copyPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return copyPath
}
