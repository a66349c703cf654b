//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/actionio/runnertest"
	"github.com/attest-publish/attest-publish/test/e2e/leakscan"
)

// canaryValue is a recognisable secret: prefix, then random hex (so a hit
// always comes from this run).
func canaryValue(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// recorders are the test's recording proxies by name: every request the
// binary makes to a token endpoint, an index, Sigstore or GitHub's API
// goes through one of them.
type recorders map[string]*leakscan.Recorder

func (rs recorders) add(t *testing.T, name, upstream string, gate func(http.ResponseWriter, *http.Request) bool) *leakscan.Recorder {
	t.Helper()
	rec, err := leakscan.NewRecorder(upstream, gate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rec.Close)
	rs[name] = rec
	return rec
}

// canarySigningConfig writes a copy of the stack's signing config whose
// Fulcio, Rekor and TSA URLs point at recorders in front of them.
func canarySigningConfig(t *testing.T, rs recorders) string {
	t.Helper()
	return signingConfigThrough(t, func(name, origin string) string { return rs.add(t, name, origin, nil).URL })
}

// canaryRun runs `attest-publish args…` in exactly environ, in dir, with
// stdout and stderr interleaved as the runner receives them.
func canaryRun(t *testing.T, environ map[string]string, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(attestPublish, args...)
	cmd.Dir = dir
	for k, v := range environ {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &runnertest.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

// TestCanaryNoSecretLeaks runs the CLI release (trusted publishing), a
// password-mode publish and the action's release (trusted publishing,
// attest-to-github) with recognisable secrets, then scans everything they
// produced and every request they made. The secrets: the OIDC request
// token (chosen by the test: a recorder in front of the issuer's token
// endpoint accepts it and forwards the stack's own), every ID token the
// issuer minted and every API token the index minted (learned exactly from
// the recorders), GITHUB_TOKEN (env and github-token input) and
// pypiserver's password (ATTEST_PUBLISH_PASSWORD). Each is searched raw,
// base64 (both alphabets, padded or not, at any alignment) and URL-encoded
// in: stdout+stderr as the runner processes them (only inside a processed
// ::add-mask::, never in the job log), GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
// every file under the test's temporary directories (packages dirs,
// workspace, RUNNER_TEMP, TMPDIR, HOME, the indexes' dirs with their
// front.log and pypiserver.log), the whole stack directory (its service
// logs), and every recorded exchange except the one part meant to carry
// each secret. It then plants a secret and checks the scan finds it.
func TestCanaryNoSecretLeaks(t *testing.T) {
	start := time.Now()
	reqToken := canaryValue(t, "CANARYoidcRequestToken")
	ghToken := canaryValue(t, "ghs_CANARYgithubToken")
	rs := recorders{}

	// The runner's token endpoint, behind a recorder that wants the canary.
	tokenURL, err := url.Parse(env.tokenURL)
	if err != nil {
		t.Fatal(err)
	}
	oidc := rs.add(t, "oidc", tokenURL.Scheme+"://"+tokenURL.Host, leakscan.TokenGate(reqToken, env.requestToken))
	signingConfig := canarySigningConfig(t, rs)

	// Three indexes (each run uploads the same release), each behind a
	// recorder; the password run talks to pypiserver itself.
	indexA, indexB, indexC := startIndex(t), startIndex(t), startIndex(t)
	frontA := rs.add(t, "index-A", indexA["INDEXFRONT_URL"], nil)
	pypiserverB := rs.add(t, "pypiserver-B", indexB["INDEXFRONT_UPSTREAM_URL"], nil)
	frontC := rs.add(t, "index-C", indexC["INDEXFRONT_URL"], nil)
	api := startAttestationsAPI(t, ghToken)
	apiRec := rs.add(t, "github-api", api.URL, nil)
	password := indexB["INDEXFRONT_UPSTREAM_PASSWORD"]

	canaryEnv := func(e map[string]string) map[string]string {
		e["ACTIONS_ID_TOKEN_REQUEST_URL"] = oidc.URL + tokenURL.RequestURI()
		e["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = reqToken
		e["GITHUB_TOKEN"] = ghToken
		e["HOME"] = t.TempDir()
		e["TMPDIR"] = t.TempDir()
		return e
	}
	type run struct{ name, output string }
	var runs []run

	// 1. The CLI release: sign, verify, publish with trusted publishing.
	dist := copyDists(t)
	out, code := canaryRun(t, canaryEnv(runnerEnv("")), dist, "release", "--packages-dir", dist,
		"--signing-config", signingConfig, "--trusted-root", env.trustedRoot,
		"--repository-url", frontA.URL+"/legacy/")
	if code != 0 {
		t.Fatalf("release exited %d:\n%s", code, out)
	}
	runs = append(runs, run{"CLI release", out})

	// 2. Password mode: the same signed release straight to pypiserver.
	distB := t.TempDir()
	if err := os.CopyFS(distB, os.DirFS(dist)); err != nil {
		t.Fatal(err)
	}
	e := canaryEnv(runnerEnv(""))
	e["ATTEST_PUBLISH_PASSWORD"] = password
	out, code = canaryRun(t, e, distB, "publish", "--packages-dir", distB, "--trusted-root", env.trustedRoot,
		"--repository-url", pypiserverB.URL+"/", "--user", indexB["INDEXFRONT_UPSTREAM_USER"])
	if code != 0 {
		t.Fatalf("password-mode publish exited %d:\n%s", code, out)
	}
	runs = append(runs, run{"CLI publish (password)", out})

	// 3. The action's release, with attest-to-github and the github-token.
	ws, environ := actionWorkspace(t)
	environ = canaryEnv(environ)
	environ["GITHUB_API_URL"] = apiRec.URL
	files := t.TempDir()
	environ["GITHUB_OUTPUT"] = filepath.Join(files, "output")
	environ["GITHUB_STEP_SUMMARY"] = filepath.Join(files, "summary")
	for _, f := range []string{environ["GITHUB_OUTPUT"], environ["GITHUB_STEP_SUMMARY"]} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, v := range map[string]string{
		"mode": "release", "packages-dir": "dist", "repository-url": frontC.URL + "/legacy/",
		"signing-config": signingConfig, "trusted-root": env.trustedRoot, "sigstore-instance": "auto",
		"attest-to-github": "true", "github-token": ghToken, "audit": "strict", "attestations": "true",
	} {
		environ["AP_INPUT_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = v
	}
	out, code = canaryRun(t, environ, ws, "action")
	if code != 0 {
		t.Fatalf("action release exited %d:\n%s", code, out)
	}
	outputs, err := os.ReadFile(environ["GITHUB_OUTPUT"])
	if err != nil {
		t.Fatal(err)
	}
	if o := parseOutputFile(t, string(outputs)); o["verified"] != "true" || o["attestation-id"] != "4242" {
		t.Fatalf("action outputs: verified=%q attestation-id=%q", o["verified"], o["attestation-id"])
	}
	runs = append(runs, run{"action release", out})
	ran := time.Since(start)

	// The secrets: chosen ones, and the tokens the servers handed out.
	secrets := []leakscan.Secret{
		{Name: "oidc-request-token", Value: reqToken},
		{Name: "github-token", Value: ghToken},
		{Name: "pypiserver-password", Value: password},
	}
	idTokens, err := leakscan.IDTokens(oidc.Exchanges(), 1)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, idTokens...)
	for i, name := range []string{"index-A", "index-C"} {
		apiTokens, err := leakscan.APITokens(name, rs[name].Exchanges(), i+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(apiTokens) != 1 {
			t.Fatalf("%s minted %d API tokens, want 1", name, len(apiTokens))
		}
		secrets = append(secrets, apiTokens...)
	}
	s := leakscan.New(secrets...)
	var names []string
	for _, sec := range secrets {
		names = append(names, s.Describe(sec.Name))
	}
	t.Logf("canary secrets: %s", strings.Join(names, "; "))

	scanStart := time.Now()
	var leaks []leakscan.Hit
	// Output as the runner shows it.
	views := map[string]*runnertest.View{}
	for _, r := range runs {
		hits, v := s.RunnerOutput(r.name, r.output)
		leaks = append(leaks, hits...)
		views[r.name] = v
	}
	// Files: everything under this test's temporary directories, except
	// the index harness's own record of pypiserver's password
	// (indexfront.env, written by test/indexfront/harness.py for the test).
	tmpRoot := filepath.Dir(t.TempDir())
	hits, st, err := s.ScanDir(tmpRoot, func(path string, d fs.DirEntry) bool {
		return !d.IsDir() && d.Name() == "indexfront.env"
	})
	if err != nil {
		t.Fatal(err)
	}
	leaks = append(leaks, hits...)
	t.Logf("scanned %s: %s (skipped %v)", tmpRoot, st, st.Skipped)
	if len(st.Skipped) != 3 || len(st.Truncated) != 0 {
		t.Errorf("want exactly the 3 indexfront.env skipped and nothing truncated: %v", st)
	}
	t.Logf("file and output scans took %s, runs %s", time.Since(scanStart).Round(time.Millisecond), ran.Round(time.Millisecond))
	// The stack, and every request and response except the part meant to
	// carry each secret (each must have been used as intended).
	s.Conclude(t, leaks, env.stackDir, rs, nil)
	// …and the values the runner must hide were masked.
	for run, names := range map[string][]string{
		"CLI release":    {"pypi-api-token@index-A#1"},
		"action release": {"pypi-api-token@index-C#2", "github-token"},
	} {
		masked := s.Masked(views[run])
		for _, n := range names {
			if !masked[n] {
				t.Errorf("%s: %s was not registered with ::add-mask::", run, s.Describe(n))
			}
		}
	}

	canarySelfCheck(t, s, secrets, indexA, runs[0].output)
	t.Logf("canary test: %s in all", time.Since(start).Round(time.Millisecond))
}

// canarySelfCheck shows the scan can fail: a secret planted into a log the
// scan reads, and into the output, is found where it was put.
func canarySelfCheck(t *testing.T, s *leakscan.Scanner, secrets []leakscan.Secret, index map[string]string, output string) {
	t.Helper()
	var pypiToken string
	for _, sec := range secrets {
		if strings.HasPrefix(sec.Name, "pypi-api-token@index-A") {
			pypiToken = sec.Value
		}
	}
	// Into the index's front.log: the upload's Basic header, as a careless
	// request log would write it.
	frontLog := filepath.Join(filepath.Dir(index["INDEXFRONT_PACKAGES_DIR"]), "front.log")
	before, err := os.ReadFile(frontLog)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(frontLog, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "http://127.0.0.1/legacy/", nil)
	req.SetBasicAuth("__token__", pypiToken)
	fmt.Fprintf(f, "indexfront: planted by canarySelfCheck - Authorization: %s\n", req.Header.Get("Authorization"))
	f.Close()
	hits, _, _, err := s.ScanFile(frontLog)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Offset < int64(len(before)) || !strings.HasPrefix(hits[0].SecretName(), "pypi-api-token@index-A") {
		t.Errorf("self-check: the token planted into %s (base64 in a Basic header, after byte %d) was not found exactly once: %v", frontLog, len(before), hits)
	} else {
		t.Logf("self-check: planted token found: %s", hits[0])
	}
	if err := os.WriteFile(frontLog, before, 0o644); err != nil {
		t.Fatal(err)
	}

	// Into the output: a line printing the request token, then one printing
	// the masked API token (masked in the log, yet a leak in the raw output).
	planted := output + "debug: request token " + s.Secrets()[0].Value + "\nminted " + pypiToken + "\n"
	hits, _ = s.RunnerOutput("self-check", planted)
	var got []string
	for _, h := range hits {
		got = append(got, h.SecretName()+" "+h.Where[strings.Index(h.Where, ":")+2:])
	}
	lines := strings.Count(output, "\n")
	want := []string{
		fmt.Sprintf("oidc-request-token output line %d", lines+1),
		fmt.Sprintf("pypi-api-token@index-A#1 output line %d", lines+2),
	}
	if len(got) < 3 || got[0] != want[0] || got[1] != want[1] || !strings.HasPrefix(got[2], "oidc-request-token job log line") {
		t.Errorf("self-check: planted output lines gave %q, want %q then the request token in the job log (the API token is masked there)", got, want)
	}
	for _, h := range hits {
		for _, sec := range secrets {
			if strings.Contains(h.String(), sec.Value) {
				t.Errorf("self-check: a report shows %s", s.Describe(sec.Name))
			}
		}
	}
}
