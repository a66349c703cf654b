package attest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// detachedOutput is one dist's detached pair, <dist>.sig and <dist>.crt,
// made from its bundle.
type detachedOutput struct {
	bundle   *signedOutput
	sig, crt *pendingFile
}

// detachedPaths are the detached pairs' paths of the dists.
func detachedPaths(found []*dists.Dist) []string {
	var out []string
	for _, d := range found {
		out = append(out, d.Path+verification.DetachedSignatureSuffix, d.Path+verification.DetachedCertificateSuffix)
	}
	return out
}

// writeDetached writes, under temporary names, each dist's signature and
// certificate in cosign's --output-signature / --output-certificate
// formats, taken from its bundle (the same signature, the run's one
// certificate: nothing is signed again).
func writeDetached(st *staging, signed []*signedOutput) ([]*detachedOutput, error) {
	var out []*detachedOutput
	for _, s := range signed {
		if s.job.kind != kindBundle {
			continue
		}
		sig, crt, err := signing.DetachedPair(s.bundle)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.job.path, err)
		}
		d := &detachedOutput{bundle: s}
		if d.sig, err = st.write(s.job.dist.Path+verification.DetachedSignatureSuffix, sig); err != nil {
			return nil, err
		}
		if d.crt, err = st.write(s.job.dist.Path+verification.DetachedCertificateSuffix, crt); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// verifyDetached reads every pair back and verifies it as verify does: its
// signature and certificate must be its bundle's, and the bundle with them
// in place must verify for the dist and the signer.
func verifyDetached(trust *signing.Trust, services *signing.Services, p *plan, pairs []*detachedOutput) error {
	v, err := verification.New(trust.TrustedRoot, verification.Options{
		TransparencyLogEntries: len(services.Rekors),
		SignedTimestamps:       len(services.TSAURLs),
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range pairs {
		name := filepath.Base(d.sig.final) + " + " + filepath.Base(d.crt.final)
		if err := verifyPair(v, p, d, name); err != nil {
			errs = append(errs, fmt.Errorf("  - %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func verifyPair(v *verification.Verifier, p *plan, d *detachedOutput, name string) error {
	read := func(f *pendingFile) ([]byte, error) {
		data, err := os.ReadFile(f.temp)
		if err != nil {
			return nil, fmt.Errorf("reading back: %w", err)
		}
		return data, nil
	}
	sig, err := read(d.sig)
	if err != nil {
		return err
	}
	crt, err := read(d.crt)
	if err != nil {
		return err
	}
	data, err := read(d.bundle.pending)
	if err != nil {
		return err
	}
	b, err := loadBundle(data)
	if err != nil {
		return err
	}
	from := &verification.MaterialSet{Path: d.bundle.job.path, Items: []verification.Material{{Source: filepath.Base(d.bundle.job.path), Bundle: b}}}
	set, err := verification.DetachedSet(name, sig, crt, from)
	if err != nil {
		return err
	}
	if _, err := v.Artifact(set.Items[0].Bundle, d.bundle.job.dist.SHA256, p.identity); err != nil {
		return fmt.Errorf("sigstore verification: %w", err)
	}
	return nil
}
