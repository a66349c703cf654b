package verification

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// Names of the checks a verification runs, as reported in results and
// verdicts. A failure always names exactly one of them.
const (
	// CheckMaterial is reading the bundle or attestation.
	CheckMaterial = "material"
	// CheckTrustedRoot is loading the trusted root or the public key.
	CheckTrustedRoot = "trusted-root"
	// CheckSignature is sigstore-go's verification: log inclusion, signed
	// time, certificate chain, SCTs, signature and the artifact digest.
	CheckSignature = "signature"
	// CheckIdentity is the certificate's subject alternative name.
	CheckIdentity = "identity"
	// CheckIssuer is the certificate's OIDC issuer.
	CheckIssuer = "issuer"
	// CheckExtensions is the certificate's Fulcio extensions.
	CheckExtensions = "certificate-extensions"
	// CheckSignerWorkflow is the workflow that signed (Build Signer URI).
	CheckSignerWorkflow = "signer-workflow"
	// CheckPredicateType is the in-toto predicate type.
	CheckPredicateType = "predicate-type"
	// CheckSubject is the in-toto subject naming the artifact.
	CheckSubject = "subject"
	// CheckProvenanceConsistency is SLSA provenance agreeing with the
	// certificate that signed it.
	CheckProvenanceConsistency = "provenance-consistency"
	// CheckBuilderID is the SLSA builder id.
	CheckBuilderID = "builder-id"
	// CheckSource is the SLSA source URI, branch and tag.
	CheckSource = "source"
	// CheckPublisher is the PEP 740 trusted publisher.
	CheckPublisher = "publisher"
	// CheckPackage is the package name and version the in-toto subject
	// names (npm package URL or Python dist filename).
	CheckPackage = "package"
)

// Result is the outcome of verifying one artifact.
type Result struct {
	// Artifact is the artifact as given.
	Artifact string `json:"artifact"`
	// SHA256 is the hex SHA-256 of the bytes the verdict is about: the
	// local file as it was hashed, the download, or the digest given.
	// Empty when the artifact was never hashed (it could not be read or
	// fetched). Report this digest, never a re-hash of a path of the same
	// name.
	SHA256 string `json:"sha256,omitempty"`
	// Size is the number of bytes hashed into SHA256 (absent for a digest
	// given without its file).
	Size *int64 `json:"size,omitempty"`
	// Verified is the verdict.
	Verified bool `json:"verified"`
	// FailedCheck names the check that failed (one of the Check constants).
	FailedCheck string `json:"failed_check,omitempty"`
	// Error says why.
	Error string `json:"error,omitempty"`
	// Checks are the checks that passed, in order.
	Checks []string `json:"checks"`
	// Material names the bundle or attestation that satisfied the policy.
	Material []string `json:"material,omitempty"`
	// Signer is the certificate's SAN (or the key's hint).
	Signer string `json:"signer,omitempty"`
	// Issuer is the certificate's OIDC issuer.
	Issuer string `json:"issuer,omitempty"`
	// Extensions are the certificate's Fulcio extensions.
	Extensions *certificate.Extensions `json:"extensions,omitempty"`
	// LogIndex is the first transparency-log entry's index.
	LogIndex *int64 `json:"log_index,omitempty"`
	// PredicateType is the in-toto predicate type, for DSSE bundles.
	PredicateType string `json:"predicate_type,omitempty"`
	// Items is the outcome of every object of each material file that
	// holds several, or is JSON Lines: one per line of a JSONL bundle file,
	// per attestation of a provenance object. Any one of a file's objects
	// satisfying the policy is enough, but every one is reported.
	Items []ItemResult `json:"items,omitempty"`
	// Warnings are what the verification ignored without failing, such
	// as an RFC 3161 timestamp that did not verify next to one that did.
	Warnings []string `json:"warnings,omitempty"`
}

// ItemResult is the outcome of one object of a material file.
type ItemResult struct {
	// Source names the object: file, line or attestation index.
	Source string `json:"source"`
	// Line is the JSON Lines line number, or 0.
	Line int `json:"line,omitempty"`
	// Verified says whether the object satisfied the whole policy.
	Verified bool `json:"verified"`
	// FailedCheck names the check that failed (one of the Check constants).
	FailedCheck string `json:"failed_check,omitempty"`
	// Error says why.
	Error string `json:"error,omitempty"`
}

// CheckError is a failed check.
type CheckError struct {
	// Check is the name of the check that failed.
	Check string
	// Err is why.
	Err error
}

// Error names the failed check, then why it failed.
func (e *CheckError) Error() string { return e.Check + ": " + e.Err.Error() }

// Unwrap returns why the check failed.
func (e *CheckError) Unwrap() error { return e.Err }

// fail is a failure of check, saying why as fmt.Errorf would.
func fail(check string, format string, args ...any) *CheckError {
	return &CheckError{Check: check, Err: fmt.Errorf(format, args...)}
}

// FailedResult is the verdict that a failed check, with a's digest and size
// when it was hashed (a download that then failed its provenance fetch).
func FailedResult(a Artifact, check string, err error) Result {
	res := resultFor(a)
	res.FailedCheck, res.Error = check, err.Error()
	return res
}

// resultFor starts the verdict about a: its name, and the digest and size
// of the bytes hashed.
func resultFor(a Artifact) Result {
	res := Result{Artifact: a.Name, Checks: []string{}, Size: a.Size}
	if a.SHA256 != nil {
		res.SHA256 = hex.EncodeToString(a.SHA256)
	}
	return res
}

// checkOf splits a verification error into the failed check's name and
// the message.
func checkOf(err error) (check, msg string) {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Check, ce.Err.Error()
	}
	return CheckMaterial, err.Error()
}

// lineOf is the JSON Lines line number an object was read from (as
// LoadBundles names it: "<path> line <n>"), or 0.
func lineOf(set *MaterialSet, m Material) int {
	rest, ok := strings.CutPrefix(m.Source, set.Path+" line ")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// itemResult is what the checks found about one object of a material
// file, before it becomes an ItemResult or the artifact's Result.
type itemResult struct {
	source string
	checks []string
	err    error
	sum    *certificate.Summary
	keyID  string
	logIdx *int64
	ptype  string
	// warnings are what the checks ignored without failing (see
	// timestampWarnings).
	warnings []string
}

// fill copies what the object's checks found into the artifact's verdict.
func (ir *itemResult) fill(res *Result) {
	res.Checks = append([]string{}, ir.checks...)
	res.PredicateType = ir.ptype
	res.LogIndex = ir.logIdx
	res.Warnings = append(res.Warnings, ir.warnings...)
	if ir.sum != nil {
		res.Signer = ir.sum.SubjectAlternativeName
		res.Issuer = ir.sum.Issuer
		ext := ir.sum.Extensions
		res.Extensions = &ext
	} else if ir.keyID != "" {
		res.Signer = "key " + ir.keyID
	}
}

// pass records that check passed.
func (ir *itemResult) pass(check string) { ir.checks = append(ir.checks, check) }
