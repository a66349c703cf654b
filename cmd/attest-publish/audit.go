package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/attest-publish/attest-publish/internal/audit"
)

// auditResult is one workflow's entry in audit's JSON output.
type auditResult struct {
	Path     string          `json:"path"`
	Findings []audit.Finding `json:"findings"`
	// Error says why the file could not be audited.
	Error string `json:"error,omitempty"`
}

func runAudit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	strict := fs.Bool("strict", false, "exit 1 when there are findings (default: print them as warnings and exit 0)")
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: attest-publish audit [--strict] [--format text|json] WORKFLOW.yml...

Checks GitHub Actions workflow files for what weakens a release, one
finding per line with the rule id and what to change:

  unpinned-action              a remote action, reusable workflow or docker://
                               image not pinned by full commit SHA (or digest);
                               ./… and $/… (own repository) are fine
  workflow-write-permissions   write permissions (or write-all) at workflow
                               level, or no permissions: there while a job has
                               none either (reusable-only workflows exempt)
  id-token-outside-publish     id-token: write at workflow level, or in a job
                               that neither publishes, signs nor uses an action
                               known to exchange the OIDC token
  publish-without-environment  a publishing job without environment:
  risky-trigger                pull_request_target or workflow_run
  persist-credentials          actions/checkout without
                               persist-credentials: false (a job that pushes
                               with git is only asked to say true)
  cache-poisoning              a cache restored (actions/cache, setup-*
                               cache:) in a job that builds or publishes a
                               release
  template-injection           ${{ }} of text others choose (pull request,
                               issue, commit text, free-text inputs) in run:

A publishing job uses pypa/gh-action-pypi-publish or attest-publish
("uses: ./" or OWNER/attest-publish@…, except mode: verify or sign), or runs
twine upload, attest-publish publish|release, or uv/poetry/pdm/flit/hatch
publish. Findings are warnings (exit 0) unless --strict (exit 1). A file
that cannot be read, is not a workflow, or whose YAML merge keys (<<:)
loop or expand too far is an error (exit 1).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if fs.NArg() == 0 {
		return usageError{"name at least one workflow file, e.g. .github/workflows/release.yml"}
	}
	if *format != "text" && *format != "json" {
		return usageError{"--format must be text or json"}
	}
	var results []auditResult
	var failed []string
	findings := 0
	for _, path := range fs.Args() {
		r, err := audit.CheckFile(path)
		if err != nil {
			failed = append(failed, err.Error())
			results = append(results, auditResult{Path: path, Findings: []audit.Finding{}, Error: err.Error()})
			continue
		}
		findings += len(r.Findings)
		results = append(results, auditResult{Path: r.Path, Findings: r.Findings})
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return fmt.Errorf("writing results: %w", err)
		}
	} else {
		printAudit(stdout, results, findings, *strict)
	}
	if *strict && findings > 0 {
		failed = append(failed, plural(findings, "finding")+" (--strict)")
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// printAudit writes one line per finding, "path:line: level: rule (job J):
// message", then a summary line.
func printAudit(w io.Writer, results []auditResult, findings int, strict bool) {
	level := "warning"
	if strict {
		level = "error"
	}
	audited := 0
	for _, r := range results {
		if r.Error != "" {
			continue
		}
		audited++
		for _, f := range r.Findings {
			job := ""
			if f.Job != "" {
				job = " (job " + f.Job + ")"
			}
			fmt.Fprintf(w, "%s:%d: %s: %s%s: %s\n", r.Path, f.Line, level, f.Rule, job, f.Message)
		}
	}
	if audited == 0 {
		return
	}
	summary := fmt.Sprintf("%s in %s", plural(findings, "finding"), plural(audited, "workflow"))
	if findings > 0 && !strict {
		summary += " (warnings; --strict makes them fail)"
	}
	fmt.Fprintln(w, summary)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
