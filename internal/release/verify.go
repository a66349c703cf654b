package release

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/attest-publish/attest-publish/internal/ghattest"
	"github.com/attest-publish/attest-publish/internal/pypi"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// fetchConcurrency bounds the artifacts fetched and verified at once.
const fetchConcurrency = 8

// verify is verify mode: every target against o.Verify's policy.
func (p *pipeline) verify(ctx context.Context) error {
	results, err := Verify(ctx, p.o.Verify, p.warnFunc(StageVerify))
	if err != nil {
		return err
	}
	p.verdicts(results)
	if verdictsFailed(results) {
		return ErrNotVerified
	}
	return nil
}

// verifySigned verifies what signing made as a consumer would: every dist
// signing hashed, with the material next to it, against the trusted root
// signing used and the identity that signed.
func (p *pipeline) verifySigned(ctx context.Context) error {
	signed := p.res.Signed
	trust, err := verification.TrustFromRoot(p.trust.TrustedRoot)
	if err != nil {
		return fmt.Errorf("nothing published: %w", err)
	}
	o := VerifyOptions{
		Dists:  signedDists(signed),
		Policy: verification.Policy{SAN: signed.Identity.SAN, Issuer: signed.Identity.Issuer},
		Trust:  func(func(string)) (*verification.Trust, error) { return trust, nil },
	}
	results, err := Verify(ctx, o, p.warnFunc(StageVerify))
	if err != nil {
		return fmt.Errorf("nothing published: %w", err)
	}
	p.verdicts(results)
	if verdictsFailed(results) {
		return fmt.Errorf("nothing published: %w", ErrNotVerified)
	}
	return nil
}

// verdicts reports the verdicts, and their warnings (a timestamp that did
// not verify, …) to the warnings channel, each naming its artifact.
func (p *pipeline) verdicts(results []verification.Result) {
	p.res.Verdicts = results
	p.h.Verified(results)
	for _, r := range results {
		for _, w := range r.Warnings {
			p.warn(Warning{Stage: StageVerify, File: r.Artifact, Message: w})
		}
	}
}

// Verify verifies every target of o, one verdict per artifact (a file, a
// digest, each dist of a directory, each file of an index release), in
// the order of the targets. A target that cannot be read, fetched or
// trusted is a failed verdict naming why; the error is only for a policy
// that cannot be checked.
func Verify(ctx context.Context, o VerifyOptions, warn func(string)) ([]verification.Result, error) {
	targets := o.Targets
	if len(o.Dists) > 0 {
		targets = make([]string, 0, len(o.Dists)+len(o.Targets))
		for _, d := range o.Dists {
			targets = append(targets, d.Path)
		}
		targets = append(targets, o.Targets...)
	}
	if o.FromIndex != nil {
		targets = make([]string, len(o.FromIndex.Releases))
		for i, r := range o.FromIndex.Releases {
			targets[i] = r.Arg
		}
	}
	failAll := func(check string, err error) []verification.Result {
		results := make([]verification.Result, 0, len(targets))
		for _, t := range targets {
			results = append(results, failed(t, check, err))
		}
		return results
	}
	jobs, err := verifyJobs(ctx, o, warn)
	if err != nil {
		return failAll(verification.CheckMaterial, err), nil
	}
	trust, err := o.Trust(warn)
	if err != nil {
		return failAll(verification.CheckTrustedRoot, err), nil
	}
	checker, err := verification.NewChecker(trust, o.Policy)
	if err != nil {
		return nil, err
	}
	n := o.Concurrency
	if n == 0 && (o.FromGitHub != nil || o.FromIndex != nil) {
		n = fetchConcurrency
	}
	return verification.RunConcurrently(len(jobs), n, func(i int) verification.Result { return jobs[i](checker) }), nil
}

// job verifies one artifact with the checker.
type job func(c *verification.Checker) verification.Result

// verifyJobs makes one job per artifact.
func verifyJobs(ctx context.Context, o VerifyOptions, warn func(string)) ([]job, error) {
	switch {
	case o.FromIndex != nil:
		return indexJobs(ctx, o.FromIndex)
	case o.FromGitLab != nil:
		return gitlabJobs(ctx, o)
	case o.FromGitHub != nil:
		client, err := ghattest.New(ghattest.Options{BaseURL: o.FromGitHub.APIURL, Token: o.FromGitHub.Token, Anonymous: true, Limit: o.FromGitHub.Limit, Warn: warn})
		if err != nil {
			return nil, fmt.Errorf("--from-github: %w", err)
		}
		gh := o.FromGitHub
		return targetJobs(o, func(c *verification.Checker, a verification.Artifact, _ []*verification.MaterialSet) verification.Result {
			return verifyFromGitHub(ctx, c, client, gh.Owner, gh.Repo, a)
		}), nil
	}
	return targetJobs(o, func(c *verification.Checker, a verification.Artifact, sets []*verification.MaterialSet) verification.Result {
		return c.Verify(a, sets)
	}), nil
}

// targetJobs makes a job per file or digest target (with the global
// material) and per dist of a directory target (with the material next to
// it), each verified by one.
func targetJobs(o VerifyOptions, one func(c *verification.Checker, a verification.Artifact, sets []*verification.MaterialSet) verification.Result) []job {
	var sets []*verification.MaterialSet
	var loadErr error
	loaded := false
	var jobs []job
	for _, it := range verification.BatchOf(o.Dists) {
		jobs = append(jobs, func(c *verification.Checker) verification.Result { return c.VerifyItem(it) })
	}
	for _, arg := range o.Targets {
		if st, err := os.Stat(arg); err == nil && st.IsDir() {
			items, err := verification.FindBatch(arg)
			if err != nil {
				jobs = append(jobs, func(*verification.Checker) verification.Result {
					return failed(arg, verification.CheckMaterial, fmt.Errorf("directory: %w", err))
				})
				continue
			}
			for _, it := range items {
				if o.FromGitHub != nil {
					jobs = append(jobs, func(c *verification.Checker) verification.Result { return one(c, it.Artifact, nil) })
					continue
				}
				jobs = append(jobs, func(c *verification.Checker) verification.Result { return c.VerifyItem(it) })
			}
			continue
		}
		if o.FromGitHub == nil && !loaded {
			sets, loadErr = verification.LoadMaterial(o.Bundles, o.Attestations)
			if loadErr == nil && (o.Signature != "" || o.Certificate != "") {
				sets, loadErr = withDetached(sets, o)
			}
			loaded = true
		}
		if loadErr != nil {
			jobs = append(jobs, func(*verification.Checker) verification.Result {
				return failed(arg, verification.CheckMaterial, loadErr)
			})
			continue
		}
		jobs = append(jobs, func(c *verification.Checker) verification.Result {
			a, err := artifactArg(arg, o.DistributionName)
			if err != nil {
				return failed(arg, verification.CheckMaterial, err)
			}
			return one(c, a, sets)
		})
	}
	return jobs
}

// verifyFromGitHub lists an artifact's attestations in the repository and
// verifies them as one set, any of which may satisfy the policy.
func verifyFromGitHub(ctx context.Context, c *verification.Checker, client *ghattest.Client, owner, repo string, a verification.Artifact) verification.Result {
	if a.SHA256 == nil {
		return failed(a.Name, verification.CheckMaterial, errors.New("the GitHub attestations API is searched by sha256: give the file or its sha256: digest"))
	}
	found, err := client.List(ctx, owner, repo, "sha256:"+hex.EncodeToString(a.SHA256))
	if err != nil {
		return failed(a.Name, verification.CheckMaterial, err)
	}
	raw := make([][]byte, len(found))
	for i, b := range found {
		raw[i] = b.JSON
	}
	set, err := verification.BundleSet(fmt.Sprintf("GitHub %s/%s", owner, repo), raw)
	if err != nil {
		return failed(a.Name, verification.CheckMaterial, err)
	}
	return c.Verify(a, []*verification.MaterialSet{set})
}

// indexJobs lists the files of each release on the index and makes one job
// per file: download it (streamed, hashed), fetch its Integrity API
// provenance, verify. A release that cannot be listed is one failed
// verdict.
func indexJobs(ctx context.Context, src *IndexSource) ([]job, error) {
	client, err := pypi.NewIndexClient(src.URL)
	if err != nil {
		return nil, fmt.Errorf("--from-index: %w", err)
	}
	var jobs []job
	for _, r := range src.Releases {
		files, err := client.ReleaseFiles(ctx, r.Name, r.Version)
		if err != nil {
			jobs = append(jobs, func(*verification.Checker) verification.Result { return failed(r.Arg, verification.CheckMaterial, err) })
			continue
		}
		for _, file := range files {
			jobs = append(jobs, func(c *verification.Checker) verification.Result { return verifyIndexFile(ctx, c, client, file) })
		}
	}
	return jobs, nil
}

func verifyIndexFile(ctx context.Context, c *verification.Checker, client *pypi.IndexClient, file pypi.IndexFile) verification.Result {
	sum256, sum512, size, err := client.Download(ctx, file)
	if err != nil {
		return failed(file.Filename, verification.CheckMaterial, fmt.Errorf("downloading %s: %w", file.URL, err))
	}
	// The verdict carries the digest and size of these downloaded bytes:
	// a local file of the same name has nothing to do with them.
	a := verification.Artifact{Name: file.Filename, SHA256: sum256, SHA512: sum512, Filename: file.Filename, Size: verification.SizeOf(size)}
	prov, err := client.Provenance(ctx, file)
	if err != nil {
		return verification.FailedResult(a, verification.CheckMaterial, err)
	}
	set, err := verification.AttestationSet(file.Provenance, prov)
	if err != nil {
		return verification.FailedResult(a, verification.CheckMaterial, err)
	}
	return c.Verify(a, []*verification.MaterialSet{set})
}

// artifactArg reads a FILE_OR_DIGEST argument: a digest only when it looks
// like one and no such file exists.
func artifactArg(arg, distName string) (verification.Artifact, error) {
	if verification.IsDigestArg(arg) {
		if _, err := os.Stat(arg); err != nil {
			return verification.ArtifactFromDigest(arg, distName)
		}
	}
	a, err := verification.ArtifactFromFile(arg)
	if err != nil {
		return a, err
	}
	if distName != "" {
		a.Filename = distName
	}
	return a, nil
}

func failed(artifact, check string, err error) verification.Result {
	return verification.Result{Artifact: artifact, FailedCheck: check, Error: err.Error(), Checks: []string{}}
}
