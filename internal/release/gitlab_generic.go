package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/gitlab"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// GitLabGenericOptions configure storing the signature material in a
// GitLab generic package: after signing (sign), after publishing
// (release), or after verifying directories of dists (verify: the way to
// finish a store that failed halfway without signing again).
type GitLabGenericOptions struct {
	// PackageURL is the package's base URL
	// (…/projects/<id>/packages/generic/<name>/<version>); "" derives it
	// from APIURL and Project and the dists' normalized name and version.
	PackageURL string
	// APIURL and Project are CI_API_V4_URL and CI_PROJECT_ID.
	APIURL, Project string
	// Token authenticates the uploads.
	Token gitlab.Token
	// Client tunes timeouts and retries (Package and Token are filled in).
	Client gitlab.Options
}

// GitLabGenericSource is a GitLab generic package verify fetches each
// artifact's material from: <package URL>/<dist><suffix> for each suffix a
// directory of dists holds (bundle, attestations, detached pair).
type GitLabGenericSource struct {
	// PackageURL is the package's base URL.
	PackageURL string
	// Token authenticates (zero: anonymous, for public projects).
	Token gitlab.Token
	// Client tunes timeouts and retries (Package and Token are filled in).
	Client gitlab.Options
}

// storeOnGitLab is the GitLab generic package stage: every file of the
// signature material this run made (sign, release) or verified (verify)
// is stored, skipping those the registry already has with the same
// SHA-256. Its report is in the result, also after a failure.
func (p *pipeline) storeOnGitLab(ctx context.Context) error {
	o := p.o.GitLabGeneric
	files, name, version, err := p.materialFiles()
	if err != nil {
		return err
	}
	var pkg *gitlab.Package
	if o.PackageURL != "" {
		pkg, err = gitlab.ParsePackageURL(o.PackageURL)
	} else {
		pkg, err = gitlab.PackageURLFor(o.APIURL, o.Project, name, version)
	}
	if err != nil {
		return fmt.Errorf("GitLab generic package: %w", err)
	}
	if pkg.Name != name || pkg.Version != version {
		p.warn(Warning{Stage: StageGitLabGeneric, Message: fmt.Sprintf("the GitLab generic package is %s %s, the dists are %s %s", pkg.Name, pkg.Version, name, version)})
	}
	co := o.Client
	co.Package, co.Token = pkg, o.Token
	client, err := gitlab.New(co)
	if err != nil {
		return err
	}
	p.h.Progress(fmt.Sprintf("storing %d file(s) in the GitLab generic package %s (token: %s)", len(files), pkg, o.Token))
	rep, err := client.Store(ctx, files, p.h.Progress)
	p.res.GitLabGeneric = rep
	if err != nil {
		return err
	}
	p.h.Progress(fmt.Sprintf("the GitLab generic package %s holds all %d file(s)", pkg, len(files)))
	return nil
}

// finishHint says how to finish storing what signing made without signing
// again: verify the directory, then store ("" in verify mode, which is
// that command).
func (p *pipeline) finishHint() string {
	s := p.res.Signed
	if s == nil {
		return ""
	}
	where := p.o.GitLabGeneric.PackageURL
	if where == "" {
		where = "auto"
	}
	dir := filepath.Dir(s.Dists[0].Dist.Path)
	return fmt.Sprintf("\nto finish without signing again: attest-publish verify %s --certificate-identity %s --certificate-oidc-issuer %s --gitlab-generic-package %s (with --trusted-root when signing used a custom one)",
		shellQuote(dir), shellQuote(s.Identity.SAN), shellQuote(s.Identity.Issuer), shellQuote(where))
}

// materialFiles lists the files to store, each under its base name, and
// the release's normalized name and version.
func (p *pipeline) materialFiles() ([]gitlab.File, string, string, error) {
	var paths []string
	var name, version string
	if s := p.res.Signed; s != nil {
		first := s.Dists[0].Dist.Parsed
		name, version = first.CanonicalName(), first.Version
		for _, d := range s.Dists {
			paths = append(paths, d.Bundle, d.PublishAttestation, d.SLSAAttestation, d.Signature, d.Certificate)
		}
		paths = append(paths, s.Provenance)
	} else {
		// Verify mode: the directories' material, every dist of which has
		// just verified (the stage runs only after a passing verify).
		for _, t := range p.o.Verify.Targets {
			items, err := verification.FindBatch(t)
			if err != nil {
				return nil, "", "", err
			}
			for _, it := range items {
				f, err := dists.ParseFilename(it.Artifact.Filename)
				if err != nil {
					return nil, "", "", err
				}
				name, version = f.CanonicalName(), f.Version
				paths = append(paths, it.Bundles...)
				paths = append(paths, it.Attestations...)
				paths = append(paths, it.Signature, it.Certificate)
			}
		}
	}
	var files []gitlab.File
	for _, p := range paths {
		if p != "" {
			files = append(files, gitlab.File{Name: filepath.Base(p), Path: p})
		}
	}
	if len(files) == 0 {
		return nil, "", "", errors.New("GitLab generic package: no signature material to store")
	}
	return files, name, version, nil
}

// gitlabSuffixes are the material names fetched for a dist, in the order
// of a directory's: bundle, attestations, then the detached pair.
var gitlabSuffixes = []string{dists.BundleSuffix, dists.PublishAttestationSuffix, dists.SLSAAttestationSuffix, verification.DetachedSignatureSuffix, verification.DetachedCertificateSuffix}

// gitlabJobs makes one job per artifact (each file or digest target, each
// dist of a directory target), verifying it against the material the
// generic package holds for its file name.
func gitlabJobs(ctx context.Context, o VerifyOptions) ([]job, error) {
	src := o.FromGitLab
	pkg, err := gitlab.ParsePackageURL(src.PackageURL)
	if err != nil {
		return nil, fmt.Errorf("--from-gitlab-generic: %w", err)
	}
	co := src.Client
	co.Package, co.Token = pkg, src.Token
	client, err := gitlab.New(co)
	if err != nil {
		return nil, err
	}
	var jobs []job
	for _, arg := range o.Targets {
		if st, err := os.Stat(arg); err == nil && st.IsDir() {
			items, err := verification.FindBatch(arg)
			if err != nil {
				jobs = append(jobs, func(*verification.Checker) verification.Result { return failed(arg, verification.CheckMaterial, err) })
				continue
			}
			for _, it := range items {
				jobs = append(jobs, func(c *verification.Checker) verification.Result {
					return verifyFromGitLab(ctx, c, client, it.Artifact)
				})
			}
			continue
		}
		jobs = append(jobs, func(c *verification.Checker) verification.Result {
			a, err := artifactArg(arg, o.DistributionName)
			if err != nil {
				return failed(arg, verification.CheckMaterial, err)
			}
			return verifyFromGitLab(ctx, c, client, a)
		})
	}
	return jobs, nil
}

// verifyFromGitLab fetches the material the package holds for a's file
// name (a name it does not hold is absent) and verifies a against each
// piece, as a directory's dist is verified against the files next to it.
func verifyFromGitLab(ctx context.Context, c *verification.Checker, client *gitlab.Client, a verification.Artifact) verification.Result {
	if a.Filename == "" {
		return verification.FailedResult(a, verification.CheckMaterial, errors.New("the generic package names material after the dist: give the file, or --distribution-name with a digest"))
	}
	got := map[string][]byte{}
	for _, s := range gitlabSuffixes {
		limit := int64(gitlab.MaxFileSize)
		data, err := client.Download(ctx, a.Filename+s, limit)
		switch {
		case errors.Is(err, gitlab.ErrNotFound):
			continue
		case err != nil:
			return verification.FailedResult(a, verification.CheckMaterial, err)
		}
		got[s] = data
	}
	pkg := client.Package()
	url := func(s string) string { return pkg.FileURL(a.Filename + s) }
	var sets []*verification.MaterialSet
	var bundleSet *verification.MaterialSet
	if data, ok := got[dists.BundleSuffix]; ok {
		b, err := verification.ParseBundle(data)
		if err != nil {
			return verification.FailedResult(a, verification.CheckMaterial, fmt.Errorf("%s: %w", url(dists.BundleSuffix), err))
		}
		bundleSet = &verification.MaterialSet{Path: url(dists.BundleSuffix), Items: []verification.Material{{Source: url(dists.BundleSuffix), Bundle: b}}}
		sets = append(sets, bundleSet)
	}
	for _, s := range []string{dists.PublishAttestationSuffix, dists.SLSAAttestationSuffix} {
		if data, ok := got[s]; ok {
			set, err := verification.AttestationSet(url(s), data)
			if err != nil {
				return verification.FailedResult(a, verification.CheckMaterial, err)
			}
			sets = append(sets, set)
		}
	}
	sig, hasSig := got[verification.DetachedSignatureSuffix]
	crt, hasCrt := got[verification.DetachedCertificateSuffix]
	if hasSig || hasCrt {
		source := url(verification.DetachedSignatureSuffix) + " + " + url(verification.DetachedCertificateSuffix)
		if !hasSig || !hasCrt || bundleSet == nil {
			return verification.FailedResult(a, verification.CheckMaterial, fmt.Errorf("%s: the package holds only part of the detached pair and its bundle (%s, %s and %s go together)", source, verification.DetachedSignatureSuffix, verification.DetachedCertificateSuffix, dists.BundleSuffix))
		}
		set, err := verification.DetachedSet(source, sig, crt, bundleSet)
		if err != nil {
			return verification.FailedResult(a, verification.CheckMaterial, err)
		}
		sets = append(sets, set)
	}
	if len(sets) == 0 {
		return verification.FailedResult(a, verification.CheckMaterial, fmt.Errorf("the GitLab generic package %s holds no material for %s (looked for %s%s, %s, %s, %s, %s)", pkg, a.Filename, a.Filename, dists.BundleSuffix, dists.PublishAttestationSuffix, dists.SLSAAttestationSuffix, verification.DetachedSignatureSuffix, verification.DetachedCertificateSuffix))
	}
	return c.Verify(a, sets)
}

// withDetached adds the detached pair of o to the material: it is verified
// with the one bundle given (its log entry and time).
func withDetached(sets []*verification.MaterialSet, o VerifyOptions) ([]*verification.MaterialSet, error) {
	if o.Signature == "" || o.Certificate == "" {
		return nil, errors.New("--signature and --certificate go together")
	}
	if len(o.Bundles) != 1 {
		return nil, fmt.Errorf("--signature and --certificate are verified with the one bundle they were made from: give exactly one --bundle (%d given); a detached pair carries no log entry or timestamp, and verify looks nothing up online", len(o.Bundles))
	}
	pair, err := verification.LoadDetached(o.Signature, o.Certificate, o.Bundles[0])
	if err != nil {
		return nil, fmt.Errorf("detached signature: %w", err)
	}
	return append(sets, pair), nil
}
