// Command attest-publish signs, attests, verifies and publishes Python
// distributions with Sigstore and PyPI trusted publishing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/release"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `attest-publish signs Python distributions keylessly with Sigstore,
attests them (PEP 740 and SLSA v1 provenance) and verifies its own output.

Usage:
  attest-publish sign [flags]     sign, attest and self-verify the dists of a directory
  attest-publish verify [flags] FILE_OR_DIGEST...
                                  verify artifacts against bundles or PEP 740 attestations
  attest-publish publish [flags]  verify and upload the dists of a directory to a package index
  attest-publish release [flags]  sign, then verify and publish, in one run (sign's and publish's flags)
  attest-publish audit [flags] WORKFLOW.yml...
                                  check GitHub workflows for unpinned actions, broad permissions, risky triggers
  attest-publish action           run as the GitHub Action (inputs from AP_INPUT_* variables, see action.yml)
  attest-publish gitlab           run as the GitLab CI/CD component (inputs from AP_INPUT_* variables, see templates/)
  attest-publish version          print the version

Run "attest-publish <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code: 0 success,
// 1 failure, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	// Under a GitHub Actions runner every line of stdout and stderr is
	// parsed for workflow commands: text goes through actionio's escaping
	// writer, so that no filename, claim or server text can start one;
	// the tool's own commands (groups, masks, annotations) go to its
	// command writer (actionio.CommandWriter).
	if getenv("GITHUB_ACTIONS") == "true" { // action mode wraps its own (runAction)
		o, e := actionio.NewTextWriter(stdout), actionio.NewTextWriter(stderr)
		defer o.Flush()
		defer e.Flush()
		stdout, stderr = o, e
	}
	if args[0] == "gitlab" { // gitlab mode escapes its stdout itself (runGitLab)
		l := release.NewGitLabLog(stderr, nil)
		defer l.Flush()
		stderr = l.Text()
	}
	var err error
	switch args[0] {
	case "sign":
		err = runSign(ctx, args[1:], stdout, stderr, getenv)
	case "verify":
		err = runVerify(ctx, args[1:], stdout, stderr)
	case "publish":
		err = runPublish(ctx, args[1:], stdout, stderr, getenv)
	case "release":
		err = runRelease(ctx, args[1:], stdout, stderr, getenv)
	case "action":
		err = runAction(ctx, args[1:], stdout, stderr, getenv)
	case "gitlab":
		err = runGitLab(ctx, args[1:], stdout, stderr, getenv)
	case "audit":
		err = runAudit(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "attest-publish %s\n", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "attest-publish: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "attest-publish %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "attest-publish %s: error: %v\n", args[0], err)
		return 1
	}
}

// usageError marks a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// parseError turns a flag-parsing failure into a usage error (exit 2); the
// flag package has already printed the message and the usage.
func parseError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err.Error()}
}
