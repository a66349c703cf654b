package attest

import (
	"encoding/base64"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// TestDetachedPairs signs with detached outputs and verifies them as verify
// does, then with each kind of tampering.
func TestDetachedPairs(t *testing.T) {
	f := newFixture(t, 1, nil)
	f.opts.Detached = true
	res, err := f.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.fake.FulcioRequests(); got != 1 {
		t.Errorf("Fulcio requests = %d, want 1: the pairs come from the bundles", got)
	}
	if res.Signatures != 2*3+1 {
		t.Errorf("signatures = %d: the pairs must not be signatures of their own", res.Signatures)
	}
	var wheel, sdist DistResult
	for _, d := range res.Dists {
		if d.Signature != d.Dist.Path+".sig" || d.Certificate != d.Dist.Path+".crt" {
			t.Fatalf("%s: pair %q %q", d.Dist.Filename, d.Signature, d.Certificate)
		}
		if strings.HasSuffix(d.Dist.Filename, ".whl") {
			wheel = d
		} else {
			sdist = d
		}
		// cosign's formats: base64 of the raw signature; base64 of a PEM
		// certificate; no newline.
		sig, _ := os.ReadFile(d.Signature)
		if raw, err := base64.StdEncoding.DecodeString(string(sig)); err != nil || len(raw) < 64 || raw[0] != 0x30 {
			t.Errorf("%s is not the base64 of a DER signature: %q", d.Signature, sig)
		}
		crt, _ := os.ReadFile(d.Certificate)
		pemData, err := base64.StdEncoding.DecodeString(string(crt))
		if block, rest := pem.Decode(pemData); err != nil || block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
			t.Errorf("%s is not the base64 of one PEM certificate", d.Certificate)
		}
	}
	trust, err := verification.TrustFromRoot(f.opts.Trust.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	checker, err := verification.NewChecker(trust, verification.Policy{SAN: res.Identity.SAN, Issuer: res.Identity.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	verifyDir := func() map[string]verification.Result {
		items, err := verification.FindBatch(f.dir)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]verification.Result{}
		for _, it := range items {
			out[it.Artifact.Filename] = checker.VerifyItem(it)
		}
		return out
	}
	for name, r := range verifyDir() {
		if !r.Verified || len(r.Material) != 4 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	read := func(p string) []byte {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	write := func(p string, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	origSig, origCrt, origBundle := read(wheel.Signature), read(wheel.Certificate), read(wheel.Bundle)
	restore := func() {
		write(wheel.Signature, origSig)
		write(wheel.Certificate, origCrt)
		write(wheel.Bundle, origBundle)
	}
	pemCrt, _ := base64.StdEncoding.DecodeString(string(origCrt))
	rawSig, _ := base64.StdEncoding.DecodeString(string(origSig))
	tests := []struct {
		name    string
		tamper  func()
		wantErr string // "" verifies
	}{
		{name: "PEM certificate, raw signature (cosign --b64=false)", tamper: func() { write(wheel.Certificate, pemCrt); write(wheel.Signature, rawSig) }},
		{name: "trailing newlines", tamper: func() { write(wheel.Signature, append(origSig, '\n')); write(wheel.Certificate, append(origCrt, '\n')) }},
		{name: "the other dist's signature", tamper: func() { write(wheel.Signature, read(sdist.Signature)) }, wantErr: "the signature is not the one of"},
		{name: "the other dist's signature and bundle", tamper: func() { write(wheel.Signature, read(sdist.Signature)); write(wheel.Bundle, read(sdist.Bundle)) }, wantErr: "signature"},
		{name: "a certificate of another run", tamper: func() { write(wheel.Certificate, base64Cert(t)) }, wantErr: "not the signing certificate"},
		{name: "signature without certificate", tamper: func() { os.Remove(wheel.Certificate) }, wantErr: "is verified with its certificate"},
		{name: "certificate without signature", tamper: func() { os.Remove(wheel.Signature) }, wantErr: "goes with its signature"},
		{name: "pair without bundle", tamper: func() { os.Remove(wheel.Bundle) }, wantErr: "need the bundle they were made from"},
		{name: "garbage certificate", tamper: func() { write(wheel.Certificate, []byte("not a certificate")) }, wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer restore()
			tt.tamper()
			r := verifyDir()[wheel.Dist.Filename]
			if tt.wantErr == "" {
				if !r.Verified {
					t.Fatalf("want it verified: %s", r.Error)
				}
				return
			}
			if r.Verified || !strings.Contains(r.Error, tt.wantErr) {
				t.Fatalf("verified %v, error %q; want an error with %q", r.Verified, r.Error, tt.wantErr)
			}
		})
	}
}

// base64Cert signs once more (a new run: a new key and certificate) and
// returns that run's certificate file.
func base64Cert(t *testing.T) []byte {
	t.Helper()
	g := newFixture(t, 1, nil)
	g.opts.Detached = true
	res, err := g.run(t)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(res.Dists[0].Certificate)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDetachedRefusesExistingPair(t *testing.T) {
	f := newFixture(t, 1, nil)
	f.opts.Detached = true
	found, err := dists.Find(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	existing := found[0].Path + ".crt"
	if err := os.WriteFile(existing, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.run(t); err == nil || !strings.Contains(err.Error(), existing) {
		t.Fatalf("err = %v, want the existing .crt named", err)
	}
	if f.fake.FulcioRequests() != 0 {
		t.Error("contacted Fulcio before refusing")
	}
}
