package pypi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// gitlabCom is PyPI's GitLab issuer (warehouse's GITLAB_OIDC_ISSUER_URL):
// the GitLab instance a publisher names unless its organization has
// onboarded a self-managed one.
const gitlabCom = "https://gitlab.com"

// isGitLab reports whether claims come from a GitLab CI id_token. A token
// without ci_config_ref_uri (a child pipeline's) still has project_path.
func isGitLab(c idtoken.Claims) bool {
	if (&idtoken.Token{Claims: c}).Provider() == idtoken.GitLabCI {
		return true
	}
	return c.String("job_workflow_ref") == "" && c.String("project_path") != ""
}

// ciConfigRef is a GitLab ci_config_ref_uri claim taken apart:
// <host>/<namespace>/<project>//<file>@<ref>.
type ciConfigRef struct {
	host, namespace, project, file, ref string
}

// projectPath is namespace/project.
func (r ciConfigRef) projectPath() string { return r.namespace + "/" + r.project }

// parseCIConfigRef reads a ci_config_ref_uri the way PyPI does: the
// top-level pipeline file follows a "//" and runs, as long as it can, up
// to an "@" that comes right after a file name ending in .yml or .yaml;
// what precedes the "//" is host/namespace/project, what follows the "@"
// the ref. ok is false when PyPI could not read a pipeline file from it.
func parseCIConfigRef(s string) (r ciConfigRef, ok bool) {
	for off := 0; ; {
		i := strings.Index(s[off:], "//")
		if i < 0 {
			return ciConfigRef{}, false
		}
		start := off + i + 2
		rest := s[start:]
		for j := strings.LastIndexByte(rest, '@'); j >= 0; j = strings.LastIndexByte(rest[:j], '@') {
			file := rest[:j]
			if !isPipelineFile(file) || lineBreakBeforeName(file) {
				continue
			}
			r = ciConfigRef{file: file, ref: rest[j+1:]}
			head := s[:start-2]
			r.host, head, _ = strings.Cut(head, "/")
			if k := strings.LastIndexByte(head, '/'); k >= 0 {
				r.namespace, r.project = head[:k], head[k+1:]
			} else {
				r.project = head
			}
			return r, true
		}
		off = start - 1 // "///": the next "//" may overlap this one
	}
}

// isPipelineFile reports whether a path names a YAML file (a non-empty
// name, not a directory, ending in .yml or .yaml).
func isPipelineFile(path string) bool {
	for _, ext := range []string{".yml", ".yaml"} {
		if base, ok := strings.CutSuffix(path, ext); ok {
			return base != "" && !strings.HasSuffix(base, "/")
		}
	}
	return false
}

// lineBreakBeforeName reports whether a pipeline file path has a line
// feed before the last character of its name, where PyPI's pattern (".*"
// then one character that is not "/") cannot match one.
func lineBreakBeforeName(file string) bool {
	base, ok := strings.CutSuffix(file, ".yml")
	if !ok {
		base = strings.TrimSuffix(file, ".yaml")
	}
	return len(base) > 1 && strings.Contains(base[:len(base)-1], "\n")
}

// splitProjectPath splits namespace/project at the last "/" (the
// namespace may hold subgroups).
func splitProjectPath(p string) (namespace, project string) {
	if k := strings.LastIndexByte(p, '/'); k >= 0 {
		return p[:k], p[k+1:]
	}
	return "", p
}

// gitlabFormNames returns the Namespace and Project name the publisher
// form must carry: the spelling of ci_config_ref_uri, which PyPI compares
// exactly, else that of project_path.
func gitlabFormNames(c idtoken.Claims) (namespace, project string) {
	if r, ok := parseCIConfigRef(c.String("ci_config_ref_uri")); ok && r.namespace != "" && r.project != "" {
		return r.namespace, r.project
	}
	return splitProjectPath(c.String("project_path"))
}

// ciConfigMissing explains an absent ci_config_ref_uri claim.
const ciConfigMissing = "GitLab leaves ci_config_ref_uri empty when the pipeline's top-level configuration is not this project's own CI file (child and multi-project pipelines, Auto DevOps, a CI file from another project or a URL, policy pipelines): publish from a job of a pipeline that this project's own CI file defines"

// gitlabRows are the claims table's rows for a GitLab CI token.
func gitlabRows(c idtoken.Claims, get func(string) string) []claimRow {
	namespace, project := gitlabFormNames(c)
	path := c.String("project_path")
	cfg, cfgOK := parseCIConfigRef(c.String("ci_config_ref_uri"))

	projectForm := fmt.Sprintf("Namespace %s + Project name %s, spelled exactly so: PyPI finds the publisher without regard to case, then compares ci_config_ref_uri exactly", quote(namespace), quote(project))
	switch {
	case path == "":
		projectForm = "the project's Namespace and Project name; this token has no project_path, which PyPI requires"
	case cfgOK && !strings.EqualFold(cfg.projectPath(), path):
		projectForm += fmt.Sprintf("; but ci_config_ref_uri names another project (%s), so no publisher can match this token: the pipeline file must be this project's", quote(cfg.projectPath()))
	case cfgOK && cfg.projectPath() != path:
		projectForm += fmt.Sprintf(" (project_path is spelled %s, ci_config_ref_uri %s: use the latter)", quote(path), quote(cfg.projectPath()))
	}

	var cfgForm string
	switch {
	case c.String("ci_config_ref_uri") == "":
		cfgForm = "must be present: " + ciConfigMissing
	case !cfgOK:
		cfgForm = `PyPI cannot read a pipeline file from it: it wants "<host>/<namespace>/<project>//<file>.yml@<ref>"`
	default:
		cfgForm = fmt.Sprintf("Top-level pipeline file path %s (exact, case included)", quote(cfg.file))
	}

	env := c.String("environment")
	envForm := "Environment name: empty (this job has no environment, so a publisher restricted to one refuses it)"
	if env != "" {
		envForm = fmt.Sprintf("Environment name %s (exact, case included), or empty to allow any", quote(env))
	}

	iss := c.String("iss")
	var issForm string
	switch iss {
	case gitlabCom:
		issForm = fmt.Sprintf("GitLab instance %s (the default)", quote(iss))
	case "":
		issForm = "GitLab instance: the pipeline's (this token has no iss)"
	default:
		issForm = fmt.Sprintf("GitLab instance %s (a self-managed instance: PyPI knows only those it has onboarded for the project's organization, and attestations from them do not verify on PyPI)", quote(iss))
	}

	refForm := "not on the form; both must be present, and ci_config_ref_uri must end in @ one of them"
	refPath, sha := c.String("ref_path"), c.String("sha")
	if cfgOK && (refPath != "" || sha != "") && cfg.ref != refPath && cfg.ref != sha {
		refForm += fmt.Sprintf(" (this token's ends in @%s)", quote(cfg.ref))
	}

	return []claimRow{
		{"project_path", get("project_path"), projectForm},
		{"ci_config_ref_uri", get("ci_config_ref_uri"), cfgForm},
		{"environment", get("environment"), envForm},
		{"iss", get("iss"), issForm},
		{"ref_path / sha", get("ref_path") + " / " + get("sha"), refForm},
		{"sub", get("sub"), fmt.Sprintf(`not on the form; must begin "project_path:%s" (any case; what follows is not compared)`, printable(path))},
		{"namespace_id / project_id", get("namespace_id") + " / " + get("project_id"), "not on the form, and not checked by PyPI"},
	}
}

// gitlabHints explains one of the index's reasons for refusing a GitLab
// token, from warehouse's wording, or returns nil.
func gitlabHints(d MintErrorDetail, c idtoken.Claims) []string {
	desc := d.Description
	switch {
	case d.Code != "invalid-publisher":
		return nil
	case strings.Contains(desc, "The ci_config_ref_uri claim does not match"):
		return ciConfigMismatchHints(desc, c)
	case strings.Contains(desc, "Publisher with matching claims was not found"):
		namespace, project := gitlabFormNames(c)
		cfg, ok := parseCIConfigRef(c.String("ci_config_ref_uri"))
		if !ok {
			return nil
		}
		env := "no Environment name"
		if e := c.String("environment"); e != "" {
			env = fmt.Sprintf("Environment name %s or none", quote(e))
		}
		return []string{fmt.Sprintf("PyPI looked for a GitLab publisher with Namespace %s and Project name %s (any case), Top-level pipeline file path %s (exactly: a path that differs only in case is another publisher), GitLab instance %s and %s",
			quote(namespace), quote(project), quote(cfg.file), quote(gitlabInstance(c)), env)}
	case strings.Contains(desc, "Could not extract workflow filename"):
		return []string{fmt.Sprintf(`PyPI reads the top-level pipeline file path from ci_config_ref_uri ("<host>/<namespace>/<project>//<file>.yml@<ref>"); this token's is %s`, quote(c.String("ci_config_ref_uri")))}
	case strings.Contains(desc, "Missing claim 'ci_config_ref_uri'"):
		return []string{ciConfigMissing}
	case strings.Contains(desc, "Check failed for required claim 'sub'"):
		return []string{fmt.Sprintf(`sub must begin "project_path:%s"; this token's is %s (a customized sub must keep project_path first)`, printable(c.String("project_path")), quote(c.String("sub")))}
	case strings.Contains(desc, "Check failed for optional claim 'environment'"):
		return []string{"the publisher's Environment name must equal this job's environment exactly, case included"}
	}
	return nil
}

// gitlabInstance is the GitLab instance a publisher must name for the
// token: its issuer.
func gitlabInstance(c idtoken.Claims) string {
	if iss := c.String("iss"); iss != "" {
		return iss
	}
	return gitlabCom
}

// ciConfigMismatchHints compares what warehouse expected of
// ci_config_ref_uri with what the token says ("The ci_config_ref_uri claim
// does not match, expecting one of ['<a>', '<b>'], got '<c>'") and says
// which parts differ, and whether only their case does.
func ciConfigMismatchHints(desc string, c idtoken.Claims) []string {
	expected, got, ok := parseExpectation(desc)
	if !ok || len(expected) == 0 {
		return nil
	}
	want, okW := parseCIConfigRef(expected[0])
	have, okH := parseCIConfigRef(got)
	if !okW || !okH {
		return nil
	}
	type part struct{ label, publisher, token string }
	parts := []part{
		{"GitLab host", want.host, have.host},
		{"Namespace", want.namespace, have.namespace},
		{"Project name", want.project, have.project},
		{"Top-level pipeline file path", want.file, have.file},
	}
	var differ []string
	caseOnly := true
	for _, p := range parts {
		if p.publisher == p.token {
			continue
		}
		caseOnly = caseOnly && strings.EqualFold(p.publisher, p.token)
		differ = append(differ, fmt.Sprintf("%s %s on the publisher, %s in the token", p.label, quote(p.publisher), quote(p.token)))
	}
	refOK := false
	var refs []string
	for _, e := range expected {
		if r, ok := parseCIConfigRef(e); ok {
			refs = append(refs, quote(r.ref))
			refOK = refOK || r.ref == have.ref
		}
	}
	var hints []string
	if len(differ) > 0 {
		hints = append(hints, strings.Join(differ, "; "))
	}
	switch {
	case len(differ) > 0 && caseOnly:
		hints = append(hints, fmt.Sprintf("only the case differs: PyPI found the publisher without regard to case, but compares ci_config_ref_uri exactly. Remove the publisher and add it again spelled as GitLab spells the project: Namespace %s, Project name %s, Top-level pipeline file path %s",
			quote(have.namespace), quote(have.project), quote(have.file)))
	case len(differ) > 0 && !strings.EqualFold(want.host, have.host):
		hints = append(hints, fmt.Sprintf("the publisher's GitLab instance is %s: pick the instance this pipeline runs on", quote("https://"+want.host)))
	}
	if !refOK {
		hints = append(hints, fmt.Sprintf("the token's ci_config_ref_uri is at %s, but PyPI accepts only its ref_path or sha claim (%s)", quote(have.ref), strings.Join(refs, " or ")))
	}
	return hints
}

// parseExpectation reads warehouse's "expecting one of [<list>], got <s>"
// (Python string literals) from a description.
func parseExpectation(desc string) (expected []string, got string, ok bool) {
	const open, mid = "expecting one of [", "], got "
	i := strings.Index(desc, open)
	if i < 0 {
		return nil, "", false
	}
	s := desc[i+len(open):]
	for !strings.HasPrefix(s, "]") {
		v, rest, ok := pyString(s)
		if !ok {
			return nil, "", false
		}
		expected = append(expected, v)
		s = strings.TrimPrefix(rest, ", ")
	}
	s, ok = strings.CutPrefix(s, mid)
	if !ok {
		return nil, "", false
	}
	got, _, ok = pyString(s)
	return expected, got, ok
}

// pyString reads the Python str literal (repr) at the start of s: single
// or double quoted, with backslash escapes. It returns the value and what
// follows it.
func pyString(s string) (value, rest string, ok bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == q:
			return b.String(), s[i+1:], true
		case ch == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'x':
				if i+2 < len(s) {
					if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
						b.WriteRune(rune(n))
						i += 2
						continue
					}
				}
				b.WriteByte(e)
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(ch)
		}
	}
	return "", s, false
}

// gitlabPublisherQuery is the query that pre-fills PyPI's GitLab publisher
// form (its field names, in the form's order), or "" when the claims lack
// a readable ci_config_ref_uri.
func gitlabPublisherQuery(c idtoken.Claims) string {
	cfg, ok := parseCIConfigRef(c.String("ci_config_ref_uri"))
	namespace, project := gitlabFormNames(c)
	if !ok || namespace == "" || project == "" {
		return ""
	}
	q := "provider=gitlab&namespace=" + url.QueryEscape(namespace) + "&project=" + url.QueryEscape(project) + "&workflow_filepath=" + url.QueryEscape(cfg.file)
	if iss := c.String("iss"); iss != gitlabCom && strings.HasPrefix(iss, "https://") {
		q += "&issuer_url=" + url.QueryEscape(iss)
	}
	return q
}

// quote renders text from a token or a server as a quoted Go string, so
// that control characters and quotes cannot pass for anything else.
func quote(s string) string { return strconv.Quote(s) }

// printable returns s as it is when every rune is printable, else with
// Go escapes (unquoted), for text from tokens and servers shown in a
// table or a list.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}
