package verification

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
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
		"pkg-1.0.tar.gz", "pkg-1.0.tar.gz.sigstore.json", "pkg-1.0.tar.gz.publish.attestation",
		"pkg-1.0-py3-none-any.whl", "pkg-1.0-py3-none-any.whl.slsa.attestation",
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
		"pkg-1.0.tar.gz":           {{"pkg-1.0.tar.gz.sigstore.json"}, {"pkg-1.0.tar.gz.publish.attestation"}},
		"pkg-1.0-py3-none-any.whl": {nil, {"pkg-1.0-py3-none-any.whl.slsa.attestation"}},
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

// TestCheckSubjectDigests covers the digest forms a DSSE subject is matched
// with: sha256, sha512 (a sha512: argument or a file), and never an empty
// digest matching a subject that lacks that algorithm.
func TestCheckSubjectDigests(t *testing.T) {
	h256 := strings.Repeat("11", 32)
	h512 := strings.Repeat("22", 64)
	b := func(s string) []byte { d, _ := hex.DecodeString(s); return d }
	st := func(digests ...map[string]string) *intoto.Statement {
		s := &intoto.Statement{}
		for _, d := range digests {
			s.Subject = append(s.Subject, &intoto.ResourceDescriptor{Name: "x-1.0.tar.gz", Digest: d})
		}
		return s
	}
	tests := []struct {
		name   string
		st     *intoto.Statement
		a      Artifact
		pep740 bool
		err    string
	}{
		{name: "sha256", st: st(map[string]string{"sha256": h256}), a: Artifact{SHA256: b(h256)}},
		{name: "sha512 argument", st: st(map[string]string{"sha512": h512}), a: Artifact{SHA512: b(h512)}},
		{name: "sha512 argument, upper-case subject", st: st(map[string]string{"sha512": strings.ToUpper(h512)}), a: Artifact{SHA512: b(h512)}},
		{name: "sha512 argument, second subject", st: st(map[string]string{"sha256": h256}, map[string]string{"sha512": h512}), a: Artifact{SHA512: b(h512)}},
		{name: "sha512 argument, subject without sha256 is no match", st: st(map[string]string{"sha1": "x"}), a: Artifact{SHA512: b(h512)}, err: "sha512:" + h512},
		{name: "sha256 argument, sha512-only subject", st: st(map[string]string{"sha512": h512}), a: Artifact{SHA256: b(h256)}, err: "sha256:" + h256},
		{name: "file with both", st: st(map[string]string{"sha512": h512}), a: Artifact{SHA256: b(h256), SHA512: b(h512)}},
		{name: "PEP 740 needs sha256", st: st(map[string]string{"sha256": h256}), a: Artifact{SHA512: b(h512), Filename: "x-1.0.tar.gz"}, pep740: true, err: "PEP 740 subjects are named by sha256"},
		{name: "PEP 740 sha256", st: st(map[string]string{"sha256": h256}), a: Artifact{SHA256: b(h256), Filename: "x-1.0.tar.gz"}, pep740: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkSubject(tt.st, tt.a, tt.pep740)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Check != CheckSubject || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err %v, want a subject failure saying %q", err, tt.err)
			}
		})
	}
}
