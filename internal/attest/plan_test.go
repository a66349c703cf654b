package attest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/pep740"
	"github.com/attest-publish/attest-publish/internal/provenance"
	"github.com/attest-publish/attest-publish/internal/sigstoretest"
)

// gitLabClaims turn the fake instance's GitHub Actions token into a GitLab
// CI id_token of .gitlab-ci.yml on branch main of octo-org/octo-repo.
func gitLabClaims() map[string]any {
	c := map[string]any{
		"ci_config_ref_uri": "gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main",
		"ci_config_sha":     sigstoretest.DefaultSHA,
		"project_path":      "octo-org/octo-repo",
		"project_id":        "700000001",
		"namespace_path":    "octo-org",
		"namespace_id":      "9919",
		"pipeline_source":   "push",
		"job_id":            "7000000001",
		"ref":               "main",
		"ref_type":          "branch",
		"ref_path":          "refs/heads/main",
	}
	for _, gh := range []string{"job_workflow_ref", "job_workflow_sha", "workflow_ref", "workflow_sha", "repository", "repository_id", "repository_owner", "repository_owner_id", "event_name", "run_id", "run_attempt", "run_number", "workflow"} {
		c[gh] = nil
	}
	return c
}

func TestPlanByProvider(t *testing.T) {
	fake := sigstoretest.Start(t)
	other := map[string]any{"job_workflow_ref": nil}
	tests := []struct {
		name      string
		claims    map[string]any
		buildType string // "" means no SLSA provenance
		san       string
		wantErr   string
	}{
		{name: "GitHub Actions", buildType: provenance.GitHubBuildType,
			san: "https://github.com/" + sigstoretest.DefaultWorkflowRef},
		{name: "GitLab CI", claims: gitLabClaims(), buildType: provenance.GitLabBuildType,
			san: "https://gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main"},
		{name: "neither", claims: other, wantErr: "is neither a GitHub Actions nor a GitLab CI token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := idtoken.Parse(fake.Token(tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			dir := release(t, 2)
			found, err := dists.Find(dir)
			if err != nil {
				t.Fatal(err)
			}
			p, err := makePlan(found, Options{OutputDir: dir, Token: tok})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.identity.SAN != tt.san {
				t.Errorf("identity %s, want %s", p.identity.SAN, tt.san)
			}
			kinds := map[outputKind]int{}
			for _, j := range p.jobs {
				kinds[j.kind]++
				if j.kind == kindSLSA || j.kind == kindProvenance {
					var st struct {
						Subject   []json.RawMessage `json:"subject"`
						Predicate struct {
							BuildDefinition struct {
								BuildType string `json:"buildType"`
							} `json:"buildDefinition"`
						} `json:"predicate"`
					}
					if err := json.Unmarshal(j.statement, &st); err != nil {
						t.Fatal(err)
					}
					if st.Predicate.BuildDefinition.BuildType != tt.buildType {
						t.Errorf("%s: buildType %q, want %q", j.path, st.Predicate.BuildDefinition.BuildType, tt.buildType)
					}
					if want := map[outputKind]int{kindSLSA: 1, kindProvenance: len(found)}[j.kind]; len(st.Subject) != want {
						t.Errorf("%s: %d subjects, want %d", j.path, len(st.Subject), want)
					}
				}
			}
			n := len(found)
			if kinds[kindBundle] != n || kinds[kindPublish] != n || kinds[kindSLSA] != n || kinds[kindProvenance] != 1 {
				t.Errorf("jobs by kind %v, want %d bundles, publish and SLSA attestations and 1 release provenance", kinds, n)
			}
		})
	}
}

// TestAttestationConsistent: sign's self-verification cross-checks an SLSA
// attestation's provenance with its certificate, as verify does (real
// attestation of pypi-attestations 0.0.19, GitHub Actions provenance).
func TestAttestationConsistent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", "pep740-pypi_attestations-0.0.19-slsa", "pypi_attestations-0.0.19.tar.gz.slsa.attestation"))
	if err != nil {
		t.Fatalf("test vector missing: %v", err)
	}
	load := func() *pep740.Attestation {
		var a pep740.Attestation
		if err := json.Unmarshal(data, &a); err != nil {
			t.Fatal(err)
		}
		return &a
	}
	if err := attestationConsistent(load()); err != nil {
		t.Fatalf("real provenance should agree with its certificate: %v", err)
	}
	a := load()
	a.Envelope.Statement = []byte(strings.Replace(string(a.Envelope.Statement), `"ref":"refs/tags/v0.0.19"`, `"ref":"refs/tags/v9.9.9"`, 1))
	if string(a.Envelope.Statement) == string(load().Envelope.Statement) {
		t.Fatal("the tampering did not apply")
	}
	if err := attestationConsistent(a); err == nil || !strings.Contains(err.Error(), `provenance consistency: provenance workflow ref "refs/tags/v9.9.9" disagrees`) {
		t.Fatalf("err = %v", err)
	}
}
