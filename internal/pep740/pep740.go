// Package pep740 converts between Sigstore DSSE bundles and PEP 740
// attestation objects, the JSON PyPI accepts at upload and serves from its
// Integrity API.
package pep740

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// JSON is how bundles and transparency-log entries are written: protobuf
// JSON, but with zero-valued scalars kept, because sigstore-python refuses an
// entry whose logIndex 0 was left out.
var JSON = protojson.MarshalOptions{EmitDefaultValues: true}

// BundleMediaType is the bundle version ToBundle produces.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// inTotoPayloadType is the only DSSE payload type PEP 740 allows.
const inTotoPayloadType = "application/vnd.in-toto+json"

// Attestation is a PEP 740 attestation object.
type Attestation struct {
	// Version is always 1.
	Version int `json:"version"`
	// VerificationMaterial holds the signing certificate and log entries.
	VerificationMaterial VerificationMaterial `json:"verification_material"`
	// Envelope is the signed statement.
	Envelope Envelope `json:"envelope"`
}

// VerificationMaterial is what a verifier needs besides the trust root.
type VerificationMaterial struct {
	// Certificate is the DER leaf certificate (base64 in JSON).
	Certificate []byte `json:"certificate"`
	// TransparencyEntries are Rekor entries in protobuf JSON form.
	TransparencyEntries []json.RawMessage `json:"transparency_entries"`
	// Timestamps are RFC 3161 timestamp tokens over the signature (DER,
	// base64 in JSON), as a bundle's
	// timestampVerificationData.rfc3161Timestamps[].signedTimestamp holds
	// them. A Rekor v2 entry has no integrated time, so an attestation
	// logged there needs one to establish when it was signed. Absent in
	// attestations made for Rekor v1 alone.
	Timestamps [][]byte `json:"timestamps,omitempty"`
}

// Envelope is a DSSE envelope with one signature and an in-toto payload.
type Envelope struct {
	// Statement is the in-toto statement JSON (base64 in JSON).
	Statement []byte `json:"statement"`
	// Signature is the DSSE signature (base64 in JSON).
	Signature []byte `json:"signature"`
}

// FromBundle converts a DSSE bundle with a certificate and at least one
// transparency-log entry (PyPI needs one) into an attestation object.
func FromBundle(b *protobundle.Bundle) (*Attestation, error) {
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, errors.New("PEP 740 needs a DSSE bundle, this one holds a message signature")
	}
	if env.GetPayloadType() != inTotoPayloadType {
		return nil, fmt.Errorf("PEP 740 needs an in-toto payload, got %q", env.GetPayloadType())
	}
	if n := len(env.GetSignatures()); n != 1 {
		return nil, fmt.Errorf("PEP 740 needs exactly one DSSE signature, got %d", n)
	}
	vm := b.GetVerificationMaterial()
	var cert []byte
	switch {
	case vm.GetCertificate() != nil:
		cert = vm.GetCertificate().GetRawBytes()
	case len(vm.GetX509CertificateChain().GetCertificates()) > 0:
		cert = vm.GetX509CertificateChain().GetCertificates()[0].GetRawBytes()
	default:
		return nil, errors.New("PEP 740 needs a signing certificate; this bundle has a public key")
	}
	if len(vm.GetTlogEntries()) == 0 {
		return nil, errors.New("PEP 740 needs at least one transparency-log entry (PyPI refuses attestations without one)")
	}
	a := &Attestation{
		Version:              1,
		VerificationMaterial: VerificationMaterial{Certificate: cert},
		Envelope:             Envelope{Statement: env.GetPayload(), Signature: env.GetSignatures()[0].GetSig()},
	}
	for _, ts := range vm.GetTimestampVerificationData().GetRfc3161Timestamps() {
		a.VerificationMaterial.Timestamps = append(a.VerificationMaterial.Timestamps, ts.GetSignedTimestamp())
	}
	for _, e := range vm.GetTlogEntries() {
		raw, err := JSON.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encoding transparency-log entry: %w", err)
		}
		a.VerificationMaterial.TransparencyEntries = append(a.VerificationMaterial.TransparencyEntries, raw)
	}
	return a, nil
}

// ToBundle rebuilds the v0.3 Sigstore bundle the attestation was made from,
// so that it can be verified like any bundle.
func (a *Attestation) ToBundle() (*protobundle.Bundle, error) {
	if a.Version != 1 {
		return nil, fmt.Errorf("unsupported PEP 740 attestation version %d", a.Version)
	}
	if len(a.VerificationMaterial.Certificate) == 0 {
		return nil, errors.New("attestation has no certificate")
	}
	if len(a.Envelope.Statement) == 0 || len(a.Envelope.Signature) == 0 {
		return nil, errors.New("attestation envelope lacks its statement or signature")
	}
	if len(a.VerificationMaterial.TransparencyEntries) == 0 {
		return nil, errors.New("attestation has no transparency-log entry")
	}
	vm := &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_Certificate{
			Certificate: &protocommon.X509Certificate{RawBytes: a.VerificationMaterial.Certificate},
		},
	}
	for i, raw := range a.VerificationMaterial.TransparencyEntries {
		e := &protorekor.TransparencyLogEntry{}
		if err := entryJSON.Unmarshal(raw, e); err != nil {
			return nil, fmt.Errorf("transparency entry %d: %w", i, err)
		}
		vm.TlogEntries = append(vm.TlogEntries, e)
	}
	if len(a.VerificationMaterial.Timestamps) > maxTimestamps {
		return nil, fmt.Errorf("attestation carries %d timestamps, at most %d are read", len(a.VerificationMaterial.Timestamps), maxTimestamps)
	}
	if len(a.VerificationMaterial.Timestamps) > 0 {
		tvd := &protobundle.TimestampVerificationData{}
		for i, ts := range a.VerificationMaterial.Timestamps {
			if len(ts) == 0 {
				return nil, fmt.Errorf("timestamp %d is empty", i)
			}
			tvd.Rfc3161Timestamps = append(tvd.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
		}
		vm.TimestampVerificationData = tvd
	}
	return &protobundle.Bundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     a.Envelope.Statement,
			PayloadType: inTotoPayloadType,
			Signatures:  []*protodsse.Signature{{Sig: a.Envelope.Signature}},
		}},
	}, nil
}

// maxTimestamps bounds the RFC 3161 timestamps read from one attestation
// (sigstore-go refuses a bundle with more).
const maxTimestamps = 32

// entryJSON reads transparency-log entries: fields a newer protobuf-specs
// added are skipped, as sigstore-python's models skip them.
var entryJSON = protojson.UnmarshalOptions{DiscardUnknown: true}

// Parse reads an attestation object. Fields it does not know are ignored,
// as PyPI's models (pypi-attestations, pydantic's default) ignore them: the
// format grows that way (verification_material gained timestamps), and
// nothing unread is trusted. What PyPI refuses is refused here or by
// ToBundle: another version, a missing or empty certificate, statement,
// signature or transparency_entries, values of the wrong type, bad
// base64, and trailing data.
func Parse(data []byte) (*Attestation, error) {
	var a Attestation
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("parsing PEP 740 attestation: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parsing PEP 740 attestation: trailing data after the JSON object")
	}
	return &a, nil
}
