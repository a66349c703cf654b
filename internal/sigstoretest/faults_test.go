package sigstoretest_test

import (
	"crypto/sha256"
	"strings"
	"sync"
	"testing"

	"github.com/attest-publish/attest-publish/internal/sigstoretest"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

func TestFaultInjection(t *testing.T) {
	tests := []struct {
		name     string
		sabotage func(in *sigstoretest.Instance)
		wantErr  string
		// requests each fake sees for one failed signing
		fulcio, tsa, rekor int
	}{
		{"rekor error status", func(in *sigstoretest.Instance) { in.FailRekor(500, 1) }, "500", 1, 1, 1},
		{"rekor bad request", func(in *sigstoretest.Instance) { in.FailRekor(400, 1) }, "injected failure", 1, 1, 1},
		{"rekor down", func(in *sigstoretest.Instance) { in.RekorDown() }, "connection refused", 1, 1, 0},
		{"tsa refuses", func(in *sigstoretest.Instance) { in.FailTSA(400, 1) }, "timestamp authority returned 400", 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sigstoretest.Start(t)
			tt.sabotage(in)
			opts := bundleOptions(t, in, in.Token(nil))
			_, err := signWith(t, &sign.PlainData{Data: []byte("x")}, opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			t.Logf("sign.Bundle: %v", err)
			if in.FulcioRequests() != tt.fulcio || in.TSARequests() != tt.tsa || in.RekorRequests() != tt.rekor {
				t.Errorf("requests fulcio %d tsa %d rekor %d, want %d %d %d",
					in.FulcioRequests(), in.TSARequests(), in.RekorRequests(), tt.fulcio, tt.tsa, tt.rekor)
			}
		})
	}
}

func TestFailuresRunOut(t *testing.T) {
	in := sigstoretest.Start(t)
	in.FailRekor(503, 2)
	in.FailTSA(400, 1)
	opts := bundleOptions(t, in, in.Token(nil))
	var errs int
	for range 4 {
		if _, err := signWith(t, &sign.PlainData{Data: []byte("x")}, opts); err != nil {
			errs++
		}
	}
	// TSA fails #1; Rekor fails #2 and #3; #4 succeeds.
	if errs != 3 || in.TSARequests() != 4 || in.RekorRequests() != 3 {
		t.Errorf("errors %d, TSA requests %d, Rekor requests %d; want 3, 4, 3", errs, in.TSARequests(), in.RekorRequests())
	}
}

// TestRekorConflict: a 409 sends sigstore-go to fetch the existing entry by
// its ID, and the fetched entry verifies.
func TestRekorConflict(t *testing.T) {
	in := sigstoretest.Start(t)
	in.FailRekor(409, 1)
	artifact := []byte("artifact")
	pb, err := signWith(t, &sign.PlainData{Data: artifact}, bundleOptions(t, in, in.Token(nil)))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	digest := sha256.Sum256(artifact)
	if _, err := verifier(t, in).Verify(load(t, pb), verify.NewPolicy(verify.WithArtifactDigest("sha256", digest[:]), verify.WithCertificateIdentity(identity(t, "octo-org/octo-repo")))); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if in.RekorRequests() != 1 {
		t.Errorf("RekorRequests = %d", in.RekorRequests())
	}
}

func TestConcurrentSigning(t *testing.T) {
	in := sigstoretest.Start(t)
	token := in.Token(nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		// sign.Rekor sets itself up lazily on first use, so each goroutine
		// gets its own: the fake servers are what is shared.
		opts := bundleOptions(t, in, token)
		wg.Go(func() {
			key, err := sign.NewEphemeralKeypair(nil)
			if err == nil {
				_, err = sign.Bundle(&sign.PlainData{Data: []byte{byte(i)}}, key, opts)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if in.FulcioRequests() != 8 || in.TSARequests() != 8 || in.RekorRequests() != 8 {
		t.Errorf("requests %d %d %d", in.FulcioRequests(), in.TSARequests(), in.RekorRequests())
	}
}
