package publish

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// State is where one dist stands after a run.
type State string

// The states of a dist; every dist of a run ends in exactly one.
const (
	// Uploaded: this run uploaded it.
	Uploaded State = "uploaded"
	// SkippedExisting: the index already had it and SkipExisting was set.
	SkippedExisting State = "skipped (already on the index)"
	// AlreadyLanded: an attempt failed, but the index had the file when
	// checked before the retry.
	AlreadyLanded State = "already landed (an earlier attempt reached the index)"
	// NotUploaded: the file is not live; Entry.Reason says why.
	NotUploaded State = "not uploaded"
)

// Live reports whether a dist in this state is on the index.
func (s State) Live() bool { return s == Uploaded || s == SkippedExisting || s == AlreadyLanded }

// Entry is one dist's outcome.
type Entry struct {
	// Dist is the file.
	Dist *dists.Dist
	// State is its outcome.
	State State
	// Reason says why a dist was not uploaded, or adds a note.
	Reason string
	// URL is the file's URL on the index, when known.
	URL string
	// Attestations are the PEP 740 attestations sent with the file (the
	// upload's attestations field), verified before the upload.
	Attestations [][]byte
}

// Report lists every dist of a run with its outcome.
type Report struct {
	// RepositoryURL is where the dists were sent.
	RepositoryURL string
	// Entries are in the order of the dists (sorted by filename).
	Entries []*Entry
	// Signer is the identity every bundle and attestation was verified
	// for before the first upload (nil: nothing was verified).
	Signer *verification.Identity
	// TrustedRoot is what they were verified against (nil: nothing was).
	TrustedRoot root.TrustedMaterial
}

// Live reports whether every dist is on the index.
func (r *Report) Live() bool {
	for _, e := range r.Entries {
		if !e.State.Live() {
			return false
		}
	}
	return true
}

// notUploaded marks every entry still without a state as not uploaded.
func (r *Report) notUploaded(reason string) {
	for _, e := range r.Entries {
		if e.State == "" {
			e.State, e.Reason = NotUploaded, reason
		}
	}
}

// Print writes the report as a table, then the reasons of dists that are
// not live and what to do about them.
func (r *Report) Print(w io.Writer) {
	if len(r.Entries) == 0 {
		return
	}
	live := 0
	for _, e := range r.Entries {
		if e.State.Live() {
			live++
		}
	}
	fmt.Fprintf(w, "%d of %d distribution(s) live on %s:\n\n", live, len(r.Entries), r.RepositoryURL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DIST\tSTATE\tSHA256\tURL")
	for _, e := range r.Entries {
		url := e.URL
		if url == "" {
			url = "-"
		}
		state := e.State
		if state == "" {
			state = NotUploaded
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Dist.Filename, state, e.Dist.SHA256Hex(), url)
	}
	tw.Flush()
	var notes []string
	for _, e := range r.Entries {
		if e.Reason != "" {
			notes = append(notes, fmt.Sprintf("  %s: %s", e.Dist.Filename, e.Reason))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
	if live > 0 && live < len(r.Entries) {
		fmt.Fprintln(w, "\nSome files are live and some are not: fix the cause and rerun with --skip-existing to publish the rest.")
	}
}

func writeWarning(w io.Writer, msg string) {
	fmt.Fprintf(w, "warning: %s\n", msg)
}
