package sigstoretest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/sigstoretest"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// wantSAN is the certificate identity of a default token.
const wantSAN = "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"

// bundleOptions wires sigstore-go's real clients to the fake, taking the
// service URLs from the instance's signing config the way a production
// caller does.
func bundleOptions(t *testing.T, in *sigstoretest.Instance, token string) sign.BundleOptions {
	t.Helper()
	sc, err := root.NewSigningConfigFromPath(in.SigningConfigPath(true, true))
	if err != nil {
		t.Fatalf("loading signing config: %v", err)
	}
	now := time.Now()
	fulcio, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		t.Fatalf("selecting Fulcio: %v", err)
	}
	tsas, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), []uint32{1}, now)
	if err != nil {
		t.Fatalf("selecting TSA: %v", err)
	}
	logs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), []uint32{1}, now)
	if err != nil {
		t.Fatalf("selecting Rekor: %v", err)
	}
	return sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcio.URL}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: token},
		TimestampAuthorities:       []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: tsas[0].URL})},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: logs[0].URL, Version: 1})},
	}
}

// signWith signs content with a fresh ephemeral key.
func signWith(t *testing.T, content sign.Content, opts sign.BundleOptions) (*protobundle.Bundle, error) {
	t.Helper()
	key, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatalf("generating key: %v", err)
	}
	return sign.Bundle(content, key, opts)
}

// statement is a minimal in-toto v1 statement about one artifact.
func statement(t *testing.T, name string, artifact []byte) []byte {
	t.Helper()
	digest := sha256.Sum256(artifact)
	data, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": name, "digest": map[string]string{"sha256": hex.EncodeToString(digest[:])}}},
		"predicateType": "https://docs.pypi.org/attestations/publish/v1",
		"predicate":     map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// identity is the GitHub Actions identity policy a verifier of a default
// token's signatures would use.
func identity(t *testing.T, repository string) verify.CertificateIdentity {
	t.Helper()
	san, err := verify.NewSANMatcher(wantSAN, "")
	if err != nil {
		t.Fatal(err)
	}
	iss, err := verify.NewIssuerMatcher(sigstoretest.DefaultIssuer, "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := verify.NewCertificateIdentity(san, iss, certificate.Extensions{
		SourceRepositoryURI:    "https://github.com/" + repository,
		SourceRepositoryRef:    sigstoretest.DefaultRef,
		SourceRepositoryDigest: sigstoretest.DefaultSHA,
		RunnerEnvironment:      "github-hosted",
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// verifier requires a transparency log entry and an RFC 3161 timestamp,
// reading the trusted root back from the file the instance wrote.
func verifier(t *testing.T, in *sigstoretest.Instance) *verify.Verifier {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(in.TrustedRootPath())
	if err != nil {
		t.Fatalf("loading trusted root: %v", err)
	}
	v, err := verify.NewVerifier(tr, verify.WithTransparencyLog(1), verify.WithSignedTimestamps(1), verify.WithObserverTimestamps(1))
	if err != nil {
		t.Fatalf("building verifier: %v", err)
	}
	return v
}

// load wraps a protobuf bundle for verification.
func load(t *testing.T, pb *protobundle.Bundle) *bundle.Bundle {
	t.Helper()
	b, err := bundle.NewBundle(pb)
	if err != nil {
		t.Fatalf("loading bundle: %v", err)
	}
	return b
}
