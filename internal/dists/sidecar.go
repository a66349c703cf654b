package dists

// The signed material attest-publish sign writes next to each dist, named
// by appending a suffix to the dist's path, and what publish and verify
// look for there; and the release's provenance bundle, one per release in
// the output directory.
const (
	// BundleSuffix names a dist's Sigstore bundle, a message signature over
	// the dist: <dist>.sigstore.json.
	BundleSuffix = ".sigstore.json"
	// PublishAttestationSuffix names a dist's PEP 740 attestation with the
	// PyPI publish/v1 predicate: <dist>.publish.attestation.
	PublishAttestationSuffix = ".publish.attestation"
	// SLSAAttestationSuffix names a dist's PEP 740 attestation with SLSA
	// provenance v1 as its predicate: <dist>.slsa.attestation.
	SLSAAttestationSuffix = ".slsa.attestation"
	// ProvenanceBundleName is the file name of the release's SLSA
	// provenance bundle, whose statement names every dist.
	ProvenanceBundleName = "provenance.sigstore.json"
)
