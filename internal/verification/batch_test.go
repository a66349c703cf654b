package verification

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/attest-publish/attest-publish/internal/dists"
)

func TestRunConcurrently(t *testing.T) {
	for _, tt := range []struct{ n, workers int }{{0, 0}, {1, 0}, {7, 2}, {50, 0}, {3, 10}} {
		var running, peak atomic.Int32
		got := RunConcurrently(tt.n, tt.workers, func(i int) Result {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			defer running.Add(-1)
			return Result{Artifact: string(rune('a' + i%26))}
		})
		if len(got) != tt.n {
			t.Fatalf("n=%d: %d results", tt.n, len(got))
		}
		for i, r := range got {
			if r.Artifact != string(rune('a'+i%26)) {
				t.Errorf("n=%d: result %d out of order: %q", tt.n, i, r.Artifact)
			}
		}
		if tt.workers > 0 && int(peak.Load()) > tt.workers {
			t.Errorf("n=%d: %d jobs at once, limit %d", tt.n, peak.Load(), tt.workers)
		}
	}
}

func TestFindBatch(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{
		"pkg-1.0.tar.gz", "pkg-1.0.tar.gz" + dists.BundleSuffix, "pkg-1.0.tar.gz" + dists.PublishAttestationSuffix,
		"pkg-1.0-py3-none-any.whl", "pkg-1.0-py3-none-any.whl" + dists.SLSAAttestationSuffix,
		"pkg-1.0.zip", "pkg-1.0.zip.sigstore", "README",
	} {
		write(n)
	}
	items, err := FindBatch(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2][]string{}
	for _, it := range items {
		if it.Artifact.Path == "" || len(it.Artifact.SHA256) != 32 || it.Artifact.Filename != filepath.Base(it.Artifact.Path) {
			t.Errorf("artifact %+v", it.Artifact)
		}
		var b, a []string
		for _, p := range it.Bundles {
			b = append(b, filepath.Base(p))
		}
		for _, p := range it.Attestations {
			a = append(a, filepath.Base(p))
		}
		got[it.Artifact.Filename] = [2][]string{b, a}
	}
	want := map[string][2][]string{
		"pkg-1.0.tar.gz":           {{"pkg-1.0.tar.gz" + dists.BundleSuffix}, {"pkg-1.0.tar.gz" + dists.PublishAttestationSuffix}},
		"pkg-1.0-py3-none-any.whl": {nil, {"pkg-1.0-py3-none-any.whl" + dists.SLSAAttestationSuffix}},
		"pkg-1.0.zip":              {nil, nil},
	}
	if len(got) != len(want) {
		t.Fatalf("items %v", got)
	}
	for k, w := range want {
		if !slices.Equal(got[k][0], w[0]) || !slices.Equal(got[k][1], w[1]) {
			t.Errorf("%s: %v, want %v", k, got[k], w)
		}
	}
	// A dist without material fails by name, before any material is read.
	c := &Checker{}
	for _, it := range items {
		if it.Artifact.Filename != "pkg-1.0.zip" {
			continue
		}
		r := c.VerifyItem(it)
		if r.Verified || r.FailedCheck != CheckMaterial || !strings.Contains(r.Error, "no bundle or attestation next to it") {
			t.Errorf("no material: %+v", r)
		}
	}

	for name, files := range map[string][]string{"empty": nil, "two versions": {"a-1.0.tar.gz", "a-2.0.tar.gz"}} {
		d := t.TempDir()
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(d, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := FindBatch(d); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
