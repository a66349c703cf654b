package idtoken

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// GitLab CI gives a job an identity token only for each entry of its
// id_tokens, in an environment variable of that name. This file holds what
// is GitLab-specific: telling a GitLab token, the claims Fulcio and PyPI
// need from it, the issuers public-good Sigstore and PyPI accept, and the
// id_tokens YAML a job lacking a token needs.

// GitLabComIssuer is gitlab.com's issuer, the only GitLab issuer PyPI
// verifies PEP 740 attestations for (pypi-attestations' GitLab policy).
const GitLabComIssuer = "https://gitlab.com"

// publicGoodGitLabIssuers are the GitLab issuers public-good Fulcio
// certifies (sigstore/fulcio config/identity/config.yaml, the entries of
// ci-provider gitlab-pipeline): gitlab.com, GitLab's own build instances,
// and Arch Linux's instance.
var publicGoodGitLabIssuers = []string{GitLabComIssuer, "https://dev.gitlab.org", "https://ops.gitlab.net", "https://gitlab.archlinux.org"}

// publicGoodFulcioHosts are the Fulcio hosts of Sigstore's public
// instances (production and staging), which certify only the issuers in
// their own configuration.
var publicGoodFulcioHosts = []string{"fulcio.sigstore.dev", "fulcio.sigstage.dev"}

// githubFulcioHosts are the Fulcio hosts of GitHub's own Sigstore instance,
// which certifies GitHub Actions tokens only.
var githubFulcioHosts = []string{"fulcio.githubapp.com"}

// ErrNoCIConfigRefURI is wrapped by the error for a GitLab CI token without
// a ci_config_ref_uri claim, which neither Fulcio nor PyPI accept.
var ErrNoCIConfigRefURI = errors.New("the GitLab identity token has no ci_config_ref_uri claim")

// ErrGitLabIssuer is wrapped by the errors for a GitLab CI token whose
// issuer the service it is meant for does not accept, or that is not the
// instance the job runs on.
var ErrGitLabIssuer = errors.New("GitLab identity token issuer not accepted")

// FromGitLab reports whether the token carries GitLab CI's claims
// (project_path with pipeline_id, job_id or namespace_path, and no GitHub
// job_workflow_ref), with or without a ci_config_ref_uri claim; Provider
// says GitLabCI only for tokens that have one.
func (t *Token) FromGitLab() bool {
	c := t.Claims
	if c.String("job_workflow_ref") != "" || c.String("project_path") == "" {
		return false
	}
	return c.String("ci_config_ref_uri") != "" || c.String("pipeline_id") != "" || c.String("job_id") != "" || c.String("namespace_path") != ""
}

// inGitLabCI reports whether this runs in a GitLab CI job. gitlab-ci-local
// sets GITLAB_CI=false, which is not a GitLab job.
func inGitLabCI(getenv func(string) string) bool { return getenv("GITLAB_CI") == "true" }

// sameURL compares issuer URLs as GitLab writes them (no trailing slash).
func sameURL(a, b string) bool { return strings.TrimRight(a, "/") == strings.TrimRight(b, "/") }

// checkGitLabClaims refuses, before the token is sent anywhere, a GitLab
// CI token the service of audience would refuse for a missing
// ci_config_ref_uri, or one from another instance than the job's own
// (CI_SERVER_URL, when set in a GitLab CI job). source names where the
// token came from, for the message. Tokens of other CI systems pass.
func checkGitLabClaims(t *Token, audience, source string, getenv func(string) string) error {
	if !t.FromGitLab() {
		return nil
	}
	if t.Claims.String("ci_config_ref_uri") == "" {
		service := "Sigstore's Fulcio would refuse it (the certificate's identity is made from that claim)"
		if audience != SigstoreAudience {
			service = fmt.Sprintf("the index (audience %q) would refuse it (trusted publishing matches the publisher's pipeline file against that claim)", audience)
		}
		return fmt.Errorf("%w (%s), so %s. GitLab leaves the claim out unless the pipeline's top-level configuration is this project's own CI config file: "+
			"child pipelines (trigger: include:), multi-project pipelines (bridge jobs), security-policy and compliance pipelines, a CI config file kept in another project or at a URL, and Auto DevOps have none (gitlab-org/gitlab#422146). "+
			"Run attest-publish in a job of a pipeline started from this project's own .gitlab-ci.yml (jobs it brings in with include: or CI/CD components are fine)",
			ErrNoCIConfigRefURI, source, service)
	}
	if server := getenv("CI_SERVER_URL"); inGitLabCI(getenv) && server != "" && !sameURL(t.Issuer(), server) {
		return fmt.Errorf("%w: %s was issued by %q, but this job runs on the GitLab instance %q (CI_SERVER_URL), which issues its id_tokens itself: use the token GitLab gives this job through id_tokens, not one from elsewhere",
			ErrGitLabIssuer, source, t.Issuer(), server)
	}
	return nil
}

// fulcioKind says which Sigstore a Fulcio URL belongs to: "public-good",
// "github" or "" (another instance).
func fulcioKind(fulcioURL string) string {
	u, err := url.Parse(fulcioURL)
	if err != nil {
		return ""
	}
	switch h := strings.ToLower(u.Hostname()); {
	case slices.Contains(publicGoodFulcioHosts, h):
		return "public-good"
	case slices.Contains(githubFulcioHosts, h):
		return "github"
	}
	return ""
}

// CheckGitLabSigning reports, before the Fulcio request, why the Fulcio of
// the signing config sc would refuse tok, a GitLab CI token: a token
// without ci_config_ref_uri (no Fulcio accepts it); a token from a GitLab
// instance that public-good Fulcio does not certify (any but gitlab.com,
// dev.gitlab.org, ops.gitlab.net and gitlab.archlinux.org: a self-managed
// instance needs its own Sigstore); a token for another audience than
// "sigstore" sent to public-good Fulcio; or any GitLab token sent to
// GitHub's own instance, which certifies GitHub Actions only. Tokens of other CI
// systems, and a nil sc, pass (the claim check aside).
func CheckGitLabSigning(tok *Token, sc *root.SigningConfig) error {
	if tok == nil || !tok.FromGitLab() {
		return nil
	}
	if tok.Claims.String("ci_config_ref_uri") == "" {
		return checkGitLabClaims(tok, SigstoreAudience, "the signing identity token", func(string) string { return "" })
	}
	if sc == nil {
		return nil
	}
	iss := tok.Issuer()
	for _, svc := range sc.FulcioCertificateAuthorityURLs() {
		switch fulcioKind(svc.URL) {
		case "public-good":
			if slices.ContainsFunc(publicGoodGitLabIssuers, func(s string) bool { return sameURL(s, iss) }) {
				// Its client ID is "sigstore": a token for anything else
				// (an index's) would be refused, and is not sent.
				if err := tok.CheckAudience(SigstoreAudience); err != nil {
					return fmt.Errorf("public-good Sigstore's Fulcio (%s) takes tokens for audience %q alone: %w (GitLab CI: id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore)", svc.URL, SigstoreAudience, err)
				}
				continue
			}
			return fmt.Errorf("%w: the identity token comes from the GitLab instance %q, and public-good Sigstore's Fulcio (%s) certifies GitLab CI tokens only from https://gitlab.com (and from dev.gitlab.org, ops.gitlab.net and gitlab.archlinux.org): it would refuse this one. "+
				"A self-managed GitLab instance needs its own Sigstore: pass its --signing-config and --trusted-root (its Fulcio configured with %s as a gitlab-pipeline CI provider). "+
				"PyPI's PEP 740 attestations need https://gitlab.com as well: publish from a self-managed instance with --attestations=false",
				ErrGitLabIssuer, iss, svc.URL, iss)
		case "github":
			return fmt.Errorf("%w: GitHub's Sigstore instance (%s) certifies GitHub Actions tokens only, not this GitLab CI token from %q: sign with public-good Sigstore (GitLab CI on https://gitlab.com) or with your own instance (--signing-config and --trusted-root)",
				ErrGitLabIssuer, svc.URL, iss)
		}
	}
	return nil
}

// CheckGitLabPyPIAttestations reports why PyPI would refuse PEP 740
// attestations signed for a GitLab CI identity of issuer: PyPI verifies
// GitLab attestations only for https://gitlab.com (pypi-attestations'
// GitLab policy names that issuer), so a self-managed instance's are
// refused whatever Sigstore signed them. Nil for gitlab.com. The caller
// says whether the signer is a GitLab CI one.
func CheckGitLabPyPIAttestations(issuer string) error {
	if sameURL(issuer, GitLabComIssuer) {
		return nil
	}
	return fmt.Errorf("%w: the signer is GitLab CI on %q, and PyPI accepts PEP 740 attestations from GitLab CI only on https://gitlab.com (its attestation policy names that issuer), so it would refuse the upload. "+
		"Publish from a self-managed instance with --attestations=false (trusted publishing itself works for instances PyPI has onboarded for your organization); signing there needs the instance's own Sigstore (--signing-config and --trusted-root)",
		ErrGitLabIssuer, issuer)
}

// MissingTokenError is the ErrNoToken of a GitLab CI job (GITLAB_CI=true)
// without the token for Audience: its message shows the id_tokens YAML that
// declares it and every other token the run needs (Also). errors.Is(err,
// ErrNoToken) holds.
type MissingTokenError struct {
	// Audience is the audience of the token that is missing.
	Audience string
	// EnvVar is the variable that should hold it.
	EnvVar string
	// Also are the other audiences the run needs tokens for (see
	// AlsoNeeded).
	Also []string
	// Skipped says why a token given explicitly was not used ("" if none).
	Skipped string

	getenv func(string) string
}

// Is makes errors.Is(err, ErrNoToken) true.
func (e *MissingTokenError) Is(target error) bool { return target == ErrNoToken }

// Error explains what is missing and shows the YAML to add.
func (e *MissingTokenError) Error() string {
	getenv := e.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GitLab CI gave this job no %s (an identity token for audience %q, %s): GitLab makes identity tokens only for the id_tokens a job declares.", e.EnvVar, e.Audience, purpose(e.Audience))
	vars := []string{e.EnvVar}
	auds := []string{e.Audience}
	for _, a := range e.Also {
		v := EnvVarFor(a)
		if slices.Contains(vars, v) {
			continue
		}
		vars, auds = append(vars, v), append(auds, a)
		if getenv(v) == "" {
			fmt.Fprintf(&b, " This run also needs %s (audience %q, %s), which is missing too.", v, a, purpose(a))
		} else {
			fmt.Fprintf(&b, " This run also needs %s (audience %q, %s), which is set.", v, a, purpose(a))
		}
	}
	if e.Skipped != "" {
		b.WriteString(" (" + e.Skipped + ".)")
	}
	them := "it"
	if len(vars) > 1 {
		them = "them"
	}
	fmt.Fprintf(&b, " Declare %s in the job that runs attest-publish (or under default:), then run the pipeline again:\n\n", them)
	b.WriteString(idTokensYAML(jobKey(getenv), vars, auds))
	return strings.TrimRight(b.String(), "\n")
}

// purpose says what a token for audience is for.
func purpose(audience string) string {
	if audience == SigstoreAudience {
		return "for signing with Sigstore's Fulcio"
	}
	return "for trusted publishing to the index that asks for it"
}

// AlsoNeeded adds audiences to the MissingTokenError in err's chain and
// returns the error, so that the YAML it shows declares every token the
// run needs at once; the chain's wrapping stays (its message is rewritten
// around the new one). Other errors, and nil, are returned unchanged.
func AlsoNeeded(err error, audiences ...string) error {
	var me *MissingTokenError
	if !errors.As(err, &me) {
		return err
	}
	before := me.Error()
	for _, a := range audiences {
		if a != "" && a != me.Audience && !slices.Contains(me.Also, a) {
			me.Also = append(me.Also, a)
		}
	}
	if error(me) == err {
		return err
	}
	// Wrappers such as fmt.Errorf's keep the message they were made with.
	return &rewrapped{err: err, msg: strings.Replace(err.Error(), before, me.Error(), 1)}
}

// rewrapped is an error chain whose message is rewritten.
type rewrapped struct {
	err error
	msg string
}

func (r *rewrapped) Error() string { return r.msg }
func (r *rewrapped) Unwrap() error { return r.err }

// idTokensYAML is the job's id_tokens block declaring each variable with
// its audience, at job level (two-space indentation).
func idTokensYAML(job string, vars, auds []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n  id_tokens:\n", job)
	for i, v := range vars {
		fmt.Fprintf(&b, "    %s:\n      aud: %s\n", v, yamlScalar(auds[i]))
	}
	return b.String()
}

// plainYAML matches what can stay unquoted as a YAML key or value here.
var plainYAML = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./-]*$`)

// yamlReserved are plain scalars YAML would read as something else.
var yamlReserved = []string{"true", "false", "yes", "no", "on", "off", "null", "y", "n"}

// yamlScalar quotes s when it cannot be written plain.
func yamlScalar(s string) string {
	if plainYAML.MatchString(s) && !slices.Contains(yamlReserved, strings.ToLower(s)) {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return s
		}
	}
	return strconv.Quote(s)
}

// parallelSuffix is what GitLab appends to the name of a parallel job
// ("test 1/3") or a matrix job ("test: [a, b]").
var parallelSuffix = regexp.MustCompile(`(?: \d+/\d+|: \[.*\])$`)

// jobKey is the job's key in .gitlab-ci.yml, from CI_JOB_NAME, quoted when
// needed; a placeholder when unknown.
func jobKey(getenv func(string) string) string {
	name := getenv("CI_JOB_NAME")
	if name == "" {
		return "<the job that runs attest-publish>"
	}
	if n := getenv("CI_NODE_TOTAL"); n != "" && n != "1" {
		name = parallelSuffix.ReplaceAllString(name, "")
	}
	return yamlScalar(name)
}
