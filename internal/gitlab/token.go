package gitlab

import (
	"fmt"
	"net/url"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// The headers GitLab's package registries take a token in.
const (
	// JobTokenHeader carries a CI/CD job token ($CI_JOB_TOKEN).
	JobTokenHeader = "JOB-TOKEN"
	// PrivateTokenHeader carries a personal, project or group access token.
	PrivateTokenHeader = "PRIVATE-TOKEN"
	// DeployTokenHeader carries a deploy token.
	DeployTokenHeader = "DEPLOY-TOKEN"
)

// Token is a credential for the registry: the header it travels in, its
// value, and the environment variable it came from (for messages; the
// value is never printed).
type Token struct {
	// Header is JobTokenHeader, PrivateTokenHeader or DeployTokenHeader.
	Header string
	// Value is the secret.
	Value string
	// From names where it came from, such as "CI_JOB_TOKEN".
	From string
}

// IsZero reports whether there is no token.
func (t Token) IsZero() bool { return t.Value == "" }

// String names the token without its value.
func (t Token) String() string {
	if t.IsZero() {
		return "no token"
	}
	return fmt.Sprintf("$%s (%s header)", t.From, t.Header)
}

// TokenFromEnv picks the token for a registry at target: $CI_JOB_TOKEN (in
// the JOB-TOKEN header) in a GitLab CI job, else $GITLAB_TOKEN (a personal,
// project or group access token, PRIVATE-TOKEN), else $GITLAB_DEPLOY_TOKEN
// (DEPLOY-TOKEN). A job token belongs to the instance that ran the job: it
// is refused for a registry on another origin than $CI_API_V4_URL's (or
// $CI_SERVER_URL's). No variable set is no token (public projects can be
// read without one).
func TokenFromEnv(getenv func(string) string, target *url.URL) (Token, error) {
	if v := getenv("CI_JOB_TOKEN"); v != "" {
		home := getenv("CI_API_V4_URL")
		if home == "" {
			home = getenv("CI_SERVER_URL")
		}
		if home != "" {
			hu, err := url.Parse(home)
			if err != nil || hu.Host == "" || !netguard.SameOrigin(hu, target) {
				return Token{}, fmt.Errorf("refusing to send $CI_JOB_TOKEN to %s: a job token is for the GitLab instance that ran the job (%s); give a URL on that instance, or a $GITLAB_TOKEN outside CI", origin(target), home)
			}
		}
		return Token{Header: JobTokenHeader, Value: v, From: "CI_JOB_TOKEN"}, nil
	}
	if v := getenv("GITLAB_TOKEN"); v != "" {
		return Token{Header: PrivateTokenHeader, Value: v, From: "GITLAB_TOKEN"}, nil
	}
	if v := getenv("GITLAB_DEPLOY_TOKEN"); v != "" {
		return Token{Header: DeployTokenHeader, Value: v, From: "GITLAB_DEPLOY_TOKEN"}, nil
	}
	return Token{}, nil
}

// origin is scheme://host[:port] of u.
func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }
