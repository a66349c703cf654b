package verification

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// OIDC issuers of the CI systems whose repositories RepositoryPolicy knows.
const (
	// IssuerGitHubActions is GitHub Actions' token issuer on github.com.
	IssuerGitHubActions = "https://token.actions.githubusercontent.com"
	// IssuerGitLabCom is GitLab CI's token issuer on gitlab.com.
	IssuerGitLabCom = "https://gitlab.com"
)

// Repository is a source repository on a host whose CI identities are
// known: a GitHub repository or a gitlab.com project.
type Repository struct {
	// URL is https://github.com/OWNER/REPO or
	// https://gitlab.com/GROUP[/SUBGROUP…]/PROJECT, the certificate's Source
	// Repository URI.
	URL string
	// Kind is the CI system, and the PEP 740 publisher kind.
	Kind PublisherKind
	// Path is OWNER/REPO or GROUP[/SUBGROUP…]/PROJECT, as spelled in URL.
	Path string
}

// ParseRepository reads a repository URL: https://github.com/OWNER/REPO or
// https://gitlab.com/GROUP/PROJECT (nested groups allowed). One trailing
// slash and a ".git" suffix are dropped (neither GitHub nor GitLab allows a
// repository name ending in .git); the host is compared without regard to
// case, the path is kept exactly as given, since the certificate and
// PyPI's publisher checks compare it exactly.
func ParseRepository(s string) (Repository, error) {
	const hint = "want https://github.com/OWNER/REPO or https://gitlab.com/GROUP/PROJECT"
	rest, ok := cutPrefixFold(strings.TrimSpace(s), "https://")
	if !ok {
		return Repository{}, fmt.Errorf("repository %q: %s", s, hint)
	}
	if strings.ContainsAny(rest, "?#@%\\ ") {
		return Repository{}, fmt.Errorf("repository %q: a query, fragment, user, escape or space is not part of a repository URL; %s", s, hint)
	}
	rest = strings.TrimSuffix(strings.TrimSuffix(rest, "/"), ".git")
	host, path, _ := strings.Cut(rest, "/")
	segs := strings.Split(path, "/")
	for _, seg := range segs {
		if seg == "" || seg == "." || seg == ".." || seg == "-" {
			return Repository{}, fmt.Errorf("repository %q: path element %q; %s", s, seg, hint)
		}
	}
	r := Repository{Path: path}
	switch strings.ToLower(host) {
	case "github.com":
		if len(segs) != 2 {
			return Repository{}, fmt.Errorf("repository %q: a GitHub repository URL is https://github.com/OWNER/REPO, nothing after it", s)
		}
		r.Kind, r.URL = PublisherGitHub, "https://github.com/"+path
	case "gitlab.com":
		if len(segs) < 2 {
			return Repository{}, fmt.Errorf("repository %q: a GitLab project URL is https://gitlab.com/GROUP[/SUBGROUP…]/PROJECT", s)
		}
		r.Kind, r.URL = PublisherGitLab, "https://gitlab.com/"+path
	default:
		return Repository{}, fmt.Errorf("repository host %q: known hosts are github.com and gitlab.com; for another, give the certificate identity and OIDC issuer instead", host)
	}
	return r, nil
}

// cutPrefixFold is strings.CutPrefix without regard to ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// Issuer is the OIDC issuer of the repository's CI on its public host.
func (r Repository) Issuer() string {
	if r.Kind == PublisherGitLab {
		return IssuerGitLabCom
	}
	return IssuerGitHubActions
}

// SANRegexp is the certificate identity of any workflow of the repository,
// at any ref: on GitHub https://github.com/OWNER/REPO/.github/workflows/
// <file>@<ref> (the job workflow, as gh attestation verify --repo accepts
// any workflow of the repository), on GitLab
// https://gitlab.com/GROUP/PROJECT//<CI config path>@<ref>. The path is
// matched exactly, case included.
func (r Repository) SANRegexp() string {
	if r.Kind == PublisherGitLab {
		return regexp.QuoteMeta(r.URL) + `//.+@.+`
	}
	return regexp.QuoteMeta(r.URL) + `/\.github/workflows/[^/]+@.+`
}

// RequireRepository makes the policy require the repository: the identity
// of any of its workflows (Repository.SANRegexp), its host's issuer unless
// the policy names an exact issuer already (another instance, such as a
// test stack, signing for that host), the Source Repository URI, and the
// PEP 740 publisher of that kind and repository, with the policy's
// publisher workflow and environment when it has them (any workflow when
// not). A policy that names another identity, issuer regexp, source
// repository or publisher is refused rather than silently combined.
func (p *Policy) RequireRepository(r Repository) error {
	switch {
	case p.SAN != "" || p.SANRegexp != "":
		return errors.New("the repository implies the certificate identity (any workflow of it): drop the identity, or narrow with a signer workflow")
	case p.IssuerRegexp != "":
		return errors.New("the repository implies the OIDC issuer: give an exact issuer to replace it, not a regexp")
	case p.Extensions.SourceRepositoryURI != "" && p.Extensions.SourceRepositoryURI != r.URL:
		return fmt.Errorf("source repository %q is not the repository %q", p.Extensions.SourceRepositoryURI, r.URL)
	}
	if pub := p.Publisher; pub != nil && (pub.Kind != "" && pub.Kind != r.Kind || pub.Repository != "" && pub.Repository != r.Path) {
		return fmt.Errorf("publisher %s %s is not the repository %q", pub.Kind, pub.Repository, r.URL)
	}
	p.SANRegexp = r.SANRegexp()
	if p.Issuer == "" {
		p.Issuer = r.Issuer()
	}
	p.Extensions.SourceRepositoryURI = r.URL
	pub := Publisher{}
	if p.Publisher != nil {
		pub = *p.Publisher
	}
	pub.Kind, pub.Repository = r.Kind, r.Path
	p.Publisher = &pub
	return nil
}
