package publish

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/pypi"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// item is one dist with everything its upload needs.
type item struct {
	dist     *dists.Dist
	metadata *pypi.Metadata
	// bundle is the path of the dist's Sigstore bundle ("" when absent).
	bundle string
	// attestations are the paths of the PEP 740 attestations to send.
	attestations []string
	// payloads are the attestations' verified bytes, sent as they were read.
	payloads [][]byte
}

// checkMetadata reads every dist's core metadata and, when verify is set,
// checks it; all errors are returned at once, warnings go to warn.
func checkMetadata(items []*item, verify bool, warn func(string)) error {
	var problems dists.Problems
	for _, it := range items {
		m, err := pypi.ReadMetadata(it.dist.Path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", it.dist.Filename, err))
			continue
		}
		it.metadata = m
		if !verify {
			continue
		}
		r := pypi.Check(m, it.dist)
		problems = append(problems, r.Errors...)
		for _, w := range r.Warnings {
			warn(w)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("metadata check failed, nothing was uploaded: %w", problems)
	}
	return nil
}

// pair finds each dist's bundle and attestations. With attestations on, a
// missing publish attestation is an error.
func pair(items []*item, withAttestations bool) error {
	var problems dists.Problems
	for _, it := range items {
		p := it.dist.Path
		if exists(p + dists.BundleSuffix) {
			it.bundle = p + dists.BundleSuffix
		}
		if !withAttestations {
			continue
		}
		if !exists(p + dists.PublishAttestationSuffix) {
			problems = append(problems, fmt.Sprintf("%s: missing (run `attest-publish sign` first, or publish with --attestations=false)", p+dists.PublishAttestationSuffix))
			continue
		}
		it.attestations = append(it.attestations, p+dists.PublishAttestationSuffix)
		if exists(p + dists.SLSAAttestationSuffix) {
			it.attestations = append(it.attestations, p+dists.SLSAAttestationSuffix)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("attestations are missing, nothing was uploaded: %w", problems)
	}
	return nil
}

// exists reports whether path names anything, a dangling symlink included.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// verifyAll verifies every bundle and attestation of every item against
// the trusted root and the identity, and keeps the attestations' bytes.
func verifyAll(ctx context.Context, o *Options, items []*item) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id := *o.Identity
	bundles, err := verification.New(o.TrustedRoot, verification.Options{})
	if err != nil {
		return err
	}
	attestations, err := verification.NewAttestationVerifier(o.TrustedRoot)
	if err != nil {
		return err
	}
	var errs []error
	for _, it := range items {
		if it.bundle != "" {
			if err := verifyBundle(bundles, it.bundle, it.dist, id); err != nil {
				errs = append(errs, fmt.Errorf("  - %s: %w", it.bundle, err))
			}
		}
		for _, path := range it.attestations {
			data, err := verifyAttestation(attestations, path, it.dist, id)
			if err != nil {
				errs = append(errs, fmt.Errorf("  - %s: %w", path, err))
				continue
			}
			it.payloads = append(it.payloads, data)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("verification failed, nothing was uploaded (required signer %s):\n%w", id, errors.Join(errs...))
	}
	return nil
}

// verifyBundle reads and verifies the Sigstore bundle of d.
func verifyBundle(v *verification.Verifier, path string, d *dists.Dist, id verification.Identity) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b, err := verification.ParseBundle(data)
	if err != nil {
		return err
	}
	if _, err := v.Artifact(b, d.SHA256, id); err != nil {
		return fmt.Errorf("sigstore verification: %w", err)
	}
	return nil
}

// verifyAttestation reads and verifies a PEP 740 attestation of d, by the
// rules sign verified it with (verification.Verifier.Attestation), and
// returns its bytes to be sent as they were verified.
func verifyAttestation(v *verification.Verifier, path string, d *dists.Dist, id verification.Identity) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := v.Attestation(path, data, d, id); err != nil {
		return nil, err
	}
	return data, nil
}
