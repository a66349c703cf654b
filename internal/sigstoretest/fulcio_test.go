package sigstoretest_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/sigstoretest"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// realFulcioRefusal is what Fulcio v1.8.8 answers (HTTP 400) for any token
// it cannot authenticate, an expired one included.
const realFulcioRefusal = `{"code":3,"message":"There was an error processing the identity token","details":[]}`

func getCertificate(t *testing.T, in *sigstoretest.Instance, token string) (*x509.Certificate, error) {
	t.Helper()
	key, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := sign.NewFulcio(&sign.FulcioOptions{BaseURL: in.FulcioURL()}).
		GetCertificate(context.Background(), key, &sign.CertificateProviderOptions{IDToken: token})
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing certificate: %v", err)
	}
	return cert, nil
}

func TestCertificateIdentity(t *testing.T) {
	in := sigstoretest.Start(t)
	cert, err := getCertificate(t, in, in.Token(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != wantSAN {
		t.Errorf("URI SANs %v", cert.URIs)
	}
	if got := cert.NotAfter.Sub(cert.NotBefore); got != 10*time.Minute {
		t.Errorf("validity %v", got)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning {
		t.Errorf("EKU %v", cert.ExtKeyUsage)
	}
	got, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		t.Fatal(err)
	}
	gh := "https://github.com/"
	want := certificate.Extensions{
		Issuer:                              sigstoretest.DefaultIssuer,
		GithubWorkflowTrigger:               "workflow_dispatch",
		GithubWorkflowSHA:                   sigstoretest.DefaultSHA,
		GithubWorkflowName:                  "Release",
		GithubWorkflowRepository:            "octo-org/octo-repo",
		GithubWorkflowRef:                   "refs/heads/main",
		BuildSignerURI:                      wantSAN,
		BuildSignerDigest:                   sigstoretest.DefaultSHA,
		RunnerEnvironment:                   "github-hosted",
		SourceRepositoryURI:                 gh + "octo-org/octo-repo",
		SourceRepositoryDigest:              sigstoretest.DefaultSHA,
		SourceRepositoryRef:                 "refs/heads/main",
		SourceRepositoryIdentifier:          "123456",
		SourceRepositoryOwnerURI:            gh + "octo-org",
		SourceRepositoryOwnerIdentifier:     "7890",
		BuildConfigURI:                      gh + sigstoretest.DefaultWorkflowRef,
		BuildConfigDigest:                   sigstoretest.DefaultSHA,
		BuildTrigger:                        "workflow_dispatch",
		RunInvocationURI:                    gh + "octo-org/octo-repo/actions/runs/42/attempts/1",
		SourceRepositoryVisibilityAtSigning: "public",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("extensions\n got %+v\nwant %+v", got, want)
	}
	// Encodings: .1–.6 raw bytes, .8 and later DER UTF8String.
	for _, e := range cert.Extensions {
		switch {
		case e.Id.Equal(certificate.OIDGitHubWorkflowRepository): //lint:ignore SA1019 checking Fulcio's deprecated extension on purpose
			if string(e.Value) != "octo-org/octo-repo" {
				t.Errorf(".1.5 = %q, want the raw string", e.Value)
			}
		case e.Id.Equal(certificate.OIDSourceRepositoryRef):
			var raw asn1.RawValue
			if _, err := asn1.Unmarshal(e.Value, &raw); err != nil || raw.Tag != asn1.TagUTF8String {
				t.Errorf(".1.14 is not a DER UTF8String: tag %d, %v", raw.Tag, err)
			}
		}
	}
}

func TestTokenOverridesReachTheCertificate(t *testing.T) {
	in := sigstoretest.Start(t, sigstoretest.WithGitHubURL("https://ghe.example.com"))
	cert, err := getCertificate(t, in, in.Token(map[string]any{
		"runner_environment":    "self-hosted",
		"repository_visibility": nil,
		"ref":                   "refs/tags/v1.0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		t.Fatal(err)
	}
	if got.RunnerEnvironment != "self-hosted" || got.SourceRepositoryRef != "refs/tags/v1.0" ||
		got.SourceRepositoryVisibilityAtSigning != "" || got.SourceRepositoryURI != "https://ghe.example.com/octo-org/octo-repo" {
		t.Errorf("extensions %+v", got)
	}
}

func TestFulcioRefusesBadTokens(t *testing.T) {
	in := sigstoretest.Start(t)
	past := time.Now().Add(-time.Hour)
	tests := []struct {
		name       string
		token      string
		wantReason string
	}{
		{"expired", in.Token(map[string]any{"iat": past.Unix(), "nbf": past.Unix(), "exp": past.Add(10 * time.Minute).Unix()}), "oidc: token is expired (Token Expiry: "},
		{"wrong issuer", in.Token(map[string]any{"iss": "https://issuer.example.com"}), "issued by a different provider"},
		{"wrong audience", in.Token(map[string]any{"aud": "pypi"}), `expected audience "sigstore"`},
		{"not yet valid", in.Token(map[string]any{"nbf": time.Now().Add(time.Hour).Unix()}), "before the nbf"},
		{"forged signature", forge(in.Token(nil), in.Token(nil)), "failed to verify signature"},
		{"missing", "", "no bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Through sigstore-go's client: the error carries the body.
			if tt.token != "" {
				_, err := getCertificate(t, in, tt.token)
				if err == nil || !strings.Contains(err.Error(), "Fulcio returned 400: "+realFulcioRefusal) {
					t.Errorf("sign.Fulcio error = %v", err)
				}
			}
			// Raw: exact body, and the cause in the reason header.
			status, body, reason := postSigningCert(t, in, tt.token, validRequest(t))
			if status != http.StatusBadRequest || body != realFulcioRefusal {
				t.Errorf("got %d %s", status, body)
			}
			if !strings.Contains(reason, tt.wantReason) {
				t.Errorf("reason %q, want it to contain %q", reason, tt.wantReason)
			}
		})
	}
}

func TestFulcioChecksProofOfPossession(t *testing.T) {
	in := sigstoretest.Start(t)
	req := validRequest(t)
	req["publicKeyRequest"].(map[string]any)["proofOfPossession"] = []byte("not a signature")
	status, body, reason := postSigningCert(t, in, in.Token(nil), req)
	if status != http.StatusBadRequest || !strings.Contains(body, "The signature supplied in the request could not be verified") {
		t.Errorf("got %d %s (%s)", status, body, reason)
	}
	status, body, _ = postSigningCert(t, in, in.Token(nil), validRequest(t))
	if status != http.StatusOK || !strings.Contains(body, "signedCertificateEmbeddedSct") {
		t.Errorf("valid request: got %d %s", status, body)
	}
	if in.FulcioRequests() != 2 {
		t.Errorf("FulcioRequests = %d", in.FulcioRequests())
	}
}

// forge returns a's header and claims with b's signature.
func forge(a, b string) string {
	return a[:strings.LastIndex(a, ".")] + b[strings.LastIndex(b, "."):]
}

// validRequest is a signingCert request body with a proof of possession
// over the default subject.
func validRequest(t *testing.T) map[string]any {
	t.Helper()
	key, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := key.GetPublicKeyPem()
	if err != nil {
		t.Fatal(err)
	}
	pop, _, err := key.SignData(context.Background(), []byte(sigstoretest.DefaultSubject))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"publicKeyRequest": map[string]any{
		"publicKey":         map[string]any{"algorithm": "ECDSA", "content": pem},
		"proofOfPossession": pop,
	}}
}

// postSigningCert posts to the fake Fulcio and returns status, body and the
// reason header.
func postSigningCert(t *testing.T, in *sigstoretest.Instance, token string, req map[string]any) (int, string, string) {
	t.Helper()
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	hr, err := http.NewRequest(http.MethodPost, in.FulcioURL()+"/api/v2/signingCert", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header.Get(sigstoretest.ReasonHeader)
}
