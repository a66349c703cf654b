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

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// Options says where to look for an identity token.
type Options struct {
	// Explicit is a token given on the command line; it wins over everything.
	Explicit string
	// EnvVar names an environment variable holding a token, as GitLab CI's
	// id_tokens provide it (default EnvVarFor(audience): SIGSTORE_ID_TOKEN
	// for "sigstore", PYPI_ID_TOKEN for "pypi").
	EnvVar string
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// HTTPClient requests GitHub's token (default: a client with a 10 s
	// timeout). Redirects to another origin or to plain http are refused
	// in any case.
	HTTPClient *http.Client
	// Attempts bounds retries of GitHub's token request (default 3).
	Attempts int
}

// githubTokenTimeout bounds one request to GitHub's token endpoint.
const githubTokenTimeout = 10 * time.Second

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
//
// For an audience other than SigstoreAudience, a token is taken from the
// explicit token or the variable only when its aud claim is exactly that
// audience: an explicit token for another audience (typically the Sigstore
// token given for signing) is passed over, and the next source is tried; a
// variable holding a token for another audience is an error. For
// SigstoreAudience a token for one audience is taken as given (Fulcio
// checks its audience, and private instances may expect another), but one
// for several audiences is refused: a token goes only to the one service
// it was issued for.
//
// A GitLab CI token (FromGitLab) without a ci_config_ref_uri claim is
// refused, as Fulcio and PyPI would refuse it, and so is one another
// instance issued than the job's (CI_SERVER_URL) in a GitLab CI job. In a
// GitLab CI job (GITLAB_CI=true) a missing token is a *MissingTokenError,
// whose message shows the id_tokens YAML to add.
func Get(ctx context.Context, audience string, opts Options) (*Token, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	exact := audience != SigstoreAudience
	skipped := ""
	if opts.Explicit != "" {
		t, err := Parse(opts.Explicit)
		if err != nil {
			return nil, err
		}
		const source = "the identity token given explicitly (--identity-token)"
		switch {
		case !exact:
			if err := checkOneAudience(t); err != nil {
				return nil, fmt.Errorf("%s: %w", source, err)
			}
			if err := checkGitLabClaims(t, audience, source, getenv); err != nil {
				return nil, err
			}
			return t, nil
		case t.CheckAudience(audience) == nil:
			if err := checkGitLabClaims(t, audience, source, getenv); err != nil {
				return nil, err
			}
			return t, nil
		}
		skipped = fmt.Sprintf("the identity token given explicitly (--identity-token) was not used: its audience is %s, not %q, and a token is sent only to the service it was issued for", quoteList(t.Claims.Audience()), audience)
	}
	envVar := opts.EnvVar
	if envVar == "" {
		envVar = EnvVarFor(audience)
	}
	if v := getenv(envVar); v != "" {
		t, err := Parse(v)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", envVar, err)
		}
		if exact {
			if err := t.CheckAudience(audience); err != nil {
				return nil, fmt.Errorf("reading %s: %w; set it to a token for audience %q (GitLab CI: id_tokens: %s: aud: %s)", envVar, err, audience, envVar, audience)
			}
		} else if err := checkOneAudience(t); err != nil {
			return nil, fmt.Errorf("reading %s: %w; set it to a token for audience %q alone (GitLab CI: id_tokens: %s: aud: %s)", envVar, err, audience, envVar, audience)
		}
		if err := checkGitLabClaims(t, audience, "the identity token in "+envVar, getenv); err != nil {
			return nil, err
		}
		return t, nil
	}
	if inGitLabCI(getenv) {
		return nil, &MissingTokenError{Audience: audience, EnvVar: envVar, Skipped: skipped, getenv: getenv}
	}
	if getenv("GITHUB_ACTIONS") != "true" {
		if !exact {
			return nil, ErrNoToken
		}
		msg := fmt.Sprintf(`no identity token for audience %q: run in GitHub Actions with "permissions: id-token: write", in GitLab CI with "id_tokens: %s: aud: %s", or give a token whose aud is exactly %q`, audience, envVar, audience, audience)
		if skipped != "" {
			msg += " (" + skipped + ")"
		}
		return nil, noTokenError(msg)
	}
	if getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
		if isForkPullRequest(getenv) {
			return nil, ErrForkPullRequest
		}
		return nil, ErrNoPermission
	}
	return fetchGitHub(ctx, audience, getenv, opts)
}

// checkOneAudience refuses a token for several audiences (each of them
// could replay it), with an error wrapping ErrAudienceMismatch.
func checkOneAudience(t *Token) error {
	if aud, ok := t.Claims["aud"].([]any); ok && len(aud) > 1 {
		return fmt.Errorf("%w: the token is for %d audiences %s; a token is sent only to the one service it was issued for, and every audience it names could replay it", ErrAudienceMismatch, len(aud), quoteList(t.Claims.Audience()))
	}
	return nil
}

// noTokenError is ErrNoToken for an audience other than Sigstore's, with a
// message naming that audience and its variable.
type noTokenError string

func (e noTokenError) Error() string { return string(e) }

// Is makes errors.Is(err, ErrNoToken) true.
func (e noTokenError) Is(target error) bool { return target == ErrNoToken }

// EnvVarFor names the environment variable that holds a token for
// audience, as GitLab CI's id_tokens are conventionally named and as the id
// library (what twine and sigstore-python use) reads them: the audience
// upper-cased, every character other than an ASCII letter, digit or "_"
// replaced by "_", and a leading digit too, then "_ID_TOKEN" ("sigstore" →
// SIGSTORE_ID_TOKEN, "pypi" → PYPI_ID_TOKEN, "testpypi" →
// TESTPYPI_ID_TOKEN, "http://test.audience" → HTTP___TEST_AUDIENCE_ID_TOKEN).
// Letters are upper-cased one by one (Unicode simple case mapping); the
// few that Python's str.upper expands into several (such as "ß" → "SS")
// become one "_", a difference no real audience meets.
func EnvVarFor(audience string) string {
	var b strings.Builder
	for i, r := range strings.ToUpper(audience) {
		switch {
		case (r >= 'A' && r <= 'Z') || r == '_':
			b.WriteRune(r)
		case r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String() + "_ID_TOKEN"
}

func fetchGitHub(ctx context.Context, audience string, getenv func(string) string, opts Options) (*Token, error) {
	// The request token is set per request by go-githubactions (which
	// also bounds the response it reads, to 64 kB); redirects off the
	// endpoint's origin or to plain http are refused.
	client := netguard.Guard(opts.HTTPClient, githubTokenTimeout)
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
