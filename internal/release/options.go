package release

import (
	"context"
	"net/http"
	"time"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// Mode is what a run does.
type Mode string

// The modes: the action's mode input and the CLI's commands.
const (
	// ModeRelease audits, signs, verifies, attests to GitHub, publishes and
	// reads back.
	ModeRelease Mode = "release"
	// ModeSign audits, signs and attests to GitHub.
	ModeSign Mode = "sign"
	// ModePublish audits, publishes (verifying first) and reads back.
	ModePublish Mode = "publish"
	// ModeVerify verifies artifacts as a consumer does.
	ModeVerify Mode = "verify"
)

// Options configure one run of the pipeline. Each stage's options are
// typed values: dists, trust, identities and reports flow from stage to
// stage in memory.
type Options struct {
	// Mode picks the stages.
	Mode Mode
	// PackagesDir holds the dists (and, next to them, their signed
	// material).
	PackagesDir string
	// Audit audits the calling workflow before anything else; nil skips it.
	Audit *AuditOptions
	// Sign configures signing (release and sign).
	Sign SignOptions
	// Verify configures verify mode; release verifies PackagesDir against
	// the trusted root signing used and the identity that signed.
	Verify VerifyOptions
	// GitHub stores the release provenance with GitHub's attestations API
	// after signing; nil skips it.
	GitHub *GitHubOptions
	// Publish configures publishing (release and publish). In release,
	// its TrustedRoot is signing's and its Identity defaults to the signer.
	Publish publish.Options
	// ReadBack configures the read-back of the index's provenance after
	// publishing.
	ReadBack ReadBackOptions
	// GitLabGeneric stores the signature material in a GitLab generic
	// package after signing (sign), publishing (release) or verifying
	// directories (verify); nil skips it.
	GitLabGeneric *GitLabGenericOptions
}

// AuditOptions configure the audit of the calling workflow.
type AuditOptions struct {
	// WorkflowRef is GITHUB_WORKFLOW_REF (owner/repo/.github/workflows/
	// x.yml@ref).
	WorkflowRef string
	// Repository is GITHUB_REPOSITORY (owner/repo).
	Repository string
	// Workspace is GITHUB_WORKSPACE, where the workflow file is read.
	Workspace string
	// Strict makes findings errors that stop the run before signing.
	Strict bool
}

// SignOptions configure signing.
type SignOptions struct {
	// OutputDir receives provenance.sigstore.json (default PackagesDir).
	OutputDir string
	// Overwrite replaces existing outputs.
	Overwrite bool
	// VerifyMetadata checks each dist's metadata before anything is signed.
	VerifyMetadata bool
	// Token returns the identity token Fulcio certifies (called once, after
	// the dists are found and checked).
	Token func(ctx context.Context) (*idtoken.Token, error)
	// Trust returns the Sigstore instance's signing config and trusted root.
	Trust func() (*signing.Trust, error)
	// Select tunes which services of the signing config are used.
	Select signing.SelectOptions
	// ServerURL is GITHUB_SERVER_URL ("" means https://github.com).
	ServerURL string
	// Concurrency bounds signatures in flight (default 32).
	Concurrency int
	// Signing tunes timeouts and retries.
	Signing signing.Options
	// Preflight configures the checks made on the token's claims and the
	// dists before the Fulcio request.
	Preflight PreflightOptions
	// Detached also writes each dist's <dist>.sig and <dist>.crt (cosign
	// sign-blob's detached signature and certificate), from its bundle.
	Detached bool
}

// PreflightOptions configure the checks before signing. In release mode
// the rest comes from the publish options: whether attestations will be
// uploaded, and whether the index is a warehouse (PyPI, TestPyPI, or any
// index used with trusted publishing) whose rules apply.
type PreflightOptions struct {
	// ReleaseFirstUpload returns when the release's first file was
	// uploaded to the index (ok false: the release is new or the index
	// cannot say); nil reads it from the index's JSON simple page
	// (firstUploadFromIndex) in release mode.
	ReleaseFirstUpload func(ctx context.Context, project, version string) (t time.Time, ok bool, err error)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// VerifyOptions configure verify mode.
type VerifyOptions struct {
	// Targets are files, sha256:/sha512: digests and directories of dists.
	Targets []string
	// Dists are dists already found and hashed (the release's), each
	// verified with the material next to it, before the targets.
	Dists []*dists.Dist
	// Bundles and Attestations apply to the file and digest targets.
	Bundles, Attestations []string
	// Signature and Certificate are a detached pair (cosign's .sig and
	// .crt) for the file and digest targets, verified with the one bundle
	// of Bundles they were made from.
	Signature, Certificate string
	// DistributionName is the dist filename PEP 740 subjects must name
	// when a target is a digest.
	DistributionName string
	// Policy is what every artifact must satisfy.
	Policy verification.Policy
	// Trust loads the trust anchors; its warnings go to warn. An error
	// fails every target's verdict.
	Trust func(warn func(string)) (*verification.Trust, error)
	// FromGitHub fetches each artifact's attestations from GitHub's API.
	FromGitHub *GitHubSource
	// FromIndex verifies releases on a package index.
	FromIndex *IndexSource
	// FromGitLab fetches each artifact's material from a GitLab generic
	// package.
	FromGitLab *GitLabGenericSource
	// Concurrency bounds the artifacts verified at once (default: the
	// CPUs; 8 when fetching).
	Concurrency int
}

// GitHubSource is a repository of GitHub's attestations API to fetch from.
type GitHubSource struct {
	// Owner and Repo name the repository.
	Owner, Repo string
	// APIURL is the REST API root.
	APIURL string
	// Token authenticates (empty: anonymous).
	Token string
	// Limit is the most attestations fetched per artifact.
	Limit int
}

// IndexSource is a package index whose releases are verified.
type IndexSource struct {
	// URL is the index root.
	URL string
	// Releases are the releases to verify.
	Releases []IndexRelease
}

// IndexRelease is one NAME==VERSION argument.
type IndexRelease struct {
	// Arg is the argument as given (it names a release that cannot be
	// listed in its verdict).
	Arg string
	// Name and Version are the project and version.
	Name, Version string
}

// GitHubOptions configure storing the release provenance with GitHub's
// attestations API.
type GitHubOptions struct {
	// Repository is owner/repo.
	Repository string
	// ServerURL is GITHUB_SERVER_URL, for the attestation's web URL.
	ServerURL string
	// Token authenticates (needs attestations: write).
	Token string
	// Getenv reads GITHUB_API_URL (default os.Getenv).
	Getenv func(string) string
}

// GitHubAttestation is an attestation stored with GitHub's API.
type GitHubAttestation struct {
	// ID is the attestation's id.
	ID int64 `json:"id"`
	// URL is its page on GitHub.
	URL string `json:"url"`
}

// ReadBackOptions configure the read-back of each uploaded file's
// provenance from the index's Integrity API.
type ReadBackOptions struct {
	// Skip turns the read-back off.
	Skip bool
	// IndexURL is the root of the index's simple and Integrity APIs
	// (default: derived from the repository URL: https://pypi.org for
	// PyPI's upload URL, the URL without /legacy/ otherwise).
	IndexURL string
	// Attempts is how many times each file's provenance is fetched while
	// it propagates (default 5); Wait the first wait, doubling (default
	// 1 s, at most 8 s).
	Attempts int
	Wait     time.Duration
	// Sleep waits between attempts (default: a timer that stops early when
	// the context is done). Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTP makes the requests (default: the index client's).
	HTTP *http.Client
}
