package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"
)

// Options says where to look for an identity token.
type Options struct {
	// Explicit is a token given on the command line; it wins over everything.
	Explicit string
	// EnvVar names an environment variable holding a token, as GitLab CI's
	// id_tokens provide it (default SIGSTORE_ID_TOKEN).
	EnvVar string
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// HTTPClient requests GitHub's token (default: 10 s timeout).
	HTTPClient *http.Client
	// Attempts bounds retries of GitHub's token request (default 3).
	Attempts int
}

// Error explanations a maintainer can act on.
var (
	// ErrNoPermission: the job lacks "permissions: id-token: write".
	ErrNoPermission = errors.New(`missing "id-token" permission: GitHub did not give this job an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is unset). Add "permissions: id-token: write" to the job that runs attest-publish`)
	// ErrForkPullRequest: GitHub never gives pull requests from forks a token.
	ErrForkPullRequest = errors.New(`this is a pull request from a fork: GitHub gives fork pull requests no OIDC token, even with "permissions: id-token: write". Sign and publish from a trusted trigger instead (a tag push, a published release, or workflow_dispatch)`)
	// ErrNoToken: neither a CI token nor an explicit one is available.
	ErrNoToken = errors.New(`no identity token: run in GitHub Actions with "permissions: id-token: write", in GitLab CI with "id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore", or pass --identity-token`)
)

// Get returns an identity token for audience, from (in order) the explicit
// token, the environment variable, or GitHub Actions' token endpoint.
func Get(ctx context.Context, audience string, opts Options) (*Token, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if opts.Explicit != "" {
		return Parse(opts.Explicit)
	}
	envVar := opts.EnvVar
	if envVar == "" {
		envVar = "SIGSTORE_ID_TOKEN"
	}
	if v := getenv(envVar); v != "" {
		t, err := Parse(v)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", envVar, err)
		}
		return t, nil
	}
	if getenv("GITHUB_ACTIONS") != "true" {
		return nil, ErrNoToken
	}
	if getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
		if isForkPullRequest(getenv) {
			return nil, ErrForkPullRequest
		}
		return nil, ErrNoPermission
	}
	return fetchGitHub(ctx, audience, getenv, opts)
}

func fetchGitHub(ctx context.Context, audience string, getenv func(string) string, opts Options) (*Token, error) {
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	attempts := opts.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	action := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithHTTPClient(client))
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(1<<(i-1)) * 500 * time.Millisecond):
			}
		}
		raw, err := action.GetIDToken(ctx, audience)
		if err == nil && raw == "" {
			err = errors.New("the response carried no token")
		}
		if err == nil {
			t, err := Parse(raw)
			if err != nil {
				return nil, fmt.Errorf("requesting GitHub OIDC token: %w", err)
			}
			return t, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("requesting GitHub OIDC token for audience %q (%d attempts): %w", audience, attempts, lastErr)
}

// isForkPullRequest reads the event payload to tell a fork's pull request.
func isForkPullRequest(getenv func(string) string) bool {
	if ev := getenv("GITHUB_EVENT_NAME"); ev != "pull_request" && ev != "pull_request_review" && ev != "pull_request_review_comment" {
		return false
	}
	path := getenv("GITHUB_EVENT_PATH")
	if path == "" {
		return false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var event struct {
		PullRequest struct {
			Head struct {
				Repo struct {
					Fork     bool   `json:"fork"`
					FullName string `json:"full_name"`
				} `json:"repo"`
			} `json:"head"`
		} `json:"pull_request"`
	}
	if json.Unmarshal(data, &event) != nil {
		return false
	}
	head := event.PullRequest.Head.Repo
	return head.Fork || (head.FullName != "" && !strings.EqualFold(head.FullName, getenv("GITHUB_REPOSITORY")))
}
