package signing

import (
	"encoding/base64"
	"encoding/pem"
	"errors"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
)

// DetachedPair returns the detached signature and certificate files of a
// message-signature bundle, in the formats cosign sign-blob writes with
// --output-signature and --output-certificate (its default --b64=true):
// the signature's standard base64, and the standard base64 of the PEM
// leaf certificate, neither with a newline. They hold the bundle's own
// signature and certificate: no new signature, no other certificate.
func DetachedPair(b *protobundle.Bundle) (sig, crt []byte, err error) {
	ms := b.GetMessageSignature()
	if ms == nil || len(ms.GetSignature()) == 0 {
		return nil, nil, errors.New("detached signature: the bundle holds no message signature")
	}
	vm := b.GetVerificationMaterial()
	der := vm.GetCertificate().GetRawBytes()
	if der == nil {
		if certs := vm.GetX509CertificateChain().GetCertificates(); len(certs) > 0 {
			der = certs[0].GetRawBytes()
		}
	}
	if len(der) == 0 {
		return nil, nil, errors.New("detached certificate: the bundle holds no signing certificate")
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return []byte(base64.StdEncoding.EncodeToString(ms.GetSignature())), []byte(base64.StdEncoding.EncodeToString(certPEM)), nil
}
