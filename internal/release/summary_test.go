package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/actionio/runnertest"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/pypitest"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/verification"
)

var (
	logIndexCell = regexp.MustCompile(`\| \d+ \| (✓|✗|—)`)
	logIndexJSON = regexp.MustCompile(`"log_index":\d+`)
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenSummaries runs each mode against the fakes with the Actions
// handler and compares the job summary and the outputs with
// testdata/<name>.summary.md and <name>.outputs (run with -update to
// rewrite them). Paths and server addresses that change from run to run
// are replaced by fixed names first.
func TestGoldenSummaries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    Mode
		prepare func(t *testing.T, s *stack, o *Options)
		wantErr string
	}{
		{name: "release", mode: ModeRelease},
		{name: "release-wrong-provenance", mode: ModeRelease, wantErr: "the index does not serve the attestations uploaded",
			prepare: func(t *testing.T, s *stack, o *Options) {
				// The index serves one of the wheel's two attestations.
				s.ix.Provenance = func(name string, up []json.RawMessage) ([]json.RawMessage, bool) {
					if name == pypitest.SdistName {
						return up, true
					}
					return up[:1], true
				}
			}},
		{name: "release-signing-failed", mode: ModeRelease, wantErr: "signing failed, nothing published",
			prepare: func(t *testing.T, s *stack, o *Options) {
				o.Sign.Trust = func() (*signing.Trust, error) { return nil, errors.New("no signing config") }
			}},
		{name: "sign", mode: ModeSign},
		{name: "publish", mode: ModePublish, prepare: func(t *testing.T, s *stack, o *Options) {
			// The dists signed by an earlier run, published now.
			so := s.options(ModeSign)
			if _, err := Run(context.Background(), so, &recorder{}); err != nil {
				t.Fatal(err)
			}
			trust, err := so.Sign.Trust()
			if err != nil {
				t.Fatal(err)
			}
			o.Publish.TrustedRoot = trust.TrustedRoot
		}},
		{name: "publish-refused", mode: ModePublish, wantErr: "minting an API token", prepare: func(t *testing.T, s *stack, o *Options) {
			s.ix.MintRefusal = map[string]any{"message": "Token request failed", "errors": []any{map[string]any{"code": "invalid-publisher", "description": "valid token, but no corresponding publisher (Publisher with matching claims was not found)"}}}
			o.Publish.Attestations = publish.AttestationsOff
		}},
		{name: "verify", mode: ModeVerify, prepare: verifyPrepare(false)},
		{name: "verify-failed", mode: ModeVerify, wantErr: "verification failed", prepare: verifyPrepare(true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			o := s.options(tc.mode)
			if tc.prepare != nil {
				tc.prepare(t, s, &o)
			}
			files := t.TempDir()
			env := map[string]string{
				"GITHUB_OUTPUT":       filepath.Join(files, "output"),
				"GITHUB_STEP_SUMMARY": filepath.Join(files, "summary"),
				"GITHUB_WORKSPACE":    s.dir,
			}
			for _, f := range []string{"output", "summary"} {
				if err := os.WriteFile(filepath.Join(files, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var log runnertest.Output
			a := actionio.New(actionio.Options{Getenv: func(k string) string { return env[k] }, Out: &log})
			h := &ActionsHandler{A: a, Text: &TextHandler{Out: &log, Log: &log}, Stderr: &log, TrustedRoot: "trusted_root.json", Repository: "octo-org/octo-repo"}
			_, err := Run(context.Background(), o, h)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q\n%s", err, tc.wantErr, log.String())
			}
			host := strings.TrimPrefix(strings.TrimSuffix(s.ix.URL(), "/legacy/"), "http://")
			norm := strings.NewReplacer(s.dir, "dist", "http://"+host, "https://index.example", host, "index.example")
			for _, f := range []struct{ file, golden string }{{"summary", ".summary.md"}, {"output", ".outputs"}} {
				data, err := os.ReadFile(filepath.Join(files, f.file))
				if err != nil {
					t.Fatal(err)
				}
				// Log indexes depend on the order the fake log took the
				// entries in.
				got := logIndexCell.ReplaceAllString(norm.Replace(string(data)), "| N | $1")
				got = logIndexJSON.ReplaceAllString(got, `"log_index":N`)
				if f.file == "output" {
					got = normalizeDelimiters(got)
				}
				golden := filepath.Join("testdata", tc.name+f.golden)
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Errorf("%s differs from %s:\n%s", f.file, golden, got)
				}
			}
			// Every annotation and group the runner would process is well
			// formed, and nothing in the log starts another command.
			v := runnertest.Replay(log.String())
			for _, c := range v.Commands {
				switch c.Name {
				case "group", "endgroup", "error", "warning", "add-mask":
				default:
					t.Errorf("unexpected workflow command %q", c.Name)
				}
			}
		})
	}
}

// verifyPrepare signs the release, then (bad) swaps the sdist's bytes.
func verifyPrepare(bad bool) func(t *testing.T, s *stack, o *Options) {
	return func(t *testing.T, s *stack, o *Options) {
		so := s.options(ModeSign)
		res, err := Run(context.Background(), so, &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if bad {
			sdist := filepath.Join(s.dir, pypitest.SdistName)
			if err := os.WriteFile(sdist, []byte("not the sdist that was signed"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		o.Verify = VerifyOptions{
			Targets: []string{s.dir},
			Policy:  verification.Policy{SAN: res.Signed.Identity.SAN, Issuer: res.Signed.Identity.Issuer},
			Trust: func(func(string)) (*verification.Trust, error) {
				return verification.LoadTrust(s.fake.TrustedRootPath(), "")
			},
		}
	}
}

// normalizeDelimiters replaces the random heredoc delimiters of
// $GITHUB_OUTPUT by a fixed one.
func normalizeDelimiters(s string) string {
	var b bytes.Buffer
	lines := strings.Split(s, "\n")
	delim := ""
	for _, l := range lines {
		switch {
		case delim == "" && strings.Contains(l, "<<"):
			name, d, _ := strings.Cut(l, "<<")
			delim = d
			l = name + "<<EOF"
		case delim != "" && l == delim:
			delim, l = "", "EOF"
		}
		b.WriteString(l + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
