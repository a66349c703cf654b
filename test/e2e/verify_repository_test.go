//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// repositoryCase is one run of `verify --repository`: extra flags, and
// whether every verdict is OK or every one fails with want.
type repositoryCase struct {
	name  string
	flags []string
	want  string // "" for OK, else what each FAIL verdict says
}

// checkRepositoryCases runs verify with each case's flags before the
// targets; an OK case must name the signer in each dist's verdict (a
// directory's verdicts name the dist by its path).
func checkRepositoryCases(t *testing.T, dir, signer string, targets []string, cases []repositoryCase) {
	t.Helper()
	for _, tc := range cases {
		out, code := verify(t, append(append([]string{}, tc.flags...), targets...)...)
		if tc.want == "" {
			if code != 0 || strings.Count(out, "OK   ") != 2 {
				t.Errorf("%s: exit %d, want 0 with two OK verdicts:\n%s", tc.name, code, out)
				continue
			}
			for _, dist := range distFiles(t, dir) {
				if !strings.Contains(out, filepath.Base(dist)+": signed by "+signer) {
					t.Errorf("%s: no OK verdict for %s:\n%s", tc.name, filepath.Base(dist), out)
				}
			}
			continue
		}
		if code != 1 || strings.Count(out, "FAIL ") != 2 || !strings.Contains(out, tc.want) || strings.Contains(out, "OK   ") {
			t.Errorf("%s: exit %d, want 1 with two FAIL verdicts saying %q:\n%s", tc.name, code, tc.want, out)
		}
	}
}

// TestVerifyRepository: the one-line consumer command. A release a GitHub
// workflow published through the index's trusted publisher verifies with
// `verify --from-index URL --repository https://github.com/OWNER/REPO
// NAME==VERSION` alone (the stack's issuer replacing GitHub's), and so
// does its signed directory; the repository spelled in another case,
// another repository, another workflow to narrow to, or GitHub's public
// issuer all fail. The same for a GitLab release and
// https://gitlab.com/GROUP/PROJECT.
func TestVerifyRepository(t *testing.T) {
	t.Run("github", func(t *testing.T) {
		index := startIndex(t)
		dir := signedRelease(t)
		if res := publish(t, runnerEnv(""), "--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir, "--trusted-root", env.trustedRoot); res.code != 0 {
			t.Fatalf("publish failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		const repo = "https://github.com/" + repository
		iss := []string{"--certificate-oidc-issuer", env.issuer}
		cases := []repositoryCase{
			{name: "repository alone", flags: append([]string{"--repository", repo}, iss...)},
			{name: "trailing slash", flags: append([]string{"--repository", repo + "/"}, iss...)},
			{name: "narrowed to its workflow", flags: append([]string{"--repository", repo, "--publisher-workflow", "release.yml",
				"--signer-workflow", repository + "/.github/workflows/release.yml@refs/heads/main"}, iss...)},
			{name: "case changed", flags: append([]string{"--repository", "https://github.com/Octo-Org/octo-repo"}, iss...), want: "identity check failed"},
			{name: "another repository", flags: append([]string{"--repository", "https://github.com/octo-org/other-repo"}, iss...), want: "identity check failed"},
			{name: "the GitLab project of that name", flags: append([]string{"--repository", "https://gitlab.com/" + repository}, iss...), want: "identity check failed"},
			{name: "another publisher workflow", flags: append([]string{"--repository", repo, "--publisher-workflow", "other.yml"}, iss...), want: "publisher check failed"},
			{name: "another signer workflow", flags: append([]string{"--repository", repo, "--signer-workflow", repository + "/.github/workflows/other.yml"}, iss...), want: "signer-workflow check failed"},
			{name: "GitHub's public issuer", flags: []string{"--repository", repo}, want: "issuer check failed"},
		}
		t.Run("from-index", func(t *testing.T) {
			checkRepositoryCases(t, dir, identity, []string{"--from-index", index["INDEXFRONT_URL"], "attest-publish-sample==0.1.0"}, cases)
		})
		t.Run("directory", func(t *testing.T) {
			checkRepositoryCases(t, dir, identity, []string{dir}, cases)
		})
	})

	t.Run("gitlab", func(t *testing.T) {
		index := startGitLabIndex(t, gitlabPublisher{ProjectPath: gitlabProject, WorkflowFilepath: gitlabCIFile})
		dir, _ := signedGitLabRelease(t)
		if res := publish(t, gitlabJobEnv(t, ""), "--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir, "--trusted-root", env.trustedRoot); res.code != 0 {
			t.Fatalf("publish from a GitLab job failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		const repo = "https://gitlab.com/" + gitlabProject
		iss := []string{"--certificate-oidc-issuer", env.issuer + "/gitlab"}
		cases := []repositoryCase{
			{name: "project alone", flags: append([]string{"--repository", repo}, iss...)},
			{name: ".git suffix", flags: append([]string{"--repository", repo + ".git"}, iss...)},
			{name: "narrowed to its CI file", flags: append([]string{"--repository", repo, "--publisher-workflow", gitlabCIFile}, iss...)},
			{name: "case changed", flags: append([]string{"--repository", "https://gitlab.com/octo-org/Octo-Repo"}, iss...), want: "identity check failed"},
			{name: "a subgroup's project", flags: append([]string{"--repository", "https://gitlab.com/octo-org/sub/octo-repo"}, iss...), want: "identity check failed"},
			{name: "the GitHub repository of that name", flags: append([]string{"--repository", "https://github.com/" + gitlabProject}, iss...), want: "identity check failed"},
			{name: "another CI file", flags: append([]string{"--repository", repo, "--publisher-workflow", "ci/release.yml"}, iss...), want: "publisher check failed"},
			{name: "gitlab.com's public issuer", flags: []string{"--repository", repo}, want: "issuer check failed"},
		}
		t.Run("from-index", func(t *testing.T) {
			checkRepositoryCases(t, dir, gitlabIdentity, []string{"--from-index", index["INDEXFRONT_URL"], "attest-publish-sample==0.1.0"}, cases)
		})
		t.Run("directory", func(t *testing.T) {
			checkRepositoryCases(t, dir, gitlabIdentity, []string{dir}, cases)
		})
	})
}
