//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// What test/oidcissuer's GitLab tokens say by default: a pipeline of
// .gitlab-ci.yml on branch main of octo-org/octo-repo on gitlab.com.
const (
	gitlabProject  = "octo-org/octo-repo"
	gitlabCIFile   = ".gitlab-ci.yml"
	gitlabIdentity = "https://gitlab.com/" + gitlabProject + "//" + gitlabCIFile + "@refs/heads/main"
	gitlabSHA      = "0123456789abcdef0123456789abcdef01234567"
)

// gitlabPublisher is a GitLab trusted publisher of the index front, in
// its publishers.json ("kind": "gitlab").
type gitlabPublisher struct {
	Project          string `json:"project"`
	Kind             string `json:"kind"`
	ProjectPath      string `json:"project_path"`
	WorkflowFilepath string `json:"workflow_filepath"`
	Environment      string `json:"environment,omitempty"`
	Issuer           string `json:"issuer,omitempty"`
}

// startGitLabIndex starts the index front with exactly these publishers.
func startGitLabIndex(t *testing.T, pubs ...gitlabPublisher) map[string]string {
	t.Helper()
	for i := range pubs {
		pubs[i].Kind = "gitlab"
		if pubs[i].Project == "" {
			pubs[i].Project = "attest-publish-sample"
		}
	}
	data, err := json.Marshal(pubs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "publishers.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return startIndex(t, "--publishers", path)
}

// gitlabJobEnv is the environment of a GitLab CI job on GitLab.com that
// declares
//
//	id_tokens:
//	  SIGSTORE_ID_TOKEN: {aud: sigstore}
//	  PYPI_ID_TOKEN: {aud: pypi}
//
// with fresh tokens from the local issuer's GitLab sub-issuer; claims is
// appended to both token requests (claim overrides, "&environment=pypi").
// There is no GitHub variable in it.
func gitlabJobEnv(t *testing.T, claims string) map[string]string {
	t.Helper()
	return map[string]string{
		"PATH":               os.Getenv("PATH"),
		"HOME":               os.TempDir(),
		"CI":                 "true",
		"GITLAB_CI":          "true",
		"CI_SERVER_URL":      env.issuer + "/gitlab", // the stack's GitLab issuer plays gitlab.com
		"CI_SERVER_HOST":     "gitlab.com",
		"CI_PROJECT_PATH":    gitlabProject,
		"CI_PROJECT_URL":     "https://gitlab.com/" + gitlabProject,
		"CI_CONFIG_PATH":     gitlabCIFile,
		"CI_COMMIT_SHA":      gitlabSHA,
		"CI_COMMIT_REF_NAME": "main",
		"CI_COMMIT_BRANCH":   "main",
		"CI_PIPELINE_SOURCE": "push",
		"CI_JOB_ID":          "7000000001",
		"CI_PIPELINE_ID":     "1200000001",
		"CI_JOB_URL":         "https://gitlab.com/" + gitlabProject + "/-/jobs/7000000001",
		"SIGSTORE_ID_TOKEN":  mintToken(t, "&audience=sigstore&kind=gitlab"+claims),
		"PYPI_ID_TOKEN":      mintToken(t, "&audience=pypi&kind=gitlab"+claims),
	}
}

// signedGitLabRelease copies the sample dists and signs them in a GitLab
// job; it returns the directory and how many attestations each dist has
// (the publish attestation, and the SLSA provenance when sign makes one
// on GitLab).
func signedGitLabRelease(t *testing.T) (string, map[string]int) {
	t.Helper()
	dir := copyDists(t)
	res := sign(t, gitlabJobEnv(t, ""), append(trustArgs(env.signingConfig), "--packages-dir", dir)...)
	if res.code != 0 {
		t.Fatalf("sign in a GitLab job failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "Signer: "+gitlabIdentity) {
		t.Errorf("sign report does not name the GitLab signer %s:\n%s", gitlabIdentity, res.stdout)
	}
	counts := map[string]int{}
	for _, dist := range distFiles(t, dir) {
		if _, err := os.Stat(dist + ".publish.attestation"); err != nil {
			t.Fatalf("no publish attestation: %v", err)
		}
		counts[filepath.Base(dist)] = 1
		if _, err := os.Stat(dist + ".slsa.attestation"); err == nil {
			counts[filepath.Base(dist)]++
		}
	}
	return dir, counts
}

// mintedToken matches an API token the front mints.
var mintedToken = regexp.MustCompile(`pypi-[A-Za-z0-9_-]{40,}`)

// TestGitLabPublish: a GitLab job signs, then publishes through the front's
// GitLab trusted publisher (PYPI_ID_TOKEN exchanged at mint-token, every
// attestation verified at upload with pypi-attestations' GitLabPublisher);
// pip installs the release from the index, whose Integrity API names the
// GitLab publisher, and `verify --from-index` with the GitLab publisher
// policy accepts every file (and refuses another pipeline file or project).
func TestGitLabPublish(t *testing.T) {
	index := startGitLabIndex(t, gitlabPublisher{ProjectPath: gitlabProject, WorkflowFilepath: gitlabCIFile})
	dir, counts := signedGitLabRelease(t)

	res := publish(t, gitlabJobEnv(t, ""), "--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir, "--trusted-root", env.trustedRoot)
	out := res.stdout + res.stderr
	if res.code != 0 {
		t.Fatalf("publish from a GitLab job failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("publish output:\n%s", out)
	if m := mintedToken.FindString(out); m != "" {
		t.Errorf("the minted API token appears in the output")
	}
	for _, dist := range distFiles(t, dir) {
		if !reportState(out, filepath.Base(dist), "uploaded") {
			t.Errorf("report does not say %s was uploaded:\n%s", filepath.Base(dist), out)
		}
	}

	// The front accepted each file with all its attestations, through the
	// GitLab publisher.
	uploads := frontUploads(t, index)
	if len(uploads) != len(counts) {
		t.Fatalf("the front accepted %d uploads, want %d: %v", len(uploads), len(counts), uploads)
	}
	for _, u := range uploads {
		name, _ := u["filename"].(string)
		pub, _ := u["publisher"].(map[string]any)
		if n, _ := u["attestations"].(float64); int(n) != counts[name] || counts[name] < 1 || counts[name] > 2 {
			t.Errorf("%s: %v attestations accepted, want the %d made by sign", name, u["attestations"], counts[name])
		}
		if pub["kind"] != "gitlab" || pub["project_path"] != gitlabProject {
			t.Errorf("%s was accepted through publisher %v, want the GitLab one", name, pub)
		}
	}

	// The Integrity API serves the provenance under the GitLab publisher,
	// as PyPI does.
	for _, dist := range distFiles(t, dir) {
		name := filepath.Base(dist)
		var prov struct {
			Version            int `json:"version"`
			AttestationBundles []struct {
				Publisher    map[string]any    `json:"publisher"`
				Attestations []json.RawMessage `json:"attestations"`
			} `json:"attestation_bundles"`
		}
		if err := json.Unmarshal(get(t, index["INDEXFRONT_URL"]+"/integrity/attest-publish-sample/0.1.0/"+name+"/provenance"), &prov); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"kind": "GitLab", "repository": gitlabProject, "workflow_filepath": gitlabCIFile, "environment": nil}
		if prov.Version != 1 || len(prov.AttestationBundles) != 1 || !jsonEqualValues(prov.AttestationBundles[0].Publisher, want) {
			t.Errorf("%s: provenance %+v, want one bundle from publisher %v", name, prov, want)
		} else if got := len(prov.AttestationBundles[0].Attestations); got != counts[name] {
			t.Errorf("%s: %d attestations served, want %d", name, got, counts[name])
		}
	}

	// pip installs the release from the index.
	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := python(t, "-m", "venv", venv); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := tool(t, filepath.Join(venv, "bin", "pip"), "install", "-q", "--no-deps", "--index-url", index["INDEXFRONT_SIMPLE_URL"], "attest-publish-sample==0.1.0"); err != nil {
		t.Fatalf("pip install from the index: %v\n%s", err, out)
	}
	if out, err := tool(t, filepath.Join(venv, "bin", "python"), "-c", "import attest_publish_sample as m; print(m.__version__)"); err != nil || strings.TrimSpace(out) != "0.1.0" {
		t.Errorf("installed package: %v %q", err, out)
	}

	// verify --from-index with the GitLab publisher policy.
	policy := func(repo, workflow string) []string {
		return []string{"--from-index", index["INDEXFRONT_URL"], "--certificate-identity", gitlabIdentity, "--certificate-oidc-issuer", env.issuer + "/gitlab",
			"--publisher-kind", "gitlab", "--publisher-repository", repo, "--publisher-workflow", workflow, "attest-publish-sample==0.1.0"}
	}
	vout, code := verify(t, policy(gitlabProject, gitlabCIFile)...)
	if code != 0 {
		t.Fatalf("verify --from-index --publisher-kind gitlab: exit %d\n%s", code, vout)
	}
	t.Logf("verify --from-index:\n%s", vout)
	for _, dist := range distFiles(t, dir) {
		if !strings.Contains(vout, "OK   "+filepath.Base(dist)+": signed by "+gitlabIdentity) {
			t.Errorf("no OK verdict for %s:\n%s", filepath.Base(dist), vout)
		}
	}
	for _, tc := range []struct{ name, repo, workflow string }{
		{"another pipeline file", gitlabProject, "ci/release.yml"},
		{"another project", "octo-org/other-repo", gitlabCIFile},
	} {
		vout, code := verify(t, policy(tc.repo, tc.workflow)...)
		if code != 1 || strings.Count(vout, "FAIL ") != 2 || !strings.Contains(vout, "publisher check failed") || strings.Contains(vout, "OK   ") {
			t.Errorf("%s: exit %d, want 1 with two FAIL verdicts from the publisher check:\n%s", tc.name, code, vout)
		}
	}
}

// claimRowIn reports whether out has a claims-table row for claim whose
// token value is value and whose publisher-form column begins with form.
func claimRowIn(out, claim, value, form string) bool {
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), claim+"  ")
		if !ok {
			continue
		}
		rest, ok = strings.CutPrefix(strings.TrimSpace(rest), value)
		if ok && strings.HasPrefix(strings.TrimSpace(rest), form) {
			return true
		}
	}
	return false
}

// TestGitLabPublishRefused: the front's GitLab publisher refuses a token
// of another CI config file, another environment, or a project spelled
// in another case; publish uploads nothing and its diagnosis shows the
// token's claims against what the publisher form must say, with what
// differs. A publisher with the values the diagnosis names then takes the
// same release from the same job.
func TestGitLabPublishRefused(t *testing.T) {
	dir, _ := signedGitLabRelease(t)
	commonRows := [][3]string{
		{"ci_config_ref_uri", "gitlab.com/" + gitlabProject + "//" + gitlabCIFile + "@refs/heads/main", `Top-level pipeline file path ".gitlab-ci.yml" (exact, case included)`},
		{"project_path", gitlabProject, `Namespace "octo-org" + Project name "octo-repo", spelled exactly so`},
		{"iss", env.issuer + "/gitlab", `GitLab instance "` + env.issuer + `/gitlab"`},
		{"ref_path / sha", "refs/heads/main / " + gitlabSHA, "not on the form; both must be present"},
		{"sub", "project_path:" + gitlabProject + ":ref_type:branch:ref:main", `not on the form; must begin "project_path:octo-org/octo-repo"`},
		{"namespace_id / project_id", "9919 / 700000001", "not on the form, and not checked by PyPI"},
	}
	cases := []struct {
		name      string
		publisher gitlabPublisher
		claims    string // token claim overrides of the refused run
		reason    string
		rows      [][3]string
		hints     []string
		fixed     gitlabPublisher // the publisher the diagnosis asks for
	}{
		{
			name:      "wrong CI config path",
			publisher: gitlabPublisher{ProjectPath: gitlabProject, WorkflowFilepath: "ci/release.yml"},
			reason:    "invalid-publisher: valid token, but no corresponding publisher (Publisher with matching claims was not found)",
			rows:      [][3]string{{"environment", "MISSING", "Environment name: empty"}},
			hints:     []string{`PyPI looked for a GitLab publisher with Namespace "octo-org" and Project name "octo-repo" (any case), Top-level pipeline file path ".gitlab-ci.yml" (exactly`},
			fixed:     gitlabPublisher{ProjectPath: gitlabProject, WorkflowFilepath: gitlabCIFile},
		},
		{
			name:      "wrong environment",
			publisher: gitlabPublisher{ProjectPath: gitlabProject, WorkflowFilepath: gitlabCIFile, Environment: "pypi"},
			claims:    "&environment=staging",
			reason:    "invalid-publisher: valid token, but no corresponding publisher (Publisher with matching claims was not found)",
			rows:      [][3]string{{"environment", "staging", `Environment name "staging" (exact, case included), or empty to allow any`}},
			hints:     []string{`GitLab instance "` + env.issuer + `/gitlab" and Environment name "staging" or none`},
			fixed:     gitlabPublisher{ProjectPath: gitlabProject, WorkflowFilepath: gitlabCIFile, Environment: "staging"},
		},
		{
			name:      "wrong case",
			publisher: gitlabPublisher{ProjectPath: "Octo-Org/Octo-Repo", WorkflowFilepath: gitlabCIFile},
			reason: "invalid-publisher: valid token, but no corresponding publisher (The ci_config_ref_uri claim does not match, expecting one of " +
				"['gitlab.com/Octo-Org/Octo-Repo//.gitlab-ci.yml@" + gitlabSHA + "', 'gitlab.com/Octo-Org/Octo-Repo//.gitlab-ci.yml@refs/heads/main'], " +
				"got 'gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main')",
			rows: [][3]string{{"environment", "MISSING", "Environment name: empty"}},
			hints: []string{
				`→ Namespace "Octo-Org" on the publisher, "octo-org" in the token; Project name "Octo-Repo" on the publisher, "octo-repo" in the token`,
				`→ only the case differs: PyPI found the publisher without regard to case, but compares ci_config_ref_uri exactly. Remove the publisher and add it again spelled as GitLab spells the project: Namespace "octo-org", Project name "octo-repo", Top-level pipeline file path ".gitlab-ci.yml"`,
			},
			fixed: gitlabPublisher{ProjectPath: gitlabProject, WorkflowFilepath: gitlabCIFile},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			index := startGitLabIndex(t, tc.publisher)
			args := []string{"--repository-url", index["INDEXFRONT_UPLOAD_URL"], "--packages-dir", dir, "--trusted-root", env.trustedRoot}
			res := publish(t, gitlabJobEnv(t, tc.claims), args...)
			out := res.stdout + res.stderr
			t.Logf("refused publish:\n%s", out)
			if res.code != 1 {
				t.Fatalf("publish exit %d, want 1:\n%s", res.code, out)
			}
			for _, want := range append([]string{tc.reason, "Claims of the OIDC token the index matches"}, tc.hints...) {
				if !strings.Contains(out, want) {
					t.Errorf("diagnosis lacks %q", want)
				}
			}
			for _, r := range append(append([][3]string{}, commonRows...), tc.rows...) {
				if !claimRowIn(out, r[0], r[1], r[2]) {
					t.Errorf("claims table lacks the row %q | %q | %q…", r[0], r[1], r[2])
				}
			}
			if strings.Contains(out, "repository_owner") || strings.Contains(out, "job_workflow_ref") {
				t.Errorf("the diagnosis of a GitLab token shows GitHub claims")
			}
			if uploads, _ := os.ReadDir(index["INDEXFRONT_PACKAGES_DIR"]); len(uploads) != 0 {
				t.Errorf("files reached the index: %v", uploads)
			}
			// The values the diagnosis names are the ones that work.
			fixed := startGitLabIndex(t, tc.fixed)
			args[1] = fixed["INDEXFRONT_UPLOAD_URL"]
			if res := publish(t, gitlabJobEnv(t, tc.claims), args...); res.code != 0 {
				t.Fatalf("publish to a publisher %+v failed (%d):\n%s\n%s", tc.fixed, res.code, res.stdout, res.stderr)
			}
		})
	}
}

// jsonEqualValues compares two decoded JSON objects.
func jsonEqualValues(a, b map[string]any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
