//go:build e2e

package e2e

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// GitLab CI jobs as attest-publish meets them: the id_tokens a job declares
// (SIGSTORE_ID_TOKEN for Fulcio, <AUDIENCE>_ID_TOKEN for the index), the
// refusals that come before any token leaves the job, and GitLab's own
// PyPI registry with the job token. GitLab-shaped tokens come from the
// stack's issuer (kind=gitlab), whose GitLab issuer plays the job's
// instance (CI_SERVER_URL).

// gitlabJobToken is the stand-in registry's CI_JOB_TOKEN.
const gitlabJobToken = "glcbt-e2e-job-token-7c1f0a"

// gitlabProjectID is the stand-in registry's project ID.
const gitlabProjectID = "700000001"

// gitlabEnv is the environment of a GitLab CI job of octo-org/octo-repo on
// the stack's GitLab issuer, with the given variables added (its id_tokens,
// CI_JOB_TOKEN…).
func gitlabEnv(vars map[string]string) map[string]string {
	e := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.TempDir(), "CI": "true", "GITLAB_CI": "true",
		"CI_SERVER_URL": env.issuer + "/gitlab", "CI_JOB_NAME": "release", "CI_PROJECT_PATH": "octo-org/octo-repo",
		"CI_PROJECT_ID": gitlabProjectID, "CI_CONFIG_PATH": ".gitlab-ci.yml", "CI_COMMIT_REF_NAME": "main",
	}
	for k, v := range vars {
		e[k] = v
	}
	return e
}

// gitlabToken mints a GitLab CI token for audience with claim overrides
// (query: "&claim=value…", "&delete=claim,…", "&audiences=a,b").
func gitlabToken(t *testing.T, audience, query string) string {
	t.Helper()
	return mintToken(t, "&audience="+url.QueryEscape(audience)+"&kind=gitlab"+query)
}

// seenRequest is one request a recording server received.
type seenRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

// recorder keeps every request a test server receives.
type recorder struct {
	mu   sync.Mutex
	seen []seenRequest
}

func (r *recorder) record(req *http.Request) []byte {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, seenRequest{method: req.Method, path: req.URL.Path, header: req.Header.Clone(), body: body})
	return body
}

func (r *recorder) requests() []seenRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seenRequest(nil), r.seen...)
}

// carried reports whether any request carried secret (in a header or the
// body).
func (r *recorder) carried(secret string) bool {
	for _, s := range r.requests() {
		for _, vs := range s.header {
			for _, v := range vs {
				if strings.Contains(v, secret) {
					return true
				}
			}
		}
		if bytes.Contains(s.body, []byte(secret)) {
			return true
		}
	}
	return false
}

// startRecordingIndex starts an index that answers only PyPI's audience
// query ("pypi") and records every request: what a token must never reach.
// It returns the upload URL.
func startRecordingIndex(t *testing.T) (string, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		if r.Method == http.MethodGet && r.URL.Path == "/_/oidc/audience" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"audience":"pypi"}`)
			return
		}
		http.Error(w, "not expected in this test", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/legacy/", rec
}

// onlyAudienceQueries fails the test unless every request rec saw is the
// audience query, which carries no token, and none carried secret.
func onlyAudienceQueries(t *testing.T, rec *recorder, secret string) {
	t.Helper()
	for _, s := range rec.requests() {
		if s.method != http.MethodGet || s.path != "/_/oidc/audience" {
			t.Errorf("the index got %s %s", s.method, s.path)
		}
	}
	if rec.carried(secret) {
		t.Error("the token reached the index")
	}
}

// gitlabRegistry is a stand-in for a private GitLab project's PyPI package
// registry, the smallest that implements its documented contract for
// twine-style clients (GitLab's doc/user/packages/pypi_repository and
// lib/api/pypi_packages.rb): uploads at
// /api/v4/projects/<id>/packages/pypi with Basic auth, the user
// gitlab-ci-token and the job token as password (no credentials: 404, as
// for a private project; wrong ones: 401), answered 201 Created; the simple
// index below it at /simple/, linking each file as
// …/packages/pypi/files/<sha256>/<filename>. It is not GitLab: behind it is
// pypiserver (through its own htpasswd user), whose simple pages' links it
// rewrites to those paths and whose files it serves at them. It records
// every request and each upload's form field names (GitLab ignores the
// ones it does not declare, attestations among them).
type gitlabRegistry struct {
	url     string // ${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/pypi
	api     string // CI_API_V4_URL
	rec     recorder
	mu      sync.Mutex
	fields  [][]string
	packDir string
}

// startGitLabRegistry starts pypiserver (test/indexfront's harness) and the
// stand-in in front of it.
func startGitLabRegistry(t *testing.T) *gitlabRegistry {
	t.Helper()
	index := startIndex(t)
	upstream, err := url.Parse(index["INDEXFRONT_UPSTREAM_URL"])
	if err != nil {
		t.Fatal(err)
	}
	g := &gitlabRegistry{packDir: index["INDEXFRONT_PACKAGES_DIR"]}
	prefix := "/api/v4/projects/" + gitlabProjectID + "/packages/pypi"
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			p := strings.TrimPrefix(r.In.URL.Path, prefix)
			if p == "" {
				p = "/"
			}
			if m := gitlabFilePath.FindStringSubmatch(p); m != nil {
				p = "/packages/" + m[2]
			}
			r.Out.URL.Path, r.Out.URL.RawPath = p, ""
			r.Out.Header.Del("Authorization")
			r.Out.Header.Del("Accept-Encoding")
			if r.In.Method == http.MethodPost {
				r.Out.SetBasicAuth(index["INDEXFRONT_UPSTREAM_USER"], index["INDEXFRONT_UPSTREAM_PASSWORD"])
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Method == http.MethodGet && strings.HasPrefix(resp.Request.URL.Path, "/simple/") && resp.StatusCode == http.StatusOK {
				// Link the files as GitLab does: files/<sha256>/<filename>.
				page, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					return err
				}
				page = pypiserverLink.ReplaceAll(page, []byte(`href="`+prefix+`/files/$2/$1#sha256=$2"`))
				resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(page)), int64(len(page))
				resp.Header.Del("Content-Length")
				return nil
			}
			if resp.Request.Method == http.MethodPost && resp.StatusCode == http.StatusOK {
				// GitLab answers an upload with 201 Created.
				resp.StatusCode, resp.Status = http.StatusCreated, "201 Created"
				resp.Body.Close()
				body := `{"message":"201 Created"}`
				resp.Body, resp.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
				resp.Header.Set("Content-Type", "application/json")
				resp.Header.Del("Content-Length")
			}
			return nil
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := g.rec.record(r)
		user, pass, ok := r.BasicAuth()
		rest, inProject := strings.CutPrefix(r.URL.Path, prefix)
		switch {
		case !inProject || !ok:
			http.Error(w, `{"message":"404 Project Not Found"}`, http.StatusNotFound)
			return
		case user != "gitlab-ci-token" || pass != gitlabJobToken:
			http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
			return
		case r.Method == http.MethodPost && (rest == "" || rest == "/"):
			g.mu.Lock()
			g.fields = append(g.fields, formFields(body, r.Header.Get("Content-Type")))
			g.mu.Unlock()
		case r.Method == http.MethodGet && (strings.HasPrefix(rest, "/simple/") || gitlabFilePath.MatchString(rest)):
		default:
			http.Error(w, `{"message":"404 Not Found"}`, http.StatusNotFound)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.api = srv.URL + "/api/v4"
	g.url = g.api + "/projects/" + gitlabProjectID + "/packages/pypi"
	return g
}

// pypiserverLink matches a link of pypiserver's simple pages.
var pypiserverLink = regexp.MustCompile(`href="(?:\.\./\.\./|/)packages/([^"#/]+)#sha256=([0-9a-f]{64})"`)

// gitlabFilePath matches the path of a file below the registry.
var gitlabFilePath = regexp.MustCompile(`^/files/([0-9a-f]{64})/([^/]+)$`)

// formFields lists the names of a multipart form's fields.
func formFields(body []byte, contentType string) []string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var names []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			return names
		}
		names = append(names, p.FormName())
	}
}

// uploadFields returns the field names of each upload, in order.
func (g *gitlabRegistry) uploadFields() [][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]string(nil), g.fields...)
}

// signGitLab signs the sample dists as a GitLab CI job does.
func signGitLab(t *testing.T) string {
	t.Helper()
	dir := copyDists(t)
	e := gitlabEnv(map[string]string{"SIGSTORE_ID_TOKEN": gitlabToken(t, "sigstore", "")})
	if res := sign(t, e, append(trustArgs(env.signingConfig), "--packages-dir", dir)...); res.code != 0 {
		t.Fatalf("sign failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	return dir
}

// publicGoodSigningConfig writes the services of public-good Sigstore as a
// signing config (nothing is ever sent to them here).
func publicGoodSigningConfig(t *testing.T) string {
	t.Helper()
	doc := `{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
"caUrls":[{"url":"https://fulcio.sigstore.dev","majorApiVersion":1,"validFor":{"start":"2023-04-14T21:38:40Z"}}],
"oidcUrls":[{"url":"https://oauth2.sigstore.dev/auth","majorApiVersion":1,"validFor":{"start":"2025-04-16T00:00:00Z"}}],
"rekorTlogUrls":[{"url":"https://rekor.sigstore.dev","majorApiVersion":1,"validFor":{"start":"2021-01-12T11:53:27Z"}}],
"rekorTlogConfig":{"selector":"ANY"},
"tsaUrls":[{"url":"https://timestamp.sigstore.dev/api/v1/timestamp","majorApiVersion":1,"validFor":{"start":"2025-07-04T00:00:00Z"}}],
"tsaConfig":{"selector":"ANY"}}`
	path := filepath.Join(t.TempDir(), "public-good-signing-config.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGitLabTokenSignRefusals: what sign refuses from a GitLab CI job's
// tokens, with the fix, before the Fulcio request (the stack's Fulcio
// issues no certificate) and without leaving outputs behind.
func TestGitLabTokenSignRefusals(t *testing.T) {
	tests := []struct {
		name string
		vars func(t *testing.T) map[string]string
		args []string
		want []string
	}{
		{
			name: "no id_tokens declared",
			vars: func(t *testing.T) map[string]string { return nil },
			want: []string{"GitLab CI gave this job no SIGSTORE_ID_TOKEN", "release:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore"},
		},
		{
			name: "a multi-audience token",
			vars: func(t *testing.T) map[string]string {
				return map[string]string{"SIGSTORE_ID_TOKEN": gitlabToken(t, "sigstore", "&audiences=sigstore,pypi")}
			},
			want: []string{`reading SIGSTORE_ID_TOKEN: identity token audience mismatch: the token is for 2 audiences ["sigstore", "pypi"]`},
		},
		{
			name: "a token without ci_config_ref_uri (child pipeline)",
			vars: func(t *testing.T) map[string]string {
				return map[string]string{"SIGSTORE_ID_TOKEN": gitlabToken(t, "sigstore", "&delete=ci_config_ref_uri,ci_config_sha&pipeline_source=parent_pipeline")}
			},
			want: []string{"the GitLab identity token has no ci_config_ref_uri claim (the identity token in SIGSTORE_ID_TOKEN)", "Sigstore's Fulcio would refuse it", "child pipelines"},
		},
		{
			name: "a token from another instance than the job's",
			vars: func(t *testing.T) map[string]string {
				return map[string]string{"SIGSTORE_ID_TOKEN": gitlabToken(t, "sigstore", ""), "CI_SERVER_URL": "https://gitlab.example.com"}
			},
			want: []string{`but this job runs on the GitLab instance "https://gitlab.example.com" (CI_SERVER_URL)`},
		},
		{
			name: "a self-managed instance with public-good Sigstore",
			vars: func(t *testing.T) map[string]string {
				return map[string]string{"SIGSTORE_ID_TOKEN": gitlabToken(t, "sigstore", "")}
			},
			args: []string{"--signing-config", "PUBLIC-GOOD"},
			want: []string{"public-good Sigstore's Fulcio (https://fulcio.sigstore.dev) certifies GitLab CI tokens only from https://gitlab.com", "--signing-config and --trusted-root"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDists(t)
			args := append(trustArgs(env.signingConfig), "--packages-dir", dir)
			if len(tt.args) > 0 {
				args = []string{"--signing-config", publicGoodSigningConfig(t), "--trusted-root", env.trustedRoot, "--packages-dir", dir}
			}
			vars := tt.vars(t)
			before := fulcioCerts(t)
			res := sign(t, gitlabEnv(vars), args...)
			if res.code != 1 {
				t.Fatalf("sign exit %d, want 1:\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			t.Logf("refusal:\n%s", res.stderr)
			for _, w := range tt.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("the refusal lacks %q:\n%s", w, res.stderr)
				}
			}
			for k, v := range vars {
				if strings.HasSuffix(k, "_ID_TOKEN") && strings.Contains(res.stdout+res.stderr, v) {
					t.Error("the output shows the token")
				}
			}
			if n := fulcioCerts(t) - before; n != 0 {
				t.Errorf("Fulcio issued %d certificate(s): the refusal came after the Fulcio request", n)
			}
			if matches, _ := filepath.Glob(filepath.Join(dir, "*.sigstore.json")); len(matches) != 0 {
				t.Errorf("signed outputs left behind: %v", matches)
			}
		})
	}
}

// TestGitLabTokenPublishRefusals: what publish refuses from a GitLab CI
// job, each before any token reaches the index: the index sees at most its
// audience query, which carries none.
func TestGitLabTokenPublishRefusals(t *testing.T) {
	dir := signGitLab(t)
	sigstoreTok := gitlabToken(t, "sigstore", "")
	tests := []struct {
		name   string
		vars   map[string]string
		args   []string
		secret string
		want   []string
	}{
		{
			name: "no index token declared: the YAML declares both",
			vars: map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok},
			want: []string{"GitLab CI gave this job no PYPI_ID_TOKEN", "SIGSTORE_ID_TOKEN (audience \"sigstore\", for signing with Sigstore's Fulcio), which is set",
				"release:\n  id_tokens:\n    PYPI_ID_TOKEN:\n      aud: pypi\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore"},
			secret: sigstoreTok,
		},
		{
			name:   "the Sigstore token in PYPI_ID_TOKEN",
			vars:   map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok, "PYPI_ID_TOKEN": sigstoreTok},
			want:   []string{`reading PYPI_ID_TOKEN: identity token audience mismatch: the token's audience is ["sigstore"], not "pypi"`},
			secret: sigstoreTok,
		},
		{
			name:   "the Sigstore token given explicitly",
			vars:   map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok},
			args:   []string{"--identity-token", sigstoreTok},
			want:   []string{"GitLab CI gave this job no PYPI_ID_TOKEN", "--identity-token) was not used: its audience is [\"sigstore\"], not \"pypi\""},
			secret: sigstoreTok,
		},
		{
			name:   "a multi-audience index token",
			vars:   map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok, "PYPI_ID_TOKEN": "MULTI"},
			want:   []string{`reading PYPI_ID_TOKEN: identity token audience mismatch: the token is for 2 audiences ["pypi", "sigstore"]`},
			secret: "MULTI",
		},
		{
			name:   "an index token without ci_config_ref_uri",
			vars:   map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok, "PYPI_ID_TOKEN": "NOCONFIG"},
			want:   []string{"no ci_config_ref_uri claim (the identity token in PYPI_ID_TOKEN)", `the index (audience "pypi") would refuse it`},
			secret: "NOCONFIG",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range tt.vars {
				switch v {
				case "MULTI":
					v = gitlabToken(t, "pypi", "&audiences=pypi,sigstore")
				case "NOCONFIG":
					v = gitlabToken(t, "pypi", "&delete=ci_config_ref_uri")
				}
				vars[k] = v
				if tt.secret == tt.vars[k] {
					tt.secret = v
				}
			}
			upload, rec := startRecordingIndex(t)
			res := publish(t, gitlabEnv(vars), append([]string{"--repository-url", upload, "--packages-dir", dir, "--trusted-root", env.trustedRoot}, tt.args...)...)
			if res.code != 1 {
				t.Fatalf("publish exit %d, want 1:\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			t.Logf("refusal:\n%s", res.stderr)
			for _, w := range tt.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("the refusal lacks %q:\n%s", w, res.stderr)
				}
			}
			if strings.Contains(res.stdout+res.stderr, tt.secret) {
				t.Error("the output shows the token")
			}
			onlyAudienceQueries(t, rec, tt.secret)
		})
	}

	t.Run("PEP 740 attestations from a self-managed instance to PyPI", func(t *testing.T) {
		// Nothing reaches upload.pypi.org: the refusal comes first.
		e := gitlabEnv(map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok, "PYPI_ID_TOKEN": gitlabToken(t, "pypi", "")})
		res := publish(t, e, "--repository-url", "https://upload.pypi.org/legacy/", "--packages-dir", dir, "--trusted-root", env.trustedRoot, "--attestations=true")
		if res.code != 1 {
			t.Fatalf("publish exit %d, want 1:\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		t.Logf("refusal:\n%s", res.stderr)
		for _, w := range []string{"the signer is GitLab CI on \"" + env.issuer + "/gitlab\"", "PyPI accepts PEP 740 attestations from GitLab CI only on https://gitlab.com", "--attestations=false"} {
			if !strings.Contains(res.stderr, w) {
				t.Errorf("the refusal lacks %q:\n%s", w, res.stderr)
			}
		}
	})

	t.Run("release: the signing token's YAML names the index's too", func(t *testing.T) {
		upload, rec := startRecordingIndex(t)
		before := fulcioCerts(t)
		res := command(t, gitlabEnv(nil), "release", append(trustArgs(env.signingConfig), "--packages-dir", copyDists(t), "--repository-url", upload)...)
		if res.code != 1 || !strings.Contains(res.stderr, "release:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n    PYPI_ID_TOKEN:\n      aud: pypi") {
			t.Fatalf("release exit %d, want 1 with both tokens' YAML:\n%s", res.code, res.stderr)
		}
		if n := fulcioCerts(t) - before; n != 0 {
			t.Errorf("Fulcio issued %d certificate(s)", n)
		}
		onlyAudienceQueries(t, rec, "eyJ")
	})
}

// TestGitLabTokenRegistry publishes a GitLab CI job's signed release to the
// GitLab PyPI registry stand-in with the user gitlab-ci-token and the job's
// CI_JOB_TOKEN (sent on the first request), attestations dropped with a
// note, then installs it with pip from the registry's simple index.
func TestGitLabTokenRegistry(t *testing.T) {
	reg := startGitLabRegistry(t)
	dir := signGitLab(t)
	vars := map[string]string{"SIGSTORE_ID_TOKEN": gitlabToken(t, "sigstore", ""), "CI_JOB_TOKEN": gitlabJobToken, "CI_API_V4_URL": reg.api}

	t.Run("CI_JOB_TOKEN missing", func(t *testing.T) {
		e := gitlabEnv(vars)
		delete(e, "CI_JOB_TOKEN")
		res := publish(t, e, "--repository-url", reg.url, "--user", "gitlab-ci-token", "--packages-dir", dir, "--trusted-root", env.trustedRoot)
		want := `user "gitlab-ci-token" authenticates with the GitLab CI job token, and CI_JOB_TOKEN is not set`
		if res.code != 1 || !strings.Contains(res.stderr, want) {
			t.Fatalf("publish exit %d, want 1 saying %q:\n%s\n%s", res.code, want, res.stdout, res.stderr)
		}
		if n := len(reg.rec.requests()); n != 0 {
			t.Errorf("the registry got %d request(s)", n)
		}
	})

	t.Run("the job token to another index", func(t *testing.T) {
		upload, rec := startRecordingIndex(t)
		res := publish(t, gitlabEnv(vars), "--repository-url", upload, "--user", "gitlab-ci-token", "--packages-dir", dir, "--trusted-root", env.trustedRoot)
		if res.code != 1 || !strings.Contains(res.stderr, "refusing to send CI_JOB_TOKEN to "+upload) {
			t.Fatalf("publish exit %d, want 1 refusing to send the job token:\n%s", res.code, res.stderr)
		}
		if n := len(rec.requests()); n != 0 {
			t.Errorf("the other index got %d request(s)", n)
		}
	})

	t.Run("publish and install", func(t *testing.T) {
		res := publish(t, gitlabEnv(vars), "--repository-url", reg.url, "--user", "gitlab-ci-token", "--packages-dir", dir, "--trusted-root", env.trustedRoot)
		if res.code != 0 {
			t.Fatalf("publish failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		out := res.stdout + res.stderr
		t.Logf("publish output:\n%s", out)
		if !strings.Contains(out, "GitLab's PyPI registry ignores PEP 740 attestations") {
			t.Error("no note that the registry ignores attestations")
		}
		if strings.Contains(out, "warning") {
			t.Error("publishing to the registry warned")
		}
		if strings.Contains(out, gitlabJobToken) {
			t.Error("the job token appears in the output")
		}
		for _, d := range distFiles(t, dir) {
			if !reportState(out, filepath.Base(d), "uploaded") {
				t.Errorf("%s is not reported uploaded", filepath.Base(d))
			}
			if !strings.Contains(out, "/packages/pypi/files/"+digest(t, d)+"/"+filepath.Base(d)) {
				t.Errorf("the report does not give %s's URL on the registry", filepath.Base(d))
			}
		}
		seen := reg.rec.requests()
		if len(seen) == 0 {
			t.Fatal("the registry got no request")
		}
		for i, s := range seen {
			if u, p, ok := (&http.Request{Header: s.header}).BasicAuth(); !ok || u != "gitlab-ci-token" || p != gitlabJobToken {
				t.Errorf("request %d (%s %s) did not carry the job token", i+1, s.method, s.path)
			}
		}
		fields := reg.uploadFields()
		if len(fields) != 2 {
			t.Fatalf("%d uploads, want 2", len(fields))
		}
		for _, f := range fields {
			for _, name := range f {
				if name == "attestations" {
					t.Error("attestations were sent to the registry")
				}
			}
		}
		stored, _ := os.ReadDir(reg.packDir)
		if len(stored) != 2 {
			t.Errorf("pypiserver holds %v", stored)
		}

		venv := filepath.Join(t.TempDir(), "venv")
		if out, err := python(t, "-m", "venv", venv); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		u, err := url.Parse(reg.url + "/simple/")
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("gitlab-ci-token", gitlabJobToken)
		if out, err := tool(t, filepath.Join(venv, "bin", "pip"), "install", "-q", "--no-deps", "--index-url", u.String(), "attest-publish-sample==0.1.0"); err != nil {
			t.Fatalf("pip install from the registry: %v\n%s", err, out)
		}
		if out, err := tool(t, filepath.Join(venv, "bin", "python"), "-c", "import attest_publish_sample as m; print(m.__version__)"); err != nil || strings.TrimSpace(out) != "0.1.0" {
			t.Errorf("installed package: %v %q", err, out)
		}
	})
}
