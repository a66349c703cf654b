package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/attest-publish/attest-publish/internal/release"
)

// runRelease signs, verifies and publishes in one process: sign's stage
// exactly as "attest-publish sign" runs it, then publish's stage, which
// verifies every bundle and attestation against the trusted root signing
// used and the identity that signed before anything is uploaded.
func runRelease(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf signFlags
	var pf publishFlags
	sf.register(fs, getenv, false)
	pf.register(fs, true)
	format := fs.String("format", "text", "output: text or json (one JSON report on stdout)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: attest-publish release [flags]

Signs every wheel and sdist in the packages directory (as "attest-publish
sign" does, writing the outputs next to the dists), verifies them as a
consumer would, then publishes them (as "attest-publish publish" does) and
reads each file's provenance back from the index. Every bundle and
attestation is verified against the trusted root used for signing and the
identity that signed (or --certificate-identity/--certificate-oidc-issuer)
before the first upload. If signing fails nothing is published. --identity-token, when given, is used
for signing; trusted publishing uses it only if its aud is exactly the
index's audience, and otherwise takes a token for that audience from
$<AUDIENCE>_ID_TOKEN (such as $PYPI_ID_TOKEN) or GitHub Actions: a token is
sent only to the service it was issued for.

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
	if err := pf.check(); err != nil {
		return err
	}
	// The shared flags are sign's; the trusted root comes from signing's trust.
	pf.packagesDir, pf.identityToken, pf.verifyMetadata = sf.packagesDir, sf.identityToken, sf.verifyMetadata
	popts, err := pf.options(fs, getenv, commandsTo(*format, stdout, stderr))
	if err != nil {
		return err
	}
	popts.ServerURL = sf.serverURL
	gl, err := gitlabStoreOptions(sf.gitlabPackage, getenv)
	if err != nil {
		return err
	}
	h, err := newHandler(*format, stdout, stderr, getenv)
	if err != nil {
		return err
	}
	_, err = release.Run(ctx, release.Options{
		Mode:          release.ModeRelease,
		PackagesDir:   sf.packagesDir,
		Sign:          sf.signOptions(getenv),
		Publish:       popts,
		GitLabGeneric: gl,
	}, h)
	return err
}
