package verification

import (
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// TestCheckPublisherCase: the repository and the workflow are compared
// exactly, case included, as pypi-attestations compares them; a publisher
// that differs only in case is another publisher.
func TestCheckPublisherCase(t *testing.T) {
	ext := certificate.Extensions{
		SourceRepositoryURI:    "https://github.com/octo-org/octo-repo",
		SourceRepositoryRef:    "refs/heads/main",
		SourceRepositoryDigest: "0123456789abcdef0123456789abcdef01234567",
		BuildConfigURI:         "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
	}
	gl := certificate.Extensions{
		SourceRepositoryURI:    "https://gitlab.com/octo-org/octo-repo",
		SourceRepositoryRef:    "refs/heads/main",
		SourceRepositoryDigest: "0123456789abcdef0123456789abcdef01234567",
		BuildConfigURI:         "https://gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main",
	}
	for _, tc := range []struct {
		name string
		pub  Publisher
		ext  certificate.Extensions
		err  string
	}{
		{"github exact", Publisher{Kind: PublisherGitHub, Repository: "octo-org/octo-repo", Workflow: "release.yml"}, ext, ""},
		{"github repository case", Publisher{Kind: PublisherGitHub, Repository: "Octo-Org/octo-repo", Workflow: "release.yml"}, ext, "case included"},
		{"github workflow case", Publisher{Kind: PublisherGitHub, Repository: "octo-org/octo-repo", Workflow: "Release.yml"}, ext, "is not workflow"},
		{"gitlab exact", Publisher{Kind: PublisherGitLab, Repository: "octo-org/octo-repo", Workflow: ".gitlab-ci.yml"}, gl, ""},
		{"gitlab project case", Publisher{Kind: PublisherGitLab, Repository: "octo-org/Octo-Repo", Workflow: ".gitlab-ci.yml"}, gl, "case included"},
		{"gitlab config case", Publisher{Kind: PublisherGitLab, Repository: "octo-org/octo-repo", Workflow: ".GitLab-CI.yml"}, gl, "is not workflow"},
	} {
		err := checkPublisher(&tc.pub, tc.ext)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}
