package release

import (
	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/audit"
	"github.com/attest-publish/attest-publish/internal/gitlab"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// Stage names one stage of the pipeline.
type Stage string

// The pipeline's stages, in the order they run (the read-back is part of
// the publish stage: it names the warnings it gives).
const (
	StageAudit    Stage = "audit"
	StageSign     Stage = "sign"
	StageVerify   Stage = "verify"
	StageGitHub   Stage = "attest to GitHub"
	StagePublish  Stage = "publish"
	StageReadBack Stage = "read back"
	// StageGitLabGeneric stores the signature material in a GitLab
	// generic package (after sign, publish or verify).
	StageGitLabGeneric Stage = "store on GitLab"
)

// Warning is something the user should know that did not stop the run. It
// is the pipeline's one warnings channel: every stage's warnings (audit
// findings, metadata warnings, dropped attestations, stale trust, a
// timestamp that did not verify, an index's remark) arrive here.
type Warning struct {
	// Stage is where it came from.
	Stage Stage `json:"stage"`
	// File is the file it is about (a dist, a workflow), "" for the run.
	File string `json:"file,omitempty"`
	// Line is the line of File it points at (0: none).
	Line int `json:"line,omitempty"`
	// Title is a short heading (an audit rule, a check name), "" for none.
	Title string `json:"title,omitempty"`
	// Message is the warning itself.
	Message string `json:"message"`
}

// Handler receives what the pipeline does, as it does it: the CLI's text
// and JSON output and the GitHub Actions runner's groups, annotations,
// outputs and job summary are implementations of it. Run calls it from one
// goroutine at a time.
type Handler interface {
	// StageStarted says a stage begins; StageEnded that it is over (err
	// nil when it succeeded).
	StageStarted(s Stage)
	StageEnded(s Stage, err error)
	// Progress is one line of progress of the current stage.
	Progress(msg string)
	// Warning is one warning (see Warning).
	Warning(w Warning)
	// Audited reports the workflow audit's findings.
	Audited(rep *audit.Report, workflow string, strict bool)
	// Signed reports what signing made.
	Signed(res *attest.Result)
	// Verified reports one verdict per artifact.
	Verified(results []verification.Result)
	// AttestedToGitHub reports the attestation stored with GitHub's API.
	AttestedToGitHub(a *GitHubAttestation)
	// Published reports every dist's upload, also after a failure.
	Published(rep *publish.Report)
	// ReadBack reports what the index serves for each uploaded file.
	ReadBack(rb *ReadBackReport)
	// Done is the end of the run: everything it did, and its error (nil
	// on success). The returned error fails the run too (an output the
	// runner could not take).
	Done(res *Result, err error) error
}

// Result is everything a run did, stage by stage; nil fields are stages
// that did not run (or stopped before they had a result).
type Result struct {
	// Mode is the run's mode.
	Mode Mode `json:"mode"`
	// PackagesDir is the directory of the dists.
	PackagesDir string `json:"packages_dir,omitempty"`
	// Audit is the workflow audit's report.
	Audit *audit.Report `json:"audit,omitempty"`
	// Signed is what signing made.
	Signed *attest.Result `json:"-"`
	// Verdicts are the verification's verdicts, one per artifact.
	Verdicts []verification.Result `json:"verdicts,omitempty"`
	// GitHub is the attestation stored with GitHub's attestations API.
	GitHub *GitHubAttestation `json:"github_attestation,omitempty"`
	// Published is the upload report.
	Published *publish.Report `json:"-"`
	// ReadBack is what the index serves for each uploaded file.
	ReadBack *ReadBackReport `json:"read_back,omitempty"`
	// GitLabGeneric is what the GitLab generic package holds of the
	// signature material, file by file (also after a failure).
	GitLabGeneric *gitlab.Report `json:"gitlab_generic_package,omitempty"`
	// Warnings are every warning of the run, in order.
	Warnings []Warning `json:"warnings"`
}

// Verified reports whether the run verified what it was asked to: every
// verdict passed (release, verify), signing's self-verification passed
// (sign), or publish verified before uploading and succeeded (publish).
func (r *Result) Verified(runErr error) bool {
	if len(r.Verdicts) > 0 {
		for _, v := range r.Verdicts {
			if !v.Verified {
				return false
			}
		}
		return true
	}
	switch r.Mode {
	case ModeSign:
		return r.Signed != nil
	case ModePublish:
		return runErr == nil
	}
	return false
}
