package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/attest-publish/attest-publish/internal/ghinstance"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// errNotVerified is returned when some artifact failed; the verdicts have
// already been printed.
var errNotVerified = errors.New("verification failed")

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
none fails. --bundle and --attestation apply to the file and digest
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
them.

Fetching (network only with these flags): --from-github OWNER/REPO lists
each artifact's attestations by sha256 in the GitHub attestations API
(anonymous for public repositories, $GITHUB_TOKEN otherwise; --limit,
--github-api-url; inline bundles, or the snappy-compressed bundle_url
fetched without the token) and any bundle satisfying the policy counts; the
predicate type defaults to https://slsa.dev/provenance/v1. --from-index URL
takes NAME==VERSION arguments: every file of that release on the index
(PEP 691 JSON or PEP 503 simple API) is downloaded and hashed, and its PyPI
Integrity API provenance must satisfy the policy; one verdict per file, and
a file without provenance fails.

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
	if f.format != "text" && f.format != "json" {
		return usageError{"--format must be text or json"}
	}
	if f.trustedRoot != "" && f.tuf {
		return usageError{"--trusted-root and --tuf are exclusive: give a file or fetch one"}
	}
	if f.fetch.active() {
		return runVerifyFetch(ctx, &f, fs.Args(), stdout, stderr)
	}
	dirs := map[string]bool{}
	for _, a := range fs.Args() {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			dirs[a] = true
		}
	}
	if len(dirs) < fs.NArg() && len(f.bundles)+len(f.attestations) == 0 {
		return usageError{"give --bundle or --attestation (or name a directory of dists with their .sigstore.json / .publish.attestation next to them)"}
	}
	policy, err := f.policy()
	if err != nil {
		return err
	}
	trust, err := f.loadTrust(stderr)
	if err != nil {
		results := make([]verification.Result, 0, fs.NArg())
		for _, a := range fs.Args() {
			results = append(results, failed(a, verification.CheckTrustedRoot, err))
		}
		return report(f.format, results, stdout)
	}
	checker, err := verification.NewChecker(trust, policy)
	if err != nil {
		return usageError{err.Error()}
	}
	var sets []*verification.MaterialSet
	var loadErr error
	if len(dirs) < fs.NArg() {
		sets, loadErr = verification.LoadMaterial(f.bundles, f.attestations)
	}
	// One job per artifact: file and digest arguments with the global
	// material, each dist of a directory with its own.
	var jobs []func() verification.Result
	for _, arg := range fs.Args() {
		switch {
		case dirs[arg]:
			items, err := verification.FindBatch(arg)
			if err != nil {
				jobs = append(jobs, func() verification.Result {
					return failed(arg, verification.CheckMaterial, fmt.Errorf("directory: %w", err))
				})
				continue
			}
			for _, it := range items {
				jobs = append(jobs, func() verification.Result { return checker.VerifyItem(it) })
			}
		case loadErr != nil:
			jobs = append(jobs, func() verification.Result { return failed(arg, verification.CheckMaterial, loadErr) })
		default:
			jobs = append(jobs, func() verification.Result {
				a, err := artifactArg(arg, f.distributionName)
				if err != nil {
					return failed(arg, verification.CheckMaterial, err)
				}
				return checker.Verify(a, sets)
			})
		}
	}
	results := verification.RunConcurrently(len(jobs), 0, func(i int) verification.Result { return jobs[i]() })
	return report(f.format, results, stdout)
}

// loadTrust picks the trust: the --trusted-root file, the TUF root when
// --tuf asks, or the embedded snapshot (with its staleness warnings).
func (f *verifyFlags) loadTrust(stderr io.Writer) (*verification.Trust, error) {
	trust, err := f.loadMainTrust(stderr)
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
func (f *verifyFlags) loadMainTrust(stderr io.Writer) (*verification.Trust, error) {
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
		fmt.Fprintln(stderr, "warning:", w)
	}
	return trust, err
}

// artifactArg reads FILE_OR_DIGEST: a digest only when it looks like one and
// no such file exists.
func artifactArg(arg, distName string) (verification.Artifact, error) {
	if verification.IsDigestArg(arg) {
		if _, err := os.Stat(arg); err != nil {
			return verification.ArtifactFromDigest(arg, distName)
		}
	}
	a, err := verification.ArtifactFromFile(arg)
	if err != nil {
		return a, err
	}
	if distName != "" {
		a.Filename = distName
	}
	return a, nil
}

func failed(artifact, check string, err error) verification.Result {
	return verification.Result{Artifact: artifact, FailedCheck: check, Error: err.Error(), Checks: []string{}}
}

// report prints the verdicts and returns errNotVerified when any failed.
func report(format string, results []verification.Result, w io.Writer) error {
	ok := true
	for _, r := range results {
		ok = ok && r.Verified
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return fmt.Errorf("writing results: %w", err)
		}
	} else {
		for _, r := range results {
			if r.Verified {
				fmt.Fprintf(w, "OK   %s: signed by %s (issuer %s); checks: %s\n", r.Artifact, r.Signer, orDash(r.Issuer), strings.Join(r.Checks, ", "))
			} else {
				fmt.Fprintf(w, "FAIL %s: %s check failed: %s\n", r.Artifact, r.FailedCheck, oneLine(r.Error))
			}
			for _, warning := range r.Warnings {
				fmt.Fprintf(w, "     warning: %s\n", oneLine(warning))
			}
			// Each object of a JSONL file (or provenance object) that did
			// not verify, also when another one satisfied the policy.
			for _, it := range r.Items {
				if it.Verified {
					continue
				}
				note := ""
				if r.Verified {
					note = " (ignored: another object of the file satisfied the policy)"
				}
				fmt.Fprintf(w, "     %s: %s check failed: %s%s\n", it.Source, it.FailedCheck, oneLine(it.Error), note)
			}
		}
	}
	if !ok {
		return errNotVerified
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
