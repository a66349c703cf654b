package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/ghattest"
	"github.com/attest-publish/attest-publish/internal/pypi"
	"github.com/attest-publish/attest-publish/internal/release"
)

// slsaProvenanceV1 is the predicate type --from-github requires unless
// --predicate-type names another (gh attestation verify's default).
const slsaProvenanceV1 = "https://slsa.dev/provenance/v1"

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

// fetchOptions are verify's options with --from-github or --from-index:
// the material comes from the network, then the same checker judges it.
// The GitHub API token is $GITHUB_TOKEN.
func (f *verifyFlags) fetchOptions(args []string, getenv func(string) string) (release.VerifyOptions, error) {
	ff := &f.fetch
	switch {
	case ff.fromGitHub != "" && ff.fromIndex != "":
		return release.VerifyOptions{}, usageError{"--from-github and --from-index are exclusive"}
	case len(f.bundles)+len(f.attestations) > 0:
		return release.VerifyOptions{}, usageError{"--bundle and --attestation cannot be combined with --from-github or --from-index, which fetch the material"}
	case ff.limit < 1 || ff.limit > ghattest.MaxLimit:
		return release.VerifyOptions{}, usageError{fmt.Sprintf("--limit must be 1 to %d", ghattest.MaxLimit)}
	}
	if ff.fromGitHub != "" && f.predicateType == "" {
		f.predicateType = slsaProvenanceV1
	}
	policy, err := f.policy()
	if err != nil {
		return release.VerifyOptions{}, err
	}
	o := release.VerifyOptions{Targets: args, DistributionName: f.distributionName, Policy: policy, Trust: f.loadTrust}
	if ff.fromGitHub != "" {
		owner, repo, err := ghattest.SplitRepo(ff.fromGitHub)
		if err != nil {
			return o, usageError{"--from-github: " + err.Error()}
		}
		if _, err := ghattest.New(ghattest.Options{BaseURL: ff.githubAPIURL}); err != nil {
			return o, usageError{"--from-github: " + err.Error()}
		}
		o.FromGitHub = &release.GitHubSource{Owner: owner, Repo: repo, APIURL: ff.githubAPIURL, Token: getenv("GITHUB_TOKEN"), Limit: ff.limit}
		return o, nil
	}
	if _, err := pypi.NewIndexClient(ff.fromIndex); err != nil {
		return o, usageError{"--from-index: " + err.Error()}
	}
	src := &release.IndexSource{URL: ff.fromIndex}
	for _, arg := range args {
		name, version, ok := strings.Cut(arg, "==")
		if !ok || name == "" || version == "" || strings.Contains(version, "=") {
			return o, usageError{fmt.Sprintf("--from-index: argument %q: want name==version", arg)}
		}
		if _, ok := dists.NormalizeVersion(version); !ok {
			return o, usageError{fmt.Sprintf("--from-index: argument %q: %q is not a PEP 440 version", arg, version)}
		}
		src.Releases = append(src.Releases, release.IndexRelease{Arg: arg, Name: strings.TrimSpace(name), Version: strings.TrimSpace(version)})
	}
	o.FromIndex = src
	return o, nil
}
