package idtoken

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func mint(t *testing.T, claims map[string]any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func githubClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": "https://token.actions.githubusercontent.com", "aud": "sigstore",
		"job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		"repository":       "octo-org/octo-repo", "repository_id": "123",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParse(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tok, err := Parse(mint(t, githubClaims(now)))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Issuer() != "https://token.actions.githubusercontent.com" || tok.Provider() != GitHubActions {
		t.Errorf("issuer %q provider %q", tok.Issuer(), tok.Provider())
	}
	if got := tok.Claims.String("repository_id"); got != "123" {
		t.Errorf("repository_id = %q", got)
	}
	if exp, ok := tok.Claims.Time("exp"); !ok || !exp.Equal(now.Add(5*time.Minute)) {
		t.Errorf("exp = %v", exp)
	}
	if got := tok.Claims.Audience(); len(got) != 1 || got[0] != "sigstore" {
		t.Errorf("aud = %v", got)
	}
	gitlab, err := Parse(mint(t, map[string]any{"iss": "https://gitlab.com", "ci_config_ref_uri": "gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main", "project_path": "g/p"}))
	if err != nil || gitlab.Provider() != GitLabCI {
		t.Errorf("gitlab provider: %v %v", gitlab, err)
	}
	for _, bad := range []string{"", "not-a-jwt", "a.b.c"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestExpiryHint(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tok, err := Parse(mint(t, githubClaims(now)))
	if err != nil {
		t.Fatal(err)
	}
	if h := tok.ExpiryHint(now.Add(time.Minute)); h != "" {
		t.Errorf("valid token got hint %q", h)
	}
	h := tok.ExpiryHint(now.Add(7 * time.Minute))
	if !strings.Contains(h, "expired at") || !strings.Contains(h, "2m0s ago") {
		t.Errorf("hint %q", h)
	}
}

// fakeGitHub serves the Actions token request endpoint. It fails the first
// failures requests with 500.
func fakeGitHub(t *testing.T, token string, failures int32) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer request-token" {
			http.Error(w, "bad request token", http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("audience") != "sigstore" || r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		if n <= failures {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{"value":"` + token + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestGet(t *testing.T) {
	raw := mint(t, githubClaims(time.Now()))
	srv, calls := fakeGitHub(t, raw, 1)
	ghEnv := map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
	}
	tests := []struct {
		name    string
		opts    Options
		want    string
		wantErr error
		errText string
	}{
		{name: "github, retried after a 500", opts: Options{Getenv: env(ghEnv)}, want: raw},
		{name: "explicit wins", opts: Options{Explicit: raw, Getenv: env(map[string]string{"GITHUB_ACTIONS": "true"})}, want: raw},
		{name: "gitlab id_tokens variable", opts: Options{Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": raw})}, want: raw},
		{name: "bad variable", opts: Options{Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": "junk"})}, errText: "reading SIGSTORE_ID_TOKEN"},
		{name: "not in CI", opts: Options{Getenv: env(nil)}, wantErr: ErrNoToken},
		{name: "missing permission", opts: Options{Getenv: env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"})}, wantErr: ErrNoPermission},
		{name: "fork pull request", opts: Options{Getenv: env(map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REPOSITORY": "octo-org/octo-repo",
			"GITHUB_EVENT_PATH": "testdata/event-fork-pr.json"})}, wantErr: ErrForkPullRequest},
		{name: "same-repo pull request lacks permission", opts: Options{Getenv: env(map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REPOSITORY": "octo-org/octo-repo",
			"GITHUB_EVENT_PATH": "testdata/event-same-repo-pr.json"})}, wantErr: ErrNoPermission},
		{name: "endpoint refuses", opts: Options{Attempts: 2, Getenv: env(map[string]string{
			"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "wrong"})},
			errText: "2 attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Get(context.Background(), "sigstore", tt.opts)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want it to say %q", err, tt.errText)
				}
			case err != nil:
				t.Fatal(err)
			case tok.Raw != tt.want:
				t.Errorf("got another token")
			}
		})
	}
	if calls.Load() < 2 {
		t.Errorf("the 500 was not retried (%d calls)", calls.Load())
	}
}

func TestCheckAudience(t *testing.T) {
	tests := []struct {
		name    string
		aud     any
		wantErr string
	}{
		{name: "exact string", aud: "pypi"},
		{name: "list of one", aud: []any{"pypi"}},
		{name: "another audience", aud: "sigstore", wantErr: `the token's audience is ["sigstore"], not "pypi"`},
		{name: "several audiences", aud: []any{"pypi", "sigstore"}, wantErr: `2 audiences ["pypi", "sigstore"]`},
		{name: "no aud claim", aud: nil, wantErr: "no aud claim"},
		{name: "not a string", aud: []any{json.Number("1")}, wantErr: "not \"pypi\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := &Token{Claims: Claims{}}
			if tt.aud != nil {
				tok.Claims["aud"] = tt.aud
			}
			err := tok.CheckAudience("pypi")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrAudienceMismatch) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want ErrAudienceMismatch saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestGetForAnIndexAudience(t *testing.T) {
	now := time.Now()
	claims := func(aud string) map[string]any {
		c := githubClaims(now)
		c["aud"] = aud
		return c
	}
	sigstoreToken, pypiToken := mint(t, claims("sigstore")), mint(t, claims("pypi"))
	tests := []struct {
		name    string
		opts    Options
		want    string
		errText string
	}{
		{name: "explicit token for the audience", opts: Options{Explicit: pypiToken, Getenv: env(nil)}, want: pypiToken},
		{name: "the audience's variable", opts: Options{Getenv: env(map[string]string{"PYPI_ID_TOKEN": pypiToken, "SIGSTORE_ID_TOKEN": sigstoreToken})}, want: pypiToken},
		{name: "an explicit Sigstore token is passed over for the variable", opts: Options{Explicit: sigstoreToken, Getenv: env(map[string]string{"PYPI_ID_TOKEN": pypiToken})}, want: pypiToken},
		{name: "SIGSTORE_ID_TOKEN is not read", opts: Options{Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": sigstoreToken})}, errText: "id_tokens: PYPI_ID_TOKEN: aud: pypi"},
		{name: "the variable holds a token for another audience", opts: Options{Getenv: env(map[string]string{"PYPI_ID_TOKEN": sigstoreToken})}, errText: `reading PYPI_ID_TOKEN: identity token audience mismatch: the token's audience is ["sigstore"], not "pypi"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Get(context.Background(), "pypi", tt.opts)
			switch {
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want it to say %q", err, tt.errText)
				}
			case err != nil:
				t.Fatal(err)
			case tok.Raw != tt.want:
				t.Errorf("got another token")
			}
		})
	}
	if got := EnvVarFor("test-pypi.org"); got != "TEST_PYPI_ORG_ID_TOKEN" {
		t.Errorf("EnvVarFor = %q", got)
	}
}
