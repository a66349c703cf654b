// Package audit checks GitHub Actions workflow files for the mistakes that
// weaken a release: actions not pinned by full commit SHA, write permissions
// or OIDC tokens granted more widely than the publishing job needs, a
// publishing job without a deployment environment, risky triggers, and
// checkout credentials left on disk.
//
// Findings are advice, not proof: the audit reads one workflow file, never
// the actions or reusable workflows it calls.
package audit

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rule ids, one per kind of finding.
const (
	// RuleUnpinnedAction: a remote action, reusable workflow or docker
	// image referenced by something other than a full commit SHA (or, for
	// docker://, a sha256 digest).
	RuleUnpinnedAction = "unpinned-action"
	// RuleWorkflowWritePermissions: write permissions granted at workflow
	// level (so to every job), permissions: write-all, or no permissions:
	// block at all while some job has none either (that job gets the
	// repository's default token); reusable-only workflows are exempt.
	RuleWorkflowWritePermissions = "workflow-write-permissions"
	// RuleIDTokenOutsidePublish: id-token: write at workflow level, or in a
	// job that neither publishes, signs nor uses an action known to
	// exchange the OIDC token (oidcActions).
	RuleIDTokenOutsidePublish = "id-token-outside-publish"
	// RulePublishWithoutEnvironment: a publishing job with no environment:.
	RulePublishWithoutEnvironment = "publish-without-environment"
	// RuleRiskyTrigger: pull_request_target or workflow_run, which run with
	// the base repository's secrets and token on input an outsider controls.
	RuleRiskyTrigger = "risky-trigger"
	// RulePersistCredentials: actions/checkout without
	// persist-credentials: false.
	RulePersistCredentials = "persist-credentials"
	// RuleCachePoisoning: a step that restores a GitHub Actions cache
	// (actions/cache, a setup-* cache: input) in a job that builds or
	// publishes release artifacts.
	RuleCachePoisoning = "cache-poisoning"
	// RuleTemplateInjection: a ${{ }} expansion of text an outsider (or
	// whoever triggers the run) chooses, inside a run: script.
	RuleTemplateInjection = "template-injection"
)

// Report is the result of auditing one workflow file.
type Report struct {
	// Path names the workflow file as given to CheckFile or Check.
	Path string `json:"path"`
	// Findings are ordered by line, rule id and job; empty (never nil) when the
	// workflow has none.
	Findings []Finding `json:"findings"`
}

// Finding is one problem found in a workflow.
type Finding struct {
	// Rule is one of the Rule* ids.
	Rule string `json:"rule"`
	// Job is the id of the job the finding is in; empty for workflow-level
	// findings.
	Job string `json:"job,omitempty"`
	// Message says what is wrong and what to change.
	Message string `json:"message"`
	// Line is the 1-based line of the workflow file the finding points at.
	Line int `json:"line"`
}

// String formats f as "line N: rule (job J): message".
func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d: %s", f.Line, f.Rule)
	if f.Job != "" {
		fmt.Fprintf(&b, " (job %s)", f.Job)
	}
	b.WriteString(": ")
	b.WriteString(f.Message)
	return b.String()
}

// CheckFile reads and audits the workflow file at path.
func CheckFile(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading workflow: %w", err)
	}
	return Check(path, data)
}

// Check audits the workflow data; name is used as the report's Path and in
// errors. It fails when data is not YAML or not shaped like a GitHub
// workflow (a mapping with a jobs: mapping).
func Check(name string, data []byte) (*Report, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: not a GitHub workflow: the file is empty", name)
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a GitHub workflow: line %d: the top level must be a mapping (on:, permissions:, jobs:)", name, root.Line)
	}
	if err := expandMerges(root); err != nil {
		return nil, fmt.Errorf("%s: refusing the workflow: %w", name, err)
	}
	w, err := parseWorkflow(root)
	if err != nil {
		return nil, fmt.Errorf("%s: not a GitHub workflow: %w", name, err)
	}
	w.lines = strings.Split(string(data), "\n")
	r := &Report{Path: name, Findings: w.check()}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Job < b.Job
	})
	return r, nil
}

// Annotation formats f as a GitHub Actions workflow command that annotates
// line f.Line of the file at path: ::warning …:: by default, ::error …::
// when strict. path should be relative to the repository root for GitHub
// to attach the annotation to the file.
func Annotation(path string, f Finding, strict bool) string {
	level := "warning"
	if strict {
		level = "error"
	}
	title := "attest-publish audit: " + f.Rule
	if f.Job != "" {
		title += " (job " + f.Job + ")"
	}
	props := []string{
		"file=" + escapeProperty(path),
		"line=" + strconv.Itoa(f.Line),
		"title=" + escapeProperty(title),
	}
	return "::" + level + " " + strings.Join(props, ",") + "::" + escapeData(f.Message)
}

// Annotations formats every finding of r with Annotation.
func (r *Report) Annotations(strict bool) []string {
	out := make([]string, 0, len(r.Findings))
	for _, f := range r.Findings {
		out = append(out, Annotation(r.Path, f, strict))
	}
	return out
}

// escapeData escapes a workflow command's message as @actions/core does.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value as
// @actions/core does.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// errNoJobs is returned for a mapping without a jobs: mapping.
var errNoJobs = errors.New("no jobs: mapping")
