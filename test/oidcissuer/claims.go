package oidcissuer

// Claim sets a token can be shaped like.
const (
	// KindGitHub shapes tokens like GitHub Actions ID tokens (the default).
	KindGitHub = "github"
	// KindGitLab shapes tokens like GitLab CI id_tokens; they are issued by
	// the issuer's GitLab sub-issuer (see Issuer.GitLabURL).
	KindGitLab = "gitlab"
)

// DefaultGitHubClaims returns the string claims of a GitHub Actions ID token
// for a non-reusable workflow run of .github/workflows/release.yml on
// refs/heads/main of octo-org/octo-repo. The set covers every claim Fulcio's
// github-workflow principal requires. Numeric ids are strings, as on GitHub.
// iss, aud, sub, iat, nbf, exp and jti are added by Mint.
func DefaultGitHubClaims() map[string]string {
	const (
		repo = "octo-org/octo-repo"
		ref  = "refs/heads/main"
		sha  = "0123456789abcdef0123456789abcdef01234567"
		wf   = repo + "/.github/workflows/release.yml@" + ref
	)
	return map[string]string{
		"actor":                 "octocat",
		"actor_id":              "583231",
		"event_name":            "workflow_dispatch",
		"job_workflow_ref":      wf,
		"job_workflow_sha":      sha,
		"ref":                   ref,
		"ref_protected":         "true",
		"ref_type":              "branch",
		"repository":            repo,
		"repository_id":         "700000001",
		"repository_owner":      "octo-org",
		"repository_owner_id":   "9919",
		"repository_visibility": "public",
		"run_attempt":           "1",
		"run_id":                "12345678901",
		"run_number":            "42",
		"runner_environment":    "github-hosted",
		"sha":                   sha,
		"workflow":              "release",
		"workflow_ref":          wf,
		"workflow_sha":          sha,
	}
}

// DefaultGitLabClaims returns the string claims of a GitLab CI id_token for a
// pipeline of .gitlab-ci.yml on branch main of octo-org/octo-repo on
// gitlab.com. The set covers every claim Fulcio's gitlab-pipeline template
// uses. iss, aud, sub, iat, nbf, exp and jti are added by Mint.
func DefaultGitLabClaims() map[string]string {
	const (
		project = "octo-org/octo-repo"
		sha     = "0123456789abcdef0123456789abcdef01234567"
	)
	return map[string]string{
		"ci_config_ref_uri":  "gitlab.com/" + project + "//.gitlab-ci.yml@refs/heads/main",
		"ci_config_sha":      sha,
		"job_id":             "7000000001",
		"namespace_id":       "9919",
		"namespace_path":     "octo-org",
		"pipeline_id":        "1200000001",
		"pipeline_source":    "push",
		"project_id":         "700000001",
		"project_path":       project,
		"project_visibility": "public",
		"ref":                "main",
		"ref_path":           "refs/heads/main",
		"ref_protected":      "true",
		"ref_type":           "branch",
		"runner_environment": "gitlab-hosted",
		"runner_id":          "32000001",
		"sha":                sha,
		"user_access_level":  "maintainer",
		"user_id":            "583231",
		"user_login":         "octocat",
	}
}

// defaultSubject computes the sub claim the way the CI provider does, from
// the (possibly overridden) claims.
func defaultSubject(kind string, c map[string]string) string {
	if kind == KindGitLab {
		return "project_path:" + c["project_path"] + ":ref_type:" + c["ref_type"] + ":ref:" + c["ref"]
	}
	if env := c["environment"]; env != "" {
		return "repo:" + c["repository"] + ":environment:" + env
	}
	return "repo:" + c["repository"] + ":ref:" + c["ref"]
}
