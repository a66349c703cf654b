//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// toxiproxy is a Toxiproxy server (Shopify's, from the stack's binaries)
// on 127.0.0.1, driven through its HTTP API.
type toxiproxy struct {
	api string
}

// startToxiproxy starts a Toxiproxy server on a free loopback port and
// stops it when the test ends.
func startToxiproxy(t *testing.T) *toxiproxy {
	t.Helper()
	port := freeLoopbackPort(t)
	cmd := exec.Command(filepath.Join(env.stackBin, "toxiproxy-server"), "-host", "127.0.0.1", "-port", strconv.Itoa(port))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting toxiproxy-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	tp := &toxiproxy{api: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(tp.api + "/version")
		if err == nil {
			resp.Body.Close()
			return tp
		}
		if time.Now().After(deadline) {
			t.Fatalf("toxiproxy-server did not answer: %v\n%s", err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call sends one API request and fails the test on an error status.
func (tp *toxiproxy) call(t *testing.T, method, path string, body any) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, tp.api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("toxiproxy %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("toxiproxy %s %s: %s\n%s", method, path, resp.Status, out)
	}
	return out
}

// proxy puts a proxy named name in front of upstream (host:port) and
// returns the loopback address it listens on.
func (tp *toxiproxy) proxy(t *testing.T, name, upstream string) string {
	t.Helper()
	out := tp.call(t, "POST", "/proxies", map[string]any{"name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": true})
	var p struct{ Listen string }
	if err := json.Unmarshal(out, &p); err != nil || p.Listen == "" {
		t.Fatalf("toxiproxy: creating %s: %s", name, out)
	}
	return p.Listen
}

// toxic adds a toxic to a proxy's downstream (server → tool) or upstream.
func (tp *toxiproxy) toxic(t *testing.T, proxy, stream, typ string, toxicity float64, attrs map[string]any) {
	t.Helper()
	tp.call(t, "POST", "/proxies/"+proxy+"/toxics", map[string]any{
		"name": typ + "_" + stream, "type": typ, "stream": stream, "toxicity": toxicity, "attributes": attrs,
	})
}

// enable turns a proxy on or off: off, it refuses connections and drops
// the open ones, as a service that is down.
func (tp *toxiproxy) enable(t *testing.T, proxy string, on bool) {
	t.Helper()
	tp.call(t, "POST", "/proxies/"+proxy, map[string]any{"enabled": on})
}

// heal removes every toxic and enables every proxy.
func (tp *toxiproxy) heal(t *testing.T) {
	t.Helper()
	tp.call(t, "POST", "/reset", nil)
}

// freeLoopbackPort returns a TCP port free on 127.0.0.1 right now.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hostOf is the host:port of a URL.
func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("not a URL: %q", raw)
	}
	return u.Host
}

// withHost returns raw with its host:port replaced.
func withHost(t *testing.T, raw, host string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

// fault is one way a service misbehaves, applied through Toxiproxy.
type fault struct {
	name  string
	apply func(t *testing.T, tp *toxiproxy, proxy string)
}

// faults are the fault kinds of the matrix: each is put in front of each
// service in turn.
var faults = []fault{
	{"latency", func(t *testing.T, tp *toxiproxy, p string) {
		// Every response 1.5 s late: slower, never wrong.
		tp.toxic(t, p, "downstream", "latency", 1, map[string]any{"latency": 1500, "jitter": 200})
	}},
	{"reset mid-request", func(t *testing.T, tp *toxiproxy, p string) {
		// Half the connections are reset 100 ms in, while the request
		// or its answer is in flight.
		tp.toxic(t, p, "downstream", "reset_peer", 0.5, map[string]any{"timeout": 100})
	}},
	{"trickle", func(t *testing.T, tp *toxiproxy, p string) {
		// 4 KB/s both ways: a request of a few KB takes seconds.
		tp.toxic(t, p, "upstream", "bandwidth", 1, map[string]any{"rate": 4})
		tp.toxic(t, p, "downstream", "bandwidth", 1, map[string]any{"rate": 4})
	}},
	{"down and back", func(t *testing.T, tp *toxiproxy, p string) {
		// Down when the run starts, back 3 s later (within the retries'
		// backoff, or not: either outcome must be reported exactly).
		tp.enable(t, p, false)
		go func() {
			time.Sleep(3 * time.Second)
			req, _ := http.NewRequest("POST", tp.api+"/proxies/"+p, strings.NewReader(`{"enabled":true}`))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}},
	{"down", func(t *testing.T, tp *toxiproxy, p string) {
		// Down for the whole run: it must fail, and say where.
		tp.enable(t, p, false)
	}},
}

// TestFaultMatrix runs whole releases (sign → verify → publish with
// trusted publishing) against the real stack and test index with Toxiproxy
// in front of Fulcio, Rekor, the TSA and the index, one fault at one
// service per run. Every run either completes, or fails with exit 1 and a
// report that names exactly what the index holds; no failed signing leaves
// outputs beside the dists; and a rerun of the job (a fresh checkout, with
// --skip-existing) completes once the service is healthy again.
func TestFaultMatrix(t *testing.T) {
	tp := startToxiproxy(t)
	// Proxies fulcio0, rekor0 and tsa0 in front of the stack's services.
	signingConfig := signingConfigThrough(t, func(name, origin string) string {
		return "http://" + tp.proxy(t, strings.TrimRight(name, "0123456789"), hostOf(t, origin))
	})
	outcomes := map[string]int{}
	for _, service := range []string{"fulcio", "rekor", "tsa", "index"} {
		for _, f := range faults {
			t.Run(service+"/"+f.name, func(t *testing.T) {
				tp.heal(t)
				index := startIndex(t)
				upload := index["INDEXFRONT_UPLOAD_URL"]
				indexProxy := "index-" + strconv.Itoa(freeLoopbackPort(t))
				upload = withHost(t, upload, tp.proxy(t, indexProxy, hostOf(t, upload)))
				t.Cleanup(func() { tp.call(t, "DELETE", "/proxies/"+indexProxy, nil) })
				target := service
				if service == "index" {
					target = indexProxy
				}
				dir := copyDists(t)
				before := listDir(t, dir)
				args := []string{"--packages-dir", dir, "--signing-config", signingConfig, "--trusted-root", env.trustedRoot,
					"--repository-url", upload, "--timeout", "10s"}
				f.apply(t, tp, target)
				start := time.Now()
				res := command(t, runnerEnv(""), "release", args...)
				elapsed := time.Since(start).Round(100 * time.Millisecond)
				tp.heal(t)
				out := res.stdout + res.stderr
				live := indexFiles(t, index["INDEXFRONT_PACKAGES_DIR"])
				switch res.code {
				case 0:
					outcomes["completed"]++
					if len(live) != 2 {
						t.Errorf("release succeeded but the index holds %v\n%s", live, out)
					}
				case 1:
					outcomes["failed"]++
					checkFailureReport(t, out, dir, before, live)
				default:
					t.Fatalf("exit %d (want 0 or 1):\n%s", res.code, out)
				}
				t.Logf("%s at %s: exit %d after %s, index holds %v", f.name, service, res.code, elapsed, live)
				// A rerun of the job: a fresh checkout of the same dists,
				// --skip-existing for what is already live.
				rerun := copyDists(t)
				rargs := append([]string{}, args...)
				rargs[1] = rerun
				res = command(t, runnerEnv(""), "release", append(rargs, "--skip-existing")...)
				if res.code != 0 {
					t.Fatalf("rerun with --skip-existing failed (%d):\n%s%s", res.code, res.stdout, res.stderr)
				}
				if live := indexFiles(t, index["INDEXFRONT_PACKAGES_DIR"]); len(live) != 2 {
					t.Errorf("after the rerun the index holds %v", live)
				}
			})
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// checkFailureReport holds a failed release to its promises: the report
// names each dist's state and those states are what the index holds; a
// failure before publishing leaves the packages directory as it was.
func checkFailureReport(t *testing.T, out, dir, before string, live []string) {
	t.Helper()
	names := map[string]bool{}
	for _, d := range distFiles(t, dir) {
		names[filepath.Base(d)] = true
	}
	for _, l := range live {
		if !names[l] {
			t.Errorf("the index holds %s, which is not one of the dists", l)
		}
	}
	published := strings.Contains(out, "not uploaded") || strings.Contains(out, " uploaded ")
	if !published {
		// Failed before the publish stage: nothing may be live, and the
		// report says why.
		if len(live) != 0 {
			t.Errorf("the report names no upload, but the index holds %v:\n%s", live, out)
		}
		if listDir(t, dir) != before {
			t.Errorf("a failed signing left outputs beside the dists:\nbefore:\n%s\nafter:\n%s\n%s", before, listDir(t, dir), out)
		}
		if !strings.Contains(out, "error") {
			t.Errorf("no error in the report:\n%s", out)
		}
		return
	}
	for name := range names {
		isLive := false
		for _, l := range live {
			isLive = isLive || l == name
		}
		switch {
		case isLive && !reportState(out, name, "uploaded") && !reportState(out, name, "skipped"):
			t.Errorf("%s is live but the report does not say so:\n%s", name, out)
		case !isLive && reportState(out, name, "uploaded"):
			t.Errorf("the report says %s was uploaded, but the index does not have it:\n%s", name, out)
		}
	}
}

// indexFiles lists the dist files pypiserver holds.
func indexFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".whl") || strings.HasSuffix(e.Name(), ".tar.gz") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}
