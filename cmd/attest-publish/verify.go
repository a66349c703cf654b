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

	"github.com/attest-publish/attest-publish/internal/verification"
)

// errNotVerified is returned when some artifact failed; the verdicts have
// already been printed.
var errNotVerified = errors.New("verification failed")

func runVerify(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f verifyFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: attest-publish verify [flags] FILE_OR_DIGEST...

Verifies each artifact against every --bundle and --attestation given:
Sigstore cryptography (log entry, signed time, certificate chain, SCTs,
signature, artifact digest or in-toto subject), the signer policy, SLSA
provenance (which must always agree with the signing certificate), and the
PEP 740 rules (exactly one subject naming the dist). Exit status 0 only if
every artifact verifies; one verdict line per artifact names the failed check.

FILE_OR_DIGEST is a digest only when it is sha256:<64 hex> and no such file
exists. Regular expressions are anchored: the whole value must match.
Keyless verification needs one identity flag and one issuer flag; --key
replaces them.

Not yet: the embedded public-good trusted root, TUF, fetching from the GitHub
attestations API or a PyPI Integrity API, and batch directories — for now
--trusted-root is required.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() == 0 {
		return usageError{"name at least one FILE_OR_DIGEST"}
	}
	if f.format != "text" && f.format != "json" {
		return usageError{"--format must be text or json"}
	}
	if f.trustedRoot == "" {
		return usageError{"--trusted-root is required (the embedded public-good root and TUF are not built yet)"}
	}
	if len(f.bundles)+len(f.attestations) == 0 {
		return usageError{"give --bundle or --attestation"}
	}
	policy, err := f.policy()
	if err != nil {
		return err
	}
	results := make([]verification.Result, 0, fs.NArg())
	trust, err := verification.LoadTrust(f.trustedRoot, f.key)
	if err != nil {
		for _, a := range fs.Args() {
			results = append(results, failed(a, verification.CheckTrustedRoot, err))
		}
		return report(f.format, results, stdout)
	}
	checker, err := verification.NewChecker(trust, policy)
	if err != nil {
		return usageError{err.Error()}
	}
	sets, loadErr := loadMaterial(f.bundles, f.attestations)
	for _, arg := range fs.Args() {
		if loadErr != nil {
			results = append(results, failed(arg, verification.CheckMaterial, loadErr))
			continue
		}
		a, err := artifactArg(arg, f.distributionName)
		if err != nil {
			results = append(results, failed(arg, verification.CheckMaterial, err))
			continue
		}
		results = append(results, checker.Verify(a, sets))
	}
	return report(f.format, results, stdout)
}

// loadMaterial reads every bundle and attestation file.
func loadMaterial(bundles, attestations []string) ([]*verification.MaterialSet, error) {
	var sets []*verification.MaterialSet
	for _, p := range bundles {
		s, err := verification.LoadBundles(p)
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		sets = append(sets, s)
	}
	for _, p := range attestations {
		s, err := verification.LoadAttestations(p)
		if err != nil {
			return nil, fmt.Errorf("attestation: %w", err)
		}
		sets = append(sets, s)
	}
	return sets, nil
}

// artifactArg reads FILE_OR_DIGEST: a digest only when it looks like one and
// no such file exists.
func artifactArg(arg, distName string) (verification.Artifact, error) {
	if strings.HasPrefix(arg, "sha256:") {
		if _, err := os.Stat(arg); err != nil {
			d, err := verification.ParseDigest(arg)
			if err != nil {
				return verification.Artifact{}, err
			}
			return verification.Artifact{Name: arg, SHA256: d, Filename: distName}, nil
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
