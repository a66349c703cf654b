package verification

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/attest-publish/attest-publish/internal/ghinstance"
	"github.com/attest-publish/attest-publish/internal/sigstoretest"
)

// signed is one artifact signed by a fake instance.
type signed struct {
	artifact Artifact
	bundle   []byte
}

// signWith signs data with in's Fulcio and TSA, and its Rekor when withLog.
func signWith(t *testing.T, in *sigstoretest.Instance, data []byte, withLog bool) signed {
	t.Helper()
	opts := sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: in.FulcioURL()}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: in.Token(nil)},
		TimestampAuthorities:       []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: in.TSAURL()})},
	}
	if withLog {
		opts.TransparencyLogs = []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: in.RekorURL(), Version: 1})}
	}
	key, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sign.Bundle(&sign.PlainData{Data: data}, key, opts)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		t.Fatal(err)
	}
	js, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return signed{artifact: Artifact{Name: "sha256:x", SHA256: sum[:]}, bundle: js}
}

// compactRoot returns a trusted root file as one line, without keys.
func compactRoot(t *testing.T, path string, drop ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range drop {
		delete(doc, k)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGitHubInstanceRouting: a certificate from GitHub's instance (CA
// Organization "GitHub, Inc.", RFC 3161 time, no log) verifies only
// against GitHub's root, others only against theirs, and a JSONL root file
// with both verifies both.
func TestGitHubInstanceRouting(t *testing.T) {
	gh := sigstoretest.Start(t, sigstoretest.WithCAOrganization(ghinstance.IssuerOrganization))
	pg := sigstoretest.Start(t)
	ghSigned := signWith(t, gh, []byte("private repository artifact"), false)
	pgSigned := signWith(t, pg, []byte("public artifact"), true)

	// A copy of the GitHub bundle without its timestamp.
	var doc map[string]any
	if err := json.Unmarshal(ghSigned.bundle, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["verificationMaterial"].(map[string]any), "timestampVerificationData")
	noTime, _ := json.Marshal(doc)
	ghNoTime := signed{artifact: ghSigned.artifact, bundle: noTime}

	dir := t.TempDir()
	ghRoot := compactRoot(t, gh.TrustedRootPath(), "tlogs") // GitHub's instance has no log
	pgRoot := compactRoot(t, pg.TrustedRootPath())
	write := func(name string, lines ...[]byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	roots := map[string]string{
		"public only":       write("pg.json", pgRoot),
		"github only":       write("gh.json", ghRoot),
		"both":              write("both.jsonl", pgRoot, ghRoot),
		"both, other order": write("both2.jsonl", ghRoot, pgRoot),
	}
	tests := []struct {
		root, name string
		s          signed
		identity   string
		issuer     string
		wantCheck  string // "" = verified
		wantErr    string
	}{
		{"public only", "public bundle", pgSigned, "", pg.Issuer(), "", ""},
		{"public only", "GitHub bundle", ghSigned, "", gh.Issuer(), CheckTrustedRoot, "--github-instance"},
		{"github only", "GitHub bundle", ghSigned, "", gh.Issuer(), "", ""},
		{"github only", "public bundle", pgSigned, "", pg.Issuer(), CheckTrustedRoot, "holds only GitHub's instance"},
		{"both", "public bundle", pgSigned, "", pg.Issuer(), "", ""},
		{"both", "GitHub bundle", ghSigned, "", gh.Issuer(), "", ""},
		{"both, other order", "GitHub bundle", ghSigned, "", gh.Issuer(), "", ""},
		{"both", "GitHub bundle without a timestamp", ghNoTime, "", gh.Issuer(), CheckSignature, "RFC 3161"},
		{"both", "GitHub bundle, wrong issuer", ghSigned, "", "https://other.example", CheckIssuer, "other.example"},
	}
	for _, tt := range tests {
		t.Run(tt.root+"/"+tt.name, func(t *testing.T) {
			trust, err := LoadTrust(roots[tt.root], "")
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewChecker(trust, Policy{SANRegexp: ".*", Issuer: tt.issuer})
			if err != nil {
				t.Fatal(err)
			}
			set, err := BundleSet("test", [][]byte{tt.s.bundle})
			if err != nil {
				t.Fatal(err)
			}
			res := c.Verify(tt.s.artifact, []*MaterialSet{set})
			if tt.wantCheck == "" {
				if !res.Verified {
					t.Fatalf("not verified: %s: %s", res.FailedCheck, res.Error)
				}
				return
			}
			if res.Verified || res.FailedCheck != tt.wantCheck || !strings.Contains(res.Error, tt.wantErr) {
				t.Errorf("got verified=%v %s: %s; want %s containing %q", res.Verified, res.FailedCheck, res.Error, tt.wantCheck, tt.wantErr)
			}
		})
	}
}

func TestLoadTrustJSONLErrors(t *testing.T) {
	pg := sigstoretest.Start(t)
	root := compactRoot(t, pg.TrustedRootPath())
	dir := t.TempDir()
	for name, content := range map[string]string{
		"two of a kind": string(root) + "\n" + string(root) + "\n",
		"bad line":      string(root) + "\n{\"mediaType\": 1}\n",
		"not json":      "nope\nnope\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadTrust(p, ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
