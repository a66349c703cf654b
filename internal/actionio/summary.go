package actionio

import (
	"fmt"
	"strings"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// Summary is what a run did, for the job summary. Fields left empty are
// left out of the markdown.
type Summary struct {
	// Title names the release, e.g. "sampleproject 1.0.0".
	Title string
	// Mode is the action's mode (release, sign, publish, verify).
	Mode string
	// Failed says the run failed; Error says why.
	Failed bool
	// Error is the run's error.
	Error string
	// Signer and Issuer are the verified signing identity.
	Signer, Issuer string
	// Signatures counts the signatures made (on one certificate).
	Signatures int
	// Dists are the table's rows, in order.
	Dists []SummaryDist
	// Provenance is the release provenance bundle's path.
	Provenance string
	// AttestationID and AttestationURL name the attestation stored on GitHub.
	AttestationID, AttestationURL string
	// RepositoryURL is the index the dists were published to.
	RepositoryURL string
	// Commands are shell commands a consumer can paste to verify the
	// release, each with a one-line caption.
	Commands []Command
	// Notes are warnings and other remarks, one per item.
	Notes []string
}

// Command is a shell command with a caption.
type Command struct {
	// Caption says what the command checks.
	Caption string
	// Shell is the command line.
	Shell string
}

// Status is a cell's state.
type Status int

// The states of a table cell.
const (
	// None: not part of this run.
	None Status = iota
	// OK: done and checked.
	OK
	// Failed: tried and failed.
	Failed
)

// SummaryDist is one distribution's row.
type SummaryDist struct {
	// Name is the file name.
	Name string
	// Size is the file size in bytes.
	Size int64
	// SHA256 is the hex digest.
	SHA256 string
	// Signature is the Sigstore bundle's state; SignatureNote details it.
	Signature     Status
	SignatureNote string
	// Attestations are the kinds of PEP 740 attestations made ("publish",
	// "SLSA"); AttestationStatus their state.
	Attestations      []string
	AttestationStatus Status
	// LogIndex is the transparency-log index of the bundle's entry (-1:
	// none); LogURL links to the log's search page ("": plain index).
	LogIndex int64
	LogURL   string
	// Upload is the upload's state (None: not published by this run);
	// UploadNote says what happened ("uploaded", "skipped (already on the
	// index)", the reason it was not uploaded); URL is the file's URL on
	// the index.
	Upload     Status
	UploadNote string
	URL        string
	// Served is the read-back of the index's provenance (None: not read
	// back); ServedNote says what the index serves.
	Served     Status
	ServedNote string
}

// ShortHash is the length of the digest prefix shown in the table.
const ShortHash = 12

// Markdown renders the summary as GitHub-flavoured markdown.
func (s *Summary) Markdown() string {
	var b strings.Builder
	heading := "attest-publish " + s.Mode
	if s.Title != "" {
		heading += ": " + s.Title
	}
	mark := "✓"
	if s.Failed {
		mark = "✗"
	}
	fmt.Fprintf(&b, "## %s %s\n\n", mark, escapeText(heading))
	if s.Failed {
		msg := "The run failed."
		if s.Error != "" {
			msg = "The run failed: " + oneLine(s.Error)
		}
		fmt.Fprintf(&b, "> [!CAUTION]\n> %s\n\n", escapeText(msg))
	}
	var facts []string
	if s.Signer != "" {
		facts = append(facts, fmt.Sprintf("**Signer:** `%s`", code(s.Signer)))
	}
	if s.Issuer != "" {
		facts = append(facts, fmt.Sprintf("**Issuer:** `%s`", code(s.Issuer)))
	}
	if s.Signatures > 0 {
		facts = append(facts, fmt.Sprintf("**Signatures:** %d on one certificate", s.Signatures))
	}
	if s.RepositoryURL != "" {
		facts = append(facts, fmt.Sprintf("**Index:** %s", escapeText(s.RepositoryURL)))
	}
	if s.Provenance != "" {
		facts = append(facts, fmt.Sprintf("**Release provenance:** `%s`", code(s.Provenance)))
	}
	if s.AttestationURL != "" {
		facts = append(facts, fmt.Sprintf("**GitHub attestation:** [%s](%s)", escapeText(s.AttestationID), s.AttestationURL))
	}
	if len(facts) > 0 {
		b.WriteString(strings.Join(facts, "<br>\n"))
		b.WriteString("\n\n")
	}
	if len(s.Dists) > 0 {
		b.WriteString("| Distribution | Size | SHA-256 | Signature | Attestations | Log index | Upload |\n")
		b.WriteString("|---|--:|---|---|---|--:|---|\n")
		digests := 0
		for _, d := range s.Dists {
			size, digest := "—", "—"
			if d.SHA256 != "" {
				size, digest = dists.FormatSize(d.Size), "`"+short(d.SHA256)+"…`"
				digests++
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n",
				code(d.Name), size, digest,
				cell(d.Signature, d.SignatureNote, "signed"),
				cell(d.AttestationStatus, strings.Join(d.Attestations, ", "), "made"),
				logCell(d), uploadCell(d))
		}
		if digests > 0 {
			b.WriteString("\n<details><summary>Full SHA-256 digests (<code>sha256sum -c</code> format)</summary>\n\n```\n")
			for _, d := range s.Dists {
				if d.SHA256 != "" {
					fmt.Fprintf(&b, "%s  %s\n", d.SHA256, strings.ReplaceAll(Escape(d.Name), "`", "'"))
				}
			}
			b.WriteString("```\n\n</details>\n")
		}
		b.WriteString("\n")
	}
	if len(s.Commands) > 0 {
		b.WriteString("### Verify this release\n\n")
		for _, c := range s.Commands {
			if c.Caption != "" {
				fmt.Fprintf(&b, "%s\n\n", escapeText(c.Caption))
			}
			fmt.Fprintf(&b, "```sh\n%s\n```\n\n", c.Shell)
		}
	}
	if len(s.Notes) > 0 {
		b.WriteString("### Notes\n\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "- %s\n", escapeProse(oneLine(n)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func cell(st Status, note, okWord string) string {
	switch st {
	case OK:
		if note == "" {
			note = okWord
		}
		return "✓ " + escapeText(note)
	case Failed:
		if note == "" {
			note = "failed"
		}
		return "✗ " + escapeText(note)
	}
	if note != "" {
		return escapeText(note)
	}
	return "—"
}

func logCell(d SummaryDist) string {
	switch {
	case d.LogIndex < 0:
		return "—"
	case d.LogURL != "":
		return fmt.Sprintf("[%d](%s)", d.LogIndex, d.LogURL)
	}
	return fmt.Sprint(d.LogIndex)
}

func uploadCell(d SummaryDist) string {
	c := uploadState(d)
	if d.Served != None {
		c += "<br>" + cell(d.Served, oneLine(d.ServedNote), "served")
	}
	return c
}

func uploadState(d SummaryDist) string {
	note := d.UploadNote
	switch d.Upload {
	case OK:
		if note == "" {
			note = "uploaded"
		}
		if d.URL != "" {
			return fmt.Sprintf("✓ [%s](%s)", escapeText(note), d.URL)
		}
		return "✓ " + escapeText(note)
	case Failed:
		if note == "" {
			note = "not uploaded"
		}
		return "✗ " + escapeText(oneLine(note))
	}
	if note != "" {
		return escapeText(note)
	}
	return "—"
}

func short(hex string) string {
	if len(hex) > ShortHash {
		return hex[:ShortHash]
	}
	return hex
}

// escapeText escapes what markdown and HTML would interpret in running
// text or a table cell.
func escapeText(s string) string {
	return strings.NewReplacer(
		`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`,
	).Replace(s)
}

// escapeProse is escapeText that keeps `code spans` (when the backticks
// pair up) as they are.
func escapeProse(s string) string {
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 {
		return escapeText(s)
	}
	for i := range parts {
		if i%2 == 0 {
			parts[i] = escapeText(parts[i])
		} else {
			parts[i] = code(parts[i])
		}
	}
	return strings.Join(parts, "`")
}

// code makes s safe inside a `code span` in a table cell: one line
// (Escape), no backtick, pipes escaped.
func code(s string) string { return strings.NewReplacer("`", "'", "|", `\|`).Replace(Escape(s)) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
