package release

import (
	"context"

	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/dists"

	"github.com/attest-publish/attest-publish/internal/publish"
)

// publish uploads the dists (publish.Run: metadata checked and every bundle
// and attestation verified before the first upload). After signing, they
// are verified against the trusted root signing used and, unless the
// options name another, the identity that signed.
func (p *pipeline) publish(ctx context.Context) error {
	o := p.o.Publish
	o.PackagesDir = p.o.PackagesDir
	if signed := p.res.Signed; signed != nil {
		o.Dists = signedDists(signed) // hashed once, by signing
		o.TrustedRoot = p.trust.TrustedRoot
		if o.Identity == nil {
			id := signed.Identity
			o.Identity = &id
		}
	}
	o.Log = p.progress()
	o.Warn = p.warnFunc(StagePublish)
	rep, err := publish.Run(ctx, o)
	if rep != nil {
		p.res.Published = rep
		p.h.Published(rep)
	}
	return err
}

// publishAndReadBack is the publish stage: the upload, then the read-back
// of what the index serves (part of publishing, in the same log group).
func (p *pipeline) publishAndReadBack(ctx context.Context) error {
	if err := p.publish(ctx); err != nil {
		return err
	}
	return p.readBack(ctx)
}

// signedDists are the dists signing found and hashed.
func signedDists(res *attest.Result) []*dists.Dist {
	ds := make([]*dists.Dist, len(res.Dists))
	for i, d := range res.Dists {
		ds[i] = d.Dist
	}
	return ds
}
