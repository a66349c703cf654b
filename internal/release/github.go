package release

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/ghattest"
	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// attestToGitHub stores the release provenance bundle signing made with
// GitHub's attestations API, when o.GitHub asks for it.
func (p *pipeline) attestToGitHub(ctx context.Context) error {
	o := p.o.GitHub
	if o == nil {
		return nil
	}
	signed := p.res.Signed
	if p.signer != idtoken.GitHubActions {
		return fmt.Errorf("attest-to-github: GitHub's attestations API holds provenance of GitHub Actions runs, and this release was signed by a %s job: turn attest-to-github off (the release provenance is %s)", p.signer, dists.ProvenanceBundleName)
	}
	if signed == nil || signed.Provenance == "" {
		return errors.New("attest-to-github: no release provenance bundle was made")
	}
	owner, repo, err := ghattest.SplitRepo(o.Repository)
	if err != nil {
		return fmt.Errorf("attest-to-github: GITHUB_REPOSITORY: %w", err)
	}
	data, err := os.ReadFile(signed.Provenance)
	if err != nil {
		return fmt.Errorf("attest-to-github: %w", err)
	}
	c, err := ghattest.New(ghattest.Options{Token: o.Token, Anonymous: true, Getenv: o.Getenv, Warn: p.warnFunc(StageGitHub)})
	if err != nil {
		return fmt.Errorf("attest-to-github: %w", err)
	}
	id, err := c.Store(ctx, owner, repo, data)
	if err != nil {
		return fmt.Errorf("attest-to-github (needs permissions: attestations: write): %w", err)
	}
	a := &GitHubAttestation{ID: id, URL: ghattest.URL(o.ServerURL, owner, repo, id)}
	p.res.GitHub = a
	p.h.AttestedToGitHub(a)
	return nil
}
