package ghattest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	digest = "sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25"
	token  = "ghp_secretsecretsecret"
)

// Real bundles from the repository's test vectors, testdata/vectors (cli/cli's
// test data).
var bundles = func() []json.RawMessage {
	var out []json.RawMessage
	for _, f := range []string{"testdata/reusable-workflow.sigstore.json", "testdata/sigstore-js-2.1.0.sigstore.json"} {
		data, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			panic(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}()

// entries is a listing page of n inline bundles (alternating the two).
func entries(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"bundle": bundles[i%2], "repository_id": 1234}
	}
	return out
}

// request is what the fake API saw.
type request struct {
	method, path, auth, ua string
	query                  map[string][]string
	body                   []byte
}

// fakeAPI answers each request with the next step (the last repeats).
type fakeAPI struct {
	mu    sync.Mutex
	steps []func(w http.ResponseWriter, r *http.Request)
	seen  []request
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.seen)
	f.seen = append(f.seen, request{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("User-Agent"), r.URL.Query(), body})
	step := f.steps[min(n, len(f.steps)-1)]
	f.mu.Unlock()
	step(w, r)
}

func reply(status int, v any, headers ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], strings.ReplaceAll(headers[i+1], "{base}", "http://"+r.Host))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
}

func list(es []map[string]any, headers ...string) func(w http.ResponseWriter, r *http.Request) {
	return reply(200, map[string]any{"attestations": es}, headers...)
}

func ghError(status int, msg string, headers ...string) func(w http.ResponseWriter, r *http.Request) {
	return reply(status, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"}, headers...)
}

func newClient(t *testing.T, srv *httptest.Server, opts Options, sleeps *[]time.Duration) *Client {
	t.Helper()
	opts.BaseURL = srv.URL
	opts.Getenv = func(string) string { return "" }
	opts.Sleep = func(_ context.Context, d time.Duration) error {
		*sleeps = append(*sleeps, d)
		return nil
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestList(t *testing.T) {
	next := `<{base}/repos/o/r/attestations/` + digest + `?per_page=100&after=CURSOR1>; rel="next"`
	for _, tc := range []struct {
		name      string
		opts      Options
		steps     []func(http.ResponseWriter, *http.Request)
		want      int      // bundles returned
		requests  int      // requests made
		sleeps    int      // waits between attempts
		wantErr   []string // substrings of the error
		errIs     error
		warnings  int
		checkSeen func(t *testing.T, seen []request)
	}{
		{
			name: "one page, anonymous", steps: []func(http.ResponseWriter, *http.Request){list(entries(2))},
			want: 2, requests: 1,
			checkSeen: func(t *testing.T, seen []request) {
				r := seen[0]
				if r.path != "/repos/o/r/attestations/"+digest || r.query["per_page"][0] != "30" || r.auth != "" || r.ua != "attest-publish" {
					t.Errorf("request %+v", r)
				}
			},
		},
		{
			name: "pagination through the Link header's after cursor, up to the limit", opts: Options{Limit: 150},
			steps: []func(http.ResponseWriter, *http.Request){list(entries(100), "Link", next), list(entries(100))},
			want:  150, requests: 2,
			checkSeen: func(t *testing.T, seen []request) {
				if q := seen[0].query; q["per_page"][0] != "100" || len(q["after"]) != 0 {
					t.Errorf("first page query %v", q)
				}
				if q := seen[1].query; q["per_page"][0] != "50" || q["after"][0] != "CURSOR1" {
					t.Errorf("second page query %v", q)
				}
			},
		},
		{
			name: "the last page has no next link", opts: Options{Limit: 1000},
			steps: []func(http.ResponseWriter, *http.Request){list(entries(100), "Link", next), list(entries(7))},
			want:  107, requests: 2,
		},
		{
			name: "limit below the page", opts: Options{Limit: 3},
			steps: []func(http.ResponseWriter, *http.Request){list(entries(5))},
			want:  3, requests: 1,
		},
		{
			name: "token from the options", opts: Options{Token: token},
			steps: []func(http.ResponseWriter, *http.Request){list(entries(1))},
			want:  1, requests: 1,
			checkSeen: func(t *testing.T, seen []request) {
				if seen[0].auth != "Bearer "+token {
					t.Errorf("Authorization %q", seen[0].auth)
				}
			},
		},
		{
			name: "404: none stored", steps: []func(http.ResponseWriter, *http.Request){ghError(404, "Not Found")},
			requests: 1, errIs: ErrNoAttestations,
			wantErr: []string{"no attestations for " + digest + " in o/r", "set GITHUB_TOKEN"},
		},
		{
			name: "empty list", opts: Options{Token: token}, steps: []func(http.ResponseWriter, *http.Request){list(nil)},
			requests: 1, errIs: ErrNoAttestations, wantErr: []string{"no attestations for " + digest + " in o/r"},
		},
		{
			name: "401 with a token", opts: Options{Token: token}, steps: []func(http.ResponseWriter, *http.Request){ghError(401, "Bad credentials")},
			requests: 1, wantErr: []string{"refused the token", "Bad credentials", "invalid or expired", "unset it"},
		},
		{
			name: "401 anonymous", steps: []func(http.ResponseWriter, *http.Request){ghError(401, "Requires authentication")},
			requests: 1, wantErr: []string{"authentication required", "set GITHUB_TOKEN", `"Attestations: read"`},
		},
		{
			name: "403: the token lacks the permission", opts: Options{Token: token},
			steps:    []func(http.ResponseWriter, *http.Request){ghError(403, "Resource not accessible by personal access token")},
			requests: 1, wantErr: []string{"Resource not accessible", "may not read attestations", `"Attestations: read"`, "permissions: attestations: read"},
		},
		{
			name:     "403: primary rate limit, anonymous",
			steps:    []func(http.ResponseWriter, *http.Request){ghError(403, "API rate limit exceeded", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1900000000")},
			requests: 1, wantErr: []string{"rate limit exceeded", "2030-03-17T17:46:40Z", "set GITHUB_TOKEN"},
		},
		{
			name:  "5xx retried, then served",
			steps: []func(http.ResponseWriter, *http.Request){ghError(502, "Bad Gateway"), ghError(503, "Unavailable"), list(entries(2))},
			want:  2, requests: 3, sleeps: 2,
		},
		{
			name:  "429 retried after Retry-After",
			steps: []func(http.ResponseWriter, *http.Request){ghError(429, "Too Many Requests", "Retry-After", "5"), list(entries(1))},
			want:  1, requests: 2, sleeps: 1,
		},
		{
			name:     "5xx until the attempts run out",
			steps:    []func(http.ResponseWriter, *http.Request){ghError(500, "Server Error")},
			requests: 4, sleeps: 3, wantErr: []string{"Server Error", "HTTP 500, 4 attempts"},
		},
		{
			name: "only unreadable bundle_url entries", steps: []func(http.ResponseWriter, *http.Request){list([]map[string]any{{"bundle_url": "ftp://127.0.0.1/b.snappy"}, {"bundle": nil, "bundle_url": "::"}})},
			requests: 1, warnings: 2, errIs: ErrNoAttestations, wantErr: []string{"none of the 2 found had a bundle that could be read"},
		},
		{
			name: "an unreadable bundle_url entry among inline ones is skipped", steps: []func(http.ResponseWriter, *http.Request){list(append(entries(1), map[string]any{"bundle_url": "ftp://127.0.0.1/b.snappy"}))},
			want: 1, requests: 1, warnings: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{steps: tc.steps}
			srv := httptest.NewServer(api)
			defer srv.Close()
			var sleeps []time.Duration
			var warnings []string
			tc.opts.Warn = func(m string) { warnings = append(warnings, m) }
			c := newClient(t, srv, tc.opts, &sleeps)
			got, err := c.List(context.Background(), "o", "r", digest)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, %d bundles", len(got))
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("the token appears in the error: %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.errIs != nil && !errors.Is(err, tc.errIs) {
				t.Errorf("error %v is not %v", err, tc.errIs)
			}
			if len(got) != tc.want {
				t.Errorf("%d bundles, want %d", len(got), tc.want)
			}
			for i, b := range got {
				if !bytes.Equal(b.JSON, bundles[b.Index%2]) || b.RepositoryID != 1234 {
					t.Errorf("bundle %d (entry %d) is not the one served", i, b.Index)
				}
			}
			if len(api.seen) != tc.requests {
				t.Errorf("%d requests, want %d", len(api.seen), tc.requests)
			}
			if len(sleeps) != tc.sleeps {
				t.Errorf("waited %v, want %d waits", sleeps, tc.sleeps)
			}
			if len(warnings) != tc.warnings {
				t.Errorf("warnings %q, want %d", warnings, tc.warnings)
			}
			if tc.checkSeen != nil {
				tc.checkSeen(t, api.seen)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	api := &fakeAPI{steps: []func(http.ResponseWriter, *http.Request){ghError(500, "x"), ghError(500, "x"), ghError(429, "x", "Retry-After", "20"), list(entries(1))}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	var sleeps []time.Duration
	c := newClient(t, srv, Options{Attempts: 5}, &sleeps)
	if _, err := c.List(context.Background(), "o", "r", digest); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 20 * time.Second}; fmt.Sprint(sleeps) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", sleeps, want)
	}
}

func TestListRefusesBadInput(t *testing.T) {
	api := &fakeAPI{steps: []func(http.ResponseWriter, *http.Request){list(entries(1))}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	var sleeps []time.Duration
	c := newClient(t, srv, Options{}, &sleeps)
	for _, tc := range []struct{ owner, repo, digest, want string }{
		{"o", "r", "sha256:abc", "64 hex"},
		{"o", "r", "sha512:" + strings.Repeat("a", 128), "sha256:"},
		{"o", "r", "sha256:" + strings.Repeat("z", 64), "invalid byte"},
		{"o", "", digest, "OWNER/REPO"},
		{"o", "../x", digest, "OWNER/REPO"},
	} {
		if _, err := c.List(context.Background(), tc.owner, tc.repo, tc.digest); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("List(%q, %q, %q) = %v, want an error with %q", tc.owner, tc.repo, tc.digest, err, tc.want)
		}
	}
	if len(api.seen) != 0 {
		t.Errorf("bad input reached the API: %+v", api.seen)
	}
}

func TestStore(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		steps    []func(http.ResponseWriter, *http.Request)
		bundle   []byte
		wantID   int64
		requests int
		wantErr  []string
	}{
		{name: "stored", opts: Options{Token: token}, steps: []func(http.ResponseWriter, *http.Request){reply(201, map[string]any{"id": 4242})},
			bundle: bundles[0], wantID: 4242, requests: 1},
		{name: "5xx retried", opts: Options{Token: token}, steps: []func(http.ResponseWriter, *http.Request){ghError(500, "x"), ghError(502, "x"), reply(201, map[string]any{"id": 7})},
			bundle: bundles[1], wantID: 7, requests: 3},
		{name: "user-owned private repository", opts: Options{Token: token},
			steps:  []func(http.ResponseWriter, *http.Request){ghError(403, "Feature not available for user-owned private repositories")},
			bundle: bundles[0], requests: 1,
			wantErr: []string{"persisting attestation: Feature not available for user-owned private repositories", "GitHub Enterprise Cloud"}},
		{name: "missing permission", opts: Options{Token: token},
			steps:  []func(http.ResponseWriter, *http.Request){ghError(403, "Resource not accessible by integration")},
			bundle: bundles[0], requests: 1,
			wantErr: []string{"persisting attestation: Resource not accessible by integration", "permissions: attestations: write"}},
		{name: "bad token", opts: Options{Token: token}, steps: []func(http.ResponseWriter, *http.Request){ghError(401, "Bad credentials")},
			bundle: bundles[0], requests: 1, wantErr: []string{"persisting attestation: GitHub refused the token"}},
		{name: "validation error", opts: Options{Token: token}, steps: []func(http.ResponseWriter, *http.Request){reply(422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"message": "bundle is invalid"}}})},
			bundle: bundles[0], requests: 1, wantErr: []string{"persisting attestation: Validation Failed: bundle is invalid (HTTP 422)"}},
		{name: "no id in the answer", opts: Options{Token: token}, steps: []func(http.ResponseWriter, *http.Request){reply(201, map[string]any{})},
			bundle: bundles[0], requests: 1, wantErr: []string{"without an attestation id"}},
		{name: "not JSON", opts: Options{Token: token}, steps: []func(http.ResponseWriter, *http.Request){reply(201, map[string]any{"id": 1})},
			bundle: []byte("{not json"), requests: 0, wantErr: []string{"persisting attestation: the bundle is not valid JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{steps: tc.steps}
			srv := httptest.NewServer(api)
			defer srv.Close()
			var sleeps []time.Duration
			c := newClient(t, srv, tc.opts, &sleeps)
			id, err := c.Store(context.Background(), "o", "r", tc.bundle)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("stored as %d", id)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("the token appears in the error")
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if id != tc.wantID {
				t.Errorf("id %d, want %d", id, tc.wantID)
			}
			if len(api.seen) != tc.requests {
				t.Fatalf("%d requests, want %d", len(api.seen), tc.requests)
			}
			for _, r := range api.seen {
				var body struct{ Bundle json.RawMessage }
				if r.method != "POST" || r.path != "/repos/o/r/attestations" || r.auth != "Bearer "+token {
					t.Errorf("request %s %s auth %q", r.method, r.path, r.auth)
				}
				if err := json.Unmarshal(r.body, &body); err != nil || !bytes.Equal(body.Bundle, tc.bundle) {
					t.Errorf("body %s is not {\"bundle\": <the bundle>} (%v)", r.body, err)
				}
			}
		})
	}
}

func TestNewOptions(t *testing.T) {
	env := map[string]string{"GITHUB_API_URL": "http://127.0.0.1:1/api", "GITHUB_TOKEN": token}
	c, err := New(Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != "http://127.0.0.1:1/api/" || !c.hasToken || c.limit != DefaultLimit {
		t.Errorf("from the environment: base %q token %v limit %d", c.base, c.hasToken, c.limit)
	}
	c, err = New(Options{Anonymous: true, Getenv: func(k string) string { return env[k] }})
	if err != nil || c.hasToken {
		t.Errorf("Anonymous: %v, token %v", err, c != nil && c.hasToken)
	}
	c, err = New(Options{Getenv: func(string) string { return "" }})
	if err != nil || c.base != DefaultAPIURL+"/" || c.hasToken {
		t.Errorf("defaults: %v %+v", err, c)
	}
	for _, bad := range []Options{{Limit: MaxLimit + 1}, {Limit: -1}, {BaseURL: "ftp://x"}, {BaseURL: "::"}, {BaseURL: "http://api.example.test"}} {
		bad.Getenv = func(string) string { return "" }
		if _, err := New(bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct {
		server string
		want   string
	}{
		{"https://github.com", "https://github.com/octo/repo/attestations/123"},
		{"https://ghe.example.com/", "https://ghe.example.com/octo/repo/attestations/123"},
		{"", "https://github.com/octo/repo/attestations/123"},
	} {
		if got := URL(tc.server, "octo", "repo", 123); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.server, got, tc.want)
		}
	}
}

func TestSplitRepo(t *testing.T) {
	if o, r, err := SplitRepo("octo-org/octo-repo"); err != nil || o != "octo-org" || r != "octo-repo" {
		t.Errorf("SplitRepo = %q %q %v", o, r, err)
	}
	for _, bad := range []string{"octo", "a/b/c", "/r", "o/", "o/r?x"} {
		if _, _, err := SplitRepo(bad); err == nil {
			t.Errorf("SplitRepo(%q) accepted", bad)
		}
	}
}
