package verification

import (
	"strings"
	"testing"
)

func TestAnchored(t *testing.T) {
	tests := []struct {
		expr, in string
		want     bool
	}{
		{`https://github\.com/o/r/\.github/workflows/release\.yml@.*`, "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1", true},
		{`release\.yml`, "https://x/release.yml", false},
		{`a|b`, "ab", false},
		{`a|b`, "b", true},
	}
	for _, tt := range tests {
		re, err := Anchored(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tt.in); got != tt.want {
			t.Errorf("Anchored(%q).Match(%q) = %v, want %v", tt.expr, tt.in, got, tt.want)
		}
	}
	if _, err := Anchored("("); err == nil {
		t.Error("bad regexp accepted")
	}
}

func TestNormalizeRepositoryURL(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "o/r", want: "https://github.com/o/r"},
		{in: "github.com/o/r", want: "https://github.com/o/r"},
		{in: "https://github.com/o/r.git", want: "https://github.com/o/r"},
		{in: "git+https://gitlab.com/g/sub/p", want: "https://gitlab.com/g/sub/p"},
		{in: "o", err: "want owner/repo"},
		{in: "o//r", err: "empty path element"},
		{in: "", err: "empty"},
	}
	for _, tt := range tests {
		got, err := NormalizeRepositoryURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSignerWorkflowPattern(t *testing.T) {
	const uri = "https://github.com/o/r/.github/workflows/attest.yml@refs/heads/main"
	tests := []struct {
		w    string
		in   string
		want bool
	}{
		{"o/r/.github/workflows/attest.yml", uri, true},
		{"github.com/o/r/.github/workflows/attest.yml", uri, true},
		{"o/r/.github/workflows/attest.yml@refs/heads/main", uri, true},
		{"o/r/.github/workflows/attest.yml@refs/heads/dev", uri, false},
		{"o/r/.github/workflows/attest.yml", "https://github.com/o/r/.github/workflows/attest.yml.evil.yml@refs/heads/main", false},
		{"o/r/.github/workflows/attest.yml", "https://github.com/o/r/.github/workflows/attest.yml@refs/heads/main/x@refs/heads/y", true},
		// GitLab: the CI config path after the project's "//".
		{"gitlab.com/ns/proj//.gitlab-ci.yml", "https://gitlab.com/ns/proj//.gitlab-ci.yml@refs/heads/main", true},
		{"gitlab.com/group/sub/proj//ci/release.yml@refs/tags/v1.0", "https://gitlab.com/group/sub/proj//ci/release.yml@refs/tags/v1.0", true},
		{"gitlab.com/ns/proj//.gitlab-ci.yml", "https://gitlab.com/ns/other//.gitlab-ci.yml@refs/heads/main", false},
		{"gitlab.com/ns/proj//.gitlab-ci.yml", "https://gitlab.com/ns/proj//ci/.gitlab-ci.yml@refs/heads/main", false},
	}
	for _, tt := range tests {
		re, err := signerWorkflowPattern(tt.w)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.MatchString(tt.in); got != tt.want {
			t.Errorf("%q matching %q = %v, want %v", tt.w, tt.in, got, tt.want)
		}
	}
	if _, err := signerWorkflowPattern("o/r"); err == nil {
		t.Error("short workflow accepted")
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name  string
		p     Policy
		keyed bool
		err   string
	}{
		{name: "keyless complete", p: Policy{SAN: "s", Issuer: "i"}},
		{name: "keyed", p: Policy{}, keyed: true},
		{name: "no identity", p: Policy{Issuer: "i"}, err: "certificate identity"},
		{name: "no issuer", p: Policy{SANRegexp: ".*"}, err: "OIDC issuer"},
		{name: "both SANs", p: Policy{SAN: "s", SANRegexp: "s", Issuer: "i"}, err: "not both"},
		{name: "bad regexp", p: Policy{SANRegexp: "(", Issuer: "i"}, err: "regular expression"},
		{name: "branch and tag", p: Policy{SAN: "s", Issuer: "i", SourceBranch: "b", SourceTag: "t"}, err: "not both"},
		{name: "publisher kind", p: Policy{SAN: "s", Issuer: "i", Publisher: &Publisher{Kind: "bitbucket", Repository: "o/r", Workflow: "w"}}, err: "github or gitlab"},
		{name: "github workflow path", p: Policy{SAN: "s", Issuer: "i", Publisher: &Publisher{Kind: PublisherGitHub, Repository: "o/r", Workflow: ".github/workflows/w.yml"}}, err: "file name only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate(tt.keyed)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestNormalizeOwnerURL(t *testing.T) {
	for in, want := range map[string]string{
		"octo-org":                    "https://github.com/octo-org",
		"https://github.com/octo-org": "https://github.com/octo-org",
		"github.com/octo-org/":        "https://github.com/octo-org",
		"https://ghe.example/team":    "https://ghe.example/team",
		"":                            "",
		"octo-org/repo":               "",
		"https://github.com/":         "",
	} {
		got, err := NormalizeOwnerURL(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("NormalizeOwnerURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"https://github.com/sigstore/sigstore-js": "https://github.com/sigstore",
		"https://github.com/sigstore":             "",
		"http://github.com/a/b":                   "",
		"":                                        "",
	} {
		if got := ownerOfRepositoryURL(in); got != want {
			t.Errorf("ownerOfRepositoryURL(%q) = %q, want %q", in, got, want)
		}
	}
}
