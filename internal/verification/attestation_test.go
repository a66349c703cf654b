package verification

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/pep740"
)

const (
	fixture  = "testdata/pypi-attestations-0.0.19/"
	distName = "pypi_attestations-0.0.19.tar.gz"
	distSHA  = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3"
	signer   = "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
)

// TestAttestationRoundTrip checks that a real PEP 740 attestation survives
// a round trip through the Sigstore bundle it is verified as unchanged.
func TestAttestationRoundTrip(t *testing.T) {
	data, err := os.ReadFile(fixture + distName + dists.PublishAttestationSuffix)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := attestationBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	back, err := pep740.FromBundle(b.Bundle)
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
}

// pep740Vector is what these tests read of a PEP 740 test vector's
// expected.json.
type pep740Vector struct {
	dir              string
	Attestation      string  `json:"attestation"`
	Artifact         string  `json:"artifact"`
	DistributionName string  `json:"distribution_name"`
	ArtifactDigest   string  `json:"artifact_digest"`
	Identity         *string `json:"identity"`
	Issuer           string  `json:"issuer"`
	Certificate      struct {
		SourceRepositoryURI    string `json:"source_repository_uri"`
		SourceRepositoryRef    string `json:"source_repository_ref"`
		SourceRepositoryDigest string `json:"source_repository_digest"`
	} `json:"certificate"`
}

func loadPEP740Vector(t *testing.T, name string) pep740Vector {
	t.Helper()
	v := pep740Vector{dir: filepath.Join(trustVectorsDir(t), name)}
	data, err := os.ReadFile(filepath.Join(v.dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s/expected.json: %v", name, err)
	}
	if v.Identity == nil {
		t.Fatalf("%s names no signer identity", name)
	}
	return v
}

// dist is the distribution the vector's attestation is checked against.
func (v pep740Vector) dist(t *testing.T) *dists.Dist {
	t.Helper()
	filename := v.Artifact
	if filename == "" {
		filename = v.DistributionName
	}
	sum, err := hex.DecodeString(strings.TrimPrefix(v.ArtifactDigest, "sha256:"))
	if err != nil || len(sum) != 32 {
		t.Fatalf("artifact digest %q: %v", v.ArtifactDigest, err)
	}
	return &dists.Dist{Path: filepath.Join(v.dir, filename), Filename: filename, SHA256: sum}
}

// identity is the vector's signer, with the source extensions its
// certificate records.
func (v pep740Vector) identity() Identity {
	c := v.Certificate
	return Identity{SAN: *v.Identity, Issuer: v.Issuer, Extensions: certificate.Extensions{
		SourceRepositoryURI:    c.SourceRepositoryURI,
		SourceRepositoryRef:    c.SourceRepositoryRef,
		SourceRepositoryDigest: c.SourceRepositoryDigest,
	}}
}

// TestAttestation runs the PEP 740 rules sign and publish share over real
// attestations from PyPI and Sigstore's staging instance, each against its
// own trusted root.
func TestAttestation(t *testing.T) {
	const (
		publish = "pep740-pypi_attestations-0.0.19-publish"
		slsa    = "pep740-pypi_attestations-0.0.19-slsa"
	)
	tests := []struct {
		name   string
		vector string
		// as is the name the attestation is verified under (default: its
		// own file name).
		as string
		// change alters what is verified or required.
		change  func(data []byte, d *dists.Dist, id *Identity) []byte
		wantErr string
	}{
		{name: "publish attestation", vector: publish},
		{name: "SLSA provenance attestation", vector: slsa},
		{name: "staging instance, email identity", vector: "pep740-rfc8785-0.1.2-staging"},
		{name: "wheel tags named in another order", vector: "pep740-spt3g-1.0-wheel-tag-order"},
		{
			name: "another ref required", vector: publish,
			change: func(data []byte, _ *dists.Dist, id *Identity) []byte {
				id.Extensions.SourceRepositoryRef = "refs/tags/v0.0.18"
				return data
			},
			wantErr: "sigstore verification: ",
		},
		{
			name: "another workflow required", vector: publish,
			change: func(data []byte, _ *dists.Dist, id *Identity) []byte {
				id.SAN = strings.Replace(id.SAN, "release.yml", "other.yml", 1)
				return data
			},
			wantErr: "no matching CertificateIdentity",
		},
		{name: "dist with other bytes", vector: "pep740-rfc8785-0.1.2-digest-mismatch", wantErr: "sigstore verification: "},
		{name: "dist with another name", vector: "pep740-rfc8785-0.1.2-filename-mismatch", wantErr: `statement: subject name "rfc8785-0.1.2-py3-none-any.whl" does not name the distribution "wrong_name-0.1.2-py3-none-any.whl"`},
		{
			name: "another dist of the release", vector: publish,
			change: func(data []byte, d *dists.Dist, _ *Identity) []byte {
				d.Filename = "pypi_attestations-0.0.19-py3-none-any.whl"
				return data
			},
			wantErr: "statement: subject name",
		},
		{name: "publish attestation named as SLSA", vector: publish, as: distName + dists.SLSAAttestationSuffix, wantErr: `statement: predicate type "https://docs.pypi.org/attestations/publish/v1", want "https://slsa.dev/provenance/v1"`},
		{name: "SLSA attestation named as publish", vector: slsa, as: distName + dists.PublishAttestationSuffix, wantErr: "statement: predicate type"},
		{name: "name says nothing of what it attests", vector: "pep740-pypi_attestation_models-0.0.4a2", wantErr: "is named neither <dist>.publish.attestation nor <dist>.slsa.attestation"},
		{
			name: "truncated", vector: publish,
			change:  func(data []byte, _ *dists.Dist, _ *Identity) []byte { return data[:len(data)/2] },
			wantErr: "parsing PEP 740 attestation",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vec := loadPEP740Vector(t, tt.vector)
			tr, err := root.NewTrustedRootFromPath(filepath.Join(vec.dir, "trusted_root.json"))
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewAttestationVerifier(tr)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(vec.dir, vec.Attestation))
			if err != nil {
				t.Fatal(err)
			}
			d, id := vec.dist(t), vec.identity()
			if tt.change != nil {
				data = tt.change(data, d, &id)
			}
			name := vec.Attestation
			if tt.as != "" {
				name = tt.as
			}
			a, err := v.Attestation(filepath.Join(vec.dir, name), data, d, id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := pep740.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, parsed) {
				t.Error("the attestation returned is not the one parsed from the data")
			}
		})
	}
}
