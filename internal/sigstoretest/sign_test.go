package sigstoretest_test

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/sigstoretest"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

func TestSignAndVerify(t *testing.T) {
	artifact := []byte("sample-1.0.tar.gz contents\n")
	tampered := []byte("sample-1.0.tar.gz contents, tampered\n")
	tests := []struct {
		name     string
		content  func(t *testing.T) sign.Content
		wantKind string
	}{
		{
			name:     "message signature",
			content:  func(*testing.T) sign.Content { return &sign.PlainData{Data: artifact} },
			wantKind: "hashedrekord",
		},
		{
			name: "DSSE in-toto statement",
			content: func(t *testing.T) sign.Content {
				return &sign.DSSEData{Data: statement(t, "sample-1.0.tar.gz", artifact), PayloadType: "application/vnd.in-toto+json"}
			},
			wantKind: "dsse",
		},
	}
	in := sigstoretest.Start(t)
	v := verifier(t, in)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := bundleOptions(t, in, in.Token(nil))
			opts.TrustedRoot = in.TrustedRoot() // sign.Bundle verifies its own output too
			pb, err := signWith(t, tt.content(t), opts)
			if err != nil {
				t.Fatalf("sign.Bundle: %v", err)
			}
			entries := pb.GetVerificationMaterial().GetTlogEntries()
			if len(entries) != 1 {
				t.Fatalf("%d tlog entries, want 1", len(entries))
			}
			if kv := entries[0].GetKindVersion(); kv.GetKind() != tt.wantKind || kv.GetVersion() != "0.0.1" {
				t.Errorf("tlog entry kind %s/%s, want %s/0.0.1", kv.GetKind(), kv.GetVersion(), tt.wantKind)
			}
			if entries[0].GetInclusionProof() == nil || entries[0].GetInclusionPromise() == nil {
				t.Error("tlog entry lacks inclusion proof or promise")
			}
			b := load(t, pb)

			digest := sha256.Sum256(artifact)
			res, err := v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest[:]), verify.WithCertificateIdentity(identity(t, "octo-org/octo-repo"))))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got := res.Signature.Certificate.SubjectAlternativeName; got != wantSAN {
				t.Errorf("SAN %q", got)
			}
			if len(res.VerifiedTimestamps) < 2 {
				t.Errorf("verified timestamps %+v, want the TSA's and the log's", res.VerifiedTimestamps)
			}

			bad := sha256.Sum256(tampered)
			if _, err := v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", bad[:]), verify.WithCertificateIdentity(identity(t, "octo-org/octo-repo")))); err == nil {
				t.Error("tampered artifact verified")
			}
			if _, err := v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest[:]), verify.WithCertificateIdentity(identity(t, "octo-org/other-repo")))); err == nil {
				t.Error("wrong repository verified")
			} else if !strings.Contains(err.Error(), "no matching CertificateIdentity") {
				t.Errorf("wrong repository: unexpected error %v", err)
			}
		})
	}
	if got := in.FulcioRequests(); got != 2 {
		t.Errorf("FulcioRequests = %d, want 2", got)
	}
	if got := in.TSARequests(); got != 2 {
		t.Errorf("TSARequests = %d, want 2", got)
	}
	if got := in.RekorRequests(); got != 2 {
		t.Errorf("RekorRequests = %d, want 2", got)
	}
}

// TestLogGrows checks inclusion proofs and log indexes once the log holds
// several entries: every earlier bundle still verifies.
func TestLogGrows(t *testing.T) {
	in := sigstoretest.Start(t)
	v := verifier(t, in)
	opts := bundleOptions(t, in, in.Token(nil))
	type signed struct {
		data  []byte
		index int64
		b     verify.SignedEntity
	}
	var all []signed
	for i := range 5 {
		data := []byte{byte(i), 'x'}
		pb, err := signWith(t, &sign.PlainData{Data: data}, opts)
		if err != nil {
			t.Fatalf("signing #%d: %v", i, err)
		}
		e := pb.GetVerificationMaterial().GetTlogEntries()[0]
		all = append(all, signed{data: data, index: e.GetLogIndex(), b: load(t, pb)})
		if size := e.GetInclusionProof().GetTreeSize(); size != int64(i+1) {
			t.Errorf("#%d: tree size %d, want %d", i, size, i+1)
		}
	}
	for i, s := range all {
		if s.index != int64(i) {
			t.Errorf("#%d: log index %d", i, s.index)
		}
		digest := sha256.Sum256(s.data)
		if _, err := v.Verify(s.b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest[:]), verify.WithCertificateIdentity(identity(t, "octo-org/octo-repo")))); err != nil {
			t.Errorf("#%d: %v", i, err)
		}
	}
}
