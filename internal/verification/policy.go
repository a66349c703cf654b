package verification

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// PublisherKind is a PEP 740 trusted publisher's platform.
type PublisherKind string

// Publisher kinds PyPI verifies.
const (
	// PublisherGitHub is GitHub Actions.
	PublisherGitHub PublisherKind = "github"
	// PublisherGitLab is GitLab CI/CD.
	PublisherGitLab PublisherKind = "gitlab"
)

// Publisher is a PEP 740 trusted-publisher policy, checked the way PyPI
// checks an attestation against the project's trusted publisher.
type Publisher struct {
	// Kind is github or gitlab.
	Kind PublisherKind
	// Repository is owner/repo (GitHub) or namespace/project (GitLab).
	Repository string
	// Workflow is the workflow file name (GitHub, e.g. release.yml) or the
	// CI config file path (GitLab, e.g. .gitlab-ci.yml); empty means any
	// workflow of the repository.
	Workflow string
	// Environment is the deployment environment; empty means any.
	Environment string
}

// Policy is everything a verification requires beyond the cryptography.
// Empty fields are not checked.
type Policy struct {
	// SAN is the exact certificate subject alternative name.
	SAN string
	// SANRegexp must match the whole SAN (it is anchored with ^(?:…)$).
	SANRegexp string
	// Issuer is the exact OIDC issuer.
	Issuer string
	// IssuerRegexp must match the whole issuer (anchored like SANRegexp).
	IssuerRegexp string
	// Extensions are Fulcio extensions that must match exactly, except
	// SourceRepositoryOwnerURI: compared without regard to case (GitHub
	// owner names are case-insensitive) and, in certificates older than
	// that extension, with the owner part of SourceRepositoryURI.
	Extensions certificate.Extensions
	// SignerWorkflow is [host/]owner/repo/path[@ref]: the Build Signer URI
	// must name that workflow (at that ref when one is given).
	SignerWorkflow string
	// PredicateType is the in-toto predicate type the statement must have.
	PredicateType string
	// BuilderID is the SLSA builder id; without "@" any ref of it matches.
	BuilderID string
	// SourceURI is the SLSA source repository (with or without scheme).
	SourceURI string
	// SourceBranch is the branch the provenance says was built.
	SourceBranch string
	// SourceTag is the tag the provenance says was built.
	SourceTag string
	// Publisher is the PEP 740 publisher policy, or nil.
	Publisher *Publisher
	// PackageName is the package the in-toto subject that names the
	// artifact must name: an npm package (subject pkg:npm/[%40scope/]name@version,
	// compared exactly) or a Python project (subject a dist filename, as in
	// PEP 740 and PyPI provenance, compared PEP 503-normalized).
	PackageName string
	// PackageVersion is the version that subject must name (PEP 440
	// normalized for Python dists, exact for npm).
	PackageVersion string
	// SkipProvenanceConsistency turns off the cross-check of SLSA
	// provenance against the certificate that signed it. A Sigstore
	// client does not make that check (the sigstore-conformance suite
	// expects a correctly signed statement to pass whatever it says), so
	// the conformance client sets it; everything else keeps it on.
	SkipProvenanceConsistency bool
	// TimestampThreshold is how many verified timestamps a bundle needs.
	// 1 (or 0, the default) is what sigstore-go and sigstore-python
	// require: one observer timestamp, a verified RFC 3161 timestamp or a
	// Rekor v1 entry's integrated time. Above 1 it counts distinct
	// verified RFC 3161 timestamps (one per authority), as sigstore-go's
	// WithSignedTimestamps does. Either way a timestamp that does not
	// verify is ignored with a warning, not a failure.
	TimestampThreshold int
}

// maxTimestampThreshold is the most timestamps a bundle may carry
// (sigstore-go's limit), so no higher threshold can ever be met.
const maxTimestampThreshold = 32

// timestampThreshold is TimestampThreshold with its default.
func (p *Policy) timestampThreshold() int {
	if p.TimestampThreshold < 1 {
		return 1
	}
	return p.TimestampThreshold
}

// Keyless reports whether the policy names a signer identity.
func (p *Policy) Keyless() bool {
	return p.SAN != "" || p.SANRegexp != "" || p.Issuer != "" || p.IssuerRegexp != ""
}

// Validate checks that the policy is complete and its regular expressions
// compile. keyed says whether a public key replaces the identity.
func (p *Policy) Validate(keyed bool) error {
	if p.SAN != "" && p.SANRegexp != "" {
		return errors.New("give either a certificate identity or a certificate identity regexp, not both")
	}
	if p.Issuer != "" && p.IssuerRegexp != "" {
		return errors.New("give either a certificate OIDC issuer or an issuer regexp, not both")
	}
	if !keyed {
		if p.SAN == "" && p.SANRegexp == "" {
			return errors.New("keyless verification needs a certificate identity (exact or regexp)")
		}
		if p.Issuer == "" && p.IssuerRegexp == "" {
			return errors.New("keyless verification needs a certificate OIDC issuer (exact or regexp)")
		}
	}
	for _, re := range []string{p.SANRegexp, p.IssuerRegexp} {
		if re == "" {
			continue
		}
		if _, err := Anchored(re); err != nil {
			return err
		}
	}
	if p.SignerWorkflow != "" {
		if _, err := signerWorkflowPattern(p.SignerWorkflow); err != nil {
			return err
		}
	}
	if p.TimestampThreshold < 0 || p.TimestampThreshold > maxTimestampThreshold {
		return fmt.Errorf("timestamp threshold %d: want 1 to %d", p.TimestampThreshold, maxTimestampThreshold)
	}
	if p.SourceBranch != "" && p.SourceTag != "" {
		return errors.New("give either a source branch or a source tag, not both")
	}
	if pub := p.Publisher; pub != nil {
		if pub.Kind != PublisherGitHub && pub.Kind != PublisherGitLab {
			return fmt.Errorf("publisher kind %q: want github or gitlab", pub.Kind)
		}
		if strings.Count(pub.Repository, "/") < 1 || strings.HasPrefix(pub.Repository, "/") || strings.HasSuffix(pub.Repository, "/") {
			return fmt.Errorf("publisher repository %q: want owner/repo", pub.Repository)
		}
		if pub.Kind == PublisherGitHub && strings.Contains(pub.Workflow, "/") {
			return fmt.Errorf("GitHub publisher workflow %q: give the file name only (release.yml)", pub.Workflow)
		}
	}
	return nil
}

// Anchored compiles a user's regular expression so that it must match the
// whole string: sigstore-go and Go's regexp match substrings, so
// "release.yml" would otherwise accept "release.yml.attacker.yml".
func Anchored(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("regular expression %q: %w", expr, err)
	}
	return re, nil
}

// NormalizeRepositoryURL turns owner/repo, github.com/owner/repo or a URL
// (with or without .git or git+) into https://host/owner/repo.
func NormalizeRepositoryURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "git+")
	s = strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")
	if s == "" {
		return "", errors.New("empty repository")
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	parts := strings.Split(s, "/")
	for _, p := range parts {
		if p == "" {
			return "", fmt.Errorf("repository %q has an empty path element", s)
		}
	}
	switch {
	case len(parts) == 2 && !strings.Contains(parts[0], "."):
		return "https://github.com/" + s, nil
	case len(parts) >= 3:
		return "https://" + s, nil
	}
	return "", fmt.Errorf("repository %q: want owner/repo or a URL", s)
}

// NormalizeOwnerURL turns an owner (octo-org), host/owner or URL into
// https://host/owner, the form of the certificate's Source Repository Owner
// URI (github.com when no host is given).
func NormalizeOwnerURL(s string) (string, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/")
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	parts := strings.Split(s, "/")
	switch {
	case len(parts) == 1 && parts[0] != "" && !strings.Contains(parts[0], "."):
		return "https://github.com/" + s, nil
	case len(parts) == 2 && strings.Contains(parts[0], ".") && parts[1] != "":
		return "https://" + s, nil
	}
	return "", fmt.Errorf("repository owner %q: want an owner name (octo-org) or its URL (https://github.com/octo-org)", s)
}

// ownerOfRepositoryURL is https://host/owner for https://host/owner/repo,
// or "" when the URL has no such shape.
func ownerOfRepositoryURL(u string) string {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return ""
	}
	return "https://" + parts[0] + "/" + parts[1]
}

// signerWorkflowPattern turns [host/]owner/repo/path[@ref] into an anchored
// pattern for the Build Signer URI: https://host/owner/repo/path@ref, any
// ref (refs/… or a commit) when none is given.
func signerWorkflowPattern(w string) (*regexp.Regexp, error) {
	w = strings.TrimPrefix(strings.TrimPrefix(w, "https://"), "http://")
	path, ref, hasRef := strings.Cut(w, "@")
	parts := strings.Split(path, "/")
	if len(parts) < 3 {
		return nil, fmt.Errorf("signer workflow %q: want owner/repo/path/to/workflow.yml[@ref]", w)
	}
	if !strings.Contains(parts[0], ".") {
		path = "github.com/" + path
	}
	refPat := `@(?:refs/.+|[0-9a-f]{40})`
	if hasRef {
		if ref == "" {
			return nil, fmt.Errorf("signer workflow %q: empty ref after @", w)
		}
		refPat = "@" + regexp.QuoteMeta(ref)
	}
	return regexp.MustCompile(`^https://` + regexp.QuoteMeta(path) + refPat + `$`), nil
}
