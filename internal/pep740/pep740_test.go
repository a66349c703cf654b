package pep740

import (
	"encoding/json"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
)

func dsseBundle(payloadType string, sigs int, tlog bool) *protobundle.Bundle {
	env := &protodsse.Envelope{Payload: []byte(`{}`), PayloadType: payloadType}
	for i := 0; i < sigs; i++ {
		env.Signatures = append(env.Signatures, &protodsse.Signature{Sig: []byte("sig")})
	}
	vm := &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_Certificate{
		Certificate: &protocommon.X509Certificate{RawBytes: []byte("der")}}}
	if tlog {
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{{LogIndex: 0, KindVersion: &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}}}
	}
	return &protobundle.Bundle{MediaType: BundleMediaType, VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env}}
}

func TestFromBundle(t *testing.T) {
	tests := []struct {
		name    string
		b       *protobundle.Bundle
		wantErr string
	}{
		{name: "ok", b: dsseBundle(inTotoPayloadType, 1, true)},
		{name: "message signature", b: &protobundle.Bundle{Content: &protobundle.Bundle_MessageSignature{}}, wantErr: "needs a DSSE bundle"},
		{name: "not in-toto", b: dsseBundle("text/plain", 1, true), wantErr: "in-toto payload"},
		{name: "two signatures", b: dsseBundle(inTotoPayloadType, 2, true), wantErr: "exactly one DSSE signature"},
		{name: "no log entry", b: dsseBundle(inTotoPayloadType, 1, false), wantErr: "transparency-log entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := FromBundle(tt.b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// logIndex 0 must be written out: sigstore-python requires it.
			var entry map[string]any
			if err := json.Unmarshal(a.VerificationMaterial.TransparencyEntries[0], &entry); err != nil {
				t.Fatal(err)
			}
			if entry["logIndex"] != "0" {
				t.Errorf("entry JSON lacks logIndex 0: %s", a.VerificationMaterial.TransparencyEntries[0])
			}
		})
	}
}

func TestParse(t *testing.T) {
	for name, in := range map[string]string{
		"trailing data":   `{"version":1} {}`,
		"not JSON":        `nope`,
		"bad base64":      `{"version":1,"verification_material":{"certificate":"***","transparency_entries":[{}]}}`,
		"timestamps type": `{"version":1,"verification_material":{"certificate":"ZGVy","transparency_entries":[{}],"timestamps":"ZGVy"}}`,
		"version type":    `{"version":"1"}`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	a, err := Parse([]byte(`{"version":2,"verification_material":{"certificate":"ZGVy","transparency_entries":[{}]},"envelope":{"statement":"e30=","signature":"c2ln"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ToBundle(); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("ToBundle accepted version 2: %v", err)
	}
}

// TestParseGrowth accepts fields the format may grow (PyPI's models ignore
// them) and reads RFC 3161 timestamps into the bundle.
func TestParseGrowth(t *testing.T) {
	in := `{"version":1,"verification_material":{"certificate":"ZGVy","transparency_entries":[{"logIndex":"1","newField":true}],"timestamps":["dHMx","dHMy"],"future":{}},"envelope":{"statement":"e30=","signature":"c2ln"},"extra":1}`
	a, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	b, err := a.ToBundle()
	if err != nil {
		t.Fatal(err)
	}
	ts := b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()
	if len(ts) != 2 || string(ts[0].GetSignedTimestamp()) != "ts1" || string(ts[1].GetSignedTimestamp()) != "ts2" {
		t.Errorf("timestamps in the bundle: %v", ts)
	}
	if got := b.GetVerificationMaterial().GetTlogEntries()[0].GetLogIndex(); got != 1 {
		t.Errorf("log index %d, want 1", got)
	}
	// And back: FromBundle keeps them.
	back, err := FromBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.VerificationMaterial.Timestamps) != 2 {
		t.Errorf("FromBundle dropped timestamps: %v", back.VerificationMaterial.Timestamps)
	}
	empty := strings.Replace(in, `"dHMx"`, `""`, 1)
	if a, err := Parse([]byte(empty)); err != nil {
		t.Fatal(err)
	} else if _, err := a.ToBundle(); err == nil || !strings.Contains(err.Error(), "timestamp 0 is empty") {
		t.Errorf("empty timestamp: %v", err)
	}
}
