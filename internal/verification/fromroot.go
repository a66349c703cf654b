package verification

import (
	"errors"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// TrustFromRoot is the trust of a trusted root already loaded (the one a
// release signed with), with no public key: GitHub's instance's root
// verifies the certificates GitHub issued, any other root the rest.
func TrustFromRoot(tr *root.TrustedRoot) (*Trust, error) {
	if tr == nil {
		return nil, errors.New("no trusted root")
	}
	return trustFromRoots("the signing trusted root", []*root.TrustedRoot{tr}, "")
}
