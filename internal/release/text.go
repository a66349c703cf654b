package release

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/audit"
	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// TextHandler writes a run for a terminal: the report on Out, warnings
// included where they happen, and progress lines on Log. It is the CLI's default output, and the log text of
// the GitHub Actions handler.
type TextHandler struct {
	// Out receives the report and the warnings; Log progress lines.
	Out, Log io.Writer
	// Groups, when set, receives a GitHub Actions log group around each
	// stage (the CLI run in a workflow step: actionio.CommandWriter).
	Groups io.Writer
}

// StageStarted opens the stage's log group when Groups is set.
func (t *TextHandler) StageStarted(s Stage) {
	if t.Groups != nil {
		fmt.Fprintf(t.Groups, "::group::%s\n", s)
	}
}

// StageEnded closes it.
func (t *TextHandler) StageEnded(Stage, error) {
	if t.Groups != nil {
		fmt.Fprintln(t.Groups, "::endgroup::")
	}
}

// Progress writes msg on Log.
func (t *TextHandler) Progress(msg string) { fmt.Fprintln(t.Log, msg) }

// Warning writes "warning: …" on Out.
func (t *TextHandler) Warning(w Warning) {
	where := ""
	if w.File != "" {
		where = w.File
		if w.Line > 0 {
			where += fmt.Sprintf(":%d", w.Line)
		}
		where += ": "
	}
	fmt.Fprintf(t.Out, "warning: %s%s\n", where, w.Message)
}

// Audited writes each finding and their count.
func (t *TextHandler) Audited(rep *audit.Report, workflow string, strict bool) {
	level := "warning"
	if strict {
		level = "error"
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(t.Out, "%s: audit of %s: %s\n", level, workflow, f)
	}
	fmt.Fprintf(t.Out, "audit of %s: %d finding(s)\n", workflow, len(rep.Findings))
}

// Signed writes what signing made, and how a consumer checks a file.
func (t *TextHandler) Signed(res *attest.Result) {
	w := t.Out
	first := res.Dists[0].Dist
	fmt.Fprintf(w, "Signed and verified %d distribution(s) of %s %s in %s: %d signatures on one certificate.\n",
		len(res.Dists), first.Parsed.CanonicalName(), first.Parsed.Version, res.Elapsed.Round(time.Millisecond), res.Signatures)
	fmt.Fprintf(w, "Signer: %s\n\n", res.Identity)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DIST\tSIZE\tSHA256\tLOG INDEX")
	for _, d := range res.Dists {
		idx := "-"
		if d.LogIndex >= 0 {
			idx = fmt.Sprint(d.LogIndex)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Dist.Filename, dists.FormatSize(d.Dist.Size), d.Dist.SHA256Hex(), idx)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nWrote:")
	for _, d := range res.Dists {
		for _, p := range []string{d.Bundle, d.PublishAttestation, d.SLSAAttestation, d.Signature, d.Certificate} {
			if p != "" {
				fmt.Fprintf(w, "  %s\n", p)
			}
		}
	}
	if res.Provenance != "" {
		fmt.Fprintf(w, "  %s\n", res.Provenance)
	}
	d := res.Dists[0]
	fmt.Fprintf(w, "\nA consumer can check a file with:\n  cosign verify-blob %s --bundle %s --certificate-identity %s --certificate-oidc-issuer %s\n",
		shellQuote(filepath.Base(d.Dist.Path)), shellQuote(filepath.Base(d.Bundle)), shellQuote(res.Identity.SAN), shellQuote(res.Identity.Issuer))
}

// Verified writes one verdict line per artifact and each object of its
// material that did not verify (the verdicts' warnings come through
// Warning).
func (t *TextHandler) Verified(results []verification.Result) {
	w := t.Out
	for _, r := range results {
		if r.Verified {
			fmt.Fprintf(w, "OK   %s: signed by %s (issuer %s); checks: %s\n", r.Artifact, r.Signer, orDash(r.Issuer), strings.Join(r.Checks, ", "))
		} else {
			fmt.Fprintf(w, "FAIL %s: %s check failed: %s\n", r.Artifact, r.FailedCheck, oneLine(r.Error))
		}
		// Each object of a JSONL file (or provenance object) that did not
		// verify, also when another one satisfied the policy.
		for _, it := range r.Items {
			if it.Verified {
				continue
			}
			note := ""
			if r.Verified {
				note = " (ignored: another object of the file satisfied the policy)"
			}
			fmt.Fprintf(w, "     %s: %s check failed: %s%s\n", it.Source, it.FailedCheck, oneLine(it.Error), note)
		}
	}
}

// AttestedToGitHub writes where the attestation is stored.
func (t *TextHandler) AttestedToGitHub(a *GitHubAttestation) {
	fmt.Fprintf(t.Out, "Stored the release provenance on GitHub: %s\n", a.URL)
}

// Published writes the upload report.
func (t *TextHandler) Published(rep *publish.Report) {
	fmt.Fprintln(t.Out)
	rep.Print(t.Out)
}

// ReadBack writes what the index serves for each file.
func (t *TextHandler) ReadBack(rb *ReadBackReport) {
	if rb.Skipped != "" {
		fmt.Fprintf(t.Out, "\nRead-back of the index's provenance skipped: %s\n", rb.Skipped)
		return
	}
	fmt.Fprintln(t.Out)
	for _, f := range rb.Files {
		if f.Served {
			fmt.Fprintf(t.Out, "%s: %s (%s)\n", f.Filename, ServedNote, f.URL)
		} else {
			fmt.Fprintf(t.Out, "%s: the index does not serve the attestation uploaded: %s\n", f.Filename, oneLine(f.Error))
		}
	}
}

// Done implements Handler; the caller prints the error.
func (t *TextHandler) Done(*Result, error) error { return nil }

// shellQuote quotes s for a POSIX shell, leaving plain words as they are.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r == '@' || r == '=' || r == '+' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
