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
	// oidcRun matches run: scripts that request the OIDC token themselves.
	oidcRun = regexp.MustCompile(`\bACTIONS_ID_TOKEN_REQUEST_(?:URL|TOKEN)\b`)
	// gitPushRun matches run: scripts that push with git, directly or through
	// mkdocs' mike or ghp-import.
	gitPushRun = regexp.MustCompile(`\bgit\b[^\n;&|]*\spush\b|\bmike\s+deploy\b[^\n]*--push\b|\bghp-import\b[^\n]*\s(?:-p|--push)\b`)
)

// check runs every rule over w.
func (w *workflow) check() []Finding {
	out := []Finding{}
	out = append(out, w.riskyTriggers()...)
	out = append(out, w.workflowPermissions()...)
	release := w.releaseJobs()
	for _, j := range w.jobs {
		out = append(out, j.check()...)
		if release[j.id] {
			out = append(out, j.cachePoisoning()...)
		}
		out = append(out, w.templateInjection(j)...)
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
		if w.reusableOnly() || w.everyJobHasPermissions() {
			return nil
		}
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

// role says what a job does with an OIDC token; a larger role includes
// the smaller ones.
type role int

const (
	roleOther   role = iota
	roleOIDC         // exchanges the OIDC token (cloud credentials, Pages): id-token: write is legitimate
	roleSigns        // signs keylessly: id-token: write is legitimate
	rolePublish      // uploads to a package index
)

// role classifies j by its steps.
func (j *job) role() role {
	r := roleOther
	up := func(x role) {
		if x > r {
			r = x
		}
	}
	for _, s := range j.steps {
		_, with := lookup(s, "with")
		if ref := scalar(second(lookup(s, "uses"))); ref != "" {
			name := strings.ToLower(actionName(ref))
			switch {
			case isAttestPublish(ref):
				switch scalar(second(lookup(with, "mode"))) {
				case "verify":
				case "sign":
					up(roleSigns)
				default: // release, publish, an expression, or the default (release)
					up(rolePublish)
				}
			case name == "actions/github-script":
				if strings.Contains(scalar(second(lookup(with, "script"))), "getIDToken") {
					up(roleOIDC)
				}
			default:
				if a, ok := oidcActions[name]; ok && a.on(with) {
					up(a.role)
				}
			}
		}
		if run := scalar(second(lookup(s, "run"))); run != "" {
			switch {
			case publishRun.MatchString(run):
				up(rolePublish)
			case signRun.MatchString(run):
				up(roleSigns)
			case oidcRun.MatchString(run):
				up(roleOIDC)
			}
		}
	}
	return r
}

// on reports whether a step with inputs with uses the OIDC token.
func (a oidcAction) on(with *yaml.Node) bool {
	if a.input == "" {
		return true
	}
	v := second(lookup(with, a.input))
	if v == nil {
		return a.onByDefault
	}
	val := strings.TrimSpace(scalar(v))
	if isExpression(val) {
		return true
	}
	if a.values != nil {
		for _, ok := range a.values {
			if strings.EqualFold(val, ok) {
				return true
			}
		}
		return false
	}
	return val != "" && !strings.EqualFold(val, "false")
}

// pushes reports whether j pushes with git using the credential that
// actions/checkout persisted.
func (j *job) pushes() bool {
	for _, s := range j.steps {
		if gitPushActions[strings.ToLower(actionName(scalar(second(lookup(s, "uses")))))] {
			return true
		}
		if gitPushRun.MatchString(scalar(second(lookup(s, "run")))) {
			return true
		}
	}
	return false
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
			out = append(out, persistCredentials(j, key, s)...)
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
				Message: fmt.Sprintf("job %s has id-token: write but does not publish, sign or use an action known to exchange "+
					"the OIDC token; remove it here and grant it only to the publishing job", j.id),
			}}
		}
	}
	return nil
}

// checkPin reports a uses: reference not pinned by full commit SHA (or, for
// docker://, by sha256 digest). Actions and workflows of the workflow's own
// repository are always fine: workspace-relative (./…) and GitHub's
// self-repository syntax ($/…, resolved at the workflow's own commit).
func checkPin(jobID string, key, uses *yaml.Node, kind string) (Finding, bool) {
	ref := scalar(uses)
	if ref == "" || isLocal(ref) {
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

// credentialPlace says where actions/checkout leaves the token.
const credentialPlace = "(in .git/config with actions/checkout v5 and older; from v6 in a credentials file under $RUNNER_TEMP " +
	"that .git/config includes with includeIf, still readable by every later step)"

// persistCredentials reports an actions/checkout step (uses: at key) of
// job j that leaves the token on disk. A job that pushes with git needs the
// token: it is asked only to say so with persist-credentials: true.
func persistCredentials(j *job, key, step *yaml.Node) []Finding {
	_, with := lookup(step, "with")
	pcKey, pc := lookup(with, "persist-credentials")
	val := strings.TrimSpace(scalar(pc))
	switch {
	case pc != nil && strings.EqualFold(val, "false"):
		return nil
	case j.pushes() && pc != nil && strings.EqualFold(val, "true"):
		return nil
	case j.pushes():
		return []Finding{{
			Rule: RulePersistCredentials,
			Job:  j.id,
			Line: key.Line,
			Message: fmt.Sprintf("job %s pushes with git, so it needs the token actions/checkout persists %s; "+
				"say so with `with: persist-credentials: true`, and keep steps that run untrusted code or upload the workspace out of this job",
				j.id, credentialPlace),
		}}
	case pc == nil:
		return []Finding{{
			Rule: RulePersistCredentials,
			Job:  j.id,
			Line: key.Line,
			Message: fmt.Sprintf("actions/checkout keeps the GITHUB_TOKEN on disk for every later step of job %s %s; "+
				"add `with: persist-credentials: false`", j.id, credentialPlace),
		}}
	}
	return []Finding{{
		Rule: RulePersistCredentials,
		Job:  j.id,
		Line: pcKey.Line,
		Message: fmt.Sprintf("persist-credentials: %s keeps the GITHUB_TOKEN on disk for every later step of job %s %s, "+
			"and no step of the job pushes with git; set it to false", val, j.id, credentialPlace),
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

// isAttestPublish reports whether ref is this action: ./ or $/ (the
// repository's own root action) or OWNER/attest-publish@REF.
func isAttestPublish(ref string) bool {
	switch ref {
	case "./", ".", "$/", "$/.":
		return true
	}
	name := strings.ToLower(actionName(ref))
	return strings.Count(name, "/") == 1 && strings.HasSuffix(name, "/attest-publish")
}

// second returns its second argument, to pick a value out of lookup.
func second(_, v *yaml.Node) *yaml.Node { return v }

// isLocal reports whether a uses: reference names an action or workflow of
// the workflow's own repository: workspace-relative (./path) or GitHub's
// self-repository syntax ($/path).
func isLocal(ref string) bool {
	return ref == "." || ref == "$" || strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "$/")
}

// isExpression reports whether v contains a ${{ }} expression.
func isExpression(v string) bool { return strings.Contains(v, "${{") }
