package provenance

import (
	"fmt"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// GitLabBuildType is attest-publish's buildType for SLSA v1 provenance of a
// GitLab CI/CD job, specified in docs/buildtypes/gitlab-ci-v1.md. Every field
// of such provenance is one Fulcio copies into the signing certificate, so a
// verifier can check each one against the certificate that signed it.
const GitLabBuildType = "https://github.com/attest-publish/attest-publish/blob/main/docs/buildtypes/gitlab-ci-v1.md"

// GitLabBuild is the GitLab CI/CD job that provenance describes, read from
// the claims of its id_token: only claims Fulcio's gitlab-pipeline provider
// puts in the certificate, each shaped the way Fulcio's template shapes it.
type GitLabBuild struct {
	// ServerURL is https://<host> of the instance, the host that starts
	// ci_config_ref_uri (e.g. https://gitlab.com).
	ServerURL string
	// ProjectPath is <namespace>/<project>.
	ProjectPath string
	// ConfigRefURI is the ci_config_ref_uri claim, without scheme:
	// <host>/<project path>//<CI config path>@<ref>.
	ConfigRefURI string
	// ConfigSHA is the ci_config_sha claim: the commit of the CI config.
	ConfigSHA string
	// Ref is refs/heads/<ref> for a branch or refs/tags/<ref> for a tag
	// (Fulcio's Source Repository Ref template).
	Ref string
	// SHA is the commit the pipeline runs for.
	SHA string
	// PipelineSource is what started the pipeline (push, web, schedule, …).
	PipelineSource string
	// ProjectID and NamespaceID are the numeric ids, as strings.
	ProjectID, NamespaceID string
	// RunnerEnvironment is gitlab-hosted or self-hosted.
	RunnerEnvironment string
	// JobID identifies the job.
	JobID string
}

// gitLabRequiredClaims are the claims Fulcio's gitlab-pipeline templates
// read (its certificate cannot be issued without them) that the provenance
// records.
var gitLabRequiredClaims = []string{"ci_config_ref_uri", "ci_config_sha", "project_path", "ref", "ref_type", "sha", "pipeline_source", "project_id", "namespace_id", "runner_environment", "job_id"}

// GitLabBuildFromClaims reads a build from GitLab CI id_token claims. The
// CI config must be in the project itself (ci_config_ref_uri is
// <host>/<project_path>//<path>@<ref>); GitLab leaves the claim out
// otherwise, and Fulcio then refuses the token anyway.
func GitLabBuildFromClaims(c idtoken.Claims) (*GitLabBuild, error) {
	var missing []string
	for _, name := range gitLabRequiredClaims {
		if c.String(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("identity token lacks GitLab CI claims %s: is it a GitLab CI id_token of a pipeline whose CI config is in the project itself?", strings.Join(missing, ", "))
	}
	cfg, project := c.String("ci_config_ref_uri"), c.String("project_path")
	host, rest, _ := strings.Cut(cfg, "/")
	path, cfgRef, hasRef := strings.Cut(strings.TrimPrefix(rest, project+"//"), "@")
	if host == "" || !strings.HasPrefix(rest, project+"//") || path == "" || !hasRef || cfgRef == "" {
		return nil, fmt.Errorf("ci_config_ref_uri %q is not <host>/%s//<CI config path>@<ref>: the CI config is not in the project, so no provenance can be built", cfg, project)
	}
	var ref string
	switch t := c.String("ref_type"); t {
	case "branch":
		ref = "refs/heads/" + c.String("ref")
	case "tag":
		ref = "refs/tags/" + c.String("ref")
	default:
		return nil, fmt.Errorf("ref_type claim %q: want branch or tag", t)
	}
	return &GitLabBuild{
		ServerURL:         "https://" + host,
		ProjectPath:       project,
		ConfigRefURI:      cfg,
		ConfigSHA:         c.String("ci_config_sha"),
		Ref:               ref,
		SHA:               c.String("sha"),
		PipelineSource:    c.String("pipeline_source"),
		ProjectID:         c.String("project_id"),
		NamespaceID:       c.String("namespace_id"),
		RunnerEnvironment: c.String("runner_environment"),
		JobID:             c.String("job_id"),
	}, nil
}

// Identity is the certificate identity (SAN) Fulcio gives the job:
// https://<ci_config_ref_uri>. It is also the Build Signer URI and the
// Build Config URI.
func (b *GitLabBuild) Identity() string { return "https://" + b.ConfigRefURI }

// RepositoryURL is <server>/<project path>.
func (b *GitLabBuild) RepositoryURL() string { return b.ServerURL + "/" + b.ProjectPath }

// ConfigPath is the CI config file's path in the project, e.g.
// .gitlab-ci.yml: what follows "//" in ci_config_ref_uri, up to the first
// "@" (the ref may itself contain "@").
func (b *GitLabBuild) ConfigPath() string {
	_, rest, _ := strings.Cut(b.ConfigRefURI, "//")
	path, _, _ := strings.Cut(rest, "@")
	return path
}

// InvocationID is the job's URL, <server>/<project path>/-/jobs/<job id>.
func (b *GitLabBuild) InvocationID() string {
	return b.RepositoryURL() + "/-/jobs/" + b.JobID
}

// SLSAPredicate returns the SLSA v1 provenance predicate of buildType
// GitLabBuildType for the job.
func (b *GitLabBuild) SLSAPredicate() (*slsa.Provenance, error) {
	return predicate(predicateFields{
		buildType: GitLabBuildType,
		workflow:  map[string]any{"ref": b.Ref, "repository": b.RepositoryURL(), "path": b.ConfigPath()},
		internal: map[string]any{"gitlab": map[string]any{
			"pipeline_source":    b.PipelineSource,
			"project_id":         b.ProjectID,
			"namespace_id":       b.NamespaceID,
			"runner_environment": b.RunnerEnvironment,
			"ci_config_sha":      b.ConfigSHA,
		}},
		dependency: "git+" + b.RepositoryURL() + "@" + b.Ref,
		commit:     b.SHA,
		builder:    b.Identity(),
		invocation: b.InvocationID(),
	})
}
