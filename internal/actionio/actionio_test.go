package actionio

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// envOf returns a getenv reading m only.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestInputsComeFromAPInputOnly(t *testing.T) {
	a := New(Options{Getenv: envOf(map[string]string{
		"AP_INPUT_PACKAGES_DIR":      "  out/dist \n",
		"INPUT_MODE":                 "sign", // act's automatic INPUT_*: must not count
		"AP_INPUT_VERIFY_PATHS":      "a.whl\n\n  b.tar.gz  \n",
		"AP_INPUT_SKIP_EXISTING":     "TRUE",
		"AP_INPUT_VERBOSE":           "yes",
		"AP_INPUT_SIGSTORE_INSTANCE": "github",
	}), Out: &bytes.Buffer{}})
	if got := a.Input("packages-dir"); got != "out/dist" {
		t.Errorf("packages-dir = %q", got)
	}
	if got := a.Input("mode"); got != "" {
		t.Errorf("mode read %q from INPUT_MODE; only AP_INPUT_MODE counts", got)
	}
	if got := a.Lines("verify-paths"); strings.Join(got, "|") != "a.whl|b.tar.gz" {
		t.Errorf("verify-paths = %q", got)
	}
	if got, err := a.Bool("skip-existing", false); err != nil || !got {
		t.Errorf("skip-existing = %v, %v", got, err)
	}
	if got, err := a.Bool("print-hash", true); err != nil || !got {
		t.Errorf("unset print-hash = %v, %v; want the default", got, err)
	}
	if _, err := a.Bool("verbose", false); err == nil || !strings.Contains(err.Error(), `input verbose must be true or false, got "yes"`) {
		t.Errorf("verbose=yes: %v", err)
	}
	if got, err := a.OneOf("mode", "release", "sign"); err != nil || got != "release" {
		t.Errorf("unset mode = %q, %v", got, err)
	}
	if _, err := a.OneOf("sigstore-instance", "auto", "public-good"); err == nil || !strings.Contains(err.Error(), "must be one of auto, public-good") {
		t.Errorf("sigstore-instance=github: %v", err)
	}
	if got := InputEnv("certificate-oidc-issuer-regexp"); got != "AP_INPUT_CERTIFICATE_OIDC_ISSUER_REGEXP" {
		t.Errorf("InputEnv = %q", got)
	}
}

// Outside a runner the file commands have no file: go-githubactions would
// panic (os.OpenFile("")); actionio returns an error.
func TestNoPanicOutsideActions(t *testing.T) {
	var out bytes.Buffer
	a := New(Options{Getenv: envOf(nil), Out: &out})
	if err := a.SetOutput("bundles", "[]"); !errors.Is(err, ErrNoOutputFile) {
		t.Errorf("SetOutput without GITHUB_OUTPUT: %v", err)
	}
	if err := a.AddSummary("# hi\n"); !errors.Is(err, ErrNoSummaryFile) {
		t.Errorf("AddSummary without GITHUB_STEP_SUMMARY: %v", err)
	}
	// A file that cannot be opened: the library panics, we do not.
	bad := New(Options{Getenv: envOf(map[string]string{"GITHUB_OUTPUT": filepath.Join(t.TempDir(), "no", "such", "dir", "out")}), Out: &out})
	if err := bad.SetOutput("x", "y"); err == nil {
		t.Error("SetOutput to an unopenable file: no error")
	}
	// A broken stdout: the library panics on every command, we drop it.
	broken := New(Options{Getenv: envOf(nil), Out: failingWriter{}})
	broken.Group("sign")
	broken.Mask("s3cret")
	broken.Error(Annotation{Message: "x"})
	broken.EndGroup()
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestOutputsAndCommands(t *testing.T) {
	dir := t.TempDir()
	outFile, sumFile := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	ws := filepath.Join(dir, "ws")
	var out bytes.Buffer
	a := New(Options{Getenv: envOf(map[string]string{"GITHUB_OUTPUT": outFile, "GITHUB_STEP_SUMMARY": sumFile, "GITHUB_WORKSPACE": ws}), Out: &out})
	if err := a.SetOutputJSON("bundles", []string{"dist/a.whl.sigstore.json"}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetOutput("verified", "true"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetOutput("evil", "x\n_GitHubActionsFileCommandDelimeter_\nverified<<EOF\nfalse"); err == nil {
		t.Error("a value holding the delimiter was written")
	}
	if err := a.AddSummary("## ok\n"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(outFile)
	want := "bundles<<_GitHubActionsFileCommandDelimeter_\n[\"dist/a.whl.sigstore.json\"]\n_GitHubActionsFileCommandDelimeter_\n" +
		"verified<<_GitHubActionsFileCommandDelimeter_\ntrue\n_GitHubActionsFileCommandDelimeter_\n"
	if string(data) != want {
		t.Errorf("GITHUB_OUTPUT:\n%s\nwant:\n%s", data, want)
	}
	if data, _ := os.ReadFile(sumFile); string(data) != "## ok\n\n" {
		t.Errorf("summary file: %q", data)
	}

	a.Mask("pypi-abc\npypi-def")
	a.Mask("")
	a.Group("sign")
	a.Error(Annotation{File: a.RelPath(filepath.Join(ws, "dist", "a,b.whl")), Title: "attest-publish: sign", Message: "bad\nthing 100%"})
	a.Warning(Annotation{File: ".github/workflows/release.yml", Line: 8, Message: "unpinned"})
	a.EndGroup()
	wantCmds := "::add-mask::pypi-abc%0Apypi-def\n::add-mask::pypi-abc\n::add-mask::pypi-def\n::group::sign\n" +
		"::error file=dist/a%2Cb.whl,title=attest-publish%3A sign::bad%0Athing 100%25\n" +
		"::warning file=.github/workflows/release.yml,line=8::unpinned\n::endgroup::\n"
	if out.String() != wantCmds {
		t.Errorf("commands:\n%s\nwant:\n%s", out.String(), wantCmds)
	}
	if got := a.RelPath("/elsewhere/x.whl"); got != "/elsewhere/x.whl" {
		t.Errorf("RelPath outside the workspace = %q", got)
	}
}

func TestRepositoryVisibility(t *testing.T) {
	for _, tc := range []struct {
		event, want string
		err         bool
	}{
		{"event-public.json", "public", false},
		{"event-private.json", "private", false},
		{"event-private-flag-only.json", "public", false},
		{"event-act-dispatch.json", "", false},
		{"event-broken.json", "", true},
		{"", "", false},
	} {
		path := ""
		if tc.event != "" {
			path = filepath.Join("testdata", tc.event)
		}
		a := New(Options{Getenv: envOf(map[string]string{"GITHUB_EVENT_PATH": path}), Out: &bytes.Buffer{}})
		got, err := a.RepositoryVisibility()
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%s: %q, %v; want %q (error %v)", tc.event, got, err, tc.want, tc.err)
		}
	}
}

// sampleSummary is a release that signed two dists on public-good Sigstore
// and published one of them.
func sampleSummary() *Summary {
	return &Summary{
		Title:      "attest-publish-sample 0.1.0",
		Mode:       "release",
		Failed:     true,
		Error:      "1 of 2 dists not uploaded: the index answered 400 | Bad Request",
		Signer:     "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v0.1.0",
		Issuer:     "https://token.actions.githubusercontent.com",
		Signatures: 7,
		Dists: []SummaryDist{{
			Name: "attest_publish_sample-0.1.0-py3-none-any.whl", Size: 3174,
			SHA256:    "ea98dad4d337c400489fc06dc54f6a82a9e14c36df5d8f7d882f07dfd7fee444",
			Signature: OK, SignatureNote: "signed, verified",
			Attestations: []string{"publish", "SLSA"}, AttestationStatus: OK,
			LogIndex: 123456789, LogURL: "https://search.sigstore.dev/?logIndex=123456789",
			Upload: OK, UploadNote: "uploaded", URL: "https://files.pythonhosted.org/packages/ea/98/attest_publish_sample-0.1.0-py3-none-any.whl",
		}, {
			Name: "attest_publish_sample-0.1.0.tar.gz", Size: 2765,
			SHA256:    "11dbef2bc146d52d51a4f9d06f5b5d89b07c2470bc0c19bf1680a8c1bde6943b",
			Signature: OK, Attestations: []string{"publish"}, AttestationStatus: OK,
			LogIndex: 7, Upload: Failed, UploadNote: "400 Bad Request | <invalid-distribution>",
		}, {
			Name: "other-1.0.zip", Size: 5 << 20, SHA256: "00ff", Signature: Failed, SignatureNote: "identity check failed", LogIndex: -1,
		}},
		Provenance:     "dist/provenance.sigstore.json",
		AttestationID:  "4242",
		AttestationURL: "https://github.com/octo-org/octo-repo/attestations/4242",
		RepositoryURL:  "https://upload.pypi.org/legacy/",
		Commands: []Command{
			{Caption: "Every dist in dist/:", Shell: "attest-publish verify \\\n  --certificate-identity x \\\n  dist"},
			{Shell: "gh attestation verify dist/x.whl --repo octo-org/octo-repo"},
		},
		Notes: []string{"audit: line 8: unpinned-action: pin it: `uses: actions/checkout@<sha> # v4` <now>", "a_b *c*"},
	}
}

func TestSummaryGolden(t *testing.T) {
	golden := filepath.Join("testdata", "summary.golden.md")
	got := sampleSummary().Markdown()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("summary differs from %s (go test -update to rewrite):\n%s", golden, got)
	}
}
