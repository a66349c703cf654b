package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/release"
)

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
	// gitlab is GitLab mode (attest-publish gitlab): no GitHub-only
	// features, tokens from id_tokens variables only.
	gitlab bool
	// pypiTokenVar names the variable holding the index's token ("": the
	// audience's conventional name, idtoken.EnvVarFor).
	pypiTokenVar string
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

// runAction is "attest-publish action": the composite action's entry point.
// It reads the AP_INPUT_* variables action.yml maps, runs the mode through
// the pipeline and reports it to the runner (release.ActionsHandler: log
// groups, annotations, outputs and the job summary).
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
	h := &release.ActionsHandler{
		A:           a,
		Text:        &release.TextHandler{Out: stdout, Log: stderr},
		Stderr:      stderr,
		TrustedRoot: in.trustedRoot,
		Repository:  getenv("GITHUB_REPOSITORY"),
	}
	opts, err := actionOptions(in, a, stdout, getenv)
	return runInputs(ctx, in, opts, err, h)
}

// runInputs runs the pipeline with the options wired from the inputs; when
// wiring them failed, the run ends before its first stage, the handler
// still writing its annotations, outputs and summary.
func runInputs(ctx context.Context, in *actionInputs, opts release.Options, wireErr error, h release.Handler) error {
	if wireErr != nil {
		res := &release.Result{Mode: release.Mode(in.mode), PackagesDir: in.packagesDir, Warnings: []release.Warning{}}
		if derr := h.Done(res, wireErr); derr != nil {
			return errors.Join(wireErr, derr)
		}
		return wireErr
	}
	_, err := release.Run(ctx, opts, h)
	return err
}

const actionUsage = `Usage: attest-publish action

Runs as the composite GitHub Action (action.yml): reads its inputs from the
AP_INPUT_<NAME> variables action.yml maps (mode, packages-dir, password, …),
runs the mode (release = sign, verify, publish; sign; publish; verify), and
writes $GITHUB_OUTPUT, annotations and the job summary.
`
