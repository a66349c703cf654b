package verification

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/attest-publish/attest-publish/internal/pep740"
)

// maxMaterialSize bounds what is read from a bundle or attestation file.
const maxMaterialSize = 64 << 20

// Material is one signed object to verify, with where it came from.
type Material struct {
	// Source names the object for messages: file, line or attestation index.
	Source string
	// Bundle is the parsed Sigstore bundle.
	Bundle *bundle.Bundle
	// PEP740 says the object came from a PEP 740 attestation, so PyPI's
	// subject rule (exactly one subject, the dist's filename) applies.
	PEP740 bool
}

// MaterialSet is a file's signed objects: any one of them satisfying the
// policy is enough (a JSONL file of bundles, a provenance object's
// attestations).
type MaterialSet struct {
	// Path is the file the objects were read from.
	Path string
	// Items are the objects, in file order.
	Items []Material
}

// readMaterial reads a bundle or attestation file, at most
// maxMaterialSize bytes of it.
func readMaterial(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readLimited(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}

// readLimited reads f whole, refusing it beyond maxMaterialSize bytes.
func readLimited(f *os.File) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxMaterialSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxMaterialSize {
		return nil, fmt.Errorf("larger than %d MiB", maxMaterialSize>>20)
	}
	return data, nil
}

// ParseBundle parses one Sigstore bundle (v0.1 to v0.3) from JSON.
func ParseBundle(data []byte) (b *bundle.Bundle, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("malformed bundle: %v", r)
		}
	}()
	var pb protobundle.Bundle
	b = &bundle.Bundle{Bundle: &pb}
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("parsing Sigstore bundle: %w", err)
	}
	return b, nil
}

// LoadBundles reads a Sigstore bundle JSON file, or a JSON Lines file with
// one bundle per line. A line that does not parse makes the whole file fail:
// a half-readable file is reported, not silently thinned.
func LoadBundles(path string) (*MaterialSet, error) {
	data, err := readMaterial(path)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	set := &MaterialSet{Path: path}
	if json.Valid(trimmed) {
		b, err := ParseBundle(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		set.Items = append(set.Items, Material{Source: path, Bundle: b})
		return set, nil
	}
	for i, line := range bytes.Split(trimmed, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		b, err := ParseBundle(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		set.Items = append(set.Items, Material{Source: fmt.Sprintf("%s line %d", path, i+1), Bundle: b})
	}
	return set, nil
}

// provenanceObject is a PyPI Integrity API provenance object.
type provenanceObject struct {
	Version            int `json:"version"`
	AttestationBundles []struct {
		Publisher    json.RawMessage   `json:"publisher"`
		Attestations []json.RawMessage `json:"attestations"`
	} `json:"attestation_bundles"`
}

// LoadAttestations reads a PEP 740 attestation object, or a PyPI Integrity
// API provenance object ({version, attestation_bundles: [{publisher,
// attestations}]}), whose attestations each become one item.
func LoadAttestations(path string) (*MaterialSet, error) {
	data, err := readMaterial(path)
	if err != nil {
		return nil, err
	}
	return AttestationSet(path, data)
}

// attestationBundle parses a PEP 740 attestation object and rebuilds the
// Sigstore bundle it was made from.
func attestationBundle(data []byte) (*pep740.Attestation, *bundle.Bundle, error) {
	a, err := pep740.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	pb, err := a.ToBundle()
	if err != nil {
		return nil, nil, fmt.Errorf("PEP 740 attestation: %w", err)
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, nil, fmt.Errorf("PEP 740 attestation as a bundle: %w", err)
	}
	return a, b, nil
}
