package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// Check ids: stable names of the checks, for findings and for tests.
const (
	// CheckReusableWorkflow: a reusable workflow publishing to PyPI with
	// PEP 740 attestations.
	CheckReusableWorkflow = "reusable-workflow"
	// CheckPullRequestTarget: a run triggered by pull_request_target.
	CheckPullRequestTarget = "pull-request-target"
	// CheckClosedRelease: a release older than PyPI's window for new files.
	CheckClosedRelease = "closed-release"
	// CheckAttestationCount: more attestations for one file than PyPI
	// takes (one per predicate type, two in all).
	CheckAttestationCount = "attestation-count"
	// CheckAttestationType: an attestation whose predicate type PyPI does
	// not accept.
	CheckAttestationType = "attestation-type"
	// CheckFilenameNormalisation: a dist filename other than the one PyPI
	// expects (normalised project name and version, PEP 625 sdists).
	CheckFilenameNormalisation = "filename-normalisation"
	// CheckLocalVersion: a version with a local segment, which PyPI refuses.
	CheckLocalVersion = "local-version"
	// CheckMixedRelease: dists of more than one project or version.
	CheckMixedRelease = "mixed-release"
)

// Severity says whether a finding stops the release.
type Severity int

const (
	// Error: the index would refuse the upload; nothing should be signed.
	Error Severity = iota + 1
	// Warning: the upload may fail or surprise; worth fixing.
	Warning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Finding is one problem Check found.
type Finding struct {
	// Check is the check's stable id (CheckReusableWorkflow, …).
	Check string
	// Severity is Error or Warning.
	Severity Severity
	// File is the dist filename the finding is about, or "" when it is
	// about the run or the release as a whole.
	File string
	// Message says what is wrong, naming the values it was judged on. It
	// holds no control characters; values from the token and filenames are
	// Go-quoted.
	Message string
	// Fix is the exact change to make.
	Fix string
}

// String renders the finding on one line: severity, check, file, message
// and fix.
func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s] ", f.Severity, f.Check)
	if f.File != "" {
		fmt.Fprintf(&b, "%q: ", f.File)
	}
	b.WriteString(f.Message)
	if f.Fix != "" {
		b.WriteString(" Fix: " + f.Fix)
	}
	return b.String()
}

// Report is the outcome of Check.
type Report struct {
	// Findings are in a fixed order: the run's (claims) first, then the
	// release's, then each dist's in filename order.
	Findings []Finding
}

// Errors returns the error-severity findings.
func (r Report) Errors() []Finding { return r.filter(Error) }

// Warnings returns the warning-severity findings.
func (r Report) Warnings() []Finding { return r.filter(Warning) }

func (r Report) filter(s Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

// Err returns a *RefusedError listing every error-severity finding, or nil
// when there is none.
func (r Report) Err() error {
	errs := r.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &RefusedError{Findings: errs}
}

// RefusedError is Report.Err's error: the findings that stop the release
// before anything is signed.
type RefusedError struct {
	// Findings are the error-severity findings, in the report's order.
	Findings []Finding
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to sign: PyPI would refuse this release (%d problem", len(e.Findings))
	if len(e.Findings) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, f := range e.Findings {
		b.WriteString("\n  - [" + f.Check + "] ")
		if f.File != "" {
			fmt.Fprintf(&b, "%q: ", f.File)
		}
		b.WriteString(f.Message)
		if f.Fix != "" {
			b.WriteString("\n    Fix: " + f.Fix)
		}
	}
	return b.String()
}

// Options is what Check judges.
type Options struct {
	// Claims are the CI identity token's claims (decoded, not verified).
	// Nil or empty when there is no CI token: the claim checks are skipped.
	Claims idtoken.Claims
	// Dists are the release's distributions (dists.Find).
	Dists []*dists.Dist
	// Attestations is true when PEP 740 attestations will be uploaded with
	// the dists.
	Attestations bool
	// PyPI is true when the target index is PyPI, TestPyPI or an index that
	// enforces warehouse's rules. The checks of PyPI's own rules (publisher
	// matching, attestation limits, the closed-release window, local
	// versions) run only then; a filename another index would take is a
	// warning instead of an error.
	PyPI bool
	// IndexURL is the repository URL uploads go to (optional): on pypi.org
	// and test.pypi.org the reusable-workflow fix links to the page that
	// adds the trusted publisher (pypi.PublisherLink).
	IndexURL string
	// Sidecars are, by dist filename, the attestations that will be
	// uploaded with each dist: the ones this run will make and any already
	// next to the dist that will be sent too (ReadSidecars lists those).
	// Entries with the same Name count once, so a file this run will
	// rewrite can be listed both ways.
	Sidecars map[string][]Sidecar
	// ReleaseFirstUpload is when the release's first file reached the index
	// (FirstUpload reads it from the simple API), or nil when the release
	// is new or that is unknown.
	ReleaseFirstUpload *time.Time
	// Now is the time the checks are made at (zero: time.Now()).
	Now time.Time
}

// Sidecar is one PEP 740 attestation that will be uploaded with a dist.
type Sidecar struct {
	// Name is the attestation's file name
	// ("sample-1.2.0.tar.gz.publish.attestation").
	Name string
	// PredicateType is its in-toto statement's predicate type, or "" when
	// the file could not be read as a PEP 740 attestation (Check refuses
	// it, as PyPI would). Attestations this run will make carry the type
	// they will have.
	PredicateType string
}

// Check runs every check and returns the findings. It does no I/O and
// never fails: what it cannot judge (no claims, no release time) it skips.
// ctx is accepted so that the call sits with the pipeline's other steps;
// Check returns early, with what it found so far, once ctx is done.
func Check(ctx context.Context, o Options) Report {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	ds := sortedDists(o.Dists)
	var r Report
	steps := []func(*Options, []parsedDist) []Finding{
		checkPullRequestTarget,
		checkReusableWorkflow,
		checkMixedRelease,
		checkLocalVersion,
		checkClosedRelease,
		checkFilenames,
		checkAttestations,
	}
	for _, step := range steps {
		if ctx.Err() != nil {
			break
		}
		r.Findings = append(r.Findings, step(&o, ds)...)
	}
	for i := range r.Findings {
		r.Findings[i].Message = clean(r.Findings[i].Message)
		r.Findings[i].Fix = clean(r.Findings[i].Fix)
		r.Findings[i].File = clean(r.Findings[i].File)
	}
	return r
}

// parsedDist is a dist with its filename parsed (Dist.Parsed, or parsed
// here when the caller left it empty).
type parsedDist struct {
	*dists.Dist
	name    dists.Filename
	version string // normalised
}

// sortedDists returns the dists that parse, in filename order. Dists whose
// filename does not parse are left out: dists.Find refuses them first.
func sortedDists(in []*dists.Dist) []parsedDist {
	var out []parsedDist
	for _, d := range in {
		if d == nil {
			continue
		}
		p := d.Parsed
		if p.Kind == "" {
			var err error
			if p, err = dists.ParseFilename(d.Filename); err != nil {
				continue
			}
		}
		out = append(out, parsedDist{Dist: d, name: p, version: p.Version})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	return out
}

// clean replaces any control character left in text with U+FFFD: messages
// are built from data this program did not write, and must stay one
// printable line.
func clean(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
