package preflight

import (
	"fmt"
	"maps"
	"strings"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/pypi"
)

// checkPullRequestTarget refuses a run triggered by pull_request_target,
// whatever the index: PyPI refuses to mint a token for it (warehouse#19601,
// 2026-03-02), and pypi.Mint refuses it too.
func checkPullRequestTarget(o *Options, _ []parsedDist) []Finding {
	if o.Claims.String("event_name") != "pull_request_target" {
		return nil
	}
	where := "the workflow"
	if f := pypi.WorkflowFile(o.Claims.String("workflow_ref")); f != "" {
		where = fmt.Sprintf("%q", ".github/workflows/"+f)
	}
	return []Finding{{
		Check:    CheckPullRequestTarget,
		Severity: Error,
		Message: fmt.Sprintf(`this run was triggered by %q (event_name): PyPI refuses trusted publishing from it ("Publishing from a workflow invoked via 'pull_request_target' is not supported."), and that trigger runs with the base repository's secrets and OIDC identity on behalf of a pull request, so a pull request's code could be signed and published as this repository's release.`,
			"pull_request_target"),
		Fix: fmt.Sprintf(`In %s, replace "pull_request_target" under on: with a release trigger: on: {push: {tags: ["v*"]}}, on: {release: {types: [published]}} or on: workflow_dispatch; run pull-request checks in a separate workflow that has no id-token: write.`, where),
	}}
}

// checkReusableWorkflow refuses a reusable workflow (job_workflow_ref ≠
// workflow_ref) publishing to PyPI with attestations. On PyPI today
// (warehouse main, 2026-08) the trusted publisher is looked up by the
// workflow file of job_workflow_ref, which must be
// <repository>/.github/workflows/<file>@<ref or sha>; the attestation is
// then verified against that publisher (pypi-attestations'
// _GitHubTrustedPublisherPolicy) by the certificate's Build Config URI,
// which Fulcio fills from workflow_ref: the caller, so it never matches.
// warehouse#20083 (open) switches the lookup to workflow_ref.
func checkReusableWorkflow(o *Options, ds []parsedDist) []Finding {
	c := o.Claims
	wr, jwr := c.String("workflow_ref"), c.String("job_workflow_ref")
	if !o.PyPI || !o.Attestations || wr == "" || jwr == "" || wr == jwr {
		return nil
	}
	if (&idtoken.Token{Claims: c}).Provider() != idtoken.GitHubActions {
		return nil
	}
	repo := c.String("repository")
	caller, callee := pypi.WorkflowFile(wr), pypi.WorkflowFile(jwr)
	callerPath := workflowPath(wr, repo)
	calleePath := workflowPath(jwr, repo)
	msg := fmt.Sprintf(`this job runs in the reusable workflow %q (job_workflow_ref), called by %q (workflow_ref). PyPI looks up the trusted publisher by the workflow file of job_workflow_ref (%q), but verifies each PEP 740 attestation against that publisher by the signing certificate's Build Config URI, which Fulcio takes from workflow_ref (%q): the upload would fail with HTTP 400 "Invalid attestations supplied during upload: Certificate's Build Config URI (…) does not match expected Trusted Publisher (%s @ %s)".`,
		jwr, wr, callee, "https://github.com/"+wr, callee, repo)
	sameRun := matchesRun(jwr, repo, callee, c)
	if !sameRun {
		msg += fmt.Sprintf(` Nor can PyPI match a trusted publisher to this job today: it requires job_workflow_ref to be a workflow of %q at this run's ref or commit (%s).`,
			repo, refOrSHA(c))
	}

	fix := fmt.Sprintf(`Move the job that runs attest-publish, with its "permissions: id-token: write" and "environment:", from the reusable workflow %q into the calling workflow %q, and name %q as the workflow of the project's trusted publisher on PyPI`,
		calleePath, callerPath, caller)
	if link := publisherLinkFor(o, ds, wr); link != "" {
		fix += " (" + link + ")"
	}
	if sameRun {
		fix += fmt.Sprintf(`; or keep the reusable workflow and publish without attestations (action input "attestations: false", CLI --attestations=false), with the trusted publisher naming %q.`, callee)
	} else {
		fix += `; a reusable workflow from another repository or ref cannot publish to PyPI today, with or without attestations.`
	}
	fix += fmt.Sprintf(` Once warehouse#20083 (open as of 2026-08) is deployed, PyPI looks up publishers by workflow_ref instead, and a publisher naming %q will accept attestations made in the reusable workflow.`, caller)
	return []Finding{{
		Check:    CheckReusableWorkflow,
		Severity: Error,
		Message:  msg,
		Fix:      fix,
	}}
}

// workflowPath returns a workflow ref's path without "@ref": within the
// repository (".github/workflows/release.yml") when it belongs to repo,
// else with its owner and repository.
func workflowPath(ref, repo string) string {
	path, _, _ := strings.Cut(ref, "@")
	if repo != "" {
		if rest, ok := strings.CutPrefix(path, repo+"/"); ok {
			return rest
		}
	}
	return path
}

// matchesRun reports whether job_workflow_ref is what warehouse's
// _check_job_workflow_ref wants: <repository>/.github/workflows/<file>@
// followed by the ref or the sha claim.
func matchesRun(jwr, repo, file string, c idtoken.Claims) bool {
	if repo == "" || file == "" {
		return false
	}
	base := repo + "/.github/workflows/" + file + "@"
	for _, r := range []string{c.String("ref"), c.String("sha")} {
		if r != "" && jwr == base+r {
			return true
		}
	}
	return false
}

func refOrSHA(c idtoken.Claims) string {
	var parts []string
	for _, name := range []string{"ref", "sha"} {
		if v := c.String(name); v != "" {
			parts = append(parts, fmt.Sprintf("%s %q", name, v))
		}
	}
	if len(parts) == 0 {
		return "the token has neither a ref nor a sha claim"
	}
	return strings.Join(parts, " or ")
}

// publisherLinkFor returns the pypi.org page that adds a trusted publisher
// for the calling workflow, or "".
func publisherLinkFor(o *Options, ds []parsedDist, workflowRef string) string {
	if o.IndexURL == "" || len(ds) == 0 {
		return ""
	}
	moved := maps.Clone(o.Claims)
	// After the move the publishing job runs in the caller.
	moved["job_workflow_ref"] = workflowRef
	return pypi.PublisherLink(o.IndexURL, moved, []string{ds[0].name.CanonicalName()})
}
