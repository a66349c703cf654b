package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/ghattest"
	"github.com/attest-publish/attest-publish/internal/pypi"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// slsaProvenanceV1 is the predicate type --from-github requires unless
// --predicate-type names another (gh attestation verify's default).
const slsaProvenanceV1 = "https://slsa.dev/provenance/v1"

// fetchConcurrency bounds the artifacts fetched and verified at once.
const fetchConcurrency = 8

// fetchFlags are verify's flags that fetch the material over the network;
// without them verify never touches the network (except --tuf).
type fetchFlags struct {
	fromGitHub, fromIndex string
	githubAPIURL          string
	limit                 int
}

func (f *fetchFlags) register(fs *flag.FlagSet) {
	api := os.Getenv("GITHUB_API_URL")
	if api == "" {
		api = ghattest.DefaultAPIURL
	}
	fs.StringVar(&f.fromGitHub, "from-github", "", "fetch each artifact's attestations from the GitHub attestations API of OWNER/REPO (anonymous for public repositories, $GITHUB_TOKEN otherwise; predicate type defaults to SLSA provenance v1)")
	fs.StringVar(&f.fromIndex, "from-index", "", "verify releases on the package index at URL: arguments are name==version; every file is downloaded, hashed and verified against its Integrity API provenance")
	fs.StringVar(&f.githubAPIURL, "github-api-url", api, "GitHub REST API URL for --from-github (default $GITHUB_API_URL, else https://api.github.com)")
	fs.IntVar(&f.limit, "limit", ghattest.DefaultLimit, fmt.Sprintf("most attestations fetched per artifact with --from-github (at most %d)", ghattest.MaxLimit))
}

func (f *fetchFlags) active() bool { return f.fromGitHub != "" || f.fromIndex != "" }

// runVerifyFetch is verify with --from-github or --from-index: the material
// comes from the network, then the same checker judges it.
func runVerifyFetch(ctx context.Context, f *verifyFlags, args []string, stdout, stderr io.Writer) error {
	ff := &f.fetch
	switch {
	case ff.fromGitHub != "" && ff.fromIndex != "":
		return usageError{"--from-github and --from-index are exclusive"}
	case len(f.bundles)+len(f.attestations) > 0:
		return usageError{"--bundle and --attestation cannot be combined with --from-github or --from-index, which fetch the material"}
	case ff.limit < 1 || ff.limit > ghattest.MaxLimit:
		return usageError{fmt.Sprintf("--limit must be 1 to %d", ghattest.MaxLimit)}
	}
	if ff.fromGitHub != "" && f.predicateType == "" {
		f.predicateType = slsaProvenanceV1
	}
	policy, err := f.policy()
	if err != nil {
		return err
	}
	var jobs []fetchJob
	if ff.fromGitHub != "" {
		jobs, err = githubJobs(ctx, f, args, stderr)
	} else {
		jobs, err = indexJobs(ctx, f, args)
	}
	if err != nil {
		return err
	}
	trust, err := f.loadTrust(stderr)
	if err != nil {
		results := make([]verification.Result, 0, len(args))
		for _, a := range args {
			results = append(results, failed(a, verification.CheckTrustedRoot, err))
		}
		return report(f.format, results, stdout)
	}
	checker, err := verification.NewChecker(trust, policy)
	if err != nil {
		return usageError{err.Error()}
	}
	results := verification.RunConcurrently(len(jobs), fetchConcurrency, func(i int) verification.Result { return jobs[i](checker) })
	return report(f.format, results, stdout)
}

// fetchJob fetches one artifact's material and verifies it with the checker.
type fetchJob func(c *verification.Checker) verification.Result

// githubJobs makes one job per artifact (a file, a sha256: digest, or each
// dist of a directory): list its attestations in the repository, then
// verify them as one set, any of which may satisfy the policy.
func githubJobs(ctx context.Context, f *verifyFlags, args []string, stderr io.Writer) ([]fetchJob, error) {
	owner, repo, err := ghattest.SplitRepo(f.fetch.fromGitHub)
	if err != nil {
		return nil, usageError{"--from-github: " + err.Error()}
	}
	client, err := ghattest.New(ghattest.Options{
		BaseURL: f.fetch.githubAPIURL,
		Limit:   f.fetch.limit,
		Warn:    func(m string) { fmt.Fprintln(stderr, "warning:", m) },
	})
	if err != nil {
		return nil, usageError{"--from-github: " + err.Error()}
	}
	verifyOne := func(c *verification.Checker, a verification.Artifact) verification.Result {
		if a.SHA256 == nil {
			return failed(a.Name, verification.CheckMaterial, errors.New("the GitHub attestations API is searched by sha256: give the file or its sha256: digest"))
		}
		digest := "sha256:" + hex.EncodeToString(a.SHA256)
		found, err := client.List(ctx, owner, repo, digest)
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
	var jobs []fetchJob
	for _, arg := range args {
		if st, err := os.Stat(arg); err == nil && st.IsDir() {
			items, err := verification.FindBatch(arg)
			if err != nil {
				jobs = append(jobs, func(*verification.Checker) verification.Result {
					return failed(arg, verification.CheckMaterial, fmt.Errorf("directory: %w", err))
				})
				continue
			}
			for _, it := range items {
				jobs = append(jobs, func(c *verification.Checker) verification.Result { return verifyOne(c, it.Artifact) })
			}
			continue
		}
		jobs = append(jobs, func(c *verification.Checker) verification.Result {
			a, err := artifactArg(arg, f.distributionName)
			if err != nil {
				return failed(arg, verification.CheckMaterial, err)
			}
			return verifyOne(c, a)
		})
	}
	return jobs, nil
}

// indexJobs lists the files of each name==version on the index and makes
// one job per file: download it (streamed, hashed), fetch its Integrity API
// provenance, verify. A release that cannot be listed is one failed verdict.
func indexJobs(ctx context.Context, f *verifyFlags, args []string) ([]fetchJob, error) {
	client, err := pypi.NewIndexClient(f.fetch.fromIndex)
	if err != nil {
		return nil, usageError{"--from-index: " + err.Error()}
	}
	type release struct{ arg, name, version string }
	var releases []release
	for _, arg := range args {
		name, version, ok := strings.Cut(arg, "==")
		if !ok || name == "" || version == "" || strings.Contains(version, "=") {
			return nil, usageError{fmt.Sprintf("--from-index: argument %q: want name==version", arg)}
		}
		if _, ok := dists.NormalizeVersion(version); !ok {
			return nil, usageError{fmt.Sprintf("--from-index: argument %q: %q is not a PEP 440 version", arg, version)}
		}
		releases = append(releases, release{arg, strings.TrimSpace(name), strings.TrimSpace(version)})
	}
	var jobs []fetchJob
	for _, r := range releases {
		files, err := client.ReleaseFiles(ctx, r.name, r.version)
		if err != nil {
			jobs = append(jobs, func(*verification.Checker) verification.Result { return failed(r.arg, verification.CheckMaterial, err) })
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
