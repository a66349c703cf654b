package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/pypi"
)

// GitLab's PyPI registry (lib/api/pypi_packages.rb) takes a legacy upload
// at ${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/pypi with Basic
// auth (the user gitlab-ci-token and the job's CI_JOB_TOKEN in a CI job),
// answers 201 Created, ignores every form field it does not declare (PEP
// 740 attestations among them), and serves its simple index below the same
// path, at /simple/, forwarding a project it does not hold to pypi.org.

// gitlabRegistryPath matches the (escaped) path of a project's PyPI
// registry; the project is an ID or a URL-encoded path.
var gitlabRegistryPath = regexp.MustCompile(`^(.*)/api/v4/projects/([^/]+)/packages/pypi/?$`)

// gitlabRegistry returns the base of the GitLab PyPI registry that
// repositoryURL uploads to (no trailing slash), or ok false when it is not
// one.
func gitlabRegistry(repositoryURL string) (base *url.URL, ok bool) {
	u, err := url.Parse(repositoryURL)
	if err != nil || u.Host == "" || !gitlabRegistryPath.MatchString(u.EscapedPath()) {
		return nil, false
	}
	b := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/"), RawPath: strings.TrimSuffix(u.RawPath, "/")}
	return b, true
}

// IsGitLabRegistry reports whether repositoryURL is a GitLab project's PyPI
// registry (…/api/v4/projects/<id>/packages/pypi), where uploads take the
// user gitlab-ci-token and the job token, and PEP 740 attestations are
// ignored.
func IsGitLabRegistry(repositoryURL string) bool {
	_, ok := gitlabRegistry(repositoryURL)
	return ok
}

// within reports whether u is base or below it, on base's origin.
func within(base, u *url.URL) bool {
	if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) {
		return false
	}
	p, bp := u.EscapedPath(), base.EscapedPath()
	return p == bp || strings.HasPrefix(p, bp+"/")
}

// checkGitLab refuses, before anything is read or sent, what GitLab's
// registry or its job token cannot do: trusted publishing to the registry,
// the user gitlab-ci-token without CI_JOB_TOKEN, and the job token sent
// anywhere but this instance's API.
func (o *Options) checkGitLab() error {
	_, registry := gitlabRegistry(o.RepositoryURL)
	if registry && o.trustedPublishing() {
		return fmt.Errorf("GitLab's PyPI registry (%s) has no trusted publishing: in a GitLab CI job publish to it with --user %s, whose password defaults to the job's $CI_JOB_TOKEN (elsewhere, give a personal, project or deploy token with --user and --password)", o.RepositoryURL, GitLabJobTokenUser)
	}
	if o.User == GitLabJobTokenUser && o.Password == "" {
		return fmt.Errorf("user %q authenticates with the GitLab CI job token, and CI_JOB_TOKEN is not set: run attest-publish in a GitLab CI job (GitLab sets CI_JOB_TOKEN in every job), or give a token with --password (or $ATTEST_PUBLISH_PASSWORD)", GitLabJobTokenUser)
	}
	if !o.jobToken {
		return nil
	}
	// The job token acts as the job's user on the whole instance's API: it
	// goes to this instance's API (CI_API_V4_URL) alone.
	where := "this GitLab instance's PyPI registry, ${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/pypi"
	if !registry {
		return fmt.Errorf("refusing to send CI_JOB_TOKEN to %s: the job token goes only to %s; for another index give its own token with --password", o.RepositoryURL, where)
	}
	if api := o.Getenv("CI_API_V4_URL"); api != "" {
		apiURL, err := url.Parse(strings.TrimRight(api, "/"))
		u, uerr := url.Parse(o.RepositoryURL)
		if err != nil || uerr != nil || apiURL.Host == "" || !within(apiURL, u) {
			return fmt.Errorf("refusing to send CI_JOB_TOKEN to %s: it is not on this job's GitLab instance (CI_API_V4_URL is %s), and the job token goes only to %s", o.RepositoryURL, api, where)
		}
	}
	return nil
}

// gitlabAttestations decides, for GitLab's registry, whether attestations
// are sent: never, since the registry ignores them, with a note (a
// warning when they were asked for).
func gitlabAttestations(o *Options, warn func(string)) bool {
	const why = "GitLab's PyPI registry ignores PEP 740 attestations (it neither stores nor serves them)"
	if o.Attestations == AttestationsOn {
		warn("attestations are not sent although --attestations=true asks for them: " + why)
	} else if o.Attestations == AttestationsDefault {
		fmt.Fprintf(o.Log, "Note: attestations are not sent: %s\n", why)
	}
	return false
}

// gitlabSAN reports whether a certificate identity has the shape of a
// GitLab CI one: https://<host>/<project>//<CI config file>@<ref>.
func gitlabSAN(san string) bool {
	rest, ok := strings.CutPrefix(san, "https://")
	return ok && strings.Contains(rest, "//")
}

// selfManagedAttestations decides whether attestations signed on a
// self-managed GitLab instance go to PyPI or TestPyPI, which verifies GitLab
// attestations only for gitlab.com: asked for explicitly, it is an error;
// by default they are dropped with a warning. It returns whether they are
// still sent.
func selfManagedAttestations(o *Options, tok *idtoken.Token) (bool, error) {
	gitlab := (tok != nil && tok.FromGitLab()) || gitlabSAN(o.Identity.SAN)
	if !gitlab || !pypiLike(o.RepositoryURL) {
		return true, nil
	}
	err := idtoken.CheckGitLabPyPIAttestations(o.Identity.Issuer)
	switch {
	case err == nil:
		return true, nil
	case o.Attestations == AttestationsOn:
		return false, fmt.Errorf("nothing was uploaded: %w", err)
	}
	o.Warn("attestations are not sent: " + err.Error())
	return false, nil
}

// oidc is o.OIDC with, in a GitLab CI job, every token the run needs named
// in the id_tokens YAML of a missing-token error (idtoken.AlsoNeeded).
func (o *Options) oidc(ctx context.Context, audience string) (*idtoken.Token, error) {
	if o.OIDC == nil {
		return nil, errors.New("no identity token source")
	}
	tok, err := o.OIDC(ctx, audience)
	if err == nil {
		return tok, nil
	}
	if audience == idtoken.SigstoreAudience {
		return nil, WithIndexToken(ctx, *o, err)
	}
	if o.sigstoreIdentity {
		err = idtoken.AlsoNeeded(err, idtoken.SigstoreAudience)
	}
	return nil, err
}

// WithIndexToken adds, to the missing-token error err of a GitLab CI job
// (an *idtoken.MissingTokenError in its chain), the token trusted
// publishing with o will need, so that the YAML it shows declares both at
// once: the index is asked for its audience (GET /_/oidc/audience, which
// carries no token). Any other error, or a run that does not mint, is
// returned unchanged. The release pipeline calls it with the error of the
// signing token.
func WithIndexToken(ctx context.Context, o Options, err error) error {
	var me *idtoken.MissingTokenError
	if !errors.As(err, &me) {
		return err
	}
	if o.User == "" {
		o.User = "__token__"
	}
	if o.RepositoryURL == "" {
		o.RepositoryURL = DefaultRepositoryURL
	}
	if !o.trustedPublishing() || IsGitLabRegistry(o.RepositoryURL) {
		return err
	}
	c := o.Client
	if c == nil {
		c = &pypi.Client{}
	}
	if aud, aerr := c.Audience(ctx, o.RepositoryURL); aerr == nil {
		return idtoken.AlsoNeeded(err, aud)
	}
	return err
}

// registryTransport sends a GitLab registry's credentials with the requests
// below it (preemptively: GitLab answers a private project's anonymous
// request with 404, not a challenge), and turns a redirect off the
// registry (GitLab forwarding a project it does not hold to pypi.org) into
// 404: the registry does not have it.
type registryTransport struct {
	base       *url.URL
	user, pass string
	next       http.RoundTripper
}

// RoundTrip adds the credentials and judges the redirect.
func (t *registryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if within(t.base, r.URL) {
		r = r.Clone(r.Context())
		r.SetBasicAuth(t.user, t.pass)
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, lerr := resp.Location(); lerr != nil || !within(t.base, loc) {
			resp.Body.Close()
			return &http.Response{
				Status: "404 Not Found", StatusCode: http.StatusNotFound,
				Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
				Header:  http.Header{"Content-Type": {"text/plain"}},
				Body:    io.NopCloser(strings.NewReader("the registry does not hold this project (it forwards to another index)")),
				Request: r,
			}, nil
		}
	}
	return resp, nil
}

// lookupIndex returns the simple index that tells whether an upload landed
// and where the index serves a file, and which of the files it lists count:
// for GitLab's registry its own simple index (…/packages/pypi/simple/),
// read with the upload's credentials, counting only files it serves itself;
// otherwise simpleIndex's, counting every file.
func lookupIndex(o *Options) (*pypi.IndexClient, func(pypi.IndexFile) bool, error) {
	all := func(pypi.IndexFile) bool { return true }
	base, ok := gitlabRegistry(o.RepositoryURL)
	if !ok {
		c, err := simpleIndex(o)
		return c, all, err
	}
	c, err := pypi.NewIndexClient(base.String() + "/simple/")
	if err != nil {
		return nil, nil, fmt.Errorf("the simple index of %s: %w", o.RepositoryURL, err)
	}
	next := http.DefaultTransport
	if o.Client.HTTP != nil && o.Client.HTTP.Transport != nil {
		next = o.Client.HTTP.Transport
	}
	c.HTTP = &http.Client{
		Timeout:   lookupTimeout,
		Transport: &registryTransport{base: base, user: o.User, pass: o.Password, next: next},
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if !within(base, r.URL) || len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	if o.Client.UserAgent != "" {
		c.UserAgent = o.Client.UserAgent
	}
	c.Retry = o.Retry
	served := func(f pypi.IndexFile) bool {
		u, err := url.Parse(f.URL)
		return err == nil && within(base, u)
	}
	return c, served, nil
}
