package verification

import (
	"encoding/json"
	"fmt"
)

// BundleSet makes one material set of Sigstore bundles held in memory (the
// attestations the GitHub API lists for a digest): any one of them that
// satisfies the policy is enough. source names the set in messages; bundle
// i is "source attestation i+1". A bundle that does not parse makes the
// whole set fail, as a bad line of a JSONL file does.
func BundleSet(source string, bundles [][]byte) (*MaterialSet, error) {
	if len(bundles) == 0 {
		return nil, fmt.Errorf("%s: no bundles", source)
	}
	set := &MaterialSet{Path: source}
	for i, data := range bundles {
		name := fmt.Sprintf("%s attestation %d", source, i+1)
		if len(data) > maxMaterialSize {
			return nil, fmt.Errorf("%s: larger than %d MiB", name, maxMaterialSize>>20)
		}
		b, err := ParseBundle(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		set.Items = append(set.Items, Material{Source: name, Bundle: b})
	}
	return set, nil
}

// AttestationSet reads a PEP 740 attestation object, or a PyPI Integrity
// API provenance object, held in memory (as fetched from an index), the way
// LoadAttestations reads one from a file. source names it in messages.
func AttestationSet(source string, data []byte) (*MaterialSet, error) {
	if len(data) > maxMaterialSize {
		return nil, fmt.Errorf("%s: larger than %d MiB", source, maxMaterialSize>>20)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %w", source, err)
	}
	set := &MaterialSet{Path: source}
	if _, ok := probe["attestation_bundles"]; !ok {
		_, b, err := attestationBundle(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		set.Items = append(set.Items, Material{Source: source, Bundle: b, PEP740: true})
		return set, nil
	}
	var po provenanceObject
	if err := json.Unmarshal(data, &po); err != nil {
		return nil, fmt.Errorf("%s: parsing provenance object: %w", source, err)
	}
	if po.Version != 1 {
		return nil, fmt.Errorf("%s: unsupported provenance object version %d", source, po.Version)
	}
	for i, ab := range po.AttestationBundles {
		for j, raw := range ab.Attestations {
			_, b, err := attestationBundle(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: attestation bundle %d, attestation %d: %w", source, i, j, err)
			}
			set.Items = append(set.Items, Material{Source: fmt.Sprintf("%s bundle %d attestation %d", source, i, j), Bundle: b, PEP740: true})
		}
	}
	if len(set.Items) == 0 {
		return nil, fmt.Errorf("%s: provenance object holds no attestations", source)
	}
	return set, nil
}
