package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/pypitest"
	"github.com/attest-publish/attest-publish/internal/verification"
)

const jobToken = "glcbt-job-token-0123456789"

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// gitlabOptions publish f's release to reg as a GitLab CI job does.
func (f *fixture) gitlabOptions(t *testing.T, reg *pypitest.GitLabRegistry) Options {
	o := f.options(t)
	o.RepositoryURL = reg.URL()
	o.User = GitLabJobTokenUser
	o.Getenv = envOf(map[string]string{"GITLAB_CI": "true", "CI_JOB_TOKEN": jobToken, "CI_API_V4_URL": reg.APIURL()})
	return o
}

func TestGitLabRegistry(t *testing.T) {
	tests := map[string]bool{
		"https://gitlab.com/api/v4/projects/42/packages/pypi":                         true,
		"https://gitlab.com/api/v4/projects/42/packages/pypi/":                        true,
		"https://gitlab.example.com/gitlab/api/v4/projects/grp%2Fproj/packages/pypi":  true,
		"https://gitlab.com/api/v4/projects/42/packages/pypi/simple/":                 false,
		"https://gitlab.com/api/v4/groups/7/-/packages/pypi":                          false,
		"https://upload.pypi.org/legacy/":                                             false,
		"https://gitlab.com/api/v4/projects/grp/proj/packages/pypi":                   false,
		"https://gitlab.com/api/v4/projects/42/packages/generic/pkg/1.0/file.tar.gz":  false,
		"https://gitlab.example.com/api/v4/projects/42/packages/pypi?private_token=x": true,
	}
	for u, want := range tests {
		if got := IsGitLabRegistry(u); got != want {
			t.Errorf("IsGitLabRegistry(%q) = %v, want %v", u, got, want)
		}
	}
}

// TestPublishToGitLabRegistry: the user gitlab-ci-token with the job's
// CI_JOB_TOKEN, sent on the first request; 201 is success; attestations
// are dropped with a note, not sent; each file's URL is the registry's.
func TestPublishToGitLabRegistry(t *testing.T) {
	f := newSigned(t)
	reg := pypitest.NewGitLabRegistry(t, "42", jobToken)
	var warnings []string
	o := f.gitlabOptions(t, reg)
	o.Warn = func(msg string) { warnings = append(warnings, msg) }
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, f.log.String())
	}
	if got := strings.Join(states(rep), "\n"); got != wheelName+": uploaded\n"+sdistName+": uploaded" {
		t.Errorf("report:\n%s", got)
	}
	ups := reg.Uploads()
	if len(ups) != 2 {
		t.Fatalf("the registry holds %d uploads", len(ups))
	}
	for _, u := range ups {
		if slices.Contains(u.Fields, "attestations") {
			t.Errorf("%s was sent with attestations", u.Filename)
		}
	}
	for i, r := range reg.Requests() {
		if !r.Authorized {
			t.Errorf("request %d (%s %s) was not authorized with the job token (user %q)", i+1, r.Method, r.Path, r.User)
		}
	}
	for _, e := range rep.Entries {
		if !strings.HasPrefix(e.URL, reg.URL()+"/files/") || len(e.Attestations) != 0 {
			t.Errorf("%s: URL %q, %d attestations", e.Dist.Filename, e.URL, len(e.Attestations))
		}
	}
	if !strings.Contains(f.log.String(), "GitLab's PyPI registry ignores PEP 740 attestations") {
		t.Errorf("no note on the attestations:\n%s", f.log.String())
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if strings.Contains(f.log.String()+f.out.String(), jobToken) {
		t.Error("the job token appears in the output")
	}
	if f.index.Mints() != 0 {
		t.Error("a token was minted")
	}
}

// TestGitLabRegistryRefusals: what is refused before anything is read or
// sent, with the fix.
func TestGitLabRegistryRefusals(t *testing.T) {
	f := newSigned(t)
	reg := pypitest.NewGitLabRegistry(t, "42", jobToken)
	other := pypitest.NewGitLabRegistry(t, "42", jobToken)
	tests := []struct {
		name    string
		edit    func(o *Options)
		wantErr []string
	}{
		{name: "CI_JOB_TOKEN missing", edit: func(o *Options) {
			o.Getenv = envOf(map[string]string{"GITLAB_CI": "true", "CI_API_V4_URL": reg.APIURL()})
		}, wantErr: []string{`user "gitlab-ci-token" authenticates with the GitLab CI job token, and CI_JOB_TOKEN is not set`, "--password"}},
		{name: "trusted publishing to the registry", edit: func(o *Options) { o.User = "" },
			wantErr: []string{"GitLab's PyPI registry", "has no trusted publishing", "--user gitlab-ci-token"}},
		{name: "the job token to another index", edit: func(o *Options) { o.RepositoryURL = f.index.URL() },
			wantErr: []string{"refusing to send CI_JOB_TOKEN to " + f.index.URL(), "${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/pypi"}},
		{name: "the job token given explicitly to another index", edit: func(o *Options) {
			o.RepositoryURL, o.User, o.Password = f.index.URL(), "__token__", jobToken
		}, wantErr: []string{"refusing to send CI_JOB_TOKEN"}},
		{name: "the job token to another instance's registry", edit: func(o *Options) { o.RepositoryURL = other.URL() },
			wantErr: []string{"refusing to send CI_JOB_TOKEN to " + other.URL(), "CI_API_V4_URL is " + reg.APIURL()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := f.gitlabOptions(t, reg)
			tt.edit(&o)
			before := len(reg.Requests()) + len(other.Requests()) + f.index.UploadRequests()
			rep, err := Run(context.Background(), o)
			if err == nil {
				t.Fatal("Run succeeded")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), jobToken) {
				t.Error("the error shows the job token")
			}
			if n := len(reg.Requests()) + len(other.Requests()) + f.index.UploadRequests() - before; n != 0 {
				t.Errorf("%d request(s) were sent", n)
			}
			if rep == nil || rep.Live() {
				t.Errorf("report %v", rep)
			}
		})
	}
}

// TestGitLabRegistryLanded: an upload whose connection drops is looked up
// on the registry's own simple index (with the job token) before a retry;
// a project the registry forwards to another index is not "landed" there,
// even when that index has the very file.
func TestGitLabRegistryLanded(t *testing.T) {
	tests := []struct {
		name      string
		action    pypitest.Action
		wantState State
		wantPosts int
	}{
		{name: "stored, then the connection dropped", action: pypitest.StoreDrop, wantState: AlreadyLanded, wantPosts: 2},
		{name: "dropped before storing", action: pypitest.Drop, wantState: Uploaded, wantPosts: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSigned(t)
			reg := pypitest.NewGitLabRegistry(t, "42", jobToken)
			// "pypi.org" lists the release's files with their digests.
			found, err := dists.Find(f.dir)
			if err != nil {
				t.Fatal(err)
			}
			elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, _, ok := r.BasicAuth(); ok {
					t.Errorf("credentials sent off the registry to %s", r.URL)
				}
				for _, d := range found {
					fmt.Fprintf(w, "<a href=\"/packages/%s#sha256=%s\">%s</a>\n", d.Filename, d.SHA256Hex(), d.Filename)
				}
			}))
			defer elsewhere.Close()
			reg.Forward = elsewhere.URL + "/simple"
			reg.Respond = func(n int, _ string) pypitest.Action {
				if n == 1 {
					return tt.action
				}
				return pypitest.Accept
			}
			rep, err := Run(context.Background(), f.gitlabOptions(t, reg))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if e := rep.Entries[0]; e.State != tt.wantState || !strings.HasPrefix(e.URL, reg.URL()+"/files/") {
				t.Errorf("wheel: %s at %q, want %s on the registry", e.State, e.URL, tt.wantState)
			}
			posts := 0
			for _, r := range reg.Requests() {
				if r.Method == http.MethodPost {
					posts++
				}
			}
			if posts != tt.wantPosts {
				t.Errorf("%d uploads, want %d", posts, tt.wantPosts)
			}
		})
	}
}

// TestSelfManagedAttestations: PyPI verifies GitLab attestations for
// gitlab.com only; from a self-managed instance they are refused when asked
// for and dropped with a warning by default.
func TestSelfManagedAttestations(t *testing.T) {
	const (
		gitlabCom = "https://gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main"
		selfSAN   = "https://gitlab.example.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main"
		githubSAN = "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
	)
	tests := []struct {
		name     string
		url      string
		id       verification.Identity
		mode     Attestations
		wantSend bool
		wantErr  string
		wantWarn string
	}{
		{name: "gitlab.com", url: DefaultRepositoryURL, id: verification.Identity{SAN: gitlabCom, Issuer: "https://gitlab.com"}, wantSend: true},
		{name: "github", url: DefaultRepositoryURL, id: verification.Identity{SAN: githubSAN, Issuer: "https://token.actions.githubusercontent.com"}, wantSend: true},
		{name: "self-managed to another index", url: "https://pypi.example.com/legacy/", id: verification.Identity{SAN: selfSAN, Issuer: "https://gitlab.example.com"}, wantSend: true},
		{name: "self-managed to PyPI by default", url: DefaultRepositoryURL, id: verification.Identity{SAN: selfSAN, Issuer: "https://gitlab.example.com"},
			wantWarn: "attestations are not sent: GitLab identity token issuer not accepted: the signer is GitLab CI on \"https://gitlab.example.com\""},
		{name: "self-managed to TestPyPI when asked", url: "https://test.pypi.org/legacy/", id: verification.Identity{SAN: selfSAN, Issuer: "https://gitlab.example.com"}, mode: AttestationsOn,
			wantErr: "nothing was uploaded: GitLab identity token issuer not accepted: the signer is GitLab CI on \"https://gitlab.example.com\", and PyPI accepts PEP 740 attestations from GitLab CI only on https://gitlab.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var warned []string
			id := tt.id
			o := &Options{RepositoryURL: tt.url, Identity: &id, Attestations: tt.mode, Warn: func(m string) { warned = append(warned, m) }}
			send, err := selfManagedAttestations(o, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || send != tt.wantSend {
				t.Fatalf("send %v, err %v", send, err)
			}
			if tt.wantWarn != "" && (len(warned) != 1 || !strings.HasPrefix(warned[0], tt.wantWarn)) {
				t.Errorf("warnings %q, want %q", warned, tt.wantWarn)
			}
		})
	}
}

// TestMissingTokensInGitLabCI: in a GitLab CI job, the error for a missing
// token shows the id_tokens YAML declaring every token the publish run
// needs, and no token reaches the index.
func TestMissingTokensInGitLabCI(t *testing.T) {
	f := newSigned(t)
	sigstoreTok := f.fake.Token(map[string]any{"aud": "sigstore"})
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "no index token", env: map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok},
			want: "GitLab CI gave this job no PYPI_ID_TOKEN"},
		{name: "no token at all", env: map[string]string{},
			want: "GitLab CI gave this job no SIGSTORE_ID_TOKEN"},
		{name: "the Sigstore token where the index's is needed", env: map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok, "PYPI_ID_TOKEN": sigstoreTok},
			want: `reading PYPI_ID_TOKEN: identity token audience mismatch: the token's audience is ["sigstore"], not "pypi"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{"GITLAB_CI": "true", "CI_JOB_NAME": "publish"}
			for k, v := range tt.env {
				e[k] = v
			}
			o := f.options(t)
			o.Getenv = envOf(e)
			o.OIDC = func(ctx context.Context, audience string) (*idtoken.Token, error) {
				return idtoken.Get(ctx, audience, idtoken.Options{Getenv: o.Getenv})
			}
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if errors.Is(err, idtoken.ErrNoToken) && !strings.Contains(err.Error(), "publish:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n    PYPI_ID_TOKEN:\n      aud: pypi") &&
				!strings.Contains(err.Error(), "publish:\n  id_tokens:\n    PYPI_ID_TOKEN:\n      aud: pypi\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore") {
				t.Errorf("the YAML does not declare both tokens:\n%v", err)
			}
			if strings.Contains(err.Error(), sigstoreTok) {
				t.Error("the error shows the token")
			}
			if f.index.Mints() != 0 || f.index.UploadRequests() != 0 {
				t.Errorf("the index minted %d token(s) and got %d upload(s)", f.index.Mints(), f.index.UploadRequests())
			}
		})
	}
}

// TestWithIndexToken: the release pipeline's signing-token error gets the
// index's token too, when the run mints one.
func TestWithIndexToken(t *testing.T) {
	ix := pypitest.NewIndex(t)
	missing := func() error {
		_, err := idtoken.Get(context.Background(), "sigstore", idtoken.Options{Getenv: envOf(map[string]string{"GITLAB_CI": "true", "CI_JOB_NAME": "release"})})
		return fmt.Errorf("signing: %w", err)
	}
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{name: "trusted publishing", o: Options{RepositoryURL: ix.URL()}, want: "PYPI_ID_TOKEN:\n      aud: pypi"},
		{name: "a password", o: Options{RepositoryURL: ix.URL(), Password: "x"}},
		{name: "GitLab's registry", o: Options{RepositoryURL: "https://gitlab.com/api/v4/projects/1/packages/pypi", User: GitLabJobTokenUser}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WithIndexToken(context.Background(), tt.o, missing())
			if !errors.Is(err, idtoken.ErrNoToken) || !strings.HasPrefix(err.Error(), "signing: ") {
				t.Fatalf("err = %v", err)
			}
			if got := strings.Contains(err.Error(), "PYPI_ID_TOKEN"); got != (tt.want != "") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err:\n%v", err)
			}
		})
	}
	other := errors.New("other")
	if err := WithIndexToken(context.Background(), Options{RepositoryURL: ix.URL()}, other); err != other {
		t.Errorf("another error changed: %v", err)
	}
}

// TestRegistryTransport: credentials go only below the registry, and a
// redirect off it reads as 404.
func TestRegistryTransport(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _, _ := r.BasicAuth()
		seen = append(seen, r.URL.Path+" "+u)
		if r.URL.Path == "/api/v4/projects/1/packages/pypi/simple/away/" {
			http.Redirect(w, r, "https://pypi.org/simple/away/", http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL + "/api/v4/projects/1/packages/pypi")
	hc := &http.Client{Transport: &registryTransport{base: base, user: "gitlab-ci-token", pass: "p", next: http.DefaultTransport}}
	for _, tc := range []struct {
		path, wantSeen string
		wantStatus     int
	}{
		{"/api/v4/projects/1/packages/pypi/simple/x/", "/api/v4/projects/1/packages/pypi/simple/x/ gitlab-ci-token", 200},
		{"/api/v4/projects/1/packages/pypi-other/", "/api/v4/projects/1/packages/pypi-other/ ", 200},
		{"/api/v4/projects/2/packages/pypi/simple/x/", "/api/v4/projects/2/packages/pypi/simple/x/ ", 200},
		{"/api/v4/projects/1/packages/pypi/simple/away/", "/api/v4/projects/1/packages/pypi/simple/away/ gitlab-ci-token", 404},
	} {
		seen = nil
		resp, err := hc.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || len(seen) != 1 || seen[0] != tc.wantSeen {
			t.Errorf("%s: status %d, seen %q", tc.path, resp.StatusCode, seen)
		}
	}
}

// TestAcceptCreated: 201 is success from GitLab's registry only.
