package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/release"
)

// The variables the GitLab templates (templates/*.yml) set besides the
// inputs: where the dotenv report and the summaries go.
const (
	envGitLabDotenv  = "AP_GITLAB_DOTENV"
	envGitLabSummary = "AP_GITLAB_SUMMARY"
	envGitLabJSON    = "AP_GITLAB_JSON"
	// envPypiToken is the id_tokens variable the release template declares
	// for the index, whatever its audience (pypi, testpypi, …).
	envPypiToken = "PYPI_ID_TOKEN"
)

// variableName is what password-variable must hold: a CI/CD variable name.
var variableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// runGitLab is "attest-publish gitlab": the GitLab CI/CD components' entry
// point. It reads the same AP_INPUT_* variables as action mode (the
// templates map them), refuses what only GitHub has, runs the mode through
// the pipeline and reports it to the job (release.GitLabHandler: log
// sections, the dotenv report and the summaries).
func runGitLab(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" {
			fmt.Fprint(stdout, gitlabUsage)
			return nil
		}
		return usageError{fmt.Sprintf("unexpected argument %q: gitlab mode reads its inputs from AP_INPUT_* variables (see templates/release.yml)", args[0])}
	}
	// Everything the run prints is escaped (release.EscapeGitLab): no
	// filename, claim or server text can draw a section line or an escape
	// sequence in the job log; only the handler writes sections.
	log := release.NewGitLabLog(stdout, nil)
	defer log.Flush()
	out := log.Text()
	in, err := readGitLabInputs(getenv)
	if err != nil {
		return err
	}
	h := &release.GitLabHandler{
		Log:         log,
		Text:        &release.TextHandler{Out: out, Log: stderr},
		DotenvPath:  getenv(envGitLabDotenv),
		SummaryPath: getenv(envGitLabSummary),
		JSONPath:    getenv(envGitLabJSON),
		TrustedRoot: in.trustedRoot,
	}
	opts, err := actionOptions(in, nil, out, getenv)
	return runInputs(ctx, in, opts, err, h)
}

// readGitLabInputs reads the inputs as action mode does (one list of every
// mistake), then applies GitLab's rules: the password comes from the CI/CD
// variable password-variable names (never a literal), sigstore-instance
// auto is public-good, and GitHub-only inputs are refused.
func readGitLabInputs(getenv func(string) string) (*actionInputs, error) {
	var errs []error
	passwordVar := getenv(actionio.InputEnv("password-variable"))
	if passwordVar != "" && !variableName.MatchString(passwordVar) {
		errs = append(errs, fmt.Errorf("input password-variable must name a CI/CD variable (letters, digits, _), got %q", passwordVar))
		passwordVar = ""
	}
	env := func(k string) string {
		switch k {
		case actionio.InputEnv("password"):
			// Only through password-variable: a literal AP_INPUT_PASSWORD
			// would put the secret in the pipeline's configuration.
			if passwordVar == "" {
				return ""
			}
			return getenv(passwordVar)
		case actionio.InputEnv("audit"), actionio.InputEnv("attest-to-github"), actionio.InputEnv("github-token"):
			return "" // read below, as GitLab mode refuses them
		}
		return getenv(k)
	}
	a := actionio.New(actionio.Options{Getenv: env, Out: io.Discard})
	in, err := readActionInputs(a)
	errs = append(errs, err)
	if in == nil {
		return nil, errors.Join(errs...)
	}
	in.gitlab, in.audit = true, "off"
	if passwordVar != "" && in.password == "" {
		errs = append(errs, fmt.Errorf("input password-variable names %s, which is empty or not set in this job: define it as a masked, protected CI/CD variable (or leave password-variable empty for trusted publishing)", passwordVar))
	}
	switch in.instance {
	case "github":
		errs = append(errs, errors.New(`input sigstore-instance must be one of auto, public-good in GitLab CI, got "github": GitHub's own Sigstore instance certifies GitHub Actions tokens only`))
	default:
		in.instance = "public-good"
	}
	if v := getenv(actionio.InputEnv("audit")); v != "" && v != "off" {
		errs = append(errs, fmt.Errorf("input audit: the workflow audit reads GitHub Actions workflows and cannot check a GitLab CI configuration; leave it unset or off, got %q", v))
	}
	if v := getenv(actionio.InputEnv("attest-to-github")); v != "" && v != "false" {
		errs = append(errs, fmt.Errorf("input attest-to-github stores the provenance with GitHub's attestations API, which GitLab CI cannot reach; got %q", v))
	}
	if _, ok := in.verifyFlags["from-github"]; ok {
		errs = append(errs, errors.New("input from-github reads GitHub's attestations API, which GitLab CI cannot reach: use from-index, or files with their bundles"))
	}
	if getenv(envPypiToken) != "" {
		in.pypiTokenVar = envPypiToken
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	return in, nil
}

const gitlabUsage = `Usage: attest-publish gitlab

Runs as the GitLab CI/CD component (templates/release.yml, templates/verify.yml):
reads its inputs from the AP_INPUT_<NAME> variables the templates set (mode,
packages-dir, password-variable, …), the tokens from the job's id_tokens
(SIGSTORE_ID_TOKEN, PYPI_ID_TOKEN), runs the mode (release = sign, verify,
publish; sign; publish; verify), and writes the dotenv report and the
Markdown and JSON summaries named by AP_GITLAB_DOTENV, AP_GITLAB_SUMMARY and
AP_GITLAB_JSON.
`
