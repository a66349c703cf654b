package release

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/netguard"
	"github.com/attest-publish/attest-publish/internal/preflight"
	"github.com/attest-publish/attest-publish/internal/provenance"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/pypi"
)

// maxSimplePage bounds the simple API page read for the release's age.
const maxSimplePage = 16 << 20

// preflight checks the token's claims and the dists for what the index
// would refuse after everything is signed (internal/preflight): errors stop
// the run before the Fulcio request, warnings go to the warnings channel.
func (p *pipeline) preflight(ctx context.Context, tok *idtoken.Token, found []*dists.Dist) error {
	po := p.o.Sign.Preflight
	o := preflight.Options{Claims: tok.Claims, Dists: found}
	if po.Now != nil {
		o.Now = po.Now()
	}
	if p.o.Mode == ModeRelease {
		pub := p.o.Publish
		trusted := pub.Password == "" && (pub.User == "" || pub.User == "__token__")
		o.Attestations = pub.Attestations == publish.AttestationsOn || pub.Attestations == publish.AttestationsDefault && trusted
		o.PyPI = trusted || pypiHost(pub.RepositoryURL)
		o.IndexURL = pub.RepositoryURL
		if po.ReleaseFirstUpload == nil {
			po.ReleaseFirstUpload = firstUploadFromIndex(pub.RepositoryURL)
		}
	}
	if o.Attestations {
		// The attestations this run will make, and any already next to a
		// dist that uv or twine would upload with it.
		sidecars, err := preflight.ReadSidecars(found)
		if err != nil {
			return err
		}
		for _, d := range found {
			sidecars[d.Filename] = append(sidecars[d.Filename],
				preflight.Sidecar{Name: d.Filename + dists.PublishAttestationSuffix, PredicateType: provenance.PublishPredicateType},
				preflight.Sidecar{Name: d.Filename + dists.SLSAAttestationSuffix, PredicateType: provenance.SLSAPredicateType})
		}
		o.Sidecars = sidecars
	}
	if o.PyPI && po.ReleaseFirstUpload != nil && len(found) > 0 {
		first, ok, err := po.ReleaseFirstUpload(ctx, found[0].Parsed.Name, found[0].Parsed.Version)
		switch {
		case err != nil:
			p.warn(Warning{Stage: StageSign, Message: "the release's age on the index was not checked: " + err.Error()})
		case ok:
			o.ReleaseFirstUpload = &first
		}
	}
	if o.Attestations && pypiHost(o.IndexURL) && tok.FromGitLab() {
		// PyPI takes PEP 740 attestations from gitlab.com only.
		if err := idtoken.CheckGitLabPyPIAttestations(tok.Issuer()); err != nil {
			return err
		}
	}
	rep := preflight.Check(ctx, o)
	for _, f := range rep.Warnings() {
		p.warn(Warning{Stage: StageSign, File: f.File, Title: "attest-publish preflight: " + f.Check, Message: f.Message + " Fix: " + f.Fix})
	}
	return rep.Err()
}

// firstUploadFromIndex returns a PreflightOptions.ReleaseFirstUpload that
// reads the release's first upload time from the index's PEP 691 JSON
// simple page (PEP 700 upload-time). An index that serves no JSON page, or
// no upload times, makes ok false.
func firstUploadFromIndex(repositoryURL string) func(ctx context.Context, project, version string) (time.Time, bool, error) {
	return func(ctx context.Context, project, version string) (time.Time, bool, error) {
		base, err := indexRoot(repositoryURL)
		if err != nil {
			return time.Time{}, false, nil
		}
		u := base + "/simple/" + dists.CanonicalizeName(project) + "/"
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return time.Time{}, false, err
		}
		req.Header.Set("Accept", pypi.SimpleJSONType)
		hc := netguard.Guard(&http.Client{}, 20*time.Second)
		resp, err := hc.Do(req)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("reading %s: %w", u, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound || resp.Header.Get("Content-Type") != pypi.SimpleJSONType {
			return time.Time{}, false, nil
		}
		if resp.StatusCode != http.StatusOK {
			return time.Time{}, false, fmt.Errorf("reading %s: HTTP %d", u, resp.StatusCode)
		}
		page, err := io.ReadAll(netguard.LimitBody(resp.Body, maxSimplePage, "the simple page"))
		if err != nil {
			return time.Time{}, false, fmt.Errorf("reading %s: %w", u, err)
		}
		return preflight.FirstUpload(page, project, version)
	}
}
