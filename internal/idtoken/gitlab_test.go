package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// gitlabClaims are the claims of a GitLab CI id_token on gitlab.com for
// audience aud, with overrides (a nil value deletes the claim).
func gitlabClaims(aud any, overrides map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": "https://gitlab.com", "aud": aud, "sub": "project_path:octo-org/octo-repo:ref_type:branch:ref:main",
		"ci_config_ref_uri": "gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main", "ci_config_sha": "0123456789abcdef0123456789abcdef01234567",
		"project_path": "octo-org/octo-repo", "namespace_path": "octo-org", "pipeline_id": "1200000001", "job_id": "7000000001",
		"ref_path": "refs/heads/main", "sha": "0123456789abcdef0123456789abcdef01234567",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestEnvVarFor(t *testing.T) {
	// The expectations are what the id library computes:
	// re.sub(r"[^A-Z0-9_]|^[^A-Z_]", "_", audience.upper()) + "_ID_TOKEN".
	tests := map[string]string{
		"sigstore":             "SIGSTORE_ID_TOKEN",
		"pypi":                 "PYPI_ID_TOKEN",
		"testpypi":             "TESTPYPI_ID_TOKEN",
		"http://test.audience": "HTTP___TEST_AUDIENCE_ID_TOKEN",
		"test-pypi.org":        "TEST_PYPI_ORG_ID_TOKEN",
		"1pypi":                "_PYPI_ID_TOKEN",
		"9":                    "__ID_TOKEN",
		"_x":                   "_X_ID_TOKEN",
		"é":                    "__ID_TOKEN",
		"ıx":                   "IX_ID_TOKEN",
		"pypi2":                "PYPI2_ID_TOKEN",
	}
	for aud, want := range tests {
		if got := EnvVarFor(aud); got != want {
			t.Errorf("EnvVarFor(%q) = %q, want %q", aud, got, want)
		}
	}
}

func TestFromGitLab(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
		want   bool
	}{
		{name: "gitlab", claims: gitlabClaims("sigstore", nil), want: true},
		{name: "gitlab without ci_config_ref_uri", claims: gitlabClaims("sigstore", map[string]any{"ci_config_ref_uri": nil, "ci_config_sha": nil}), want: true},
		{name: "gitlab with a null ci_config_ref_uri", claims: gitlabClaims("sigstore", map[string]any{"ci_config_ref_uri": json.RawMessage("null")}), want: true},
		{name: "github", claims: githubClaims(time.Now()), want: false},
		{name: "project_path alone", claims: map[string]any{"iss": "https://example.com", "project_path": "a/b"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Parse(mint(t, tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.FromGitLab(); got != tt.want {
				t.Errorf("FromGitLab = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestGetGitLab covers what Get refuses or explains in a GitLab CI job.
func TestGetGitLab(t *testing.T) {
	sigstoreTok := mint(t, gitlabClaims("sigstore", nil))
	pypiTok := mint(t, gitlabClaims("pypi", nil))
	multi := mint(t, gitlabClaims([]any{"sigstore", "pypi"}, nil))
	multiPyPI := mint(t, gitlabClaims([]any{"pypi", "other"}, nil))
	noConfig := mint(t, gitlabClaims("sigstore", map[string]any{"ci_config_ref_uri": nil, "ci_config_sha": nil}))
	noConfigPyPI := mint(t, gitlabClaims("pypi", map[string]any{"ci_config_ref_uri": nil}))
	selfManaged := mint(t, gitlabClaims("sigstore", map[string]any{"iss": "https://gitlab.example.com", "ci_config_ref_uri": "gitlab.example.com/g/p//.gitlab-ci.yml@refs/heads/main"}))
	gl := func(m map[string]string) map[string]string {
		out := map[string]string{"GITLAB_CI": "true", "CI_SERVER_URL": "https://gitlab.com", "CI_JOB_NAME": "release"}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name     string
		audience string
		opts     Options
		want     string
		wantIs   error
		errText  []string
	}{
		{name: "sigstore token", audience: "sigstore", opts: Options{Getenv: env(gl(map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok}))}, want: sigstoreTok},
		{name: "pypi token", audience: "pypi", opts: Options{Getenv: env(gl(map[string]string{"PYPI_ID_TOKEN": pypiTok}))}, want: pypiTok},
		{name: "self-managed on its own instance", audience: "sigstore",
			opts: Options{Getenv: env(gl(map[string]string{"SIGSTORE_ID_TOKEN": selfManaged, "CI_SERVER_URL": "https://gitlab.example.com/"}))}, want: selfManaged},
		{name: "no id_tokens: the YAML is shown", audience: "sigstore", opts: Options{Getenv: env(gl(nil))}, wantIs: ErrNoToken,
			errText: []string{"GitLab CI gave this job no SIGSTORE_ID_TOKEN", "release:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore"}},
		{name: "no pypi token; the explicit Sigstore token is passed over", audience: "pypi",
			opts:   Options{Explicit: sigstoreTok, Getenv: env(gl(map[string]string{"SIGSTORE_ID_TOKEN": sigstoreTok}))},
			wantIs: ErrNoToken, errText: []string{"no PYPI_ID_TOKEN", "release:\n  id_tokens:\n    PYPI_ID_TOKEN:\n      aud: pypi", "was not used"}},
		{name: "a Sigstore token in PYPI_ID_TOKEN", audience: "pypi", opts: Options{Getenv: env(gl(map[string]string{"PYPI_ID_TOKEN": sigstoreTok}))},
			wantIs: ErrAudienceMismatch, errText: []string{`reading PYPI_ID_TOKEN: identity token audience mismatch: the token's audience is ["sigstore"], not "pypi"`}},
		{name: "multi-audience Sigstore token", audience: "sigstore", opts: Options{Getenv: env(gl(map[string]string{"SIGSTORE_ID_TOKEN": multi}))},
			wantIs: ErrAudienceMismatch, errText: []string{`reading SIGSTORE_ID_TOKEN: identity token audience mismatch: the token is for 2 audiences ["sigstore", "pypi"]`}},
		{name: "multi-audience explicit token", audience: "sigstore", opts: Options{Explicit: multi, Getenv: env(nil)},
			wantIs: ErrAudienceMismatch, errText: []string{"--identity-token", "2 audiences"}},
		{name: "multi-audience index token", audience: "pypi", opts: Options{Getenv: env(gl(map[string]string{"PYPI_ID_TOKEN": multiPyPI}))},
			wantIs: ErrAudienceMismatch, errText: []string{`2 audiences ["pypi", "other"]`}},
		{name: "no ci_config_ref_uri", audience: "sigstore", opts: Options{Getenv: env(gl(map[string]string{"SIGSTORE_ID_TOKEN": noConfig}))},
			wantIs: ErrNoCIConfigRefURI, errText: []string{"(the identity token in SIGSTORE_ID_TOKEN)", "Sigstore's Fulcio would refuse it", "child pipelines", "gitlab-org/gitlab#422146"}},
		{name: "no ci_config_ref_uri, outside GitLab CI too", audience: "sigstore", opts: Options{Explicit: noConfig, Getenv: env(nil)},
			wantIs: ErrNoCIConfigRefURI, errText: []string{"--identity-token"}},
		{name: "no ci_config_ref_uri for the index", audience: "pypi", opts: Options{Getenv: env(gl(map[string]string{"PYPI_ID_TOKEN": noConfigPyPI}))},
			wantIs: ErrNoCIConfigRefURI, errText: []string{`the index (audience "pypi") would refuse it`}},
		{name: "a token from another instance", audience: "sigstore", opts: Options{Getenv: env(gl(map[string]string{"SIGSTORE_ID_TOKEN": selfManaged}))},
			wantIs: ErrGitLabIssuer, errText: []string{`issued by "https://gitlab.example.com"`, `"https://gitlab.com" (CI_SERVER_URL)`}},
		{name: "gitlab-ci-local (GITLAB_CI=false) is not GitLab CI", audience: "sigstore", opts: Options{Getenv: env(map[string]string{"GITLAB_CI": "false"})},
			wantIs: ErrNoToken, errText: []string{"no identity token: run in GitHub Actions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Get(context.Background(), tt.audience, tt.opts)
			if tt.wantIs == nil {
				if err != nil {
					t.Fatal(err)
				}
				if tok.Raw != tt.want {
					t.Fatal("got another token")
				}
				return
			}
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
			for _, w := range tt.errText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
			for _, raw := range []string{sigstoreTok, pypiTok, multi, noConfig, selfManaged} {
				if strings.Contains(err.Error(), raw) {
					t.Fatal("the error shows a token")
				}
			}
		})
	}
}

func TestMissingTokenYAML(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		also  []string
		want  string
		notes []string
	}{
		{
			name: "both tokens", env: map[string]string{"CI_JOB_NAME": "publish"}, also: []string{"pypi"},
			want:  "publish:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n    PYPI_ID_TOKEN:\n      aud: pypi",
			notes: []string{"PYPI_ID_TOKEN (audience \"pypi\", for trusted publishing to the index that asks for it), which is missing too"},
		},
		{
			name: "the other one is set", env: map[string]string{"CI_JOB_NAME": "publish", "PYPI_ID_TOKEN": "x"}, also: []string{"pypi", "sigstore", "pypi"},
			want:  "publish:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n    PYPI_ID_TOKEN:\n      aud: pypi",
			notes: []string{"which is set"},
		},
		{
			name: "a job name to quote", env: map[string]string{"CI_JOB_NAME": "publish: pypi"},
			want: "\"publish: pypi\":\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore",
		},
		{
			name: "a parallel job", env: map[string]string{"CI_JOB_NAME": "publish 2/3", "CI_NODE_TOTAL": "3"},
			want: "publish:\n  id_tokens:",
		},
		{
			name: "a matrix job", env: map[string]string{"CI_JOB_NAME": "publish: [pypi, 3.12]", "CI_NODE_TOTAL": "2"},
			want: "publish:\n  id_tokens:",
		},
		{
			name: "no job name", env: map[string]string{}, also: []string{"http://test.audience"},
			want: "<the job that runs attest-publish>:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore\n    HTTP___TEST_AUDIENCE_ID_TOKEN:\n      aud: \"http://test.audience\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{"GITLAB_CI": "true"}
			for k, v := range tt.env {
				e[k] = v
			}
			_, err := Get(context.Background(), "sigstore", Options{Getenv: env(e)})
			wrapped := AlsoNeeded(fmt.Errorf("signing: %w", err), tt.also...)
			var me *MissingTokenError
			if !errors.Is(wrapped, ErrNoToken) || !errors.As(wrapped, &me) || !strings.HasPrefix(wrapped.Error(), "signing: GitLab CI gave this job no SIGSTORE_ID_TOKEN") {
				t.Fatalf("err = %v", wrapped)
			}
			msg := wrapped.Error()
			if !strings.HasSuffix(msg, tt.want) && !strings.Contains(msg, tt.want+"\n") {
				t.Errorf("the YAML is not\n%s\nin\n%s", tt.want, msg)
			}
			for _, n := range tt.notes {
				if !strings.Contains(msg, n) {
					t.Errorf("lacks %q:\n%s", n, msg)
				}
			}
		})
	}
	if err := AlsoNeeded(nil, "pypi"); err != nil {
		t.Errorf("AlsoNeeded(nil) = %v", err)
	}
	other := errors.New("other")
	if err := AlsoNeeded(other, "pypi"); err != other {
		t.Errorf("AlsoNeeded changed another error: %v", err)
	}
}

// signingConfig writes a signing config naming fulcioURL and loads it.
func signingConfig(t *testing.T, fulcioURL string) *root.SigningConfig {
	t.Helper()
	doc := `{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
"caUrls":[{"url":"` + fulcioURL + `","majorApiVersion":1,"validFor":{"start":"2023-04-14T21:38:40Z"}}],
"oidcUrls":[],
"rekorTlogUrls":[{"url":"https://rekor.example","majorApiVersion":1,"validFor":{"start":"2021-01-12T11:53:27Z"}}],
"rekorTlogConfig":{"selector":"ANY"},
"tsaUrls":[],"tsaConfig":{"selector":"ANY"}}`
	path := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := root.NewSigningConfigFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestCheckGitLabSigning(t *testing.T) {
	parse := func(c map[string]any) *Token {
		tok, err := Parse(mint(t, c))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	gitlabCom := parse(gitlabClaims("sigstore", nil))
	archlinux := parse(gitlabClaims("sigstore", map[string]any{"iss": "https://gitlab.archlinux.org/"}))
	selfManaged := parse(gitlabClaims("sigstore", map[string]any{"iss": "https://gitlab.example.com"}))
	noConfig := parse(gitlabClaims("sigstore", map[string]any{"ci_config_ref_uri": nil}))
	github := parse(githubClaims(time.Now()))
	publicGood := signingConfig(t, "https://fulcio.sigstore.dev")
	staging := signingConfig(t, "https://fulcio.sigstage.dev")
	githubInstance := signingConfig(t, "https://fulcio.githubapp.com")
	private := signingConfig(t, "https://fulcio.gitlab.example.com")
	tests := []struct {
		name    string
		tok     *Token
		sc      *root.SigningConfig
		wantErr []string
	}{
		{name: "gitlab.com on public-good", tok: gitlabCom, sc: publicGood},
		{name: "gitlab.archlinux.org on public-good", tok: archlinux, sc: publicGood},
		{name: "self-managed on its own Sigstore", tok: selfManaged, sc: private},
		{name: "github on public-good", tok: github, sc: publicGood},
		{name: "no signing config", tok: selfManaged},
		{name: "self-managed on public-good", tok: selfManaged, sc: publicGood,
			wantErr: []string{`GitLab instance "https://gitlab.example.com"`, "only from https://gitlab.com", "--signing-config and --trusted-root", "--attestations=false"}},
		{name: "self-managed on staging", tok: selfManaged, sc: staging, wantErr: []string{"https://fulcio.sigstage.dev"}},
		{name: "an index's token to public-good", tok: parse(gitlabClaims("pypi", nil)), sc: publicGood,
			wantErr: []string{`takes tokens for audience "sigstore" alone`, `the token's audience is ["pypi"], not "sigstore"`}},
		{name: "gitlab on GitHub's instance", tok: gitlabCom, sc: githubInstance, wantErr: []string{"GitHub Actions tokens only"}},
		{name: "no ci_config_ref_uri", tok: noConfig, sc: private, wantErr: []string{"no ci_config_ref_uri claim", "Sigstore's Fulcio would refuse it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckGitLabSigning(tt.tok, tt.sc)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestCheckGitLabPyPIAttestations(t *testing.T) {
	for _, iss := range []string{"https://gitlab.com", "https://gitlab.com/"} {
		if err := CheckGitLabPyPIAttestations(iss); err != nil {
			t.Errorf("%s: %v", iss, err)
		}
	}
	err := CheckGitLabPyPIAttestations("https://gitlab.example.com")
	if !errors.Is(err, ErrGitLabIssuer) || !strings.Contains(err.Error(), "only on https://gitlab.com") || !strings.Contains(err.Error(), "--attestations=false") {
		t.Errorf("err = %v", err)
	}
}
