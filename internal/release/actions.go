package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/audit"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// ActionsHandler reports a run to a GitHub Actions runner: log text (a
// TextHandler on the action's escaping writers), a log group per stage, an
// annotation per warning and per failure, and, when the run is done, the
// step's outputs and the job summary.
type ActionsHandler struct {
	// A is the runner's I/O.
	A *actionio.Action
	// Text writes the log text.
	Text *TextHandler
	// Stderr receives what cannot go anywhere else (no output file).
	Stderr io.Writer
	// TrustedRoot is the trusted-root input, for the consumer's commands.
	TrustedRoot string
	// Repository is GITHUB_REPOSITORY, for gh attestation verify.
	Repository string

	notes []string
}

// StageStarted opens the stage's log group.
func (h *ActionsHandler) StageStarted(s Stage) { h.A.Group(string(s)) }

// StageEnded closes it.
func (h *ActionsHandler) StageEnded(Stage, error) { h.A.EndGroup() }

// Progress writes msg to the log.
func (h *ActionsHandler) Progress(msg string) { h.Text.Progress(msg) }

// Warning is a warning annotation (on its file and line when it has them)
// and a note of the job summary.
func (h *ActionsHandler) Warning(w Warning) {
	title := w.Title
	if title == "" {
		title = "attest-publish " + string(w.Stage)
	}
	n := actionio.Annotation{Title: title, Message: oneLine(w.Message), Line: w.Line}
	if w.File != "" {
		n.File = h.A.RelPath(w.File)
	}
	h.A.Warning(n)
	h.notes = append(h.notes, w.Message)
}

// Audited annotates every finding (errors when strict) on its line.
func (h *ActionsHandler) Audited(rep *audit.Report, workflow string, strict bool) {
	for _, f := range rep.Findings {
		n := actionio.Annotation{File: workflow, Line: f.Line, Title: "attest-publish audit: " + f.Rule, Message: f.Message}
		if f.Job != "" {
			n.Title += " (job " + f.Job + ")"
		}
		if strict {
			h.A.Error(n)
		} else {
			h.A.Warning(n)
		}
		h.notes = append(h.notes, fmt.Sprintf("audit of %s: %s", workflow, f.String()))
	}
	fmt.Fprintf(h.Text.Out, "audit of %s: %d finding(s)\n", workflow, len(rep.Findings))
}

// Signed writes the signing report to the log.
func (h *ActionsHandler) Signed(res *attest.Result) { h.Text.Signed(res) }

// Verified writes the verdicts and annotates each failed one on its file.
func (h *ActionsHandler) Verified(results []verification.Result) {
	h.Text.Verified(results)
	for _, v := range results {
		if !v.Verified {
			h.A.Error(actionio.Annotation{File: h.A.RelPath(v.Artifact), Title: "attest-publish verify: " + v.FailedCheck, Message: oneLine(v.Error)})
		}
	}
}

// AttestedToGitHub writes the attestation's URL to the log.
func (h *ActionsHandler) AttestedToGitHub(a *GitHubAttestation) { h.Text.AttestedToGitHub(a) }

// Published writes the upload report and annotates each dist not uploaded.
func (h *ActionsHandler) Published(rep *publish.Report) {
	h.Text.Published(rep)
	for _, e := range rep.Entries {
		if !e.State.Live() && e.Reason != "" {
			h.A.Error(actionio.Annotation{File: h.A.RelPath(e.Dist.Path), Title: "attest-publish publish: not uploaded", Message: oneLine(e.Reason)})
		}
	}
}

// ReadBack writes the read-back and annotates each file the index does
// not serve the attestations of.
func (h *ActionsHandler) ReadBack(rb *ReadBackReport) {
	h.Text.ReadBack(rb)
	if rb.Skipped != "" {
		h.notes = append(h.notes, "The index's provenance was not read back: "+rb.Skipped+".")
	}
	for _, f := range rb.Files {
		if !f.Served {
			h.A.Error(actionio.Annotation{Title: "attest-publish read back: " + f.Filename, Message: oneLine(f.Error)})
		}
	}
}

// Done annotates the failure, then writes every output and the job
// summary, also after a failure. Every output is written even when one is
// refused (a value holding the file command delimiter): each refused
// output gets an error annotation, and the returned error fails the step.
func (h *ActionsHandler) Done(res *Result, runErr error) error {
	if runErr != nil {
		h.annotateDists(res, runErr)
		h.A.Error(actionio.Annotation{Title: "attest-publish " + string(res.Mode) + " failed", Message: oneLine(runErr.Error())})
	}
	var refused []error
	for _, o := range Outputs(res, runErr) {
		err := h.A.SetOutput(o[0], o[1])
		if errors.Is(err, actionio.ErrNoOutputFile) {
			// Not a runner step: no output can be written; say it once.
			fmt.Fprintf(h.Stderr, "warning: %v\n", err)
			break
		}
		if err != nil {
			h.A.Error(actionio.Annotation{Title: "attest-publish: output " + o[0] + " not written", Message: oneLine(err.Error())})
			refused = append(refused, err)
		}
	}
	var outErr error
	if len(refused) > 0 {
		outErr = fmt.Errorf("%d output(s) not written: %w", len(refused), errors.Join(refused...))
		h.notes = append(h.notes, outErr.Error())
	}
	summaryErr := runErr
	if summaryErr == nil {
		summaryErr = outErr
	}
	s := Summary(res, summaryErr, SummaryOptions{Notes: h.notes, TrustedRoot: h.TrustedRoot, Repository: h.Repository})
	if err := h.A.AddSummary(s.Markdown()); err != nil {
		fmt.Fprintf(h.Stderr, "warning: %v\n", err)
	}
	return outErr
}

// annotateDists puts an error annotation on every dist of the packages
// directory that err names (a refused file, a failed signature).
func (h *ActionsHandler) annotateDists(res *Result, err error) {
	if res.PackagesDir == "" || res.Mode == ModeVerify {
		return
	}
	entries, rerr := os.ReadDir(res.PackagesDir)
	if rerr != nil {
		return
	}
	msg := err.Error()
	for _, e := range entries {
		n := e.Name()
		isDist := strings.HasSuffix(n, ".whl") || strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".zip")
		if isDist && strings.Contains(msg, n) {
			h.A.Error(actionio.Annotation{File: h.A.RelPath(filepath.Join(res.PackagesDir, n)), Title: "attest-publish " + string(res.Mode), Message: oneLine(msg)})
		}
	}
}

// Outputs are the action's outputs, in a fixed order.
func Outputs(res *Result, runErr error) [][2]string {
	bundles, attestations, published := []string{}, []string{}, []string{}
	provenance := ""
	if s := res.Signed; s != nil {
		for _, d := range s.Dists {
			bundles = append(bundles, d.Bundle)
			for _, p := range []string{d.PublishAttestation, d.SLSAAttestation} {
				if p != "" {
					attestations = append(attestations, p)
				}
			}
		}
		provenance = s.Provenance
	}
	if rep := res.Published; rep != nil {
		for _, e := range rep.Entries {
			if e.State.Live() && e.URL != "" {
				published = append(published, e.URL)
			}
		}
	}
	id, url := "", ""
	if res.GitHub != nil {
		id, url = strconv.FormatInt(res.GitHub.ID, 10), res.GitHub.URL
	}
	verdicts := res.Verdicts
	if verdicts == nil {
		verdicts = []verification.Result{}
	}
	return [][2]string{
		{"bundles", jsonString(bundles)},
		{"attestations", jsonString(attestations)},
		{"provenance-bundle-path", provenance},
		{"attestation-id", id},
		{"attestation-url", url},
		{"published-urls", jsonString(published)},
		{"verified", strconv.FormatBool(res.Verified(runErr))},
		{"verdicts", jsonString(verdicts)},
	}
}

func jsonString(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(data)
}
