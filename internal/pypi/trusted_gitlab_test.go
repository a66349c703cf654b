package pypi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

const gitlabSHA = "0123456789abcdef0123456789abcdef01234567"

// gitlabClaims are the claims of a GitLab CI id_token (aud pypi) of a
// branch pipeline of octo-org/octo-repo on gitlab.com, shaped as GitLab
// makes them (runner_id a number, the rest strings) and as Parse decodes
// them.
func gitlabClaims() idtoken.Claims {
	return idtoken.Claims{
		"iss":                "https://gitlab.com",
		"aud":                "pypi",
		"sub":                "project_path:octo-org/octo-repo:ref_type:branch:ref:main",
		"jti":                "6f1c0a7e-33c2-4bd4-9a4c-8a0c2d1e5b77",
		"iat":                json.Number("1767225600"),
		"nbf":                json.Number("1767225595"),
		"exp":                json.Number("1767229200"),
		"namespace_id":       "9919",
		"namespace_path":     "octo-org",
		"project_id":         "700000001",
		"project_path":       "octo-org/octo-repo",
		"user_id":            "583231",
		"user_login":         "octocat",
		"user_email":         "octocat@example.com",
		"user_access_level":  "maintainer",
		"pipeline_id":        "1200000001",
		"pipeline_source":    "push",
		"job_id":             "7000000001",
		"ref":                "main",
		"ref_type":           "branch",
		"ref_path":           "refs/heads/main",
		"ref_protected":      "true",
		"runner_id":          json.Number("32000001"),
		"runner_environment": "gitlab-hosted",
		"sha":                gitlabSHA,
		"project_visibility": "public",
		"ci_config_ref_uri":  "gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main",
		"ci_config_sha":      gitlabSHA,
	}
}

func gitlabTokenWith(mod func(idtoken.Claims)) *idtoken.Token {
	c := gitlabClaims()
	if mod != nil {
		mod(c)
	}
	return &idtoken.Token{Raw: fakeJWT, Claims: c}
}

func TestParseCIConfigRef(t *testing.T) {
	cases := []struct {
		in   string
		want ciConfigRef
		ok   bool
	}{
		{"gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main", ciConfigRef{"gitlab.com", "octo-org", "octo-repo", ".gitlab-ci.yml", "refs/heads/main"}, true},
		{"gitlab.com/grp/sub/proj//ci/release.yaml@" + gitlabSHA, ciConfigRef{"gitlab.com", "grp/sub", "proj", "ci/release.yaml", gitlabSHA}, true},
		{"gitlab.example.com/Octo-Org/Octo-Repo//.GitLab-CI.yml@refs/tags/v1.0", ciConfigRef{"gitlab.example.com", "Octo-Org", "Octo-Repo", ".GitLab-CI.yml", "refs/tags/v1.0"}, true},
		// an "@" in the ref: the file ends before the first "@" that follows .yml
		{"gitlab.com/o/p//a.yml@refs/heads/x@y", ciConfigRef{"gitlab.com", "o", "p", "a.yml", "refs/heads/x@y"}, true},
		// the longest file: a later "@" after a .yml wins
		{"gitlab.com/o/p//a.yml@b.yml@refs/heads/main", ciConfigRef{"gitlab.com", "o", "p", "a.yml@b.yml", "refs/heads/main"}, true},
		{"gitlab.com/o/p///a.yml@r", ciConfigRef{"gitlab.com", "o", "p", "/a.yml", "r"}, true},
		{"", ciConfigRef{}, false},
		{"gitlab.com/o/p//.gitlab-ci.yml", ciConfigRef{}, false},
		{"gitlab.com/o/p/.gitlab-ci.yml@refs/heads/main", ciConfigRef{}, false},
		{"gitlab.com/o/p//ci/.yml@refs/heads/main", ciConfigRef{}, false},
		{"gitlab.com/o/p//ci.json@refs/heads/main", ciConfigRef{}, false},
		// PyPI's pattern: "." matches no line feed, but the name's last character may be one
		{"gitlab.com/o/p//\nx.yml@r", ciConfigRef{}, false},
		{"gitlab.com/o/p//a\n.yml@r", ciConfigRef{"gitlab.com", "o", "p", "a\n.yml", "r"}, true},
		{"gitlab.com/o/p//\n.yaml.yml@r", ciConfigRef{}, false},
		// the first "//" that works: the project path has none
		{"a.yaml//b.yml@x//c.yml@r", ciConfigRef{"a.yaml", "", "", "b.yml@x//c.yml", "r"}, true},
	}
	for _, tc := range cases {
		got, ok := parseCIConfigRef(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseCIConfigRef(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseExpectation(t *testing.T) {
	cases := []struct {
		desc     string
		expected []string
		got      string
		ok       bool
	}{
		{"valid token, but no corresponding publisher (The ci_config_ref_uri claim does not match, expecting one of ['gitlab.com/a/b//c.yml@" + gitlabSHA + "', 'gitlab.com/a/b//c.yml@refs/heads/main'], got 'gitlab.com/A/b//c.yml@refs/heads/main')",
			[]string{"gitlab.com/a/b//c.yml@" + gitlabSHA, "gitlab.com/a/b//c.yml@refs/heads/main"}, "gitlab.com/A/b//c.yml@refs/heads/main", true},
		// Python's repr: double quotes around a single quote, escapes
		{`expecting one of ["gitlab.com/a/b//it's.yml@r"], got 'gitlab.com/a/b//x\n.yml@r\\\x07'`,
			[]string{"gitlab.com/a/b//it's.yml@r"}, "gitlab.com/a/b//x\n.yml@r\\\a", true},
		{"expecting one of [], got ''", nil, "", true},
		{"expecting one of ['a', got 'b'", nil, "", false},
		{"Publisher with matching claims was not found", nil, "", false},
	}
	for _, tc := range cases {
		exp, got, ok := parseExpectation(tc.desc)
		if ok != tc.ok || (ok && (strings.Join(exp, "|") != strings.Join(tc.expected, "|") || got != tc.got)) {
			t.Errorf("parseExpectation(%q) = %q, %q, %v; want %q, %q, %v", tc.desc, exp, got, ok, tc.expected, tc.got, tc.ok)
		}
	}
}

// TestGitLabClaimsTable checks the rows for GitLab tokens: what each claim
// is and what PyPI's GitLab publisher form must say for it.
func TestGitLabClaimsTable(t *testing.T) {
	cases := []struct {
		name    string
		mod     func(idtoken.Claims)
		want    []string
		notWant []string
	}{
		{"default", nil, []string{
			"Claims of the OIDC token the index matches (decoded without verification, for debugging only):",
			"  claim                      token value                                                    must equal on the index's publisher form\n",
			`  project_path               octo-org/octo-repo                                             Namespace "octo-org" + Project name "octo-repo", spelled exactly so: PyPI finds the publisher without regard to case, then compares ci_config_ref_uri exactly` + "\n",
			`  ci_config_ref_uri          gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main  Top-level pipeline file path ".gitlab-ci.yml" (exact, case included)` + "\n",
			`  environment                MISSING                                                        Environment name: empty (this job has no environment, so a publisher restricted to one refuses it)` + "\n",
			`  iss                        https://gitlab.com                                             GitLab instance "https://gitlab.com" (the default)` + "\n",
			`  ref_path / sha             refs/heads/main / ` + gitlabSHA + `     not on the form; both must be present, and ci_config_ref_uri must end in @ one of them` + "\n",
			`  sub                        project_path:octo-org/octo-repo:ref_type:branch:ref:main       not on the form; must begin "project_path:octo-org/octo-repo" (any case; what follows is not compared)` + "\n",
			`  namespace_id / project_id  9919 / 700000001                                               not on the form, and not checked by PyPI` + "\n",
		}, []string{"repository_owner", "job_workflow_ref", "this token's ends in"}},
		{"environment, subgroup, nested file", func(c idtoken.Claims) {
			c["environment"] = "PyPI"
			c["project_path"] = "grp/sub/proj"
			c["ci_config_ref_uri"] = "gitlab.com/grp/sub/proj//ci/release.yml@refs/tags/v1"
			c["ref_path"] = "refs/tags/v1"
		}, []string{
			`Namespace "grp/sub" + Project name "proj"`,
			`Top-level pipeline file path "ci/release.yml" (exact, case included)`,
			`Environment name "PyPI" (exact, case included), or empty to allow any`,
		}, nil},
		{"project_path spelled otherwise", func(c idtoken.Claims) { c["project_path"] = "Octo-Org/octo-repo" }, []string{
			`Namespace "octo-org" + Project name "octo-repo"`,
			`(project_path is spelled "Octo-Org/octo-repo", ci_config_ref_uri "octo-org/octo-repo": use the latter)`,
		}, nil},
		{"pipeline file of another project", func(c idtoken.Claims) {
			c["ci_config_ref_uri"] = "gitlab.com/octo-org/ci-templates//release.yml@refs/heads/main"
		}, []string{`but ci_config_ref_uri names another project ("octo-org/ci-templates"), so no publisher can match this token`}, nil},
		{"child pipeline", func(c idtoken.Claims) { delete(c, "ci_config_ref_uri") }, []string{
			"  ci_config_ref_uri          MISSING",
			"must be present: GitLab leaves ci_config_ref_uri empty when the pipeline's top-level configuration is not this project's own CI file (child and multi-project pipelines",
			`Namespace "octo-org" + Project name "octo-repo"`,
		}, nil},
		{"unreadable", func(c idtoken.Claims) { c["ci_config_ref_uri"] = "gitlab.com/octo-org/octo-repo/.gitlab-ci.yml" }, []string{
			`PyPI cannot read a pipeline file from it: it wants "<host>/<namespace>/<project>//<file>.yml@<ref>"`,
		}, nil},
		{"ref neither", func(c idtoken.Claims) {
			c["ci_config_ref_uri"] = "gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/other"
		}, []string{`must end in @ one of them (this token's ends in @"refs/heads/other")`}, nil},
		{"self-managed", func(c idtoken.Claims) { c["iss"] = "https://gitlab.example.com" }, []string{
			`GitLab instance "https://gitlab.example.com" (a self-managed instance: PyPI knows only those it has onboarded`,
		}, nil},
		{"control characters are escaped", func(c idtoken.Claims) {
			c["environment"] = "prod\n::error::pwned"
			c["project_path"] = "octo-org/octo-repo\r\x1b[2J"
		}, []string{`prod\n::error::pwned`, `Environment name "prod\n::error::pwned"`, `octo-org/octo-repo\r\x1b[2J`}, []string{"\n::error::", "\x1b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := gitlabClaims()
			if tc.mod != nil {
				tc.mod(c)
			}
			got := ClaimsTable(c)
			for _, s := range tc.want {
				if !strings.Contains(got, s) {
					t.Errorf("table lacks %q:\n%s", s, got)
				}
			}
			for _, s := range tc.notWant {
				if strings.Contains(got, s) {
					t.Errorf("table has %q:\n%s", s, got)
				}
			}
		})
	}
}

// TestGitLabMintErrorDiagnosis renders the index's refusals of a GitLab
// token, with warehouse's descriptions, and checks what the diagnosis
// says about each.
func TestGitLabMintErrorDiagnosis(t *testing.T) {
	const (
		wrapper = "valid token, but no corresponding publisher (%s)"
		link    = "https://test.pypi.org/manage/project/sample-project/settings/publishing/?provider=gitlab&namespace=octo-org&project=octo-repo&workflow_filepath=.gitlab-ci.yml"
		pending = "https://test.pypi.org/manage/account/publishing/"
	)
	mismatch := func(publisher, file string) string {
		return "The ci_config_ref_uri claim does not match, expecting one of ['gitlab.com/" + publisher + "//" + file + "@" + gitlabSHA + "', 'gitlab.com/" + publisher + "//" + file + "@refs/heads/main'], got 'gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main'"
	}
	cases := []struct {
		name, code, reason string
		mod                func(idtoken.Claims)
		want, notWant      []string
	}{
		{"only the case differs", "invalid-publisher", mismatch("Octo-Org/Octo-Repo", ".gitlab-ci.yml"), nil, []string{
			`      → Namespace "Octo-Org" on the publisher, "octo-org" in the token; Project name "Octo-Repo" on the publisher, "octo-repo" in the token`,
			`      → only the case differs: PyPI found the publisher without regard to case, but compares ci_config_ref_uri exactly. Remove the publisher and add it again spelled as GitLab spells the project: Namespace "octo-org", Project name "octo-repo", Top-level pipeline file path ".gitlab-ci.yml"`,
		}, []string{"is at \"refs/heads/main\", but PyPI accepts only"}},
		{"another ref", "invalid-publisher", strings.Replace(mismatch("octo-org/octo-repo", ".gitlab-ci.yml"), "@refs/heads/main'],", "@refs/heads/release'],", 1), func(c idtoken.Claims) {
			c["ref_path"] = "refs/heads/release"
			c["sub"] = "project_path:octo-org/octo-repo:ref_type:branch:ref:release"
		}, []string{
			`      → the token's ci_config_ref_uri is at "refs/heads/main", but PyPI accepts only its ref_path or sha claim ("` + gitlabSHA + `" or "refs/heads/release")`,
		}, []string{"only the case differs", "on the publisher"}},
		{"another instance", "invalid-publisher", strings.ReplaceAll(mismatch("octo-org/octo-repo", ".gitlab-ci.yml"), "['gitlab.com/", "['gitlab.example.com/"), nil, []string{
			`GitLab host "gitlab.example.com" on the publisher, "gitlab.com" in the token`,
		}, []string{"only the case differs"}},
		{"not found", "invalid-publisher", "Publisher with matching claims was not found", func(c idtoken.Claims) { c["environment"] = "pypi" }, []string{
			`      → PyPI looked for a GitLab publisher with Namespace "octo-org" and Project name "octo-repo" (any case), Top-level pipeline file path ".gitlab-ci.yml" (exactly: a path that differs only in case is another publisher), GitLab instance "https://gitlab.com" and Environment name "pypi" or none`,
		}, nil},
		{"no pipeline file", "invalid-publisher", "Could not extract workflow filename from OIDC claims", func(c idtoken.Claims) {
			c["ci_config_ref_uri"] = "gitlab.com/octo-org/octo-repo/.gitlab-ci.yml@refs/heads/main"
		}, []string{`this token's is "gitlab.com/octo-org/octo-repo/.gitlab-ci.yml@refs/heads/main"`}, []string{"/settings/publishing/"}},
		{"child pipeline", "invalid-publisher", "Missing claim 'ci_config_ref_uri'", func(c idtoken.Claims) { delete(c, "ci_config_ref_uri") }, []string{
			"      → GitLab leaves ci_config_ref_uri empty when the pipeline's top-level configuration is not this project's own CI file",
		}, []string{"/settings/publishing/"}},
		{"sub", "invalid-publisher", "Check failed for required claim 'sub'", func(c idtoken.Claims) { c["sub"] = "ref:main:project_path:octo-org/octo-repo" }, []string{
			`      → sub must begin "project_path:octo-org/octo-repo"; this token's is "ref:main:project_path:octo-org/octo-repo"`,
		}, nil},
		{"reuse", "invalid-reuse-token", "invalid token: already used", nil, []string{"each OIDC token can be exchanged once"}, []string{"PyPI looked for"}},
		{"hostile description", "invalid-publisher", "Publisher with matching claims was not found\n::error::pwned\x1b[2J", nil, []string{
			`Publisher with matching claims was not found\n::error::pwned\x1b[2J`,
		}, []string{"\n::error::", "\x1b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reason := tc.reason
			if tc.code == "invalid-publisher" {
				reason = strings.Replace(wrapper, "%s", reason, 1)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnprocessableEntity)
				json.NewEncoder(w).Encode(map[string]any{
					"message": "Token request failed",
					"errors":  []map[string]string{{"code": tc.code, "description": reason}},
				})
			}))
			defer srv.Close()
			c := &Client{HTTP: &http.Client{Transport: redirectTo{srv}}}
			_, err := c.Mint(context.Background(), "https://test.pypi.org/legacy/", gitlabTokenWith(tc.mod), "sample-project")
			var me *MintError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *MintError", err)
			}
			msg := err.Error()
			want := append([]string{"Claims of the OIDC token the index matches", "  ci_config_ref_uri  "}, tc.want...)
			if !strings.Contains(strings.Join(tc.notWant, "\n"), "/settings/publishing/") {
				want = append(want, "To create a trusted publisher with these values, open:\n  "+link+"\n",
					`If "sample-project" is not on https://test.pypi.org yet, add a pending publisher with the same values and the project name instead, at:`+"\n  "+pending)
			}
			for _, s := range want {
				if !strings.Contains(msg, s) {
					t.Errorf("diagnosis lacks %q:\n%s", s, msg)
				}
			}
			for _, s := range tc.notWant {
				if strings.Contains(msg, s) {
					t.Errorf("diagnosis has %q:\n%s", s, msg)
				}
			}
			if strings.Contains(msg, fakeJWT) || strings.Contains(msg, "repository_owner") {
				t.Errorf("raw token or GitHub rows in the diagnosis:\n%s", msg)
			}
		})
	}
}

func TestGitLabPublisherLink(t *testing.T) {
	cases := []struct {
		name, index string
		mod         func(idtoken.Claims)
		want        string
	}{
		{"pypi", "https://upload.pypi.org/legacy/", nil,
			"https://pypi.org/manage/project/sample/settings/publishing/?provider=gitlab&namespace=octo-org&project=octo-repo&workflow_filepath=.gitlab-ci.yml"},
		{"subgroup and nested file", "https://test.pypi.org/legacy/", func(c idtoken.Claims) {
			c["project_path"] = "grp/sub/proj"
			c["ci_config_ref_uri"] = "gitlab.com/grp/sub/proj//ci/pypi release.yaml@refs/tags/v1"
		}, "https://test.pypi.org/manage/project/sample/settings/publishing/?provider=gitlab&namespace=grp%2Fsub&project=proj&workflow_filepath=ci%2Fpypi+release.yaml"},
		// the spelling PyPI compares exactly: ci_config_ref_uri's
		{"case", "https://upload.pypi.org/legacy/", func(c idtoken.Claims) {
			c["ci_config_ref_uri"] = "gitlab.com/Octo-Org/Octo-Repo//.gitlab-ci.yml@refs/heads/main"
		}, "https://pypi.org/manage/project/sample/settings/publishing/?provider=gitlab&namespace=Octo-Org&project=Octo-Repo&workflow_filepath=.gitlab-ci.yml"},
		{"self-managed", "https://upload.pypi.org/legacy/", func(c idtoken.Claims) {
			c["iss"] = "https://gitlab.example.com"
			c["ci_config_ref_uri"] = "gitlab.example.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main"
		}, "https://pypi.org/manage/project/sample/settings/publishing/?provider=gitlab&namespace=octo-org&project=octo-repo&workflow_filepath=.gitlab-ci.yml&issuer_url=https%3A%2F%2Fgitlab.example.com"},
		{"another index", "https://gitlab.example.com/api/v4/projects/1/packages/pypi", nil, ""},
		{"no ci_config_ref_uri", "https://upload.pypi.org/legacy/", func(c idtoken.Claims) { delete(c, "ci_config_ref_uri") }, ""},
	}
	for _, tc := range cases {
		c := gitlabClaims()
		if tc.mod != nil {
			tc.mod(c)
		}
		if got := PublisherLink(tc.index, c, []string{"sample"}); got != tc.want {
			t.Errorf("%s: PublisherLink = %q, want %q", tc.name, got, tc.want)
		}
	}
	for index, want := range map[string]string{
		"https://upload.pypi.org/legacy/":   "https://pypi.org/manage/account/publishing/",
		"https://test.pypi.org/legacy/":     "https://test.pypi.org/manage/account/publishing/",
		"https://pypi.example.com/legacy/":  "",
		"http://127.0.0.1:8080/legacy/":     "",
		"https://upload.pypi.org.evil.com/": "",
	} {
		if got := PendingPublisherLink(index); got != want {
			t.Errorf("PendingPublisherLink(%q) = %q, want %q", index, got, want)
		}
	}
}

// FuzzGitLabDiagnosis feeds arbitrary claims and index descriptions to the
// GitLab diagnosis: parseCIConfigRef returns only what the claim holds
// (a YAML file right before "@ref" after a "//"), parseExpectation never
// panics, and the rendered MintError has no character that is not
// printable besides its own line breaks, whatever the token and the index
// say (they cannot forge lines or terminal sequences in a CI log).
func FuzzGitLabDiagnosis(f *testing.F) {
	f.Add("gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main", "octo-org/octo-repo", "pypi",
		"valid token, but no corresponding publisher (The ci_config_ref_uri claim does not match, expecting one of ['gitlab.com/Octo-Org/octo-repo//.gitlab-ci.yml@"+gitlabSHA+"', 'gitlab.com/Octo-Org/octo-repo//.gitlab-ci.yml@refs/heads/main'], got 'gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main')")
	f.Add("gitlab.com/a//b//c.yaml@x@y", "a", "", "valid token, but no corresponding publisher (Publisher with matching claims was not found)")
	f.Add("", "g/p\n::error::x", "\x1b[2J", "valid token, but no corresponding publisher (Missing claim 'ci_config_ref_uri')\r\n")
	f.Add("h/n/p//\u2028.yml@r", "n/p", "e", `expecting one of ["h/n/p//a.yml@\x00"], got 'h/N/p//a.yml@r'`)
	f.Fuzz(func(t *testing.T, ciConfigRefURI, projectPath, environment, description string) {
		if r, ok := parseCIConfigRef(ciConfigRefURI); ok {
			if !isPipelineFile(r.file) || !strings.Contains(ciConfigRefURI, "//"+r.file+"@"+r.ref) || !strings.HasSuffix(ciConfigRefURI, "@"+r.ref) {
				t.Fatalf("parseCIConfigRef(%q) = %+v", ciConfigRefURI, r)
			}
		}
		parseExpectation(description)
		c := gitlabClaims()
		c["ci_config_ref_uri"] = ciConfigRefURI
		c["project_path"] = projectPath
		c["environment"] = environment
		c["sub"] = "project_path:" + projectPath
		e := &MintError{Status: 422, Message: description, IndexURL: "https://upload.pypi.org/legacy/", Projects: []string{"sample"},
			Errors: []MintErrorDetail{{"invalid-publisher", description}, {description, "x"}}, Claims: c}
		for _, r := range e.Error() {
			if r != '\n' && !unicode.IsPrint(r) {
				t.Fatalf("diagnosis holds %U:\n%s", r, e.Error())
			}
		}
	})
}
