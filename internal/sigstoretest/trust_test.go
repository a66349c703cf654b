package sigstoretest_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/sigstoretest"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

func TestSigningConfig(t *testing.T) {
	in := sigstoretest.Start(t)
	tests := []struct {
		withTSA, withRekor bool
	}{{true, true}, {true, false}, {false, true}, {false, false}}
	for _, tt := range tests {
		path := in.SigningConfigPath(tt.withTSA, tt.withRekor)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"application/vnd.dev.sigstore.signingconfig.v0.2+json"`) {
			t.Errorf("%s: media type missing: %s", path, raw)
		}
		sc, err := root.NewSigningConfigFromPath(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if ca := sc.FulcioCertificateAuthorityURLs(); len(ca) != 1 || ca[0].URL != in.FulcioURL() || ca[0].MajorAPIVersion != 1 {
			t.Errorf("%s: Fulcio %+v", path, ca)
		}
		if tsas := sc.TimestampAuthorityURLs(); (len(tsas) == 1 && tsas[0].URL == in.TSAURL()) != tt.withTSA {
			t.Errorf("%s: TSAs %+v", path, tsas)
		}
		logs := sc.RekorLogURLs()
		if (len(logs) == 1 && logs[0].URL == in.RekorURL() && logs[0].MajorAPIVersion == 1) != tt.withRekor {
			t.Errorf("%s: Rekor %+v", path, logs)
		}
	}
}

func TestTrustedRoot(t *testing.T) {
	in := sigstoretest.Start(t)
	raw, err := os.ReadFile(in.TrustedRootPath())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		MediaType string `json:"mediaType"`
		Tlogs     []struct {
			BaseURL string `json:"baseUrl"`
			LogID   struct {
				KeyID string `json:"keyId"`
			} `json:"logId"`
			PublicKey struct {
				RawBytes string `json:"rawBytes"`
			} `json:"publicKey"`
		} `json:"tlogs"`
		Ctlogs []any `json:"ctlogs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.MediaType != root.TrustedRootMediaType01 || len(doc.Tlogs) != 1 || len(doc.Ctlogs) != 0 {
		t.Fatalf("trusted root %s", raw)
	}
	// logId.keyId must be the raw SHA-256 of the log key (not its hex).
	keyDER, err := base64.StdEncoding.DecodeString(doc.Tlogs[0].PublicKey.RawBytes)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(keyDER)
	if doc.Tlogs[0].LogID.KeyID != base64.StdEncoding.EncodeToString(want[:]) {
		t.Errorf("logId.keyId %s, want base64 of %x", doc.Tlogs[0].LogID.KeyID, want)
	}
	if _, err := x509.ParsePKIXPublicKey(keyDER); err != nil {
		t.Errorf("log key: %v", err)
	}
	tr := in.TrustedRoot()
	if logs := tr.RekorLogs(); logs[hex.EncodeToString(want[:])] == nil {
		t.Errorf("TrustedRoot().RekorLogs() not keyed by hex log ID: %v", logs)
	}
	if len(tr.FulcioCertificateAuthorities()) != 1 || len(tr.TimestampingAuthorities()) != 1 {
		t.Error("TrustedRoot lacks the CA or the TSA")
	}
}

// TestInstancesDoNotTrustEachOther: each instance has its own keys.
func TestInstancesDoNotTrustEachOther(t *testing.T) {
	a, b := sigstoretest.Start(t), sigstoretest.Start(t)
	artifact := []byte("artifact")
	pb, err := signWith(t, &sign.PlainData{Data: artifact}, bundleOptions(t, a, a.Token(nil)))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(artifact)
	if _, err := verifier(t, b).Verify(load(t, pb), verify.NewPolicy(verify.WithArtifactDigest("sha256", digest[:]), verify.WithCertificateIdentity(identity(t, "octo-org/octo-repo")))); err == nil {
		t.Error("instance b accepted instance a's bundle")
	}
}

func TestToken(t *testing.T) {
	in := sigstoretest.Start(t, sigstoretest.WithIssuer("https://token.actions.example.test"))
	claims := func(tok string) (map[string]any, map[string]any) {
		t.Helper()
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("token %q", tok)
		}
		var header, payload map[string]any
		for i, v := range []*map[string]any{&header, &payload} {
			data, err := base64.RawURLEncoding.DecodeString(parts[i])
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, v); err != nil {
				t.Fatal(err)
			}
		}
		return header, payload
	}
	header, c := claims(in.Token(nil))
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["kid"] == nil {
		t.Errorf("header %v", header)
	}
	want := map[string]any{
		"iss": "https://token.actions.example.test", "aud": "sigstore", "sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
		"repository": "octo-org/octo-repo", "repository_owner": "octo-org", "repository_id": "123456",
		"repository_owner_id": "7890", "repository_visibility": "public", "ref": "refs/heads/main", "ref_type": "branch",
		"sha": sigstoretest.DefaultSHA, "workflow": "Release", "workflow_ref": sigstoretest.DefaultWorkflowRef,
		"workflow_sha": sigstoretest.DefaultSHA, "job_workflow_ref": sigstoretest.DefaultWorkflowRef,
		"job_workflow_sha": sigstoretest.DefaultSHA, "event_name": "workflow_dispatch", "run_id": "42",
		"run_number": "7", "run_attempt": "1", "runner_environment": "github-hosted",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	for _, k := range []string{"actor", "jti", "iat", "nbf", "exp"} {
		if c[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 600 {
		t.Errorf("lifetime %v s", exp-iat)
	}
	_, other := claims(in.Token(nil))
	if other["jti"] == c["jti"] {
		t.Error("jti repeats")
	}
	_, o := claims(in.Token(map[string]any{"ref": "refs/tags/v1", "environment": "pypi", "actor": nil}))
	if o["ref"] != "refs/tags/v1" || o["environment"] != "pypi" || o["actor"] != nil {
		t.Errorf("overrides not applied: %v", o)
	}
	if in.Issuer() != "https://token.actions.example.test" {
		t.Errorf("Issuer() = %s", in.Issuer())
	}
	// The fake Fulcio accepts the custom issuer.
	cert, err := getCertificate(t, in, in.Token(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != wantSAN {
		t.Errorf("SAN %v", cert.URIs)
	}
}
