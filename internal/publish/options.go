package publish

import (
	"context"
	"io"
	"os"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/pypi"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// DefaultRepositoryURL is PyPI's legacy upload API.
const DefaultRepositoryURL = "https://upload.pypi.org/legacy/"

// Attestations says whether PEP 740 attestations are sent.
type Attestations int

const (
	// AttestationsDefault sends them with trusted publishing and drops them,
	// with a warning, with a password.
	AttestationsDefault Attestations = iota
	// AttestationsOn sends them (explicitly requested).
	AttestationsOn
	// AttestationsOff never sends them.
	AttestationsOff
)

// Options configure one publish run. The names follow
// pypa/gh-action-pypi-publish's inputs.
type Options struct {
	// RepositoryURL is the legacy upload API (default DefaultRepositoryURL).
	RepositoryURL string
	// PackagesDir holds the dists and, next to them, their signing outputs.
	PackagesDir string
	// Dists are the dists of PackagesDir already found and hashed (by
	// signing, in a release); nil finds and hashes them. Either way the
	// streamed upload refuses a file whose bytes differ from these digests.
	Dists []*dists.Dist
	// User is the upload username (default "__token__"; GitLabJobTokenUser
	// for GitLab's PyPI registry with the job token).
	User string
	// Password is an API token or password; empty means trusted publishing
	// (with the user "__token__"), or the job's CI_JOB_TOKEN with the user
	// GitLabJobTokenUser.
	Password string
	// SkipExisting counts files the index already has as done.
	SkipExisting bool
	// VerifyMetadata checks each dist's core metadata before anything else.
	VerifyMetadata bool
	// PrintHash prints each dist's SHA-256 and BLAKE2b-256.
	PrintHash bool
	// Verbose prints hashes and progress details.
	Verbose bool
	// Attestations says whether PEP 740 attestations are uploaded.
	Attestations Attestations

	// TrustedRoot verifies bundles and attestations; required when
	// attestations are sent. Without it, bundles are not verified.
	TrustedRoot root.TrustedMaterial
	// Identity is the signer every bundle and attestation must come from;
	// nil means the identity Fulcio certifies for OIDC(ctx, "sigstore")
	// (verification.ExpectedIdentity).
	Identity *verification.Identity
	// ServerURL is GITHUB_SERVER_URL for the default identity.
	ServerURL string
	// OIDC returns an OIDC token for an audience: the index's, for trusted
	// publishing, and "sigstore", for the default identity.
	OIDC func(ctx context.Context, audience string) (*idtoken.Token, error)
	// GitHubActions makes minted tokens be masked with ::add-mask:: on Out.
	GitHubActions bool

	// Client talks to the index (default: a fresh pypi.Client). Its Mask
	// and Warn are filled in when nil.
	Client *pypi.Client
	// Retry retries transient upload failures.
	Retry pypi.RetryPolicy
	// Out receives workflow commands (::add-mask::) and hashes.
	Out io.Writer
	// Log receives progress lines.
	Log io.Writer
	// Warn receives warnings (default: "warning: …" lines on Log).
	Warn func(msg string)
	// Getenv reads the environment (default os.Getenv): CI_JOB_TOKEN and
	// CI_API_V4_URL for GitLab's PyPI registry.
	Getenv func(string) string

	// jobToken is set when Password is the job's CI_JOB_TOKEN, which is sent
	// only to this GitLab instance's API.
	jobToken bool
	// sigstoreIdentity is set when the signer required is the one of the
	// Sigstore token (OIDC(ctx, "sigstore")).
	sigstoreIdentity bool
}

// GitLabJobTokenUser is the username GitLab's package registries take with
// a CI job token (CI_JOB_TOKEN) as the password.
const GitLabJobTokenUser = "gitlab-ci-token"

func (o *Options) setDefaults() {
	if o.RepositoryURL == "" {
		o.RepositoryURL = DefaultRepositoryURL
	}
	if o.PackagesDir == "" {
		o.PackagesDir = "dist"
	}
	if o.User == "" {
		o.User = "__token__"
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if job := o.Getenv("CI_JOB_TOKEN"); job != "" {
		// GitLab's PyPI registry takes the job token as the password of
		// the user gitlab-ci-token, as twine is given it.
		if o.User == GitLabJobTokenUser && o.Password == "" {
			o.Password = job
		}
		o.jobToken = o.Password == job
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	c := pypi.Client{}
	if o.Client != nil {
		c = *o.Client
	}
	if c.Mask == nil && o.GitHubActions {
		// The minted token's ::add-mask:: goes through actionio: its value
		// escaped as the runner unescapes it, on the command writer of Out
		// (an escaping actionio.TextWriter under a runner), on its own line.
		c.Mask = actionio.New(actionio.Options{Out: o.Out}).Mask
	}
	if o.Warn == nil {
		log := o.Log
		o.Warn = func(msg string) { writeWarning(log, msg) }
	}
	if c.Warn == nil {
		c.Warn = o.Warn
	}
	o.Client = &c
}

// trustedPublishing reports whether the run mints its token.
func (o *Options) trustedPublishing() bool { return o.Password == "" && o.User == "__token__" }
