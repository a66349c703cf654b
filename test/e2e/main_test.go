//go:build e2e

// Package e2e runs attest-publish against the real local Sigstore stack
// (test/localstack) and judges its output with the ecosystem's own
// verifiers: cosign, sigstore-python and pypi-attestations. scripts/test.sh
// starts the stack and exports its stack.env before running these tests;
// without it they fail (they never skip).
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// env is the stack's stack.env plus the test venv, read once.
var env struct {
	trustedRoot, signingConfig, signingConfigRekor2 string
	issuer, tokenURL, requestToken                  string
	stackBin, stackDir, venv                        string
}

var (
	// attestPublish is the binary under test, built fresh.
	attestPublish string
	// sampleDists holds the sample project's wheel and sdist, built once.
	sampleDists string
	repoRoot    string
)

func TestMain(m *testing.M) {
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	required := map[string]*string{
		"STACK_TRUSTED_ROOT":             &env.trustedRoot,
		"STACK_SIGNING_CONFIG":           &env.signingConfig,
		"STACK_SIGNING_CONFIG_REKOR2":    &env.signingConfigRekor2,
		"STACK_OIDC_ISSUER":              &env.issuer,
		"ACTIONS_ID_TOKEN_REQUEST_URL":   &env.tokenURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": &env.requestToken,
		"STACK_BIN":                      &env.stackBin,
		"ATTEST_STACK_DIR":               &env.stackDir,
		"ATTEST_VENV":                    &env.venv,
	}
	var missing []string
	for name, dst := range required {
		if *dst = os.Getenv(name); *dst == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: the local stack is not up (missing %s): run these tests through `make test`\n", strings.Join(missing, ", "))
		return 1
	}
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Join(filepath.Dir(file), "..", "..")
	tmp, err := os.MkdirTemp("", "attest-publish-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	attestPublish = filepath.Join(tmp, "attest-publish")
	if out, err := run(repoRoot, nil, "go", "build", "-o", attestPublish, "./cmd/attest-publish"); err != nil {
		fmt.Fprintf(os.Stderr, "building attest-publish: %v\n%s", err, out)
		return 1
	}
	sampleDists = filepath.Join(tmp, "sample-dist")
	if out, err := run(repoRoot, nil, filepath.Join(env.venv, "bin", "python"), "-m", "build", "--no-isolation",
		"--outdir", sampleDists, filepath.Join(repoRoot, "testdata", "sampleproject")); err != nil {
		fmt.Fprintf(os.Stderr, "building the sample project: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// run executes a command and returns its combined output.
func run(dir string, extraEnv []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
