package localstack

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// ensureKeyPair keeps a PKCS#8 private key at keyPath and its PKIX public key
// at pubPath, generating them with gen when missing, and returns the public key.
func ensureKeyPair(keyPath, pubPath string, gen func() (crypto.Signer, error)) (crypto.PublicKey, error) {
	if _, err := os.Stat(keyPath); err != nil {
		signer, err := gen()
		if err != nil {
			return nil, fmt.Errorf("generating %s: %w", keyPath, err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(signer)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", keyPath, err)
		}
		if err := writePEM(keyPath, "PRIVATE KEY", der, 0o600); err != nil {
			return nil, err
		}
		pub, err := x509.MarshalPKIXPublicKey(signer.Public())
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", pubPath, err)
		}
		if err := writePEM(pubPath, "PUBLIC KEY", pub, 0o644); err != nil {
			return nil, err
		}
	}
	return readPublicKey(pubPath)
}

// newECDSAKey generates a P-256 key.
func newECDSAKey() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

// newEd25519Key generates an Ed25519 key.
func newEd25519Key() (crypto.Signer, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	return k, err
}

// writePEM writes one PEM block to path.
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// readPublicKey reads a PEM PKIX public key file.
func readPublicKey(path string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	return parsePublicKeyPEM(data)
}

// parsePublicKeyPEM parses the first PEM block of data as a PKIX public key.
func parsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	return pub, nil
}

// parseCertsPEM parses every certificate in PEM data, in order.
func parseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificates in PEM data")
	}
	return certs, nil
}

// readPrivateKeyDER returns the DER bytes of a PEM private key file.
func readPrivateKeyDER(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading private key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return block.Bytes, nil
}

// textprotoBytes escapes b as the body of a text-format protobuf bytes
// literal.
func textprotoBytes(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, `\x%02x`, c)
	}
	return sb.String()
}
