//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// gitLabProject is the project_path of the local issuer's GitLab tokens.
const gitLabProject = "octo-org/octo-repo"

// gitLabBuildType is attest-publish's buildType of GitLab CI provenance.
const gitLabBuildType = "https://github.com/attest-publish/attest-publish/blob/main/docs/buildtypes/gitlab-ci-v1.md"

// gitLabJob is one GitLab CI job signing the sample release: the token's
// claim overrides and what the certificate and provenance must then say.
type gitLabJob struct {
	name string
	// overrides are claim overrides for the local issuer (kind=gitlab).
	overrides url.Values
	// identity is the certificate SAN, https://<ci_config_ref_uri>.
	identity string
	// server is the instance the job ran on, configPath its CI config.
	server, configPath, ref string
	// onPyPI says whether PyPI's GitLab publisher (gitlab.com only) can
	// accept the job's attestations.
	onPyPI bool
}

// TestGitLabCI signs the sample release in GitLab CI jobs' environments
// (tokens from the stack's GitLab-shaped issuer, certificates from the
// stack's Fulcio through its gitlab-pipeline templates) and has every judge
// check the bundles, both PEP 740 attestations of each dist and the release
// provenance, whose buildType is attest-publish's GitLab CI one.
func TestGitLabCI(t *testing.T) {
	jobs := []gitLabJob{
		{name: "branch pipeline", identity: "https://gitlab.com/" + gitLabProject + "//.gitlab-ci.yml@refs/heads/main",
			server: "https://gitlab.com", configPath: ".gitlab-ci.yml", ref: "refs/heads/main", onPyPI: true},
		{name: "tag pipeline with the CI config in a subdirectory", overrides: url.Values{
			"ref": {"v1.0.0"}, "ref_type": {"tag"}, "ref_path": {"refs/tags/v1.0.0"}, "pipeline_source": {"web"},
			"ci_config_ref_uri": {"gitlab.com/" + gitLabProject + "//ci/release.yml@refs/tags/v1.0.0"},
		}, identity: "https://gitlab.com/" + gitLabProject + "//ci/release.yml@refs/tags/v1.0.0",
			server: "https://gitlab.com", configPath: "ci/release.yml", ref: "refs/tags/v1.0.0", onPyPI: true},
		// Fulcio's gitlab-pipeline url template value is https://gitlab.com
		// whatever the instance, so this certificate's Source Repository and
		// Run Invocation URIs name gitlab.com while its SAN and Build Config
		// URI name the instance; PyPI's GitLab publisher is gitlab.com's.
		{name: "another instance", overrides: url.Values{
			"ci_config_ref_uri": {"gitlab.example.com/" + gitLabProject + "//.gitlab-ci.yml@refs/heads/main"},
		}, identity: "https://gitlab.example.com/" + gitLabProject + "//.gitlab-ci.yml@refs/heads/main",
			server: "https://gitlab.example.com", configPath: ".gitlab-ci.yml", ref: "refs/heads/main"},
	}
	trustConfig := sigstorePythonTrustConfig(t, env.signingConfig)
	for _, job := range jobs {
		t.Run(job.name, func(t *testing.T) { gitLabJobJudged(t, job, trustConfig) })
	}
}

func gitLabJobJudged(t *testing.T, job gitLabJob, trustConfig string) {
	issuer := env.issuer + "/gitlab"
	query := "&audience=sigstore&kind=gitlab"
	if len(job.overrides) > 0 {
		query += "&" + job.overrides.Encode()
	}
	token := mintToken(t, query)
	tok, err := idtoken.Parse(token)
	if err != nil {
		t.Fatal(err)
	}
	dir := copyDists(t)
	e := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.TempDir(), "CI": "true", "GITLAB_CI": "true",
		"SIGSTORE_ID_TOKEN": token,
	}
	before := fulcioCerts(t)
	res := sign(t, e, append(trustArgs(env.signingConfig), "--packages-dir", dir)...)
	if res.code != 0 {
		t.Fatalf("sign failed (%d):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("sign output:\n%s", res.stdout)
	if n := fulcioCerts(t) - before; n != 1 {
		t.Errorf("Fulcio issued %d certificates for one run, want exactly 1", n)
	}
	provenanceBundle := filepath.Join(dir, "provenance.sigstore.json")
	if !strings.Contains(res.stdout, "Signer: "+job.identity) || strings.Contains(res.stdout, "no SLSA provenance") ||
		!strings.Contains(res.stdout, provenanceBundle) {
		t.Errorf("unexpected report:\n%s", res.stdout)
	}
	dists := distFiles(t, dir)
	checkGitLabProvenance(t, provenanceBundle, job, tok.Claims, len(dists))

	for _, dist := range dists {
		name := filepath.Base(dist)
		bundle := dist + ".sigstore.json"
		publish, slsa := dist+".publish.attestation", dist+".slsa.attestation"
		t.Run("cosign verify-blob "+name, func(t *testing.T) {
			out, err := cosign(t, "verify-blob", dist, "--bundle", bundle, "--trusted-root", env.trustedRoot,
				"--certificate-identity", job.identity, "--certificate-oidc-issuer", issuer)
			if err != nil || !strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign rejected the GitLab bundle: %v\n%s", err, out)
			}
		})
		t.Run("cosign rejects a changed byte "+name, func(t *testing.T) {
			tampered := filepath.Join(t.TempDir(), name)
			data, err := os.ReadFile(dist)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0x01
			if err := os.WriteFile(tampered, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := cosign(t, "verify-blob", tampered, "--bundle", bundle, "--trusted-root", env.trustedRoot,
				"--certificate-identity", job.identity, "--certificate-oidc-issuer", issuer)
			if err == nil || strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign accepted a tampered dist:\n%s", out)
			}
		})
		t.Run("cosign rejects another CI config "+name, func(t *testing.T) {
			other := strings.Replace(job.identity, "//"+job.configPath+"@", "//other.yml@", 1)
			out, err := cosign(t, "verify-blob", dist, "--bundle", bundle, "--trusted-root", env.trustedRoot,
				"--certificate-identity", other, "--certificate-oidc-issuer", issuer)
			if err == nil {
				t.Fatalf("cosign accepted identity %s:\n%s", other, out)
			}
		})
		t.Run("sigstore-python "+name, func(t *testing.T) {
			out, err := python(t, "-m", "sigstore", "--trust-config", trustConfig, "verify", "identity",
				"--bundle", bundle, "--cert-identity", job.identity, "--cert-oidc-issuer", issuer, dist)
			if err != nil {
				t.Fatalf("sigstore-python rejected the bundle: %v\n%s", err, out)
			}
		})
		t.Run("pypi-attestations GitLab publisher "+name, func(t *testing.T) {
			out, err := pep740GitLabJudge(t, dist, gitLabProject, job.configPath, slsa, publish)
			if !job.onPyPI {
				if err == nil || !strings.Contains(out, "does not match expected Trusted Publisher") {
					t.Fatalf("PyPI's GitLab publisher (gitlab.com's) accepted a job of %s: %v\n%s", job.server, err, out)
				}
				t.Log(out)
				return
			}
			if err != nil || strings.Count(out, "verdict=OK") != 2 {
				t.Fatalf("pypi-attestations rejected the attestations: %v\n%s", err, out)
			}
			t.Log(out)
			for _, wrong := range [][2]string{{"octo-org/other-repo", job.configPath}, {gitLabProject, "ci/other.yml"}} {
				if out, err := pep740GitLabJudge(t, dist, wrong[0], wrong[1], slsa, publish); err == nil || strings.Contains(out, "verdict=OK") {
					t.Errorf("pypi-attestations accepted project %s, CI config %s:\n%s", wrong[0], wrong[1], out)
				}
			}
		})
		t.Run("cosign verify-blob-attestation release provenance "+name, func(t *testing.T) {
			out, err := cosign(t, "verify-blob-attestation", dist, "--bundle", provenanceBundle,
				"--type", "https://slsa.dev/provenance/v1", "--trusted-root", env.trustedRoot,
				"--certificate-identity", job.identity, "--certificate-oidc-issuer", issuer)
			if err != nil || !strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign rejected the provenance: %v\n%s", err, out)
			}
		})
		id := []string{"--certificate-identity", job.identity, "--certificate-oidc-issuer", issuer}
		builder, _, _ := strings.Cut(job.identity, "@")
		good := map[string][]string{
			// The SLSA attestation first: the report lists the first set's checks.
			"attestations": {"--attestation", slsa, "--attestation", publish},
			"release provenance": {"--bundle", provenanceBundle, "--predicate-type", "https://slsa.dev/provenance/v1",
				"--builder-id", builder, "--source-uri", strings.TrimPrefix(job.server, "https://") + "/" + gitLabProject,
				"--source-" + map[bool]string{true: "tag", false: "branch"}[strings.HasPrefix(job.ref, "refs/tags/")],
				job.ref[strings.LastIndex(job.ref, "/")+1:]},
		}
		if job.onPyPI {
			good["attestations"] = append(good["attestations"], "--publisher-kind", "gitlab",
				"--publisher-repository", gitLabProject, "--publisher-workflow", job.configPath)
		}
		for what, args := range good {
			t.Run("attest-publish verify "+what+" "+name, func(t *testing.T) {
				out, code := verify(t, append(append(args, id...), dist)...)
				if code != 0 || !strings.Contains(out, "provenance-consistency") {
					t.Fatalf("verify (%d) rejected sign's output or skipped the provenance cross-check:\n%s", code, out)
				}
				if job.onPyPI && what == "attestations" && !strings.Contains(out, "publisher") {
					t.Errorf("the publisher check did not run:\n%s", out)
				}
				t.Log(out)
			})
		}
		if !job.onPyPI {
			continue
		}
		bad := map[string][]string{
			"another project":   {"--attestation", slsa, "--publisher-kind", "gitlab", "--publisher-repository", "octo-org/other-repo", "--publisher-workflow", job.configPath},
			"another CI config": {"--attestation", slsa, "--publisher-kind", "gitlab", "--publisher-repository", gitLabProject, "--publisher-workflow", "ci/other.yml"},
			"another builder":   {"--bundle", provenanceBundle, "--builder-id", "https://gitlab.com/" + gitLabProject + "//ci/other.yml"},
			"another source":    {"--bundle", provenanceBundle, "--source-uri", "gitlab.com/octo-org/other-repo"},
		}
		for what, args := range bad {
			t.Run("attest-publish verify rejects "+what+" "+name, func(t *testing.T) {
				if out, code := verify(t, append(append(args, id...), dist)...); code != 1 {
					t.Fatalf("verify exit %d, want 1:\n%s", code, out)
				}
			})
		}
	}
}

// pep740GitLabJudge verifies attestations for dist with pypi-attestations'
// own code and PyPI's GitLab publisher policy, the issuer being the local
// GitLab one.
func pep740GitLabJudge(t *testing.T, dist, project, configPath string, attestations ...string) (string, error) {
	t.Helper()
	args := []string{filepath.Join(repoRoot, "test", "judges", "pep740_verify.py"),
		"--trusted-root", env.trustedRoot, "--issuer", env.issuer + "/gitlab", "--kind", "gitlab",
		"--repository", project, "--workflow", configPath, dist}
	return python(t, append(args, attestations...)...)
}

// checkGitLabProvenance reads the release provenance's statement and checks
// it against the job's token: every field is the claim Fulcio copied into
// the certificate, shaped as docs/buildtypes/gitlab-ci-v1.md says.
func checkGitLabProvenance(t *testing.T, path string, job gitLabJob, c idtoken.Claims, subjects int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		DSSEEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Subject       []json.RawMessage `json:"subject"`
		PredicateType string            `json:"predicateType"`
		Predicate     map[string]any    `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	repo := job.server + "/" + gitLabProject
	want := map[string]any{
		"buildDefinition": map[string]any{
			"buildType": gitLabBuildType,
			"externalParameters": map[string]any{
				"workflow": map[string]any{"ref": job.ref, "repository": repo, "path": job.configPath},
			},
			"internalParameters": map[string]any{
				"gitlab": map[string]any{
					"pipeline_source":    c.String("pipeline_source"),
					"project_id":         c.String("project_id"),
					"namespace_id":       c.String("namespace_id"),
					"runner_environment": c.String("runner_environment"),
					"ci_config_sha":      c.String("ci_config_sha"),
				},
			},
			"resolvedDependencies": []any{map[string]any{
				"uri": "git+" + repo + "@" + job.ref, "digest": map[string]any{"gitCommit": c.String("sha")},
			}},
		},
		"runDetails": map[string]any{
			"builder":  map[string]any{"id": job.identity},
			"metadata": map[string]any{"invocationId": repo + "/-/jobs/" + c.String("job_id")},
		},
	}
	if len(st.Subject) != subjects || st.PredicateType != "https://slsa.dev/provenance/v1" || !reflect.DeepEqual(st.Predicate, want) {
		got, _ := json.MarshalIndent(st.Predicate, "", " ")
		exp, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("provenance does not describe this job (%d subjects, %s):\n got: %s\nwant: %s", len(st.Subject), st.PredicateType, got, exp)
	}
}
