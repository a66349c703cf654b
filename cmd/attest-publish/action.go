package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/audit"
	"github.com/attest-publish/attest-publish/internal/ghattest"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// publicGoodRekorHost is the host of public-good Sigstore's Rekor v1, whose
// entries search.sigstore.dev shows.
const publicGoodRekorHost = "rekor.sigstore.dev"

// actionInputs are the action's inputs, parsed and checked.
type actionInputs struct {
	mode, packagesDir, user, password, repositoryURL               string
	verifyMetadata, skipExisting, verbose, printHash, attestations bool
	signingConfig, trustedRoot, instance                           string
	attestToGitHub                                                 bool
	githubToken, audit                                             string
	verifyPaths, bundles, attestationFiles                         []string
	verifyFlags                                                    map[string]string
	denySelfHosted                                                 bool
	attestationsSet                                                bool
}

// verifyInputFlags are the verify inputs that map one to one onto
// "attest-publish verify" flags of the same name.
var verifyInputFlags = []string{
	"certificate-identity", "certificate-identity-regexp", "certificate-oidc-issuer", "certificate-oidc-issuer-regexp",
	"source-repository", "source-ref", "source-digest", "signer-workflow", "build-trigger", "predicate-type",
	"builder-id", "source-uri", "source-branch", "source-tag", "publisher-kind", "publisher-repository", "publisher-workflow",
	"source-repository-owner", "package-name", "package-version", "distribution-name", "from-index", "from-github",
}

// readActionInputs reads and checks every input; all mistakes at once.
func readActionInputs(a *actionio.Action) (*actionInputs, error) {
	in := &actionInputs{verifyFlags: map[string]string{}}
	var errs []error
	str := func(dst *string, name, def string) {
		if *dst = a.Input(name); *dst == "" {
			*dst = def
		}
	}
	boolean := func(dst *bool, name string, def bool) {
		v, err := a.Bool(name, def)
		errs = append(errs, err)
		*dst = v
	}
	oneOf := func(dst *string, name string, allowed ...string) {
		v, err := a.OneOf(name, allowed...)
		errs = append(errs, err)
		*dst = v
	}
	oneOf(&in.mode, "mode", "release", "sign", "publish", "verify")
	str(&in.packagesDir, "packages-dir", "dist")
	str(&in.user, "user", "__token__")
	in.password = a.Input("password")
	str(&in.repositoryURL, "repository-url", publish.DefaultRepositoryURL)
	boolean(&in.verifyMetadata, "verify-metadata", true)
	boolean(&in.skipExisting, "skip-existing", false)
	boolean(&in.verbose, "verbose", false)
	boolean(&in.printHash, "print-hash", false)
	boolean(&in.attestations, "attestations", true)
	in.attestationsSet = a.Input("attestations") != ""
	in.signingConfig = a.Input("signing-config")
	in.trustedRoot = a.Input("trusted-root")
	oneOf(&in.instance, "sigstore-instance", "auto", "public-good", "github")
	boolean(&in.attestToGitHub, "attest-to-github", false)
	in.githubToken = a.Input("github-token")
	oneOf(&in.audit, "audit", "warn", "strict", "off")
	in.verifyPaths = a.Lines("verify-paths")
	in.bundles = a.Lines("bundle")
	in.attestationFiles = a.Lines("attestation")
	for _, name := range verifyInputFlags {
		if v := a.Input(name); v != "" {
			in.verifyFlags[name] = v
		}
	}
	boolean(&in.denySelfHosted, "deny-self-hosted-runners", false)
	if in.mode != "verify" && in.signingConfig != "" && in.trustedRoot == "" {
		errs = append(errs, errors.New("input signing-config needs trusted-root too (the trusted root of the same Sigstore instance)"))
	}
	if in.mode != "verify" && in.signingConfig == "" && in.trustedRoot != "" && in.mode != "publish" {
		errs = append(errs, errors.New("input trusted-root needs signing-config too when signing (or leave both empty for sigstore-instance)"))
	}
	return in, errors.Join(errs...)
}

// actionRun is one run of action mode: what it read and what it found.
type actionRun struct {
	a              *actionio.Action
	in             *actionInputs
	stdout, stderr io.Writer
	getenv         func(string) string

	signed         *attest.Result
	trust          *signing.Trust
	trustedRoot    string // file the verify and publish stages read
	verdicts       []verification.Result
	verdictsJSON   json.RawMessage
	report         *publish.Report
	attestationID  string
	attestationURL string
	notes          []string
}

// runAction is "attest-publish action": the composite action's entry point.
// It reads the AP_INPUT_* variables action.yml maps, runs the mode, and
// writes outputs, annotations and the job summary.
func runAction(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" {
			fmt.Fprint(stdout, actionUsage)
			return nil
		}
		return usageError{fmt.Sprintf("unexpected argument %q: action mode reads its inputs from AP_INPUT_* variables (see action.yml)", args[0])}
	}
	// Everything the run prints is text for the runner's log, escaped line
	// by line (actionio.TextWriter), whoever wrote it: filenames, claims,
	// index and server texts can never start a workflow command. The
	// Action writes the commands, on stdout's command writer.
	out, errOut := actionio.NewTextWriter(stdout), actionio.NewTextWriter(stderr)
	defer out.Flush()
	defer errOut.Flush()
	stdout, stderr = out, errOut
	a := actionio.New(actionio.Options{Getenv: getenv, Out: stdout})
	// Secrets first, before anything could print them.
	a.Mask(a.Input("password"))
	a.Mask(a.Input("github-token"))
	in, err := readActionInputs(a)
	if err != nil {
		a.Error(actionio.Annotation{Title: "attest-publish: inputs", Message: oneLine(err.Error())})
		return err
	}
	r := &actionRun{a: a, in: in, stdout: stdout, stderr: stderr, getenv: getenv}
	err = r.run(ctx)
	if ferr := r.finish(err); err == nil {
		err = ferr
	}
	return err
}

const actionUsage = `Usage: attest-publish action

Runs as the composite GitHub Action (action.yml): reads its inputs from the
AP_INPUT_<NAME> variables action.yml maps (mode, packages-dir, password, …),
runs the mode (release = sign, verify, publish; sign; publish; verify), and
writes $GITHUB_OUTPUT, annotations and the job summary.
`

func (r *actionRun) run(ctx context.Context) error {
	if r.in.mode != "verify" {
		if err := r.stage("audit", r.audit); err != nil {
			return err
		}
	}
	switch r.in.mode {
	case "release":
		if err := r.stage("sign", func() error { return r.sign(ctx) }); err != nil {
			return err
		}
		if err := r.stage("verify", func() error { return r.verifySigned(ctx) }); err != nil {
			return err
		}
		if err := r.stage("attest to GitHub", func() error { return r.attestToGitHub(ctx) }); err != nil {
			return err
		}
		return r.stage("publish", func() error { return r.publish(ctx) })
	case "sign":
		if err := r.stage("sign", func() error { return r.sign(ctx) }); err != nil {
			return err
		}
		return r.stage("attest to GitHub", func() error { return r.attestToGitHub(ctx) })
	case "publish":
		return r.stage("publish", func() error { return r.publish(ctx) })
	default:
		return r.stage("verify", func() error { return r.verifyInputs(ctx) })
	}
}

// stage runs fn in a log group.
func (r *actionRun) stage(name string, fn func() error) error {
	r.a.Group(name)
	defer r.a.EndGroup()
	return fn()
}

// audit checks the calling workflow ($GITHUB_WORKFLOW_REF in
// $GITHUB_WORKSPACE): findings are warnings, or errors that stop the run
// before signing with audit: strict.
func (r *actionRun) audit() error {
	if r.in.audit == "off" {
		fmt.Fprintln(r.stdout, "audit: off")
		return nil
	}
	rel, err := workflowPath(r.getenv("GITHUB_WORKFLOW_REF"), r.getenv("GITHUB_REPOSITORY"))
	if err != nil {
		r.warn(actionio.Annotation{Title: "attest-publish audit", Message: "the calling workflow was not audited: " + err.Error()})
		return nil
	}
	path := filepath.Join(r.getenv("GITHUB_WORKSPACE"), filepath.FromSlash(rel))
	rep, err := audit.CheckFile(path)
	if err != nil {
		r.warn(actionio.Annotation{File: rel, Title: "attest-publish audit", Message: "the calling workflow was not audited: " + err.Error()})
		return nil
	}
	strict := r.in.audit == "strict"
	for _, f := range rep.Findings {
		n := actionio.Annotation{File: rel, Line: f.Line, Title: "attest-publish audit: " + f.Rule, Message: f.Message}
		if f.Job != "" {
			n.Title += " (job " + f.Job + ")"
		}
		if strict {
			r.a.Error(n)
		} else {
			r.a.Warning(n)
		}
		r.notes = append(r.notes, fmt.Sprintf("audit of %s: %s", rel, f.String()))
	}
	fmt.Fprintf(r.stdout, "audit of %s: %d finding(s)\n", rel, len(rep.Findings))
	if strict && len(rep.Findings) > 0 {
		return fmt.Errorf("audit: strict: %d finding(s) in %s, nothing signed (fix them, or set audit: warn)", len(rep.Findings), rel)
	}
	return nil
}

// workflowPath turns GITHUB_WORKFLOW_REF (owner/repo/.github/workflows/
// x.yml@ref) into the workflow's path in the repository.
func workflowPath(ref, repository string) (string, error) {
	if ref == "" {
		return "", errors.New("GITHUB_WORKFLOW_REF is not set")
	}
	p, _, _ := strings.Cut(ref, "@")
	if repository != "" {
		p = strings.TrimPrefix(p, repository+"/")
	} else if parts := strings.SplitN(p, "/", 3); len(parts) == 3 {
		p = parts[2]
	}
	if !strings.HasPrefix(p, ".github/") || strings.Contains(p, "..") {
		return "", fmt.Errorf("GITHUB_WORKFLOW_REF %q does not name a workflow of %s", ref, repository)
	}
	return p, nil
}

// signingArgs resolves signing-config, trusted-root and sigstore-instance
// into sign's trust flags: explicit files win; auto picks public-good for a
// public repository and GitHub's instance otherwise, as actions/attest does.
func (r *actionRun) signingArgs() []string {
	if r.in.signingConfig != "" || r.in.trustedRoot != "" {
		return []string{"--signing-config", r.in.signingConfig, "--trusted-root", r.in.trustedRoot}
	}
	instance := r.in.instance
	if instance == "auto" {
		vis, err := r.a.RepositoryVisibility()
		switch {
		case err != nil:
			fmt.Fprintf(r.stdout, "sigstore-instance auto: %v; signing with GitHub's instance (set sigstore-instance: public-good to override)\n", err)
			instance = "github"
		case vis == "public":
			fmt.Fprintln(r.stdout, "sigstore-instance auto: public repository, signing with public-good Sigstore")
			instance = "public-good"
		default:
			if vis == "" {
				vis = "unknown (the event payload does not say)"
			}
			fmt.Fprintf(r.stdout, "sigstore-instance auto: repository visibility %s, signing with GitHub's instance (no public transparency log; PyPI attestations need public-good)\n", vis)
			instance = "github"
		}
	}
	return []string{"--sigstore-instance", instance}
}

// errGitHubInstancePEP740 refuses a release that would sign with GitHub's
// instance and then need PEP 740 attestations it cannot make.
var errGitHubInstancePEP740 = errors.New("GitHub's own Sigstore instance (sigstore-instance github, or auto in a private or internal repository, as actions/attest picks) has no public transparency log, so it cannot make the PEP 740 attestations PyPI accepts, and the upload would fail after signing: set sigstore-instance: public-good to attest on public Sigstore (what pypa/gh-action-pypi-publish does; the repository and workflow names become public in the log), or attestations: false")

func (r *actionRun) sign(ctx context.Context) error {
	instance := r.signingArgs()
	if r.in.mode == "release" && r.in.attestations && slices.Equal(instance, []string{"--sigstore-instance", "github"}) {
		return errGitHubInstancePEP740
	}
	args := append([]string{"--packages-dir", r.in.packagesDir, "--verify-metadata=" + strconv.FormatBool(r.in.verifyMetadata)}, instance...)
	res, trust, err := signCommand(ctx, args, r.stdout, r.stderr, r.getenv)
	r.trust = trust
	if err != nil {
		r.annotateDists(err)
		return fmt.Errorf("signing failed, nothing published: %w", err)
	}
	r.signed = res
	r.notes = append(r.notes, res.Warnings...)
	return nil
}

// rootFile returns a trusted_root.json file for the verify and publish
// stages: the trusted-root input, else the root signing used, written to
// $RUNNER_TEMP.
func (r *actionRun) rootFile() (string, error) {
	if r.trustedRoot != "" {
		return r.trustedRoot, nil
	}
	if r.in.trustedRoot != "" {
		r.trustedRoot = r.in.trustedRoot
		return r.trustedRoot, nil
	}
	if r.trust == nil || r.trust.TrustedRoot == nil {
		t, err := signing.LoadTrust("", "")
		if err != nil {
			return "", err
		}
		r.trust = t
	}
	data, err := r.trust.TrustedRoot.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("writing the trusted root: %w", err)
	}
	dir := r.getenv("RUNNER_TEMP")
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "attest-publish-trusted-root-*.json")
	if err != nil {
		return "", fmt.Errorf("writing the trusted root: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("writing the trusted root: %w", err)
	}
	r.trustedRoot = f.Name()
	return r.trustedRoot, nil
}

// verifySigned verifies what sign made, as a consumer would: the packages
// directory against the trusted root and the identity that signed.
func (r *actionRun) verifySigned(ctx context.Context) error {
	root, err := r.rootFile()
	if err != nil {
		return err
	}
	args := []string{"--trusted-root", root,
		"--certificate-identity", r.signed.Identity.SAN, "--certificate-oidc-issuer", r.signed.Identity.Issuer,
		"--format", "json", "--", r.in.packagesDir}
	if err := r.verify(ctx, args); err != nil {
		return fmt.Errorf("nothing published: %w", err)
	}
	return nil
}

// verifyInputs is verify mode: verify's flags from the verify inputs.
func (r *actionRun) verifyInputs(ctx context.Context) error {
	var args []string
	switch {
	case r.in.trustedRoot != "":
		args = append(args, "--trusted-root", r.in.trustedRoot)
	case r.in.instance == "github":
		args = append(args, "--github-instance")
	}
	for _, b := range r.in.bundles {
		args = append(args, "--bundle", b)
	}
	for _, at := range r.in.attestationFiles {
		args = append(args, "--attestation", at)
	}
	for _, name := range verifyInputFlags {
		if v, ok := r.in.verifyFlags[name]; ok {
			args = append(args, "--"+name, v)
		}
	}
	if r.in.denySelfHosted {
		args = append(args, "--deny-self-hosted-runners")
	}
	paths := r.in.verifyPaths
	if len(paths) == 0 {
		if _, ok := r.in.verifyFlags["from-index"]; ok {
			return errors.New("input from-index needs verify-paths: one NAME==VERSION per line")
		}
		paths = []string{r.in.packagesDir}
	}
	if _, ok := r.in.verifyFlags["from-github"]; ok && r.in.githubToken != "" && r.getenv("GITHUB_TOKEN") == "" {
		// verify reads the API token from the environment.
		if err := os.Setenv("GITHUB_TOKEN", r.in.githubToken); err != nil {
			return err
		}
	}
	args = append(args, "--format", "json", "--")
	return r.verify(ctx, append(args, paths...))
}

// verify runs "attest-publish verify args" (with --format json) and keeps
// its verdicts; failed artifacts get an error annotation on their file.
func (r *actionRun) verify(ctx context.Context, args []string) error {
	var buf bytes.Buffer
	err := runVerify(ctx, args, &buf, r.stderr)
	if buf.Len() > 0 {
		results, perr := parseVerdicts(buf.Bytes())
		if perr != nil {
			return errors.Join(err, perr)
		}
		r.verdicts, r.verdictsJSON = results, json.RawMessage(bytes.TrimSpace(buf.Bytes()))
	}
	// Verdicts carry what the material and the index said (names, claims,
	// error texts): each value is escaped onto its line.
	esc := actionio.Escape
	for _, v := range r.verdicts {
		if v.Verified {
			fmt.Fprintf(r.stdout, "OK   %s: signed by %s; checks: %s\n", esc(v.Artifact), esc(v.Signer), esc(strings.Join(v.Checks, ", ")))
			continue
		}
		fmt.Fprintf(r.stdout, "FAIL %s: %s check failed: %s\n", esc(v.Artifact), esc(v.FailedCheck), esc(oneLine(v.Error)))
		r.a.Error(actionio.Annotation{File: r.annotationPath(v.Artifact), Title: "attest-publish verify: " + v.FailedCheck,
			Message: oneLine(v.Error)})
	}
	return err
}

// parseVerdicts reads verify's --format json: a list of results (or an
// object holding them under "results").
func parseVerdicts(data []byte) ([]verification.Result, error) {
	var list []verification.Result
	if err := json.Unmarshal(data, &list); err == nil {
		return list, nil
	}
	var obj struct {
		Results []verification.Result `json:"results"`
	}
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("reading verify's verdicts: %w", err)
	}
	return obj.Results, nil
}

// attestToGitHub stores the release provenance bundle with GitHub's
// attestations API when attest-to-github is set.
func (r *actionRun) attestToGitHub(ctx context.Context) error {
	if !r.in.attestToGitHub {
		return nil
	}
	if r.signed == nil || r.signed.Provenance == "" {
		return errors.New("attest-to-github: no release provenance bundle was made (SLSA provenance needs GitHub Actions' identity)")
	}
	owner, repo, err := ghattest.SplitRepo(r.getenv("GITHUB_REPOSITORY"))
	if err != nil {
		return fmt.Errorf("attest-to-github: GITHUB_REPOSITORY: %w", err)
	}
	data, err := os.ReadFile(r.signed.Provenance)
	if err != nil {
		return fmt.Errorf("attest-to-github: %w", err)
	}
	c, err := ghattest.New(ghattest.Options{Token: r.in.githubToken, Anonymous: true, Getenv: r.getenv})
	if err != nil {
		return fmt.Errorf("attest-to-github: %w", err)
	}
	id, err := c.Store(ctx, owner, repo, data)
	if err != nil {
		return fmt.Errorf("attest-to-github (needs permissions: attestations: write): %w", err)
	}
	r.attestationID = strconv.FormatInt(id, 10)
	r.attestationURL = ghattest.URL(r.getenv("GITHUB_SERVER_URL"), owner, repo, id)
	fmt.Fprintf(r.stdout, "Stored the release provenance on GitHub: %s\n", r.attestationURL)
	return nil
}

func (r *actionRun) publish(ctx context.Context) error {
	in := r.in
	args := []string{"--packages-dir", in.packagesDir, "--repository-url", in.repositoryURL, "--user", in.user,
		"--skip-existing=" + strconv.FormatBool(in.skipExisting),
		"--verify-metadata=" + strconv.FormatBool(in.verifyMetadata),
		"--print-hash=" + strconv.FormatBool(in.printHash),
		"--verbose=" + strconv.FormatBool(in.verbose)}
	if in.password != "" {
		args = append(args, "--password", in.password)
	}
	if !in.attestations {
		args = append(args, "--attestations=false")
	}
	// Attestations are verified before upload: against the root signing
	// used and the identity that signed (release), or the CI token's.
	if in.attestations && (in.password == "" || r.signed != nil) {
		root, err := r.rootFile()
		if err != nil {
			return err
		}
		args = append(args, "--trusted-root", root)
	}
	if r.signed != nil {
		args = append(args, "--certificate-identity", r.signed.Identity.SAN, "--certificate-oidc-issuer", r.signed.Identity.Issuer)
	}
	rep, err := publishCommand(ctx, args, r.stdout, r.stderr, r.getenv)
	r.report = rep
	if rep != nil {
		for _, e := range rep.Entries {
			if !e.State.Live() && e.Reason != "" {
				r.a.Error(actionio.Annotation{File: r.annotationPath(e.Dist.Path), Title: "attest-publish publish: not uploaded", Message: e.Reason})
			}
		}
	} else if err != nil {
		r.annotateDists(err)
	}
	return err
}

// warn writes a warning annotation and keeps it for the summary.
func (r *actionRun) warn(n actionio.Annotation) {
	r.a.Warning(n)
	r.notes = append(r.notes, n.Message)
}

// annotationPath is path relative to the workspace (annotations need it).
func (r *actionRun) annotationPath(path string) string { return r.a.RelPath(path) }

// annotateDists puts an error annotation on every dist of the packages
// directory that err names.
func (r *actionRun) annotateDists(err error) {
	entries, rerr := os.ReadDir(r.in.packagesDir)
	if rerr != nil {
		return
	}
	msg := err.Error()
	for _, e := range entries {
		if strings.Contains(msg, e.Name()) && isDistName(e.Name()) {
			r.a.Error(actionio.Annotation{File: r.annotationPath(filepath.Join(r.in.packagesDir, e.Name())),
				Title: "attest-publish " + r.in.mode, Message: oneLine(msg)})
		}
	}
}

func isDistName(n string) bool {
	return strings.HasSuffix(n, ".whl") || strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".zip")
}

// finish writes the outputs and the job summary, also after a failure.
// Every output is written even when one is refused (a value holding the
// file command delimiter): each refused output gets an error annotation,
// and the returned error fails the step.
func (r *actionRun) finish(runErr error) error {
	if runErr != nil {
		var ue usageError
		if !errors.As(runErr, &ue) {
			r.a.Error(actionio.Annotation{Title: "attest-publish " + r.in.mode + " failed", Message: oneLine(runErr.Error())})
		}
	}
	var refused []error
	for _, o := range r.outputs(runErr) {
		err := r.a.SetOutput(o[0], o[1])
		if errors.Is(err, actionio.ErrNoOutputFile) {
			// Not a runner step: no output can be written; say it once.
			fmt.Fprintf(r.stderr, "warning: %v\n", err)
			break
		}
		if err != nil {
			r.a.Error(actionio.Annotation{Title: "attest-publish: output " + o[0] + " not written", Message: oneLine(err.Error())})
			refused = append(refused, err)
		}
	}
	var outErr error
	if len(refused) > 0 {
		outErr = fmt.Errorf("%d output(s) not written: %w", len(refused), errors.Join(refused...))
		r.notes = append(r.notes, outErr.Error())
	}
	summaryErr := runErr
	if summaryErr == nil {
		summaryErr = outErr
	}
	if err := r.a.AddSummary(r.summary(summaryErr).Markdown()); err != nil {
		fmt.Fprintf(r.stderr, "warning: %v\n", err)
	}
	return outErr
}

// outputs are the action's outputs, in a fixed order.
func (r *actionRun) outputs(runErr error) [][2]string {
	bundles, attestations, published := []string{}, []string{}, []string{}
	provenance := ""
	if r.signed != nil {
		for _, d := range r.signed.Dists {
			bundles = append(bundles, d.Bundle)
			for _, p := range []string{d.PublishAttestation, d.SLSAAttestation} {
				if p != "" {
					attestations = append(attestations, p)
				}
			}
		}
		provenance = r.signed.Provenance
	}
	if r.report != nil {
		for _, e := range r.report.Entries {
			if e.State.Live() && e.URL != "" {
				published = append(published, e.URL)
			}
		}
	}
	verdicts := string(r.verdictsJSON)
	if verdicts == "" {
		verdicts = "[]"
	}
	return [][2]string{
		{"bundles", jsonString(bundles)},
		{"attestations", jsonString(attestations)},
		{"provenance-bundle-path", provenance},
		{"attestation-id", r.attestationID},
		{"attestation-url", r.attestationURL},
		{"published-urls", jsonString(published)},
		{"verified", strconv.FormatBool(r.verified(runErr))},
		{"verdicts", compactJSON(verdicts)},
	}
}

// verified: every verdict passed (release, verify), signing's
// self-verification passed (sign), or publish verified before uploading.
func (r *actionRun) verified(runErr error) bool {
	if len(r.verdicts) > 0 {
		for _, v := range r.verdicts {
			if !v.Verified {
				return false
			}
		}
		return true
	}
	switch r.in.mode {
	case "sign":
		return r.signed != nil
	case "publish":
		return runErr == nil
	}
	return false
}

func jsonString(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(data)
}

func compactJSON(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

// summary builds the job summary from what the run did.
func (r *actionRun) summary(runErr error) *actionio.Summary {
	s := &actionio.Summary{Mode: r.in.mode, Failed: runErr != nil, Notes: r.notes}
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
	if res := r.signed; res != nil {
		first := res.Dists[0].Dist
		s.Title = first.Parsed.CanonicalName() + " " + first.Parsed.Version
		s.Signer, s.Issuer, s.Signatures = res.Identity.SAN, res.Identity.Issuer, res.Signatures
		s.Provenance = res.Provenance
		search := logSearch(res.Services)
		for _, d := range res.Dists {
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
	for _, v := range r.verdicts {
		row := rowOf(filepath.Base(v.Artifact))
		if row.Signature == actionio.None && v.LogIndex != nil {
			row.LogIndex = *v.LogIndex
		}
		// The digest of the bytes the verdict is about (the local file as
		// verify hashed it, or the download), never a re-hash of a path:
		// for --from-index, v.Artifact is only the index's filename.
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
	if rep := r.report; rep != nil {
		s.RepositoryURL = rep.RepositoryURL
		for _, e := range rep.Entries {
			row := rowOf(e.Dist.Filename)
			if row.SHA256 == "" {
				row.Size, row.SHA256 = e.Dist.Size, e.Dist.SHA256Hex()
			}
			if s.Title == "" {
				s.Title = e.Dist.Parsed.CanonicalName() + " " + e.Dist.Parsed.Version
			}
			switch {
			case e.State.Live():
				row.Upload, row.UploadNote, row.URL = actionio.OK, string(e.State), e.URL
			default:
				row.Upload, row.UploadNote = actionio.Failed, e.Reason
			}
		}
	}
	for _, name := range order {
		s.Dists = append(s.Dists, *rows[name])
	}
	s.AttestationID, s.AttestationURL = r.attestationID, r.attestationURL
	s.Commands = r.consumerCommands(s)
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
func (r *actionRun) consumerCommands(s *actionio.Summary) []actionio.Command {
	if r.signed == nil || s.Signer == "" || r.in.mode == "verify" {
		return nil
	}
	var cmds []actionio.Command
	root := ""
	if r.in.trustedRoot != "" {
		root = " --trusted-root " + shellQuote(r.in.trustedRoot)
	}
	cmds = append(cmds, actionio.Command{
		Caption: "Every dist with its .sigstore.json, .publish.attestation and .slsa.attestation next to it, in " + r.in.packagesDir + "/:",
		Shell: fmt.Sprintf("attest-publish verify%s \\\n  --certificate-identity %s \\\n  --certificate-oidc-issuer %s \\\n  %s",
			root, shellQuote(s.Signer), shellQuote(s.Issuer), shellQuote(r.in.packagesDir)),
	})
	repo := r.getenv("GITHUB_REPOSITORY")
	if repo == "" || len(r.signed.Dists) == 0 || r.signed.Provenance == "" {
		return cmds
	}
	d := r.signed.Dists[0]
	gh := fmt.Sprintf("gh attestation verify %s --repo %s", shellQuote(filepath.Join(r.in.packagesDir, d.Dist.Filename)), shellQuote(repo))
	caption := "The release provenance with the GitHub CLI (stored on GitHub):"
	if r.attestationID == "" {
		gh += " \\\n  --bundle " + shellQuote(r.signed.Provenance)
		caption = "The release provenance with the GitHub CLI:"
	}
	if r.in.trustedRoot != "" {
		gh += " \\\n  --custom-trusted-root " + shellQuote(r.in.trustedRoot)
	}
	return append(cmds, actionio.Command{Caption: caption, Shell: gh})
}
