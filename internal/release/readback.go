package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/pep740"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/pypi"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// ReadBackReport is what the index serves for each file uploaded with
// attestations.
type ReadBackReport struct {
	// Skipped says why nothing was read back ("" when it was).
	Skipped string `json:"skipped,omitempty"`
	// Files are the files read back, in upload order.
	Files []ReadBackFile `json:"files,omitempty"`
}

// ReadBackFile is one file's read-back.
type ReadBackFile struct {
	// Filename is the dist's filename.
	Filename string `json:"filename"`
	// Served says the index serves the attestations uploaded: the same
	// statements, verified for the same identity and the file's digest.
	Served bool `json:"served"`
	// URL is the Integrity API URL read.
	URL string `json:"url"`
	// Error says what is wrong when it is not served.
	Error string `json:"error,omitempty"`
}

// ServedNote is what the report and the job summary say of a file the
// index serves the attestations of.
const ServedNote = "PyPI serves the attestation"

// readBack reads each uploaded file's provenance back from the index's
// Integrity API and checks that it is what was uploaded: the same in-toto
// statements (by digest), verifying for the signer's identity and the
// file's digest. A file whose provenance is missing or different is an
// error naming it; an index without an Integrity API (every file 404, and
// not PyPI) is skipped with a note.
func (p *pipeline) readBack(ctx context.Context) error {
	rep := p.res.Published
	if rep == nil {
		return nil
	}
	rb := &ReadBackReport{}
	p.res.ReadBack = rb
	defer func() { p.h.ReadBack(rb) }()
	o := p.o.ReadBack
	var todo []*publish.Entry
	for _, e := range rep.Entries {
		if (e.State == publish.Uploaded || e.State == publish.AlreadyLanded) && len(e.Attestations) > 0 {
			todo = append(todo, e)
		}
	}
	switch {
	case o.Skip:
		rb.Skipped = "turned off"
		return nil
	case len(todo) == 0:
		rb.Skipped = "no file was uploaded with attestations by this run"
		return nil
	case rep.Signer == nil || rep.TrustedRoot == nil:
		rb.Skipped = "the attestations were not verified before upload (no trusted root)"
		return nil
	}
	base := o.IndexURL
	if base == "" {
		var err error
		if base, err = indexRoot(rep.RepositoryURL); err != nil {
			rb.Skipped = err.Error()
			p.warn(Warning{Stage: StageReadBack, Message: "the provenance was not read back: " + err.Error()})
			return nil
		}
	}
	client, err := pypi.NewIndexClient(base)
	if err != nil {
		return fmt.Errorf("reading back: %w", err)
	}
	if o.HTTP != nil {
		client.HTTP = o.HTTP
	}
	tr, ok := rep.TrustedRoot.(*root.TrustedRoot)
	if !ok {
		rb.Skipped = "the trusted root cannot be reused for the read-back"
		return nil
	}
	trust, err := verification.TrustFromRoot(tr)
	if err != nil {
		return fmt.Errorf("reading back: %w", err)
	}
	checker, err := verification.NewChecker(trust, verification.Policy{SAN: rep.Signer.SAN, Issuer: rep.Signer.Issuer})
	if err != nil {
		return fmt.Errorf("reading back: %w", err)
	}
	files := make([]ReadBackFile, len(todo))
	missing := make([]bool, len(todo))
	check := func(i int) {
		e := todo[i]
		f := pypi.IndexFile{Filename: e.Dist.Filename, Provenance: client.IntegrityURL(e.Dist.Parsed.Name, e.Dist.Parsed.Version, e.Dist.Filename)}
		files[i] = ReadBackFile{Filename: f.Filename, URL: f.Provenance}
		body, err := client.Provenance(ctx, f)
		missing[i] = errors.Is(err, pypi.ErrNoProvenance)
		if err == nil {
			err = sameProvenance(checker, e, body)
		}
		files[i].Served, files[i].Error = err == nil, errText(err)
	}
	for i := range todo {
		check(i)
	}
	if !slices.Contains(missing, false) && !pypiHost(rep.RepositoryURL) {
		rb.Skipped = fmt.Sprintf("the index has no Integrity API (%s answered 404 for every file's provenance)", base)
		return nil
	}
	// PyPI serves the provenance once the upload's transaction is visible
	// everywhere: a missing one is fetched again, with growing waits.
	attempts := o.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	retry := pypi.RetryPolicy{Initial: o.Wait, Max: 8 * time.Second, Sleep: o.Sleep}
	for n := 1; n < attempts && slices.Contains(missing, true); n++ {
		wait := retry.Backoff(n)
		p.h.Progress(fmt.Sprintf("waiting %s for the index to serve the provenance of %d file(s)", wait, count(missing)))
		if err := retry.Wait(ctx, wait); err != nil {
			return err
		}
		for i := range todo {
			if missing[i] {
				check(i)
			}
		}
	}
	rb.Files = files
	var bad []string
	for _, f := range files {
		if !f.Served {
			bad = append(bad, fmt.Sprintf("%s: %s", f.Filename, f.Error))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("the index does not serve the attestations uploaded for %d file(s): %s", len(bad), strings.Join(bad, "; "))
	}
	return nil
}

// provenanceObject is the part of a PEP 740 provenance object read here.
type provenanceObject struct {
	Version            int `json:"version"`
	AttestationBundles []struct {
		Attestations []json.RawMessage `json:"attestations"`
	} `json:"attestation_bundles"`
}

// sameProvenance checks that body, the index's provenance of e's file,
// holds exactly the statements uploaded and verifies for the file.
func sameProvenance(c *verification.Checker, e *publish.Entry, body []byte) error {
	var po provenanceObject
	if err := json.Unmarshal(body, &po); err != nil {
		return fmt.Errorf("the provenance is not a PEP 740 provenance object: %w", err)
	}
	var served [][sha256.Size]byte
	for _, ab := range po.AttestationBundles {
		for _, raw := range ab.Attestations {
			a, err := pep740.Parse(raw)
			if err != nil {
				return fmt.Errorf("the provenance holds an attestation that cannot be read: %w", err)
			}
			served = append(served, sha256.Sum256(a.Envelope.Statement))
		}
	}
	var sent [][sha256.Size]byte
	for _, raw := range e.Attestations {
		a, err := pep740.Parse(raw)
		if err != nil {
			return fmt.Errorf("reading the attestation uploaded: %w", err)
		}
		sent = append(sent, sha256.Sum256(a.Envelope.Statement))
	}
	sortDigests(served)
	sortDigests(sent)
	if !slices.Equal(served, sent) {
		return fmt.Errorf("the index serves %d attestation(s) whose statements differ from the %d uploaded", len(served), len(sent))
	}
	d := e.Dist
	a := verification.Artifact{Name: d.Filename, SHA256: d.SHA256, Filename: d.Filename, Size: verification.SizeOf(d.Size)}
	set, err := verification.AttestationSet("the index's provenance", body)
	if err != nil {
		return err
	}
	if r := c.Verify(a, []*verification.MaterialSet{set}); !r.Verified {
		return fmt.Errorf("the provenance does not verify: %s check failed: %s", r.FailedCheck, r.Error)
	}
	return nil
}

func sortDigests(ds [][sha256.Size]byte) {
	slices.SortFunc(ds, func(a, b [sha256.Size]byte) int { return bytes.Compare(a[:], b[:]) })
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// indexRoot is the root of an index's simple and Integrity APIs for its
// upload URL: https://pypi.org for https://upload.pypi.org/legacy/ (and
// TestPyPI's likewise), otherwise the URL without its /legacy/ path.
func indexRoot(repositoryURL string) (string, error) {
	simple, err := publish.SimpleURL(repositoryURL)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(simple)
	if err != nil {
		return "", err
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "simple")
	return strings.TrimRight(u.String(), "/"), nil
}

// pypiHost reports whether the repository is PyPI or TestPyPI.
func pypiHost(repositoryURL string) bool {
	u, err := url.Parse(repositoryURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "pypi.org" || h == "test.pypi.org" || strings.HasSuffix(h, ".pypi.org")
}
