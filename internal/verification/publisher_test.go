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

// TestCheckPublisherAnyWorkflow: a publisher without a workflow accepts
// any workflow of its repository, but keeps every other check: the
// repository exactly, a workflow file directly in .github/workflows on
// GitHub, and the build config at the source ref or commit.
func TestCheckPublisherAnyWorkflow(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	gh := func(cfg string) certificate.Extensions {
		return certificate.Extensions{SourceRepositoryURI: "https://github.com/octo-org/octo-repo", SourceRepositoryRef: "refs/heads/main",
			SourceRepositoryDigest: sha, BuildConfigURI: cfg}
	}
	gl := func(cfg string) certificate.Extensions {
		return certificate.Extensions{SourceRepositoryURI: "https://gitlab.com/g/sub/p", SourceRepositoryRef: "refs/tags/v1",
			SourceRepositoryDigest: sha, BuildConfigURI: cfg}
	}
	ghPub := Publisher{Kind: PublisherGitHub, Repository: "octo-org/octo-repo"}
	glPub := Publisher{Kind: PublisherGitLab, Repository: "g/sub/p"}
	for _, tc := range []struct {
		name string
		pub  Publisher
		ext  certificate.Extensions
		err  string
	}{
		{"github any workflow", ghPub, gh("https://github.com/octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main"), ""},
		{"github at the commit", ghPub, gh("https://github.com/octo-org/octo-repo/.github/workflows/release.yml@" + sha), ""},
		{"github @ in the file name", ghPub, gh("https://github.com/octo-org/octo-repo/.github/workflows/a@b.yml@refs/heads/main"), ""},
		{"github another ref", ghPub, gh("https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/dev"), "not a workflow of octo-org/octo-repo at the source ref"},
		{"github no ref", ghPub, gh("https://github.com/octo-org/octo-repo/.github/workflows/release.yml"), "not a workflow"},
		{"github empty file name", ghPub, gh("https://github.com/octo-org/octo-repo/.github/workflows/@refs/heads/main"), "not a workflow"},
		{"github subdirectory", ghPub, gh("https://github.com/octo-org/octo-repo/.github/workflows/sub/release.yml@refs/heads/main"), "not a workflow"},
		{"github outside workflows", ghPub, gh("https://github.com/octo-org/octo-repo/ci/release.yml@refs/heads/main"), "not a workflow of octo-org/octo-repo"},
		{"github another repository's workflow", ghPub, gh("https://github.com/octo-org/other/.github/workflows/release.yml@refs/heads/main"), "not a workflow of octo-org/octo-repo"},
		{"github repository case", Publisher{Kind: PublisherGitHub, Repository: "octo-org/Octo-Repo"}, gh("https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"), "case included"},
		{"github environment", Publisher{Kind: PublisherGitHub, Repository: "octo-org/octo-repo", Environment: "pypi"}, gh("https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"), "cannot be checked"},
		{"gitlab any config", glPub, gl("https://gitlab.com/g/sub/p//ci/release.yml@refs/tags/v1"), ""},
		{"gitlab default config", glPub, gl("https://gitlab.com/g/sub/p//.gitlab-ci.yml@" + sha), ""},
		{"gitlab another ref", glPub, gl("https://gitlab.com/g/sub/p//.gitlab-ci.yml@refs/heads/main"), "not a workflow"},
		{"gitlab empty path", glPub, gl("https://gitlab.com/g/sub/p//@refs/tags/v1"), "not a workflow"},
		{"gitlab another project's config", glPub, gl("https://gitlab.com/g/sub/p2//.gitlab-ci.yml@refs/tags/v1"), "not a workflow of g/sub/p"},
		{"gitlab parent group", Publisher{Kind: PublisherGitLab, Repository: "g/sub"}, gl("https://gitlab.com/g/sub/p//.gitlab-ci.yml@refs/tags/v1"), "case included"},
		{"no refs in the certificate", ghPub, certificate.Extensions{SourceRepositoryURI: "https://github.com/octo-org/octo-repo",
			BuildConfigURI: "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@"}, "not a workflow"},
	} {
		err := checkPublisher(&tc.pub, tc.ext)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
}
