package provenance

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

func loadClaims(t *testing.T) idtoken.Claims {
	t.Helper()
	return loadClaimsFile(t, "testdata/github-claims.json")
}

func loadClaimsFile(t *testing.T, path string) idtoken.Claims {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c idtoken.Claims
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func digest(last byte) []byte {
	d := make([]byte, 32)
	d[31] = last
	return d
}

// TestSLSAStatementGolden checks the statement field for field against what
// actions/attest emits for the same claims (testdata golden file, written
// from actions/toolkit's provenance format, not from this code).
func TestSLSAStatementGolden(t *testing.T) {
	b, err := GitHubBuildFromClaims(loadClaims(t), "")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, b, "testdata/slsa-statement.golden.json",
		Subject{Name: "octo_repo-1.2.3-py3-none-any.whl", SHA256: digest(1)},
		Subject{Name: "octo_repo-1.2.3.tar.gz", SHA256: digest(2)})
}

// TestGitLabSLSAStatementGolden checks the GitLab statement field for field
// against the golden file, written by hand from
// docs/buildtypes/gitlab-ci-v1.md for claims reconstructed from a real
// gitlab.com Fulcio certificate (pypi-attestations' GitLab test asset, see
// testdata/vectors/pep740-gitlab_oidc_project-0.0.3-wrong-workflow): each
// value is the one Fulcio put in that certificate. The claims Fulcio does
// not copy (user_*, pipeline_id, runner_id, ref_protected, ...) carry
// invented values and must not appear.
func TestGitLabSLSAStatementGolden(t *testing.T) {
	b, err := GitLabBuildFromClaims(loadClaimsFile(t, "testdata/gitlab-claims.json"))
	if err != nil {
		t.Fatal(err)
	}
	sdist, err := hex.DecodeString("c1ca9b0d85df1606451098233018534497bf584362e10e4a8c21dfaea92c02a8")
	if err != nil {
		t.Fatal(err)
	}
	got := checkGolden(t, b, "testdata/slsa-statement-gitlab.golden.json",
		Subject{Name: "gitlab_oidc_project-0.0.3-py3-none-any.whl", SHA256: digest(1)},
		Subject{Name: "gitlab_oidc_project-0.0.3.tar.gz", SHA256: sdist})
	for _, secret := range []string{"example-user", "user@example.com", "1548023411", "12270807"} {
		if strings.Contains(string(got), secret) {
			t.Errorf("statement carries %q, a claim Fulcio does not copy into the certificate", secret)
		}
	}
}

// checkGolden builds b's statement for subjects, compares it with the golden
// file as JSON values and returns it.
func checkGolden(t *testing.T, b Build, golden string, subjects ...Subject) []byte {
	t.Helper()
	got, err := SLSAStatement(b, subjects...)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var gotV, wantV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatalf("statement is not JSON: %v", err)
	}
	if err := json.Unmarshal(want, &wantV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("statement differs from %s\n got: %s\nwant: %s", golden, got, want)
	}
	if !strings.HasPrefix(string(got), `{"_type":"https://in-toto.io/Statement/v1","subject":[`) {
		t.Errorf("statement should be compact with _type first: %.80s", got)
	}
	return got
}

func TestPublishStatement(t *testing.T) {
	got, err := PublishStatement(Subject{Name: "octo_repo-1.2.3.tar.gz", SHA256: digest(2)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"octo_repo-1.2.3.tar.gz","digest":{"sha256":"0000000000000000000000000000000000000000000000000000000000000002"}}],"predicateType":"https://docs.pypi.org/attestations/publish/v1","predicate":{}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestGitHubBuildFromClaims(t *testing.T) {
	full := loadClaims(t)
	tests := []struct {
		name      string
		edit      func(idtoken.Claims)
		server    string
		wantErr   string
		wantPath  string
		wantFile  string
		wantIdent string
	}{
		{name: "reusable workflow", wantPath: ".github/workflows/release.yml", wantFile: "release.yml",
			wantIdent: "https://github.com/octo-org/shared-workflows/.github/workflows/publish.yml@refs/tags/v2"},
		{name: "ghe.com server", server: "https://octo.ghe.com/", wantPath: ".github/workflows/release.yml", wantFile: "release.yml",
			wantIdent: "https://octo.ghe.com/octo-org/shared-workflows/.github/workflows/publish.yml@refs/tags/v2"},
		{name: "ref containing @", edit: func(c idtoken.Claims) {
			c["workflow_ref"] = "octo-org/octo-repo/.github/workflows/ci/release.yaml@refs/tags/pkg@1.0"
		}, wantPath: ".github/workflows/ci/release.yaml", wantFile: "release.yaml",
			wantIdent: "https://github.com/octo-org/shared-workflows/.github/workflows/publish.yml@refs/tags/v2"},
		{name: "missing claims", edit: func(c idtoken.Claims) { delete(c, "runner_environment"); delete(c, "run_attempt") },
			wantErr: "runner_environment, run_attempt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := idtoken.Claims{}
			for k, v := range full {
				c[k] = v
			}
			if tt.edit != nil {
				tt.edit(c)
			}
			b, err := GitHubBuildFromClaims(c, tt.server)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.WorkflowPath() != tt.wantPath || b.WorkflowFile() != tt.wantFile || b.Identity() != tt.wantIdent {
				t.Errorf("path %q file %q identity %q", b.WorkflowPath(), b.WorkflowFile(), b.Identity())
			}
		})
	}
}

func TestGitLabBuildFromClaims(t *testing.T) {
	full := loadClaimsFile(t, "testdata/gitlab-claims.json")
	const repo = "https://gitlab.com/facutuesca/gitlab-oidc-project"
	tests := []struct {
		name    string
		edit    func(idtoken.Claims)
		wantErr string
		// want: repository URL, ref, config path, identity, invocation id
		want [5]string
	}{
		{name: "branch pipeline on gitlab.com", want: [5]string{repo, "refs/heads/main", ".gitlab-ci.yml",
			"https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main", repo + "/-/jobs/8415754949"}},
		{name: "tag pipeline, config in a subdirectory, tag containing @", edit: func(c idtoken.Claims) {
			c["ref"], c["ref_type"], c["ref_path"] = "pkg@1.0", "tag", "refs/tags/pkg@1.0"
			c["ci_config_ref_uri"] = "gitlab.com/facutuesca/gitlab-oidc-project//ci/release.yml@refs/tags/pkg@1.0"
		}, want: [5]string{repo, "refs/tags/pkg@1.0", "ci/release.yml",
			"https://gitlab.com/facutuesca/gitlab-oidc-project//ci/release.yml@refs/tags/pkg@1.0", repo + "/-/jobs/8415754949"}},
		{name: "self-managed instance in a subgroup", edit: func(c idtoken.Claims) {
			c["project_path"] = "group/sub/proj"
			c["ci_config_ref_uri"] = "gitlab.example.com/group/sub/proj//.gitlab-ci.yml@refs/heads/main"
		}, want: [5]string{"https://gitlab.example.com/group/sub/proj", "refs/heads/main", ".gitlab-ci.yml",
			"https://gitlab.example.com/group/sub/proj//.gitlab-ci.yml@refs/heads/main", "https://gitlab.example.com/group/sub/proj/-/jobs/8415754949"}},
		{name: "numeric ids", edit: func(c idtoken.Claims) { c["project_id"], c["job_id"] = float64(55235664), json.Number("8415754949") },
			want: [5]string{repo, "refs/heads/main", ".gitlab-ci.yml",
				"https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main", repo + "/-/jobs/8415754949"}},
		{name: "missing claims", edit: func(c idtoken.Claims) { delete(c, "ci_config_sha"); delete(c, "job_id") },
			wantErr: "ci_config_sha, job_id"},
		{name: "CI config in another project", edit: func(c idtoken.Claims) {
			c["ci_config_ref_uri"] = "gitlab.com/facutuesca/shared-ci//.gitlab-ci.yml@refs/heads/main"
		}, wantErr: "the CI config is not in the project"},
		{name: "single slash before the config path", edit: func(c idtoken.Claims) {
			c["ci_config_ref_uri"] = "gitlab.com/facutuesca/gitlab-oidc-project/.gitlab-ci.yml@refs/heads/main"
		}, wantErr: "is not <host>/facutuesca/gitlab-oidc-project//<CI config path>@<ref>"},
		{name: "no ref", edit: func(c idtoken.Claims) {
			c["ci_config_ref_uri"] = "gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml"
		}, wantErr: "is not <host>/"},
		{name: "unknown ref type", edit: func(c idtoken.Claims) { c["ref_type"] = "merge_request" }, wantErr: `ref_type claim "merge_request"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := idtoken.Claims{}
			for k, v := range full {
				c[k] = v
			}
			if tt.edit != nil {
				tt.edit(c)
			}
			b, err := GitLabBuildFromClaims(c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := [5]string{b.RepositoryURL(), b.Ref, b.ConfigPath(), b.Identity(), b.InvocationID()}
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
