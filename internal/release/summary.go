package release

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/signing"
)

// publicGoodRekorHost is the host of public-good Sigstore's Rekor v1, whose
// entries search.sigstore.dev shows.
const publicGoodRekorHost = "rekor.sigstore.dev"

// SummaryOptions are what the job summary needs besides the result.
type SummaryOptions struct {
	// Notes are the run's warnings and remarks.
	Notes []string
	// TrustedRoot is the trusted-root input ("": the instance's own).
	TrustedRoot string
	// Repository is GITHUB_REPOSITORY.
	Repository string
}

// Summary builds the job summary of a run. Every digest in it comes from
// the results (what was signed, verified — the download's, for an index —
// or uploaded), never from reading a local file again.
func Summary(res *Result, runErr error, o SummaryOptions) *actionio.Summary {
	s := &actionio.Summary{Mode: string(res.Mode), Failed: runErr != nil, Notes: o.Notes}
	if runErr != nil {
		s.Error = runErr.Error()
	}
	rows := map[string]*actionio.SummaryDist{}
	var order []string
	rowOf := func(name string) *actionio.SummaryDist {
		if d, ok := rows[name]; ok {
			return d
		}
		d := &actionio.SummaryDist{Name: name, LogIndex: -1}
		rows[name] = d
		order = append(order, name)
		return d
	}
	if signed := res.Signed; signed != nil {
		first := signed.Dists[0].Dist
		s.Title = first.Parsed.CanonicalName() + " " + first.Parsed.Version
		s.Signer, s.Issuer, s.Signatures = signed.Identity.SAN, signed.Identity.Issuer, signed.Signatures
		s.Provenance = signed.Provenance
		search := logSearch(signed.Services)
		for _, d := range signed.Dists {
			row := rowOf(d.Dist.Filename)
			row.Size, row.SHA256 = d.Dist.Size, d.Dist.SHA256Hex()
			row.Signature, row.SignatureNote = actionio.OK, "signed"
			if d.PublishAttestation != "" {
				row.Attestations = append(row.Attestations, "publish")
			}
			if d.SLSAAttestation != "" {
				row.Attestations = append(row.Attestations, "SLSA")
			}
			if len(row.Attestations) > 0 {
				row.AttestationStatus = actionio.OK
			}
			row.LogIndex = d.LogIndex
			if search != "" && d.LogIndex >= 0 {
				row.LogURL = fmt.Sprintf(search, d.LogIndex)
			}
		}
	}
	for _, v := range res.Verdicts {
		row := rowOf(filepath.Base(v.Artifact))
		if row.Signature == actionio.None && v.LogIndex != nil {
			row.LogIndex = *v.LogIndex
		}
		// The digest of the bytes the verdict is about (the local file as
		// verify hashed it, or the download), never a re-hash of a path:
		// for an index, v.Artifact is only the index's filename.
		if row.SHA256 == "" && v.SHA256 != "" && v.Size != nil {
			row.Size, row.SHA256 = *v.Size, v.SHA256
		}
		if v.Verified {
			note := "verified"
			if row.Signature == actionio.OK {
				note = "signed, verified"
			}
			row.Signature, row.SignatureNote = actionio.OK, note
			if row.AttestationStatus == actionio.OK {
				row.Attestations = append(row.Attestations[:len(row.Attestations):len(row.Attestations)], "verified")
			}
			if s.Signer == "" {
				s.Signer, s.Issuer = v.Signer, v.Issuer
			}
		} else {
			row.Signature, row.SignatureNote = actionio.Failed, v.FailedCheck+" check failed"
		}
	}
	if rep := res.Published; rep != nil {
		s.RepositoryURL = rep.RepositoryURL
		if s.Signer == "" && rep.Signer != nil {
			s.Signer, s.Issuer = rep.Signer.SAN, rep.Signer.Issuer
		}
		for _, e := range rep.Entries {
			row := rowOf(e.Dist.Filename)
			if row.SHA256 == "" {
				// The digest publish verified and streamed.
				row.Size, row.SHA256 = e.Dist.Size, e.Dist.SHA256Hex()
			}
			if s.Title == "" {
				s.Title = e.Dist.Parsed.CanonicalName() + " " + e.Dist.Parsed.Version
			}
			if e.State.Live() {
				row.Upload, row.UploadNote, row.URL = actionio.OK, string(e.State), e.URL
			} else {
				row.Upload, row.UploadNote = actionio.Failed, e.Reason
			}
		}
	}
	if rb := res.ReadBack; rb != nil {
		for _, f := range rb.Files {
			row := rowOf(f.Filename)
			if f.Served {
				row.Served, row.ServedNote = actionio.OK, ServedNote
			} else {
				row.Served, row.ServedNote = actionio.Failed, "the index does not serve the attestation uploaded: "+f.Error
			}
		}
	}
	for _, name := range order {
		s.Dists = append(s.Dists, *rows[name])
	}
	if res.GitHub != nil {
		s.AttestationID, s.AttestationURL = fmt.Sprint(res.GitHub.ID), res.GitHub.URL
	}
	s.Commands = consumerCommands(res, s, o)
	return s
}

// logSearch returns a fmt pattern for the log's search page, or "" when the
// log has none we know of (a private or local log).
func logSearch(sv *signing.Services) string {
	if sv == nil {
		return ""
	}
	for _, rk := range sv.Rekors {
		if rk.Version == 1 && strings.Contains(rk.URL, "://"+publicGoodRekorHost) {
			return "https://search.sigstore.dev/?logIndex=%d"
		}
	}
	return ""
}

// consumerCommands are the commands a consumer can paste to check the
// release: attest-publish verify on a directory of the dists with their
// bundles and attestations, and gh attestation verify for the provenance.
func consumerCommands(res *Result, s *actionio.Summary, o SummaryOptions) []actionio.Command {
	signed := res.Signed
	if signed == nil || s.Signer == "" || res.Mode == ModeVerify {
		return nil
	}
	var cmds []actionio.Command
	root := ""
	if o.TrustedRoot != "" {
		root = " --trusted-root " + shellQuote(o.TrustedRoot)
	}
	cmds = append(cmds, actionio.Command{
		Caption: "Every dist with its .sigstore.json, .publish.attestation and .slsa.attestation next to it, in " + res.PackagesDir + "/:",
		Shell: fmt.Sprintf("attest-publish verify%s \\\n  --certificate-identity %s \\\n  --certificate-oidc-issuer %s \\\n  %s",
			root, shellQuote(s.Signer), shellQuote(s.Issuer), shellQuote(res.PackagesDir)),
	})
	if o.Repository == "" || len(signed.Dists) == 0 || signed.Provenance == "" {
		return cmds
	}
	d := signed.Dists[0]
	gh := fmt.Sprintf("gh attestation verify %s --repo %s", shellQuote(filepath.Join(res.PackagesDir, d.Dist.Filename)), shellQuote(o.Repository))
	caption := "The release provenance with the GitHub CLI (stored on GitHub):"
	if res.GitHub == nil {
		gh += " \\\n  --bundle " + shellQuote(signed.Provenance)
		caption = "The release provenance with the GitHub CLI:"
	}
	if o.TrustedRoot != "" {
		gh += " \\\n  --custom-trusted-root " + shellQuote(o.TrustedRoot)
	}
	return append(cmds, actionio.Command{Caption: caption, Shell: gh})
}
