package signing

import (
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
)

// digestContent is a message signature over an artifact known only by its
// SHA-256 digest. Paired with prehashedKey, sign.Bundle signs the digest
// itself, which for ECDSA is the same signature as over the whole file.
type digestContent struct{ digest []byte }

func (c digestContent) PreAuthEncoding() []byte { return c.digest }

func (c digestContent) Bundle(b *protobundle.Bundle, signature, digest []byte, hashAlgorithm protocommon.HashAlgorithm) {
	b.Content = &protobundle.Bundle_MessageSignature{
		MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: hashAlgorithm, Digest: digest},
			Signature:     signature,
		},
	}
}
