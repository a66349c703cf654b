//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verify runs `attest-publish verify` and returns its output and exit code.
func verify(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(attestPublish, append([]string{"verify", "--trusted-root", env.trustedRoot}, args...)...)
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return string(out), exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestVerifyRoundTrip: everything sign produces verifies with verify, and
// fails after tampering or with another identity, ref, workflow or repository.
func TestVerifyRoundTrip(t *testing.T) {
	dir := copyDists(t)
	if res := sign(t, runnerEnv(""), append(trustArgs(env.signingConfig), "--packages-dir", dir)...); res.code != 0 {
		t.Fatalf("sign failed (%d):\n%s", res.code, res.stderr)
	}
	c := claims(t)
	id := []string{"--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer}
	for _, dist := range distFiles(t, dir) {
		name := filepath.Base(dist)
		good := map[string][]string{
			"bundle": append([]string{"--bundle", dist + ".sigstore.json", "--source-repository", repository,
				"--source-ref", c.String("ref"), "--source-digest", c.String("sha"), "--build-trigger", c.String("event_name"),
				"--deny-self-hosted-runners"}, id...),
			"pep740": append([]string{"--attestation", dist + ".publish.attestation", "--attestation", dist + ".slsa.attestation",
				"--publisher-kind", "github", "--publisher-repository", repository, "--publisher-workflow", "release.yml"}, id...),
			"provenance": append([]string{"--bundle", filepath.Join(dir, "provenance.sigstore.json"),
				"--predicate-type", "https://slsa.dev/provenance/v1", "--builder-id", strings.SplitN(identity, "@", 2)[0],
				"--source-uri", "github.com/" + repository, "--source-branch", "main"}, id...),
		}
		for what, args := range good {
			t.Run(what+" "+name, func(t *testing.T) {
				if out, code := verify(t, append(args, dist)...); code != 0 {
					t.Fatalf("verify rejected sign's output (%d):\n%s", code, out)
				}
			})
		}
		bad := map[string][]string{
			"wrong identity": {"--bundle", dist + ".sigstore.json", "--certificate-identity", strings.Replace(identity, "release.yml", "other.yml", 1), "--certificate-oidc-issuer", env.issuer},
			"wrong ref":      append([]string{"--bundle", dist + ".sigstore.json", "--source-ref", "refs/tags/v9"}, id...),
			"wrong repo":     append([]string{"--bundle", dist + ".sigstore.json", "--source-repository", "octo-org/fork"}, id...),
			"wrong workflow": append([]string{"--attestation", dist + ".publish.attestation", "--publisher-kind", "github", "--publisher-repository", repository, "--publisher-workflow", "other.yml"}, id...),
		}
		for what, args := range bad {
			t.Run(what+" "+name, func(t *testing.T) {
				if out, code := verify(t, append(args, dist)...); code != 1 {
					t.Fatalf("verify exit %d, want 1:\n%s", code, out)
				}
			})
		}
		t.Run("tampered "+name, func(t *testing.T) {
			tampered := filepath.Join(t.TempDir(), name)
			data, err := os.ReadFile(dist)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/3] ^= 0x80
			if err := os.WriteFile(tampered, data, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"--bundle", dist + ".sigstore.json"},
				{"--attestation", dist + ".publish.attestation"},
			} {
				if out, code := verify(t, append(append(args, id...), tampered)...); code != 1 {
					t.Errorf("verify accepted a tampered dist with %v (%d):\n%s", args, code, out)
				}
			}
		})
	}
}
