package verification

import (
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

func TestExpectedIdentity(t *testing.T) {
	tests := []struct {
		name     string
		claims   idtoken.Claims
		server   string
		wantSAN  string
		wantRepo string
		wantErr  string
	}{
		{name: "github", claims: idtoken.Claims{"iss": "https://token.actions.githubusercontent.com",
			"job_workflow_ref": "o/r/.github/workflows/reusable.yml@refs/tags/v1", "repository": "o/r", "ref": "refs/tags/v1", "sha": "abc"},
			wantSAN: "https://github.com/o/r/.github/workflows/reusable.yml@refs/tags/v1", wantRepo: "https://github.com/o/r"},
		{name: "github enterprise cloud", server: "https://acme.ghe.com/", claims: idtoken.Claims{"iss": "https://token.actions.acme.ghe.com",
			"job_workflow_ref": "o/r/.github/workflows/r.yml@refs/heads/main", "repository": "o/r"},
			wantSAN: "https://acme.ghe.com/o/r/.github/workflows/r.yml@refs/heads/main", wantRepo: "https://acme.ghe.com/o/r"},
		{name: "gitlab self-managed", claims: idtoken.Claims{"iss": "https://gitlab.example.org",
			"ci_config_ref_uri": "gitlab.example.org/g/sub/p//ci/release.yml@refs/tags/v2", "project_path": "g/sub/p", "sha": "abc"},
			// Fulcio writes its url template value in the repository URI:
			// not required off gitlab.com, where the SAN names the instance.
			wantSAN: "https://gitlab.example.org/g/sub/p//ci/release.yml@refs/tags/v2", wantRepo: ""},
		{name: "gitlab.com", claims: idtoken.Claims{"iss": "https://gitlab.com",
			"ci_config_ref_uri": "gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main", "project_path": "g/p", "sha": "abc"},
			wantSAN: "https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main", wantRepo: "https://gitlab.com/g/p"},
		{name: "other issuer", claims: idtoken.Claims{"iss": "https://accounts.example.com", "email": "a@example.com"}, wantErr: "neither"},
		{name: "no issuer", claims: idtoken.Claims{"job_workflow_ref": "o/r/x.yml@main"}, wantErr: "no issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ExpectedIdentity(&idtoken.Token{Claims: tt.claims}, tt.server)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.SAN != tt.wantSAN || id.Extensions.SourceRepositoryURI != tt.wantRepo || id.Issuer != tt.claims.String("iss") {
				t.Errorf("got %s", id)
			}
		})
	}
}
