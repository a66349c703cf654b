package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/pypi"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// ErrNotLive is wrapped by Run's error when some dist did not end up live
// on the index.
var ErrNotLive = errors.New("not every distribution is live on the index")

// Run publishes the dists of o.PackagesDir. Nothing is uploaded unless
// every metadata check passes and every bundle and attestation verifies.
// There is no separate re-hash before an upload: each file is hashed again
// as it is streamed to the index, and a file whose size or digests differ
// from those verified is refused, its request cut off before the last
// bytes, so the index never receives it. The report (nil only when no dist
// was found) lists every dist's outcome, also when Run fails halfway; the
// error is nil only when every dist is live.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.setDefaults()
	found := o.Dists
	if found == nil {
		ds, err := dists.Find(o.PackagesDir)
		if err != nil {
			return nil, err
		}
		found = ds
	}
	rep := &Report{RepositoryURL: o.RepositoryURL}
	items := make([]*item, len(found))
	for i, d := range found {
		items[i] = &item{dist: d}
		rep.Entries = append(rep.Entries, &Entry{Dist: d})
	}
	if err := prepare(ctx, &o, items); err != nil {
		rep.notUploaded("nothing was uploaded: the run stopped before the first upload")
		return rep, err
	}
	if o.Identity != nil && o.TrustedRoot != nil {
		rep.Signer, rep.TrustedRoot = o.Identity, o.TrustedRoot
	}
	err := upload(ctx, &o, items, rep)
	if err == nil && !rep.Live() {
		err = ErrNotLive
	}
	return rep, err
}

// prepare does everything that must pass before the first upload.
func prepare(ctx context.Context, o *Options, items []*item) error {
	warn := o.Warn
	if err := o.checkGitLab(); err != nil {
		return err
	}
	if o.Password == "" && o.User != "__token__" {
		return fmt.Errorf("user %q needs a password (trusted publishing uses the user __token__ and no password)", o.User)
	}
	if err := checkMetadata(items, o.VerifyMetadata, warn); err != nil {
		return err
	}
	send := attestationsWanted(o, warn)
	if send && o.TrustedRoot == nil {
		return errors.New("attestations are verified before they are sent: give the Sigstore trusted root (--trusted-root), or publish with --attestations=false")
	}
	if err := pair(items, send); err != nil {
		return err
	}
	if o.PrintHash || o.Verbose {
		for _, it := range items {
			d := it.dist
			fmt.Fprintf(o.Out, "%s\n  sha256:      %s\n  blake2b-256: %x\n", d.Filename, d.SHA256Hex(), d.Blake2b256)
		}
	}
	if o.TrustedRoot == nil {
		if hasBundles(items) {
			warn("Sigstore bundles were not verified: no trusted root given (--trusted-root)")
		}
		return nil
	}
	if !send && !hasBundles(items) {
		return nil
	}
	var tok *idtoken.Token
	if o.Identity == nil {
		if o.OIDC == nil {
			return errors.New("cannot tell which signer to require: give --certificate-identity and --certificate-oidc-issuer, or run in CI with an identity token")
		}
		o.sigstoreIdentity = true
		var err error
		tok, err = o.oidc(ctx, "sigstore")
		if err != nil {
			return fmt.Errorf("finding the signer to require: %w (or give --certificate-identity and --certificate-oidc-issuer)", err)
		}
		id, err := verification.ExpectedIdentity(tok, o.ServerURL)
		if err != nil {
			return fmt.Errorf("finding the signer to require: %w", err)
		}
		o.Identity = &id
	}
	if send {
		// PyPI verifies GitLab attestations for gitlab.com only.
		var err error
		if send, err = selfManagedAttestations(o, tok); err != nil {
			return err
		}
		if !send {
			for _, it := range items {
				it.attestations = nil
			}
		}
	}
	if err := verifyAll(ctx, o, items); err != nil {
		return err
	}
	n := 0
	for _, it := range items {
		n += len(it.attestations)
		if it.bundle != "" {
			n++
		}
	}
	fmt.Fprintf(o.Log, "Verified %d bundle(s) and attestation(s) of %d dist(s); signer %s\n", n, len(items), o.Identity)
	return nil
}

func hasBundles(items []*item) bool {
	for _, it := range items {
		if it.bundle != "" {
			return true
		}
	}
	return false
}

// attestationsWanted decides whether attestations are sent, warning when
// the default is overridden by the kind of run.
func attestationsWanted(o *Options, warn func(string)) bool {
	if IsGitLabRegistry(o.RepositoryURL) {
		return gitlabAttestations(o, warn)
	}
	switch o.Attestations {
	case AttestationsOn:
		return true
	case AttestationsOff:
		return false
	}
	if o.trustedPublishing() {
		return true
	}
	if pypiLike(o.RepositoryURL) {
		warn("attestations are not sent: PyPI accepts them only with trusted publishing, and this run uses a password (pass --attestations=true to send them anyway)")
	} else {
		warn(fmt.Sprintf("attestations are not sent: %s is not PyPI or TestPyPI, and other indexes do not accept PEP 740 attestations with a password (pass --attestations=true to send them anyway)", o.RepositoryURL))
	}
	return false
}

// upload authenticates and sends each dist in turn, filling in rep. It
// stops at the first dist that is not live.
func upload(ctx context.Context, o *Options, items []*item, rep *Report) error {
	var auth pypi.Credentials = pypi.BasicAuth{Username: o.User, Password: o.Password}
	if o.trustedPublishing() {
		ts := &pypi.TokenSource{
			Client:   o.Client,
			IndexURL: o.RepositoryURL,
			OIDC:     o.oidc,
			Projects: []string{items[0].dist.Parsed.CanonicalName()},
		}
		// Mint before the first upload, so a refused exchange is reported
		// before any file is sent.
		if _, err := ts.Token(ctx); err != nil {
			rep.notUploaded("nothing was uploaded: trusted publishing failed")
			return err
		}
		auth = ts
	}
	index, served, indexErr := lookupIndex(o)
	// find reads what the index's simple page lists under d's filename
	// (for GitLab's registry, only what it serves itself).
	find := func(ctx context.Context, d *dists.Dist) (pypi.IndexFile, bool, error) {
		if indexErr != nil {
			return pypi.IndexFile{}, false, indexErr
		}
		f, ok, err := index.File(ctx, d.Parsed.CanonicalName(), d.Filename)
		if ok && !served(f) {
			return pypi.IndexFile{}, false, nil
		}
		return f, ok, err
	}
	for i, it := range items {
		e := rep.Entries[i]
		d := it.dist
		fmt.Fprintf(o.Log, "Uploading %s (%d bytes, %d attestation(s))\n", d.Filename, d.Size, len(it.payloads))
		e.Attestations = it.payloads
		var landedAt string
		landed := func(ctx context.Context) (bool, error) {
			f, ok, err := find(ctx, d)
			if err != nil {
				return false, err
			}
			if ok && f.SHA256 == d.SHA256Hex() {
				landedAt = f.URL
				return true, nil
			}
			return false, nil
		}
		err := o.Retry.Do(ctx, func(ctx context.Context) error {
			return o.Client.Upload(ctx, o.RepositoryURL, d, it.metadata, it.payloads, auth)
		}, landed)
		switch {
		case err == nil:
			e.State, e.URL = Uploaded, pypiFileURL(o.RepositoryURL, d)
		case errors.Is(err, pypi.ErrLanded):
			e.State, e.URL = AlreadyLanded, landedAt
		case errors.Is(err, pypi.ErrExists) && o.SkipExisting:
			e.State, e.URL = SkippedExisting, pypiFileURL(o.RepositoryURL, d)
			if f, ok, ferr := find(ctx, d); ferr == nil && ok {
				e.URL = f.URL
				if f.SHA256 != "" && f.SHA256 != d.SHA256Hex() {
					e.State = NotUploaded
					e.Reason = fmt.Sprintf("the index already has a different file of this name (sha256 %s); a release file cannot be replaced, publish a new version", f.SHA256)
				}
			}
		default:
			e.State, e.Reason = NotUploaded, err.Error()
		}
		if e.State == Uploaded && e.URL == "" && indexErr == nil {
			// Best effort: only the index's simple page knows where it
			// serves the file.
			if f, ok, ferr := find(ctx, d); ferr == nil && ok {
				e.URL = f.URL
			}
		}
		fmt.Fprintf(o.Log, "  %s: %s\n", d.Filename, e.State)
		if !e.State.Live() {
			rep.notUploaded(fmt.Sprintf("not attempted: the run stopped after %s failed", d.Filename))
			if err == nil {
				err = errors.New(e.Reason)
			}
			return err
		}
	}
	return nil
}
