package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// ephemeralKey is an ECDSA P-256 key that lives for one run. It implements
// sign.Keypair; its prehashed view signs a SHA-256 digest computed elsewhere,
// so a large file is never held in memory.
type ephemeralKey struct {
	priv *ecdsa.PrivateKey
	hint []byte
}

func newEphemeralKey() (*ephemeralKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating ephemeral key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encoding ephemeral key: %w", err)
	}
	sum := sha256.Sum256(der)
	return &ephemeralKey{priv: priv, hint: []byte(base64.StdEncoding.EncodeToString(sum[:]))}, nil
}

func (k *ephemeralKey) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}

func (k *ephemeralKey) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}

func (k *ephemeralKey) GetHint() []byte { return k.hint }

func (k *ephemeralKey) GetKeyAlgorithm() string { return "ECDSA" }

func (k *ephemeralKey) GetPublicKey() crypto.PublicKey { return k.priv.Public() }

func (k *ephemeralKey) GetPublicKeyPem() (string, error) {
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(k.priv.Public())
	if err != nil {
		return "", err
	}
	return string(pemBytes), nil
}

// SignData hashes data with SHA-256 and signs the digest.
func (k *ephemeralKey) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	digest := sha256.Sum256(data)
	return k.signDigest(digest[:])
}

func (k *ephemeralKey) signDigest(digest []byte) ([]byte, []byte, error) {
	if len(digest) != sha256.Size {
		return nil, nil, fmt.Errorf("want a %d-byte SHA-256 digest, got %d bytes", sha256.Size, len(digest))
	}
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest)
	if err != nil {
		return nil, nil, err
	}
	return sig, digest, nil
}

// prehashedKey is the same key, but SignData takes a SHA-256 digest.
type prehashedKey struct{ *ephemeralKey }

// SignData signs data, which must be a SHA-256 digest.
func (k prehashedKey) SignData(_ context.Context, digest []byte) ([]byte, []byte, error) {
	return k.signDigest(digest)
}
