package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/signing"
)

func runSign(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	packagesDir := fs.String("packages-dir", "dist", "directory holding the wheels and sdists (not searched recursively)")
	outputDir := fs.String("output-dir", "", "directory for provenance.sigstore.json (default: the packages directory)")
	identityToken := fs.String("identity-token", "", "OIDC identity token for Fulcio (default: $SIGSTORE_ID_TOKEN, else GitHub Actions' token with audience sigstore)")
	signingConfig := fs.String("signing-config", "", "Sigstore signing config JSON (with --trusted-root; default: public-good Sigstore over TUF)")
	trustedRoot := fs.String("trusted-root", "", "Sigstore trusted root JSON (with --signing-config)")
	rekorVersion := fs.Uint("rekor-version", 0, "transparency log API: 1, 2, or 0 for v1 when offered (PyPI needs v1)")
	overwrite := fs.Bool("overwrite", false, "replace existing output files")
	serverURL := fs.String("server-url", getenv("GITHUB_SERVER_URL"), "GitHub server URL for provenance (default https://github.com)")
	concurrency := fs.Int("concurrency", 32, "signatures in flight at once (they mostly wait on the log and TSA)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of each request to a Sigstore service")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: attest-publish sign [flags]

Signs every wheel and sdist in the packages directory with one ephemeral key
and one Fulcio certificate, and writes next to each dist:
  <dist>.sigstore.json        Sigstore bundle (message signature)
  <dist>.publish.attestation  PEP 740 publish/v1 attestation
  <dist>.slsa.attestation     PEP 740 attestation with SLSA v1 provenance
and provenance.sigstore.json, the release's SLSA v1 provenance bundle (what
actions/attest makes). Every output is verified before it is kept; on any
failure nothing is left behind.

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
	if *rekorVersion > 2 {
		return usageError{"--rekor-version must be 0, 1 or 2"}
	}
	found, err := dists.Find(*packagesDir)
	if err != nil {
		return err
	}
	if *outputDir == "" {
		*outputDir = *packagesDir
	}
	tok, err := idtoken.Get(ctx, "sigstore", idtoken.Options{Explicit: *identityToken, Getenv: getenv})
	if err != nil {
		return err
	}
	trust, err := signing.LoadTrust(*signingConfig, *trustedRoot)
	if err != nil {
		return err
	}
	res, err := attest.Run(ctx, found, attest.Options{
		OutputDir:   *outputDir,
		Overwrite:   *overwrite,
		Trust:       trust,
		Select:      signing.SelectOptions{RekorVersion: uint32(*rekorVersion)},
		Token:       tok,
		ServerURL:   *serverURL,
		Concurrency: *concurrency,
		Signing:     signing.Options{Timeout: *timeout},
		Log:         stderr,
	})
	if err != nil {
		return err
	}
	printReport(stdout, res)
	return nil
}

func printReport(w io.Writer, res *attest.Result) {
	first := res.Dists[0].Dist
	fmt.Fprintf(w, "Signed and verified %d distribution(s) of %s %s in %s: %d signatures on one certificate.\n",
		len(res.Dists), first.Parsed.CanonicalName(), first.Parsed.Version, res.Elapsed.Round(time.Millisecond), res.Signatures)
	fmt.Fprintf(w, "Signer: %s\n\n", res.Identity)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DIST\tSIZE\tSHA256\tLOG INDEX")
	for _, d := range res.Dists {
		idx := "-"
		if d.LogIndex >= 0 {
			idx = fmt.Sprint(d.LogIndex)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Dist.Filename, humanSize(d.Dist.Size), d.Dist.SHA256Hex(), idx)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nWrote:")
	for _, d := range res.Dists {
		for _, p := range []string{d.Bundle, d.PublishAttestation, d.SLSAAttestation} {
			if p != "" {
				fmt.Fprintf(w, "  %s\n", p)
			}
		}
	}
	if res.Provenance != "" {
		fmt.Fprintf(w, "  %s\n", res.Provenance)
	}
	for _, warn := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	d := res.Dists[0]
	fmt.Fprintf(w, "\nA consumer can check a file with:\n  cosign verify-blob %s --bundle %s --certificate-identity %s --certificate-oidc-issuer %s\n",
		shellQuote(filepath.Base(d.Dist.Path)), shellQuote(filepath.Base(d.Bundle)), shellQuote(res.Identity.SAN), shellQuote(res.Identity.Issuer))
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r == '@' || r == '=' || r == '+' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
