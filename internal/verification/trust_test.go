package verification

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStalenessWarnings(t *testing.T) {
	snap := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name string
		root string
		now  time.Time
		want []string // substrings, one per warning, in order
	}{
		{name: "fresh, open entries", root: `{"tlogs":[{"publicKey":{"validFor":{"start":"2021-01-01T00:00:00Z"}}}],"certificateAuthorities":[{"validFor":{"start":"2022-01-01T00:00:00Z"}}]}`, now: snap.Add(30 * day)},
		{name: "rotated key with an open successor", root: `{"certificateAuthorities":[{"validFor":{"start":"2021-01-01T00:00:00Z","end":"2022-01-01T00:00:00Z"}},{"validFor":{"start":"2022-01-01T00:00:00Z"}}]}`, now: snap},
		{name: "snapshot too old", root: `{}`, now: snap.Add(MaxSnapshotAge + day), want: []string{"184 days old"}},
		{name: "just within the age", root: `{}`, now: snap.Add(MaxSnapshotAge)},
		{name: "every log ended", root: `{"tlogs":[{"publicKey":{"validFor":{"start":"2021-01-01T00:00:00Z","end":"2025-06-01T00:00:00Z"}}},{"publicKey":{"validFor":{"start":"2021-01-01T00:00:00Z","end":"2025-12-01T00:00:00Z"}}}]}`, now: snap, want: []string{"no transparency log in it is valid now (the last one ended 2025-12-01)"}},
		{name: "only CA starts later", root: `{"certificateAuthorities":[{"validFor":{"start":"2027-01-01T00:00:00Z"}}]}`, now: snap, want: []string{"no certificate authority"}},
		{name: "old and CT and TSA ended", root: `{"ctlogs":[{"publicKey":{"validFor":{"end":"2025-01-01T00:00:00Z"}}}],"timestampAuthorities":[{"validFor":{"end":"2025-01-01T00:00:00Z"}}]}`, now: snap.Add(400 * day), want: []string{"400 days old", "no CT log", "no timestamp authority"}},
		{name: "end is exclusive", root: `{"tlogs":[{"publicKey":{"validFor":{"end":"2026-01-01T00:00:00Z"}}}]}`, now: snap, want: []string{"no transparency log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StalenessWarnings([]byte(tt.root), snap, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %q, want %d like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
	if _, err := StalenessWarnings([]byte(`{"tlogs":`), snap, snap); err == nil {
		t.Error("truncated root: no error")
	}
}

// TestEmbeddedRoots checks that each embedded snapshot is byte-identical to
// the test vector copy its README names, parses, and is not stale at its
// own date but is once MaxSnapshotAge has passed.
func TestEmbeddedRoots(t *testing.T) {
	for _, tt := range []struct {
		er     EmbeddedRoot
		vector string
	}{
		{PublicGood, "trusted-root-public-good-production"},
		{Staging, "sp-staging-v0.1"},
	} {
		t.Run(tt.er.Name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(trustVectorsDir(t), tt.vector, "trusted_root.json"))
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(want) != sha256.Sum256(tt.er.JSON) {
				t.Errorf("embedded %s root differs from %s/trusted_root.json", tt.er.Name, tt.vector)
			}
			sum := sha256.Sum256(tt.er.JSON)
			t.Logf("sha256 %s", hex.EncodeToString(sum[:]))
			trust, warnings, err := LoadEmbeddedTrust(tt.er, "", tt.er.Snapshot.Add(24*time.Hour))
			if err != nil || trust == nil {
				t.Fatalf("loading: %v", err)
			}
			if len(warnings) != 0 {
				t.Errorf("fresh snapshot warns: %q", warnings)
			}
			_, warnings, err = LoadEmbeddedTrust(tt.er, "", tt.er.Snapshot.Add(MaxSnapshotAge+48*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], "days old") || !strings.Contains(warnings[0], tt.er.Source) || !strings.Contains(warnings[0], "--tuf") {
				t.Errorf("old snapshot warnings %q", warnings)
			}
		})
	}
}

// trustVectorsDir returns the repository's copy of the test vectors,
// testdata/vectors (relative to this package's directory, where go test
// runs). A missing copy fails the test.
func trustVectorsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "vectors")
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Fatalf("test vectors missing from the repository's testdata/vectors: %v", err)
	}
	return dir
}
