package verification

import (
	"encoding/hex"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// Options say what evidence a bundle must carry besides the certificate.
type Options struct {
	// TransparencyLogEntries is how many verified log entries to require.
	TransparencyLogEntries int
	// SignedTimestamps is how many verified RFC 3161 timestamps to require.
	SignedTimestamps int
}

// Verifier verifies bundles against one trusted root. It is safe for
// concurrent use; build it once and reuse it.
type Verifier struct {
	v *verify.Verifier
}

// New builds a verifier. Certificates must carry a verified SCT whenever the
// trusted root lists a CT log, and every signature needs at least one
// trusted time (log integrated time or RFC 3161 timestamp).
func New(tm root.TrustedMaterial, opts Options) (*Verifier, error) {
	vopts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if len(tm.CTLogs()) > 0 {
		vopts = append(vopts, verify.WithSignedCertificateTimestamps(1))
	}
	if opts.TransparencyLogEntries > 0 {
		vopts = append(vopts, verify.WithTransparencyLog(opts.TransparencyLogEntries))
	}
	if opts.SignedTimestamps > 0 {
		vopts = append(vopts, verify.WithSignedTimestamps(opts.SignedTimestamps))
	}
	v, err := verify.NewVerifier(tm, vopts...)
	if err != nil {
		return nil, fmt.Errorf("building verifier: %w", err)
	}
	return &Verifier{v: v}, nil
}

// Artifact verifies a bundle for an artifact known by its SHA-256 digest:
// a message signature over it, or a DSSE statement naming it as a subject.
func (v *Verifier) Artifact(b *bundle.Bundle, sha256 []byte, id Identity) (*verify.VerificationResult, error) {
	ci, err := id.certificateIdentity()
	if err != nil {
		return nil, fmt.Errorf("identity policy: %w", err)
	}
	res, err := v.v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", sha256), verify.WithCertificateIdentity(ci)))
	if err != nil {
		return nil, fmt.Errorf("%w (required signer %s, artifact sha256:%s)", err, id, hex.EncodeToString(sha256))
	}
	return res, nil
}
