package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/release"
	"github.com/attest-publish/attest-publish/internal/signing"
)

// errGitHubInstancePEP740 refuses a release that would sign with GitHub's
// instance and then need PEP 740 attestations it cannot make.
var errGitHubInstancePEP740 = errors.New("GitHub's own Sigstore instance (sigstore-instance github, or auto in a private or internal repository, as actions/attest picks) has no public transparency log, so it cannot make the PEP 740 attestations PyPI accepts, and the upload would fail after signing: set sigstore-instance: public-good to attest on public Sigstore (what pypa/gh-action-pypi-publish does; the repository and workflow names become public in the log), or attestations: false")

// actionOptions wires the inputs into the pipeline's options.
func actionOptions(in *actionInputs, a *actionio.Action, stdout io.Writer, getenv func(string) string) (release.Options, error) {
	o := release.Options{Mode: release.Mode(in.mode), PackagesDir: in.packagesDir}
	if in.mode == "verify" {
		vo, err := verifyInputs(in, getenv)
		o.Verify = vo
		return o, err
	}
	if in.audit != "off" {
		o.Audit = &release.AuditOptions{WorkflowRef: getenv("GITHUB_WORKFLOW_REF"), Repository: getenv("GITHUB_REPOSITORY"),
			Workspace: getenv("GITHUB_WORKSPACE"), Strict: in.audit == "strict"}
	}
	serverURL := getenv("GITHUB_SERVER_URL")
	o.Sign = release.SignOptions{
		VerifyMetadata: in.verifyMetadata,
		Token: func(ctx context.Context) (*idtoken.Token, error) {
			return idtoken.Get(ctx, "sigstore", idtoken.Options{Getenv: getenv})
		},
		Trust: func() (*signing.Trust, error) {
			if in.signingConfig != "" || in.trustedRoot != "" {
				return signing.LoadTrust(in.signingConfig, in.trustedRoot)
			}
			switch sigstoreInstance(a, in.instance, stdout) {
			case "github":
				if in.mode == "release" && in.attestations {
					return nil, errGitHubInstancePEP740
				}
				return signing.LoadGitHubTrust(serverURL)
			default:
				return signing.LoadTrust("", "")
			}
		},
		ServerURL: serverURL,
	}
	if in.attestToGitHub {
		o.GitHub = &release.GitHubOptions{Repository: getenv("GITHUB_REPOSITORY"), ServerURL: serverURL, Token: in.githubToken, Getenv: getenv}
	}
	o.Publish = publish.Options{
		RepositoryURL:  in.repositoryURL,
		User:           in.user,
		Password:       in.password,
		SkipExisting:   in.skipExisting,
		VerifyMetadata: in.verifyMetadata,
		PrintHash:      in.printHash,
		Verbose:        in.verbose,
		ServerURL:      serverURL,
		OIDC: func(ctx context.Context, audience string) (*idtoken.Token, error) {
			return idtoken.Get(ctx, audience, idtoken.Options{Getenv: getenv, EnvVar: in.pypiTokenVar})
		},
		GitHubActions: !in.gitlab,
		Out:           stdout,
	}
	if !in.attestations {
		o.Publish.Attestations = publish.AttestationsOff
	}
	// Publish mode verifies the attestations before upload against the
	// trusted-root input, or public-good's root, and the CI token's
	// identity (release: signing's root and identity).
	if in.mode == "publish" && in.attestations && in.password == "" {
		if in.trustedRoot != "" {
			tr, err := root.NewTrustedRootFromPath(in.trustedRoot)
			if err != nil {
				return o, fmt.Errorf("loading trusted root %s: %w", in.trustedRoot, err)
			}
			o.Publish.TrustedRoot = tr
		} else {
			trust, err := signing.LoadTrust("", "")
			if err != nil {
				return o, err
			}
			o.Publish.TrustedRoot = trust.TrustedRoot
		}
	}
	return o, nil
}

// sigstoreInstance resolves sigstore-instance: auto picks public-good for
// a public repository and GitHub's instance otherwise, as actions/attest
// does; the choice and why is written to w.
func sigstoreInstance(a *actionio.Action, instance string, w io.Writer) string {
	if instance != "auto" {
		return instance
	}
	vis, err := a.RepositoryVisibility()
	switch {
	case err != nil:
		fmt.Fprintf(w, "sigstore-instance auto: %v; signing with GitHub's instance (set sigstore-instance: public-good to override)\n", err)
		return "github"
	case vis == "public":
		fmt.Fprintln(w, "sigstore-instance auto: public repository, signing with public-good Sigstore")
		return "public-good"
	case vis == "":
		vis = "unknown (the event payload does not say)"
	}
	fmt.Fprintf(w, "sigstore-instance auto: repository visibility %s, signing with GitHub's instance (no public transparency log; PyPI attestations need public-good)\n", vis)
	return "github"
}

// verifyInputs is verify mode's options: the verify inputs are verify's
// flags of the same names, parsed and checked as the command parses them.
func verifyInputs(in *actionInputs, getenv func(string) string) (release.VerifyOptions, error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f verifyFlags
	f.register(fs)
	set := func(name, value string) error {
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("input %s: %w", name, err)
		}
		return nil
	}
	var errs []error
	switch {
	case in.trustedRoot != "":
		errs = append(errs, set("trusted-root", in.trustedRoot))
	case in.instance == "github":
		errs = append(errs, set("github-instance", "true"))
	}
	for _, b := range in.bundles {
		errs = append(errs, set("bundle", b))
	}
	for _, at := range in.attestationFiles {
		errs = append(errs, set("attestation", at))
	}
	for _, name := range verifyInputFlags {
		if v, ok := in.verifyFlags[name]; ok {
			errs = append(errs, set(name, v))
		}
	}
	errs = append(errs, set("deny-self-hosted-runners", strconv.FormatBool(in.denySelfHosted)))
	if err := errors.Join(errs...); err != nil {
		return release.VerifyOptions{}, err
	}
	paths := in.verifyPaths
	if len(paths) == 0 {
		if _, ok := in.verifyFlags["from-index"]; ok {
			return release.VerifyOptions{}, errors.New("input from-index needs verify-paths: one NAME==VERSION per line")
		}
		paths = []string{in.packagesDir}
	}
	token := in.githubToken
	if token == "" {
		token = getenv("GITHUB_TOKEN")
	}
	return f.verifyOptions(paths, func(k string) string {
		if k == "GITHUB_TOKEN" {
			return token
		}
		return ""
	})
}
