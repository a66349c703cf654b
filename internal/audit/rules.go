package audit

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	fullSHA      = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
	shortSHA     = regexp.MustCompile(`^[0-9a-fA-F]{7,39}$`)
	dockerDigest = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	// publishRun matches run: scripts that upload to a package index.
	publishRun = regexp.MustCompile(`\btwine\s+upload\b|\battest-publish[\w.-]*\s+(?:publish|release)\b|\b(?:uv|poetry|pdm|flit|hatch)\s+publish\b`)
	// signRun matches run: scripts that sign keylessly with an OIDC token.
	signRun = regexp.MustCompile(`\battest-publish[\w.-]*\s+sign\b|\bcosign\s+(?:sign|sign-blob|attest|attest-blob)\b|\bsigstore\s+sign\b`)
)

// signingActions need id-token: write to sign keylessly without
// publishing.
var signingActions = map[string]bool{
	"actions/attest":                     true,
	"actions/attest-build-provenance":    true,
	"actions/attest-sbom":                true,
	"sigstore/gh-action-sigstore-python": true,
}

// check runs every rule over w.
func (w *workflow) check() []Finding {
	out := []Finding{}
	out = append(out, w.riskyTriggers()...)
	out = append(out, w.workflowPermissions()...)
	for _, j := range w.jobs {
		out = append(out, j.check()...)
	}
	return out
}

// riskyTriggers reports pull_request_target and workflow_run in on:, which
// may be a scalar, a list or a mapping.
func (w *workflow) riskyTriggers() []Finding {
	var names []*yaml.Node
	switch {
	case w.on == nil:
	case w.on.Kind == yaml.ScalarNode:
		names = []*yaml.Node{w.on}
	case w.on.Kind == yaml.SequenceNode:
		for _, n := range w.on.Content {
			names = append(names, deref(n))
		}
	case w.on.Kind == yaml.MappingNode:
		for _, p := range pairs(w.on) {
			names = append(names, p.key)
		}
	}
	var out []Finding
	for _, n := range names {
		var msg string
		switch n.Value {
		case "pull_request_target":
			msg = "the pull_request_target trigger runs in the base repository's context, with its secrets and a token that can write, " +
				"for pull requests from forks; trigger releases with workflow_dispatch or push: tags, and never check out or build a pull request's code under it"
		case "workflow_run":
			msg = "the workflow_run trigger runs with the repository's secrets and a write token after another workflow, whose artifacts and outputs " +
				"a pull request can control; trigger releases with workflow_dispatch or push: tags, or treat everything from the triggering run as untrusted"
		default:
			continue
		}
		out = append(out, Finding{Rule: RuleRiskyTrigger, Line: n.Line, Message: msg})
	}
	return out
}

// workflowPermissions reports write permissions granted to every job.
func (w *workflow) workflowPermissions() []Finding {
	if w.permKey == nil {
		return []Finding{{
			Rule: RuleWorkflowWritePermissions,
			Line: w.root.Content[0].Line,
			Message: "no workflow-level permissions:, so every job gets the repository's default GITHUB_TOKEN permissions " +
				"(read-write in older repositories and organisations); add `permissions: {}` (or `contents: read`) at the top " +
				"and grant more in the jobs that need it",
		}}
	}
	p := w.permissions
	if p.Kind == yaml.ScalarNode {
		if p.Value == "write-all" {
			return []Finding{{
				Rule: RuleWorkflowWritePermissions,
				Line: w.permKey.Line,
				Message: "permissions: write-all gives every job every write permission, id-token: write included; " +
					"use `permissions: {}` (or `contents: read`) here and grant what each job needs in that job",
			}}
		}
		return nil
	}
	var out []Finding
	for _, e := range pairs(p) {
		if scalar(e.value) != "write" {
			continue
		}
		if e.key.Value == "id-token" {
			out = append(out, Finding{
				Rule: RuleIDTokenOutsidePublish,
				Line: e.key.Line,
				Message: "id-token: write at workflow level lets every job mint OIDC tokens (PyPI trusted publishing, Sigstore signing); " +
					"remove it here and grant it in the publishing job's permissions: only",
			})
			continue
		}
		out = append(out, Finding{
			Rule: RuleWorkflowWritePermissions,
			Line: e.key.Line,
			Message: fmt.Sprintf("%[1]s: write at workflow level applies to every job; keep the workflow at `contents: read` (or `{}`) "+
				"and grant %[1]s: write only in the job that needs it", e.key.Value),
		})
	}
	return out
}

// role says what a job does with an OIDC token.
type role int

const (
	roleOther   role = iota
	roleSigns        // signs keylessly: id-token: write is legitimate
	rolePublish      // uploads to a package index
)

// role classifies j by its steps.
func (j *job) role() role {
	r := roleOther
	for _, s := range j.steps {
		if ref := scalar(second(lookup(s, "uses"))); ref != "" {
			name := strings.ToLower(actionName(ref))
			switch {
			case name == "pypa/gh-action-pypi-publish":
				return rolePublish
			case isAttestPublish(ref):
				_, with := lookup(s, "with")
				switch scalar(second(lookup(with, "mode"))) {
				case "verify":
				case "sign":
					r = roleSigns
				default: // release, publish, an expression, or the default (release)
					return rolePublish
				}
			case signingActions[name]:
				r = roleSigns
			}
		}
		if run := scalar(second(lookup(s, "run"))); run != "" {
			if publishRun.MatchString(run) {
				return rolePublish
			}
			if signRun.MatchString(run) {
				r = roleSigns
			}
		}
	}
	return r
}

// check runs the job-level rules over j.
func (j *job) check() []Finding {
	var out []Finding
	if j.uses != nil {
		// A reusable-workflow call: its jobs are not visible from here, so
		// only the pin is checked.
		if f, ok := checkPin(j.id, j.usesKey, j.uses, "reusable workflow"); ok {
			out = append(out, f)
		}
		return out
	}
	r := j.role()
	if r == roleOther && j.permissions != nil {
		out = append(out, j.idToken()...)
	}
	if r == rolePublish && !hasEnvironment(j.environment) {
		out = append(out, Finding{
			Rule: RulePublishWithoutEnvironment,
			Job:  j.id,
			Line: j.key.Line,
			Message: fmt.Sprintf("job %s publishes but has no environment:; add `environment: pypi` (and name the same environment "+
				"in the PyPI trusted publisher) so that publishing needs the environment's protection rules, such as required reviewers", j.id),
		})
	}
	for _, s := range j.steps {
		key, uses := lookup(s, "uses")
		if uses == nil {
			continue
		}
		if f, ok := checkPin(j.id, key, uses, "action"); ok {
			out = append(out, f)
		}
		if strings.EqualFold(actionName(scalar(uses)), "actions/checkout") {
			out = append(out, persistCredentials(j.id, key, s)...)
		}
	}
	return out
}

// idToken reports id-token: write (or write-all) in a job that neither
// publishes nor signs.
func (j *job) idToken() []Finding {
	if j.permissions.Kind == yaml.ScalarNode {
		if j.permissions.Value == "write-all" {
			return []Finding{{
				Rule: RuleIDTokenOutsidePublish,
				Job:  j.id,
				Line: j.permKey.Line,
				Message: fmt.Sprintf("permissions: write-all gives job %s id-token: write (and every other write permission) "+
					"though it does not publish; list only the permissions it needs", j.id),
			}}
		}
		return nil
	}
	for _, e := range pairs(j.permissions) {
		if e.key.Value == "id-token" && scalar(e.value) == "write" {
			return []Finding{{
				Rule: RuleIDTokenOutsidePublish,
				Job:  j.id,
				Line: e.key.Line,
				Message: fmt.Sprintf("job %s has id-token: write but does not publish or sign; remove it here "+
					"and grant it only to the publishing job", j.id),
			}}
		}
	}
	return nil
}

// checkPin reports a uses: reference not pinned by full commit SHA (or, for
// docker://, by sha256 digest). Local actions (./…) are always fine.
func checkPin(jobID string, key, uses *yaml.Node, kind string) (Finding, bool) {
	ref := scalar(uses)
	if ref == "" || ref == "." || strings.HasPrefix(ref, "./") {
		return Finding{}, false
	}
	f := Finding{Rule: RuleUnpinnedAction, Job: jobID, Line: key.Line}
	if strings.HasPrefix(ref, "docker://") {
		if dockerDigest.MatchString(ref) {
			return Finding{}, false
		}
		f.Message = fmt.Sprintf("docker image %s is not pinned by digest and its tag can be moved; use docker://IMAGE@sha256:<digest>", strings.TrimPrefix(ref, "docker://"))
		return f, true
	}
	name, at, found := strings.Cut(ref, "@")
	switch {
	case !found:
		f.Message = fmt.Sprintf("%s %s has no @ref; pin it by full commit SHA: uses: %s@<40-hex commit SHA> # vX.Y.Z", kind, ref, name)
	case fullSHA.MatchString(at):
		return Finding{}, false
	case shortSHA.MatchString(at):
		f.Message = fmt.Sprintf("%s %s is pinned by a short commit SHA, which is ambiguous; use the full 40-hex commit SHA: uses: %s@<40-hex commit SHA> # vX.Y.Z", kind, ref, name)
	default:
		f.Message = fmt.Sprintf("%s %s is pinned by %q, a tag or branch that can be moved to other code; pin it by full commit SHA: uses: %s@<40-hex commit SHA> # %s", kind, ref, at, name, at)
	}
	return f, true
}

// persistCredentials reports an actions/checkout step (uses: at key) that
// leaves the token in .git/config.
func persistCredentials(jobID string, key, step *yaml.Node) []Finding {
	_, with := lookup(step, "with")
	pcKey, pc := lookup(with, "persist-credentials")
	if pc == nil {
		return []Finding{{
			Rule: RulePersistCredentials,
			Job:  jobID,
			Line: key.Line,
			Message: fmt.Sprintf("actions/checkout keeps the GITHUB_TOKEN in .git/config for every later step of job %s; "+
				"add `with: persist-credentials: false`", jobID),
		}}
	}
	if strings.EqualFold(scalar(pc), "false") {
		return nil
	}
	return []Finding{{
		Rule: RulePersistCredentials,
		Job:  jobID,
		Line: pcKey.Line,
		Message: fmt.Sprintf("persist-credentials: %s keeps the GITHUB_TOKEN in .git/config for every later step of job %s; "+
			"set it to false", scalar(pc), jobID),
	}}
}

// hasEnvironment reports whether environment: names an environment, as a
// scalar or as a mapping with name:.
func hasEnvironment(env *yaml.Node) bool {
	if env == nil {
		return false
	}
	if env.Kind == yaml.MappingNode {
		return strings.TrimSpace(scalar(second(lookup(env, "name")))) != ""
	}
	return strings.TrimSpace(scalar(env)) != ""
}

// actionName is a uses: reference without its @ref.
func actionName(ref string) string {
	name, _, _ := strings.Cut(ref, "@")
	return name
}

// isAttestPublish reports whether ref is this action: ./ (the repository's
// own root action) or OWNER/attest-publish@REF.
func isAttestPublish(ref string) bool {
	if ref == "./" || ref == "." {
		return true
	}
	name := strings.ToLower(actionName(ref))
	return strings.Count(name, "/") == 1 && strings.HasSuffix(name, "/attest-publish")
}

// second returns its second argument, to pick a value out of lookup.
func second(_, v *yaml.Node) *yaml.Node { return v }
