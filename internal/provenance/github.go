package provenance

import (
	"fmt"
	"strings"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// GitHubBuildType is the buildType of GitHub Actions workflow provenance
// (actions/toolkit's attest package since 1.3.0).
const GitHubBuildType = "https://actions.github.io/buildtypes/workflow/v1"

// DefaultServerURL is GITHUB_SERVER_URL on github.com.
const DefaultServerURL = "https://github.com"

// GitHubBuild is the GitHub Actions run that provenance describes, read from
// the OIDC token's claims (the same claims Fulcio puts in the certificate).
type GitHubBuild struct {
	// ServerURL is GITHUB_SERVER_URL, e.g. https://github.com.
	ServerURL string
	// Repository is owner/repo.
	Repository string
	// Ref is the git ref the run was triggered for (refs/heads/…, refs/tags/…).
	Ref string
	// SHA is the commit.
	SHA string
	// EventName is the triggering event.
	EventName string
	// RepositoryID and RepositoryOwnerID are the numeric ids, as strings.
	RepositoryID, RepositoryOwnerID string
	// RunnerEnvironment is github-hosted or self-hosted.
	RunnerEnvironment string
	// WorkflowRef is the top-level (caller) workflow: owner/repo/path@ref.
	WorkflowRef string
	// JobWorkflowRef is the workflow the job runs (a reusable one, if used).
	JobWorkflowRef string
	// RunID and RunAttempt identify the run.
	RunID, RunAttempt string
}

// requiredClaims are the claims actions/attest refuses to build provenance
// without.
var requiredClaims = []string{"iss", "ref", "sha", "repository", "event_name", "job_workflow_ref", "workflow_ref", "repository_id", "repository_owner_id", "runner_environment", "run_id", "run_attempt"}

// GitHubBuildFromClaims reads a build from GitHub Actions token claims.
// serverURL is GITHUB_SERVER_URL ("" means https://github.com).
func GitHubBuildFromClaims(c idtoken.Claims, serverURL string) (*GitHubBuild, error) {
	var missing []string
	for _, name := range requiredClaims {
		if c.String(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("identity token lacks GitHub Actions claims %s: is it a GitHub Actions token?", strings.Join(missing, ", "))
	}
	if serverURL == "" {
		serverURL = DefaultServerURL
	}
	return &GitHubBuild{
		ServerURL:         strings.TrimSuffix(serverURL, "/"),
		Repository:        c.String("repository"),
		Ref:               c.String("ref"),
		SHA:               c.String("sha"),
		EventName:         c.String("event_name"),
		RepositoryID:      c.String("repository_id"),
		RepositoryOwnerID: c.String("repository_owner_id"),
		RunnerEnvironment: c.String("runner_environment"),
		WorkflowRef:       c.String("workflow_ref"),
		JobWorkflowRef:    c.String("job_workflow_ref"),
		RunID:             c.String("run_id"),
		RunAttempt:        c.String("run_attempt"),
	}, nil
}

// WorkflowPath is the caller workflow's file path in its repository, from
// workflow_ref ("owner/repo/.github/workflows/release.yml@refs/heads/main"
// gives ".github/workflows/release.yml"). Everything after the first "@" is
// the ref, which may itself contain "@".
func (b *GitHubBuild) WorkflowPath() string {
	rest := strings.TrimPrefix(b.WorkflowRef, b.Repository+"/")
	path, _, _ := strings.Cut(rest, "@")
	return path
}

// WorkflowFile is the base name of the caller workflow (what PyPI's trusted
// publisher form calls the workflow name).
func (b *GitHubBuild) WorkflowFile() string {
	p := b.WorkflowPath()
	return p[strings.LastIndex(p, "/")+1:]
}

// Identity is the certificate identity (SAN) Fulcio gives this run:
// <server>/<job_workflow_ref>.
func (b *GitHubBuild) Identity() string { return b.ServerURL + "/" + b.JobWorkflowRef }

// RepositoryURL is <server>/<owner>/<repo>.
func (b *GitHubBuild) RepositoryURL() string { return b.ServerURL + "/" + b.Repository }

// InvocationID is the run attempt's URL.
func (b *GitHubBuild) InvocationID() string {
	return fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", b.ServerURL, b.Repository, b.RunID, b.RunAttempt)
}
