package oidcissuer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// fulcioGitHubClaims are the claims Fulcio's github-workflow principal
// rejects a token without.
var fulcioGitHubClaims = []string{
	"job_workflow_ref", "sha", "event_name", "repository", "workflow", "ref",
	"job_workflow_sha", "runner_environment", "repository_id", "repository_owner",
	"repository_owner_id", "repository_visibility", "workflow_ref", "workflow_sha",
	"run_id", "run_attempt",
}

// newTestServer starts an issuer behind httptest with request token "rt".
func newTestServer(t *testing.T) (*Issuer, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss, err := New(Options{Issuer: srv.URL, RequestToken: "rt"})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", iss)
	return iss, srv
}

// claimsOf verifies tok against iss's key and returns its claims.
func claimsOf(t *testing.T, iss *Issuer, tok string) map[string]any {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parsing token: %v", err)
	}
	if got := parsed.Headers[0].KeyID; got != iss.KeyID() {
		t.Errorf("kid = %q, want %q", got, iss.KeyID())
	}
	var out map[string]any
	if err := parsed.Claims(iss.JWKS().Keys[0], &out); err != nil {
		t.Fatalf("verifying token: %v", err)
	}
	return out
}

func TestTokenEndpoint(t *testing.T) {
	iss, srv := newTestServer(t)
	tests := []struct {
		name   string
		query  string
		auth   string
		status int
		want   map[string]any
	}{
		{name: "no auth", query: "&audience=sigstore", status: 401},
		{name: "wrong token", query: "&audience=sigstore", auth: "Bearer nope", status: 401},
		{name: "basic scheme", query: "&audience=sigstore", auth: "Basic rt", status: 401},
		{
			name: "defaults", query: "&audience=sigstore", auth: "Bearer rt", status: 200,
			want: map[string]any{
				"iss": srv.URL, "aud": "sigstore",
				"sub":              "repo:octo-org/octo-repo:ref:refs/heads/main",
				"job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
				"repository_id":    "700000001", "runner_environment": "github-hosted",
				"repository_visibility": "public", "event_name": "workflow_dispatch",
			},
		},
		{
			name: "lower-case bearer, no audience", auth: "bearer rt", status: 200,
			want: map[string]any{"aud": "https://github.com/octo-org"},
		},
		{
			name: "overrides", auth: "Bearer rt", status: 200,
			query: "&audience=x&workflow_ref=o/r/.github/workflows/b.yml@refs/tags/v1&environment=pypi",
			want: map[string]any{
				"workflow_ref": "o/r/.github/workflows/b.yml@refs/tags/v1",
				"environment":  "pypi",
				"sub":          "repo:octo-org/octo-repo:environment:pypi",
			},
		},
		{
			name: "explicit sub", query: "&audience=x&sub=custom", auth: "Bearer rt", status: 200,
			want: map[string]any{"sub": "custom"},
		},
		{
			name: "gitlab", query: "&audience=sigstore&kind=gitlab", auth: "Bearer rt", status: 200,
			want: map[string]any{
				"iss": srv.URL + "/gitlab", "project_path": "octo-org/octo-repo",
				"sub":               "project_path:octo-org/octo-repo:ref_type:branch:ref:main",
				"ci_config_ref_uri": "gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main",
			},
		},
		{name: "bad kind", query: "&kind=jenkins", auth: "Bearer rt", status: 400},
		{name: "bad exp_in", query: "&exp_in=soon", auth: "Bearer rt", status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/token?api-version=2.0"+tc.query, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			var body struct{ Value string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			got := claimsOf(t, iss, body.Value)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("claim %s = %v, want %v", k, got[k], v)
				}
			}
			if _, ok := got["api-version"]; ok {
				t.Error("api-version leaked into the claims")
			}
		})
	}
}

func TestMintDefaults(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	iss, err := New(Options{Issuer: "http://127.0.0.1:8090", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	a, err := iss.Mint("sigstore", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := iss.Mint("sigstore", nil)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := claimsOf(t, iss, a), claimsOf(t, iss, b)
	if ca["jti"] == "" || ca["jti"] == cb["jti"] {
		t.Errorf("jti not unique: %v, %v", ca["jti"], cb["jti"])
	}
	for _, k := range fulcioGitHubClaims {
		if s, _ := ca[k].(string); s == "" {
			t.Errorf("claim %s missing or not a non-empty string", k)
		}
	}
	if ca["iat"] != float64(now.Unix()) || ca["nbf"] != ca["iat"] || ca["exp"] != float64(now.Unix()+600) {
		t.Errorf("iat/nbf/exp = %v/%v/%v", ca["iat"], ca["nbf"], ca["exp"])
	}
}

func TestMintTimes(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	iss, err := New(Options{Issuer: "http://127.0.0.1:8090", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		overrides        map[string]string
		wantIat, wantExp int64
	}{
		{"default", nil, 0, 600},
		{"expired", map[string]string{"exp_in": "-60"}, 0, -60},
		{"old", map[string]string{"iat_ago": "3600", "exp_in": "60"}, -3600, -3540},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := iss.Mint("a", tc.overrides)
			if err != nil {
				t.Fatal(err)
			}
			c := claimsOf(t, iss, tok)
			if c["iat"] != float64(now.Unix()+tc.wantIat) || c["exp"] != float64(now.Unix()+tc.wantExp) {
				t.Errorf("iat/exp = %v/%v", c["iat"], c["exp"])
			}
			for _, k := range []string{"exp_in", "iat_ago", "kind"} {
				if _, ok := c[k]; ok {
					t.Errorf("special parameter %s leaked into the claims", k)
				}
			}
		})
	}
}

// TestOIDCClient checks discovery and JWKS with the OIDC library Fulcio uses.
func TestOIDCClient(t *testing.T) {
	iss, srv := newTestServer(t)
	ctx := context.Background()
	for _, tc := range []struct{ kind, issuer string }{
		{"github", srv.URL}, {"gitlab", srv.URL + "/gitlab"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			p, err := oidc.NewProvider(ctx, tc.issuer)
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			tok, err := iss.Mint("sigstore", map[string]string{"kind": tc.kind})
			if err != nil {
				t.Fatal(err)
			}
			idt, err := p.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, tok)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if idt.Issuer != tc.issuer {
				t.Errorf("issuer = %q", idt.Issuer)
			}
		})
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := t.TempDir() + "/oidc.key"
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("key changed between loads")
	}
	i1, _ := New(Options{Issuer: "http://x", Key: k1})
	i2, _ := New(Options{Issuer: "http://x", Key: k2})
	if i1.KeyID() != i2.KeyID() {
		t.Fatal("kid not stable")
	}
}

func TestMintDeleteAndAudiences(t *testing.T) {
	iss, err := New(Options{Issuer: "http://127.0.0.1:8090"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		overrides map[string]string
		absent    []string
		aud       any
	}{
		{name: "delete GitLab's config claims", overrides: map[string]string{ParamKind: KindGitLab, ParamDelete: "ci_config_ref_uri, ci_config_sha"},
			absent: []string{"ci_config_ref_uri", "ci_config_sha", ParamDelete}, aud: "sigstore"},
		{name: "several audiences", overrides: map[string]string{ParamKind: KindGitLab, ParamAudiences: "sigstore,pypi"},
			absent: []string{ParamAudiences}, aud: []any{"sigstore", "pypi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Mint("sigstore", tt.overrides)
			if err != nil {
				t.Fatal(err)
			}
			c := claimsOf(t, iss, tok)
			for _, k := range tt.absent {
				if _, ok := c[k]; ok {
					t.Errorf("claim %s is present", k)
				}
			}
			if got, _ := json.Marshal(c["aud"]); string(got) != mustJSON(t, tt.aud) {
				t.Errorf("aud = %s", got)
			}
			if c["project_path"] != "octo-org/octo-repo" {
				t.Errorf("the other claims are gone: %v", c)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
