package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/audit"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// DotenvLimit is the size GitLab accepts for an artifacts:reports:dotenv
// file (it must be smaller than 5 KB); GitLabHandler keeps its report
// under it.
const DotenvLimit = 5*1024 - 1

// DotenvPrefix starts every variable of the dotenv report.
const DotenvPrefix = "AP_"

// GitLabHandler reports a run to a GitLab CI job: log text (a TextHandler
// on the log's escaping writer), a collapsible section per stage, warnings
// and errors as text naming the file they are about, and, when the run is
// done, the outputs as a dotenv report (artifacts:reports:dotenv: later
// jobs get them as AP_* variables), the job summary as Markdown and
// everything as JSON (artifacts the template exposes).
type GitLabHandler struct {
	// Log is the job log.
	Log *GitLabLog
	// Text writes the log text, on Log.Text().
	Text *TextHandler
	// DotenvPath, SummaryPath and JSONPath are the files written when the
	// run is done ("": not written, said once in the log).
	DotenvPath, SummaryPath, JSONPath string
	// TrustedRoot is the trusted-root input, for the consumer's commands.
	TrustedRoot string

	notes []string
}

// stageSection names a stage's log section.
func stageSection(s Stage) string { return "attest_publish_" + string(s) }

// StageStarted opens the stage's section (none for the GitHub attestation
// stage, which never does anything in a GitLab job).
func (h *GitLabHandler) StageStarted(s Stage) {
	if s != StageGitHub {
		_ = h.Log.Section(true, stageSection(s), "attest-publish: "+string(s))
	}
}

// StageEnded closes it.
func (h *GitLabHandler) StageEnded(s Stage, _ error) {
	if s != StageGitHub {
		_ = h.Log.Section(false, stageSection(s), "")
	}
}

// Progress writes msg to the log.
func (h *GitLabHandler) Progress(msg string) { h.Text.Progress(msg) }

// Warning writes "warning: …" to the log and keeps it for the summary.
func (h *GitLabHandler) Warning(w Warning) {
	h.Text.Warning(w)
	h.notes = append(h.notes, w.Message)
}

// Audited writes the findings.
func (h *GitLabHandler) Audited(rep *audit.Report, workflow string, strict bool) {
	h.Text.Audited(rep, workflow, strict)
	for _, f := range rep.Findings {
		h.notes = append(h.notes, fmt.Sprintf("audit of %s: %s", workflow, f.String()))
	}
}

// Signed writes the signing report.
func (h *GitLabHandler) Signed(res *attest.Result) { h.Text.Signed(res) }

// Verified writes the verdicts, then an error line for each failed one.
func (h *GitLabHandler) Verified(results []verification.Result) {
	h.Text.Verified(results)
	for _, v := range results {
		if !v.Verified {
			fmt.Fprintf(h.Text.Out, "error: %s: %s check failed: %s\n", v.Artifact, v.FailedCheck, oneLine(v.Error))
		}
	}
}

// AttestedToGitHub writes the attestation's URL (GitLab mode never stores
// one; implemented for the interface).
func (h *GitLabHandler) AttestedToGitHub(a *GitHubAttestation) { h.Text.AttestedToGitHub(a) }

// Published writes the upload report, then an error line for each dist
// not uploaded.
func (h *GitLabHandler) Published(rep *publish.Report) {
	h.Text.Published(rep)
	for _, e := range rep.Entries {
		if !e.State.Live() && e.Reason != "" {
			fmt.Fprintf(h.Text.Out, "error: %s: not uploaded: %s\n", e.Dist.Filename, oneLine(e.Reason))
		}
	}
}

// ReadBack writes the read-back, then an error line for each file the
// index does not serve the attestations of.
func (h *GitLabHandler) ReadBack(rb *ReadBackReport) {
	h.Text.ReadBack(rb)
	if rb.Skipped != "" {
		h.notes = append(h.notes, "The index's provenance was not read back: "+rb.Skipped+".")
	}
	for _, f := range rb.Files {
		if !f.Served {
			fmt.Fprintf(h.Text.Out, "error: %s: the index does not serve the attestations uploaded: %s\n", f.Filename, oneLine(f.Error))
		}
	}
}

// Done writes an error line for each dist the failure names, then the dotenv
// report, the Markdown summary and the JSON summary, also after a failure.
// Every file is written even when an output is refused (a value that is
// not one line): the refusal is written to the log and the returned error
// fails the job.
func (h *GitLabHandler) Done(res *Result, runErr error) error {
	out := h.Text.Out
	if runErr != nil {
		// The error itself ends the log (the command prints it); these
		// lines name each dist it is about.
		for _, d := range distsNamedIn(res, runErr) {
			fmt.Fprintf(out, "error: %s: %s\n", d, oneLine(runErr.Error()))
		}
	}
	outputs := gitLabOutputs(res, runErr)
	var errs []error
	var missing []string
	if h.DotenvPath == "" {
		missing = append(missing, "dotenv report")
	} else {
		env, omitted, refused := Dotenv(outputs, h.JSONPath, h.SummaryPath)
		for _, name := range omitted {
			fmt.Fprintf(out, "warning: output %s does not fit in GitLab's %d-byte dotenv report: read it from %s (outputs.%s)\n", name, DotenvLimit+1, orDash(h.JSONPath), name)
		}
		for _, err := range refused {
			fmt.Fprintf(out, "error: %v\n", err)
			h.notes = append(h.notes, err.Error())
		}
		if len(refused) > 0 {
			errs = append(errs, fmt.Errorf("%d output(s) not written: %w", len(refused), errors.Join(refused...)))
		}
		if err := writeFile(h.DotenvPath, env); err != nil {
			errs = append(errs, err)
		}
	}
	summaryErr := runErr
	if summaryErr == nil {
		summaryErr = errors.Join(errs...)
	}
	if h.SummaryPath == "" {
		missing = append(missing, "Markdown summary")
	} else {
		s := Summary(res, summaryErr, SummaryOptions{Notes: h.notes, TrustedRoot: h.TrustedRoot})
		if err := writeFile(h.SummaryPath, []byte(s.Markdown())); err != nil {
			errs = append(errs, err)
		}
	}
	if h.JSONPath == "" {
		missing = append(missing, "JSON summary")
	} else {
		doc := struct {
			Outputs map[string]string `json:"outputs"`
			Report  *Report           `json:"report"`
		}{Outputs: map[string]string{}, Report: NewReport(res, summaryErr)}
		for _, o := range outputs {
			doc.Outputs[o[0]] = o[1]
		}
		data, err := json.MarshalIndent(doc, "", "  ")
		if err == nil {
			err = writeFile(h.JSONPath, append(data, '\n'))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("writing the JSON summary: %w", err))
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(out, "note: no %s written (not run by the attest-publish GitLab template: AP_GITLAB_DOTENV, AP_GITLAB_SUMMARY and AP_GITLAB_JSON name the files)\n", strings.Join(missing, ", "))
	}
	return errors.Join(errs...)
}

// gitLabOutputs are the action's outputs that apply to GitLab (not the
// GitHub attestation's id and URL), in a fixed order.
func gitLabOutputs(res *Result, runErr error) [][2]string {
	var out [][2]string
	for _, o := range Outputs(res, runErr) {
		if o[0] != "attestation-id" && o[0] != "attestation-url" {
			out = append(out, o)
		}
	}
	return out
}

// DotenvName is the dotenv variable of output name: AP_ and the name
// upper-cased, '-' turned into '_' (provenance-bundle-path →
// AP_PROVENANCE_BUNDLE_PATH).
func DotenvName(name string) string {
	return DotenvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Dotenv renders outputs as a GitLab dotenv report: KEY=VALUE lines, no
// quoting (GitLab keeps quotes as they are), every value one line of
// printable text. AP_OUTPUTS_FILE and AP_SUMMARY_FILE name the JSON and
// Markdown summaries (when set). Outputs are added in order while the file
// stays under DotenvLimit; those that do not fit are left out, listed in
// AP_OMITTED (and returned in omitted): the JSON summary holds every output
// in full. A value that is not one line of printable text is refused: left
// out, with an error naming it.
func Dotenv(outputs [][2]string, jsonPath, summaryPath string) (data []byte, omitted []string, refused []error) {
	var b strings.Builder
	// Room kept for AP_OMITTED, written last.
	const reserve = 256
	add := func(name, value string) bool {
		line := DotenvName(name) + "=" + value + "\n"
		if b.Len()+len(line) > DotenvLimit-reserve {
			return false
		}
		b.WriteString(line)
		return true
	}
	for _, f := range [][2]string{{"outputs-file", jsonPath}, {"summary-file", summaryPath}} {
		if f[1] == "" {
			continue
		}
		if err := dotenvValue(f[1]); err != nil {
			refused = append(refused, fmt.Errorf("output %s: %w", f[0], err))
			continue
		}
		add(f[0], f[1])
	}
	for _, o := range outputs {
		if err := dotenvValue(o[1]); err != nil {
			refused = append(refused, fmt.Errorf("output %s: %w", o[0], err))
			continue
		}
		if !add(o[0], o[1]) {
			omitted = append(omitted, o[0])
		}
	}
	if len(omitted) > 0 {
		line := DotenvName("omitted") + "=" + strings.Join(omitted, ",") + "\n"
		if len(line) > reserve {
			line = DotenvName("omitted") + "=some\n"
		}
		b.WriteString(line)
	}
	return []byte(b.String()), omitted, refused
}

// dotenvValue checks that v is one line GitLab's dotenv parser keeps as it
// is: no control character (newline, CR, NUL, …), no line separator, no
// surrounding white space (GitLab strips it).
func dotenvValue(v string) error {
	for _, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\uFFFD' {
			return fmt.Errorf("value %q is not one line of printable text: GitLab's dotenv report cannot carry it", v)
		}
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("value %q starts or ends with white space, which GitLab's dotenv report drops", v)
	}
	return nil
}

// distsNamedIn lists the dists of the packages directory that err names
// (a refused file, a failed signature), for an error line each.
func distsNamedIn(res *Result, err error) []string {
	if res.PackagesDir == "" || res.Mode == ModeVerify {
		return nil
	}
	entries, rerr := os.ReadDir(res.PackagesDir)
	if rerr != nil {
		return nil
	}
	msg := err.Error()
	var names []string
	for _, e := range entries {
		n := e.Name()
		isDist := strings.HasSuffix(n, ".whl") || strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".zip")
		if isDist && strings.Contains(msg, n) {
			names = append(names, filepath.Join(res.PackagesDir, n))
		}
	}
	return names
}

// writeFile writes data to path, creating its directory.
func writeFile(path string, data []byte) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

var _ Handler = (*GitLabHandler)(nil)

var _ io.Writer = gitLabText{}
