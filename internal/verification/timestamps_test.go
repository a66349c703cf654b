package verification

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/attest-publish/attest-publish/internal/sigstoretest"
)

// TestTimestampThreshold checks the reference verifiers' timestamp rules
// on bundles that carry a Rekor v1 entry and RFC 3161 timestamps: a
// timestamp that does not verify is ignored with a warning (the log's
// integrated time and any good timestamp still count), the same authority
// twice counts once, and a threshold above one asks for that many distinct
// verified RFC 3161 timestamps.
func TestTimestampThreshold(t *testing.T) {
	f := newBenchFixture(t)
	// A second instance: its timestamp authority is foreign to f's root,
	// and a root trusting both authorities has two distinct ones.
	other := sigstoretest.Start(t)
	bothRoot := mergeTimestampAuthorities(t, f.in.TrustedRootPath(), other.TrustedRootPath())
	bothTrust, err := LoadTrust(bothRoot, "")
	if err != nil {
		t.Fatal(err)
	}

	load := func(t *testing.T, i int) []*MaterialSet {
		sets, err := LoadMaterial(f.items[i].Bundles, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sets
	}
	timestamps := func(sets []*MaterialSet) *[][]byte {
		tvd := sets[0].Items[0].Bundle.GetVerificationMaterial().GetTimestampVerificationData()
		ts := make([][]byte, 0, len(tvd.GetRfc3161Timestamps()))
		for _, x := range tvd.GetRfc3161Timestamps() {
			ts = append(ts, x.GetSignedTimestamp())
		}
		return &ts
	}
	// timestampFrom asks a timestamp authority for a timestamp over the
	// bundle's own signature.
	timestampFrom := func(t *testing.T, url string, sets []*MaterialSet) []byte {
		sig := sets[0].Items[0].Bundle.GetMessageSignature().GetSignature()
		ts, err := sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: url}).GetTimestamp(context.Background(), sig)
		if err != nil {
			t.Fatalf("timestamp from %s: %v", url, err)
		}
		return ts
	}
	setTimestamps := func(sets []*MaterialSet, ts [][]byte) {
		tvd := sets[0].Items[0].Bundle.GetVerificationMaterial().GetTimestampVerificationData()
		list := make([]*protocommon.RFC3161SignedTimestamp, 0, len(ts))
		for _, x := range ts {
			list = append(list, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: x})
		}
		tvd.Rfc3161Timestamps = list
	}

	tests := []struct {
		name      string
		both      bool // trust both timestamp authorities
		threshold int
		edit      func(t *testing.T, sets []*MaterialSet)
		wantOK    bool
		wantErr   string
		wantWarn  string
	}{
		{name: "untouched", wantOK: true},
		{name: "untouched, threshold 2", threshold: 2, wantErr: "RFC 3161 timestamps: 1 < 2"},
		{
			name: "another signature's timestamp is ignored; the integrated time counts",
			edit: func(t *testing.T, sets []*MaterialSet) {
				setTimestamps(sets, *timestamps(load(t, 1)))
			},
			wantOK: true, wantWarn: "timestamp was ignored (0 of 1 counted)",
		},
		{
			name: "one good and one foreign timestamp",
			edit: func(t *testing.T, sets []*MaterialSet) {
				setTimestamps(sets, append(*timestamps(sets), timestampFrom(t, other.TSAURL(), sets)))
			},
			wantOK: true, wantWarn: "timestamp was ignored (1 of 2 counted)",
		},
		{
			name:      "one good and one foreign timestamp, threshold 2",
			threshold: 2,
			edit: func(t *testing.T, sets []*MaterialSet) {
				setTimestamps(sets, append(*timestamps(sets), timestampFrom(t, other.TSAURL(), sets)))
			},
			wantErr: "RFC 3161 timestamps: 1 < 2",
		},
		{
			name:      "the same timestamp twice counts once",
			threshold: 2,
			edit: func(t *testing.T, sets []*MaterialSet) {
				ts := *timestamps(sets)
				setTimestamps(sets, append(ts, ts[0]))
			},
			wantErr: "RFC 3161 timestamps: 1 < 2",
		},
		{
			name:      "two trusted authorities, threshold 2",
			both:      true,
			threshold: 2,
			edit: func(t *testing.T, sets []*MaterialSet) {
				setTimestamps(sets, append(*timestamps(sets), timestampFrom(t, other.TSAURL(), sets)))
			},
			wantOK: true,
		},
		{
			name:      "two trusted authorities, threshold 3",
			both:      true,
			threshold: 3,
			edit: func(t *testing.T, sets []*MaterialSet) {
				setTimestamps(sets, append(*timestamps(sets), timestampFrom(t, other.TSAURL(), sets)))
			},
			wantErr: "RFC 3161 timestamps: 2 < 3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trust := f.trust
			if tt.both {
				trust = bothTrust
			}
			c, err := NewChecker(trust, Policy{SAN: benchSigner, Issuer: f.in.Issuer(), TimestampThreshold: tt.threshold})
			if err != nil {
				t.Fatal(err)
			}
			sets := load(t, 0)
			if tt.edit != nil {
				tt.edit(t, sets)
			}
			r := c.Verify(f.items[0].Artifact, sets)
			if r.Verified != tt.wantOK {
				t.Fatalf("verified %v, want %v (%s: %s)", r.Verified, tt.wantOK, r.FailedCheck, r.Error)
			}
			if tt.wantErr != "" && (r.FailedCheck != CheckSignature || !strings.Contains(r.Error, tt.wantErr)) {
				t.Errorf("error %s: %q, want signature: …%s…", r.FailedCheck, r.Error, tt.wantErr)
			}
			warnings := strings.Join(r.Warnings, "\n")
			if tt.wantWarn == "" && tt.wantOK && warnings != "" {
				t.Errorf("unexpected warnings: %s", warnings)
			}
			if tt.wantWarn != "" && !strings.Contains(warnings, tt.wantWarn) {
				t.Errorf("warnings %q, want one with %q", warnings, tt.wantWarn)
			}
		})
	}
}

// TestTimestampThresholdPolicy refuses thresholds no bundle can meet.
func TestTimestampThresholdPolicy(t *testing.T) {
	for _, n := range []int{-1, 33} {
		p := Policy{SAN: "x", Issuer: "y", TimestampThreshold: n}
		if err := p.Validate(false); err == nil {
			t.Errorf("threshold %d accepted", n)
		}
	}
}

// mergeTimestampAuthorities writes a copy of the trusted root at base that
// also trusts the timestamp authorities of the root at extra.
func mergeTimestampAuthorities(t *testing.T, base, extra string) string {
	t.Helper()
	read := func(p string) map[string]any {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	b, e := read(base), read(extra)
	b["timestampAuthorities"] = append(b["timestampAuthorities"].([]any), e["timestampAuthorities"].([]any)...)
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
