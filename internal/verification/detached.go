package verification

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/proto"
)

// The names of a dist's detached pair: <dist>.sig and <dist>.crt, as in
// GitLab's signing tutorial (cosign sign-blob --output-signature
// --output-certificate).
const (
	DetachedSignatureSuffix   = ".sig"
	DetachedCertificateSuffix = ".crt"
)

// maxDetachedSize bounds a detached signature or certificate file.
const maxDetachedSize = 64 << 10

// A detached pair (cosign sign-blob's --output-signature and
// --output-certificate files) carries no log entry and no timestamp: alone
// it proves nothing about when it was signed, and the certificate lived ten
// minutes. cosign verify-blob looks the signature up in Rekor online; this
// verifier looks nothing up. A pair is verified together with the Sigstore
// bundle it was made from: its signature and certificate must be exactly
// the bundle's, and the bundle with them in place must verify (log entry,
// signed time, chain, SCT, signature over the artifact, signer policy).

// ParseDetachedSignature reads a detached signature file: the standard
// base64 of the raw signature (what cosign writes by default), or the raw
// bytes (--b64=false). Surrounding white space is ignored.
func ParseDetachedSignature(data []byte) ([]byte, error) {
	if len(data) > maxDetachedSize {
		return nil, fmt.Errorf("larger than %d KiB: not a signature", maxDetachedSize>>10)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty signature file")
	}
	if sig, err := base64.StdEncoding.DecodeString(string(trimmed)); err == nil && len(sig) > 0 {
		return sig, nil
	}
	return data, nil
}

// ParseDetachedCertificate reads a detached certificate file: the standard
// base64 of a PEM certificate (what cosign writes by default), or the PEM
// itself; it must hold exactly one certificate, the signing one. It
// returns the certificate's DER.
func ParseDetachedCertificate(data []byte) ([]byte, error) {
	if len(data) > maxDetachedSize {
		return nil, fmt.Errorf("larger than %d KiB: not a certificate", maxDetachedSize>>10)
	}
	pemData := bytes.TrimSpace(data)
	if dec, err := base64.StdEncoding.DecodeString(string(pemData)); err == nil {
		pemData = dec
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(pemData)
	if err != nil {
		return nil, fmt.Errorf("not a PEM certificate, nor the base64 of one: %w", err)
	}
	switch len(certs) {
	case 0:
		return nil, errors.New("no certificate in it (want a PEM certificate, or the base64 of one)")
	case 1:
		return certs[0].Raw, nil
	}
	return nil, fmt.Errorf("%d certificates in it: a detached certificate file holds the signing certificate alone", len(certs))
}

// DetachedSet makes the material set of a detached pair: the bundle of from
// (one message-signature bundle, the pair's origin) with the pair's
// signature and certificate in place, which must be the bundle's own. The
// checker then verifies it like any bundle, with the bundle's log entries
// and timestamps as the pair's evidence of time. source names the pair.
func DetachedSet(source string, sig, crt []byte, from *MaterialSet) (*MaterialSet, error) {
	rawSig, err := ParseDetachedSignature(sig)
	if err != nil {
		return nil, fmt.Errorf("%s: signature: %w", source, err)
	}
	der, err := ParseDetachedCertificate(crt)
	if err != nil {
		return nil, fmt.Errorf("%s: certificate: %w", source, err)
	}
	if from == nil || len(from.Items) != 1 {
		return nil, fmt.Errorf("%s: a detached signature is verified with the one Sigstore bundle it was made from (its log entry and time)", source)
	}
	orig := from.Items[0]
	pb, ok := proto.Clone(orig.Bundle.Bundle).(*protobundle.Bundle)
	if !ok || pb.GetMessageSignature() == nil {
		return nil, fmt.Errorf("%s: %s is not a message-signature bundle (cosign sign-blob's, <dist>.sigstore.json): a detached signature cannot come from it", source, orig.Source)
	}
	if !bytes.Equal(pb.GetMessageSignature().GetSignature(), rawSig) {
		return nil, fmt.Errorf("%s: the signature is not the one of %s: the pair and the bundle come from different signings", source, orig.Source)
	}
	vm := pb.GetVerificationMaterial()
	var leaf *[]byte
	switch {
	case vm.GetCertificate() != nil:
		leaf = &vm.GetCertificate().RawBytes
	case len(vm.GetX509CertificateChain().GetCertificates()) > 0:
		leaf = &vm.GetX509CertificateChain().GetCertificates()[0].RawBytes
	default:
		return nil, fmt.Errorf("%s: %s is signed with a key, not a certificate", source, orig.Source)
	}
	if !bytes.Equal(*leaf, der) {
		return nil, fmt.Errorf("%s: the certificate is not the signing certificate of %s", source, orig.Source)
	}
	pb.GetMessageSignature().Signature, *leaf = rawSig, der
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	name := fmt.Sprintf("%s (log entry and time from %s)", source, orig.Source)
	return &MaterialSet{Path: source, Items: []Material{{Source: name, Bundle: b}}}, nil
}

// LoadDetached reads a detached signature and certificate and the bundle
// they were made from (see DetachedSet).
func LoadDetached(sigPath, crtPath, bundlePath string) (*MaterialSet, error) {
	source := sigPath + " + " + crtPath
	sig, err := readDetached(sigPath)
	if err != nil {
		return nil, err
	}
	crt, err := readDetached(crtPath)
	if err != nil {
		return nil, err
	}
	if bundlePath == "" {
		return nil, fmt.Errorf("%s: a detached signature carries no log entry or timestamp: give the bundle it came from (--bundle <dist>.sigstore.json); cosign verify-blob looks it up in Rekor online instead", source)
	}
	from, err := LoadBundles(bundlePath)
	if err != nil {
		return nil, err
	}
	return DetachedSet(source, sig, crt, from)
}

// readDetached reads a .sig or .crt file, bounded.
func readDetached(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDetachedSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxDetachedSize {
		return nil, fmt.Errorf("%s: larger than %d KiB: not a detached signature or certificate", path, maxDetachedSize>>10)
	}
	return data, nil
}
