package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/attest"
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
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: attest-publish release [flags]

Signs every wheel and sdist in the packages directory (as "attest-publish
sign" does, writing the outputs next to the dists), then publishes them (as
"attest-publish publish" does). Before the first upload every bundle and
attestation is verified against the trusted root used for signing and the
identity that signed (or --certificate-identity/--certificate-oidc-issuer).
If signing fails nothing is published. --identity-token, when given, is used
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
	popts, err := pf.options(fs, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	popts.ServerURL = sf.serverURL
	actions := getenv("GITHUB_ACTIONS") == "true"

	var res *attest.Result
	var signOpts *attest.Options
	err = group(stdout, actions, "sign", func() error {
		found, aopts, err := sf.options(ctx, getenv, stderr)
		if err != nil {
			return err
		}
		signOpts = &aopts
		if res, err = attest.Run(ctx, found, aopts); err != nil {
			return err
		}
		printReport(stdout, res)
		return nil
	})
	if err != nil {
		return fmt.Errorf("signing failed, nothing published: %w", err)
	}
	popts.TrustedRoot = signOpts.Trust.TrustedRoot
	if popts.Identity == nil {
		id := res.Identity
		popts.Identity = &id
	}
	return group(stdout, actions, "publish", func() error {
		return runPublishStage(ctx, popts, stdout)
	})
}

// group wraps fn's output in a GitHub Actions log group when actions is set
// (the commands go to w's command writer, see actionio.CommandWriter).
func group(w io.Writer, actions bool, name string, fn func() error) error {
	if actions {
		cw := actionio.CommandWriter(w)
		fmt.Fprintf(cw, "::group::%s\n", actionio.Escape(name))
		defer fmt.Fprintln(cw, "::endgroup::")
	}
	return fn()
}
