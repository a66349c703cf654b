package gitlab

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/gitlabtest"
)

const jobToken = "glcbt-64_secret-job-token"

func TestParsePackageURL(t *testing.T) {
	tests := []struct {
		raw, wantErr        string
		name, version, api  string
		project, normalized string
	}{
		{raw: "https://gitlab.example.com/api/v4/projects/42/packages/generic/sampleproject/4.0.0", name: "sampleproject", version: "4.0.0", api: "https://gitlab.example.com/api/v4", project: "42"},
		{raw: "https://gitlab.example.com/api/v4/projects/group%2Fproj/packages/generic/pkg/1.0+local.1/", name: "pkg", version: "1.0+local.1", api: "https://gitlab.example.com/api/v4", project: "group%2Fproj", normalized: "https://gitlab.example.com/api/v4/projects/group%2Fproj/packages/generic/pkg/1.0+local.1"},
		{raw: "http://127.0.0.1:8080/api/v4/projects/1/packages/generic/a/1", name: "a", version: "1", api: "http://127.0.0.1:8080/api/v4", project: "1"},
		{raw: "http://gitlab.example.com/api/v4/projects/1/packages/generic/a/1", wantErr: "plain http"},
		{raw: "https://user:pw@gitlab.example.com/api/v4/projects/1/packages/generic/a/1", wantErr: "no user information"},
		{raw: "https://gitlab.example.com/api/v4/projects/1/packages/generic/a/1?x=1", wantErr: "no user information, query"},
		{raw: "https://gitlab.example.com/api/v4/projects/1/packages/pypi", wantErr: "want <API URL>/projects/<id>/packages/generic"},
		{raw: "https://gitlab.example.com/api/v4/projects/1/packages/generic/a%20b/1", wantErr: `package name "a b"`},
		{raw: "https://gitlab.example.com/api/v4/projects/1/packages/generic/a/1..2", wantErr: `package version "1..2"`},
		{raw: "ftp://gitlab.example.com/x", wantErr: "absolute https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			p, err := ParsePackageURL(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.normalized
			if want == "" {
				want = tt.raw
			}
			if p.Name != tt.name || p.Version != tt.version || p.APIURL != tt.api || p.Project != tt.project || p.String() != want {
				t.Errorf("got %+v (%s)", p, p)
			}
		})
	}
	p, err := PackageURLFor("https://gitlab.example.com/api/v4/", "42", "sampleproject", "4.0.0")
	if err != nil || p.FileURL("x-4.0.0.tar.gz.sig") != "https://gitlab.example.com/api/v4/projects/42/packages/generic/sampleproject/4.0.0/x-4.0.0.tar.gz.sig" {
		t.Errorf("PackageURLFor: %v %v", p, err)
	}
	if _, err := PackageURLFor("", "42", "a", "1"); err == nil || !strings.Contains(err.Error(), "CI_API_V4_URL and CI_PROJECT_ID") {
		t.Errorf("PackageURLFor without the API URL: %v", err)
	}
}

func TestTokenFromEnv(t *testing.T) {
	target, _ := url.Parse("https://gitlab.example.com/api/v4/projects/1/packages/generic/a/1")
	tests := []struct {
		name              string
		env               map[string]string
		header, from, err string
	}{
		{name: "job token on its instance", env: map[string]string{"CI_JOB_TOKEN": "j", "CI_API_V4_URL": "https://gitlab.example.com/api/v4", "GITLAB_TOKEN": "p"}, header: JobTokenHeader, from: "CI_JOB_TOKEN"},
		{name: "job token without instance variables", env: map[string]string{"CI_JOB_TOKEN": "j"}, header: JobTokenHeader, from: "CI_JOB_TOKEN"},
		{name: "job token elsewhere", env: map[string]string{"CI_JOB_TOKEN": "j", "CI_SERVER_URL": "https://gitlab.com"}, err: "refusing to send $CI_JOB_TOKEN to https://gitlab.example.com"},
		{name: "personal token", env: map[string]string{"GITLAB_TOKEN": "personal-secret"}, header: PrivateTokenHeader, from: "GITLAB_TOKEN"},
		{name: "deploy token", env: map[string]string{"GITLAB_DEPLOY_TOKEN": "deploy-secret"}, header: DeployTokenHeader, from: "GITLAB_DEPLOY_TOKEN"},
		{name: "none", env: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := TokenFromEnv(func(k string) string { return tt.env[k] }, target)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\"j\"") {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || tok.Header != tt.header || tok.From != tt.from {
				t.Fatalf("got %+v, %v", tok, err)
			}
			if tok.Value != "" && strings.Contains(tok.String(), tok.Value) {
				t.Errorf("String() shows the secret: %s", tok)
			}
		})
	}
}

// material writes n small files and returns them as Files.
func material(t *testing.T, names ...string) []File {
	t.Helper()
	dir := t.TempDir()
	var out []File
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("content of "+n), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, File{Name: n, Path: p})
	}
	return out
}

func newClient(t *testing.T, api string, tok Token) *Client {
	t.Helper()
	pkg, err := ParsePackageURL(gitlabtest.PackageURL(api, "42", "sampleproject", "4.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Package: pkg, Token: tok, Timeout: 5 * time.Second, Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func states(rep *Report) string {
	var s []string
	for _, f := range rep.Files {
		s = append(s, f.Name+"="+string(f.State))
	}
	return strings.Join(s, " ")
}

var names = []string{"a-4.0.0.tar.gz.sigstore.json", "a-4.0.0.tar.gz.sig", "a-4.0.0.tar.gz.crt"}

func TestStore(t *testing.T) {
	tok := Token{Header: JobTokenHeader, Value: jobToken, From: "CI_JOB_TOKEN"}
	tests := []struct {
		name string
		// setup prepares the registry (existing files, injected failures).
		setup func(r *gitlabtest.Registry, files []File)
		token Token
		// want is the states after the first run; rerun those after a
		// rerun with the failures gone ("" for no rerun).
		want, rerun string
		// errHas must be in the first run's error ("" for success).
		errHas []string
		// stored is how many files the registry holds after the first run.
		stored int
	}{
		{
			name:   "fresh package",
			token:  tok,
			want:   "a-4.0.0.tar.gz.sigstore.json=stored a-4.0.0.tar.gz.sig=stored a-4.0.0.tar.gz.crt=stored",
			rerun:  "a-4.0.0.tar.gz.sigstore.json=already stored a-4.0.0.tar.gz.sig=already stored a-4.0.0.tar.gz.crt=already stored",
			stored: 3,
		},
		{
			name: "registry fails halfway",
			setup: func(r *gitlabtest.Registry, _ []File) {
				r.Fail = func(method string, n int, _ string) (int, bool) {
					if method == http.MethodPut && n >= 2 {
						return http.StatusInternalServerError, false
					}
					return 0, false
				}
			},
			token: tok,
			want:  "a-4.0.0.tar.gz.sigstore.json=stored a-4.0.0.tar.gz.sig=not stored a-4.0.0.tar.gz.crt=not stored",
			rerun: "a-4.0.0.tar.gz.sigstore.json=already stored a-4.0.0.tar.gz.sig=stored a-4.0.0.tar.gz.crt=stored",
			errHas: []string{
				"1 of 3 file(s) in the registry, 2 not stored",
				"NOT STORED      a-4.0.0.tar.gz.sig: PUT http",
				"HTTP 500 (Internal Server Error) after 3 attempts",
				"a-4.0.0.tar.gz.crt: not attempted: stopped after a-4.0.0.tar.gz.sig failed",
				"rerun to finish",
			},
			stored: 1,
		},
		{
			name: "a failed attempt had landed",
			setup: func(r *gitlabtest.Registry, _ []File) {
				r.Fail = func(method string, n int, _ string) (int, bool) {
					return map[bool]int{true: http.StatusBadGateway}[method == http.MethodPut && n == 1], true
				}
			},
			token:  tok,
			want:   "a-4.0.0.tar.gz.sigstore.json=stored a-4.0.0.tar.gz.sig=stored a-4.0.0.tar.gz.crt=stored",
			stored: 3,
		},
		{
			name: "other bytes stored under a name",
			setup: func(r *gitlabtest.Registry, files []File) {
				r.Put("42", "sampleproject", "4.0.0", files[0].Name, []byte("old"))
			},
			token:  tok,
			want:   "a-4.0.0.tar.gz.sigstore.json=stored a-4.0.0.tar.gz.sig=stored a-4.0.0.tar.gz.crt=stored",
			rerun:  "a-4.0.0.tar.gz.sigstore.json=already stored a-4.0.0.tar.gz.sig=already stored a-4.0.0.tar.gz.crt=already stored",
			stored: 4,
		},
		{
			name: "duplicates forbidden",
			setup: func(r *gitlabtest.Registry, files []File) {
				r.NoDuplicates = true
				r.Put("42", "sampleproject", "4.0.0", files[1].Name, []byte("old"))
			},
			token:  tok,
			want:   "a-4.0.0.tar.gz.sigstore.json=stored a-4.0.0.tar.gz.sig=not stored a-4.0.0.tar.gz.crt=not stored",
			errHas: []string{"Duplicate package is not allowed", "store under a new version"},
			stored: 2,
		},
		{
			name:   "wrong token",
			token:  Token{Header: JobTokenHeader, Value: "wrong-secret", From: "CI_JOB_TOKEN"},
			want:   "a-4.0.0.tar.gz.sigstore.json=not stored a-4.0.0.tar.gz.sig=not stored a-4.0.0.tar.gz.crt=not stored",
			errHas: []string{"HTTP 401", "GitLab refused $CI_JOB_TOKEN (JOB-TOKEN header): it is invalid or expired"},
		},
		{
			name:   "no token",
			setup:  func(r *gitlabtest.Registry, _ []File) { r.Public = true },
			want:   "a-4.0.0.tar.gz.sigstore.json=not stored a-4.0.0.tar.gz.sig=not stored a-4.0.0.tar.gz.crt=not stored",
			errHas: []string{"HTTP 401", "$CI_JOB_TOKEN is set"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := gitlabtest.New(jobToken)
			api := gitlabtest.Start(t, reg)
			files := material(t, names...)
			if tt.setup != nil {
				tt.setup(reg, files)
			}
			c := newClient(t, api, tt.token)
			var progress []string
			rep, err := c.Store(context.Background(), files, func(s string) { progress = append(progress, s) })
			if got := states(rep); got != tt.want {
				t.Fatalf("states:\n got %s\nwant %s", got, tt.want)
			}
			if len(progress) == 0 {
				t.Error("no progress lines")
			}
			if len(tt.errHas) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			for _, s := range tt.errHas {
				var se *StoreError
				if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), s) {
					t.Errorf("error %v\nwant it to contain %q", err, s)
				}
			}
			if err != nil && (strings.Contains(err.Error(), jobToken) || strings.Contains(err.Error(), "wrong-secret")) {
				t.Errorf("the error shows the token: %v", err)
			}
			for _, r := range reg.Requests() {
				if r.Token != "" && r.Header != tt.token.Header {
					t.Errorf("token sent in %s, want %s", r.Header, tt.token.Header)
				}
			}
			if n := len(reg.Files()); n != tt.stored {
				t.Errorf("the registry holds %d files, want %d", n, tt.stored)
			}
			// GitLab serves the newest file of a name: ours.
			for _, f := range rep.Files {
				if f.State == NotStored {
					continue
				}
				data, err := c.Download(context.Background(), f.Name, MaxFileSize)
				if err != nil || string(data) != "content of "+f.Name {
					t.Errorf("download of %s: %q, %v", f.Name, data, err)
				}
			}
			if tt.rerun == "" {
				return
			}
			reg.Fail = nil
			rep, err = c.Store(context.Background(), files, nil)
			if err != nil || states(rep) != tt.rerun {
				t.Errorf("rerun: %s, %v\nwant %s", states(rep), err, tt.rerun)
			}
		})
	}
}

// TestTokenStaysHome: a redirect to another origin is refused, and the
// other server never sees the token.
func TestTokenStaysHome(t *testing.T) {
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get(JobTokenHeader)+r.Header.Get("Authorization"))
		w.Write([]byte("x"))
	}))
	defer other.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(JobTokenHeader) != jobToken {
			t.Errorf("home got no token")
		}
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer home.Close()
	c := newClient(t, home.URL+"/api/v4", Token{Header: JobTokenHeader, Value: jobToken, From: "CI_JOB_TOKEN"})
	_, err := c.Download(context.Background(), "a.sig", 1024)
	if err == nil || !strings.Contains(err.Error(), "refusing to follow the redirect") {
		t.Fatalf("want the redirect refused, got %v", err)
	}
	for _, s := range seen {
		if s != "" {
			t.Errorf("the other origin saw a credential")
		}
	}
}

func TestDownloadBounds(t *testing.T) {
	reg := gitlabtest.New(jobToken)
	reg.Public = true
	api := gitlabtest.Start(t, reg)
	reg.Put("42", "sampleproject", "4.0.0", "big.json", make([]byte, 2048))
	c := newClient(t, api, Token{})
	if _, err := c.Download(context.Background(), "big.json", 1024); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("want the download bounded, got %v", err)
	}
	if _, err := c.Download(context.Background(), "missing.json", 1024); !errors.Is(err, ErrNotFound) {
		t.Errorf("want ErrNotFound, got %v", err)
	}
	if _, err := c.Download(context.Background(), "../x", 1024); err == nil || !strings.Contains(err.Error(), "only letters") {
		t.Errorf("want the file name refused, got %v", err)
	}
}
