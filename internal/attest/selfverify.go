package attest

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/attest-publish/attest-publish/internal/pep740"
	"github.com/attest-publish/attest-publish/internal/provenance"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// selfVerify reads every output back from its temporary file and verifies
// it against the trusted root and the identity the token claimed. It returns
// every failure, each naming the file and the check.
func selfVerify(trust *signing.Trust, services *signing.Services, p *plan, signed []*signedOutput) error {
	bundles, err := verification.New(trust.TrustedRoot, verification.Options{
		TransparencyLogEntries: len(services.Rekors),
		SignedTimestamps:       len(services.TSAURLs),
	})
	if err != nil {
		return err
	}
	attestations, err := verification.NewAttestationVerifier(trust.TrustedRoot)
	if err != nil {
		return err
	}
	errs := make([]error, len(signed))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, s := range signed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := verifyOutput(s, p, bundles, attestations); err != nil {
				errs[i] = fmt.Errorf("  - %s: %w", filepath.Base(s.job.path), err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// verifyOutput verifies one output as written: a bundle or the release
// provenance with the bundle verifier, a PEP 740 attestation by the rules
// publish applies before uploading it (verification.Verifier.Attestation),
// each DSSE output's payload being the statement that was built, and each
// SLSA provenance agreeing with the certificate field by field, as verify
// checks it (verification.ProvenanceConsistency).
func verifyOutput(s *signedOutput, p *plan, bundles, attestations *verification.Verifier) error {
	data, err := os.ReadFile(s.pending.temp)
	if err != nil {
		return fmt.Errorf("reading back: %w", err)
	}
	switch s.job.kind {
	case kindBundle:
		b, err := loadBundle(data)
		if err != nil {
			return err
		}
		if b.GetMessageSignature() == nil {
			return errors.New("bundle content: want a message signature")
		}
		if _, err := bundles.Artifact(b, s.job.dist.SHA256, p.identity); err != nil {
			return fmt.Errorf("sigstore verification: %w", err)
		}
		return nil
	case kindPublish, kindSLSA:
		a, err := attestations.Attestation(s.job.path, data, s.job.dist, p.identity)
		if err != nil {
			return err
		}
		if !bytes.Equal(a.Envelope.Statement, s.job.statement) {
			return errors.New("statement: the signed payload is not the statement that was built")
		}
		if s.job.kind == kindSLSA {
			return attestationConsistent(a)
		}
		return nil
	case kindProvenance:
		b, err := loadBundle(data)
		if err != nil {
			return err
		}
		res, err := bundles.Artifact(b, p.dists[0].SHA256, p.identity)
		if err != nil {
			return fmt.Errorf("sigstore verification: %w", err)
		}
		want := map[string][]byte{}
		for _, d := range p.dists {
			want[d.Filename] = d.SHA256
		}
		if err := verification.HasSubjects(res.Statement, provenance.SLSAPredicateType, want); err != nil {
			return fmt.Errorf("statement: %w", err)
		}
		if env := b.GetDsseEnvelope(); env == nil || !bytes.Equal(env.GetPayload(), s.job.statement) {
			return errors.New("statement: the signed payload is not the statement that was built")
		}
		if res.Signature == nil || res.Signature.Certificate == nil {
			return errors.New("provenance consistency: no signing certificate")
		}
		if err := verification.ProvenanceConsistency(res.Statement, res.Signature.Certificate.Extensions); err != nil {
			return fmt.Errorf("provenance consistency: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown output kind %d", s.job.kind)
}

// attestationConsistent checks the SLSA provenance of a verified PEP 740
// attestation against its certificate, as verify does: every field the
// build type ties to a certificate extension must agree with it.
func attestationConsistent(a *pep740.Attestation) error {
	cert, err := x509.ParseCertificate(a.VerificationMaterial.Certificate)
	if err != nil {
		return fmt.Errorf("provenance consistency: parsing the certificate: %w", err)
	}
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		return fmt.Errorf("provenance consistency: reading the certificate's extensions: %w", err)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(a.Envelope.Statement, &st); err != nil {
		return fmt.Errorf("provenance consistency: parsing the statement: %w", err)
	}
	if err := verification.ProvenanceConsistency(&st, ext); err != nil {
		return fmt.Errorf("provenance consistency: %w", err)
	}
	return nil
}

// loadBundle parses a Sigstore bundle read back from disk.
func loadBundle(data []byte) (*bundle.Bundle, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("parsing bundle: %w", err)
	}
	return &b, nil
}
