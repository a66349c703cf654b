package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConformanceWrapper drives conformance/attest-publish-conformance
// (the sigstore-conformance client protocol) with every conformance-* case's
// conformance_cli_args from testdata/vectors/manifest.json, once with the
// artifact path and once with its sha256: digest, as the suite does, and
// checks the exit status against the case's expected verdict.
func TestConformanceWrapper(t *testing.T) {
	dir := vectorsDir(t)
	if _, err := exec.LookPath("sh"); err != nil {
		t.Fatalf("the wrapper needs a POSIX sh: %v", err)
	}
	wrapper, err := filepath.Abs(filepath.Join("..", "..", "conformance", "attest-publish-conformance"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "attest-publish")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building attest-publish: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Cases []struct {
			Name           string   `json:"name"`
			Expected       string   `json:"expected"`
			Artifact       *string  `json:"artifact"`
			ArtifactDigest *string  `json:"artifact_digest"`
			CLIArgs        []string `json:"conformance_cli_args"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	runs, right := 0, 0
	for _, c := range manifest.Cases {
		if !strings.HasPrefix(c.Name, "conformance-") {
			continue
		}
		if len(c.CLIArgs) < 2 || c.CLIArgs[0] != "verify-bundle" {
			t.Errorf("%s: conformance_cli_args is not a verify-bundle call: %q", c.Name, c.CLIArgs)
			continue
		}
		modes := map[string][]string{"path": c.CLIArgs}
		if c.ArtifactDigest != nil && strings.HasPrefix(*c.ArtifactDigest, "sha256:") {
			digestArgs := append([]string(nil), c.CLIArgs...)
			digestArgs[len(digestArgs)-1] = *c.ArtifactDigest
			modes["digest"] = digestArgs
		} else {
			t.Errorf("%s: no sha256: artifact_digest", c.Name)
		}
		for _, mode := range []string{"path", "digest"} {
			args, ok := modes[mode]
			if !ok {
				continue
			}
			runs++
			t.Run(c.Name+"/"+mode, func(t *testing.T) {
				cmd := exec.Command("sh", append([]string{wrapper}, args...)...)
				cmd.Dir = filepath.Join(dir, c.Name)
				cmd.Env = append(os.Environ(), "ATTEST_PUBLISH="+bin)
				out, err := cmd.CombinedOutput()
				got := "pass"
				if err != nil {
					var exit *exec.ExitError
					if !errors.As(err, &exit) {
						t.Fatalf("running the wrapper: %v", err)
					}
					got = "fail"
				}
				if got != c.Expected {
					t.Errorf("%s (%s): got %s, want %s\nargs: %q\n%s", c.Name, mode, got, c.Expected, args, out)
					return
				}
				if strings.Contains(string(out), "attest-publish-conformance:") {
					t.Errorf("the wrapper refused the suite's arguments: %s", out)
					return
				}
				right++
			})
		}
	}
	if runs == 0 {
		t.Fatal("the manifest has no conformance-* cases")
	}
	t.Logf("conformance wrapper: %d of %d runs give the expected verdict", right, runs)
}
