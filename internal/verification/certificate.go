package verification

import (
	"fmt"
	"strings"
)

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

// matchValue checks a certificate value against an exact value and a
// regular expression (anchored), either of which may be empty.
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
