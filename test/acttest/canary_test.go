//go:build e2e

package acttest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/test/e2e/leakscan"
)

// canarySnapshotStep is appended to the copy's release.yml (publish job):
// act removes its per-job directory (act's files: event.json, the step
// scripts, the env and output files; and RUNNER_TEMP) when the job ends, so
// the last step copies it for the leak scan.
const canarySnapshotStep = `
      # Added by test/acttest/canary_test.go: keep act's job directory
      # (RUNNER_TEMP's parent) for the leak scan.
      - name: canary snapshot
        if: always()
        run: cp -a "$(dirname "$RUNNER_TEMP")/." "$AP_CANARY_SNAPSHOT/"
`

func canaryValue(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// scanActOutput checks act's --json output. Per job, the step output is
// rebuilt as the runner would have received it (the raw_output lines, and
// each workflow command's raw line) and checked with the runner's command
// semantics (leakscan.RunnerOutput). Every other part of act's output
// (its own messages, the fields of every entry) must hold no secret at all,
// except the entries of ::add-mask:: commands, whose raw line the runner
// model has just judged. It returns the hits, the runner's view per job
// and the job log (masked) for reading.
func scanActOutput(s *leakscan.Scanner, output string) ([]leakscan.Hit, map[string]map[string]bool, string) {
	var hits []leakscan.Hit
	raw := map[string]*strings.Builder{}
	var jobs []string
	for i, line := range strings.Split(output, "\n") {
		where := fmt.Sprintf("act output line %d", i+1)
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			hits = append(hits, s.ScanBytes(where, []byte(line))...)
			continue
		}
		job, _ := entry["jobID"].(string)
		if raw[job] == nil {
			raw[job] = &strings.Builder{}
			jobs = append(jobs, job)
		}
		cmdRaw, isCmd := entry["raw"].(string)
		switch {
		case entry["raw_output"] == true:
			msg, _ := entry["msg"].(string)
			raw[job].WriteString(strings.TrimRight(msg, "\n") + "\n")
		case isCmd && entry["command"] != nil:
			raw[job].WriteString(strings.TrimRight(cmdRaw, "\r\n") + "\n")
		}
		if entry["command"] == "add-mask" {
			continue
		}
		hits = append(hits, scanJSONStrings(s, where, entry)...)
	}
	masked := map[string]map[string]bool{}
	var log strings.Builder
	for _, job := range jobs {
		h, v := s.RunnerOutput("job "+job, raw[job].String())
		hits = append(hits, h...)
		masked[job] = s.Masked(v)
		for _, l := range v.Log {
			fmt.Fprintf(&log, "[%s] %s\n", job, l)
		}
	}
	return hits, masked, log.String()
}

// scanJSONStrings scans every string in a decoded JSON value.
func scanJSONStrings(s *leakscan.Scanner, where string, v any) []leakscan.Hit {
	switch v := v.(type) {
	case string:
		return s.ScanBytes(where, []byte(v))
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var hits []leakscan.Hit
		for _, k := range keys {
			hits = append(hits, scanJSONStrings(s, where+" ."+k, k)...)
			hits = append(hits, scanJSONStrings(s, where+" ."+k, v[k])...)
		}
		return hits
	case []any:
		var hits []leakscan.Hit
		for i, e := range v {
			hits = append(hits, scanJSONStrings(s, fmt.Sprintf("%s[%d]", where, i), e)...)
		}
		return hits
	}
	return nil
}

// TestCanaryNoSecretLeaksUnderAct runs release.yml under act with
// recognisable secrets: the OIDC request token (the test's value: a
// recorder in front of the issuer's token endpoint accepts it and forwards
// the stack's own), GITHUB_TOKEN (an act secret, so the action's
// github-token input defaults to it), and learns every ID token the issuer
// minted and the API token the index minted from the recorders in front of
// them (token endpoint, index, Fulcio, Rekor, TSA). Then: act's output
// judged as the runner would show it (a secret only inside a processed
// ::add-mask::, never in the job log, nowhere in act's own messages), every
// file under the test's temporary directories (the repository copy with
// the packages dir and signing outputs, act's cache and home, the copy of
// act's job directory taken by a last step, the artifact store, the
// index's dir with front.log and pypiserver.log), the stack's directory,
// and every recorded exchange except the part meant to carry each secret:
// zero hits. A secret planted into a scanned file must be found.
func TestCanaryNoSecretLeaksUnderAct(t *testing.T) {
	start := time.Now()
	s := loadStack(t)
	reqToken := canaryValue(t, "CANARYoidcRequestToken")
	ghToken := canaryValue(t, "ghs_CANARYgithubToken")
	rs := map[string]*leakscan.Recorder{}
	record := func(name, upstream string, gate func(http.ResponseWriter, *http.Request) bool) *leakscan.Recorder {
		rec, err := leakscan.NewRecorder(upstream, gate)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rec.Close)
		rs[name] = rec
		return rec
	}
	tokenURL, err := url.Parse(s.tokenURL)
	if err != nil {
		t.Fatal(err)
	}
	oidc := record("oidc", tokenURL.Scheme+"://"+tokenURL.Host, leakscan.TokenGate(reqToken, s.requestToken))
	s.tokenURL, s.requestToken = oidc.URL+tokenURL.RequestURI(), reqToken

	h := &harness{t: t, act: actBinary(t), stack: s, work: t.TempDir()}
	h.repo = filepath.Join(h.work, "repo")
	h.artifacts = filepath.Join(h.work, "artifacts")
	copyRepo(t, h.repo)
	wf := filepath.Join(h.repo, ".github", "workflows", "release.yml")
	data, err := os.ReadFile(wf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wf, append(bytes.TrimRight(data, "\n"), "\n"+canarySnapshotStep...), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, h.repo, nil, "git", "commit", "-qam", "canary snapshot step")
	h.head = strings.TrimSpace(run(t, h.repo, nil, "git", "rev-parse", "HEAD"))
	buildDist(t, h.repo)
	h.index = startIndex(t, s)
	front := record("index", h.index.url, nil)

	sigData, err := os.ReadFile(s.signingConfig)
	if err != nil {
		t.Fatal(err)
	}
	sigData, err = leakscan.RewriteSigningConfig(sigData, func(name, origin string) (string, error) {
		return record(name, origin, nil).URL, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	signingConfig := filepath.Join(t.TempDir(), "signing_config.json")
	if err := os.WriteFile(signingConfig, sigData, 0o644); err != nil {
		t.Fatal(err)
	}
	snapshot := filepath.Join(h.work, "act-job-snapshot")
	if err := os.MkdirAll(snapshot, 0o755); err != nil {
		t.Fatal(err)
	}

	rel := h.runActWith("release.yml", map[string]string{
		"repository-url": front.URL + "/legacy/",
		"signing-config": signingConfig,
		"trusted-root":   s.trustedRoot,
	}, actOptions{extraEnv: []string{"AP_CANARY_SNAPSHOT=" + snapshot}, githubToken: ghToken, insecureSecrets: true, isolate: true})
	ran := time.Since(start)

	// The secrets: chosen ones, and the tokens the servers handed out.
	secrets := []leakscan.Secret{
		{Name: "oidc-request-token", Value: reqToken},
		{Name: "github-token", Value: ghToken},
	}
	idTokens, err := leakscan.IDTokens(oidc.Exchanges(), 1)
	if err != nil {
		t.Fatal(err)
	}
	apiTokens, err := leakscan.APITokens("index", front.Exchanges(), 1)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(append(secrets, idTokens...), apiTokens...)
	sc := leakscan.New(secrets...)
	var names []string
	for _, sec := range secrets {
		names = append(names, sc.Describe(sec.Name))
	}
	t.Logf("canary secrets: %s", strings.Join(names, "; "))

	scanStart := time.Now()
	leaks, masked, jobLog := scanActOutput(sc, rel.output)
	// Keep the job log as the runner would show it (secrets masked, and
	// none in it unless this test fails) for reading.
	if err := os.WriteFile(filepath.Join(artifactsDir(t), "canary-release.log"), []byte(jobLog), 0o644); err != nil {
		t.Fatal(err)
	}
	if rel.jobs["build"] != "success" || rel.jobs["publish"] != "success" {
		t.Fatalf("release.yml under act: jobs %v (want build and publish success)\n%s", rel.jobs, tail(jobLog, 80))
	}
	// Files: everything under this test's temporary directories except the
	// env file the test hands act (it holds the request token, as the
	// runner's own configuration does).
	tmpRoot := filepath.Dir(h.work)
	hits, st, err := sc.ScanDir(tmpRoot, func(path string, d fs.DirEntry) bool {
		return !d.IsDir() && path == h.envPath("release.yml")
	})
	if err != nil {
		t.Fatal(err)
	}
	leaks = append(leaks, hits...)
	t.Logf("scanned %s: %s", tmpRoot, st)
	if len(st.Skipped) != 1 || len(st.Truncated) != 0 {
		t.Errorf("want exactly the env file given to act skipped and nothing truncated: %v", st)
	}
	// act runs the job in a copy of the repository (hostexecutor), where
	// the packages dir with the signing outputs is; its files and the
	// step scripts are in act/workflow.
	bundles, _ := filepath.Glob(filepath.Join(snapshot, "hostexecutor", "sample-dist", "*.sigstore.json"))
	actFiles, _ := filepath.Glob(filepath.Join(snapshot, "act", "workflow", "*"))
	if len(bundles) != 3 || len(actFiles) == 0 {
		t.Errorf("the snapshot of act's job directory lacks the packages dir's bundles (%v) or act's files (%d)", bundles, len(actFiles))
	}
	stackDir := os.Getenv("ATTEST_STACK_DIR")
	if stackDir == "" {
		stackDir = os.Getenv("STACK_DIR") // exported by stack.env
	}
	if stackDir == "" {
		t.Fatal("neither ATTEST_STACK_DIR nor STACK_DIR names the stack's directory")
	}
	t.Logf("file and output scans took %s, setup and act %s", time.Since(scanStart).Round(time.Millisecond), ran.Round(time.Millisecond))
	sc.Conclude(t, leaks, stackDir, rs, func(c leakscan.Carrier) bool {
		return c.Recorder == "pypiserver" || c.Recorder == "github-api" // no password mode, no attest-to-github in release.yml
	})
	if len(apiTokens) != 1 {
		t.Errorf("the index minted %d API tokens, want 1", len(apiTokens))
	}
	for _, n := range []string{"github-token", "pypi-api-token@index#1"} {
		if !masked["publish"][n] {
			t.Errorf("publish job: %s was not registered with ::add-mask::", sc.Describe(n))
		}
	}
	// Self-check: the output scan finds a secret that a step printed (a
	// raw_output entry) in act's output and, masked or not, in the rebuilt
	// step output.
	leak, _ := json.Marshal(map[string]any{"jobID": "publish", "raw_output": true, "msg": "minted " + apiTokens[0].Value + "\n"})
	hits, _, _ = scanActOutput(sc, rel.output+string(leak)+"\n")
	var where []string
	for _, h := range hits {
		where = append(where, h.Where)
	}
	lines := strings.Count(rel.output, "\n")
	if len(hits) != 2 || !strings.HasPrefix(hits[0].Where, fmt.Sprintf("act output line %d .msg", lines+1)) || !strings.HasPrefix(hits[1].Where, "job publish: output line ") {
		t.Errorf("self-check: the API token planted into act's output (line %d) gave hits at %q, want that line and the publish job's output", lines+1, where)
	}

	// Self-check: a secret planted into a file of the scanned tree
	// (a signing bundle in the job's packages dir) is found there.
	if len(bundles) == 0 {
		t.FailNow()
	}
	orig, err := os.ReadFile(bundles[0])
	if err != nil {
		t.Fatal(err)
	}
	planted := append(append(append([]byte{}, orig...), `{"debug":"`...), url.QueryEscape(ghToken)...)
	if err := os.WriteFile(bundles[0], planted, 0o644); err != nil {
		t.Fatal(err)
	}
	hits, _, _ = sc.ScanDir(tmpRoot, func(path string, d fs.DirEntry) bool { return path == h.envPath("release.yml") })
	if len(hits) != 1 || hits[0].Where != bundles[0] || hits[0].Offset != int64(len(orig)+len(`{"debug":"`)) || hits[0].SecretName() != "github-token" {
		t.Errorf("self-check: the github-token planted into %s at byte %d was not found exactly there: %v", bundles[0], len(orig)+10, hits)
	} else {
		t.Logf("self-check: planted token found: %s", hits[0])
	}
	if err := os.WriteFile(bundles[0], orig, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("canary test under act: %s in all", time.Since(start).Round(time.Millisecond))
}
