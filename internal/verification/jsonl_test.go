package verification

import (
	"path/filepath"
	"testing"
	"time"
)

// jsonlFixture is a real JSONL bundle file whose line 2 has a tampered
// signature between two good lines (testdata/jsonl-one-bad-line/SOURCE.txt).
const jsonlFixture = "testdata/jsonl-one-bad-line/"

const jsonlSigner = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"

func TestJSONLEveryLineReported(t *testing.T) {
	trust, _, err := LoadEmbeddedTrust(PublicGood, "", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	a, err := ArtifactFromFile(jsonlFixture + "sigstore-2.1.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	sets, err := LoadMaterial([]string{jsonlFixture + "attestations.jsonl"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jsonl := filepath.Clean(jsonlFixture + "attestations.jsonl")
	for _, tt := range []struct {
		name     string
		san      string
		verified bool
		// lines is each line's failed check ("" = verified).
		lines [3]string
	}{
		{name: "one bad line among good ones", san: jsonlSigner, verified: true, lines: [3]string{"", CheckSignature, ""}},
		{name: "no line satisfies the policy", san: jsonlSigner + "x", lines: [3]string{CheckIdentity, CheckSignature, CheckIdentity}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewChecker(trust, Policy{SAN: tt.san, Issuer: "https://token.actions.githubusercontent.com"})
			if err != nil {
				t.Fatal(err)
			}
			r := c.Verify(a, sets)
			if r.Verified != tt.verified {
				t.Fatalf("verified %v, want %v: %s %s", r.Verified, tt.verified, r.FailedCheck, r.Error)
			}
			if len(r.Items) != 3 {
				t.Fatalf("%d items, want one per line: %+v", len(r.Items), r.Items)
			}
			for i, it := range r.Items {
				if it.Line != i+1 || filepath.Clean(it.Source) != jsonl+" line "+string(rune('1'+i)) {
					t.Errorf("item %d: line %d, source %q", i, it.Line, it.Source)
				}
				if it.Verified != (tt.lines[i] == "") || it.FailedCheck != tt.lines[i] || (it.Error == "") != it.Verified {
					t.Errorf("line %d: verified %v, failed %q (%s); want failed check %q", it.Line, it.Verified, it.FailedCheck, it.Error, tt.lines[i])
				}
			}
			if tt.verified && (len(r.Material) != 1 || r.Material[0] != r.Items[0].Source) {
				t.Errorf("material %v, want line 1", r.Material)
			}
		})
	}
}
