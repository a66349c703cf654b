package provenance

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

func loadClaims(t *testing.T) idtoken.Claims {
	t.Helper()
	data, err := os.ReadFile("testdata/github-claims.json")
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
	got, err := SLSAStatement(b,
		Subject{Name: "octo_repo-1.2.3-py3-none-any.whl", SHA256: digest(1)},
		Subject{Name: "octo_repo-1.2.3.tar.gz", SHA256: digest(2)})
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/slsa-statement.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var gotV, wantV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatalf("statement is not JSON: %v", err)
	}
	if err := json.Unmarshal(golden, &wantV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("statement differs from golden\n got: %s\nwant: %s", got, golden)
	}
	if !strings.HasPrefix(string(got), `{"_type":"https://in-toto.io/Statement/v1","subject":[`) {
		t.Errorf("statement should be compact with _type first: %.80s", got)
	}
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
