package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/attest-publish/attest-publish/internal/gitlab"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/netguard"
	"github.com/attest-publish/attest-publish/internal/release"
	"github.com/attest-publish/attest-publish/internal/signing"
)

// signFlags are sign's flags; release registers them too.
type signFlags struct {
	packagesDir, outputDir, identityToken, signingConfig, trustedRoot, serverURL string
	instance, gitlabPackage                                                      string
	rekorVersion                                                                 uint
	overwrite, verifyMetadata, detached                                          bool
	concurrency                                                                  int
	timeout                                                                      time.Duration
}

// register adds sign's flags to fs; --output-dir only when withOutputDir
// (release writes next to the dists, where publish looks).
func (f *signFlags) register(fs *flag.FlagSet, getenv func(string) string, withOutputDir bool) {
	fs.StringVar(&f.packagesDir, "packages-dir", "dist", "directory holding the wheels and sdists (not searched recursively)")
	if withOutputDir {
		fs.StringVar(&f.outputDir, "output-dir", "", "directory for provenance.sigstore.json (default: the packages directory)")
	}
	fs.StringVar(&f.identityToken, "identity-token", "", "OIDC identity token for Fulcio (default: $SIGSTORE_ID_TOKEN, else GitHub Actions' token with audience sigstore)")
	fs.StringVar(&f.signingConfig, "signing-config", "", "Sigstore signing config JSON (with --trusted-root; default: public-good Sigstore over TUF)")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted root JSON (with --signing-config)")
	fs.StringVar(&f.instance, "sigstore-instance", "public-good", "Sigstore instance when no --signing-config is given: public-good, or github (GitHub's own instance, as actions/attest uses for private repositories: Fulcio and a timestamp authority, no transparency log, no PEP 740 attestations; trust fetched over TUF from tuf-repo.github.com)")
	fs.UintVar(&f.rekorVersion, "rekor-version", 0, "transparency log API: 1, 2, or 0 for v1 when offered (PyPI needs v1)")
	fs.BoolVar(&f.overwrite, "overwrite", false, "replace existing output files")
	fs.BoolVar(&f.verifyMetadata, "verify-metadata", true, "check each dist's metadata (what twine check checks) before signing anything")
	fs.StringVar(&f.serverURL, "server-url", getenv("GITHUB_SERVER_URL"), "GitHub server URL for provenance (default https://github.com)")
	fs.IntVar(&f.concurrency, "concurrency", 32, "signatures in flight at once (they mostly wait on the log and TSA)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each request to a Sigstore service")
	fs.BoolVar(&f.detached, "detached-signatures", false, "also write <dist>.sig and <dist>.crt, cosign sign-blob's --output-signature and --output-certificate files (base64 signature, base64 PEM certificate), taken from each bundle: same signature, same certificate")
	registerGitLabPackage(fs, &f.gitlabPackage, "after signing (release: after publishing)")
}

// registerGitLabPackage adds --gitlab-generic-package; when says when the
// material is stored.
func registerGitLabPackage(fs *flag.FlagSet, v *string, when string) {
	fs.StringVar(v, "gitlab-generic-package", "", when+", store the signature material in this GitLab generic package: <API URL>/projects/<id>/packages/generic/<name>/<version>, or auto for $CI_API_V4_URL/projects/$CI_PROJECT_ID/packages/generic/<dist name>/<version>; files already stored with the same sha256 are skipped. Token: $CI_JOB_TOKEN (JOB-TOKEN header, for its own instance only), else $GITLAB_TOKEN (PRIVATE-TOKEN), else $GITLAB_DEPLOY_TOKEN")
}

// gitlabStoreOptions are the GitLab stage's options for
// --gitlab-generic-package value ("" for none), checked before anything
// runs: the URL, and a token for its instance.
func gitlabStoreOptions(value string, getenv func(string) string) (*release.GitLabGenericOptions, error) {
	if value == "" {
		return nil, nil
	}
	o := &release.GitLabGenericOptions{}
	target := value
	if value == "auto" {
		o.APIURL, o.Project = getenv("CI_API_V4_URL"), getenv("CI_PROJECT_ID")
		if o.APIURL == "" || o.Project == "" {
			return nil, usageError{"--gitlab-generic-package auto needs $CI_API_V4_URL and $CI_PROJECT_ID (set in GitLab CI jobs); elsewhere give the package URL"}
		}
		target = o.APIURL
		if _, err := netguard.RequireHTTPS(target); err != nil {
			return nil, usageError{"--gitlab-generic-package auto: $CI_API_V4_URL " + err.Error()}
		}
	} else {
		if _, err := gitlab.ParsePackageURL(value); err != nil {
			return nil, usageError{"--gitlab-generic-package " + err.Error()}
		}
		o.PackageURL = value
	}
	u, _ := url.Parse(target)
	tok, err := gitlab.TokenFromEnv(getenv, u)
	if err != nil {
		return nil, usageError{"--gitlab-generic-package: " + err.Error()}
	}
	if tok.IsZero() {
		return nil, usageError{"--gitlab-generic-package needs a token to upload: $CI_JOB_TOKEN (set in GitLab CI jobs), $GITLAB_TOKEN (api scope) or $GITLAB_DEPLOY_TOKEN (write_package_registry)"}
	}
	o.Token = tok
	return o, nil
}

// check reports flag mistakes before anything is read.
func (f *signFlags) check() error {
	if f.rekorVersion > 2 {
		return usageError{"--rekor-version must be 0, 1 or 2"}
	}
	switch f.instance {
	case "public-good":
	case "github":
		if f.signingConfig != "" || f.trustedRoot != "" {
			return usageError{"--sigstore-instance github and --signing-config/--trusted-root are exclusive: the instance brings its own"}
		}
	default:
		return usageError{fmt.Sprintf("--sigstore-instance must be public-good or github, not %q", f.instance)}
	}
	if f.gitlabPackage != "" && f.gitlabPackage != "auto" {
		if _, err := gitlab.ParsePackageURL(f.gitlabPackage); err != nil {
			return usageError{"--gitlab-generic-package " + err.Error()}
		}
	}
	return nil
}

// signOptions are the pipeline's signing options from the flags.
func (f *signFlags) signOptions(getenv func(string) string) release.SignOptions {
	return release.SignOptions{
		OutputDir:      f.outputDir,
		Overwrite:      f.overwrite,
		VerifyMetadata: f.verifyMetadata,
		Token: func(ctx context.Context) (*idtoken.Token, error) {
			return idtoken.Get(ctx, "sigstore", idtoken.Options{Explicit: f.identityToken, Getenv: getenv})
		},
		Trust: func() (*signing.Trust, error) {
			if f.instance == "github" {
				return signing.LoadGitHubTrust(f.serverURL)
			}
			return signing.LoadTrust(f.signingConfig, f.trustedRoot)
		},
		Select:      signing.SelectOptions{RekorVersion: uint32(f.rekorVersion)},
		ServerURL:   f.serverURL,
		Concurrency: f.concurrency,
		Signing:     signing.Options{Timeout: f.timeout},
		Detached:    f.detached,
	}
}

func runSign(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf signFlags
	sf.register(fs, getenv, true)
	format := fs.String("format", "text", "output: text or json (one JSON report on stdout)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: attest-publish sign [flags]

Signs every wheel and sdist in the packages directory with one ephemeral key
and one Fulcio certificate, and writes next to each dist:
  <dist>.sigstore.json        Sigstore bundle (message signature)
  <dist>.publish.attestation  PEP 740 publish/v1 attestation
  <dist>.slsa.attestation     PEP 740 attestation with SLSA v1 provenance
  <dist>.sig, <dist>.crt      with --detached-signatures: cosign's detached
                              signature and certificate, from the bundle
and provenance.sigstore.json, the release's SLSA v1 provenance bundle (what
actions/attest makes). Every output is verified before it is kept; on any
failure nothing is left behind.

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
	if err := sf.check(); err != nil {
		return err
	}
	gl, err := gitlabStoreOptions(sf.gitlabPackage, getenv)
	if err != nil {
		return err
	}
	h, err := newHandler(*format, stdout, stderr, getenv)
	if err != nil {
		return err
	}
	_, err = release.Run(ctx, release.Options{Mode: release.ModeSign, PackagesDir: sf.packagesDir, Sign: sf.signOptions(getenv), GitLabGeneric: gl}, h)
	return err
}
