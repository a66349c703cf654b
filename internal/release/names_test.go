package release

import (
	"strings"
	"testing"
)

func TestWorkflowPath(t *testing.T) {
	for _, tc := range []struct{ ref, repo, want string }{
		{"octo/repo/.github/workflows/release.yml@refs/heads/main", "octo/repo", ".github/workflows/release.yml"},
		{"octo/repo/.github/workflows/release.yml@refs/tags/v1@x", "", ".github/workflows/release.yml"},
		{"octo/repo/../../etc/passwd@x", "octo/repo", ""},
		{"", "octo/repo", ""},
	} {
		got, err := workflowPath(tc.ref, tc.repo)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("workflowPath(%q, %q) = %q, %v", tc.ref, tc.repo, got, err)
		}
	}
}

func TestArtifactArg(t *testing.T) {
	good := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		arg, err string
	}{
		{arg: good},
		{arg: "sha256:" + strings.Repeat("ab", 31), err: "64 hex"},
		{arg: "sha256:" + strings.Repeat("zz", 32), err: "invalid byte"},
		{arg: "no-such-file", err: "opening artifact"},
		{arg: "sha512:" + strings.Repeat("cd", 64)},
		{arg: "sha512:" + strings.Repeat("cd", 32), err: "want 128 hex characters after sha512:"},
		{arg: "md5:" + strings.Repeat("cd", 16), err: "opening artifact"},
	}
	for _, tt := range tests {
		a, err := artifactArg(tt.arg, "foo-1.0.tar.gz")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.arg, err, tt.err)
			}
			continue
		}
		if err != nil || len(a.SHA256)+len(a.SHA512) != 32*(1+strings.Count(tt.arg, "sha512:")) || a.Filename != "foo-1.0.tar.gz" {
			t.Errorf("%s: %+v, %v", tt.arg, a, err)
		}
	}
}
