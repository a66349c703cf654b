//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReleaseJudgedByPeers signs the sample release against the stack with
// Rekor v1 and has cosign, sigstore-python and pypi-attestations judge it.
func TestReleaseJudgedByPeers(t *testing.T) {
	dir := copyDists(t)
	c := claims(t)
	before := fulcioCerts(t)
	res := sign(t, runnerEnv(""), append(trustArgs(env.signingConfig), "--packages-dir", dir)...)
	if res.code != 0 {
		t.Fatalf("sign failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("sign output:\n%s", res.stdout)
	if n := fulcioCerts(t) - before; n != 1 {
		t.Errorf("Fulcio issued %d certificates for one run, want exactly 1", n)
	}
	trustConfig := sigstorePythonTrustConfig(t, env.signingConfig)

	for _, dist := range distFiles(t, dir) {
		name := filepath.Base(dist)
		bundle := dist + ".sigstore.json"
		t.Run("cosign verify-blob "+name, func(t *testing.T) {
			out, err := cosign(t, "verify-blob", dist, "--bundle", bundle, "--trusted-root", env.trustedRoot,
				"--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer,
				"--certificate-github-workflow-repository", repository,
				"--certificate-github-workflow-ref", c.String("ref"),
				"--certificate-github-workflow-sha", c.String("sha"),
				"--certificate-github-workflow-trigger", c.String("event_name"),
				"--certificate-github-workflow-name", c.String("workflow"))
			if err != nil || !strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign rejected the bundle: %v\n%s", err, out)
			}
		})
		t.Run("cosign rejects a changed byte "+name, func(t *testing.T) {
			tampered := filepath.Join(t.TempDir(), name)
			data, err := os.ReadFile(dist)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0x01
			if err := os.WriteFile(tampered, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := cosign(t, "verify-blob", tampered, "--bundle", bundle, "--trusted-root", env.trustedRoot,
				"--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer)
			if err == nil || strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign accepted a tampered dist:\n%s", out)
			}
		})
		t.Run("cosign rejects another identity "+name, func(t *testing.T) {
			out, err := cosign(t, "verify-blob", dist, "--bundle", bundle, "--trusted-root", env.trustedRoot,
				"--certificate-identity", strings.Replace(identity, "release.yml", "other.yml", 1), "--certificate-oidc-issuer", env.issuer)
			if err == nil {
				t.Fatalf("cosign accepted a wrong identity:\n%s", out)
			}
		})
		t.Run("sigstore-python "+name, func(t *testing.T) {
			out, err := python(t, "-m", "sigstore", "--trust-config", trustConfig, "verify", "identity",
				"--bundle", bundle, "--cert-identity", identity, "--cert-oidc-issuer", env.issuer, dist)
			if err != nil {
				t.Fatalf("sigstore-python rejected the bundle: %v\n%s", err, out)
			}
		})
		t.Run("pypi-attestations "+name, func(t *testing.T) {
			out, err := pep740Judge(t, dist, "release.yml", dist+".publish.attestation", dist+".slsa.attestation")
			if err != nil {
				t.Fatalf("pypi-attestations rejected the attestations: %v\n%s", err, out)
			}
			if out, err := pep740Judge(t, dist, "other.yml", dist+".publish.attestation"); err == nil {
				t.Fatalf("pypi-attestations accepted the wrong workflow:\n%s", out)
			}
		})
		t.Run("release provenance "+name, func(t *testing.T) {
			out, err := cosign(t, "verify-blob-attestation", dist, "--bundle", filepath.Join(dir, "provenance.sigstore.json"),
				"--type", "https://slsa.dev/provenance/v1", "--trusted-root", env.trustedRoot,
				"--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer)
			if err != nil || !strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign rejected the provenance: %v\n%s", err, out)
			}
		})
	}
	checkProvenance(t, filepath.Join(dir, "provenance.sigstore.json"), c.String("sha"))
}

// checkProvenance does the predicate checks gh attestation verify leaves
// out: the predicate must agree with the certificate's identity.
func checkProvenance(t *testing.T, path, sha string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		MediaType    string `json:"mediaType"`
		DSSEEnvelope struct {
			Payload     string `json:"payload"`
			PayloadType string `json:"payloadType"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if b.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" || b.DSSEEnvelope.PayloadType != "application/vnd.in-toto+json" {
		t.Errorf("bundle media type %q payload type %q", b.MediaType, b.DSSEEnvelope.PayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Subject   []struct{ Name string } `json:"subject"`
		Predicate struct {
			BuildDefinition struct {
				BuildType          string `json:"buildType"`
				ExternalParameters struct {
					Workflow struct{ Ref, Repository, Path string } `json:"workflow"`
				} `json:"externalParameters"`
				ResolvedDependencies []struct {
					URI    string            `json:"uri"`
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
			RunDetails struct {
				Builder struct{ ID string } `json:"builder"`
			} `json:"runDetails"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	bd := st.Predicate.BuildDefinition
	w := bd.ExternalParameters.Workflow
	if len(st.Subject) != 2 || bd.BuildType != "https://actions.github.io/buildtypes/workflow/v1" ||
		w.Path != ".github/workflows/release.yml" || w.Ref != "refs/heads/main" || w.Repository != "https://github.com/"+repository ||
		st.Predicate.RunDetails.Builder.ID != identity ||
		len(bd.ResolvedDependencies) != 1 || bd.ResolvedDependencies[0].Digest["gitCommit"] != sha {
		t.Errorf("provenance does not describe this run:\n%s", payload)
	}
}

// TestRekorV2 signs with the Rekor v2 signing config: bundles (with RFC 3161
// timestamps) verify with cosign and sigstore-python; the PEP 740 objects
// carry the timestamps (a Rekor v2 entry has no integrated time), verify
// with attest-publish and with pypi-attestations (the judge adds the
// timestamps to the library's bundle, see pep740_verify.py), and fail once
// a timestamp or the dist is tampered with.
func TestRekorV2(t *testing.T) {
	dir := copyDists(t)
	res := sign(t, runnerEnv(""), append(trustArgs(env.signingConfigRekor2), "--packages-dir", dir)...)
	if res.code != 0 {
		t.Fatalf("sign failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if strings.Contains(res.stdout, "PEP 740 attestations not made") {
		t.Errorf("PEP 740 objects skipped with Rekor v2:\n%s", res.stdout)
	}
	trustConfig := sigstorePythonTrustConfig(t, env.signingConfigRekor2)
	for _, dist := range distFiles(t, dir) {
		name := filepath.Base(dist)
		out, err := cosign(t, "verify-blob", dist, "--bundle", dist+".sigstore.json", "--trusted-root", env.trustedRoot,
			"--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer)
		if err != nil || !strings.Contains(out, "Verified OK") {
			t.Errorf("cosign rejected the Rekor v2 bundle of %s: %v\n%s", dist, err, out)
		}
		out, err = python(t, "-m", "sigstore", "--trust-config", trustConfig, "verify", "identity",
			"--bundle", dist+".sigstore.json", "--cert-identity", identity, "--cert-oidc-issuer", env.issuer, dist)
		if err != nil {
			t.Errorf("sigstore-python rejected the Rekor v2 bundle of %s: %v\n%s", dist, err, out)
		}
		for _, suffix := range []string{".publish.attestation", ".slsa.attestation"} {
			att := dist + suffix
			var obj struct {
				VerificationMaterial struct {
					Timestamps          []string          `json:"timestamps"`
					TransparencyEntries []json.RawMessage `json:"transparency_entries"`
				} `json:"verification_material"`
			}
			data, err := os.ReadFile(att)
			if err != nil {
				t.Fatalf("%s: %v", name+suffix, err)
			}
			if err := json.Unmarshal(data, &obj); err != nil {
				t.Fatal(err)
			}
			vm := obj.VerificationMaterial
			if len(vm.Timestamps) == 0 || len(vm.TransparencyEntries) != 1 || !strings.Contains(string(vm.TransparencyEntries[0]), `"0.0.2"`) {
				t.Errorf("%s: want RFC 3161 timestamps and one Rekor v2 (0.0.2) entry:\n%s", name+suffix, data)
			}
			if out, code := verify(t, "--attestation", att, "--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer, dist); code != 0 {
				t.Errorf("verify rejected %s (%d):\n%s", name+suffix, code, out)
			}
			// A timestamp over other bytes: the entry has no integrated
			// time, so nothing establishes when it was signed.
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			ts := doc["verification_material"].(map[string]any)["timestamps"].([]any)
			raw, _ := base64.StdEncoding.DecodeString(ts[0].(string))
			raw[len(raw)-1] ^= 0x01
			ts[0] = base64.StdEncoding.EncodeToString(raw)
			tampered := filepath.Join(t.TempDir(), filepath.Base(att))
			out, _ := json.Marshal(doc)
			if err := os.WriteFile(tampered, out, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, code := verify(t, "--attestation", tampered, "--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer, dist); code != 1 {
				t.Errorf("verify accepted %s with a tampered timestamp (%d):\n%s", name+suffix, code, out)
			}
			if out, err := pep740Judge(t, dist, "release.yml", tampered); err == nil {
				t.Errorf("pypi-attestations accepted %s with a tampered timestamp:\n%s", name+suffix, out)
			}
		}
		if out, err := pep740Judge(t, dist, "release.yml", dist+".publish.attestation", dist+".slsa.attestation"); err != nil {
			t.Errorf("pypi-attestations rejected the Rekor v2 attestations of %s: %v\n%s", name, err, out)
		}
		if out, err := pep740Judge(t, dist, "other.yml", dist+".publish.attestation"); err == nil {
			t.Errorf("pypi-attestations accepted another workflow for %s:\n%s", name, out)
		}
		changed := filepath.Join(t.TempDir(), name)
		data, err := os.ReadFile(dist)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0x01
		if err := os.WriteFile(changed, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := verify(t, "--attestation", dist+".publish.attestation", "--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer, changed); code != 1 {
			t.Errorf("verify accepted a changed %s (%d):\n%s", name, code, out)
		}
	}
}

// TestBadInput: every refusal says what to fix, exits non-zero and leaves
// the packages directory as it was.
func TestBadInput(t *testing.T) {
	// A log that answers every write with a server error, and one that
	// refuses the entry.
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"code":500,"message":"storage unavailable"}`, http.StatusInternalServerError)
	}))
	defer failing.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":400,"message":"entry rejected"}`))
	}))
	defer refusing.Close()
	closed := closedPort(t)

	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string) // changes the packages dir
		env      func(map[string]string)
		config   func(t *testing.T) string // signing config (default: Rekor v1)
		want     []string
		wantCode int
	}{
		{name: "no dists", setup: func(t *testing.T, dir string) { removeDists(t, dir) }, want: []string{"no distributions"}},
		{name: "symlink in dist", setup: func(t *testing.T, dir string) {
			if err := os.Symlink("/etc/hostname", filepath.Join(dir, "evil-1.0.tar.gz")); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"evil-1.0.tar.gz: looks like a distribution but is not a regular file (a symlink)"}},
		{name: "invalid wheel name", setup: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "attest_publish_sample-0.1.0-py3.whl"))
		}, want: []string{"invalid wheel filename"}},
		{name: "broken metadata", setup: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "attest_publish_sample-0.1.0-py2-none-any.whl")) // not a zip
		}, want: []string{"metadata check failed", "attest_publish_sample-0.1.0-py2-none-any.whl"}},
		{name: "existing output", setup: func(t *testing.T, dir string) {
			write(t, distFiles(t, dir)[0]+".sigstore.json")
		}, want: []string{"refusing to overwrite", "--overwrite"}},
		{name: "missing id-token permission", env: func(e map[string]string) {
			delete(e, "ACTIONS_ID_TOKEN_REQUEST_URL")
			delete(e, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		}, want: []string{`permissions: id-token: write`}},
		{name: "fork pull request", env: func(e map[string]string) {
			delete(e, "ACTIONS_ID_TOKEN_REQUEST_URL")
			delete(e, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
			e["GITHUB_EVENT_NAME"] = "pull_request"
			e["GITHUB_EVENT_PATH"] = filepath.Join(repoRoot, "internal", "idtoken", "testdata", "event-fork-pr.json")
		}, want: []string{"pull request from a fork", "workflow_dispatch"}},
		{name: "expired token", env: func(e map[string]string) {
			e["ACTIONS_ID_TOKEN_REQUEST_URL"] = env.tokenURL + "&exp_in=-120&iat_ago=720"
		}, want: []string{"Fulcio returned 400", "hint: the identity token expired"}},
		{name: "transparency log down", config: func(t *testing.T) string { return rekorAt(t, closed) },
			want: []string{"transparency log " + closed, "after 4 attempts"}},
		{name: "transparency log failing", config: func(t *testing.T) string { return rekorAt(t, failing.URL) },
			want: []string{"transparency log " + failing.URL, "after 4 attempts"}},
		{name: "transparency log refusing", config: func(t *testing.T) string { return rekorAt(t, refusing.URL) },
			want: []string{"transparency log " + refusing.URL, "entry rejected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDists(t)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := listDir(t, dir)
			e := runnerEnv("")
			if tt.env != nil {
				tt.env(e)
			}
			config := env.signingConfig
			if tt.config != nil {
				config = tt.config(t)
			}
			res := sign(t, e, append(trustArgs(config), "--packages-dir", dir)...)
			if res.code != 1 {
				t.Errorf("exit code %d, want 1", res.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, res.stderr)
				}
			}
			if after := listDir(t, dir); after != before {
				t.Errorf("packages dir changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeDists(t *testing.T, dir string) {
	t.Helper()
	for _, d := range distFiles(t, dir) {
		if err := os.Remove(d); err != nil {
			t.Fatal(err)
		}
	}
}

// closedPort returns a loopback URL where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// rekorAt writes a copy of the Rekor v1 signing config whose log is at url.
func rekorAt(t *testing.T, url string) string {
	t.Helper()
	return signingConfigThrough(t, func(name, origin string) string {
		if strings.HasPrefix(name, "rekor") {
			return url
		}
		return origin
	})
}

// TestRekorV2ForeignSigner: an in-toto attestation that sigstore-python
// (the reference client) signs against the stack's Rekor v2 and TSA (a
// dsse 0.0.2 entry, an RFC 3161 timestamp, no integrated time) verifies
// with attest-publish verify, and fails for a changed dist and for a
// threshold of two timestamp authorities (there is one).
func TestRekorV2ForeignSigner(t *testing.T) {
	dir := copyDists(t)
	dist := distFiles(t, dir)[0]
	trustConfig := sigstorePythonTrustConfig(t, env.signingConfigRekor2)
	predicate := filepath.Join(t.TempDir(), "predicate.json")
	if err := os.WriteFile(predicate, []byte(`{"buildDefinition":{"buildType":"https://example.invalid/manual","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.invalid/builder"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "python.sigstore.json")
	out, err := python(t, "-m", "sigstore", "--trust-config", trustConfig, "attest", "--rekor-version", "2",
		"--predicate", predicate, "--predicate-type", "https://slsa.dev/provenance/v1",
		"--identity-token", mintToken(t, "&audience=sigstore"), "--bundle", bundle, dist)
	if err != nil {
		t.Fatalf("sigstore-python attest: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"0.0.2"`) || !strings.Contains(string(data), "rfc3161Timestamps") {
		t.Fatalf("sigstore-python did not log a Rekor v2 entry with a timestamp:\n%s", data)
	}
	id := []string{"--bundle", bundle, "--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer}
	if out, code := verify(t, append(id, dist)...); code != 0 {
		t.Errorf("verify rejected sigstore-python's Rekor v2 attestation (%d):\n%s", code, out)
	}
	if out, code := verify(t, append(id, "--timestamp-threshold", "2", dist)...); code != 1 || !strings.Contains(out, "RFC 3161 timestamps: 1 < 2") {
		t.Errorf("verify with --timestamp-threshold 2 (%d):\n%s", code, out)
	}
	changed := filepath.Join(t.TempDir(), filepath.Base(dist))
	raw, err := os.ReadFile(dist)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	if err := os.WriteFile(changed, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := verify(t, append(id, changed)...); code != 1 {
		t.Errorf("verify accepted a changed dist (%d):\n%s", code, out)
	}
}
