package verification

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/provenance"
)

// vectorExtensions returns the Fulcio extensions of the certificate of a
// PEP 740 attestation among the repository's test vectors.
func vectorExtensions(t *testing.T, vector, attestation string) certificate.Extensions {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", vector, attestation))
	if err != nil {
		t.Fatalf("test vector missing: %v", err)
	}
	var a struct {
		VerificationMaterial struct {
			Certificate []byte `json:"certificate"`
		} `json:"verification_material"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(a.VerificationMaterial.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// gitLabCert is the real gitlab.com certificate of
// facutuesca/gitlab-oidc-project's job 8415754949.
func gitLabCert(t *testing.T) certificate.Extensions {
	t.Helper()
	ext := vectorExtensions(t, "pep740-gitlab_oidc_project-0.0.3-wrong-workflow", "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation")
	if ext.BuildConfigURI != "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main" || ext.SourceRepositoryIdentifier != "55235664" {
		t.Fatalf("not the expected GitLab certificate: %+v", ext)
	}
	return ext
}

// gitLabStatement loads testdata/gitlab-ci-v1/statement.json.
func gitLabStatement(t *testing.T) *intoto.Statement {
	t.Helper()
	data, err := os.ReadFile("testdata/gitlab-ci-v1/statement.json")
	if err != nil {
		t.Fatal(err)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

// setPath replaces (v non-nil) or deletes (v nil) the value at a dotted
// path of the predicate; a number selects a list element.
func setPath(t *testing.T, st *intoto.Statement, path string, v *structpb.Value) {
	t.Helper()
	keys := strings.Split(path, ".")
	cur := structpb.NewStructValue(st.GetPredicate())
	for _, k := range keys[:len(keys)-1] {
		if l := cur.GetListValue(); l != nil {
			cur = l.GetValues()[int(k[0]-'0')]
			continue
		}
		cur = cur.GetStructValue().GetFields()[k]
		if cur == nil {
			t.Fatalf("no %s in the predicate", path)
		}
	}
	fields := cur.GetStructValue().GetFields()
	last := keys[len(keys)-1]
	if v == nil {
		delete(fields, last)
	} else {
		fields[last] = v
	}
}

func TestGitLabProvenanceMatchesRealCertificate(t *testing.T) {
	if err := ProvenanceConsistency(gitLabStatement(t), gitLabCert(t)); err != nil {
		t.Fatalf("the fixture provenance should agree with its certificate: %v", err)
	}
}

// TestGitLabProvenanceFromClaims: what sign builds from the job's token
// (the claims behind the real certificate) passes the check against that
// certificate, and equals the hand-written fixture.
func TestGitLabProvenanceFromClaims(t *testing.T) {
	data, err := os.ReadFile("testdata/gitlab-ci-v1/claims.json")
	if err != nil {
		t.Fatal(err)
	}
	var c idtoken.Claims
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	b, err := provenance.GitLabBuildFromClaims(c)
	if err != nil {
		t.Fatal(err)
	}
	fixture := gitLabStatement(t)
	raw, err := provenance.SLSAStatement(b, provenance.Subject{Name: fixture.GetSubject()[0].GetName(), SHA256: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if err := ProvenanceConsistency(&st, gitLabCert(t)); err != nil {
		t.Fatalf("provenance built from the claims disagrees with the certificate: %v", err)
	}
	if !proto.Equal(st.GetPredicate(), fixture.GetPredicate()) {
		t.Errorf("built predicate differs from the fixture\n got: %s\nwant: %s", protojson.Format(st.GetPredicate()), protojson.Format(fixture.GetPredicate()))
	}
}

// TestGitLabProvenanceTampered changes one provenance field at a time: each
// change fails, naming the field and the certificate extension.
func TestGitLabProvenanceTampered(t *testing.T) {
	const wf, gl = "buildDefinition.externalParameters.workflow.", "buildDefinition.internalParameters.gitlab."
	tests := []struct {
		path, value, wantOID string
	}{
		{wf + "repository", "https://gitlab.com/facutuesca/other-project", "Source Repository URI (1.3.6.1.4.1.57264.1.12)"},
		{wf + "repository", "https://gitlab.example.com/facutuesca/gitlab-oidc-project", "Source Repository URI (1.3.6.1.4.1.57264.1.12)"},
		{wf + "path", "ci/release.yml", "Build Config URI (1.3.6.1.4.1.57264.1.18)"},
		{wf + "path", ".gitlab-ci", "Build Config URI (1.3.6.1.4.1.57264.1.18)"},
		{wf + "path", "", "Build Config URI (1.3.6.1.4.1.57264.1.18)"},
		{wf + "ref", "refs/tags/v1.0", "Source Repository Ref (1.3.6.1.4.1.57264.1.14)"},
		{gl + "pipeline_source", "web", "Build Trigger (1.3.6.1.4.1.57264.1.20)"},
		{gl + "project_id", "55235665", "Source Repository Identifier (1.3.6.1.4.1.57264.1.15)"},
		{gl + "namespace_id", "1", "Source Repository Owner Identifier (1.3.6.1.4.1.57264.1.17)"},
		{gl + "runner_environment", "self-hosted", "Runner Environment (1.3.6.1.4.1.57264.1.11)"},
		{gl + "ci_config_sha", "0000000000000000000000000000000000000000", "Build Config Digest (1.3.6.1.4.1.57264.1.19)"},
		{"buildDefinition.resolvedDependencies.0.uri", "git+https://gitlab.com/facutuesca/gitlab-oidc-project@refs/heads/dev", "Source Repository URI and Ref (1.3.6.1.4.1.57264.1.12 and .14) \"git+https://gitlab.com/facutuesca/gitlab-oidc-project@refs/heads/main\""},
		{"buildDefinition.resolvedDependencies.0.uri", "https://gitlab.com/facutuesca/gitlab-oidc-project@refs/heads/main", "Source Repository URI and Ref (1.3.6.1.4.1.57264.1.12 and .14) \"git+https://gitlab.com/facutuesca/gitlab-oidc-project@refs/heads/main\""},
		{"buildDefinition.resolvedDependencies.0.digest.gitCommit", "1111111111111111111111111111111111111111", "Source Repository Digest (1.3.6.1.4.1.57264.1.13)"},
		{"runDetails.builder.id", "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/dev", "Build Signer URI (1.3.6.1.4.1.57264.1.9)"},
		{"runDetails.metadata.invocationId", "https://gitlab.com/facutuesca/gitlab-oidc-project/-/jobs/1", "Run Invocation URI (1.3.6.1.4.1.57264.1.21)"},
	}
	ext := gitLabCert(t)
	for _, tt := range tests {
		t.Run(tt.path+"="+tt.value, func(t *testing.T) {
			st := gitLabStatement(t)
			setPath(t, st, tt.path, structpb.NewStringValue(tt.value))
			err := ProvenanceConsistency(st, ext)
			field := strings.Replace(tt.path, ".0.", "[0].", 1)
			if err == nil || !strings.Contains(err.Error(), "provenance "+field+" ") || !strings.Contains(err.Error(), tt.wantOID) {
				t.Fatalf("err = %v, want it to name %s and %s", err, field, tt.wantOID)
			}
			t.Log(err)
		})
	}
}

// TestGitLabProvenanceShape: the build type defines every field; anything
// else, missing or not a string, cannot be checked and fails.
func TestGitLabProvenanceShape(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(t *testing.T, st *intoto.Statement)
		wantErr string
	}{
		{"extra internal parameter", func(t *testing.T, st *intoto.Statement) {
			setPath(t, st, "buildDefinition.internalParameters.gitlab.user_login", structpb.NewStringValue("someone"))
		}, "buildDefinition.internalParameters.gitlab.user_login is not a field of build type"},
		{"extra external parameter", func(t *testing.T, st *intoto.Statement) {
			setPath(t, st, "buildDefinition.externalParameters.inputs", structpb.NewStringValue("x"))
		}, "buildDefinition.externalParameters.inputs is not a field of build type"},
		{"byproducts", func(t *testing.T, st *intoto.Statement) {
			setPath(t, st, "runDetails.byproducts", structpb.NewListValue(&structpb.ListValue{}))
		}, "runDetails.byproducts is not a field of build type"},
		{"start time", func(t *testing.T, st *intoto.Statement) {
			setPath(t, st, "runDetails.metadata.startedOn", structpb.NewStringValue("2024-11-19T17:36:59Z"))
		}, "runDetails.metadata.startedOn is not a field"},
		{"missing project id", func(t *testing.T, st *intoto.Statement) {
			setPath(t, st, "buildDefinition.internalParameters.gitlab.project_id", nil)
		}, "buildDefinition.internalParameters.gitlab has no project_id"},
		{"missing invocation id", func(t *testing.T, st *intoto.Statement) {
			setPath(t, st, "runDetails.metadata.invocationId", nil)
		}, "runDetails.metadata has no invocationId"},
		{"number instead of string", func(t *testing.T, st *intoto.Statement) {
			setPath(t, st, "buildDefinition.internalParameters.gitlab.project_id", structpb.NewNumberValue(55235664))
		}, "project_id is not a string"},
		{"second dependency", func(t *testing.T, st *intoto.Statement) {
			deps := st.GetPredicate().GetFields()["buildDefinition"].GetStructValue().GetFields()["resolvedDependencies"].GetListValue()
			deps.Values = append(deps.Values, deps.GetValues()[0])
		}, "exactly one dependency"},
		{"extra digest", func(t *testing.T, st *intoto.Statement) {
			setPath(t, st, "buildDefinition.resolvedDependencies.0.digest.sha1", structpb.NewStringValue("72f7c63b75eb55ea80864962f0e645c93414da34"))
		}, "digest.sha1 is not a field"},
		{"SLSA v0.2 predicate naming the build type", func(t *testing.T, st *intoto.Statement) {
			st.PredicateType = "https://slsa.dev/provenance/v0.2"
			setPath(t, st, "buildType", structpb.NewStringValue(BuildTypeGitLabCI))
		}, "is SLSA provenance v1, not https://slsa.dev/provenance/v0.2"},
	}
	ext := gitLabCert(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := gitLabStatement(t)
			tt.edit(t, st)
			err := ProvenanceConsistency(st, ext)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
			}
		})
	}
}

// TestGitLabProvenanceCertificate: the certificate side. Every extension
// the build type is checked against must be present; a GitHub certificate
// does not vouch for GitLab provenance; on a GitLab instance other than
// gitlab.com, whose Fulcio writes its default https://gitlab.com into the
// Source Repository and Run Invocation URIs, the Build Config URI names the
// server.
func TestGitLabProvenanceCertificate(t *testing.T) {
	const (
		example = "https://gitlab.example.com/facutuesca/gitlab-oidc-project"
		dotcom  = "https://gitlab.com/facutuesca/gitlab-oidc-project"
	)
	selfManaged := func(ext *certificate.Extensions) {
		ext.BuildConfigURI = example + "//.gitlab-ci.yml@refs/heads/main"
		ext.BuildSignerURI = ext.BuildConfigURI
	}
	selfManagedProvenance := func(t *testing.T, st *intoto.Statement) {
		setPath(t, st, "buildDefinition.externalParameters.workflow.repository", structpb.NewStringValue(example))
		setPath(t, st, "buildDefinition.resolvedDependencies.0.uri", structpb.NewStringValue("git+"+example+"@refs/heads/main"))
		setPath(t, st, "runDetails.builder.id", structpb.NewStringValue(example+"//.gitlab-ci.yml@refs/heads/main"))
		setPath(t, st, "runDetails.metadata.invocationId", structpb.NewStringValue(example+"/-/jobs/8415754949"))
	}
	tests := []struct {
		name    string
		cert    func(ext *certificate.Extensions)
		prov    func(t *testing.T, st *intoto.Statement)
		wantErr string
	}{
		{name: "no Source Repository Identifier", cert: func(e *certificate.Extensions) { e.SourceRepositoryIdentifier = "" },
			wantErr: "the certificate has no Source Repository Identifier (1.3.6.1.4.1.57264.1.15) extension"},
		{name: "no Build Config Digest", cert: func(e *certificate.Extensions) { e.BuildConfigDigest = "" },
			wantErr: "no Build Config Digest (1.3.6.1.4.1.57264.1.19)"},
		{name: "no Build Trigger", cert: func(e *certificate.Extensions) { e.BuildTrigger = "" }, wantErr: "no Build Trigger"},
		{name: "Build Signer Digest differs", cert: func(e *certificate.Extensions) { e.BuildSignerDigest = strings.Repeat("a", 40) },
			wantErr: "ci_config_sha \"72f7c63b75eb55ea80864962f0e645c93414da34\" disagrees with the certificate's Build Signer Digest (1.3.6.1.4.1.57264.1.10)"},
		{name: "Build Config URI of another config", cert: func(e *certificate.Extensions) {
			e.BuildConfigURI = dotcom + "//ci/release.yml@refs/heads/main"
		}, wantErr: "workflow.path \".gitlab-ci.yml\" disagrees with the certificate's Build Config URI"},
		{name: "self-managed instance, Fulcio's default url in .12 and .21", cert: selfManaged, prov: selfManagedProvenance},
		{name: "self-managed instance, Fulcio configured with its url", cert: func(e *certificate.Extensions) {
			selfManaged(e)
			e.SourceRepositoryURI = example
			e.RunInvocationURI = example + "/-/jobs/8415754949"
		}, prov: selfManagedProvenance},
		{name: "self-managed instance, provenance names gitlab.com", cert: selfManaged,
			wantErr: "workflow.repository \"" + dotcom + "\" disagrees with the certificate's Source Repository URI (1.3.6.1.4.1.57264.1.12) \"" + example + "\""},
		{name: "gitlab.com certificate, provenance names another instance", prov: selfManagedProvenance,
			wantErr: "workflow.repository \"" + example + "\" disagrees with the certificate's Source Repository URI"},
		{name: "self-managed instance, .12 of another project", cert: func(e *certificate.Extensions) {
			selfManaged(e)
			e.SourceRepositoryURI = "https://gitlab.com/facutuesca/other"
		}, prov: selfManagedProvenance, wantErr: "disagrees with the certificate's Source Repository URI"},
		{name: "GitHub Actions certificate", cert: func(e *certificate.Extensions) {
			*e = vectorExtensions(t, "pep740-pypi_attestations-0.0.19-slsa", "pypi_attestations-0.0.19.tar.gz.slsa.attestation")
		}, wantErr: "is not <server>/<project>//<CI config path>@<ref>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext := gitLabCert(t)
			if tt.cert != nil {
				tt.cert(&ext)
			}
			st := gitLabStatement(t)
			if tt.prov != nil {
				tt.prov(t, st)
			}
			err := ProvenanceConsistency(st, ext)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
			}
		})
	}
}
