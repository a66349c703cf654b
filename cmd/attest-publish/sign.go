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
	"github.com/attest-publish/attest-publish/internal/pypi"
	"github.com/attest-publish/attest-publish/internal/signing"
)

// signFlags are sign's flags; release registers them too.
type signFlags struct {
	packagesDir, outputDir, identityToken, signingConfig, trustedRoot, serverURL string
	instance                                                                     string
	rekorVersion                                                                 uint
	overwrite, verifyMetadata                                                    bool
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
	return nil
}

// options finds the dists and builds attest's options: token, trust and all.
func (f *signFlags) options(ctx context.Context, getenv func(string) string, log io.Writer) ([]*dists.Dist, attest.Options, error) {
	found, err := dists.Find(f.packagesDir)
	if err != nil {
		return nil, attest.Options{}, err
	}
	if f.verifyMetadata {
		warnings, err := pypi.CheckDists(found)
		for _, w := range warnings {
			fmt.Fprintf(log, "warning: %s\n", w)
		}
		if err != nil {
			return nil, attest.Options{}, err
		}
	}
	outputDir := f.outputDir
	if outputDir == "" {
		outputDir = f.packagesDir
	}
	tok, err := idtoken.Get(ctx, "sigstore", idtoken.Options{Explicit: f.identityToken, Getenv: getenv})
	if err != nil {
		return nil, attest.Options{}, err
	}
	var trust *signing.Trust
	if f.instance == "github" {
		trust, err = signing.LoadGitHubTrust(f.serverURL)
	} else {
		trust, err = signing.LoadTrust(f.signingConfig, f.trustedRoot)
	}
	if err != nil {
		return nil, attest.Options{}, err
	}
	return found, attest.Options{
		OutputDir:   outputDir,
		Overwrite:   f.overwrite,
		Trust:       trust,
		Select:      signing.SelectOptions{RekorVersion: uint32(f.rekorVersion)},
		Token:       tok,
		ServerURL:   f.serverURL,
		Concurrency: f.concurrency,
		Signing:     signing.Options{Timeout: f.timeout},
		Log:         log,
	}, nil
}

func runSign(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	_, _, err := signCommand(ctx, args, stdout, stderr, getenv)
	return err
}

// signCommand runs "attest-publish sign args" and returns its result and
// the Sigstore trust it signed with (action mode reuses both).
func signCommand(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (*attest.Result, *signing.Trust, error) {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf signFlags
	sf.register(fs, getenv, true)
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
		return nil, nil, parseError(err)
	}
	if fs.NArg() > 0 {
		return nil, nil, usageError{fmt.Sprintf("unexpected argument %q (dists are found in --packages-dir)", fs.Arg(0))}
	}
	if err := sf.check(); err != nil {
		return nil, nil, err
	}
	found, opts, err := sf.options(ctx, getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	res, err := attest.Run(ctx, found, opts)
	if err != nil {
		return nil, opts.Trust, err
	}
	printReport(stdout, res)
	return res, opts.Trust, nil
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Dist.Filename, dists.FormatSize(d.Dist.Size), d.Dist.SHA256Hex(), idx)
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

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r == '@' || r == '=' || r == '+' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
