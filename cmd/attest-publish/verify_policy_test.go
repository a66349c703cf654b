package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestVerifyFlagsPolicy(t *testing.T) {
	tests := []struct {
		name  string
		f     verifyFlags
		check func(t *testing.T, f verifyFlags)
		err   string
	}{
		{name: "repository shorthand", f: verifyFlags{identity: "s", issuer: "i", sourceRepository: "o/r", denySelfHosted: true}, check: func(t *testing.T, f verifyFlags) {
			p, _ := f.policy()
			if p.Extensions.SourceRepositoryURI != "https://github.com/o/r" || p.Extensions.RunnerEnvironment != "github-hosted" {
				t.Errorf("extensions %+v", p.Extensions)
			}
		}},
		{name: "publisher", f: verifyFlags{identityRegexp: ".*", issuer: "i", publisherKind: "GitHub", publisherRepo: "o/r", publisherWorkflow: "release.yml"}, check: func(t *testing.T, f verifyFlags) {
			p, _ := f.policy()
			if p.Publisher == nil || p.Publisher.Kind != "github" {
				t.Errorf("publisher %+v", p.Publisher)
			}
		}},
		{name: "publisher without kind", f: verifyFlags{identity: "s", issuer: "i", publisherRepo: "o/r"}, err: "--publisher-kind"},
		{name: "publisher without workflow", f: verifyFlags{identity: "s", issuer: "i", publisherKind: "gitlab", publisherRepo: "g/p"}, err: "--publisher-workflow"},
		{name: "bad repository", f: verifyFlags{identity: "s", issuer: "i", sourceRepository: "o"}, err: "--source-repository"},
		{name: "keyless without issuer", f: verifyFlags{identity: "s"}, err: "issuer"},
		{name: "key alone", f: verifyFlags{key: "k.pub"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f.policy()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.As(err, new(usageError)) {
					t.Fatalf("err = %v, want usage error %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, tt.f)
			}
		})
	}
}

func TestVerifyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"verify"},
		{"verify", "x"},
		{"verify", "--trusted-root", "r.json", "x"},
		{"verify", "--trusted-root", "r.json", "--bundle", "b", "--format", "xml", "x"},
		{"verify", "--trusted-root", "r.json", "--bundle", "b", "--certificate-identity", "s", "x"},
		{"verify", "--trusted-root", "r.json", "--tuf", "--bundle", "b", "--certificate-identity", "s", "--certificate-oidc-issuer", "i", "x"},
		{"verify", "--bundle", "b", "x"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb, func(string) string { return "" }); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}

// TestVerifyRepositoryFlags: --repository alone is a whole policy for
// GitHub and GitLab repositories; the workflow flags narrow it, an exact
// issuer replaces only the issuer, and flags naming the identity,
// repository or publisher again are usage errors.
func TestVerifyRepositoryFlags(t *testing.T) {
	const ghSAN, glSAN = `https://github\.com/octo-org/octo-repo/\.github/workflows/[^/]+@.+`, `https://gitlab\.com/g/sub/p//.+@.+`
	type want struct {
		san, issuer, source, kind, repo, workflow, signer string
	}
	for _, tc := range []struct {
		name string
		f    verifyFlags
		want want
		err  string
	}{
		{name: "github", f: verifyFlags{repository: "https://github.com/octo-org/octo-repo"},
			want: want{ghSAN, "https://token.actions.githubusercontent.com", "https://github.com/octo-org/octo-repo", "github", "octo-org/octo-repo", "", ""}},
		{name: "github .git and slash", f: verifyFlags{repository: "https://github.com/octo-org/octo-repo.git/"},
			want: want{ghSAN, "https://token.actions.githubusercontent.com", "https://github.com/octo-org/octo-repo", "github", "octo-org/octo-repo", "", ""}},
		{name: "gitlab nested", f: verifyFlags{repository: "https://gitlab.com/g/sub/p"},
			want: want{glSAN, "https://gitlab.com", "https://gitlab.com/g/sub/p", "gitlab", "g/sub/p", "", ""}},
		{name: "narrowed", f: verifyFlags{repository: "https://github.com/octo-org/octo-repo", publisherWorkflow: "release.yml",
			signerWorkflow: "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"},
			want: want{ghSAN, "https://token.actions.githubusercontent.com", "https://github.com/octo-org/octo-repo", "github", "octo-org/octo-repo", "release.yml",
				"octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"}},
		{name: "issuer replaced", f: verifyFlags{repository: "https://gitlab.com/g/sub/p", issuer: "http://127.0.0.1:8080/gitlab", publisherWorkflow: "ci/release.yml"},
			want: want{glSAN, "http://127.0.0.1:8080/gitlab", "https://gitlab.com/g/sub/p", "gitlab", "g/sub/p", "ci/release.yml", ""}},
		{name: "identity", f: verifyFlags{repository: "https://github.com/o/r", identity: "s"}, err: "drop --certificate-identity "},
		{name: "identity regexp", f: verifyFlags{repository: "https://github.com/o/r", identityRegexp: ".*"}, err: "drop --certificate-identity-regexp"},
		{name: "issuer regexp", f: verifyFlags{repository: "https://github.com/o/r", issuerRegexp: ".*"}, err: "drop --certificate-oidc-issuer-regexp"},
		{name: "source repository", f: verifyFlags{repository: "https://github.com/o/r", sourceRepository: "o/r"}, err: "drop --source-repository"},
		{name: "publisher kind", f: verifyFlags{repository: "https://github.com/o/r", publisherKind: "github"}, err: "drop --publisher-kind"},
		{name: "publisher repository", f: verifyFlags{repository: "https://github.com/o/r", publisherRepo: "o/r"}, err: "drop --publisher-repository"},
		{name: "key", f: verifyFlags{repository: "https://github.com/o/r", key: "cosign.pub"}, err: "drop --key"},
		{name: "other host", f: verifyFlags{repository: "https://gitlab.example.com/g/p"}, err: "known hosts are github.com and gitlab.com; for another, give the certificate identity"},
		{name: "not a URL", f: verifyFlags{repository: "octo-org/octo-repo"}, err: "--repository: repository \"octo-org/octo-repo\": want https://github.com/OWNER/REPO"},
		{name: "github workflow path", f: verifyFlags{repository: "https://github.com/o/r", publisherWorkflow: ".github/workflows/release.yml"}, err: "file name only"},
		{name: "bad signer workflow", f: verifyFlags{repository: "https://github.com/o/r", signerWorkflow: "release.yml"}, err: "signer workflow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.f.policy()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, new(usageError)) {
					t.Fatalf("err = %v, want usage error %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{p.SANRegexp, p.Issuer, p.Extensions.SourceRepositoryURI, "", "", "", p.SignerWorkflow}
			if p.Publisher != nil {
				got.kind, got.repo, got.workflow = string(p.Publisher.Kind), p.Publisher.Repository, p.Publisher.Workflow
			}
			if got != tc.want || p.SAN != "" || p.IssuerRegexp != "" {
				t.Errorf("policy %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestVerifyRepositoryRun: PyPI's provenance of pypi-attestations 0.0.19
// verifies with --repository alone; the repository in another case or
// another workflow given to narrow fails with the check that failed.
func TestVerifyRepositoryRun(t *testing.T) {
	const dir = "../../internal/verification/testdata/pypi-attestations-0.0.19/"
	const dist = "pypi_attestations-0.0.19.tar.gz"
	for _, tc := range []struct {
		name  string
		extra []string
		code  int
		want  string
	}{
		{name: "repository alone", extra: []string{"--repository", "https://github.com/trailofbits/pypi-attestations"}, want: "OK   "},
		{name: "workflow narrows", extra: []string{"--repository", "https://github.com/trailofbits/pypi-attestations", "--publisher-workflow", "release.yml"}, want: "OK   "},
		{name: "another workflow", extra: []string{"--repository", "https://github.com/trailofbits/pypi-attestations", "--publisher-workflow", "other.yml"}, code: 1, want: "publisher check failed"},
		{name: "case changed", extra: []string{"--repository", "https://github.com/TrailOfBits/pypi-attestations"}, code: 1, want: "identity check failed"},
		{name: "with an identity", extra: []string{"--repository", "https://github.com/trailofbits/pypi-attestations", "--certificate-identity", "x"}, code: 2, want: "drop --certificate-identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"verify", "--trusted-root", dir + "trusted_root.json", "--attestation", dir + dist + ".publish.attestation",
				"--distribution-name", dist}, tc.extra...)
			args = append(args, "sha256:9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" })
			if out := stdout.String() + stderr.String(); code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, out)
			}
		})
	}
}
