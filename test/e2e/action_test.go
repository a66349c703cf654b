//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// actionRun is one run of `attest-publish action` as the composite step
// runs it: cwd the workspace, inputs in AP_INPUT_*, the runner's files.
type actionRun struct {
	result
	outputs map[string]string
	summary string
}

// actionWorkspace makes a workspace holding the sample dists in dist/ and
// the calling workflow (testdata/action/release.yml), and returns it with
// the runner's environment for it.
func actionWorkspace(t *testing.T) (string, map[string]string) {
	t.Helper()
	ws := t.TempDir()
	dist := filepath.Join(ws, "dist")
	if err := os.CopyFS(dist, os.DirFS(sampleDists)); err != nil {
		t.Fatal(err)
	}
	wf := filepath.Join(ws, ".github", "workflows")
	if err := os.MkdirAll(wf, 0o755); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{"release.yml": filepath.Join(wf, "release.yml"), "event.json": filepath.Join(ws, "..", filepath.Base(ws)+"-event.json")} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "action", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := runnerEnv("")
	e["GITHUB_WORKSPACE"] = ws
	e["GITHUB_EVENT_PATH"] = filepath.Join(ws, "..", filepath.Base(ws)+"-event.json")
	e["RUNNER_TEMP"] = t.TempDir()
	e["RUNNER_OS"], e["RUNNER_ARCH"] = "Linux", "X64"
	return ws, e
}

// runAction runs the action's binary once with inputs (name → value).
func runAction(t *testing.T, ws string, environ map[string]string, inputs map[string]string) actionRun {
	t.Helper()
	files := t.TempDir()
	e := map[string]string{}
	for k, v := range environ {
		e[k] = v
	}
	e["GITHUB_OUTPUT"] = filepath.Join(files, "output")
	e["GITHUB_STEP_SUMMARY"] = filepath.Join(files, "summary")
	for _, f := range []string{e["GITHUB_OUTPUT"], e["GITHUB_STEP_SUMMARY"]} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, v := range inputs {
		e["AP_INPUT_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = v
	}
	cmd := exec.Command(attestPublish, "action")
	cmd.Dir = ws
	for k, v := range e {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r actionRun
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	out, err := os.ReadFile(e["GITHUB_OUTPUT"])
	if err != nil {
		t.Fatal(err)
	}
	r.outputs = parseOutputFile(t, string(out))
	sum, err := os.ReadFile(e["GITHUB_STEP_SUMMARY"])
	if err != nil {
		t.Fatal(err)
	}
	r.summary = string(sum)
	return r
}

// parseOutputFile reads $GITHUB_OUTPUT as the runner does: name=value
// lines and name<<DELIMITER heredocs.
func parseOutputFile(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("GITHUB_OUTPUT: heredoc %s not closed", name)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT: bad line %q", line)
		}
		out[name] = val
	}
	return out
}

func jsonList(t *testing.T, outputs map[string]string, name string) []string {
	t.Helper()
	var l []string
	if err := json.Unmarshal([]byte(outputs[name]), &l); err != nil {
		t.Fatalf("output %s = %q: %v", name, outputs[name], err)
	}
	return l
}

// summaryRow is one row of the job summary's dist table.
type summaryRow struct{ name, size, sha, signature, attestations, logIndex, upload string }

var (
	codeCell = regexp.MustCompile("^`([^`]*)`$")
	linkCell = regexp.MustCompile(`\[([^\]]*)\]\(([^)]*)\)`)
)

// summaryTable parses the markdown table of the job summary.
func summaryTable(t *testing.T, md string) []summaryRow {
	t.Helper()
	var rows []summaryRow
	in := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| Distribution |") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 7 {
			t.Fatalf("summary row with %d cells: %q", len(cells), line)
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		name := codeCell.FindStringSubmatch(cells[0])
		sha := codeCell.FindStringSubmatch(cells[2])
		if name == nil || sha == nil {
			t.Fatalf("summary row: name and sha256 should be code: %q", line)
		}
		rows = append(rows, summaryRow{name[1], cells[1], strings.TrimSuffix(sha[1], "…"), cells[3], cells[4], cells[5], cells[6]})
	}
	return rows
}

// TestActionRelease runs the action's binary in release mode as GitHub
// would (AP_INPUT_* inputs, the runner's files, the calling workflow in the
// workspace) against the local stack and index: outputs, annotations, log
// groups and the job summary must describe the run exactly; verify mode
// then passes on the result and fails on a swapped dist. The summary is
// rendered to HTML and screenshotted with headless Chromium into
// test/artifacts/summary.png.
func TestActionRelease(t *testing.T) {
	chromium, err := findChromium()
	if err != nil {
		t.Fatal("chromium is missing (the job summary screenshot needs it): run `make deps`, which installs it with apt-get install chromium")
	}
	index := startIndex(t)
	ws, environ := actionWorkspace(t)
	const ghToken = "ghs_actionE2ESecretToken0123456789"
	api := startAttestationsAPI(t, ghToken)
	environ["GITHUB_API_URL"] = api.URL
	r := runAction(t, ws, environ, map[string]string{
		"attest-to-github":  "true",
		"mode":              "release",
		"packages-dir":      "dist",
		"repository-url":    index["INDEXFRONT_UPLOAD_URL"],
		"signing-config":    env.signingConfig,
		"trusted-root":      env.trustedRoot,
		"sigstore-instance": "auto",
		"github-token":      ghToken,
		"audit":             "strict",
		"verify-metadata":   "true",
		"attestations":      "true",
	})
	t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	if r.code != 0 {
		t.Fatalf("action release exited %d", r.code)
	}

	// Secrets: only in the ::add-mask:: commands that hide them.
	if !strings.Contains(r.stdout, "::add-mask::"+ghToken+"\n") {
		t.Error("github-token was not masked")
	}
	for _, line := range strings.Split(r.stdout+r.stderr+r.summary, "\n") {
		if strings.Contains(line, ghToken) && !strings.HasPrefix(line, "::add-mask::") {
			t.Errorf("github-token printed: %q", line)
		}
	}
	// One log group per stage, in order; no audit findings on a good workflow.
	var groups []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if g, ok := strings.CutPrefix(line, "::group::"); ok {
			groups = append(groups, g)
		}
	}
	if want := []string{"audit", "sign", "verify", "attest to GitHub", "publish"}; !slices.Equal(groups, want) {
		t.Errorf("log groups %q, want %q", groups, want)
	}
	if strings.Contains(r.stdout, "::warning") || strings.Contains(r.stdout, "::error") {
		t.Errorf("annotations on a clean run:\n%s", r.stdout)
	}

	// Outputs.
	o := r.outputs
	dists := distFiles(t, filepath.Join(ws, "dist"))
	var wantBundles, wantAtts []string
	for _, d := range dists {
		rel := filepath.Join("dist", filepath.Base(d))
		wantBundles = append(wantBundles, rel+".sigstore.json")
		wantAtts = append(wantAtts, rel+".publish.attestation", rel+".slsa.attestation")
	}
	slices.Sort(wantBundles)
	slices.Sort(wantAtts)
	bundles, atts := jsonList(t, o, "bundles"), jsonList(t, o, "attestations")
	slices.Sort(bundles)
	slices.Sort(atts)
	if !slices.Equal(bundles, wantBundles) || !slices.Equal(atts, wantAtts) {
		t.Errorf("bundles %q attestations %q, want %q %q", bundles, atts, wantBundles, wantAtts)
	}
	for _, p := range append(append(bundles, atts...), o["provenance-bundle-path"]) {
		if _, err := os.Stat(filepath.Join(ws, p)); err != nil {
			t.Errorf("output names %s: %v", p, err)
		}
	}
	if o["provenance-bundle-path"] != filepath.Join("dist", "provenance.sigstore.json") {
		t.Errorf("provenance-bundle-path = %q", o["provenance-bundle-path"])
	}
	wantURL := "https://github.com/" + repository + "/attestations/4242"
	if o["verified"] != "true" || o["attestation-id"] != "4242" || o["attestation-url"] != wantURL {
		t.Errorf("verified=%q attestation-id=%q attestation-url=%q (want 4242, %s)", o["verified"], o["attestation-id"], o["attestation-url"], wantURL)
	}
	// attest-to-github stored exactly the release provenance bundle, with
	// the github-token; a consumer then finds and verifies it by digest.
	stored, err := os.ReadFile(filepath.Join(ws, o["provenance-bundle-path"]))
	if err != nil {
		t.Fatal(err)
	}
	if got := api.stored(); !jsonEqual(got, stored) {
		t.Errorf("stored bundle differs from %s:\n%s", o["provenance-bundle-path"], got)
	}
	if a := api.auth(); a != "Bearer "+ghToken {
		t.Errorf("attestations API Authorization = %q", a)
	}
	for _, d := range dists {
		out, code := verify(t, "--from-github", repository, "--github-api-url", api.URL,
			"--certificate-identity", identity, "--certificate-oidc-issuer", env.issuer, d)
		if code != 0 {
			t.Errorf("verify --from-github on what attest-to-github stored (%d):\n%s", code, out)
		}
	}
	var verdicts []struct {
		Artifact string `json:"artifact"`
		Verified bool   `json:"verified"`
		LogIndex *int64 `json:"log_index"`
	}
	if err := json.Unmarshal([]byte(o["verdicts"]), &verdicts); err != nil || len(verdicts) != len(dists) {
		t.Fatalf("verdicts %q: %v", o["verdicts"], err)
	}
	logIndex := map[string]string{}
	for _, v := range verdicts {
		if !v.Verified || v.LogIndex == nil {
			t.Errorf("verdict %+v", v)
			continue
		}
		logIndex[filepath.Base(v.Artifact)] = fmt.Sprint(*v.LogIndex)
	}
	published := jsonList(t, o, "published-urls")
	if len(published) != len(dists) {
		t.Fatalf("published-urls %q", published)
	}
	urlOf := map[string]string{}
	for _, u := range published {
		urlOf[u[strings.LastIndex(u, "/")+1:]] = u
	}

	// The summary's table: one row per dist, matching the files and outputs.
	rows := summaryTable(t, r.summary)
	if len(rows) != len(dists) {
		t.Fatalf("summary has %d rows for %d dists:\n%s", len(rows), len(dists), r.summary)
	}
	for _, row := range rows {
		path := filepath.Join(ws, "dist", row.name)
		st, err := os.Stat(path)
		if err != nil {
			t.Errorf("summary row for %s: %v", row.name, err)
			continue
		}
		sha := digest(t, path)
		if !strings.HasPrefix(sha, row.sha) || len(row.sha) < 12 {
			t.Errorf("%s: summary sha256 %q, file %s", row.name, row.sha, sha)
		}
		if !strings.Contains(r.summary, sha+"  "+row.name) {
			t.Errorf("%s: full digest missing from the summary", row.name)
		}
		if want := fmt.Sprintf("%.1f KiB", float64(st.Size())/1024); row.size != want {
			t.Errorf("%s: summary size %q, want %q", row.name, row.size, want)
		}
		if !strings.HasPrefix(row.signature, "✓") || !strings.HasPrefix(row.attestations, "✓ publish, SLSA") {
			t.Errorf("%s: signature %q attestations %q", row.name, row.signature, row.attestations)
		}
		if row.logIndex != logIndex[row.name] {
			t.Errorf("%s: summary log index %q, verdict %q (a local log: plain index, no link)", row.name, row.logIndex, logIndex[row.name])
		}
		m := linkCell.FindStringSubmatch(row.upload)
		if m == nil || m[2] != urlOf[row.name] || !strings.HasPrefix(row.upload, "✓") {
			t.Errorf("%s: upload cell %q, want a link to %q", row.name, row.upload, urlOf[row.name])
		}
		if got := get(t, urlOf[row.name]); digestBytes(got) != sha {
			t.Errorf("%s on the index differs from the signed file", row.name)
		}
	}
	for _, want := range []string{
		"attest-publish verify --trusted-root " + env.trustedRoot,
		"--certificate-identity " + identity,
		"--certificate-oidc-issuer " + env.issuer,
		"gh attestation verify dist/",
		"--repo " + repository,
	} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("summary lacks %q", want)
		}
	}

	// Verify mode on the result passes…
	verifyInputs := map[string]string{
		"mode": "verify", "verify-paths": "dist", "trusted-root": env.trustedRoot,
		"certificate-identity": identity, "certificate-oidc-issuer": env.issuer,
		"source-repository": repository, "publisher-kind": "github", "publisher-repository": repository,
		"publisher-workflow": "release.yml",
	}
	v := runAction(t, ws, environ, verifyInputs)
	if v.code != 0 || v.outputs["verified"] != "true" {
		t.Fatalf("verify mode on the release: exit %d, verified=%q\n%s\n%s", v.code, v.outputs["verified"], v.stdout, v.stderr)
	}
	// …and fails on a swapped dist, with an error annotation on the file.
	wheel := dists[0]
	if filepath.Ext(wheel) != ".whl" {
		wheel = dists[1]
	}
	data, err := os.ReadFile(wheel)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(wheel, data, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := runAction(t, ws, environ, verifyInputs)
	if bad.code != 1 || bad.outputs["verified"] != "false" {
		t.Errorf("verify mode on a swapped dist: exit %d, verified=%q", bad.code, bad.outputs["verified"])
	}
	if !strings.Contains(bad.stdout, "::error file=dist/"+filepath.Base(wheel)) {
		t.Errorf("no error annotation on the swapped dist:\n%s", bad.stdout)
	}

	screenshotSummary(t, chromium, r.summary)
}

func digestBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// screenshotSummary renders the summary to HTML (markdown-it-py, as
// testdata/action/render_summary.py does it) and screenshots it with
// headless Chromium into test/artifacts/summary.png.
func screenshotSummary(t *testing.T, chromium, summary string) {
	t.Helper()
	artifacts := filepath.Join(repoRoot, "test", "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(artifacts, "summary.md")
	html := filepath.Join(artifacts, "summary.html")
	png := filepath.Join(artifacts, "summary.png")
	if err := os.WriteFile(md, []byte(summary), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := python(t, filepath.Join(repoRoot, "testdata", "action", "render_summary.py"), md, html); err != nil {
		t.Fatalf("rendering the summary: %v\n%s", err, out)
	}
	os.Remove(png)
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--window-size=1500,1100", "--screenshot="+png, "file://"+html)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium screenshot: %v\n%s", err, out)
	}
	st, err := os.Stat(png)
	if err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v (size %d)", png, err, sizeOf(st))
	}
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}

// attestationsAPI is a fake GitHub attestations API: POST stores one
// bundle (answering id 4242), GET lists it for any digest it names.
type attestationsAPI struct {
	*httptest.Server
	mu         sync.Mutex
	bundle     json.RawMessage
	authHeader string
}

func startAttestationsAPI(t *testing.T, token string) *attestationsAPI {
	t.Helper()
	a := &attestationsAPI{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /repos/{owner}/{repo}/attestations", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Bundle json.RawMessage `json:"bundle"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Bundle) == 0 {
			http.Error(w, `{"message":"bad body"}`, http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.bundle, a.authHeader = body.Bundle, r.Header.Get("Authorization")
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":4242}`)
	})
	mux.HandleFunc("GET /repos/{owner}/{repo}/attestations/{digest}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.bundle == nil {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"attestations": []any{map[string]any{"bundle": a.bundle, "repository_id": 1}}})
	})
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

func (a *attestationsAPI) stored() json.RawMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bundle
}

func (a *attestationsAPI) auth() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.authHeader
}

// jsonEqual reports whether two JSON documents hold the same value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// findChromium finds a headless-capable Chromium: Debian's chromium, or the
// Chrome that GitHub's Ubuntu runners carry.
func findChromium() (string, error) {
	var err error
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		var p string
		if p, err = exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", err
}
