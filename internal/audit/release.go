package audit

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// triggers lists the event names of on:, which may be a scalar, a list or
// a mapping, with each event's configuration (nil when it has none).
func (w *workflow) triggers() map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	switch {
	case w.on == nil:
	case w.on.Kind == yaml.ScalarNode:
		out[w.on.Value] = nil
	case w.on.Kind == yaml.SequenceNode:
		for _, n := range w.on.Content {
			out[scalar(n)] = nil
		}
	case w.on.Kind == yaml.MappingNode:
		for _, p := range pairs(w.on) {
			out[p.key.Value] = p.value
		}
	}
	return out
}

// reusableOnly reports whether the workflow runs only when another
// workflow calls it (on: workflow_call alone): its token's permissions are
// then at most the caller's.
func (w *workflow) reusableOnly() bool {
	t := w.triggers()
	_, ok := t["workflow_call"]
	return ok && len(t) == 1
}

// everyJobHasPermissions reports whether every job sets its own
// permissions:, so that no job gets the repository's default token.
func (w *workflow) everyJobHasPermissions() bool {
	for _, j := range w.jobs {
		if j.permKey == nil {
			return false
		}
	}
	return len(w.jobs) > 0
}

// releaseTriggered reports whether the workflow runs on a release event or
// on pushed tags: every job then builds or publishes release artifacts.
func (w *workflow) releaseTriggered() bool {
	t := w.triggers()
	if _, ok := t["release"]; ok {
		return true
	}
	push, ok := t["push"]
	if !ok || push == nil {
		return false
	}
	_, tags := lookup(push, "tags")
	return tags != nil
}

// releaseJobs are the jobs that build or publish release artifacts: all of
// them in a release-triggered workflow, else the jobs that publish, sign or
// use a release action and, transitively, the jobs they need.
func (w *workflow) releaseJobs() map[string]bool {
	out := map[string]bool{}
	if w.releaseTriggered() {
		for _, j := range w.jobs {
			out[j.id] = true
		}
		return out
	}
	byID := map[string]*job{}
	for _, j := range w.jobs {
		byID[j.id] = j
	}
	var mark func(j *job)
	mark = func(j *job) {
		if out[j.id] {
			return
		}
		out[j.id] = true
		for _, n := range j.needs() {
			if d := byID[n]; d != nil {
				mark(d)
			}
		}
	}
	for _, j := range w.jobs {
		if j.role() >= roleSigns || j.usesReleaseAction() {
			mark(j)
		}
	}
	return out
}

// needs lists the job ids of j's needs:, a scalar or a list.
func (j *job) needs() []string {
	_, n := lookup(j.node, "needs")
	if n == nil {
		return nil
	}
	if n.Kind == yaml.SequenceNode {
		var out []string
		for _, c := range n.Content {
			out = append(out, scalar(c))
		}
		return out
	}
	return []string{scalar(n)}
}

// usesReleaseAction reports whether j uses one of releaseActions.
func (j *job) usesReleaseAction() bool {
	for _, s := range j.steps {
		if releaseActions[strings.ToLower(actionName(scalar(second(lookup(s, "uses")))))] {
			return true
		}
	}
	return false
}

// tagCondition matches if: conditions that tell tag pushes or release
// events apart, with which a step is typically kept out of releases.
var tagCondition = regexp.MustCompile(`refs/tags|github\.event_name|github\.ref_type|startsWith\(\s*github\.ref`)

// cachePoisoning reports cache-restoring steps in j, a job that builds or
// publishes release artifacts: a cache entry written by any workflow run of
// the repository (a pull request's included) can then reach the release.
func (j *job) cachePoisoning() []Finding {
	var out []Finding
	for _, s := range j.steps {
		key, uses := lookup(s, "uses")
		name := strings.ToLower(actionName(scalar(uses)))
		a, ok := cacheActions[name]
		if !ok {
			continue
		}
		if cond := scalar(second(lookup(s, "if"))); tagCondition.MatchString(cond) {
			continue
		}
		_, with := lookup(s, "with")
		line, what := key.Line, name
		if a.input != "" {
			k, v := lookup(with, a.input)
			val := strings.TrimSpace(scalar(v))
			switch {
			case v == nil:
				if !a.onByDefault {
					continue
				}
			case isExpression(val):
				continue // decided at run time, typically off for releases
			case a.offValue != "":
				if strings.EqualFold(val, a.offValue) {
					continue
				}
			case val == "" || strings.EqualFold(val, "false"):
				continue
			default:
				line, what = k.Line, fmt.Sprintf("%s with %s: %s", name, a.input, val)
			}
		}
		out = append(out, Finding{
			Rule: RuleCachePoisoning,
			Job:  j.id,
			Line: line,
			Message: fmt.Sprintf("job %s builds or publishes release artifacts but restores a GitHub Actions cache (%s); "+
				"any workflow run of the repository can write cache entries, so a poisoned entry reaches the release: "+
				"turn the cache off in this job (or for tag and release runs)", j.id, what),
		})
	}
	return out
}

// expr matches a ${{ }} expression.
var expr = regexp.MustCompile(`\$\{\{(.*?)\}\}`)

// contextRef matches a context reference inside an expression: a dotted
// path, with index or filter segments.
var contextRef = regexp.MustCompile(`[A-Za-z_][\w-]*(?:\.(?:[\w-]+|\*)|\[[^\]]*\])*`)

// templateInjection reports ${{ }} expansions of untrusted contexts inside
// j's run: scripts (and actions/github-script's script:), where their text
// becomes code.
func (w *workflow) templateInjection(j *job) []Finding {
	var out []Finding
	for _, s := range j.steps {
		_, body := lookup(s, "run")
		if body == nil {
			if strings.EqualFold(actionName(scalar(second(lookup(s, "uses")))), "actions/github-script") {
				_, with := lookup(s, "with")
				_, body = lookup(with, "script")
			}
		}
		if body == nil || body.Kind != yaml.ScalarNode {
			continue
		}
		seen := map[string]bool{}
		for _, m := range expr.FindAllStringSubmatchIndex(body.Value, -1) {
			inner := body.Value[m[2]:m[3]]
			for _, ctx := range contextRef.FindAllString(stripStrings(inner), -1) {
				who := w.chooser(ctx)
				if who == "" {
					continue
				}
				line := w.scalarLine(body, m[0], m[1])
				k := fmt.Sprint(line, ctx)
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, Finding{
					Rule: RuleTemplateInjection,
					Job:  j.id,
					Line: line,
					Message: fmt.Sprintf("${{ %s }} is expanded into the script before it runs, and its text is chosen by "+
						"%s; pass it through env: (e.g. `env: VALUE: ${{ %s }}`) and use \"$VALUE\" in the script", ctx, who, ctx),
				})
			}
		}
	}
	return out
}

// stringLiteral matches a single-quoted expression string.
var stringLiteral = regexp.MustCompile(`'(?:[^']|'')*'`)

// stripStrings blanks out string literals, which are not contexts.
func stripStrings(e string) string {
	return stringLiteral.ReplaceAllStringFunc(e, func(s string) string { return strings.Repeat(" ", len(s)) })
}

// Who chooses an untrusted context's text, for the finding's message.
const (
	byOutsider  = "whoever opens the pull request, issue or comment or writes the commit, with no write access needed"
	byTriggerer = "whoever pushes the tag or branch, publishes the release or dispatches the run"
)

// chooser says who chooses the text of context reference ctx (or of the
// object that holds such text, such as github.event), or "" when it is not
// untrusted text.
func (w *workflow) chooser(ctx string) string {
	parts := splitContext(ctx)
	if len(parts) == 0 {
		return ""
	}
	if parts[0] == "inputs" && len(parts) >= 2 {
		if w.stringInput(parts[1]) {
			return byTriggerer
		}
		return ""
	}
	if matchAny(parts, outsiderContexts) {
		return byOutsider
	}
	if matchAny(parts, triggererContexts) {
		return byTriggerer
	}
	return ""
}

// matchAny reports whether parts matches one of patterns, or is an object
// below github.event that holds one (github.event, toJSON of
// github.event.pull_request).
func matchAny(parts []string, patterns []string) bool {
	for _, pat := range patterns {
		pp := strings.Split(pat, ".")
		if matchPath(parts, pp) {
			return true
		}
		if len(parts) >= 2 && len(parts) < len(pp) && parts[0] == "github" && parts[1] == "event" && matchPath(parts, pp[:len(parts)]) {
			return true
		}
	}
	return false
}

// splitContext splits a.b['c'].d[*] into segments; an index other than a
// quoted name becomes "*".
func splitContext(ctx string) []string {
	var out []string
	for _, seg := range regexp.MustCompile(`\[[^\]]*\]|[^.\[]+`).FindAllString(ctx, -1) {
		if strings.HasPrefix(seg, "[") {
			in := strings.Trim(seg, "[]")
			if len(in) >= 2 && in[0] == '\'' && in[len(in)-1] == '\'' {
				seg = in[1 : len(in)-1]
			} else {
				seg = "*"
			}
		}
		out = append(out, strings.ToLower(seg))
	}
	return out
}

// matchPath matches a context's segments against a pattern's, where "*"
// matches any one segment.
func matchPath(parts, pat []string) bool {
	if len(parts) != len(pat) {
		return false
	}
	for i := range pat {
		if pat[i] != "*" && parts[i] != "*" && pat[i] != parts[i] {
			return false
		}
	}
	return true
}

// stringInput reports whether the workflow declares input name (under
// workflow_dispatch or workflow_call) as free text: type string or no type.
// An undeclared input is not reported.
func (w *workflow) stringInput(name string) bool {
	for _, ev := range []string{"workflow_dispatch", "workflow_call"} {
		cfg := w.triggers()[ev]
		if cfg == nil {
			continue
		}
		_, inputs := lookup(cfg, "inputs")
		for _, p := range pairs(inputs) {
			if !strings.EqualFold(p.key.Value, name) {
				continue
			}
			switch scalar(second(lookup(p.value, "type"))) {
			case "", "string":
				return true
			}
		}
	}
	return false
}

// scalarLine is the file line of the text at [off, end) of scalar n's
// value: computed for literal block scalars (|), else found by looking for
// that text (the k-th time it occurs in the value) in the source lines from
// the scalar's first line on; the scalar's first line when not found, as
// when an escape or folding changed it.
func (w *workflow) scalarLine(n *yaml.Node, off, end int) int {
	if n.Style&yaml.LiteralStyle != 0 {
		return n.Line + 1 + strings.Count(n.Value[:off], "\n")
	}
	text := n.Value[off:end]
	k := strings.Count(n.Value[:off], text)
	for i := n.Line - 1; i >= 0 && i < len(w.lines) && i < n.Line-1+maxScalarLines; i++ {
		c := strings.Count(w.lines[i], text)
		if k < c {
			return i + 1
		}
		k -= c
	}
	return n.Line
}

// maxScalarLines bounds the search for a finding's line in a scalar.
const maxScalarLines = 1000
