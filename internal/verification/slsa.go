package verification

import (
	"fmt"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"google.golang.org/protobuf/types/known/structpb"
)

// Build types whose provenance records the GitHub Actions workflow run that
// signed it (actions/attest and its predecessor).
const (
	// BuildTypeActionsWorkflow is actions/attest's build type.
	BuildTypeActionsWorkflow = "https://actions.github.io/buildtypes/workflow/v1"
	// BuildTypeSLSAGitHubWorkflow is the older GitHub Actions build type.
	BuildTypeSLSAGitHubWorkflow = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
)

// buildTypeNPMv2 is npm CLI's SLSA v0.2 provenance build type.
const buildTypeNPMv2 = "https://github.com/npm/cli/gha/v2"

// provenanceFacts is what SLSA provenance (v1 or v0.2) says about the build.
type provenanceFacts struct {
	buildType   string
	builderID   string
	sourceURI   string // git+https://host/owner/repo@ref, as recorded
	sourceRepo  string // https://host/owner/repo
	sourceRef   string
	sourceSHA   string
	workflow    map[string]string // externalParameters.workflow (v1 actions build types)
	entryPoint  string            // v0.2 configSource.entryPoint
	hasProvInfo bool
	// predicateType and predicate are the statement's, for build types
	// read field by field (BuildTypeGitLabCI).
	predicateType string
	predicate     *structpb.Struct
}

// str is the string at path in a predicate, or "" when there is none.
func str(s *structpb.Struct, path ...string) string {
	v := structpb.NewStructValue(s)
	for _, p := range path {
		sv := v.GetStructValue()
		if sv == nil {
			return ""
		}
		v = sv.GetFields()[p]
		if v == nil {
			return ""
		}
	}
	return v.GetStringValue()
}

// readProvenance reads what SLSA provenance (v1 or v0.2) says about the
// build; other predicates say nothing.
func readProvenance(st *intoto.Statement) provenanceFacts {
	var f provenanceFacts
	pred := st.GetPredicate()
	if pred == nil {
		return f
	}
	f.predicateType, f.predicate = st.GetPredicateType(), pred
	switch {
	case strings.HasPrefix(st.GetPredicateType(), "https://slsa.dev/provenance/v1"):
		f.hasProvInfo = true
		f.buildType = str(pred, "buildDefinition", "buildType")
		f.builderID = str(pred, "runDetails", "builder", "id")
		if wf := pred.GetFields()["buildDefinition"].GetStructValue().GetFields()["externalParameters"].GetStructValue().GetFields()["workflow"].GetStructValue(); wf != nil {
			f.workflow = map[string]string{}
			for k, v := range wf.GetFields() {
				f.workflow[k] = v.GetStringValue()
			}
		}
		deps := pred.GetFields()["buildDefinition"].GetStructValue().GetFields()["resolvedDependencies"].GetListValue().GetValues()
		if len(deps) > 0 {
			d := deps[0].GetStructValue()
			f.sourceURI = str(d, "uri")
			f.sourceSHA = str(d, "digest", "gitCommit")
		}
	case strings.HasPrefix(st.GetPredicateType(), "https://slsa.dev/provenance/v0.2"):
		f.hasProvInfo = true
		f.buildType = str(pred, "buildType")
		f.builderID = str(pred, "builder", "id")
		if f.buildType == buildTypeNPMv2 && f.builderID == "https://github.com/actions/runner" {
			// npm's v0.2 provenance names the runner without saying it
			// was GitHub-hosted; npm publishes provenance only from
			// GitHub-hosted runners (slsa-verifier reads it the same way).
			f.builderID = "https://github.com/actions/runner/github-hosted"
		}
		f.sourceURI = str(pred, "invocation", "configSource", "uri")
		f.sourceSHA = str(pred, "invocation", "configSource", "digest", "sha1")
		f.entryPoint = str(pred, "invocation", "configSource", "entryPoint")
	}
	if f.sourceURI != "" {
		u := strings.TrimPrefix(f.sourceURI, "git+")
		repo, ref, _ := strings.Cut(u, "@")
		f.sourceRepo = strings.TrimSuffix(repo, ".git")
		f.sourceRef = strings.TrimSuffix(ref, ".git")
	}
	return f
}

// checkProvenance checks SLSA provenance against the certificate (always)
// and against the builder and source policy, and the PEP 740 publisher.
func (c *Checker) checkProvenance(st *intoto.Statement, ir *itemResult, m Material) error {
	p := &c.policy
	var f provenanceFacts
	if st != nil {
		f = readProvenance(st)
	}
	if f.hasProvInfo && ir.sum != nil && !p.SkipProvenanceConsistency {
		if err := consistent(f, ir.sum.Extensions); err != nil {
			return &CheckError{Check: CheckProvenanceConsistency, Err: err}
		}
		ir.pass(CheckProvenanceConsistency)
	}
	if p.BuilderID != "" {
		if !f.hasProvInfo {
			return fail(CheckBuilderID, "no SLSA provenance to read a builder id from")
		}
		want, have := p.BuilderID, f.builderID
		if !strings.Contains(want, "@") {
			have, _, _ = strings.Cut(have, "@")
		}
		if have != want {
			return fail(CheckBuilderID, "builder id %q, want %q", f.builderID, p.BuilderID)
		}
		ir.pass(CheckBuilderID)
	}
	if p.SourceURI != "" || p.SourceBranch != "" || p.SourceTag != "" {
		if !f.hasProvInfo || f.sourceURI == "" {
			return fail(CheckSource, "no SLSA provenance source to check")
		}
		if p.SourceURI != "" {
			want, err := NormalizeRepositoryURL(p.SourceURI)
			if err != nil {
				return &CheckError{Check: CheckSource, Err: err}
			}
			have, err := NormalizeRepositoryURL(f.sourceRepo)
			if err != nil || !strings.EqualFold(have, want) {
				return fail(CheckSource, "source %q, want %q", f.sourceRepo, want)
			}
		}
		if p.SourceBranch != "" && f.sourceRef != "refs/heads/"+p.SourceBranch {
			return fail(CheckSource, "source ref %q, want branch %q", f.sourceRef, p.SourceBranch)
		}
		if p.SourceTag != "" && f.sourceRef != "refs/tags/"+p.SourceTag {
			return fail(CheckSource, "source ref %q, want tag %q", f.sourceRef, p.SourceTag)
		}
		ir.pass(CheckSource)
	}
	if p.Publisher != nil {
		if ir.sum == nil {
			return fail(CheckPublisher, "publisher policy needs a signing certificate")
		}
		if err := checkPublisher(p.Publisher, ir.sum.Extensions); err != nil {
			return &CheckError{Check: CheckPublisher, Err: err}
		}
		ir.pass(CheckPublisher)
	}
	return nil
}

// ProvenanceConsistency is the provenance-consistency check of a Checker
// on its own: it checks that the SLSA provenance in st agrees with the
// extensions of the certificate that signed it (see consistent). A
// statement that is not SLSA provenance passes.
func ProvenanceConsistency(st *intoto.Statement, ext certificate.Extensions) error {
	f := readProvenance(st)
	if !f.hasProvInfo {
		return nil
	}
	return consistent(f, ext)
}

// consistent checks that provenance agrees with the certificate that
// signed it. Provenance of attest-publish's GitLab CI build type is
// checked field by field, every field against the certificate extension
// Fulcio copied it from, and must carry no other field (consistentGitLab).
// For the GitHub Actions build types the workflow repository,
// ref and path and the resolved source commit must equal the certificate's
// Source Repository URI, Ref and Digest and Build Config URI; for SLSA v0.2
// the config source must name the certificate's repository, ref and commit.
// Fields the certificate lacks (non-GitHub signers) are not compared.
func consistent(f provenanceFacts, ext certificate.Extensions) error {
	if f.buildType == BuildTypeGitLabCI {
		return consistentGitLab(f, ext)
	}
	if ext.SourceRepositoryURI == "" {
		return nil
	}
	same := func(what, prov, cert string) error {
		if cert != "" && prov != cert {
			return fmt.Errorf("provenance %s %q disagrees with the certificate's %q", what, prov, cert)
		}
		return nil
	}
	switch f.buildType {
	case BuildTypeActionsWorkflow, BuildTypeSLSAGitHubWorkflow:
		if f.workflow == nil {
			return fmt.Errorf("provenance of build type %s has no externalParameters.workflow", f.buildType)
		}
		if err := same("workflow repository", f.workflow["repository"], ext.SourceRepositoryURI); err != nil {
			return err
		}
		if err := same("workflow ref", f.workflow["ref"], ext.SourceRepositoryRef); err != nil {
			return err
		}
		if ext.BuildConfigURI != "" {
			cfg, _, _ := strings.Cut(ext.BuildConfigURI, "@")
			if err := same("workflow path", ext.SourceRepositoryURI+"/"+f.workflow["path"], cfg); err != nil {
				return err
			}
		}
		if f.sourceURI != "" {
			if err := same("source repository", f.sourceRepo, ext.SourceRepositoryURI); err != nil {
				return err
			}
			if err := same("source ref", f.sourceRef, ext.SourceRepositoryRef); err != nil {
				return err
			}
		}
		if err := same("source commit", f.sourceSHA, ext.SourceRepositoryDigest); err != nil {
			return err
		}
	default:
		if f.sourceURI == "" {
			return nil
		}
		if err := same("source repository", f.sourceRepo, ext.SourceRepositoryURI); err != nil {
			return err
		}
		if err := same("source ref", f.sourceRef, ext.SourceRepositoryRef); err != nil {
			return err
		}
		if f.sourceSHA != "" {
			if err := same("source commit", f.sourceSHA, ext.SourceRepositoryDigest); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkPublisher checks a certificate against a PEP 740 trusted publisher
// the way PyPI does: the Source Repository URI names the repository, and
// the Build Config URI names the workflow (GitHub:
// https://github.com/<repo>/.github/workflows/<file>@<ref>; GitLab:
// https://gitlab.com/<project>//<path>@<ref>) at the certificate's Source
// Repository Ref or Digest. Both are compared exactly, case included, as
// pypi-attestations' publisher policies compare them. A publisher without
// a workflow accepts any workflow of the repository (on GitHub a file
// directly in .github/workflows, as GitHub runs no other), with the same
// repository and ref checks.
func checkPublisher(pub *Publisher, ext certificate.Extensions) error {
	var base, cfgPrefix, want string
	switch pub.Kind {
	case PublisherGitHub:
		base = "https://github.com/" + pub.Repository
		cfgPrefix, want = base+"/.github/workflows/", pub.Workflow
	case PublisherGitLab:
		base = "https://gitlab.com/" + pub.Repository
		cfgPrefix, want = base+"//", strings.TrimPrefix(pub.Workflow, "/")
	default:
		return fmt.Errorf("unknown publisher kind %q", pub.Kind)
	}
	if ext.SourceRepositoryURI != base {
		return fmt.Errorf("certificate source repository %q, want %q (exactly, case included)", ext.SourceRepositoryURI, base)
	}
	cfg := ext.BuildConfigURI
	rest, ok := strings.CutPrefix(cfg, cfgPrefix)
	if !ok {
		return fmt.Errorf("certificate build config %q is not a workflow of %s", cfg, pub.Repository)
	}
	var ref string
	if want != "" {
		if ref, ok = strings.CutPrefix(rest, want+"@"); !ok {
			return fmt.Errorf("certificate build config %q is not workflow %s of %s", cfg, pub.Workflow, pub.Repository)
		}
	} else {
		ref = configRef(rest, ext)
		name := strings.TrimSuffix(rest, "@"+ref)
		if ref == "" || name == "" || strings.HasPrefix(name, "/") || pub.Kind == PublisherGitHub && strings.Contains(name, "/") {
			return fmt.Errorf("certificate build config %q is not a workflow of %s at the source ref %q or commit %q", cfg, pub.Repository, ext.SourceRepositoryRef, ext.SourceRepositoryDigest)
		}
	}
	if ref == "" || (ref != ext.SourceRepositoryRef && ref != ext.SourceRepositoryDigest) {
		return fmt.Errorf("build config ref %q is neither the source ref %q nor the commit %q", ref, ext.SourceRepositoryRef, ext.SourceRepositoryDigest)
	}
	if pub.Environment != "" {
		return fmt.Errorf("publisher environment %q cannot be checked: Fulcio certificates do not record the deployment environment", pub.Environment)
	}
	return nil
}

// configRef is the certificate's Source Repository Ref or Digest that
// ends a build config path ("<path>@<ref>"), or "" when neither does.
func configRef(rest string, ext certificate.Extensions) string {
	for _, ref := range []string{ext.SourceRepositoryRef, ext.SourceRepositoryDigest} {
		if ref != "" && strings.HasSuffix(rest, "@"+ref) {
			return ref
		}
	}
	return ""
}
