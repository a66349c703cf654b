package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
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
// helpers; a non-empty caOrg replaces the Fulcio intermediate with one whose
// subject has that Organization.
func newPKI(caOrg string) (*pki, error) {
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		return nil, fmt.Errorf("generating root CA: %w", err)
	}
	p := &pki{root: rootCert, since: time.Now().Add(-time.Hour)}
	if caOrg != "" {
		p.fulcioCert, p.fulcioKey, err = intermediate(rootCert, rootKey, caOrg)
	} else {
		p.fulcioCert, p.fulcioKey, err = ca.GenerateFulcioIntermediate(rootCert, rootKey)
	}
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

// intermediate issues a Fulcio-style intermediate CA (as sigstore-go's
// GenerateFulcioIntermediate does) whose subject Organization is org.
func intermediate(rootCert *x509.Certificate, rootKey crypto.Signer, org string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "fulcio-intermediate", Organization: []string{org}},
		NotBefore:             time.Now().Add(-2 * time.Minute),
		NotAfter:              time.Now().Add(2 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, rootCert, key.Public(), rootKey)
	if err != nil {
		return nil, nil, fmt.Errorf("issuing the intermediate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}
