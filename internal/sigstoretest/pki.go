package sigstoretest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

// pki holds an instance's keys and CA certificates: one root over a Fulcio
// intermediate and a timestamping intermediate + leaf, and the Rekor log key.
type pki struct {
	root *x509.Certificate

	fulcioCert *x509.Certificate
	fulcioKey  *ecdsa.PrivateKey

	tsaIntermediate *x509.Certificate
	tsaLeaf         *x509.Certificate
	tsaKey          *ecdsa.PrivateKey

	rekorKey *ecdsa.PrivateKey

	// since is when the trust material starts being valid.
	since time.Time
}

// newPKI generates fresh keys and certificates with sigstore-go's test CA
// helpers.
func newPKI() (*pki, error) {
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		return nil, fmt.Errorf("generating root CA: %w", err)
	}
	p := &pki{root: rootCert, since: time.Now().Add(-time.Hour)}
	p.fulcioCert, p.fulcioKey, err = ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		return nil, fmt.Errorf("generating Fulcio intermediate: %w", err)
	}
	tsaIntermediate, tsaIntermediateKey, err := ca.GenerateTSAIntermediate(rootCert, rootKey)
	if err != nil {
		return nil, fmt.Errorf("generating TSA intermediate: %w", err)
	}
	p.tsaIntermediate = tsaIntermediate
	if p.tsaKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, fmt.Errorf("generating TSA key: %w", err)
	}
	// The helper makes a 10-minute certificate starting at the given time.
	p.tsaLeaf, err = ca.GenerateTSALeafCert(time.Now().Add(-time.Minute), p.tsaKey, tsaIntermediate, tsaIntermediateKey)
	if err != nil {
		return nil, fmt.Errorf("generating TSA leaf: %w", err)
	}
	if p.rekorKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, fmt.Errorf("generating Rekor key: %w", err)
	}
	return p, nil
}
