package verification

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Trust is what signatures are verified against: a trusted root, and
// optionally a public key that replaces the certificate identity.
type Trust struct {
	material root.TrustedMaterial
	keyed    bool
	hasTlogs bool
	hasCT    bool

	// github is GitHub's own instance's trust, for certificates GitHub
	// issued (see github.go); isGitHub marks that trust itself, and
	// githubOnly a trust whose only root is GitHub's.
	github     *Trust
	isGitHub   bool
	githubOnly bool
}

// LoadTrust reads a Sigstore trusted root JSON file and, when keyPath is not
// empty, a PEM public key (PKIX "PUBLIC KEY", as cosign generate-key-pair
// writes it) that bundles must be signed with.
//
// The file may also be JSONL with one trusted root per line, as `gh
// attestation trusted-root` prints: GitHub's own instance's root then
// verifies the certificates GitHub issued, the other root the rest.
func LoadTrust(trustedRootPath, keyPath string) (*Trust, error) {
	roots, err := loadRoots(trustedRootPath)
	if err != nil {
		return nil, fmt.Errorf("loading trusted root %s: %w", trustedRootPath, err)
	}
	return trustFromRoots(trustedRootPath, roots, keyPath)
}

// newTrust adds the optional public key to a parsed trusted root.
func newTrust(tr *root.TrustedRoot, keyPath string) (*Trust, error) {
	t := &Trust{material: tr, hasTlogs: len(tr.RekorLogs()) > 0, hasCT: len(tr.CTLogs()) > 0}
	if keyPath == "" {
		return t, nil
	}
	pemBytes, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("parsing public key %s: %w", keyPath, err)
	}
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", keyPath, err)
	}
	key := root.NewExpiringKey(sv, timeZero, timeZero)
	t.material = root.TrustedMaterialCollection{tr, root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return key, nil
	})}
	t.keyed = true
	return t, nil
}

// Keyed reports whether bundles must be signed with the given public key.
func (t *Trust) Keyed() bool { return t.keyed }

// Artifact is what a signature must be over: a file, or only its digest.
type Artifact struct {
	// Name is how the artifact was given (path or sha256:…).
	Name string
	// Path is the file, or "" when only the digest is known.
	Path string
	// SHA256 is the artifact's digest.
	SHA256 []byte
	// SHA512 is set when the file is at hand (npm subjects use sha512).
	SHA512 []byte
	// Filename is the dist filename PEP 740 subjects are checked against:
	// the file's base name, or given explicitly for a digest.
	Filename string
	// Size is the number of bytes hashed into SHA256 (the file read, or
	// the download), nil when only the digest is known.
	Size *int64
}

// SizeOf returns a pointer to n, for Artifact.Size.
func SizeOf(n int64) *int64 { return &n }

// ArtifactFromFile hashes a file.
func ArtifactFromFile(path string) (Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return Artifact{}, fmt.Errorf("opening artifact: %w", err)
	}
	defer f.Close()
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(h256, h512), f)
	if err != nil {
		return Artifact{}, fmt.Errorf("hashing %s: %w", path, err)
	}
	return Artifact{Name: path, Path: path, SHA256: h256.Sum(nil), SHA512: h512.Sum(nil), Filename: filepath.Base(path), Size: SizeOf(n)}, nil
}

// ParseDigest parses "sha256:<64 hex>".
func ParseDigest(s string) ([]byte, error) {
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		return nil, fmt.Errorf("digest %q: want sha256:<64 hex characters>", s)
	}
	if len(hexPart) != 64 {
		return nil, fmt.Errorf("digest %q: want 64 hex characters after sha256:, got %d", s, len(hexPart))
	}
	d, err := hex.DecodeString(strings.ToLower(hexPart))
	if err != nil {
		return nil, fmt.Errorf("digest %q: %w", s, err)
	}
	return d, nil
}

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

func (e *CheckError) Error() string { return e.Check + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

func fail(check string, format string, args ...any) *CheckError {
	return &CheckError{Check: check, Err: fmt.Errorf(format, args...)}
}

// Checker verifies artifacts against one trust and one policy. It is safe
// for concurrent use and keeps its sigstore-go verifiers across artifacts.
type Checker struct {
	trust  *Trust
	policy Policy
	// github checks certificates GitHub's own instance issued, with its
	// trust and the same policy (nil when that trust is not loaded).
	github *Checker

	mu        sync.Mutex
	verifiers map[verifierKey]*verify.Verifier
	// sctChecked holds the SHA-256 of each leaf certificate whose SCTs have
	// verified in a full verification: a release's bundles share one
	// certificate, and its SCTs verify the same way every time (they
	// depend only on the certificate, its issuer's key and the trusted
	// root's CT logs), so later bundles skip that step.
	sctChecked sync.Map
}

type verifierKey struct {
	tlog, sct bool
}

// NewChecker validates the policy and returns a checker.
func NewChecker(trust *Trust, policy Policy) (*Checker, error) {
	if err := policy.Validate(trust.keyed); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	c := &Checker{trust: trust, policy: policy, verifiers: map[verifierKey]*verify.Verifier{}}
	if trust.github != nil {
		c.github = &Checker{trust: trust.github, policy: policy, verifiers: map[verifierKey]*verify.Verifier{}}
	}
	return c, nil
}

// verifierFor returns a verifier asking for what this bundle carries, the
// way gh and cosign do with a custom trusted root: an SCT whenever the root
// has CT logs (keyless only), a verified log entry whenever the root has
// logs (cosign's default; a bundle without one fails), and one observer
// timestamp (a verified RFC 3161 timestamp, or a Rekor v1 entry's
// integrated time), as sigstore-go and sigstore-python require: a
// timestamp that does not verify is left out of the count, not a failure
// (see timestampWarnings). A higher threshold is checked on the result
// (checkTimestampThreshold).
//
// withSCT false leaves the SCT out, for a certificate whose SCTs have
// already verified (see sctChecked).
func (c *Checker) verifierFor(withSCT bool) (*verify.Verifier, error) {
	k := verifierKey{tlog: c.trust.hasTlogs, sct: withSCT && c.trust.hasCT && !c.trust.keyed}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.verifiers[k]; ok {
		return v, nil
	}
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if k.sct {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	if k.tlog {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	v, err := verify.NewVerifier(c.trust.material, opts...)
	if err != nil {
		return nil, fmt.Errorf("building verifier: %w", err)
	}
	c.verifiers[k] = v
	return v, nil
}

// sctKnown returns the key of the bundle's leaf certificate in sctChecked
// (nil when it has none) and whether its SCTs have already verified.
func (c *Checker) sctKnown(entity *parsedEntity) (*[sha256.Size]byte, bool) {
	vc, err := entity.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return nil, false
	}
	k := sha256.Sum256(vc.Certificate().Raw)
	_, ok := c.sctChecked.Load(k)
	return &k, ok
}

// checkTimestampThreshold applies a threshold above one: that many
// distinct RFC 3161 timestamps (one per authority; sigstore-go counts a
// second one from the same authority once) must have verified, the rule
// of sigstore-go's WithSignedTimestamps. A log's integrated time does not
// stand in for them: raising the threshold asks for independent
// timestamp authorities.
func (c *Checker) checkTimestampThreshold(vr *verify.VerificationResult) error {
	want := c.policy.timestampThreshold()
	if want <= 1 {
		return nil
	}
	verified := verifiedAuthorities(vr)
	if verified < want {
		return fmt.Errorf("threshold not met for verified RFC 3161 timestamps: %d < %d (distinct timestamp authorities)", verified, want)
	}
	return nil
}

// verifiedAuthorities counts the RFC 3161 timestamps that verified (one
// per authority: sigstore-go drops a second one from the same authority).
func verifiedAuthorities(vr *verify.VerificationResult) int {
	n := 0
	for _, t := range vr.VerifiedTimestamps {
		if t.Type == "TimestampAuthority" {
			n++
		}
	}
	return n
}

// timestampWarnings names the bundle's RFC 3161 timestamps that did not
// count towards the threshold: ones that did not verify (wrong authority,
// wrong signature, outside the authority's validity) and repeats from one
// authority. The verdict already stands; this only says what was ignored.
// The timestamps are verified once more only in that rare case, to name
// the reason.
func (c *Checker) timestampWarnings(entity *parsedEntity, vr *verify.VerificationResult) []string {
	ts, err := entity.Timestamps()
	if err != nil || len(ts) == 0 {
		return nil
	}
	verified := verifiedAuthorities(vr)
	if verified >= len(ts) {
		return nil
	}
	_, errs, err := verify.VerifySignedTimestamp(entity, c.trust.material)
	if err != nil {
		return []string{fmt.Sprintf("RFC 3161 timestamps not checked: %v", err)}
	}
	warnings := make([]string, 0, len(errs))
	for _, e := range errs {
		warnings = append(warnings, fmt.Sprintf("an RFC 3161 timestamp was ignored (%d of %d counted): %v", verified, len(ts), e))
	}
	if len(warnings) == 0 {
		warnings = append(warnings, fmt.Sprintf("%d of %d RFC 3161 timestamps counted", verified, len(ts)))
	}
	return warnings
}

// Verify checks an artifact against every material set: each set must hold
// at least one object that satisfies the whole policy. It never panics on
// bad input.
func (c *Checker) Verify(a Artifact, sets []*MaterialSet) (res Result) {
	res = resultFor(a)
	defer func() {
		if r := recover(); r != nil {
			res.Verified = false
			res.FailedCheck = CheckMaterial
			res.Error = fmt.Sprintf("malformed input: %v", r)
		}
	}()
	if len(sets) == 0 {
		res.FailedCheck, res.Error = CheckMaterial, "no bundle or attestation given"
		return res
	}
	for i, set := range sets {
		// Every object of the set is verified, so that each one's outcome
		// can be reported (a bad JSONL line next to good ones is named);
		// the first that satisfies the policy decides the set.
		listed := len(set.Items) > 1
		var best *itemResult
		for _, m := range set.Items {
			ir := c.verifyItem(a, m)
			line := lineOf(set, m)
			if listed || line > 0 {
				out := ItemResult{Source: m.Source, Line: line, Verified: ir.err == nil}
				if ir.err != nil {
					out.FailedCheck, out.Error = checkOf(ir.err)
				}
				res.Items = append(res.Items, out)
			}
			switch {
			case best == nil:
				best = ir
			case best.err == nil:
			case ir.err == nil || len(ir.checks) >= len(best.checks):
				best = ir
			}
		}
		if best == nil {
			res.FailedCheck, res.Error = CheckMaterial, set.Path+": holds nothing to verify"
			return res
		}
		if i == 0 || best.err != nil {
			best.fill(&res)
		} else {
			res.Warnings = append(res.Warnings, best.warnings...)
		}
		if best.err != nil {
			check, msg := checkOf(best.err)
			res.FailedCheck, res.Error = check, best.source+": "+msg
			return res
		}
		res.Material = append(res.Material, best.source)
	}
	res.Verified = true
	return res
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

func (ir *itemResult) pass(check string) { ir.checks = append(ir.checks, check) }

func (c *Checker) verifyItem(a Artifact, m Material) *itemResult {
	ir := &itemResult{source: m.Source}
	// Read from the protobuf: parsing the entry (TlogEntries) would verify
	// its body's signature once more just to report the index.
	if entries := m.Bundle.GetVerificationMaterial().GetTlogEntries(); len(entries) > 0 {
		idx := entries[0].GetLogIndex()
		ir.logIdx = &idx
	}
	ir.err = c.runChecks(a, m, ir)
	return ir
}

// parsedEntity is a bundle whose parsed parts are computed once per
// verification. sigstore-go asks a SignedEntity for them several times
// (the certificate twice, the log entries once more after the bundle's own
// validation), and parsing a Rekor v1 entry checks its body again,
// signature included. Everything else is the bundle's.
type parsedEntity struct {
	*bundle.Bundle

	entries   []*tlog.Entry
	entryErr  error
	entryDone bool
	vc        verify.VerificationContent
	vcErr     error
	vcDone    bool
	sc        verify.SignatureContent
	scErr     error
	scDone    bool
}

// TlogEntries returns the bundle's parsed log entries, parsed once.
func (p *parsedEntity) TlogEntries() ([]*tlog.Entry, error) {
	if !p.entryDone {
		p.entries, p.entryErr = p.Bundle.TlogEntries()
		p.entryDone = true
	}
	return p.entries, p.entryErr
}

// VerificationContent returns the bundle's certificate or key, parsed once.
func (p *parsedEntity) VerificationContent() (verify.VerificationContent, error) {
	if !p.vcDone {
		p.vc, p.vcErr = p.Bundle.VerificationContent()
		p.vcDone = true
	}
	return p.vc, p.vcErr
}

// SignatureContent returns the bundle's signature content, parsed once.
func (p *parsedEntity) SignatureContent() (verify.SignatureContent, error) {
	if !p.scDone {
		p.sc, p.scErr = p.Bundle.SignatureContent()
		p.scDone = true
	}
	return p.sc, p.scErr
}

func (c *Checker) runChecks(a Artifact, m Material, ir *itemResult) error {
	ir.pass(CheckMaterial)
	entity := &parsedEntity{Bundle: m.Bundle}
	cc, err := c.route(entity)
	if err != nil {
		return fail(CheckTrustedRoot, "%w", err)
	}
	return cc.checkEntity(a, m, entity, ir)
}

// checkEntity runs the checks with this checker's trust.
func (c *Checker) checkEntity(a Artifact, m Material, entity *parsedEntity, ir *itemResult) error {
	if c.trust.isGitHub {
		if err := requireSignedTime(entity); err != nil {
			return fail(CheckSignature, "%w", err)
		}
	}
	leafKey, sctKnown := c.sctKnown(entity)
	v, err := c.verifierFor(!sctKnown)
	if err != nil {
		return fail(CheckSignature, "%w", err)
	}
	sc, err := entity.SignatureContent()
	if err != nil {
		return fail(CheckMaterial, "%w", err)
	}
	isDSSE := sc.EnvelopeContent() != nil
	var artOpt verify.ArtifactPolicyOption
	switch {
	case isDSSE:
		// The subject is checked below, so that sha512-only subjects
		// (npm) and PyPI's one-subject rule can be judged and named.
		artOpt = verify.WithoutArtifactUnsafe()
	case a.Path != "":
		f, err := os.Open(a.Path)
		if err != nil {
			return fail(CheckMaterial, "opening artifact: %w", err)
		}
		defer f.Close()
		artOpt = verify.WithArtifact(f)
	case a.SHA256 != nil:
		artOpt = verify.WithArtifactDigest("sha256", a.SHA256)
	default:
		artOpt = verify.WithArtifactDigest("sha512", a.SHA512)
	}
	var popts []verify.PolicyOption
	if c.trust.keyed {
		popts = append(popts, verify.WithKey())
	} else {
		popts = append(popts, verify.WithoutIdentitiesUnsafe())
	}
	vr, err := v.Verify(entity, verify.NewPolicy(artOpt, popts...))
	if err != nil {
		return fail(CheckSignature, "%w", err)
	}
	ir.warnings = append(ir.warnings, c.timestampWarnings(entity, vr)...)
	if err := c.checkTimestampThreshold(vr); err != nil {
		return fail(CheckSignature, "%w", err)
	}
	if leafKey != nil && !sctKnown {
		c.sctChecked.Store(*leafKey, true)
	}
	ir.pass(CheckSignature)
	if vr.Signature != nil {
		ir.sum = vr.Signature.Certificate
		if vr.Signature.PublicKeyID != nil {
			ir.keyID = string(*vr.Signature.PublicKeyID)
		}
	}
	if err := c.checkCertificate(ir); err != nil {
		return err
	}
	st := vr.Statement
	if st != nil {
		ir.ptype = st.GetPredicateType()
	}
	var subject *intoto.ResourceDescriptor
	if isDSSE {
		if subject, err = checkSubject(st, a, m.PEP740); err != nil {
			return err
		}
		ir.pass(CheckSubject)
	}
	if c.policy.PackageName != "" || c.policy.PackageVersion != "" {
		if subject == nil {
			return fail(CheckPackage, "a message signature names no package (the file's name is not signed): package checks need an in-toto statement (npm provenance, PEP 740, SLSA)")
		}
		if err := checkPackage(subject.GetName(), c.policy.PackageName, c.policy.PackageVersion); err != nil {
			return &CheckError{Check: CheckPackage, Err: err}
		}
		ir.pass(CheckPackage)
	}
	if c.policy.PredicateType != "" {
		if st == nil {
			return fail(CheckPredicateType, "bundle holds a message signature, not an in-toto statement")
		}
		if st.GetPredicateType() != c.policy.PredicateType {
			return fail(CheckPredicateType, "predicate type %q, want %q", st.GetPredicateType(), c.policy.PredicateType)
		}
		ir.pass(CheckPredicateType)
	}
	return c.checkProvenance(st, ir, m)
}

// checkCertificate checks identity, issuer, extensions and the signer
// workflow against the certificate summary.
func (c *Checker) checkCertificate(ir *itemResult) error {
	p := &c.policy
	if ir.sum == nil {
		if c.trust.keyed {
			return nil
		}
		return fail(CheckIdentity, "bundle is not signed with a certificate")
	}
	if c.trust.keyed && !p.Keyless() {
		return nil
	}
	sum := ir.sum
	if err := matchValue("certificate identity", sum.SubjectAlternativeName, p.SAN, p.SANRegexp); err != nil {
		return &CheckError{Check: CheckIdentity, Err: err}
	}
	ir.pass(CheckIdentity)
	if err := matchValue("certificate OIDC issuer", sum.Issuer, p.Issuer, p.IssuerRegexp); err != nil {
		return &CheckError{Check: CheckIssuer, Err: err}
	}
	ir.pass(CheckIssuer)
	want, have := p.Extensions, sum.Extensions
	for _, f := range []struct{ name, want, have string }{
		{"source repository URI", want.SourceRepositoryURI, have.SourceRepositoryURI},
		{"source repository ref", want.SourceRepositoryRef, have.SourceRepositoryRef},
		{"source repository digest", want.SourceRepositoryDigest, have.SourceRepositoryDigest},
		{"build trigger", want.BuildTrigger, have.BuildTrigger},
		{"runner environment", want.RunnerEnvironment, have.RunnerEnvironment},
	} {
		if f.want != "" && f.want != f.have {
			return fail(CheckExtensions, "%s %q, want %q", f.name, f.have, f.want)
		}
	}
	if want.SourceRepositoryOwnerURI != "" {
		owner := have.SourceRepositoryOwnerURI
		if owner == "" {
			// Fulcio added the owner extension in 2023; older
			// certificates name the owner in the repository URI.
			owner = ownerOfRepositoryURL(have.SourceRepositoryURI)
		}
		if !strings.EqualFold(owner, want.SourceRepositoryOwnerURI) {
			return fail(CheckExtensions, "source repository owner URI %q, want %q", owner, want.SourceRepositoryOwnerURI)
		}
	}
	ir.pass(CheckExtensions)
	if p.SignerWorkflow != "" {
		re, err := signerWorkflowPattern(p.SignerWorkflow)
		if err != nil {
			return &CheckError{Check: CheckSignerWorkflow, Err: err}
		}
		signer := have.BuildSignerURI
		if signer == "" {
			signer = sum.SubjectAlternativeName
		}
		if !re.MatchString(signer) {
			return fail(CheckSignerWorkflow, "signed by %q, want workflow %s", signer, p.SignerWorkflow)
		}
		ir.pass(CheckSignerWorkflow)
	}
	return nil
}

func matchValue(what, have, exact, expr string) error {
	if exact != "" && have != exact {
		return fmt.Errorf("%s %q, want %q", what, have, exact)
	}
	if expr != "" {
		re, err := Anchored(expr)
		if err != nil {
			return err
		}
		if !re.MatchString(have) {
			return fmt.Errorf("%s %q does not match ^(?:%s)$", what, have, expr)
		}
	}
	return nil
}

// checkSubject checks the artifact against the statement's subjects: for
// PEP 740, exactly one subject whose name is the dist's filename (compared
// after parsing) and whose sha256 matches; otherwise any subject with a
// matching sha256 (or sha512 when the file is at hand).
func checkSubject(st *intoto.Statement, a Artifact, pep740 bool) (*intoto.ResourceDescriptor, error) {
	if st == nil {
		return nil, fail(CheckSubject, "DSSE payload is not an in-toto statement")
	}
	want256 := hex.EncodeToString(a.SHA256)
	if pep740 {
		if a.SHA256 == nil {
			return nil, fail(CheckSubject, "PEP 740 subjects are named by sha256: give the file or its sha256: digest")
		}
		subs := st.GetSubject()
		if len(subs) != 1 {
			return nil, fail(CheckSubject, "statement has %d subjects, PEP 740 wants exactly one", len(subs))
		}
		if a.Filename == "" {
			return nil, fail(CheckSubject, "the dist's filename is needed for a PEP 740 attestation: give the file, or its name with the digest")
		}
		if err := SameDistFilename(subs[0].GetName(), a.Filename); err != nil {
			return nil, &CheckError{Check: CheckSubject, Err: err}
		}
		if got := strings.ToLower(subs[0].GetDigest()["sha256"]); got != want256 {
			return nil, fail(CheckSubject, "subject sha256 %q does not match the dist's %s", got, want256)
		}
		return subs[0], nil
	}
	want512 := ""
	if a.SHA512 != nil {
		want512 = hex.EncodeToString(a.SHA512)
	}
	for _, s := range st.GetSubject() {
		d := s.GetDigest()
		if (want256 != "" && strings.EqualFold(d["sha256"], want256)) || (want512 != "" && strings.EqualFold(d["sha512"], want512)) {
			return s, nil
		}
	}
	if want256 == "" {
		return nil, fail(CheckSubject, "no statement subject has the artifact's digest sha512:%s", want512)
	}
	return nil, fail(CheckSubject, "no statement subject has the artifact's digest sha256:%s", want256)
}
