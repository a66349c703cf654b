package release

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/audit"
	"github.com/attest-publish/attest-publish/internal/gitlab"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// JSONHandler writes a run as one JSON document on Out when it is done
// (verify mode: the list of verdicts, as `verify --format json` always
// has); progress and warnings go to Log as text, as they happen, and are in
// the document's warnings too.
type JSONHandler struct {
	// Out receives the document; Log progress and warnings.
	Out, Log io.Writer
}

// StageStarted implements Handler.
func (j *JSONHandler) StageStarted(Stage) {}

// StageEnded implements Handler.
func (j *JSONHandler) StageEnded(Stage, error) {}

// Progress writes msg on Log.
func (j *JSONHandler) Progress(msg string) { fmt.Fprintln(j.Log, msg) }

// Warning writes "warning: …" on Log.
func (j *JSONHandler) Warning(w Warning) { (&TextHandler{Out: j.Log}).Warning(w) }

// Audited implements Handler: the findings are in the document.
func (j *JSONHandler) Audited(*audit.Report, string, bool) {}

// Signed implements Handler: the outputs are in the document.
func (j *JSONHandler) Signed(*attest.Result) {}

// Verified implements Handler: the verdicts are in the document.
func (j *JSONHandler) Verified([]verification.Result) {}

// AttestedToGitHub implements Handler.
func (j *JSONHandler) AttestedToGitHub(*GitHubAttestation) {}

// Published implements Handler.
func (j *JSONHandler) Published(*publish.Report) {}

// ReadBack implements Handler.
func (j *JSONHandler) ReadBack(*ReadBackReport) {}

// Done writes the document.
func (j *JSONHandler) Done(res *Result, err error) error {
	enc := json.NewEncoder(j.Out)
	enc.SetIndent("", "  ")
	var doc any = NewReport(res, err)
	if res.Mode == ModeVerify {
		verdicts := res.Verdicts
		if verdicts == nil {
			verdicts = []verification.Result{}
		}
		doc = verdicts
	}
	if e := enc.Encode(doc); e != nil {
		return fmt.Errorf("writing the JSON report: %w", e)
	}
	return nil
}

// Report is a run's result as the JSON report and the action's outputs
// describe it: one entry per dist, with what each stage did to it.
type Report struct {
	// Mode is the run's mode.
	Mode Mode `json:"mode"`
	// OK says the run succeeded; Error says why not.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Signer is the identity that signed (or that publish verified).
	Signer *verification.Identity `json:"signer,omitempty"`
	// Dists are the distributions, sorted by filename.
	Dists []ReportDist `json:"dists"`
	// Provenance is the release provenance bundle's path.
	Provenance string `json:"provenance_bundle,omitempty"`
	// GitHub is the attestation stored with GitHub's API.
	GitHub *GitHubAttestation `json:"github_attestation,omitempty"`
	// RepositoryURL is the index published to.
	RepositoryURL string `json:"repository_url,omitempty"`
	// ReadBackSkipped says why the index's provenance was not read back.
	ReadBackSkipped string `json:"read_back_skipped,omitempty"`
	// GitLabGeneric is what the GitLab generic package holds of the
	// signature material, file by file.
	GitLabGeneric *gitlab.Report `json:"gitlab_generic_package,omitempty"`
	// Audit is the workflow audit.
	Audit *audit.Report `json:"audit,omitempty"`
	// Verdicts are the verification's verdicts.
	Verdicts []verification.Result `json:"verdicts"`
	// Warnings are every warning of the run.
	Warnings []Warning `json:"warnings"`
}

// ReportDist is one dist of a Report.
type ReportDist struct {
	// Filename, Size and SHA256 describe the file (the digest signed,
	// verified or uploaded).
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	// Bundle, PublishAttestation and SLSAAttestation are the files signing
	// made.
	Bundle             string `json:"bundle,omitempty"`
	PublishAttestation string `json:"publish_attestation,omitempty"`
	SLSAAttestation    string `json:"slsa_attestation,omitempty"`
	// Signature and Certificate are the detached pair (<dist>.sig and
	// <dist>.crt) signing made.
	Signature   string `json:"signature,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	// LogIndex is the transparency-log index of the bundle's entry.
	LogIndex *int64 `json:"log_index,omitempty"`
	// Upload is the upload's state, URL and reason.
	Upload *ReportUpload `json:"upload,omitempty"`
	// ReadBack is what the index serves for it.
	ReadBack *ReadBackFile `json:"read_back,omitempty"`
}

// ReportUpload is one dist's upload.
type ReportUpload struct {
	// State is uploaded, skipped (already on the index), … (publish.State).
	State publish.State `json:"state"`
	// URL is the file's URL on the index.
	URL string `json:"url,omitempty"`
	// Reason says why it is not live.
	Reason string `json:"reason,omitempty"`
	// Attestations counts the attestations sent with it.
	Attestations int `json:"attestations"`
}

// NewReport builds the report of a run.
func NewReport(res *Result, runErr error) *Report {
	r := &Report{Mode: res.Mode, OK: runErr == nil, Audit: res.Audit, GitHub: res.GitHub, GitLabGeneric: res.GitLabGeneric, Verdicts: res.Verdicts, Warnings: res.Warnings, Dists: []ReportDist{}}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	if r.Verdicts == nil {
		r.Verdicts = []verification.Result{}
	}
	index := map[string]int{}
	row := func(name string) *ReportDist {
		if i, ok := index[name]; ok {
			return &r.Dists[i]
		}
		index[name] = len(r.Dists)
		r.Dists = append(r.Dists, ReportDist{Filename: name})
		return &r.Dists[len(r.Dists)-1]
	}
	if s := res.Signed; s != nil {
		id := s.Identity
		r.Signer, r.Provenance = &id, s.Provenance
		for _, d := range s.Dists {
			row := row(d.Dist.Filename)
			row.Size, row.SHA256 = d.Dist.Size, d.Dist.SHA256Hex()
			row.Bundle, row.PublishAttestation, row.SLSAAttestation = d.Bundle, d.PublishAttestation, d.SLSAAttestation
			row.Signature, row.Certificate = d.Signature, d.Certificate
			if d.LogIndex >= 0 {
				li := d.LogIndex
				row.LogIndex = &li
			}
		}
	}
	if p := res.Published; p != nil {
		r.RepositoryURL = p.RepositoryURL
		if r.Signer == nil && p.Signer != nil {
			id := *p.Signer
			r.Signer = &id
		}
		for _, e := range p.Entries {
			row := row(e.Dist.Filename)
			if row.SHA256 == "" {
				row.Size, row.SHA256 = e.Dist.Size, e.Dist.SHA256Hex()
			}
			state := e.State
			if state == "" {
				state = publish.NotUploaded
			}
			row.Upload = &ReportUpload{State: state, URL: e.URL, Reason: e.Reason, Attestations: len(e.Attestations)}
		}
	}
	if rb := res.ReadBack; rb != nil {
		r.ReadBackSkipped = rb.Skipped
		for _, f := range rb.Files {
			f := f
			row(f.Filename).ReadBack = &f
		}
	}
	return r
}
