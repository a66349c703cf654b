package verification

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/attest-publish/attest-publish/internal/provenance"
)

// BuildTypeGitLabCI is attest-publish's build type for GitLab CI/CD jobs
// (docs/buildtypes/gitlab-ci-v1.md): every field is a value Fulcio copies
// from the job's id_token into the signing certificate, and each one is
// checked against it.
const BuildTypeGitLabCI = provenance.GitLabBuildType

// fulcioDefaultGitLabURL is the url template value of Fulcio's
// gitlab-pipeline provider. GitLab tokens carry no url claim, so Fulcio
// writes it into the Source Repository URI and Run Invocation URI of every
// GitLab instance's certificates; only the Build Config URI (from
// ci_config_ref_uri) names the instance that ran the job.
const fulcioDefaultGitLabURL = "https://gitlab.com"

// gitLabProvenance is the content of a GitLabCI provenance predicate.
type gitLabProvenance struct {
	repository, ref, path                                                string
	pipelineSource, projectID, namespaceID, runnerEnvironment, configSHA string
	dependencyURI, gitCommit                                             string
	builderID, invocationID                                              string
}

// predicateReader reads a predicate whose every object must have exactly
// the fields the build type defines and whose every leaf is a string. It
// keeps the first error.
type predicateReader struct {
	err error
}

// object returns the fields of the object at path, which must be exactly
// keys.
func (r *predicateReader) object(path string, v *structpb.Value, keys ...string) map[string]*structpb.Value {
	if r.err != nil {
		return nil
	}
	s := v.GetStructValue()
	if s == nil {
		r.err = fmt.Errorf("provenance %s is not an object", path)
		return nil
	}
	var extra []string
	for k := range s.GetFields() {
		if !slices.Contains(keys, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		r.err = fmt.Errorf("provenance %s.%s is not a field of build type %s, so it cannot be checked against the certificate", path, extra[0], BuildTypeGitLabCI)
		return nil
	}
	for _, k := range keys {
		if _, ok := s.GetFields()[k]; !ok {
			r.err = fmt.Errorf("provenance %s has no %s", path, k)
			return nil
		}
	}
	return s.GetFields()
}

// str returns the string at path.
func (r *predicateReader) str(path string, v *structpb.Value) string {
	if r.err != nil {
		return ""
	}
	s, ok := v.GetKind().(*structpb.Value_StringValue)
	if !ok {
		r.err = fmt.Errorf("provenance %s is not a string", path)
		return ""
	}
	return s.StringValue
}

// readGitLabProvenance reads a predicate of build type BuildTypeGitLabCI,
// refusing any field the build type does not define.
func readGitLabProvenance(pred *structpb.Struct) (*gitLabProvenance, error) {
	r := &predicateReader{}
	top := r.object("predicate", structpb.NewStructValue(pred), "buildDefinition", "runDetails")
	bd := r.object("buildDefinition", top["buildDefinition"], "buildType", "externalParameters", "internalParameters", "resolvedDependencies")
	ext := r.object("buildDefinition.externalParameters", bd["externalParameters"], "workflow")
	wf := r.object("buildDefinition.externalParameters.workflow", ext["workflow"], "ref", "repository", "path")
	in := r.object("buildDefinition.internalParameters", bd["internalParameters"], "gitlab")
	gl := r.object("buildDefinition.internalParameters.gitlab", in["gitlab"], "pipeline_source", "project_id", "namespace_id", "runner_environment", "ci_config_sha")
	var p gitLabProvenance
	const wfPath, glPath = "buildDefinition.externalParameters.workflow.", "buildDefinition.internalParameters.gitlab."
	p.repository = r.str(wfPath+"repository", wf["repository"])
	p.ref = r.str(wfPath+"ref", wf["ref"])
	p.path = r.str(wfPath+"path", wf["path"])
	p.pipelineSource = r.str(glPath+"pipeline_source", gl["pipeline_source"])
	p.projectID = r.str(glPath+"project_id", gl["project_id"])
	p.namespaceID = r.str(glPath+"namespace_id", gl["namespace_id"])
	p.runnerEnvironment = r.str(glPath+"runner_environment", gl["runner_environment"])
	p.configSHA = r.str(glPath+"ci_config_sha", gl["ci_config_sha"])
	if r.err == nil {
		deps := bd["resolvedDependencies"].GetListValue()
		if deps == nil || len(deps.GetValues()) != 1 {
			r.err = fmt.Errorf("provenance buildDefinition.resolvedDependencies must list exactly one dependency, the source commit")
		} else {
			dep := r.object("buildDefinition.resolvedDependencies[0]", deps.GetValues()[0], "uri", "digest")
			digest := r.object("buildDefinition.resolvedDependencies[0].digest", dep["digest"], "gitCommit")
			p.dependencyURI = r.str("buildDefinition.resolvedDependencies[0].uri", dep["uri"])
			p.gitCommit = r.str("buildDefinition.resolvedDependencies[0].digest.gitCommit", digest["gitCommit"])
		}
	}
	rd := r.object("runDetails", top["runDetails"], "builder", "metadata")
	builder := r.object("runDetails.builder", rd["builder"], "id")
	meta := r.object("runDetails.metadata", rd["metadata"], "invocationId")
	p.builderID = r.str("runDetails.builder.id", builder["id"])
	p.invocationID = r.str("runDetails.metadata.invocationId", meta["invocationId"])
	if r.err != nil {
		return nil, r.err
	}
	return &p, nil
}

// certValue is one Fulcio extension of the certificate.
type certValue struct {
	name, oid, value string
}

func (c certValue) String() string {
	return fmt.Sprintf("%s (1.3.6.1.4.1.57264.1.%s)", c.name, c.oid)
}

// consistentGitLab checks provenance of build type BuildTypeGitLabCI
// field by field against the certificate's Fulcio extensions, as
// docs/buildtypes/gitlab-ci-v1.md specifies. Every extension it needs
// must be present.
func consistentGitLab(f provenanceFacts, ext certificate.Extensions) error {
	if f.predicateType != "https://slsa.dev/provenance/v1" {
		return fmt.Errorf("build type %s is SLSA provenance v1, not %s", BuildTypeGitLabCI, f.predicateType)
	}
	p, err := readGitLabProvenance(f.predicate)
	if err != nil {
		return err
	}
	var (
		signerURI    = certValue{"Build Signer URI", "9", ext.BuildSignerURI}
		signerDigest = certValue{"Build Signer Digest", "10", ext.BuildSignerDigest}
		runnerEnv    = certValue{"Runner Environment", "11", ext.RunnerEnvironment}
		repoURI      = certValue{"Source Repository URI", "12", ext.SourceRepositoryURI}
		repoDigest   = certValue{"Source Repository Digest", "13", ext.SourceRepositoryDigest}
		repoRef      = certValue{"Source Repository Ref", "14", ext.SourceRepositoryRef}
		repoID       = certValue{"Source Repository Identifier", "15", ext.SourceRepositoryIdentifier}
		ownerID      = certValue{"Source Repository Owner Identifier", "17", ext.SourceRepositoryOwnerIdentifier}
		configURI    = certValue{"Build Config URI", "18", ext.BuildConfigURI}
		configDigest = certValue{"Build Config Digest", "19", ext.BuildConfigDigest}
		trigger      = certValue{"Build Trigger", "20", ext.BuildTrigger}
		invocation   = certValue{"Run Invocation URI", "21", ext.RunInvocationURI}
	)
	for _, c := range []certValue{signerURI, signerDigest, runnerEnv, repoURI, repoDigest, repoRef, repoID, ownerID, configURI, configDigest, trigger, invocation} {
		if c.value == "" {
			return fmt.Errorf("the certificate has no %s extension to check provenance of build type %s against", c, BuildTypeGitLabCI)
		}
	}
	// The Build Config URI is https://<host>/<project>//<path>@<ref>: it
	// names the instance, which Fulcio's default url may misstate in the
	// Source Repository and Run Invocation URIs (see onInstance).
	scheme, afterScheme, ok := strings.Cut(configURI.value, "://")
	host, _, _ := strings.Cut(afterScheme, "/")
	configRepo, configRest, hasSep := strings.Cut(afterScheme, "//")
	if !ok || host == "" || !hasSep {
		return fmt.Errorf("the certificate's %s %q is not <server>/<project>//<CI config path>@<ref>", configURI, configURI.value)
	}
	origin := scheme + "://" + host
	configRepo = scheme + "://" + configRepo
	repoURI.value = onInstance(repoURI.value, origin)
	invocation.value = onInstance(invocation.value, origin)

	sourceAtRef := certValue{"Source Repository URI and Ref", "12 and .14", "git+" + repoURI.value + "@" + repoRef.value}
	type check struct {
		field, prov string
		cert        certValue
		ok          bool
	}
	const wf, gl = "buildDefinition.externalParameters.workflow.", "buildDefinition.internalParameters.gitlab."
	checks := []check{
		{wf + "repository", p.repository, repoURI, p.repository == repoURI.value},
		{wf + "repository", p.repository, configURI, p.repository == configRepo},
		{wf + "path", p.path, configURI, p.path != "" && strings.HasPrefix(configRest, p.path+"@")},
		{wf + "ref", p.ref, repoRef, p.ref == repoRef.value},
		{gl + "pipeline_source", p.pipelineSource, trigger, p.pipelineSource == trigger.value},
		{gl + "project_id", p.projectID, repoID, p.projectID == repoID.value},
		{gl + "namespace_id", p.namespaceID, ownerID, p.namespaceID == ownerID.value},
		{gl + "runner_environment", p.runnerEnvironment, runnerEnv, p.runnerEnvironment == runnerEnv.value},
		{gl + "ci_config_sha", p.configSHA, configDigest, p.configSHA == configDigest.value},
		{gl + "ci_config_sha", p.configSHA, signerDigest, p.configSHA == signerDigest.value},
		{"buildDefinition.resolvedDependencies[0].uri", p.dependencyURI, sourceAtRef, p.dependencyURI == sourceAtRef.value},
		{"buildDefinition.resolvedDependencies[0].digest.gitCommit", p.gitCommit, repoDigest, p.gitCommit == repoDigest.value},
		{"runDetails.builder.id", p.builderID, signerURI, p.builderID == signerURI.value},
		{"runDetails.builder.id", p.builderID, configURI, p.builderID == configURI.value},
		{"runDetails.metadata.invocationId", p.invocationID, invocation, p.invocationID == invocation.value},
	}
	for _, c := range checks {
		if !c.ok {
			return fmt.Errorf("provenance %s %q disagrees with the certificate's %s %q", c.field, c.prov, c.cert, c.cert.value)
		}
	}
	return nil
}

// onInstance is a Source Repository or Run Invocation URI of a GitLab
// certificate with its server replaced by origin (the server of the Build
// Config URI) when Fulcio filled it with its default url while the job ran
// on another instance. On gitlab.com, and with a Fulcio configured with
// the instance's url, it is the value unchanged.
func onInstance(certURL, origin string) string {
	if origin == fulcioDefaultGitLabURL {
		return certURL
	}
	if rest, ok := strings.CutPrefix(certURL, fulcioDefaultGitLabURL+"/"); ok {
		return origin + "/" + rest
	}
	return certURL
}
