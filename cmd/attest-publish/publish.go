package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/netguard"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/release"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// publishFlags are publish's flags; release registers them too.
type publishFlags struct {
	repositoryURL, packagesDir, user, password, trustedRoot, identityToken, certIdentity, certIssuer string
	skipExisting, verifyMetadata, printHash, attestations, verbose                                   bool
}

// register adds publish's flags to fs. With shared set, the flags sign
// already registered (packages-dir, trusted-root, identity-token,
// verify-metadata) are left out and their values are copied from sign's by
// release.
func (f *publishFlags) register(fs *flag.FlagSet, shared bool) {
	fs.StringVar(&f.repositoryURL, "repository-url", publish.DefaultRepositoryURL, "legacy upload API of the index (GitLab's PyPI registry: ${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/pypi, with --user gitlab-ci-token)")
	if !shared {
		fs.StringVar(&f.packagesDir, "packages-dir", "dist", "directory holding the dists and their signing outputs")
	}
	fs.StringVar(&f.user, "user", "__token__", "upload username: __token__ for an API token or trusted publishing; gitlab-ci-token for GitLab's PyPI registry with the job token ($CI_JOB_TOKEN, sent only to this GitLab instance's API)")
	fs.StringVar(&f.password, "password", "", "API token or password; empty means trusted publishing, or $CI_JOB_TOKEN with --user gitlab-ci-token (default $ATTEST_PUBLISH_PASSWORD, which keeps it out of argv)")
	fs.BoolVar(&f.skipExisting, "skip-existing", false, "count files the index already has as done")
	if !shared {
		fs.BoolVar(&f.verifyMetadata, "verify-metadata", true, "check each dist's metadata before uploading anything")
	}
	fs.BoolVar(&f.printHash, "print-hash", false, "print each dist's SHA-256 and BLAKE2b-256")
	fs.BoolVar(&f.attestations, "attestations", true, "upload the PEP 740 attestations (dropped with a warning with a password unless given explicitly; never sent to GitLab's PyPI registry, which ignores them)")
	fs.BoolVar(&f.verbose, "verbose", false, "print hashes and more detail")
	if !shared {
		fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted root JSON to verify bundles and attestations before upload (required when attestations are sent)")
		fs.StringVar(&f.identityToken, "identity-token", "", "OIDC identity token (default: $SIGSTORE_ID_TOKEN, else GitHub Actions' token); trusted publishing uses it only if its aud is exactly the index's audience, else $<AUDIENCE>_ID_TOKEN (such as $PYPI_ID_TOKEN; GitLab CI: declare both under the job's id_tokens) or GitHub Actions' token for that audience")
	}
	fs.StringVar(&f.certIdentity, "certificate-identity", "", "signer SAN every bundle and attestation must carry (default: the current CI token's identity)")
	fs.StringVar(&f.certIssuer, "certificate-oidc-issuer", "", "OIDC issuer the signer must come from (with --certificate-identity)")
}

// check reports flag mistakes before anything is read.
func (f *publishFlags) check() error {
	if (f.certIdentity == "") != (f.certIssuer == "") {
		return usageError{"--certificate-identity and --certificate-oidc-issuer go together"}
	}
	// The repository URL receives the OIDC token, the minted API token or
	// the password: https only (plain http only for a loopback host).
	if _, err := netguard.RequireHTTPS(f.repositoryURL); err != nil {
		return usageError{"--repository-url " + err.Error()}
	}
	return nil
}

// options builds publish's options from the parsed fs.
func (f *publishFlags) options(fs *flag.FlagSet, getenv func(string) string, stdout io.Writer) (publish.Options, error) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	password := f.password
	if !set["password"] {
		password = getenv("ATTEST_PUBLISH_PASSWORD")
	}
	identityToken := f.identityToken
	opts := publish.Options{
		RepositoryURL:  f.repositoryURL,
		PackagesDir:    f.packagesDir,
		User:           f.user,
		Password:       password,
		SkipExisting:   f.skipExisting,
		VerifyMetadata: f.verifyMetadata,
		PrintHash:      f.printHash,
		Verbose:        f.verbose,
		ServerURL:      getenv("GITHUB_SERVER_URL"),
		OIDC: func(ctx context.Context, audience string) (*idtoken.Token, error) {
			return idtoken.Get(ctx, audience, idtoken.Options{Explicit: identityToken, Getenv: getenv})
		},
		GitHubActions: getenv("GITHUB_ACTIONS") == "true",
		Out:           stdout,
		Getenv:        getenv,
	}
	switch {
	case !set["attestations"]:
		opts.Attestations = publish.AttestationsDefault
	case f.attestations:
		opts.Attestations = publish.AttestationsOn
	default:
		opts.Attestations = publish.AttestationsOff
	}
	if f.trustedRoot != "" {
		tr, err := root.NewTrustedRootFromPath(f.trustedRoot)
		if err != nil {
			return publish.Options{}, fmt.Errorf("loading trusted root %s: %w", f.trustedRoot, err)
		}
		opts.TrustedRoot = tr
	}
	if f.certIdentity != "" {
		opts.Identity = &verification.Identity{SAN: f.certIdentity, Issuer: f.certIssuer}
	}
	return opts, nil
}

func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var pf publishFlags
	pf.register(fs, false)
	format := fs.String("format", "text", "output: text or json (one JSON report on stdout)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: attest-publish publish [flags]

Uploads every wheel and sdist in the packages directory to a Python package
index with trusted publishing (or a password), sending their PEP 740
attestations. Before the first upload, metadata is checked and every bundle
and attestation is verified; each file's bytes are hashed as they are
streamed, and the upload is never completed if they differ from the ones
verified. After the upload, each file's provenance is read back from the
index's Integrity API and checked to be the one uploaded. A report lists
every file as live or not, also when the run fails halfway: rerun with
--skip-existing to finish.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (dists are found in --packages-dir)", fs.Arg(0))}
	}
	if err := pf.check(); err != nil {
		return err
	}
	opts, err := pf.options(fs, getenv, commandsTo(*format, stdout, stderr))
	if err != nil {
		return err
	}
	h, err := newHandler(*format, stdout, stderr, getenv)
	if err != nil {
		return err
	}
	_, err = release.Run(ctx, release.Options{Mode: release.ModePublish, PackagesDir: pf.packagesDir, Publish: opts}, h)
	return err
}
