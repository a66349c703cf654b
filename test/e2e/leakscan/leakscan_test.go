package leakscan

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	tokenValue = "pypi-CANARYtoken_Zq9-xY7wVu6tS5rQ4pO3nM2lK1jI0hG" // URL-safe characters
	oddValue   = "p@ss w/rd+canary?&=%value"                        // every escaping differs
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// offsets returns the offsets of the hits for secret name.
func offsets(hits []Hit, name string) []int64 {
	var out []int64
	for _, h := range hits {
		if h.SecretName() == name {
			out = append(out, h.Offset)
		}
	}
	return out
}

func noSecretIn(t *testing.T, hits []Hit, values ...string) {
	t.Helper()
	for _, h := range hits {
		for _, v := range values {
			for _, f := range Forms(v) {
				if len(f.Value) >= 8 && strings.Contains(h.String(), f.Value) {
					t.Errorf("a report shows the secret (%s): %s", f.Name, h.Where)
				}
			}
		}
	}
}

// TestEveryFormIsFound plants each form of each secret between random
// bytes and expects exactly one hit at the planted offset.
func TestEveryFormIsFound(t *testing.T) {
	s := New(Secret{"token", tokenValue}, Secret{"password", oddValue})
	for _, sec := range s.Secrets() {
		forms := Forms(sec.Value)
		if sec.Name == "password" {
			names := map[string]bool{}
			for _, f := range forms {
				names[f.Name] = true
			}
			for _, want := range []string{"raw", "base64-std", "base64-std-nopad", "url-query-escaped", "url-path-escaped", "base64-std-inside@1", "base64-std-inside@2"} {
				if !names[want] {
					t.Errorf("no form %s for a value every escaping changes", want)
				}
			}
		}
		for _, f := range forms {
			pre, post := randomBytes(t, 1000), randomBytes(t, 1000)
			data := append(append(append([]byte{}, pre...), f.Value...), post...)
			hits := s.ScanBytes("planted", data)
			if got := offsets(hits, sec.Name); len(got) != 1 || got[0] != 1000 {
				t.Errorf("%s as %s: hits at %v, want one at 1000", sec.Name, f.Name, got)
			}
			noSecretIn(t, hits, tokenValue, oddValue)
		}
	}
}

// TestBase64InsideLongerText: the secret inside a longer text that is
// base64-encoded as a whole (a Basic header, an encoded document), at every
// alignment, in both alphabets, is found.
func TestBase64InsideLongerText(t *testing.T) {
	s := New(Secret{"token", tokenValue})
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		for k := 0; k < 6; k++ {
			inner := append(append(randomBytes(t, 30+k), tokenValue...), randomBytes(t, 7)...)
			data := []byte("Authorization: Basic " + enc.EncodeToString(inner) + "\r\n")
			if hits := s.ScanBytes("header", data); len(hits) != 1 {
				t.Errorf("alignment %d: %d hits, want 1", k, len(hits))
			}
		}
		// Basic auth exactly as a client builds it.
		basic := base64.StdEncoding.EncodeToString([]byte("__token__:" + tokenValue))
		if hits := s.ScanBytes("basic", []byte(basic)); len(hits) != 1 {
			t.Errorf("Basic __token__:<token>: %d hits", len(hits))
		}
	}
	if hits := s.ScanBytes("clean", randomBytes(t, 1<<16)); len(hits) != 0 {
		t.Errorf("random bytes: %v", hits)
	}
}

// TestChunksAndCap: a secret across the reader's chunk boundary is found
// once; the cap is honoured and reported.
func TestChunksAndCap(t *testing.T) {
	s := New(Secret{"token", tokenValue})
	const chunk = 4 << 20
	for _, at := range []int{0, chunk - 10, chunk - len(tokenValue), chunk, 2*chunk - 3} {
		data := make([]byte, 2*chunk+100)
		copy(data[at:], tokenValue)
		hits, n, truncated, err := s.ScanReader("r", bytes.NewReader(data), 1<<30)
		if err != nil || truncated || n != int64(len(data)) {
			t.Fatalf("n %d truncated %v err %v", n, truncated, err)
		}
		if got := offsets(hits, "token"); len(got) != 1 || got[0] != int64(at) {
			t.Errorf("planted at %d: hits at %v", at, got)
		}
	}
	data := append(make([]byte, 5000), tokenValue...)
	hits, n, truncated, _ := s.ScanReader("r", bytes.NewReader(data), 5000)
	if len(hits) != 0 || n != 5000 || !truncated {
		t.Errorf("past the cap: %d hits, n %d, truncated %v", len(hits), n, truncated)
	}
}

// TestScanDir finds a planted file, skips what skip excludes, ignores
// symbolic links.
func TestScanDir(t *testing.T) {
	dir := t.TempDir()
	s := New(Secret{"token", tokenValue})
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("clean.txt", "nothing here")
	write("sub/leak.log", "x="+base64.RawURLEncoding.EncodeToString([]byte(tokenValue)))
	write("excluded/env", tokenValue)
	if err := os.Symlink(filepath.Join(dir, "excluded", "env"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	hits, st, err := s.ScanDir(dir, func(p string, _ os.DirEntry) bool { return filepath.Base(p) == "excluded" })
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Where != filepath.Join(dir, "sub", "leak.log") || hits[0].Offset != 2 {
		t.Errorf("hits %v", hits)
	}
	if st.Files != 2 || len(st.Skipped) != 1 {
		t.Errorf("stats %v", st)
	}
}

// TestRunnerOutput: the runner's command semantics decide.
func TestRunnerOutput(t *testing.T) {
	s := New(Secret{"token", tokenValue})
	for _, tc := range []struct {
		name, out string
		hits      int
	}{
		{"masked only", "::add-mask::" + tokenValue + "\nuploaded\n", 0},
		{"indented command", "  ::add-mask::" + tokenValue + "\n", 0},
		{"never printed", "hello\n", 0},
		{"printed after masking", "::add-mask::" + tokenValue + "\ntoken " + tokenValue + "\n", 1},
		{"printed before masking", "token " + tokenValue + "\n::add-mask::" + tokenValue + "\n", 1},
		// The log is masked, but the raw line is not a command: a hit.
		{"in an error annotation", "::add-mask::" + tokenValue + "\n::error::bad " + tokenValue + "\n", 1},
		// Paused: the add-mask is shown, not processed: raw line and log line.
		{"stop-commands", "::stop-commands::p4us3\n::add-mask::" + tokenValue + "\n::p4us3::\n", 2},
		{"base64 in the log", "::add-mask::" + tokenValue + "\n" + base64.StdEncoding.EncodeToString([]byte(tokenValue)) + "\n", 2},
		{"CR-split line", "x\r" + tokenValue + "\n", 2},
	} {
		hits, v := s.RunnerOutput("step", tc.out)
		if len(hits) != tc.hits {
			t.Errorf("%s: %d hits, want %d: %v", tc.name, len(hits), tc.hits, hits)
		}
		if tc.name == "masked only" && !s.Masked(v)["token"] {
			t.Errorf("%s: not registered", tc.name)
		}
		noSecretIn(t, hits, tokenValue)
	}
}

// TestRecorder records both directions and lets a gate swap a credential.
func TestRecorder(t *testing.T) {
	var seen string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get("Authorization")
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", string(body))
		io.WriteString(w, `{"value":"minted"}`)
	}))
	defer up.Close()
	rec, err := NewRecorder(up.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer canary" {
			http.Error(w, "no", http.StatusUnauthorized)
			return false
		}
		r.Header.Set("Authorization", "Bearer real")
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	for _, auth := range []string{"Bearer canary", "Bearer wrong"} {
		req, _ := http.NewRequest("POST", rec.URL+"/token?x=1", strings.NewReader("body"))
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	ex := rec.Exchanges()
	if len(ex) != 2 || seen != "Bearer real" {
		t.Fatalf("exchanges %d, upstream saw %q", len(ex), seen)
	}
	if ex[0].URL != "/token?x=1" || ex[0].ReqHeader.Get("Authorization") != "Bearer canary" || string(ex[0].ReqBody) != "body" ||
		ex[0].Status != 200 || string(ex[0].RespBody) != `{"value":"minted"}` || ex[0].RespHeader.Get("X-Echo") != "body" {
		t.Errorf("first exchange %+v", ex[0])
	}
	if ex[1].Status != http.StatusUnauthorized {
		t.Errorf("gated exchange %+v", ex[1])
	}
	s := New(Secret{"minted", `{"value":"minted"}`})
	if hits := s.ScanExchange("rec", ex[0]); len(hits) != 1 || !strings.Contains(hits[0].Where, "[response body]") {
		t.Errorf("exchange hits %v", hits)
	}
}

// TestContextHidesNeighbours: a secret next to a hit, cut by the context
// window, is replaced in whole, never shown in part.
func TestContextHidesNeighbours(t *testing.T) {
	other := "OTHERsecret-0123456789abcdefghij"
	s := New(Secret{"token", tokenValue}, Secret{"other", other})
	for gap := 0; gap < 40; gap++ {
		data := []byte(other + strings.Repeat("x", gap) + tokenValue + strings.Repeat("y", gap) + other)
		for _, h := range s.ScanBytes("d", data) {
			for _, v := range []string{tokenValue, other} {
				for i := 0; i+8 <= len(v); i++ {
					if strings.Contains(h.Context, v[i:i+8]) {
						t.Fatalf("gap %d: context of %s shows part of a secret: %q", gap, h.SecretName(), h.Context)
					}
				}
			}
		}
	}
}
