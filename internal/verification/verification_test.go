package verification

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/pep740"
	"github.com/attest-publish/attest-publish/internal/provenance"
)

const (
	fixture  = "testdata/pypi-attestations-0.0.19/"
	distName = "pypi_attestations-0.0.19.tar.gz"
	distSHA  = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3"
	signer   = "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
)

// load reads the real attestation, checks that it survives a round trip
// through a Sigstore bundle unchanged, and returns the bundle.
func load(t *testing.T) *bundle.Bundle {
	t.Helper()
	data, err := os.ReadFile(fixture + distName + ".publish.attestation")
	if err != nil {
		t.Fatal(err)
	}
	a, err := pep740.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := a.ToBundle()
	if err != nil {
		t.Fatal(err)
	}
	back, err := pep740.FromBundle(pb)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	var x, y any
	json.Unmarshal(data, &x)
	json.Unmarshal(again, &y)
	if !reflect.DeepEqual(x, y) {
		t.Errorf("PEP 740 object changed in a round trip through a bundle:\n%s", again)
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRealPyPIAttestation(t *testing.T) {
	tr, err := root.NewTrustedRootFromPath(fixture + "trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(tr, Options{TransparencyLogEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := hex.DecodeString(distSHA)
	good := Identity{SAN: signer, Issuer: "https://token.actions.githubusercontent.com", Extensions: certificate.Extensions{
		SourceRepositoryURI:    "https://github.com/trailofbits/pypi-attestations",
		SourceRepositoryRef:    "refs/tags/v0.0.19",
		SourceRepositoryDigest: "08802efe1f8e5fec4ad842d6b8ce97656092ee72",
	}}
	wrongRef := good
	wrongRef.Extensions.SourceRepositoryRef = "refs/tags/v0.0.18"
	wrongSAN := good
	wrongSAN.SAN = strings.Replace(signer, "release.yml", "other.yml", 1)
	otherDigest := append([]byte(nil), digest...)
	otherDigest[0] ^= 1

	tests := []struct {
		name    string
		id      Identity
		digest  []byte
		wantErr string
	}{
		{name: "accepted", id: good, digest: digest},
		{name: "other ref", id: wrongRef, digest: digest, wantErr: "no matching CertificateIdentity"},
		{name: "other workflow", id: wrongSAN, digest: digest, wantErr: "no matching CertificateIdentity"},
		{name: "other artifact", id: good, digest: otherDigest, wantErr: "artifact sha256:" + hex.EncodeToString(otherDigest)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Artifact(load(t), tt.digest, tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := SingleSubject(res.Statement, distName, digest, provenance.PublishPredicateType); err != nil {
				t.Error(err)
			}
			if err := SingleSubject(res.Statement, "pypi_attestations-0.0.19-py3-none-any.whl", digest, provenance.PublishPredicateType); err == nil {
				t.Error("subject check accepted another filename")
			}
			if err := SingleSubject(res.Statement, distName, digest, provenance.SLSAPredicateType); err == nil {
				t.Error("subject check accepted another predicate type")
			}
		})
	}
}
