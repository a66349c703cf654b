package verification

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// The fuzz targets feed arbitrary bytes to the material parsers: they must
// return an error, never panic. Seeds live in testdata/fuzz/<FuzzName>/
// (real bundles, JSONL files, PEP 740 attestations and provenance objects
// from the repository's test vectors, testdata/vectors); in a plain
// `go test` run they execute as ordinary tests. Run one with
//
//	go test ./internal/verification -run '^$' -fuzz '^FuzzParseBundle$' -fuzztime 60s -fuzzminimizetime 100x
//
// (the seeds are 1–20 KB: with the default -fuzzminimizetime 60s, minimizing
// each new interesting input stalls the run for most of a minute).

// FuzzParseBundle fuzzes the single-bundle JSON parser.
func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err == nil && b == nil {
			t.Fatal("ParseBundle returned neither a bundle nor an error")
		}
	})
}

// FuzzLoadBundles fuzzes the bundle-file reader: one JSON bundle or JSON
// Lines with one bundle per line.
func FuzzLoadBundles(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("{}\n{}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "bundle.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		set, err := LoadBundles(path)
		if err != nil {
			return
		}
		if len(set.Items) == 0 {
			t.Fatal("LoadBundles accepted a file with no bundles")
		}
		for _, m := range set.Items {
			if m.Bundle == nil {
				t.Fatalf("%s: nil bundle without an error", m.Source)
			}
		}
	})
}

// FuzzLoadAttestations fuzzes the PEP 740 attestation / PyPI Integrity API
// provenance-object reader, down to the rebuilt Sigstore bundle.
func FuzzLoadAttestations(f *testing.F) {
	f.Add([]byte(`{"version":1,"attestation_bundles":[]}`))
	f.Add([]byte(`{"version":1,"verification_material":{},"envelope":{}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "x"+dists.PublishAttestationSuffix)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		set, err := LoadAttestations(path)
		if err != nil {
			return
		}
		if len(set.Items) == 0 {
			t.Fatal("LoadAttestations accepted a file with no attestations")
		}
		for _, m := range set.Items {
			if m.Bundle == nil || !m.PEP740 {
				t.Fatalf("%s: bad material without an error", m.Source)
			}
		}
	})
}

// FuzzAttestationBundle fuzzes one PEP 740 attestation object straight into
// a sigstore-go bundle, without the file round trip.
func FuzzAttestationBundle(f *testing.F) {
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b, err := attestationBundle(data)
		if err == nil && (a == nil || b == nil) {
			t.Fatal("attestationBundle returned neither an attestation and its bundle nor an error")
		}
	})
}
