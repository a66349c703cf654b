package main

import (
	"flag"
	"os"

	"github.com/attest-publish/attest-publish/internal/gitlab"
	"github.com/attest-publish/attest-publish/internal/release"
)

// gitlabVerifyFlags are verify's flags for GitLab's signing flow: a
// detached pair (cosign's .sig and .crt), material fetched from a generic
// package, and storing verified material in one.
type gitlabVerifyFlags struct {
	signature, certificate string
	fromGitLab, store      string
}

func (f *gitlabVerifyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.signature, "signature", "", "detached signature (cosign sign-blob --output-signature: base64, or raw), verified with --certificate and the one --bundle it was made from (its log entry and time: a lone pair cannot be verified offline)")
	fs.StringVar(&f.certificate, "certificate", "", "detached signing certificate (cosign sign-blob --output-certificate: base64 PEM, or PEM), with --signature")
	fs.StringVar(&f.fromGitLab, "from-gitlab-generic", "", "fetch each artifact's material from the GitLab generic package at URL (<API URL>/projects/<id>/packages/generic/<name>/<version>): <dist>.sigstore.json, .publish.attestation, .slsa.attestation, .sig + .crt, each one present must verify, none fails; token (private projects): $CI_JOB_TOKEN for its own instance, else $GITLAB_TOKEN, else $GITLAB_DEPLOY_TOKEN, sent to that URL's host only")
	registerGitLabPackage(fs, &f.store, "after every dist of the directory arguments verified")
}

// detachedOptions checks --signature and --certificate: both or neither,
// and with exactly one --bundle.
func (f *verifyFlags) detachedOptions(o *release.VerifyOptions) error {
	g := f.gitlab
	if g.signature == "" && g.certificate == "" {
		return nil
	}
	if g.signature == "" || g.certificate == "" {
		return usageError{"--signature and --certificate go together"}
	}
	if len(f.bundles) != 1 {
		return usageError{"--signature and --certificate need exactly one --bundle, the one they were made from: a detached pair carries no log entry or timestamp, and verify looks nothing up online (cosign verify-blob queries Rekor for a lone pair)"}
	}
	o.Signature, o.Certificate = g.signature, g.certificate
	return nil
}

// gitlabFetchOptions are verify's options with --from-gitlab-generic.
func (f *verifyFlags) gitlabFetchOptions(args []string, getenv func(string) string) (release.VerifyOptions, error) {
	g := f.gitlab
	switch {
	case f.fetch.active():
		return release.VerifyOptions{}, usageError{"--from-gitlab-generic, --from-github and --from-index are exclusive"}
	case len(f.bundles)+len(f.attestations) > 0 || g.signature != "" || g.certificate != "":
		return release.VerifyOptions{}, usageError{"--bundle, --attestation, --signature and --certificate cannot be combined with --from-gitlab-generic, which fetches the material"}
	}
	pkg, err := gitlab.ParsePackageURL(g.fromGitLab)
	if err != nil {
		return release.VerifyOptions{}, usageError{"--from-gitlab-generic " + err.Error()}
	}
	tok, err := gitlab.TokenFromEnv(getenv, pkg.URL)
	if err != nil {
		return release.VerifyOptions{}, usageError{"--from-gitlab-generic: " + err.Error()}
	}
	policy, err := f.policy()
	if err != nil {
		return release.VerifyOptions{}, err
	}
	return release.VerifyOptions{
		Targets:          args,
		DistributionName: f.distributionName,
		Policy:           policy,
		Trust:            f.loadTrust,
		FromGitLab:       &release.GitLabGenericSource{PackageURL: g.fromGitLab, Token: tok},
	}, nil
}

// storeOptions are the GitLab stage after verify: directory arguments
// only, whose material is stored.
func (f *verifyFlags) storeOptions(args []string, getenv func(string) string) (*release.GitLabGenericOptions, error) {
	if f.gitlab.store == "" {
		return nil, nil
	}
	if f.fetch.active() || f.gitlab.fromGitLab != "" {
		return nil, usageError{"--gitlab-generic-package stores local material: it cannot be combined with --from-github, --from-index or --from-gitlab-generic"}
	}
	for _, a := range args {
		if st, err := os.Stat(a); err != nil || !st.IsDir() {
			return nil, usageError{"--gitlab-generic-package with verify stores the material next to the dists of directory arguments; " + a + " is not a directory"}
		}
	}
	return gitlabStoreOptions(f.gitlab.store, getenv)
}
