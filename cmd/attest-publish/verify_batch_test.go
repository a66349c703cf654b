package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/verification"
)

// runVerifyCLI runs verify with --format json and returns the exit code,
// the verdicts and stderr.
func runVerifyCLI(t *testing.T, args ...string) (int, []verification.Result, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"verify", "--format", "json"}, args...), &stdout, &stderr, func(string) string { return "" })
	var results []verification.Result
	if code != 2 {
		if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
			t.Fatalf("%v: exit %d, output not JSON: %v\n%s%s", args, code, err, stdout.String(), stderr.String())
		}
	}
	return code, results, stderr.String()
}

// copyInto copies vector files into dir under new names (src → dst).
func copyInto(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for src, dst := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func setVerifyNow(t *testing.T, now time.Time) {
	old := verifyNow
	verifyNow = func() time.Time { return now }
	t.Cleanup(func() { verifyNow = old })
}

const (
	rfcIdentity = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
	paIdentity  = "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
	ghIssuer    = "https://token.actions.githubusercontent.com"
)

// TestVerifyEmbeddedRoot drives the trust choice: the embedded public-good
// and staging snapshots, the staleness warning, and the flags around them.
func TestVerifyEmbeddedRoot(t *testing.T) {
	v := vectorsDir(t)
	prod := filepath.Join(v, "trusted-root-public-good-production")
	stg := filepath.Join(v, "pep740-rfc8785-0.1.2-staging")
	wheel := "rfc8785-0.1.2-py3-none-any.whl"
	fresh := verification.PublicGood.Snapshot.Add(24 * time.Hour)
	tests := []struct {
		name    string
		now     time.Time
		args    []string
		code    int
		check   string // failed check when code is 1
		warning string // substring of stderr; "" means no warning
	}{
		{name: "public-good, no --trusted-root", now: fresh, args: []string{"--bundle", filepath.Join(prod, "bundle.sigstore.json"), "--certificate-identity", rfcIdentity, "--certificate-oidc-issuer", ghIssuer, filepath.Join(prod, wheel)}},
		{name: "stale snapshot warns and still verifies", now: verification.PublicGood.Snapshot.AddDate(1, 0, 0), args: []string{"--bundle", filepath.Join(prod, "bundle.sigstore.json"), "--certificate-identity", rfcIdentity, "--certificate-oidc-issuer", ghIssuer, filepath.Join(prod, wheel)}, warning: "warning: embedded public-good trusted root"},
		{name: "staging bundle against public-good", now: fresh, args: []string{"--attestation", filepath.Join(stg, wheel+".publish.attestation"), "--certificate-identity", "william@yossarian.net", "--certificate-oidc-issuer", "https://github.com/login/oauth", filepath.Join(stg, wheel)}, code: 1, check: verification.CheckSignature},
		{name: "--staging", now: fresh, args: []string{"--staging", "--attestation", filepath.Join(stg, wheel+".publish.attestation"), "--certificate-identity", "william@yossarian.net", "--certificate-oidc-issuer", "https://github.com/login/oauth", filepath.Join(stg, wheel)}},
		{name: "--staging bundle", now: fresh, args: []string{"--staging", "--bundle", filepath.Join(stg, wheel+".sigstore"), "--certificate-identity", "william@yossarian.net", "--certificate-oidc-issuer", "https://github.com/login/oauth", filepath.Join(stg, wheel)}},
		{name: "production bundle against --staging", now: fresh, args: []string{"--staging", "--bundle", filepath.Join(prod, "bundle.sigstore.json"), "--certificate-identity", rfcIdentity, "--certificate-oidc-issuer", ghIssuer, filepath.Join(prod, wheel)}, code: 1, check: verification.CheckSignature},
		{name: "--trusted-root wins over --staging", now: fresh, args: []string{"--staging", "--trusted-root", filepath.Join(prod, "trusted_root.json"), "--bundle", filepath.Join(prod, "bundle.sigstore.json"), "--certificate-identity", rfcIdentity, "--certificate-oidc-issuer", ghIssuer, filepath.Join(prod, wheel)}},
		{name: "--tuf with --trusted-root", now: fresh, args: []string{"--tuf", "--trusted-root", filepath.Join(prod, "trusted_root.json"), "--bundle", "b", "--certificate-identity", rfcIdentity, "--certificate-oidc-issuer", ghIssuer, "x"}, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setVerifyNow(t, tt.now)
			code, results, stderr := runVerifyCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%+v\n%s", code, tt.code, results, stderr)
			}
			if tt.code == 1 && (len(results) != 1 || results[0].FailedCheck != tt.check) {
				t.Errorf("results %+v, want the %s check to fail", results, tt.check)
			}
			if tt.warning == "" && strings.Contains(stderr, "warning:") {
				t.Errorf("unexpected warning: %s", stderr)
			}
			if tt.warning != "" && !strings.Contains(stderr, tt.warning) {
				t.Errorf("stderr %q, want %q", stderr, tt.warning)
			}
		})
	}
}

// TestVectorsEmbeddedRoot re-runs every vector case whose trusted root is
// the public-good root byte for byte without --trusted-root: the embedded
// snapshot must give the same verdict as the file.
func TestVectorsEmbeddedRoot(t *testing.T) {
	setVerifyNow(t, verification.PublicGood.Snapshot.Add(24*time.Hour))
	dir, cases := loadVectors(t)
	embedded := sha256.Sum256(verification.PublicGood.JSON)
	n := 0
	for _, c := range cases {
		if c.TrustedRoot == nil || c.Format == "tuf-root-metadata" {
			continue
		}
		root, err := os.ReadFile(filepath.Join(dir, c.Name, *c.TrustedRoot))
		if err != nil || sha256.Sum256(root) != embedded {
			continue
		}
		for _, mode := range []string{"path", "digest"} {
			n++
			t.Run(c.Name+"/"+mode, func(t *testing.T) {
				with := vectorArgs(t, filepath.Join(dir, c.Name), c, mode)
				i := slices.Index(with, "--trusted-root")
				without := slices.Delete(slices.Clone(with), i, i+2)
				var o1, o2, e1, e2 bytes.Buffer
				c1 := run(context.Background(), with, &o1, &e1, func(string) string { return "" })
				c2 := run(context.Background(), without, &o2, &e2, func(string) string { return "" })
				if c1 != c2 || o1.String() != o2.String() {
					t.Errorf("with --trusted-root: exit %d\n%s\nembedded: exit %d\n%s%s", c1, o1.String(), c2, o2.String(), e2.String())
				}
			})
		}
	}
	if n < 40 {
		t.Errorf("only %d runs use the public-good root; the manifest changed?", n)
	}
	t.Logf("%d runs agree with the embedded root", n)
}

// TestVerifyBatch verifies directories of dists with their material next to
// them.
func TestVerifyBatch(t *testing.T) {
	setVerifyNow(t, verification.PublicGood.Snapshot.Add(24*time.Hour))
	v := vectorsDir(t)
	prod := filepath.Join(v, "trusted-root-public-good-production")
	pub := filepath.Join(v, "pep740-pypi_attestations-0.0.19-publish")
	slsa := filepath.Join(v, "pep740-pypi_attestations-0.0.19-slsa")
	wheel := "rfc8785-0.1.2-py3-none-any.whl"
	sdist := "pypi_attestations-0.0.19.tar.gz"
	rfcID := []string{"--certificate-identity", rfcIdentity, "--certificate-oidc-issuer", ghIssuer}
	paID := []string{"--certificate-identity", paIdentity, "--certificate-oidc-issuer", ghIssuer}
	type verdict struct {
		name  string // base name of the artifact
		check string // "" when verified
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		args  []string
		code  int
		want  []verdict
	}{
		{name: "bundle next to the wheel", setup: func(t *testing.T, dir string) {
			copyInto(t, dir, map[string]string{filepath.Join(prod, wheel): wheel, filepath.Join(prod, "bundle.sigstore.json"): wheel + ".sigstore.json"})
		}, args: rfcID, want: []verdict{{name: wheel}}},
		{name: "publish and slsa attestations, publisher policy", setup: func(t *testing.T, dir string) {
			copyInto(t, dir, map[string]string{filepath.Join(pub, sdist): sdist, filepath.Join(pub, sdist+".publish.attestation"): sdist + ".publish.attestation", filepath.Join(slsa, sdist+".slsa.attestation"): sdist + ".slsa.attestation"})
		}, args: append([]string{"--publisher-kind", "github", "--publisher-repository", "trailofbits/pypi-attestations", "--publisher-workflow", "release.yml"}, paID...), want: []verdict{{name: sdist}}},
		{name: "a dist with no material", setup: func(t *testing.T, dir string) {
			copyInto(t, dir, map[string]string{filepath.Join(pub, sdist): sdist, filepath.Join(pub, sdist+".publish.attestation"): sdist + ".publish.attestation"})
			if err := os.WriteFile(filepath.Join(dir, "pypi_attestations-0.0.19-py3-none-any.whl"), []byte("unsigned"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, args: paID, code: 1, want: []verdict{{name: "pypi_attestations-0.0.19-py3-none-any.whl", check: verification.CheckMaterial}, {name: sdist}}},
		{name: "dist changed after signing", setup: func(t *testing.T, dir string) {
			copyInto(t, dir, map[string]string{filepath.Join(prod, "bundle.sigstore.json"): wheel + ".sigstore.json"})
			if err := os.WriteFile(filepath.Join(dir, wheel), []byte("tampered"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, args: rfcID, code: 1, want: []verdict{{name: wheel, check: verification.CheckSignature}}},
		{name: "wrong identity", setup: func(t *testing.T, dir string) {
			copyInto(t, dir, map[string]string{filepath.Join(prod, wheel): wheel, filepath.Join(prod, "bundle.sigstore.json"): wheel + ".sigstore.json"})
		}, args: paID, code: 1, want: []verdict{{name: wheel, check: verification.CheckIdentity}}},
		{name: "one bad sidecar of two fails the dist", setup: func(t *testing.T, dir string) {
			copyInto(t, dir, map[string]string{filepath.Join(pub, sdist): sdist, filepath.Join(pub, sdist+".publish.attestation"): sdist + ".publish.attestation"})
			if err := os.WriteFile(filepath.Join(dir, sdist+".sigstore.json"), []byte(`{"mediaType":`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, args: paID, code: 1, want: []verdict{{name: sdist, check: verification.CheckMaterial}}},
		{name: "empty directory", setup: func(*testing.T, string) {}, args: rfcID, code: 1, want: []verdict{{name: "", check: verification.CheckMaterial}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			code, results, stderr := runVerifyCLI(t, append(tt.args, dir)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%+v\n%s", code, tt.code, results, stderr)
			}
			if len(results) != len(tt.want) {
				t.Fatalf("%d verdicts, want %d: %+v", len(results), len(tt.want), results)
			}
			for i, w := range tt.want {
				r := results[i]
				name := filepath.Base(r.Artifact)
				if r.Artifact == dir {
					name = ""
				}
				if name != w.name || r.FailedCheck != w.check || r.Verified != (w.check == "") {
					t.Errorf("verdict %d: %s verified=%v failed=%q (%s), want %s failed=%q", i, r.Artifact, r.Verified, r.FailedCheck, r.Error, w.name, w.check)
				}
			}
		})
	}

	// A directory and a file argument in one call, in argument order: the
	// directory's dists use their sidecars, the file uses --bundle.
	dir := t.TempDir()
	copyInto(t, dir, map[string]string{filepath.Join(pub, sdist): sdist, filepath.Join(pub, sdist+".publish.attestation"): sdist + ".publish.attestation"})
	code, results, stderr := runVerifyCLI(t, "--bundle", filepath.Join(prod, "bundle.sigstore.json"), "--certificate-identity-regexp", "https://github.com/trailofbits/.*", "--certificate-oidc-issuer", ghIssuer, filepath.Join(prod, wheel), dir)
	if code != 0 || len(results) != 2 || filepath.Base(results[0].Artifact) != wheel || filepath.Base(results[1].Artifact) != sdist {
		t.Errorf("mixed: exit %d %+v\n%s", code, results, stderr)
	}
}
