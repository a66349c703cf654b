package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/verification"
)

func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repositoryURL := fs.String("repository-url", publish.DefaultRepositoryURL, "legacy upload API of the index")
	packagesDir := fs.String("packages-dir", "dist", "directory holding the dists and their signing outputs")
	user := fs.String("user", "__token__", "upload username")
	password := fs.String("password", "", "API token or password; empty means trusted publishing (default $ATTEST_PUBLISH_PASSWORD, which keeps it out of argv)")
	skipExisting := fs.Bool("skip-existing", false, "count files the index already has as done")
	verifyMetadata := fs.Bool("verify-metadata", true, "check each dist's metadata before uploading anything")
	printHash := fs.Bool("print-hash", false, "print each dist's SHA-256 and BLAKE2b-256")
	attestations := fs.Bool("attestations", true, "upload the PEP 740 attestations (dropped with a warning with a password unless given explicitly)")
	verbose := fs.Bool("verbose", false, "print hashes and more detail")
	trustedRoot := fs.String("trusted-root", "", "Sigstore trusted root JSON to verify bundles and attestations before upload (required when attestations are sent)")
	identityToken := fs.String("identity-token", "", "OIDC identity token (default: $SIGSTORE_ID_TOKEN, else GitHub Actions' token)")
	certIdentity := fs.String("certificate-identity", "", "signer SAN every bundle and attestation must carry (default: the current CI token's identity)")
	certIssuer := fs.String("certificate-oidc-issuer", "", "OIDC issuer the signer must come from (with --certificate-identity)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: attest-publish publish [flags]

Uploads every wheel and sdist in the packages directory to a Python package
index with trusted publishing (or a password), sending their PEP 740
attestations. Before the first upload, metadata is checked and every bundle
and attestation is verified; each file is hashed again right before its
upload. A report lists every file as live or not, also when the run fails
halfway: rerun with --skip-existing to finish.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (dists are found in --packages-dir)", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["password"] {
		*password = getenv("ATTEST_PUBLISH_PASSWORD")
	}
	if (*certIdentity == "") != (*certIssuer == "") {
		return usageError{"--certificate-identity and --certificate-oidc-issuer go together"}
	}
	opts := publish.Options{
		RepositoryURL:  *repositoryURL,
		PackagesDir:    *packagesDir,
		User:           *user,
		Password:       *password,
		SkipExisting:   *skipExisting,
		VerifyMetadata: *verifyMetadata,
		PrintHash:      *printHash,
		Verbose:        *verbose,
		ServerURL:      getenv("GITHUB_SERVER_URL"),
		OIDC: func(ctx context.Context, audience string) (*idtoken.Token, error) {
			return idtoken.Get(ctx, audience, idtoken.Options{Explicit: *identityToken, Getenv: getenv})
		},
		GitHubActions: getenv("GITHUB_ACTIONS") == "true",
		Out:           stdout,
		Log:           stderr,
	}
	switch {
	case !set["attestations"]:
		opts.Attestations = publish.AttestationsDefault
	case *attestations:
		opts.Attestations = publish.AttestationsOn
	default:
		opts.Attestations = publish.AttestationsOff
	}
	if *trustedRoot != "" {
		tr, err := root.NewTrustedRootFromPath(*trustedRoot)
		if err != nil {
			return fmt.Errorf("loading trusted root %s: %w", *trustedRoot, err)
		}
		opts.TrustedRoot = tr
	}
	if *certIdentity != "" {
		opts.Identity = &verification.Identity{SAN: *certIdentity, Issuer: *certIssuer}
	}
	rep, err := publish.Run(ctx, opts)
	if rep != nil {
		fmt.Fprintln(stdout)
		rep.Print(stdout)
	}
	return err
}
