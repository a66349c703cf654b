package attest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/pep740"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// Options configure one signing run.
type Options struct {
	// OutputDir receives provenance.sigstore.json (required).
	OutputDir string
	// Overwrite allows replacing existing output files.
	Overwrite bool
	// Trust is the Sigstore instance's signing config and trusted root.
	Trust *signing.Trust
	// Select tunes which services of the signing config are used.
	Select signing.SelectOptions
	// Token is the identity token Fulcio certifies.
	Token *idtoken.Token
	// ServerURL is GITHUB_SERVER_URL ("" means https://github.com).
	ServerURL string
	// Concurrency bounds signatures in flight (default 32).
	Concurrency int
	// Signing tunes timeouts and retries (Services and Token are filled in).
	Signing signing.Options
	// Log receives progress lines (default io.Discard).
	Log io.Writer
	// Detached also writes each dist's <dist>.sig and <dist>.crt (cosign
	// sign-blob's --output-signature and --output-certificate files), from
	// its bundle.
	Detached bool
}

// DistResult is what the run made for one dist.
type DistResult struct {
	// Dist is the signed file.
	Dist *dists.Dist
	// Bundle is the path of <dist>.sigstore.json.
	Bundle string
	// PublishAttestation is the path of <dist>.publish.attestation ("" when
	// not made).
	PublishAttestation string
	// SLSAAttestation is the path of <dist>.slsa.attestation ("" when not made).
	SLSAAttestation string
	// LogIndex is the transparency-log index of the bundle's entry (-1: none).
	LogIndex int64
	// Signature and Certificate are the paths of <dist>.sig and <dist>.crt
	// ("" when not made: Options.Detached).
	Signature, Certificate string
}

// Result describes a successful run.
type Result struct {
	// Dists lists each dist and its outputs, sorted by filename.
	Dists []DistResult
	// Provenance is the path of the release provenance bundle ("" when not made).
	Provenance string
	// Identity is the verified signer.
	Identity verification.Identity
	// Services are the endpoints used.
	Services *signing.Services
	// Signatures counts the signatures made (all on one certificate).
	Signatures int
	// Elapsed is the run's duration.
	Elapsed time.Duration
	// Warnings are things the user should know but that did not stop the run.
	Warnings []string
}

// Run signs, attests and verifies found, the dists of opts.PackagesDir as
// dists.Find returned them (checked and hashed).
func Run(ctx context.Context, found []*dists.Dist, opts Options) (*Result, error) {
	start := time.Now()
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	if opts.OutputDir == "" {
		return nil, errors.New("no output directory for the release provenance")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if len(found) == 0 {
		return nil, errors.New("no distributions to sign")
	}
	res := &Result{}
	plan, err := makePlan(found, opts)
	if err != nil {
		return nil, err
	}
	services, err := signing.SelectServices(opts.Trust.SigningConfig, opts.Select)
	if err != nil {
		return nil, err
	}
	res.Services = services
	if len(services.Rekors) == 0 {
		plan.dropPEP740()
		res.Warnings = append(res.Warnings, "PEP 740 attestations not made: a PEP 740 attestation needs a transparency-log entry and this signing config selects no log")
	}
	paths := plan.paths()
	if opts.Detached {
		paths = append(paths, detachedPaths(found)...)
	}
	if !opts.Overwrite {
		if err := checkFree(paths); err != nil {
			return nil, err
		}
	}
	sopts := opts.Signing
	sopts.Services, sopts.Token = services, opts.Token
	signer, err := signing.New(sopts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "signing %d distribution(s) of %s %s as %s\n", len(found), found[0].Parsed.CanonicalName(), found[0].Parsed.Version, plan.identity.SAN)
	if _, err := signer.Certificate(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "got one signing certificate from %s\n", services.FulcioURL)

	signed, err := plan.sign(ctx, signer, opts.Concurrency, logw)
	if err != nil {
		return nil, err
	}
	res.Signatures = len(signed)

	st := &staging{overwrite: opts.Overwrite}
	if err := writeAll(st, signed); err != nil {
		st.rollback()
		return nil, err
	}
	var pairs []*detachedOutput
	if opts.Detached {
		if pairs, err = writeDetached(st, signed); err != nil {
			st.rollback()
			return nil, err
		}
	}
	err = selfVerify(opts.Trust, services, plan, signed)
	if err == nil && opts.Detached {
		err = verifyDetached(opts.Trust, services, plan, pairs)
	}
	if err != nil {
		st.rollback()
		return nil, fmt.Errorf("self-verification failed, nothing was kept:\n%w", err)
	}
	if err := st.commit(); err != nil {
		return nil, err
	}
	byDist := map[*dists.Dist]*DistResult{}
	for _, d := range found {
		byDist[d] = &DistResult{Dist: d, LogIndex: -1}
	}
	for _, s := range signed {
		dr := byDist[s.job.dist]
		switch s.job.kind {
		case kindBundle:
			dr.Bundle, dr.LogIndex = s.job.path, logIndex(s.bundle)
		case kindPublish:
			dr.PublishAttestation = s.job.path
		case kindSLSA:
			dr.SLSAAttestation = s.job.path
		case kindProvenance:
			res.Provenance = s.job.path
		}
	}
	for _, d := range pairs {
		dr := byDist[d.bundle.job.dist]
		dr.Signature, dr.Certificate = d.sig.final, d.crt.final
	}
	for _, d := range found {
		res.Dists = append(res.Dists, *byDist[d])
	}
	res.Identity = plan.identity
	res.Elapsed = time.Since(start)
	return res, nil
}

func logIndex(b *protobundle.Bundle) int64 {
	if es := b.GetVerificationMaterial().GetTlogEntries(); len(es) > 0 {
		return es[0].GetLogIndex()
	}
	return -1
}

// writeAll serialises every signed output under a temporary name.
func writeAll(st *staging, signed []*signedOutput) error {
	for _, s := range signed {
		var data []byte
		var err error
		if s.job.kind.isPEP740() {
			var a *pep740.Attestation
			if a, err = pep740.FromBundle(s.bundle); err == nil {
				data, err = json.Marshal(a)
			}
		} else {
			data, err = pep740.JSON.Marshal(s.bundle)
		}
		if err != nil {
			return fmt.Errorf("encoding %s: %w", s.job.path, err)
		}
		if s.pending, err = st.write(s.job.path, data); err != nil {
			return err
		}
	}
	return nil
}

// sign makes every signature, at most n at a time, stopping at the first
// failure.
func (p *plan) sign(ctx context.Context, signer *signing.Signer, n int, logw io.Writer) ([]*signedOutput, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]*signedOutput, len(p.jobs))
	errs := make([]error, len(p.jobs))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, j := range p.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			var b *protobundle.Bundle
			var err error
			if j.kind == kindBundle {
				b, err = signer.SignDigest(ctx, j.dist.SHA256)
			} else {
				b, err = signer.SignStatement(ctx, j.statement)
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", j.path, err)
				cancel()
				return
			}
			out[i] = &signedOutput{job: j, bundle: b}
			mu.Lock()
			done++
			fmt.Fprintf(logw, "  [%d/%d] signed %s\n", done, len(p.jobs), filepath.Base(j.path))
			mu.Unlock()
		}()
	}
	wg.Wait()
	var failures []error
	for _, e := range errs {
		if e != nil {
			failures = append(failures, e)
		}
	}
	if len(failures) > 0 {
		return nil, errors.Join(failures...)
	}
	for _, o := range out {
		if o == nil {
			return nil, fmt.Errorf("signing interrupted: %w", context.Cause(ctx))
		}
	}
	return out, nil
}
