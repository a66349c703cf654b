package audit

// The maintained lists the rules consult. Each entry says why it is there;
// names are lower-case owner/repo[/path] without @ref.

// oidcAction says when a step of an action requests the job's OIDC token,
// so that the job legitimately holds id-token: write.
type oidcAction struct {
	// input, when set, is the with: input that turns the OIDC use on; the
	// step needs the token only when it is on (or an expression).
	input string
	// onByDefault says whether the use is on when input is absent.
	onByDefault bool
	// values, when set, are the input values that turn the use on;
	// otherwise any value but "" and "false" does.
	values []string
	// role is what the use makes of the job.
	role role
}

// oidcActions lists the actions, other than this one, that mint or exchange
// the job's OIDC token.
var oidcActions = map[string]oidcAction{
	// PyPI trusted publishing: exchanges the OIDC token for a PyPI API token.
	"pypa/gh-action-pypi-publish": {role: rolePublish},
	// maturin upload/publish uses PyPI trusted publishing when it has no
	// password (command: upload|publish).
	"pyo3/maturin-action": {input: "command", values: []string{"upload", "publish"}, role: rolePublish},
	// Sigstore signing and GitHub artifact attestations.
	"actions/attest":                     {role: roleSigns},
	"actions/attest-build-provenance":    {role: roleSigns},
	"actions/attest-sbom":                {role: roleSigns},
	"sigstore/gh-action-sigstore-python": {role: roleSigns},
	// A composite that calls actions/attest-build-provenance when
	// attest-build-provenance-github is true (default false).
	"hynek/build-and-inspect-python-package": {input: "attest-build-provenance-github", role: roleSigns},
	// GitHub Pages deployment authenticates with the OIDC token.
	"actions/deploy-pages": {role: roleOIDC},
	// OIDC token exchanges for cloud and secret-store credentials.
	"aws-actions/configure-aws-credentials": {input: "role-to-assume", role: roleOIDC},
	"google-github-actions/auth":            {input: "workload_identity_provider", role: roleOIDC},
	"azure/login":                           {role: roleOIDC},
	"hashicorp/vault-action":                {input: "method", values: []string{"jwt"}, role: roleOIDC},
	"octo-sts/action":                       {role: roleOIDC},
	"pulumi/auth-actions":                   {role: roleOIDC},
	// Codecov's tokenless upload with use_oidc: true.
	"codecov/codecov-action": {input: "use_oidc", role: roleOIDC},
}

// gitPushActions push commits or tags with the credential actions/checkout
// persisted, so a job using them needs persist-credentials.
var gitPushActions = map[string]bool{
	"stefanzweifel/git-auto-commit-action": true,
	"endbug/add-and-commit":                true,
	"ad-m/github-push-action":              true,
}

// cacheAction says how a cache-aware action is turned on.
type cacheAction struct {
	// input controls the cache; "" when the action always restores.
	input string
	// onByDefault: the cache is used when input is absent.
	onByDefault bool
	// offValue, when set, is the value of input that turns the cache off
	// (inputs whose "true" disables it, such as lookup-only); otherwise any
	// value other than "", "false" turns it on.
	offValue string
}

// cacheActions lists actions that restore a cache an earlier run (or a
// poisoned entry) saved: in a job that builds or publishes a release they
// let cache contents reach the artifacts. After zizmor's cache-poisoning
// list, trimmed to what Python release workflows use.
var cacheActions = map[string]cacheAction{
	"actions/cache":         {input: "lookup-only", onByDefault: true, offValue: "true"},
	"actions/cache/restore": {input: "lookup-only", onByDefault: true, offValue: "true"},
	"actions/setup-python":  {input: "cache"},
	"actions/setup-node":    {input: "cache"},
	"actions/setup-java":    {input: "cache"},
	// setup-go caches by default since v4.
	"actions/setup-go":     {input: "cache", onByDefault: true},
	"actions/setup-dotnet": {input: "cache"},
	// setup-uv: enable-cache (default "auto", on for GitHub-hosted runners
	// before v10); only an explicit true is counted.
	"astral-sh/setup-uv":                     {input: "enable-cache"},
	"pdm-project/setup-pdm":                  {input: "cache"},
	"swatinem/rust-cache":                    {input: "lookup-only", onByDefault: true, offValue: "true"},
	"pyo3/maturin-action":                    {input: "sccache"},
	"ruby/setup-ruby":                        {input: "bundler-cache"},
	"actions-rust-lang/setup-rust-toolchain": {input: "cache", onByDefault: true},
	"mozilla-actions/sccache-action":         {onByDefault: true},
	"jdx/mise-action":                        {input: "cache", onByDefault: true},
}

// releaseActions publish release artifacts somewhere other than PyPI; a
// job using one builds or publishes a release (for cache-poisoning).
var releaseActions = map[string]bool{
	"softprops/action-gh-release":  true,
	"goreleaser/goreleaser-action": true,
	"ncipollo/release-action":      true,
}

// outsiderContexts are the expression contexts whose text someone without
// write access can choose: pull request, issue, comment and commit text,
// fork branch names. Expanded by ${{ }} inside a run: script they are shell
// code. "*" matches one path segment. After zizmor's template-injection
// audit and GitHub's "Keeping your GitHub Actions and workflows secure
// Part 2: Untrusted input".
var outsiderContexts = []string{
	"github.head_ref",
	"github.event.pull_request.title",
	"github.event.pull_request.body",
	"github.event.pull_request.head.ref",
	"github.event.pull_request.head.label",
	"github.event.pull_request.head.repo.default_branch",
	"github.event.issue.title",
	"github.event.issue.body",
	"github.event.comment.body",
	"github.event.review.body",
	"github.event.review_comment.body",
	"github.event.discussion.title",
	"github.event.discussion.body",
	"github.event.pages.*.page_name",
	"github.event.commits.*.message",
	"github.event.commits.*.author.email",
	"github.event.commits.*.author.name",
	"github.event.commits.*.committer.email",
	"github.event.commits.*.committer.name",
	"github.event.head_commit.message",
	"github.event.head_commit.author.email",
	"github.event.head_commit.author.name",
	"github.event.head_commit.committer.email",
	"github.event.head_commit.committer.name",
	"github.event.workflow_run.head_branch",
	"github.event.workflow_run.display_title",
	"github.event.workflow_run.head_commit.message",
	"github.event.workflow_run.head_commit.author.email",
	"github.event.workflow_run.head_commit.author.name",
	"github.event.workflow_run.pull_requests.*.head.ref",
}

// triggererContexts are chosen by whoever can push a tag or branch,
// publish a release or dispatch the workflow: write access, but not the
// environment's reviewers' approval. A ref name may hold $(…); release
// notes and free-text inputs anything. zizmor reports these too.
var triggererContexts = []string{
	"github.ref",
	"github.ref_name",
	"github.base_ref",
	"github.event.ref",
	"github.event.release.name",
	"github.event.release.body",
	"github.event.release.tag_name",
	"github.event.inputs.*",
}
