package verification

import (
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// TestParseRepository: GitHub and gitlab.com URLs (nested groups, one
// trailing slash, a .git suffix, host in any case) are read with their
// path kept exactly; other hosts and shapes are refused with what to give.
func TestParseRepository(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Repository
		err  string
	}{
		{in: "https://github.com/octo-org/octo-repo", want: Repository{URL: "https://github.com/octo-org/octo-repo", Kind: PublisherGitHub, Path: "octo-org/octo-repo"}},
		{in: "https://github.com/Octo-Org/Octo-Repo/", want: Repository{URL: "https://github.com/Octo-Org/Octo-Repo", Kind: PublisherGitHub, Path: "Octo-Org/Octo-Repo"}},
		{in: "HTTPS://GitHub.com/o/r.git", want: Repository{URL: "https://github.com/o/r", Kind: PublisherGitHub, Path: "o/r"}},
		{in: " https://gitlab.com/g/p ", want: Repository{URL: "https://gitlab.com/g/p", Kind: PublisherGitLab, Path: "g/p"}},
		{in: "https://gitlab.com/g/sub/subsub/p.git/", want: Repository{URL: "https://gitlab.com/g/sub/subsub/p", Kind: PublisherGitLab, Path: "g/sub/subsub/p"}},
		{in: "github.com/o/r", err: "want https://github.com/OWNER/REPO"},
		{in: "http://github.com/o/r", err: "want https://github.com/OWNER/REPO"},
		{in: "o/r", err: "want https://github.com/OWNER/REPO"},
		{in: "https://github.com/o", err: "https://github.com/OWNER/REPO, nothing after it"},
		{in: "https://github.com/o/r/tree/main", err: "nothing after it"},
		{in: "https://github.com/o//r", err: `path element ""`},
		{in: "https://github.com/o/..", err: `path element ".."`},
		{in: "https://gitlab.com/g", err: "GROUP[/SUBGROUP…]/PROJECT"},
		{in: "https://gitlab.com/g/p/-/tree/main", err: `path element "-"`},
		{in: "https://github.com/o/r?tab=readme", err: "query"},
		{in: "https://user@github.com/o/r", err: "query"},
		{in: "https://github.com/o/r%2Fx", err: "escape"},
		{in: "https://gitlab.example.com/g/p", err: `host "gitlab.example.com": known hosts are github.com and gitlab.com; for another, give the certificate identity and OIDC issuer`},
		{in: "https://www.github.com/o/r", err: "known hosts"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRepository(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestRepositorySANRegexp: the implied identity is any workflow of that
// repository at any ref, case included, and nothing of another repository
// whose name merely begins the same.
func TestRepositorySANRegexp(t *testing.T) {
	gh, _ := ParseRepository("https://github.com/octo-org/octo-repo")
	gl, _ := ParseRepository("https://gitlab.com/octo-org/sub/octo-repo")
	for _, tc := range []struct {
		r    Repository
		san  string
		want bool
	}{
		{gh, "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main", true},
		{gh, "https://github.com/octo-org/octo-repo/.github/workflows/ci.yaml@refs/tags/v1", true},
		{gh, "https://github.com/Octo-Org/octo-repo/.github/workflows/release.yml@refs/heads/main", false},
		{gh, "https://github.com/octo-org/octo-repo-fork/.github/workflows/release.yml@refs/heads/main", false},
		{gh, "https://github.com/octo-org/octo-repo/.github/workflows/release.yml", false},
		{gh, "https://github.com/octo-org/octo-repo/other/release.yml@refs/heads/main", false},
		{gh, "https://github.com/octo-org/octo-repo/.github/workflows/sub/release.yml@refs/heads/main", false},
		{gh, "https://github.com/octo-org/octo-repo.github/workflows/release.yml@refs/heads/main", false},
		{gl, "https://gitlab.com/octo-org/sub/octo-repo//.gitlab-ci.yml@refs/heads/main", true},
		{gl, "https://gitlab.com/octo-org/sub/octo-repo//ci/release.yml@refs/tags/v1", true},
		{gl, "https://gitlab.com/octo-org/sub/octo-repo-2//.gitlab-ci.yml@refs/heads/main", false},
		{gl, "https://gitlab.com/octo-org/sub/Octo-Repo//.gitlab-ci.yml@refs/heads/main", false},
		{gl, "https://gitlab.com/octo-org/sub/octo-repo//.gitlab-ci.yml", false},
		{gl, "https://gitlab.example.com/octo-org/sub/octo-repo//.gitlab-ci.yml@refs/heads/main", false},
	} {
		re, err := Anchored(tc.r.SANRegexp())
		if err != nil {
			t.Fatal(err)
		}
		if re.MatchString(tc.san) != tc.want {
			t.Errorf("%s matches %s: %v, want %v", tc.r.SANRegexp(), tc.san, !tc.want, tc.want)
		}
	}
}

// TestRequireRepository: the policy a repository implies, what narrows it
// (an exact issuer, a publisher workflow) and what contradicts it.
func TestRequireRepository(t *testing.T) {
	gh, _ := ParseRepository("https://github.com/o/r")
	gl, _ := ParseRepository("https://gitlab.com/g/s/p")
	for _, tc := range []struct {
		name   string
		r      Repository
		p      Policy
		src    string // the policy's Source Repository URI
		want   Policy
		errSub string
	}{
		{name: "github", r: gh, want: Policy{SANRegexp: `https://github\.com/o/r/\.github/workflows/[^/]+@.+`, Issuer: IssuerGitHubActions,
			Publisher: &Publisher{Kind: PublisherGitHub, Repository: "o/r"}}},
		{name: "gitlab nested", r: gl, want: Policy{SANRegexp: `https://gitlab\.com/g/s/p//.+@.+`, Issuer: IssuerGitLabCom,
			Publisher: &Publisher{Kind: PublisherGitLab, Repository: "g/s/p"}}},
		{name: "issuer replaced", r: gh, p: Policy{Issuer: "http://localhost:1234"}, want: Policy{SANRegexp: `https://github\.com/o/r/\.github/workflows/[^/]+@.+`,
			Issuer: "http://localhost:1234", Publisher: &Publisher{Kind: PublisherGitHub, Repository: "o/r"}}},
		{name: "workflow narrows", r: gl, p: Policy{SignerWorkflow: "gitlab.com/g/s/p//.gitlab-ci.yml", Publisher: &Publisher{Workflow: ".gitlab-ci.yml"}},
			want: Policy{SANRegexp: `https://gitlab\.com/g/s/p//.+@.+`, Issuer: IssuerGitLabCom, SignerWorkflow: "gitlab.com/g/s/p//.gitlab-ci.yml",
				Publisher: &Publisher{Kind: PublisherGitLab, Repository: "g/s/p", Workflow: ".gitlab-ci.yml"}}},
		{name: "same source repository", r: gh, src: "https://github.com/o/r", want: Policy{SANRegexp: `https://github\.com/o/r/\.github/workflows/[^/]+@.+`, Issuer: IssuerGitHubActions,
			Publisher: &Publisher{Kind: PublisherGitHub, Repository: "o/r"}}},
		{name: "identity", r: gh, p: Policy{SAN: "s"}, errSub: "implies the certificate identity"},
		{name: "identity regexp", r: gh, p: Policy{SANRegexp: ".*"}, errSub: "implies the certificate identity"},
		{name: "issuer regexp", r: gh, p: Policy{IssuerRegexp: ".*"}, errSub: "not a regexp"},
		{name: "other source repository", r: gh, src: "https://github.com/o/R", errSub: "is not the repository"},
		{name: "other publisher kind", r: gh, p: Policy{Publisher: &Publisher{Kind: PublisherGitLab}}, errSub: "is not the repository"},
		{name: "publisher repository case", r: gh, p: Policy{Publisher: &Publisher{Repository: "O/r"}}, errSub: "is not the repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			p.Extensions.SourceRepositoryURI = tc.src
			err := p.RequireRepository(tc.r)
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("err = %v, want %q", err, tc.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Extensions.SourceRepositoryURI = tc.r.URL
			if p.SANRegexp != tc.want.SANRegexp || p.Issuer != tc.want.Issuer || p.SignerWorkflow != tc.want.SignerWorkflow ||
				p.Extensions != tc.want.Extensions || *p.Publisher != *tc.want.Publisher {
				t.Errorf("policy %+v %+v, want %+v %+v", p, *p.Publisher, tc.want, *tc.want.Publisher)
			}
			if err := p.Validate(false); err != nil {
				t.Errorf("the repository policy does not validate: %v", err)
			}
		})
	}
}

// TestRepositoryPolicyVerifies: PyPI's own provenance of
// pypi-attestations 0.0.19 verifies with nothing but its repository; the
// repository spelled in another case, another repository, or another
// workflow given to narrow it does not.
func TestRepositoryPolicyVerifies(t *testing.T) {
	att := read(t, fixture+distName+dists.PublishAttestationSuffix)
	a, err := ArtifactFromDigest("sha256:"+distSHA, distName)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, workflow, signer string
		want                  string // failed check, "" for verified
	}{
		{url: "https://github.com/trailofbits/pypi-attestations"},
		{url: "https://github.com/trailofbits/pypi-attestations.git/"},
		{url: "https://github.com/trailofbits/pypi-attestations", workflow: "release.yml", signer: "trailofbits/pypi-attestations/.github/workflows/release.yml"},
		{url: "https://github.com/trailofbits/pypi-attestations", workflow: "other.yml", want: CheckPublisher},
		{url: "https://github.com/trailofbits/pypi-attestations", signer: "trailofbits/pypi-attestations/.github/workflows/other.yml", want: CheckSignerWorkflow},
		{url: "https://github.com/TrailOfBits/pypi-attestations", want: CheckIdentity},
		{url: "https://github.com/trailofbits/sigstore-python", want: CheckIdentity},
		{url: "https://gitlab.com/trailofbits/pypi-attestations", want: CheckIdentity},
	} {
		t.Run(tc.url+" "+tc.workflow+tc.signer, func(t *testing.T) {
			r, err := ParseRepository(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			p := Policy{SignerWorkflow: tc.signer}
			if tc.workflow != "" {
				p.Publisher = &Publisher{Workflow: tc.workflow}
			}
			if err := p.RequireRepository(r); err != nil {
				t.Fatal(err)
			}
			set, err := AttestationSet("attestation", att)
			if err != nil {
				t.Fatal(err)
			}
			res := checker(t, fixture+"trusted_root.json", p).Verify(a, []*MaterialSet{set})
			if res.FailedCheck != tc.want || res.Verified != (tc.want == "") {
				t.Fatalf("result %+v, want failed check %q", res, tc.want)
			}
		})
	}
}
