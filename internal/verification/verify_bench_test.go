package verification

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/sigstoretest"
)

// benchBundles is how many distinct bundles the benchmarks cycle through.
const benchBundles = 32

// benchSigner is the SAN of the fake instance's default token.
const benchSigner = "https://github.com/" + sigstoretest.DefaultWorkflowRef

// benchFixture is a directory of small dists, each with a message-signature
// bundle (Rekor v1 entry and RFC 3161 timestamp) made by the in-process fake
// Sigstore, and the trust to verify them against.
type benchFixture struct {
	in    *sigstoretest.Instance
	trust *Trust
	items []BatchItem
}

func newBenchFixture(b testing.TB) *benchFixture {
	b.Helper()
	in := sigstoretest.Start(b)
	sc, err := root.NewSigningConfigFromPath(in.SigningConfigPath(true, true))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	fulcio, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		b.Fatal(err)
	}
	opts := sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcio.URL}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: in.Token(nil)},
		TimestampAuthorities:       []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: in.TSAURL()})},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: in.RekorURL(), Version: 1})},
	}
	dir := b.TempDir()
	f := &benchFixture{in: in}
	for i := range benchBundles {
		data := fmt.Appendf(nil, "artifact %d %s", i, make([]byte, 4096))
		path := filepath.Join(dir, fmt.Sprintf("benchpkg-1.0.0-%d-py3-none-any.whl", i+1))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		key, err := sign.NewEphemeralKeypair(nil)
		if err != nil {
			b.Fatal(err)
		}
		pb, err := sign.Bundle(&sign.PlainData{Data: data}, key, opts)
		if err != nil {
			b.Fatalf("signing: %v", err)
		}
		bn, err := bundle.NewBundle(pb)
		if err != nil {
			b.Fatal(err)
		}
		js, err := bn.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path+dists.BundleSuffix, js, 0o644); err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256(data)
		f.items = append(f.items, BatchItem{
			Artifact: Artifact{Name: path, Path: path, SHA256: sum[:], Filename: filepath.Base(path)},
			Bundles:  []string{path + dists.BundleSuffix},
		})
	}
	if f.trust, err = LoadTrust(in.TrustedRootPath(), ""); err != nil {
		b.Fatal(err)
	}
	return f
}

// bareVerifier is what a plain sigstore-go loop builds once: a verifier
// requiring what the checker requires of these bundles (a log entry and an
// observer timestamp; the root has no CT log), and a policy with the same
// artifact digest and identity.
func (f *benchFixture) bareVerifier(b *testing.B) (*verify.Verifier, verify.CertificateIdentity) {
	b.Helper()
	v, err := verify.NewVerifier(f.trust.material, verify.WithObserverTimestamps(1), verify.WithTransparencyLog(1))
	if err != nil {
		b.Fatal(err)
	}
	id, err := verify.NewShortCertificateIdentity(f.in.Issuer(), "", benchSigner, "")
	if err != nil {
		b.Fatal(err)
	}
	return v, id
}

func (f *benchFixture) checker(b testing.TB) *Checker {
	b.Helper()
	c, err := NewChecker(f.trust, Policy{SAN: benchSigner, Issuer: f.in.Issuer()})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// processCPU is the CPU time (user+sys) the process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureCPU runs the benchmark loop body and also reports the process CPU
// time per operation (cpu-ns/op), which unlike ns/op does not grow when
// other processes share the cores.
func measureCPU(b *testing.B, setup func(b *testing.B) func(i int)) {
	op := setup(b)
	start := processCPU(b)
	n := 0
	for i := 0; b.Loop(); i++ {
		op(i)
		n++
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(n), "cpu-ns/op")
}

// BenchmarkVerify compares the CPU per bundle of the checker with a bare
// sigstore-go loop (verify.NewVerifier once, then Verify per bundle with the
// same policy), on the same bundles:
//
//   - sigstore-go / checker: bundles already parsed, artifact known by its
//     file (what a FILE argument with --bundle gives the checker);
//   - sigstore-go-load / checker-item: each bundle read and parsed from its
//     file first, as a directory batch does (VerifyItem).
//
// Run with: go test -run '^$' -bench Verify -benchtime 2000x ./internal/verification/
func BenchmarkVerify(b *testing.B) {
	f := newBenchFixture(b)
	parsed := make([]*bundle.Bundle, len(f.items))
	sets := make([][]*MaterialSet, len(f.items))
	for i, it := range f.items {
		s, err := LoadMaterial(it.Bundles, nil)
		if err != nil {
			b.Fatal(err)
		}
		sets[i], parsed[i] = s, s[0].Items[0].Bundle
	}
	b.Run("sigstore-go", func(b *testing.B) {
		measureCPU(b, func(b *testing.B) func(int) {
			v, id := f.bareVerifier(b)
			return func(i int) {
				it := f.items[i%len(f.items)]
				pol := verify.NewPolicy(verify.WithArtifactDigest("sha256", it.Artifact.SHA256), verify.WithCertificateIdentity(id))
				if _, err := v.Verify(parsed[i%len(parsed)], pol); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("checker", func(b *testing.B) {
		measureCPU(b, func(b *testing.B) func(int) {
			c := f.checker(b)
			return func(i int) {
				if r := c.Verify(f.items[i%len(f.items)].Artifact, sets[i%len(sets)]); !r.Verified {
					b.Fatalf("%s: %s", r.FailedCheck, r.Error)
				}
			}
		})
	})
	b.Run("sigstore-go-load", func(b *testing.B) {
		measureCPU(b, func(b *testing.B) func(int) {
			v, id := f.bareVerifier(b)
			return func(i int) {
				it := f.items[i%len(f.items)]
				bn, err := bundle.LoadJSONFromPath(it.Bundles[0])
				if err != nil {
					b.Fatal(err)
				}
				pol := verify.NewPolicy(verify.WithArtifactDigest("sha256", it.Artifact.SHA256), verify.WithCertificateIdentity(id))
				if _, err := v.Verify(bn, pol); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("checker-item", func(b *testing.B) {
		measureCPU(b, func(b *testing.B) func(int) {
			c := f.checker(b)
			return func(i int) {
				if r := c.VerifyItem(f.items[i%len(f.items)]); !r.Verified {
					b.Fatalf("%s: %s", r.FailedCheck, r.Error)
				}
			}
		})
	})
}

// BenchmarkVerifyBatch verifies the fixture's directory the way verify
// does for a directory argument (FindBatch, then every dist concurrently on
// GOMAXPROCS workers with one checker) and reports the time and CPU per
// bundle. Run with -cpu 1,2 to see the second core used.
func BenchmarkVerifyBatch(b *testing.B) {
	f := newBenchFixture(b)
	dir := filepath.Dir(f.items[0].Artifact.Path)
	c := f.checker(b)
	start, wall := processCPU(b), time.Now()
	n := 0
	for b.Loop() {
		items, err := FindBatch(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range RunConcurrently(len(items), 0, func(i int) Result { return c.VerifyItem(items[i]) }) {
			if !r.Verified {
				b.Fatalf("%s: %s", r.FailedCheck, r.Error)
			}
		}
		n += len(items)
	}
	b.ReportMetric(float64(time.Since(wall))/float64(n), "ns/bundle")
	b.ReportMetric(float64(processCPU(b)-start)/float64(n), "cpu-ns/bundle")
}
