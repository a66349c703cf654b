package release

import (
	"context"
	"errors"

	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/pypi"
)

// sign loads the Sigstore trust, finds and checks the dists, takes the
// identity token, makes the
// checks that must pass before the Fulcio request, and signs, attests and
// self-verifies every dist (attest.Run). On failure nothing is left behind.
func (p *pipeline) sign(ctx context.Context) error {
	o := p.o.Sign
	if o.Token == nil || o.Trust == nil {
		return errors.New("signing needs an identity token and a Sigstore trust")
	}
	trust, err := o.Trust()
	if err != nil {
		return err
	}
	p.trust = trust
	found, err := dists.Find(p.o.PackagesDir)
	if err != nil {
		return err
	}
	if o.VerifyMetadata {
		warnings, err := pypi.CheckDists(found)
		for _, w := range warnings {
			p.warn(Warning{Stage: StageSign, Message: w})
		}
		if err != nil {
			return err
		}
	}
	tok, err := o.Token(ctx)
	if err != nil {
		if p.o.Mode == ModeRelease {
			// The missing-token YAML then declares the index's token too.
			err = publish.WithIndexToken(ctx, p.o.Publish, err)
		}
		return err
	}
	p.signer = tok.Provider()
	if err := idtoken.CheckGitLabSigning(tok, trust.SigningConfig); err != nil {
		return err
	}
	if err := p.preflight(ctx, tok, found); err != nil {
		return err
	}
	outputDir := o.OutputDir
	if outputDir == "" {
		outputDir = p.o.PackagesDir
	}
	res, err := attest.Run(ctx, found, attest.Options{
		OutputDir:   outputDir,
		Overwrite:   o.Overwrite,
		Trust:       trust,
		Select:      o.Select,
		Token:       tok,
		ServerURL:   o.ServerURL,
		Concurrency: o.Concurrency,
		Signing:     o.Signing,
		Log:         p.progress(),
		Detached:    o.Detached,
	})
	if err != nil {
		return err
	}
	p.res.Signed = res
	p.h.Signed(res)
	for _, w := range res.Warnings {
		p.warn(Warning{Stage: StageSign, Message: w})
	}
	return nil
}
