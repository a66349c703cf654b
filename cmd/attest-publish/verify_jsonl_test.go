package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/verification"
)

// jsonlDir holds a real JSONL bundle file whose line 2 has a tampered
// signature between two good lines, and the artifact.
const jsonlDir = "../../internal/verification/testdata/jsonl-one-bad-line/"

func runJSONL(t *testing.T, bundle, identity string, extra ...string) (int, string) {
	t.Helper()
	args := append([]string{"verify", "--bundle", bundle,
		"--certificate-identity", identity,
		"--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"}, extra...)
	args = append(args, jsonlDir+"sigstore-2.1.0.tgz")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr, func(string) string { return "" })
	return code, stdout.String() + stderr.String()
}

func TestVerifyJSONLReportsEveryLine(t *testing.T) {
	const signer = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	bundle := jsonlDir + "attestations.jsonl"
	line := func(n string) string { return bundle + " line " + n }

	t.Run("text, one bad line among good ones", func(t *testing.T) {
		code, out := runJSONL(t, bundle, signer)
		if code != 0 || !strings.HasPrefix(out, "OK   ") {
			t.Fatalf("exit %d, want 0:\n%s", code, out)
		}
		want := "     " + line("2") + ": signature check failed: "
		if !strings.Contains(out, want) || !strings.Contains(out, "(ignored: another object of the file satisfied the policy)") {
			t.Errorf("the bad line is not named (want %q):\n%s", want, out)
		}
		if strings.Contains(out, line("1")+":") || strings.Contains(out, line("3")+":") {
			t.Errorf("good lines reported as failing:\n%s", out)
		}
	})
	t.Run("text, no line satisfies the policy", func(t *testing.T) {
		code, out := runJSONL(t, bundle, signer+"x")
		if code != 1 || !strings.HasPrefix(out, "FAIL ") {
			t.Fatalf("exit %d, want 1:\n%s", code, out)
		}
		for _, want := range []string{line("1") + ": identity check failed", line("2") + ": signature check failed", line("3") + ": identity check failed"} {
			if !strings.Contains(out, "     "+want) {
				t.Errorf("missing %q:\n%s", want, out)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out := runJSONL(t, bundle, signer, "--format", "json")
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		var results []verification.Result
		if err := json.Unmarshal([]byte(out), &results); err != nil || len(results) != 1 {
			t.Fatalf("%v:\n%s", err, out)
		}
		items := results[0].Items
		if len(items) != 3 {
			t.Fatalf("items %+v, want one per line", items)
		}
		for i, it := range items {
			bad := i == 1
			if it.Line != i+1 || it.Verified == bad || (it.FailedCheck == verification.CheckSignature) != bad || (it.Error != "") != bad {
				t.Errorf("line %d: %+v", i+1, it)
			}
		}
	})
	t.Run("a line that does not parse fails the file, named", func(t *testing.T) {
		data, err := os.ReadFile(bundle)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := bytes.Cut(data, []byte("\n"))
		broken := filepath.Join(t.TempDir(), "broken.jsonl")
		if err := os.WriteFile(broken, append(append(first, '\n'), first[:len(first)/2]...), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := runJSONL(t, broken, signer)
		if code != 1 || !strings.Contains(out, "FAIL ") || !strings.Contains(out, broken+" line 2: ") {
			t.Errorf("exit %d, want 1 naming line 2:\n%s", code, out)
		}
	})
}
