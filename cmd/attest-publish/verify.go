package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/attest-publish/attest-publish/internal/ghinstance"
	"github.com/attest-publish/attest-publish/internal/release"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// verifyNow is the clock the embedded root's staleness is judged by.
var verifyNow = time.Now

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f verifyFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: attest-publish verify [flags] FILE_OR_DIGEST_OR_DIR...
       attest-publish verify --from-github OWNER/REPO [flags] FILE_OR_DIGEST_OR_DIR...
       attest-publish verify --from-index URL [flags] NAME==VERSION...
       attest-publish verify --from-gitlab-generic URL [flags] FILE_OR_DIR...

Verifies each artifact against every --bundle and --attestation given:
Sigstore cryptography (log entry, signed time, certificate chain, SCTs,
signature, artifact digest or in-toto subject), the signer policy, SLSA
provenance (which must always agree with the signing certificate), and the
PEP 740 rules (exactly one subject naming the dist). Exit status 0 only if
every artifact verifies; one verdict line per artifact names the failed check.

FILE_OR_DIGEST is a digest only when it is sha256:<64 hex> or
sha512:<128 hex> and no such file exists (for DSSE bundles it names the
in-toto subject; PEP 740 subjects need sha256). A directory verifies every
dist in it (*.whl, *.tar.gz, *.zip; one release) against the material next
to it: <dist>.sigstore.json, <dist>.publish.attestation and
<dist>.slsa.attestation, each of which must satisfy the policy; a dist with
none fails. A detached pair next to a dist (<dist>.sig and <dist>.crt,
cosign sign-blob's --output-signature and --output-certificate) must be the
signature and certificate of <dist>.sigstore.json, which gives it its log
entry and time; --signature and --certificate do the same for a file
argument, with one --bundle. A lone pair is refused: it carries no time,
and verify looks nothing up online. --bundle and --attestation apply to the file and digest
arguments only. Artifacts are verified concurrently, one verdict each.

Trust: --trusted-root FILE; otherwise the public-good trusted root embedded
in this binary (a dated snapshot: a warning goes to stderr when it is older
than 183 days or when none of its logs or CAs of a kind is still valid),
or staging's with --staging (ignored when --trusted-root is given, so the
file is the only trust anchor). --tuf fetches the current root (public-good or
--staging) with sigstore-go's TUF client instead; apart from --github-instance
and the fetching flags below, nothing else uses the
network.

Regular expressions are anchored: the whole value must match. Keyless
verification needs one identity flag and one issuer flag; --key replaces
them. --repository https://github.com/OWNER/REPO (or
https://gitlab.com/GROUP/PROJECT) replaces all of them: any workflow of
that repository on its host's issuer, and it as the PEP 740 publisher, as
PyPI checks it; --signer-workflow and --publisher-workflow narrow it.

Fetching (network only with these flags): --from-github OWNER/REPO lists
each artifact's attestations by sha256 in the GitHub attestations API
(anonymous for public repositories, $GITHUB_TOKEN otherwise; --limit,
--github-api-url; inline bundles, or the snappy-compressed bundle_url
fetched without the token) and any bundle satisfying the policy counts; the
predicate type defaults to https://slsa.dev/provenance/v1. --from-index URL
takes NAME==VERSION arguments: every file of that release on the index
(PEP 691 JSON or PEP 503 simple API) is downloaded and hashed, and its PyPI
Integrity API provenance must satisfy the policy; one verdict per file, and
a file without provenance fails. --from-gitlab-generic URL fetches each
dist's material by name from a GitLab generic package (what
--gitlab-generic-package stored), as a directory's is read.

GitHub's own Sigstore instance (attestations of private repositories:
certificates issued by "GitHub, Inc.", RFC 3161 time, no log) is picked by
the certificate's issuer, as gh does: its trusted root comes from a
--trusted-root JSONL file holding several roots (what "gh attestation
trusted-root" prints) or, with --github-instance, over TUF from
tuf-repo.github.com. Such a bundle needs a signed timestamp.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() == 0 {
		return usageError{"name at least one FILE_OR_DIGEST or directory"}
	}
	h, err := newHandler(f.format, stdout, stderr, func(string) string { return "" })
	if err != nil {
		return err
	}
	vo, err := f.verifyOptions(fs.Args(), os.Getenv)
	if err != nil {
		return err
	}
	gl, err := f.storeOptions(fs.Args(), os.Getenv)
	if err != nil {
		return err
	}
	_, err = release.Run(ctx, release.Options{Mode: release.ModeVerify, Verify: vo, GitLabGeneric: gl}, h)
	return err
}

// verifyOptions turns the flags and arguments into the pipeline's verify
// options, refusing incomplete or contradictory combinations.
func (f *verifyFlags) verifyOptions(args []string, getenv func(string) string) (release.VerifyOptions, error) {
	if f.trustedRoot != "" && f.tuf {
		return release.VerifyOptions{}, usageError{"--trusted-root and --tuf are exclusive: give a file or fetch one"}
	}
	if f.gitlab.fromGitLab != "" {
		return f.gitlabFetchOptions(args, getenv)
	}
	if f.fetch.active() {
		if f.gitlab.signature != "" || f.gitlab.certificate != "" {
			return release.VerifyOptions{}, usageError{"--signature and --certificate cannot be combined with --from-github or --from-index, which fetch the material"}
		}
		return f.fetchOptions(args, getenv)
	}
	var pair release.VerifyOptions
	if err := f.detachedOptions(&pair); err != nil {
		return pair, err
	}
	dirs := 0
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			dirs++
		}
	}
	if dirs < len(args) && len(f.bundles)+len(f.attestations) == 0 {
		return release.VerifyOptions{}, usageError{"give --bundle or --attestation (or name a directory of dists with their .sigstore.json / .publish.attestation next to them)"}
	}
	policy, err := f.policy()
	if err != nil {
		return release.VerifyOptions{}, err
	}
	o := release.VerifyOptions{
		Targets:          args,
		Bundles:          f.bundles,
		Attestations:     f.attestations,
		DistributionName: f.distributionName,
		Policy:           policy,
		Trust:            f.loadTrust,
		Signature:        pair.Signature,
		Certificate:      pair.Certificate,
	}
	return o, nil
}

// loadTrust picks the trust: the --trusted-root file, the TUF root when
// --tuf asks, or the embedded snapshot (with its staleness warnings).
func (f *verifyFlags) loadTrust(warn func(string)) (*verification.Trust, error) {
	trust, err := f.loadMainTrust(warn)
	if err != nil || !f.githubInstance || trust.HasGitHub() {
		return trust, err
	}
	tr, err := ghinstance.FetchTrustedRoot()
	if err != nil {
		return nil, err
	}
	trust.AddGitHub(tr)
	return trust, nil
}

// loadMainTrust loads the trust named by --trusted-root, --tuf or --staging.
func (f *verifyFlags) loadMainTrust(warn func(string)) (*verification.Trust, error) {
	switch {
	case f.trustedRoot != "":
		return verification.LoadTrust(f.trustedRoot, f.key)
	case f.tuf:
		return verification.LoadTUFTrust(f.staging, f.key)
	}
	er := verification.PublicGood
	if f.staging {
		er = verification.Staging
	}
	trust, warnings, err := verification.LoadEmbeddedTrust(er, f.key, verifyNow())
	for _, w := range warnings {
		warn(w)
	}
	return trust, err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
