package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/actionio/runnertest"
	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/pypitest"
	"github.com/attest-publish/attest-publish/internal/release"
	"github.com/attest-publish/attest-publish/internal/sigstoretest"
)

// These tests replay what action mode (and the CLI under a runner) prints
// the way actions/runner reads it (runnertest): stdout and stderr go to one
// runnertest.Output, interleaved as the runner receives them.

// stepFiles creates $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY and adds them to
// env.
func stepFiles(t *testing.T, env map[string]string) (output, summary string) {
	t.Helper()
	dir := t.TempDir()
	output, summary = filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	for _, f := range []string{output, summary} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"] = output, summary
	return output, summary
}

// fakeTokenEnv adds GitHub Actions' token endpoint, handing out the fake
// Sigstore instance's tokens for any audience, to env.
func fakeTokenEnv(t *testing.T, fake *sigstoretest.Instance, env map[string]string) {
	t.Helper()
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"value": fake.Token(map[string]any{"aud": r.URL.Query().Get("audience")})})
	}))
	t.Cleanup(tokens.Close)
	env["GITHUB_ACTIONS"] = "true"
	env["ACTIONS_ID_TOKEN_REQUEST_URL"] = tokens.URL + "/token?api-version=2.0"
	env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "request-token"
}

// TestActionReleaseDistNameCannotLeakMintedToken (security review, finding
// 1): a wheel renamed to sample-1.0-1\n::stop-commands::x1\n-none-any.whl
// (its METADATA still valid) used to be signed, verified and published in
// action mode release; its name, printed raw before the token was minted,
// paused the runner's command processing, so the minted API token's
// ::add-mask:: line reached the job log in clear and registered nothing.
// Now the name is refused before anything is signed or minted, the refusal
// is an error annotation the runner processes, and in the runner's view of
// the output no command was paused and no token is readable.
func TestActionReleaseDistNameCannotLeakMintedToken(t *testing.T) {
	fake := sigstoretest.Start(t)
	ix := pypitest.NewIndex(t)
	dir := pypitest.WriteRelease(t)
	evil := "sample-1.0-1\n::stop-commands::x1\n-none-any.whl"
	if err := os.Rename(filepath.Join(dir, pypitest.WheelName), filepath.Join(dir, evil)); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AP_INPUT_MODE":           "release",
		"AP_INPUT_AUDIT":          "off",
		"AP_INPUT_PACKAGES_DIR":   dir,
		"AP_INPUT_SIGNING_CONFIG": fake.SigningConfigPath(true, true),
		"AP_INPUT_TRUSTED_ROOT":   fake.TrustedRootPath(),
		"AP_INPUT_REPOSITORY_URL": ix.URL(),
	}
	fakeTokenEnv(t, fake, env)
	stepFiles(t, env)
	var out runnertest.Output
	runErr := runAction(context.Background(), nil, &out, &out, mapEnv(env))
	v := runnertest.Replay(out.String())
	t.Logf("error: %v; mints %d; uploads %d", runErr, ix.Mints(), ix.UploadRequests())

	if stops := v.Named("stop-commands"); len(stops) > 0 {
		t.Errorf("the runner paused command processing at output line %d: %q", stops[0].Line, v.Raw[stops[0].Line-1])
	}
	for n := 1; n <= ix.Mints(); n++ {
		token := fmt.Sprintf("pypi-minted-%d", n)
		registered := false
		for _, s := range v.Secrets {
			registered = registered || s == token
		}
		if !registered {
			t.Errorf("the minted token %s was never registered as a secret (secrets: %q)", token, v.Secrets)
		}
	}
	for _, l := range v.Log {
		if strings.Contains(l, "pypi-minted-") {
			t.Errorf("a minted API token is readable in the job log: %q", l)
		}
	}
	if runErr == nil || ix.Mints() != 0 || ix.UploadRequests() != 0 || fake.FulcioRequests() != 0 {
		t.Fatalf("the dist name was not refused before signing: error %v, Fulcio requests %d, mints %d, uploads %d",
			runErr, fake.FulcioRequests(), ix.Mints(), ix.UploadRequests())
	}
	if want := `/sample-1.0-1\n::stop-commands::x1\n-none-any.whl": refused: contains the control character U+000A`; !strings.Contains(runErr.Error(), want) {
		t.Errorf("error %q does not name the file escaped and say why (%s)", runErr, want)
	}
	failedAnnotation := false
	for _, c := range v.Named("error") {
		failedAnnotation = failedAnnotation || c.Properties["title"] == "attest-publish release failed"
	}
	if !failedAnnotation {
		t.Errorf("the runner processed no 'attest-publish release failed' annotation: %+v\n%s", v.Commands, out.String())
	}
}

// TestActionVerifyFromIndexSummaryUsesVerifiedDigest (security review,
// finding 2): verify mode with from-index showed, next to "✓ verified", the
// size and SHA-256 of a local file that merely has the verified download's
// name (also in the sha256sum -c block). The summary, and the verdicts
// output, now carry the size and digest of the bytes downloaded and
// verified.
func TestActionVerifyFromIndexSummaryUsesVerifiedDigest(t *testing.T) {
	vec := filepath.Join(vectorsDir(t), "pep740-pypi_attestations-0.0.19-publish")
	const name = "pypi_attestations-0.0.19.tar.gz"
	sdist, err := os.ReadFile(filepath.Join(vec, name))
	if err != nil {
		t.Fatal(err)
	}
	att, err := os.ReadFile(filepath.Join(vec, name+".publish.attestation"))
	if err != nil {
		t.Fatal(err)
	}
	srv := fakeIndexServer(t, sdist, att, false)
	trustedRoot, err := filepath.Abs(filepath.Join(vec, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A different file of the same name where the step runs.
	t.Chdir(t.TempDir())
	local := []byte("not the release: a tampered local copy 0123")
	if err := os.WriteFile(name, local, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AP_INPUT_MODE":                    "verify",
		"AP_INPUT_FROM_INDEX":              srv.URL,
		"AP_INPUT_VERIFY_PATHS":            "pypi-attestations==0.0.19",
		"AP_INPUT_TRUSTED_ROOT":            trustedRoot,
		"AP_INPUT_CERTIFICATE_IDENTITY":    paIdentity,
		"AP_INPUT_CERTIFICATE_OIDC_ISSUER": ghIssuer,
		"AP_INPUT_PUBLISHER_KIND":          "github",
		"AP_INPUT_PUBLISHER_REPOSITORY":    "trailofbits/pypi-attestations",
		"AP_INPUT_PUBLISHER_WORKFLOW":      "release.yml",
	}
	output, summary := stepFiles(t, env)
	var out runnertest.Output
	if err := runAction(context.Background(), nil, &out, &out, mapEnv(env)); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	verified := fmt.Sprintf("%x", sha256.Sum256(sdist))
	localSum := fmt.Sprintf("%x", sha256.Sum256(local))
	for _, want := range []string{
		"| `" + name + "` | " + dists.FormatSize(int64(len(sdist))) + " | `" + verified[:12] + "…` | ✓ verified |",
		verified + "  " + name + "\n",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the summary lacks %q (the verified download: %d bytes, sha256 %s)", want, len(sdist), verified)
		}
	}
	if strings.Contains(string(md), localSum[:12]) {
		t.Errorf("the summary shows the local file's sha256 %s for the verified download:\n%s", localSum[:12], md)
	}
	outputs, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`"sha256":%q,"size":%d`, verified, len(sdist)); !strings.Contains(string(outputs), want) {
		t.Errorf("the verdicts output lacks %s:\n%s", want, outputs)
	}
}

// hostileIndex serves project "sample" from an index that tries to write
// workflow commands into the verifying job's log: for 1.0 an Integrity API
// refusal whose text holds the older ##[command] form, for 2.0 a file name
// carrying command lines.
func hostileIndex(t *testing.T) *httptest.Server {
	t.Helper()
	const good = "sample-1.0.tar.gz"
	evil := "sample-2.0-1\n::notice title=verify::sample 2.0 verified against its provenance\n::stop-commands::zz\n-none-any.whl"
	data := []byte("sdist bytes")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/simple/sample/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			var files []map[string]any
			for _, n := range []string{good, evil} {
				files = append(files, map[string]any{"filename": n, "url": "/files/" + hex.EncodeToString([]byte(n)), "hashes": map[string]string{}})
			}
			json.NewEncoder(w).Encode(map[string]any{"files": files})
		case strings.HasPrefix(p, "/files/"):
			w.Write(data)
		default:
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, "##[stop-commands]zz")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestVerifyFromIndexTextCannotInjectCommands (security review, finding 3):
// verify --from-index printed what the index (the party being checked)
// sent: file names with command lines (a forged ::notice, ::stop-commands::)
// and error texts holding ##[stop-commands]; the runner paused processing,
// so the real ::error annotations of the failed verification were lost.
// Now such a name fails its release (quoted), and in action mode and in
// the CLI under a runner every line is escaped: the runner processes no
// command the tool did not write, and the tool's own annotations all reach
// it.
func TestVerifyFromIndexTextCannotInjectCommands(t *testing.T) {
	srv := hostileIndex(t)
	root := filepath.Join(vectorsDir(t), "pep740-pypi_attestations-0.0.19-publish", "trusted_root.json")
	for _, tc := range []struct {
		name string
		run  func(env map[string]string, out *runnertest.Output) error
		// wantErrors are the titles of the error annotations the tool
		// writes.
		wantErrors []string
	}{
		{name: "action mode", run: func(env map[string]string, out *runnertest.Output) error {
			env["AP_INPUT_MODE"] = "verify"
			env["AP_INPUT_FROM_INDEX"] = srv.URL
			env["AP_INPUT_VERIFY_PATHS"] = "sample==1.0\nsample==2.0"
			env["AP_INPUT_TRUSTED_ROOT"] = root
			env["AP_INPUT_CERTIFICATE_IDENTITY"] = paIdentity
			env["AP_INPUT_CERTIFICATE_OIDC_ISSUER"] = ghIssuer
			stepFiles(t, env)
			return runAction(context.Background(), nil, out, out, mapEnv(env))
		}, wantErrors: []string{"attest-publish verify: material", "attest-publish verify: material", "attest-publish verify failed"}},
		{name: "CLI under a runner", run: func(env map[string]string, out *runnertest.Output) error {
			env["GITHUB_ACTIONS"] = "true"
			args := []string{"verify", "--from-index", srv.URL, "--trusted-root", root,
				"--certificate-identity", paIdentity, "--certificate-oidc-issuer", ghIssuer, "sample==1.0", "sample==2.0"}
			if code := run(context.Background(), args, out, out, mapEnv(env)); code != 1 {
				return fmt.Errorf("exit status %d, want 1", code)
			}
			return release.ErrNotVerified
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out runnertest.Output
			if err := tc.run(map[string]string{}, &out); err == nil {
				t.Fatalf("verification of the hostile index passed\n%s", out.String())
			}
			v := runnertest.Replay(out.String())
			var titles []string
			for _, c := range v.Commands {
				switch c.Name {
				case "group", "endgroup":
				case "error":
					titles = append(titles, c.Properties["title"])
				default:
					t.Errorf("the runner processed a command the tool did not write, output line %d: %q", c.Line, v.Raw[c.Line-1])
				}
			}
			if got, want := strings.Join(titles, "; "), strings.Join(tc.wantErrors, "; "); got != want {
				t.Errorf("error annotations the runner processed: %q, want %q\n%s", got, want, out.String())
			}
			for _, want := range []string{"FAIL sample-1.0.tar.gz: material check failed:", "FAIL sample==2.0: material check failed:"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("no verdict %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestActionWritesEveryOutput (security review, finding 1, related effect):
// a valid wheel name whose platform tag is the file command delimiter
// go-githubactions writes outputs with made SetOutput refuse the bundles
// output, and finish() stopped there: no output at all was written. Now
// every other output is written, each refused one is an error annotation,
// and the step fails.
func TestActionWritesEveryOutput(t *testing.T) {
	fake := sigstoretest.Start(t)
	dir := pypitest.WriteRelease(t)
	renamed := "sample-1.0-py3-none-_GitHubActionsFileCommandDelimeter_.whl"
	if err := os.Rename(filepath.Join(dir, pypitest.WheelName), filepath.Join(dir, renamed)); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AP_INPUT_MODE":           "sign",
		"AP_INPUT_AUDIT":          "off",
		"AP_INPUT_PACKAGES_DIR":   dir,
		"AP_INPUT_SIGNING_CONFIG": fake.SigningConfigPath(true, true),
		"AP_INPUT_TRUSTED_ROOT":   fake.TrustedRootPath(),
	}
	fakeTokenEnv(t, fake, env)
	output, _ := stepFiles(t, env)
	var out runnertest.Output
	runErr := runAction(context.Background(), nil, &out, &out, mapEnv(env))
	data, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]string{}
	for rest := string(data); rest != ""; {
		head, body, ok := strings.Cut(rest, "\n")
		name, delim, isHeredoc := strings.Cut(head, "<<")
		if !ok || !isHeredoc {
			t.Fatalf("GITHUB_OUTPUT is not heredocs: %q", rest)
		}
		value, after, ok := strings.Cut(body, "\n"+delim+"\n")
		if !ok {
			t.Fatalf("output %s: no closing delimiter", name)
		}
		written[name], rest = value, after
	}
	for _, name := range []string{"provenance-bundle-path", "attestation-id", "attestation-url", "published-urls", "verified", "verdicts"} {
		if _, ok := written[name]; !ok {
			t.Errorf("output %s was not written (written: %v)", name, written)
		}
	}
	if written["verified"] != "true" || !strings.HasSuffix(written["provenance-bundle-path"], "provenance.sigstore.json") {
		t.Errorf("verified %q, provenance-bundle-path %q", written["verified"], written["provenance-bundle-path"])
	}
	for _, name := range []string{"bundles", "attestations"} {
		if _, ok := written[name]; ok {
			t.Errorf("output %s holds the delimiter and was written anyway", name)
		}
	}
	var titles []string
	for _, c := range runnertest.Replay(out.String()).Named("error") {
		titles = append(titles, c.Properties["title"])
	}
	if got, want := strings.Join(titles, "; "), "attest-publish: output bundles not written; attest-publish: output attestations not written"; got != want {
		t.Errorf("error annotations %q, want %q\n%s", got, want, out.String())
	}
	if runErr == nil || !strings.Contains(runErr.Error(), "2 output(s) not written") {
		t.Errorf("run error %v, want one failing the step for the refused outputs", runErr)
	}
}
