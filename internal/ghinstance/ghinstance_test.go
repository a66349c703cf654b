package ghinstance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"testing"
	"time"
)

func TestEndpointsFor(t *testing.T) {
	tests := []struct {
		server, fulcio, tsa string
		wantErr             bool
	}{
		{"", "https://fulcio.githubapp.com", "https://timestamp.githubapp.com/api/v1/timestamp", false},
		{"https://github.com", "https://fulcio.githubapp.com", "https://timestamp.githubapp.com/api/v1/timestamp", false},
		{"https://GitHub.com/", "https://fulcio.githubapp.com", "https://timestamp.githubapp.com/api/v1/timestamp", false},
		{"https://acme.ghe.com", "https://fulcio.acme.ghe.com", "https://timestamp.acme.ghe.com/api/v1/timestamp", false},
		{"https://github.example.com", "", "", true}, // GHES
		{"https://a.b.ghe.com", "", "", true},
		{"http://github.com", "", "", true},
		{"::", "", "", true},
	}
	for _, tt := range tests {
		ep, err := EndpointsFor(tt.server)
		if (err != nil) != tt.wantErr {
			t.Errorf("EndpointsFor(%q) error = %v, want error %v", tt.server, err, tt.wantErr)
			continue
		}
		if ep.Fulcio != tt.fulcio || ep.TSA != tt.tsa {
			t.Errorf("EndpointsFor(%q) = %+v, want %s %s", tt.server, ep, tt.fulcio, tt.tsa)
		}
	}
}

func TestSigningConfig(t *testing.T) {
	sc, err := SigningConfig("https://github.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.FulcioCertificateAuthorityURLs(); len(got) != 1 || got[0].URL != "https://fulcio.githubapp.com" {
		t.Errorf("Fulcio = %+v", got)
	}
	if got := sc.TimestampAuthorityURLs(); len(got) != 1 || got[0].URL != "https://timestamp.githubapp.com/api/v1/timestamp" {
		t.Errorf("TSA = %+v", got)
	}
	if got := sc.RekorLogURLs(); len(got) != 0 {
		t.Errorf("GitHub's instance has no transparency log, got %+v", got)
	}
	if _, err := SigningConfig("https://ghes.example.com"); err == nil {
		t.Error("GHES accepted")
	}
}

func TestTUFOptions(t *testing.T) {
	opts := TUFOptions()
	if opts.RepositoryBaseURL != TUFMirror {
		t.Errorf("mirror = %s", opts.RepositoryBaseURL)
	}
	var meta struct {
		Signed struct {
			Type    string `json:"_type"`
			Version int    `json:"version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(opts.Root, &meta); err != nil {
		t.Fatalf("embedded TUF root: %v", err)
	}
	if meta.Signed.Type != "root" || meta.Signed.Version != 3 {
		t.Errorf("embedded TUF root is %s v%d, want root v3", meta.Signed.Type, meta.Signed.Version)
	}
}

func TestIsGitHubCertificate(t *testing.T) {
	tests := []struct {
		org  []string
		want bool
	}{
		{[]string{"GitHub, Inc."}, true},
		{[]string{"sigstore.dev"}, false},
		{nil, false},
		{[]string{"GitHub, Inc. (not)"}, false},
	}
	for _, tt := range tests {
		cert := issuedBy(t, tt.org)
		if got := IsGitHubCertificate(cert); got != tt.want {
			t.Errorf("issuer O=%v: got %v, want %v", tt.org, got, tt.want)
		}
	}
	if IsGitHubCertificate(nil) {
		t.Error("nil certificate")
	}
}

// issuedBy makes a self-signed certificate whose issuer (and subject) has
// the given Organization.
func issuedBy(t *testing.T, org []string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{Organization: org, CommonName: "test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
