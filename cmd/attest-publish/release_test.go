package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/sigstoretest"
)

const releaseMetadata = "Metadata-Version: 2.1\nName: sample\nVersion: 1.0\nSummary: A sample\nDescription-Content-Type: text/plain\n\nA long description.\n"

// writeReleaseDists writes a wheel and an sdist with real metadata into a
// fresh directory.
func writeReleaseDists(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, f := range [][2]string{
		{"sample/__init__.py", "X = 1\n"},
		{"sample-1.0.dist-info/METADATA", releaseMetadata},
		{"sample-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n"},
	} {
		w, _ := zw.Create(f[0])
		w.Write([]byte(f[1]))
	}
	zw.Close()
	var tbuf bytes.Buffer
	gz := gzip.NewWriter(&tbuf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "sample-1.0/PKG-INFO", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(releaseMetadata))})
	tw.Write([]byte(releaseMetadata))
	tw.Close()
	gz.Close()
	for name, data := range map[string][]byte{"sample-1.0-py3-none-any.whl": zbuf.Bytes(), "sample-1.0.tar.gz": tbuf.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// releaseIndex is a minimal fake index: trusted publishing and the legacy
// upload API (internal/publish's fakeIndex is the thorough one).
type releaseIndex struct {
	srv     *httptest.Server
	mu      sync.Mutex
	mints   int
	uploads map[string]int // filename → attestations sent
}

func newReleaseIndex(t *testing.T) *releaseIndex {
	t.Helper()
	ix := &releaseIndex{uploads: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_/oidc/audience", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"audience":"pypi"}`)
	})
	mux.HandleFunc("POST /_/oidc/mint-token", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Token string }
		json.NewDecoder(r.Body).Decode(&body)
		if tok, err := idtoken.Parse(body.Token); err != nil || tok.Claims.String("aud") != "pypi" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"message":"Token request failed","errors":[{"code":"invalid-token","description":"bad token"}]}`)
			return
		}
		ix.mu.Lock()
		ix.mints++
		ix.mu.Unlock()
		io.WriteString(w, `{"success":true,"token":"pypi-minted","expires":4102444800}`)
	})
	mux.HandleFunc("POST /legacy/", func(w http.ResponseWriter, r *http.Request) {
		if user, pass, _ := r.BasicAuth(); user != "__token__" || pass != "pypi-minted" {
			http.Error(w, "Invalid or non-existent authentication information.", http.StatusForbidden)
			return
		}
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var filename string
		var atts []json.RawMessage
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			switch p.FormName() {
			case "content":
				filename = p.FileName()
				io.Copy(io.Discard, p)
			case "attestations":
				data, _ := io.ReadAll(p)
				json.Unmarshal(data, &atts)
			}
		}
		ix.mu.Lock()
		ix.uploads[filename] = len(atts)
		ix.mu.Unlock()
		io.WriteString(w, "OK")
	})
	ix.srv = httptest.NewServer(mux)
	t.Cleanup(ix.srv.Close)
	return ix
}

// releaseEnv is a GitHub Actions environment whose token endpoint hands out
// the fake Sigstore's tokens for any audience.
func releaseEnv(t *testing.T, fake *sigstoretest.Instance) func(string) string {
	t.Helper()
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"value": fake.Token(map[string]any{"aud": r.URL.Query().Get("audience")})})
	}))
	t.Cleanup(tokens.Close)
	env := map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   tokens.URL + "/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
	}
	return func(k string) string { return env[k] }
}

func releaseArgs(fake *sigstoretest.Instance, ix *releaseIndex, dir string) []string {
	return []string{"release",
		"--packages-dir", dir,
		"--signing-config", fake.SigningConfigPath(true, true),
		"--trusted-root", fake.TrustedRootPath(),
		"--repository-url", ix.srv.URL + "/legacy/",
	}
}

func TestReleaseSignsThenPublishes(t *testing.T) {
	fake := sigstoretest.Start(t)
	ix := newReleaseIndex(t)
	dir := writeReleaseDists(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), releaseArgs(fake, ix, dir), &stdout, &stderr, releaseEnv(t, fake))
	if code != 0 {
		t.Fatalf("code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	// Sign stage: one certificate, outputs next to the dists.
	if fake.FulcioRequests() != 1 {
		t.Errorf("Fulcio requests = %d, want 1", fake.FulcioRequests())
	}
	for _, name := range []string{
		"sample-1.0-py3-none-any.whl.sigstore.json", "sample-1.0-py3-none-any.whl.publish.attestation",
		"sample-1.0.tar.gz.slsa.attestation", "provenance.sigstore.json",
	} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("sign output missing: %v", err)
		}
	}
	// Publish stage: both dists uploaded with both attestations.
	ix.mu.Lock()
	uploads, mints := ix.uploads, ix.mints
	ix.mu.Unlock()
	if mints != 1 || len(uploads) != 2 || uploads["sample-1.0-py3-none-any.whl"] != 2 || uploads["sample-1.0.tar.gz"] != 2 {
		t.Errorf("mints %d, uploads %v", mints, uploads)
	}
	out := stdout.String()
	iSign, iPub := strings.Index(out, "::group::sign\n"), strings.Index(out, "::group::publish\n")
	iSigned := strings.Index(out, "Signed and verified 2 distribution(s)")
	if iSign < 0 || iPub < 0 || !(iSign < iSigned && iSigned < iPub) || strings.Count(out, "::endgroup::") != 2 {
		t.Errorf("stdout lacks the sign then publish groups:\n%s", out)
	}
}

func TestReleaseSigningFailurePublishesNothing(t *testing.T) {
	fake := sigstoretest.Start(t)
	fake.FailRekor(400, 1000) // a Rekor 400 is final: no retries
	ix := newReleaseIndex(t)
	dir := writeReleaseDists(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), releaseArgs(fake, ix, dir), &stdout, &stderr, releaseEnv(t, fake))
	if code != 1 || !strings.Contains(stderr.String(), "signing failed, nothing published") {
		t.Fatalf("code %d\nstderr:\n%s", code, stderr.String())
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.mints != 0 || len(ix.uploads) != 0 {
		t.Errorf("published after a signing failure: mints %d, uploads %v", ix.mints, ix.uploads)
	}
	if strings.Contains(stdout.String(), "::group::publish") {
		t.Errorf("publish stage ran:\n%s", stdout.String())
	}
}

func TestReleaseCommandLine(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{args: []string{"--certificate-identity", "https://x"}, wantCode: 2, wantErr: "go together"},
		{args: []string{"--rekor-version", "3"}, wantCode: 2, wantErr: "--rekor-version"},
		{args: []string{"--output-dir", "x"}, wantCode: 2, wantErr: "not defined"},
		{args: []string{"dist/x.whl"}, wantCode: 2, wantErr: "unexpected argument"},
		{args: []string{"-h"}, wantCode: 0, wantErr: "-repository-url"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"release"}, tt.args...), &stdout, &stderr, func(string) string { return "" })
		if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("%v: code %d, stderr:\n%s", tt.args, code, stderr.String())
		}
	}
}
