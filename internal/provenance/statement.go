package provenance

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// Predicate types and the statement type.
const (
	// StatementType is the in-toto Statement v1 type.
	StatementType = intoto.StatementTypeUri
	// SLSAPredicateType is SLSA v1 provenance.
	SLSAPredicateType = slsa1.PredicateSLSAProvenance
	// PublishPredicateType is PyPI's PEP 740 publish attestation.
	PublishPredicateType = "https://docs.pypi.org/attestations/publish/v1"
	// PayloadType is the DSSE payload type of in-toto statements.
	PayloadType = "application/vnd.in-toto+json"
)

// Subject is one artifact a statement is about.
type Subject struct {
	// Name is the artifact's name; for a dist, its exact filename.
	Name string
	// SHA256 is the artifact's digest.
	SHA256 []byte
}

// SLSAPredicate returns the SLSA v1 provenance predicate for a GitHub
// Actions build, with exactly the fields actions/attest writes.
func (b *GitHubBuild) SLSAPredicate() (*slsa.Provenance, error) {
	return predicate(predicateFields{
		buildType: GitHubBuildType,
		workflow:  map[string]any{"ref": b.Ref, "repository": b.RepositoryURL(), "path": b.WorkflowPath()},
		internal: map[string]any{"github": map[string]any{
			"event_name":          b.EventName,
			"repository_id":       b.RepositoryID,
			"repository_owner_id": b.RepositoryOwnerID,
			"runner_environment":  b.RunnerEnvironment,
		}},
		dependency: "git+" + b.RepositoryURL() + "@" + b.Ref,
		commit:     b.SHA,
		builder:    b.Identity(),
		invocation: b.InvocationID(),
	})
}

// predicateFields are what a build type puts in a SLSA v1 predicate.
type predicateFields struct {
	buildType           string
	workflow, internal  map[string]any
	dependency, commit  string
	builder, invocation string
}

// predicate builds a SLSA v1 provenance predicate: externalParameters
// {"workflow": …}, the build type's internalParameters, the source as the
// one resolved dependency, the builder and the invocation.
func predicate(f predicateFields) (*slsa.Provenance, error) {
	external, err := structpb.NewStruct(map[string]any{"workflow": f.workflow})
	if err != nil {
		return nil, fmt.Errorf("building externalParameters: %w", err)
	}
	internal, err := structpb.NewStruct(f.internal)
	if err != nil {
		return nil, fmt.Errorf("building internalParameters: %w", err)
	}
	return &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:          f.buildType,
			ExternalParameters: external,
			InternalParameters: internal,
			ResolvedDependencies: []*intoto.ResourceDescriptor{{
				Uri:    f.dependency,
				Digest: map[string]string{"gitCommit": f.commit},
			}},
		},
		RunDetails: &slsa.RunDetails{
			Builder:  &slsa.Builder{Id: f.builder},
			Metadata: &slsa.BuildMetadata{InvocationId: f.invocation},
		},
	}, nil
}

// Build is a CI run SLSA provenance can describe: a GitHub Actions workflow
// run (GitHubBuild) or a GitLab CI/CD job (GitLabBuild).
type Build interface {
	// Identity is the certificate identity (SAN) Fulcio gives the run.
	Identity() string
	// SLSAPredicate returns the run's SLSA v1 provenance predicate.
	SLSAPredicate() (*slsa.Provenance, error)
}

// SLSAStatement returns the compact JSON of an in-toto Statement v1 carrying
// SLSA v1 provenance of b for subjects.
func SLSAStatement(b Build, subjects ...Subject) ([]byte, error) {
	pred, err := b.SLSAPredicate()
	if err != nil {
		return nil, err
	}
	predJSON, err := protojson.Marshal(pred)
	if err != nil {
		return nil, fmt.Errorf("encoding SLSA predicate: %w", err)
	}
	predStruct := &structpb.Struct{}
	if err := protojson.Unmarshal(predJSON, predStruct); err != nil {
		return nil, fmt.Errorf("encoding SLSA predicate: %w", err)
	}
	return statement(SLSAPredicateType, predStruct, subjects)
}

// PublishStatement returns the compact JSON of PyPI's publish/v1 statement
// for one dist: exactly one subject and an empty predicate.
func PublishStatement(s Subject) ([]byte, error) {
	return statement(PublishPredicateType, &structpb.Struct{}, []Subject{s})
}

func statement(predicateType string, predicate *structpb.Struct, subjects []Subject) ([]byte, error) {
	st := &intoto.Statement{
		Type:          StatementType,
		PredicateType: predicateType,
		Predicate:     predicate,
	}
	for _, s := range subjects {
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{
			Name:   s.Name,
			Digest: map[string]string{"sha256": hex.EncodeToString(s.SHA256)},
		})
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("invalid in-toto statement: %w", err)
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding in-toto statement: %w", err)
	}
	// protojson varies its whitespace on purpose; compact it so the signed
	// payload is stable.
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("encoding in-toto statement: %w", err)
	}
	return buf.Bytes(), nil
}
