package verification

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/dists"
)

const (
	ghFixture = "testdata/gh-reusable-workflow/"
	ghDigest  = "sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25"
	ghSigner  = "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func checker(t *testing.T, root string, p Policy) *Checker {
	t.Helper()
	trust, err := LoadTrust(root, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewChecker(trust, p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBundleSet: bundles fetched from the GitHub API, any of which may
// satisfy the policy.
func TestBundleSet(t *testing.T) {
	good := read(t, ghFixture+"bundle.sigstore.json")
	other := read(t, ghFixture+"sigstore-js-2.1.0.sigstore.json")
	c := checker(t, ghFixture+"trusted_root.json", Policy{SAN: ghSigner, Issuer: "https://token.actions.githubusercontent.com",
		PredicateType: "https://slsa.dev/provenance/v1"})
	a, err := ArtifactFromDigest(ghDigest, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		bundles    [][]byte
		wantLoad   string
		wantVerify string // failed check, "" for verified
		material   string
	}{
		{name: "the matching one among others", bundles: [][]byte{other, good}, material: "github.com/o/r attestation 2"},
		{name: "only another signer's, for another artifact", bundles: [][]byte{other}, wantVerify: CheckIdentity},
		{name: "one malformed", bundles: [][]byte{good, []byte(`{"mediaType": 7}`)}, wantLoad: "github.com/o/r attestation 2: "},
		{name: "none", bundles: nil, wantLoad: "no bundles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := BundleSet("github.com/o/r", tc.bundles)
			if tc.wantLoad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantLoad) {
					t.Fatalf("err = %v, want %q", err, tc.wantLoad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res := c.Verify(a, []*MaterialSet{set})
			if res.FailedCheck != tc.wantVerify || res.Verified != (tc.wantVerify == "") {
				t.Fatalf("result %+v, want failed check %q", res, tc.wantVerify)
			}
			if tc.material != "" && (len(res.Material) != 1 || res.Material[0] != tc.material) {
				t.Errorf("material %v, want %q", res.Material, tc.material)
			}
		})
	}
}

// TestAttestationSet: a PyPI Integrity API provenance object fetched from
// an index, judged with the publisher policy.
func TestAttestationSet(t *testing.T) {
	att := read(t, fixture+distName+dists.PublishAttestationSuffix)
	prov, err := json.Marshal(map[string]any{"version": 1, "attestation_bundles": []any{map[string]any{
		"publisher":    map[string]any{"kind": "GitHub", "repository": "trailofbits/pypi-attestations", "workflow": "release.yml"},
		"attestations": []json.RawMessage{att},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := ArtifactFromDigest("sha256:"+distSHA, distName)
	if err != nil {
		t.Fatal(err)
	}
	policy := func(workflow string) Policy {
		return Policy{SAN: signer, Issuer: "https://token.actions.githubusercontent.com",
			Publisher: &Publisher{Kind: PublisherGitHub, Repository: "trailofbits/pypi-attestations", Workflow: workflow}}
	}
	for _, tc := range []struct {
		name, workflow string
		data           []byte
		wantLoad       string
		wantVerify     string
	}{
		{name: "provenance object", workflow: "release.yml", data: prov},
		{name: "bare attestation", workflow: "release.yml", data: att},
		{name: "another workflow", workflow: "other.yml", data: prov, wantVerify: CheckPublisher},
		{name: "not JSON", workflow: "release.yml", data: []byte("<html>"), wantLoad: "index provenance: not a JSON object"},
		{name: "empty", workflow: "release.yml", data: []byte(`{"version": 1, "attestation_bundles": []}`), wantLoad: "holds no attestations"},
		{name: "version 2", workflow: "release.yml", data: []byte(`{"version": 2, "attestation_bundles": []}`), wantLoad: "unsupported provenance object version 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := AttestationSet("index provenance", tc.data)
			if tc.wantLoad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantLoad) {
					t.Fatalf("err = %v, want %q", err, tc.wantLoad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res := checker(t, fixture+"trusted_root.json", policy(tc.workflow)).Verify(a, []*MaterialSet{set})
			if res.FailedCheck != tc.wantVerify || res.Verified != (tc.wantVerify == "") {
				t.Fatalf("result %+v, want failed check %q", res, tc.wantVerify)
			}
		})
	}
}
