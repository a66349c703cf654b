package verification

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/pep740"
	"github.com/attest-publish/attest-publish/internal/provenance"
)

// NewAttestationVerifier builds the verifier that Attestation is called
// on. A PEP 740 attestation needs one verified transparency-log entry
// (PyPI refuses an attestation without one), which also gives it its
// signed time; RFC 3161 timestamps count when it carries them but are not
// required.
func NewAttestationVerifier(tm root.TrustedMaterial) (*Verifier, error) {
	return New(tm, Options{TransparencyLogEntries: 1})
}

// Attestation verifies a PEP 740 attestation of the dist d by the rules
// attest-publish holds its own attestations to, in sign before it writes
// them and in publish before it uploads them. name is the attestation
// file's name, whose suffix says what it attests; data is its content.
// The attestation must:
//
//   - parse as a PEP 740 attestation object that converts into a Sigstore
//     bundle;
//   - verify against v's trusted root as signed by id over d's sha256 (see
//     Verifier.Artifact);
//   - hold an in-toto statement whose predicate type is the one its name
//     calls for: PyPI's publish/v1 for <dist>.publish.attestation, SLSA
//     provenance v1 for <dist>.slsa.attestation;
//   - name exactly one subject, d, by its filename (compared as PyPI
//     compares them, see SameDistFilename) and its sha256.
//
// It returns the attestation as parsed: its Envelope.Statement is the
// payload that verified. Errors say which of these steps failed.
func (v *Verifier) Attestation(name string, data []byte, d *dists.Dist, id Identity) (*pep740.Attestation, error) {
	predicateType, err := attestationPredicateType(name)
	if err != nil {
		return nil, err
	}
	a, b, err := attestationBundle(data)
	if err != nil {
		return nil, err
	}
	res, err := v.Artifact(b, d.SHA256, id)
	if err != nil {
		return nil, fmt.Errorf("sigstore verification: %w", err)
	}
	st := res.Statement
	if st == nil {
		return nil, errors.New("statement: the DSSE payload is not an in-toto statement")
	}
	if st.GetPredicateType() != predicateType {
		return nil, fmt.Errorf("statement: predicate type %q, want %q", st.GetPredicateType(), predicateType)
	}
	if _, err := pep740Subject(st, d.Filename, d.SHA256); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return a, nil
}

// attestationPredicateType is the predicate type a PEP 740 attestation
// file must carry, by the suffix of its name.
func attestationPredicateType(name string) (string, error) {
	switch {
	case strings.HasSuffix(name, dists.PublishAttestationSuffix):
		return provenance.PublishPredicateType, nil
	case strings.HasSuffix(name, dists.SLSAAttestationSuffix):
		return provenance.SLSAPredicateType, nil
	}
	return "", fmt.Errorf("%s is named neither <dist>%s nor <dist>%s: cannot tell what it must attest", filepath.Base(name), dists.PublishAttestationSuffix, dists.SLSAAttestationSuffix)
}
