package attest

import (
	"fmt"
	"path/filepath"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/provenance"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// outputKind is what one signature becomes.
type outputKind int

const (
	kindBundle     outputKind = iota // <dist>.sigstore.json
	kindPublish                      // <dist>.publish.attestation
	kindSLSA                         // <dist>.slsa.attestation
	kindProvenance                   // provenance.sigstore.json
)

func (k outputKind) isPEP740() bool { return k == kindPublish || k == kindSLSA }

// job is one signature to make.
type job struct {
	kind      outputKind
	dist      *dists.Dist // nil for the release provenance
	path      string
	statement []byte // for DSSE outputs
}

type signedOutput struct {
	job     job
	bundle  *protobundle.Bundle
	pending *pendingFile
}

// plan lists the signatures of a run and the identity they must verify as.
type plan struct {
	dists    []*dists.Dist
	jobs     []job
	identity verification.Identity
	build    provenance.Build // the GitHub Actions run or GitLab CI job the SLSA provenance describes
}

func (p *plan) paths() []string {
	var out []string
	for _, j := range p.jobs {
		out = append(out, j.path)
	}
	return out
}

func makePlan(found []*dists.Dist, opts Options) (*plan, error) {
	id, err := verification.ExpectedIdentity(opts.Token, opts.ServerURL)
	if err != nil {
		return nil, err
	}
	p := &plan{dists: found, identity: id}
	switch opts.Token.Provider() {
	case idtoken.GitHubActions:
		b, err := provenance.GitHubBuildFromClaims(opts.Token.Claims, opts.ServerURL)
		if err != nil {
			return nil, err
		}
		p.build = b
	case idtoken.GitLabCI:
		b, err := provenance.GitLabBuildFromClaims(opts.Token.Claims)
		if err != nil {
			return nil, err
		}
		p.build = b
	default:
		// ExpectedIdentity refuses such tokens already.
		return nil, fmt.Errorf("identity token from %s is neither a GitHub Actions nor a GitLab CI token: no SLSA provenance can describe its build", opts.Token.Issuer())
	}
	var all []provenance.Subject
	for _, d := range found {
		subject := provenance.Subject{Name: d.Filename, SHA256: d.SHA256}
		all = append(all, subject)
		p.jobs = append(p.jobs, job{kind: kindBundle, dist: d, path: d.Path + dists.BundleSuffix})
		publish, err := provenance.PublishStatement(subject)
		if err != nil {
			return nil, err
		}
		p.jobs = append(p.jobs, job{kind: kindPublish, dist: d, path: d.Path + dists.PublishAttestationSuffix, statement: publish})
		slsa, err := provenance.SLSAStatement(p.build, subject)
		if err != nil {
			return nil, err
		}
		p.jobs = append(p.jobs, job{kind: kindSLSA, dist: d, path: d.Path + dists.SLSAAttestationSuffix, statement: slsa})
	}
	release, err := provenance.SLSAStatement(p.build, all...)
	if err != nil {
		return nil, err
	}
	p.jobs = append(p.jobs, job{kind: kindProvenance, path: filepath.Join(opts.OutputDir, dists.ProvenanceBundleName), statement: release})
	return p, nil
}

// dropPEP740 removes the PEP 740 jobs (when no Rekor v1 entry can be had).
func (p *plan) dropPEP740() {
	kept := p.jobs[:0]
	for _, j := range p.jobs {
		if !j.kind.isPEP740() {
			kept = append(kept, j)
		}
	}
	p.jobs = kept
}
