package pypi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// githubClaims are the claims of a GitHub Actions token for a release
// workflow, as the local issuer makes them.
func githubClaims() idtoken.Claims {
	return idtoken.Claims{
		"iss":                 "https://token.actions.githubusercontent.com",
		"aud":                 "pypi",
		"sub":                 "repo:octo-org/sample:environment:pypi",
		"repository":          "octo-org/sample",
		"repository_owner":    "octo-org",
		"repository_owner_id": "4242",
		"workflow_ref":        "octo-org/sample/.github/workflows/release.yml@refs/tags/v1.2.0",
		"job_workflow_ref":    "octo-org/sample/.github/workflows/release.yml@refs/tags/v1.2.0",
		"environment":         "pypi",
		"event_name":          "push",
		"ref":                 "refs/tags/v1.2.0",
		"jti":                 "abc",
	}
}

const fakeJWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"

func tokenWith(mod func(idtoken.Claims)) *idtoken.Token {
	c := githubClaims()
	if mod != nil {
		mod(c)
	}
	return &idtoken.Token{Raw: fakeJWT, Claims: c}
}

// redirectTo sends every request to srv whatever its URL says, so tests
// can use https://test.pypi.org/legacy/ as the index URL.
type redirectTo struct{ srv *httptest.Server }

func (r redirectTo) RoundTrip(req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(r.srv.URL)
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
	return r.srv.Client().Transport.RoundTrip(req)
}

func TestAudience(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   string
		errHas []string
		unsupp bool
	}{
		{"ok", 200, `{"audience":"testpypi"}`, "testpypi", nil, false},
		{"disabled", 403, `{"message":"Trusted publishing functionality not enabled"}`, "", []string{"trusted publishing disabled on 127.0.0.1:", "Trusted publishing functionality not enabled"}, true},
		{"unsupported", 404, `not found`, "", []string{"this index does not support trusted publishing: http://127.0.0.1:", "/legacy/"}, true},
		{"other", 500, `oops`, "", []string{"unexpected 500 Internal Server Error: oops"}, false},
		{"no audience", 200, `{}`, "", []string{"has no audience"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != "/_/oidc/audience" {
					t.Errorf("got %s %s", r.Method, r.URL.Path)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			got, err := (&Client{}).Audience(context.Background(), srv.URL+"/legacy/")
			if tc.errHas == nil {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; got %q", got)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if errors.Is(err, ErrTrustedPublishingUnsupported) != tc.unsupp {
				t.Errorf("errors.Is(ErrTrustedPublishingUnsupported) = %v", !tc.unsupp)
			}
		})
	}
}

func TestMintSuccess(t *testing.T) {
	expires := time.Now().Add(TokenLifetime).Unix()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/_/oidc/mint-token" {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		var body map[string]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["token"] != fakeJWT || len(body) != 1 {
			t.Errorf("body %v, %v", body, err)
		}
		fmt.Fprintf(w, `{"success":true,"token":"pypi-SECRET","expires":%d}`, expires)
	}))
	defer srv.Close()
	var masked, warned []string
	c := &Client{Mask: func(s string) { masked = append(masked, s) }, Warn: func(s string) { warned = append(warned, s) }}
	tok, err := c.Mint(context.Background(), srv.URL+"/legacy/", tokenWith(nil))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Value != "pypi-SECRET" || tok.Expires.Unix() != expires {
		t.Errorf("token %+v", tok)
	}
	if len(masked) != 1 || masked[0] != "pypi-SECRET" {
		t.Errorf("masked %v", masked)
	}
	if len(warned) != 0 {
		t.Errorf("warned %v", warned)
	}
	if s := tok.String() + fmt.Sprint(tok); strings.Contains(s, "SECRET") {
		t.Errorf("String reveals the token: %s", s)
	}

	// A reusable workflow warns but still mints.
	_, err = c.Mint(context.Background(), srv.URL, tokenWith(func(c idtoken.Claims) {
		c["job_workflow_ref"] = "octo-org/shared/.github/workflows/publish.yml@refs/heads/main"
	}))
	if err != nil || len(warned) != 1 || !strings.Contains(warned[0], "reusable workflow") || !strings.Contains(warned[0], "octo-org/shared/.github/workflows/publish.yml") {
		t.Errorf("err %v, warned %v", err, warned)
	}
}

func TestMintRefusesPullRequestTarget(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, err := (&Client{}).Mint(context.Background(), srv.URL, tokenWith(func(c idtoken.Claims) { c["event_name"] = "pull_request_target" }))
	if !errors.Is(err, ErrPullRequestTarget) || !strings.Contains(err.Error(), `"pull_request_target"`) {
		t.Fatalf("err = %v", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the index was contacted %d times", hits.Load())
	}
}

func TestMintNonJSON(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{502, "<html>Bad Gateway</html>", "the index produced an unexpected 502 Bad Gateway response"},
		{200, `{"success":true}`, "token response error"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		_, err := (&Client{}).Mint(context.Background(), srv.URL, tokenWith(nil))
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("status %d: err = %v, want %q", tc.status, err, tc.want)
		}
	}
}

// TestMintErrorDiagnosis checks the rendered diagnosis for every error code
// warehouse documents.
func TestMintErrorDiagnosis(t *testing.T) {
	claimLines := []string{
		"Claims of the OIDC token the index matches",
		`repository           octo-org/sample`,
		`Owner "octo-org" + Repository name "sample" (case-insensitive)`,
		`repository_owner     octo-org`,
		`Owner: "octo-org" (exact)`,
		`repository_owner_id  4242`,
		`job_workflow_ref     octo-org/sample/.github/workflows/release.yml@refs/tags/v1.2.0`,
		`Workflow name: "release.yml"`,
		`environment          pypi`,
		`Environment name: "pypi" (case-insensitive), or empty to allow any`,
		`event_name           push`,
		`ref                  refs/tags/v1.2.0`,
		`sub                  repo:octo-org/sample:environment:pypi`,
	}
	link := "https://test.pypi.org/manage/project/sample-project/settings/publishing/?provider=github&owner=octo-org&repository=sample&workflow_filename=release.yml"
	cases := []struct {
		code, description string
		mod               func(idtoken.Claims)
		want              []string
		notWant           []string
	}{
		{"invalid-payload", "unknown trusted publishing issuer", nil,
			[]string{"  * invalid-payload: unknown trusted publishing issuer", "does not trust its issuer"}, nil},
		{"not-enabled", "GitHub trusted publishing functionality not enabled", nil,
			[]string{"  * not-enabled: GitHub trusted publishing functionality not enabled", "use an API token instead"}, nil},
		{"invalid-token", "Signature has expired", func(c idtoken.Claims) {
			c["exp"] = json.Number(fmt.Sprint(time.Now().Add(-time.Minute).Unix()))
			c["iat"] = json.Number(fmt.Sprint(time.Now().Add(-10 * time.Minute).Unix()))
		},
			[]string{"  * invalid-token: Signature has expired", "request it right before publishing", "the identity token expired at"}, nil},
		{"invalid-pending-publisher", "valid token, but project already exists", nil,
			[]string{"  * invalid-pending-publisher: valid token, but project already exists", "project's own publishing settings"}, nil},
		{"invalid-publisher", "valid token, but no corresponding publisher (Publisher with matching claims was not found)", func(c idtoken.Claims) { delete(c, "environment") },
			[]string{"  * invalid-publisher: valid token, but no corresponding publisher (Publisher with matching claims was not found)", "compare each claim below",
				"environment          MISSING", "Environment name: empty"}, []string{`Environment name: "pypi"`}},
		{"invalid-reuse-token", "invalid token: already used", nil,
			[]string{"  * invalid-reuse-token: invalid token: already used", "each OIDC token can be exchanged once"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnprocessableEntity)
				json.NewEncoder(w).Encode(map[string]any{
					"message": "Token request failed",
					"errors":  []map[string]string{{"code": tc.code, "description": tc.description}},
				})
			}))
			defer srv.Close()
			c := &Client{HTTP: &http.Client{Transport: redirectTo{srv}}}
			_, err := c.Mint(context.Background(), "https://test.pypi.org/legacy/", tokenWith(tc.mod), "sample-project")
			var me *MintError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *MintError", err)
			}
			if len(me.Errors) != 1 || me.Errors[0].Code != tc.code || me.Status != 422 {
				t.Errorf("errors %+v, status %d; want the code %q and 422", me.Errors, me.Status, tc.code)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "minting an API token at test.pypi.org failed (HTTP 422: Token request failed); the server refused the request for the following reasons:\n") {
				t.Errorf("header:\n%s", msg)
			}
			want := append(append([]string{}, tc.want...), link)
			for _, l := range claimLines {
				if tc.code == "invalid-publisher" && strings.Contains(strings.ToLower(l), "environment") {
					continue
				}
				want = append(want, l)
			}
			for _, s := range want {
				if !strings.Contains(msg, s) {
					t.Errorf("diagnosis lacks %q:\n%s", s, msg)
				}
			}
			for _, s := range tc.notWant {
				if strings.Contains(msg, s) {
					t.Errorf("diagnosis has %q:\n%s", s, msg)
				}
			}
			if strings.Contains(msg, fakeJWT) {
				t.Errorf("diagnosis contains the raw token")
			}
		})
	}
}

func TestMintErrorExtras(t *testing.T) {
	// Reusable workflow: the warning is part of the diagnosis, and the link
	// names the workflow PyPI matches (job_workflow_ref's).
	e := &MintError{Status: 422, IndexURL: "https://upload.pypi.org/legacy/", Projects: []string{"sample"},
		Errors: []MintErrorDetail{{"invalid-publisher", "valid token, but no corresponding publisher"}},
		Claims: tokenWith(func(c idtoken.Claims) {
			c["job_workflow_ref"] = "octo-org/sample/.github/workflows/publish-reusable.yml@refs/heads/main"
		}).Claims}
	msg := e.Error()
	for _, s := range []string{
		"Warning: potential workflow misconfiguration",
		"https://pypi.org/manage/project/sample/settings/publishing/?provider=github&owner=octo-org&repository=sample&workflow_filename=publish-reusable.yml",
		`Workflow name: "publish-reusable.yml"`,
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("lacks %q:\n%s", s, msg)
		}
	}
	// Another index: no link.
	e.IndexURL = "https://pypi.example.com/legacy/"
	if strings.Contains(e.Error(), "/manage/project/") {
		t.Errorf("link for a non-PyPI index:\n%s", e.Error())
	}
	// GitLab claims get GitLab's form fields.
	e.Claims = idtoken.Claims{"project_path": "grp/sample", "ci_config_ref_uri": "gitlab.com/grp/sample//.gitlab-ci.yml@refs/tags/v1", "namespace_id": "1", "project_id": "2"}
	msg = e.Error()
	for _, s := range []string{`Namespace "grp" + Project name "sample"`, `Top-level pipeline file path ".gitlab-ci.yml"`} {
		if !strings.Contains(msg, s) {
			t.Errorf("lacks %q:\n%s", s, msg)
		}
	}
	if got := WorkflowFile("o/r/.github/workflows/a/b.yml@x"); got != "a/b.yml" {
		t.Errorf("WorkflowFile = %q", got)
	}
}

func TestTokenSourceRemints(t *testing.T) {
	var audiences, mints atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/_/oidc/audience":
			audiences.Add(1)
			io.WriteString(w, `{"audience":"pypi"}`)
		case "/_/oidc/mint-token":
			n := mints.Add(1)
			fmt.Fprintf(w, `{"success":true,"token":"pypi-T%d","expires":%d}`, n, time.Now().Add(TokenLifetime).Unix())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var oidcCalls []string
	var masked []string
	ts := &TokenSource{
		Client:   &Client{Mask: func(s string) { masked = append(masked, s) }},
		IndexURL: srv.URL + "/legacy/",
		OIDC: func(_ context.Context, aud string) (*idtoken.Token, error) {
			oidcCalls = append(oidcCalls, aud)
			return tokenWith(nil), nil
		},
		Now: func() time.Time { return now },
	}
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "pypi-T1"},
		{9 * time.Minute, "pypi-T1"},
		{time.Minute, "pypi-T1"}, // exactly 10 minutes: still fine
		{time.Second, "pypi-T2"}, // more than 10 minutes: re-minted
		{5 * time.Minute, "pypi-T2"},
		{5*time.Minute + time.Second, "pypi-T3"},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		user, pass, err := ts.Credentials(ctx)
		if err != nil || user != "__token__" || pass != s.want {
			t.Fatalf("step %d: %q %q %v, want %q", i, user, pass, err, s.want)
		}
	}
	if audiences.Load() != 1 || mints.Load() != 3 || len(oidcCalls) != 3 || oidcCalls[0] != "pypi" {
		t.Errorf("audience %d, mints %d, oidc %v", audiences.Load(), mints.Load(), oidcCalls)
	}
	if strings.Join(masked, ",") != "pypi-T1,pypi-T2,pypi-T3" {
		t.Errorf("masked %v", masked)
	}
}
