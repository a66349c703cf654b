package verification

import (
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// parsedEntity is a bundle whose parsed parts are computed once per
// verification. sigstore-go asks a SignedEntity for them several times
// (the certificate twice, the log entries once more after the bundle's own
// validation), and parsing a Rekor v1 entry checks its body again,
// signature included. Everything else is the bundle's.
type parsedEntity struct {
	*bundle.Bundle

	entries   []*tlog.Entry
	entryErr  error
	entryDone bool
	vc        verify.VerificationContent
	vcErr     error
	vcDone    bool
	sc        verify.SignatureContent
	scErr     error
	scDone    bool
}

// TlogEntries returns the bundle's parsed log entries, parsed once.
func (p *parsedEntity) TlogEntries() ([]*tlog.Entry, error) {
	if !p.entryDone {
		p.entries, p.entryErr = p.Bundle.TlogEntries()
		p.entryDone = true
	}
	return p.entries, p.entryErr
}

// VerificationContent returns the bundle's certificate or key, parsed once.
func (p *parsedEntity) VerificationContent() (verify.VerificationContent, error) {
	if !p.vcDone {
		p.vc, p.vcErr = p.Bundle.VerificationContent()
		p.vcDone = true
	}
	return p.vc, p.vcErr
}

// SignatureContent returns the bundle's signature content, parsed once.
func (p *parsedEntity) SignatureContent() (verify.SignatureContent, error) {
	if !p.scDone {
		p.sc, p.scErr = p.Bundle.SignatureContent()
		p.scDone = true
	}
	return p.sc, p.scErr
}
