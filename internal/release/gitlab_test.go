package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/pypitest"
	"github.com/attest-publish/attest-publish/internal/signing"
)

var (
	elapsed     = regexp.MustCompile(`in [0-9.]+(µs|ms|s)\b`)
	logIndexCol = regexp.MustCompile(`(?m)^(\S+\.(whl|tar\.gz) +.* +[0-9a-f]{64} +)\d+$`)
	// The order signatures complete in is not fixed.
	signedLine = regexp.MustCompile(`(?m)^  \[\d+/\d+\] signed .*\n`)
	logIndexLn = regexp.MustCompile(`(logIndex=|log index )\d+`)
	loopback   = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
)

// TestGitLabGolden runs each mode against the fakes with the GitLab handler
// and compares the job log, the dotenv report and the Markdown summary
// with testdata/gitlab/<name>.{log,env,summary.md} (-update rewrites
// them); the JSON summary must hold the same outputs as the dotenv report.
func TestGitLabGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    Mode
		prepare func(t *testing.T, s *stack, o *Options)
		wantErr string
	}{
		{name: "release", mode: ModeRelease},
		{name: "release-signing-failed", mode: ModeRelease, wantErr: "signing failed, nothing published",
			prepare: func(t *testing.T, s *stack, o *Options) {
				o.Sign.Trust = func() (*signing.Trust, error) { return nil, errors.New("no signing config") }
			}},
		{name: "publish-refused", mode: ModePublish, wantErr: "minting an API token", prepare: func(t *testing.T, s *stack, o *Options) {
			s.ix.MintRefusal = map[string]any{"message": "Token request failed", "errors": []any{map[string]any{"code": "invalid-publisher", "description": "valid token, but no corresponding publisher (Publisher with matching claims was not found)"}}}
			o.Publish.Attestations = publish.AttestationsOff
		}},
		{name: "verify-failed", mode: ModeVerify, wantErr: "verification failed", prepare: verifyPrepare(true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			o := s.options(tc.mode)
			if tc.prepare != nil {
				tc.prepare(t, s, &o)
			}
			files := t.TempDir()
			var log bytes.Buffer
			gl := NewGitLabLog(&log, func() time.Time { return time.Unix(1700000000, 0) })
			h := &GitLabHandler{
				Log: gl, Text: &TextHandler{Out: gl.Text(), Log: gl.Text()},
				DotenvPath: filepath.Join(files, "attest-publish.env"), SummaryPath: filepath.Join(files, "summary.md"),
				JSONPath: filepath.Join(files, "summary.json"), TrustedRoot: "trusted_root.json",
			}
			_, err := Run(context.Background(), o, h)
			if ferr := gl.Flush(); ferr != nil {
				t.Fatal(ferr)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q\n%s", err, tc.wantErr, log.String())
			}
			host := strings.TrimPrefix(strings.TrimSuffix(s.ix.URL(), "/legacy/"), "http://")
			norm := strings.NewReplacer(s.dir, "dist", files+"/", "", "http://"+host, "https://index.example", host, "index.example")
			normalize := func(s string) string {
				s = norm.Replace(s)
				s = logIndexCell.ReplaceAllString(s, "| N | $1")
				s = logIndexJSON.ReplaceAllString(s, `"log_index":N`)
				s = logIndexCol.ReplaceAllString(s, "${1}N")
				s = logIndexLn.ReplaceAllString(s, "${1}N")
				s = loopback.ReplaceAllString(s, "http://127.0.0.1:PORT")
				s = signedLine.ReplaceAllString(s, "")
				return elapsed.ReplaceAllString(s, "in T")
			}
			got := map[string]string{".log": normalize(log.String())}
			for _, f := range []struct{ file, golden string }{{"attest-publish.env", ".env"}, {"summary.md", ".summary.md"}} {
				data, err := os.ReadFile(filepath.Join(files, f.file))
				if err != nil {
					t.Fatal(err)
				}
				got[f.golden] = normalize(string(data))
			}
			for ext, text := range got {
				golden := filepath.Join("testdata", "gitlab", tc.name+ext)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if text != string(want) {
					t.Errorf("%s differs from %s:\n%s", ext, golden, text)
				}
			}
			checkGitLabFiles(t, files, log.String())
		})
	}
}

// checkGitLabFiles checks what every run's files must satisfy: the dotenv
// report is under GitLab's limit, each line one KEY=VALUE with an AP_
// name, and every value equals the JSON summary's output; the log's only
// escape characters are the handler's own section lines and colours.
func checkGitLabFiles(t *testing.T, dir, log string) {
	t.Helper()
	env, err := os.ReadFile(filepath.Join(dir, "attest-publish.env"))
	if err != nil {
		t.Fatal(err)
	}
	if len(env) > DotenvLimit {
		t.Errorf("dotenv report is %d bytes, over GitLab's limit", len(env))
	}
	var doc struct {
		Outputs map[string]string `json:"outputs"`
		Report  *Report           `json:"report"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Report == nil {
		t.Fatalf("JSON summary: %v\n%s", err, data)
	}
	name := regexp.MustCompile(`^AP_[A-Z0-9_]+$`)
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(env), "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !name.MatchString(k) {
			t.Errorf("dotenv line %q", line)
			continue
		}
		for out, want := range doc.Outputs {
			if DotenvName(out) == k && v != want {
				t.Errorf("dotenv %s = %q, JSON summary says %q", k, v, want)
			}
		}
		seen[k] = true
	}
	for _, k := range []string{"AP_VERIFIED", "AP_BUNDLES", "AP_PUBLISHED_URLS", "AP_OUTPUTS_FILE", "AP_SUMMARY_FILE"} {
		if !seen[k] {
			t.Errorf("dotenv report has no %s:\n%s", k, env)
		}
	}
	own := regexp.MustCompile(`\x1b\[0Ksection_(start|end):\d+:attest_publish_[A-Za-z0-9_.-]+\r\x1b\[0K|\x1b\[36;1m|\x1b\[0m`)
	if rest := own.ReplaceAllString(log, ""); strings.ContainsAny(rest, "\x1b\r") {
		t.Errorf("the log holds an escape or CR the handler did not write itself:\n%q", rest)
	}
}

// TestGitLabLogEscapes: text can never form a section line, an escape
// sequence or a second line by CR, whatever it holds and however it is
// split across writes; section lines start on a line of their own.
func TestGitLabLogEscapes(t *testing.T) {
	forged := "evil\x1b[0Ksection_end:1:attest_publish_sign\r\x1b[0K\x1b[2K\u009b31m\u2028x\xff"
	var b bytes.Buffer
	l := NewGitLabLog(&b, func() time.Time { return time.Unix(42, 0) })
	if err := l.Section(true, "attest publish/sign", "sign \x1b[31m"); err != nil {
		t.Fatal(err)
	}
	// Byte by byte: a multi-byte rune split across writes stays intact.
	for _, c := range []byte("dist/" + forged + " é✓\n") {
		if _, err := l.Text().Write([]byte{c}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Text().Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	if err := l.Section(false, "attest publish/sign", ""); err != nil {
		t.Fatal(err)
	}
	want := "\x1b[0Ksection_start:42:attest_publish_sign\r\x1b[0K\x1b[36;1msign %1B[31m\x1b[0m\n" +
		"dist/evil%1B[0Ksection_end:1:attest_publish_sign%0D%1B[0K%1B[2K%C2%9B31m%E2%80%A8x%FF é✓\n" +
		"partial\n" +
		"\x1b[0Ksection_end:42:attest_publish_sign\r\x1b[0K\n"
	if got := b.String(); got != want {
		t.Errorf("log:\n%q\nwant\n%q", got, want)
	}
	if got := EscapeGitLab("50% done\tok\n"); got != "50% done\tok\n" {
		t.Errorf("plain text changed: %q", got)
	}
}

// TestDotenv: values are single printable lines or refused, and outputs
// that would take the report over GitLab's limit are left out and listed.
func TestDotenv(t *testing.T) {
	big := "[" + strings.Repeat(`"dist/x.whl.sigstore.json",`, 300) + `""]`
	for _, tc := range []struct {
		name        string
		outputs     [][2]string
		want        string
		omitted     []string
		refusedText string
	}{
		{name: "plain", outputs: [][2]string{{"verified", "true"}, {"provenance-bundle-path", "dist/provenance.sigstore.json"}},
			want: "AP_OUTPUTS_FILE=out.json\nAP_SUMMARY_FILE=summary.md\nAP_VERIFIED=true\nAP_PROVENANCE_BUNDLE_PATH=dist/provenance.sigstore.json\n"},
		{name: "too big", outputs: [][2]string{{"verified", "false"}, {"bundles", big}, {"published-urls", "[]"}},
			want:    "AP_OUTPUTS_FILE=out.json\nAP_SUMMARY_FILE=summary.md\nAP_VERIFIED=false\nAP_PUBLISHED_URLS=[]\nAP_OMITTED=bundles\n",
			omitted: []string{"bundles"}},
		{name: "newline refused", outputs: [][2]string{{"provenance-bundle-path", "dist/a\nAP_VERIFIED=true"}, {"verified", "false"}},
			want:        "AP_OUTPUTS_FILE=out.json\nAP_SUMMARY_FILE=summary.md\nAP_VERIFIED=false\n",
			refusedText: "output provenance-bundle-path: value \"dist/a\\nAP_VERIFIED=true\" is not one line"},
		{name: "CR and NUL refused", outputs: [][2]string{{"bundles", "a\rb"}, {"attestations", "a\x00"}, {"verdicts", " padded"}},
			want:        "AP_OUTPUTS_FILE=out.json\nAP_SUMMARY_FILE=summary.md\n",
			refusedText: "white space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, omitted, refused := Dotenv(tc.outputs, "out.json", "summary.md")
			if string(data) != tc.want {
				t.Errorf("dotenv:\n%s\nwant\n%s", data, tc.want)
			}
			if strings.Join(omitted, ",") != strings.Join(tc.omitted, ",") {
				t.Errorf("omitted %v, want %v", omitted, tc.omitted)
			}
			if tc.refusedText == "" && len(refused) > 0 || tc.refusedText != "" && !strings.Contains(errors.Join(refused...).Error(), tc.refusedText) {
				t.Errorf("refused %v, want one with %q", refused, tc.refusedText)
			}
			if len(data) > DotenvLimit {
				t.Errorf("%d bytes", len(data))
			}
		})
	}
}

// TestGitLabErrorNamesTheDist: a failure about one dist gets an error line
// naming it, with the dist's name escaped.
func TestGitLabErrorNamesTheDist(t *testing.T) {
	s := newStack(t)
	o := s.options(ModeRelease)
	o.Sign.Trust = func() (*signing.Trust, error) {
		return nil, errors.New("refusing " + pypitest.SdistName + "\x1b[0K")
	}
	var log bytes.Buffer
	gl := NewGitLabLog(&log, nil)
	files := t.TempDir()
	h := &GitLabHandler{Log: gl, Text: &TextHandler{Out: gl.Text(), Log: gl.Text()},
		DotenvPath: filepath.Join(files, "attest-publish.env"), SummaryPath: filepath.Join(files, "summary.md"), JSONPath: filepath.Join(files, "summary.json")}
	if _, err := Run(context.Background(), o, h); err == nil {
		t.Fatal("no error")
	}
	_ = gl.Flush()
	want := "error: " + filepath.Join(s.dir, pypitest.SdistName) + ": signing failed, nothing published: refusing " + pypitest.SdistName + "%1B[0K"
	if !strings.Contains(log.String(), want) {
		t.Errorf("no error line naming the dist (%q):\n%s", want, log.String())
	}
	checkGitLabFiles(t, files, log.String())
}
