package verification

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sync"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

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

// verifierKey is what a sigstore-go verifier of a Checker asks for: a
// verified log entry, an SCT.
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

// verifyItem runs every check on one object and records its outcome.
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

// runChecks picks the trust for the object (see route) and runs the
// checks with it.
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
