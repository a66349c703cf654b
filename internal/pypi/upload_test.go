package pypi

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// hashedDist returns the dist at path with its digests.
func hashedDist(t *testing.T, path string) *dists.Dist {
	t.Helper()
	d := &dists.Dist{Path: path, Filename: filepath.Base(path)}
	var err error
	if d.Parsed, err = dists.ParseFilename(d.Filename); err != nil {
		t.Fatal(err)
	}
	if d.SHA256, d.Blake2b256, d.Size, err = dists.HashFile(path); err != nil {
		t.Fatal(err)
	}
	return d
}

// received is what the fake index parsed from one upload.
type received struct {
	fields      []Field
	filename    string
	contentType string
	sha256      string
	size        int64
	user, pass  string
	length      int64
	chunked     bool
	complete    bool
}

// fakeIndex parses each upload streaming (as the multipart reader allows)
// and then answers with respond.
func fakeIndex(t *testing.T, respond func(w http.ResponseWriter)) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := received{length: r.ContentLength, chunked: len(r.TransferEncoding) > 0}
		rec.user, rec.pass, _ = r.BasicAuth()
		defer func() {
			mu.Lock()
			got = append(got, rec)
			mu.Unlock()
		}()
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				rec.complete = true
				break
			}
			if err != nil {
				return
			}
			if p.FormName() == "content" {
				rec.filename, rec.contentType = p.FileName(), p.Header.Get("Content-Type")
				h := sha256.New()
				rec.size, err = io.Copy(h, p)
				rec.sha256 = hex.EncodeToString(h.Sum(nil))
				if err != nil {
					return
				}
				continue
			}
			v, err := io.ReadAll(p)
			if err != nil {
				return
			}
			rec.fields = append(rec.fields, Field{p.FormName(), string(v)})
		}
		respond(w)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func ok(w http.ResponseWriter) { io.WriteString(w, "OK") }

func TestUploadFieldSet(t *testing.T) {
	dir := t.TempDir()
	wheel, tarball, _ := buildDists(t, dir)
	srv, got := fakeIndex(t, ok)
	atts := [][]byte{readFixture(t, "sample.publish.attestation"), readFixture(t, "sample.slsa.attestation")}
	d := hashedDist(t, wheel)
	m, err := ReadMetadata(wheel)
	if err != nil {
		t.Fatal(err)
	}
	auth := BasicAuth{Username: "__token__", Password: "pypi-XYZ"}
	if err := DefaultClient.Upload(context.Background(), srv.URL+"/legacy/", d, m, atts, auth); err != nil {
		t.Fatal(err)
	}

	var fixture [][2]string
	if err := json.Unmarshal(readFixture(t, "upload_fields.json"), &fixture); err != nil {
		t.Fatal(err)
	}
	want := make([]Field, len(fixture))
	for i, f := range fixture {
		v := strings.NewReplacer("$SHA256", hex.EncodeToString(d.SHA256), "$BLAKE2", hex.EncodeToString(d.Blake2b256)).Replace(f[1])
		want[i] = Field{f[0], v}
	}
	r := got()[0]
	if len(r.fields) != len(want) {
		t.Errorf("%d fields, want %d", len(r.fields), len(want))
	}
	for i := range max(len(r.fields), len(want)) {
		var g, w Field
		if i < len(r.fields) {
			g = r.fields[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("field %d: got %q = %q, want %q = %q", i, g.Name, g.Value, w.Name, w.Value)
		}
	}
	for _, f := range r.fields {
		if f.Name == "md5_digest" || f.Name == "gpg_signature" {
			t.Errorf("sent %s", f.Name)
		}
	}
	if r.filename != d.Filename || r.contentType != "application/octet-stream" || r.sha256 != d.SHA256Hex() || r.size != d.Size {
		t.Errorf("content part: %q %q %s %d", r.filename, r.contentType, r.sha256, r.size)
	}
	if r.user != "__token__" || r.pass != "pypi-XYZ" {
		t.Errorf("auth %q %q", r.user, r.pass)
	}
	if r.chunked || r.length <= d.Size {
		t.Errorf("Content-Length %d, chunked %v", r.length, r.chunked)
	}

	// An sdist: filetype sdist, pyversion source, no attestations field
	// when none are given.
	sd := hashedDist(t, tarball)
	sm, err := ReadMetadata(tarball)
	if err != nil {
		t.Fatal(err)
	}
	if err := DefaultClient.Upload(context.Background(), srv.URL+"/legacy/", sd, sm, nil, auth); err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, f := range got()[1].fields {
		fields[f.Name] = f.Value
	}
	if fields["filetype"] != "sdist" || fields["pyversion"] != "source" || fields["sha256_digest"] != sd.SHA256Hex() {
		t.Errorf("sdist fields %v", fields)
	}
	if _, has := fields["attestations"]; has {
		t.Errorf("attestations sent without attestations")
	}

	// license_file is only sent from Metadata-Version 2.4 on.
	old, _ := ParseMetadata([]byte("Metadata-Version: 2.3\nName: sample_project\nVersion: 1.2.0\nLicense-File: LICENSE\n"))
	ff, err := FormFields(d, old, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ff {
		if f.Name == "license_file" {
			t.Errorf("license_file sent for metadata 2.3")
		}
	}
	if _, err := FormFields(d, m, [][]byte{[]byte("{not json")}); err == nil {
		t.Errorf("invalid attestation JSON accepted")
	}
}

// TestUploadStreams uploads a 64 MiB (sparse) file and checks that memory
// allocated by client and server together stays far below its size.
func TestUploadStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big-1.0-py3-none-any.whl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d := hashedDist(t, path)
	m, _ := ParseMetadata([]byte("Metadata-Version: 2.1\nName: big\nVersion: 1.0\n"))
	srv, got := fakeIndex(t, ok)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := DefaultClient.Upload(context.Background(), srv.URL, d, m, nil, BasicAuth{"__token__", "x"}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if r := got()[0]; r.size != 64<<20 || r.sha256 != d.SHA256Hex() || !r.complete {
		t.Fatalf("server got %d bytes, sha %s, complete %v", r.size, r.sha256, r.complete)
	}
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("uploading 64 MiB allocated %d KiB", grew>>10)
	if grew > 8<<20 {
		t.Errorf("uploading a 64 MiB file allocated %d bytes", grew)
	}
}

// TestUploadDigestMismatch changes a dist after it was hashed: the upload
// is aborted and the index never sees a complete file.
func TestUploadDigestMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sample_project-1.2.0-py3-none-any.whl")
	content := []byte(strings.Repeat("wheel bytes ", 40000)) // ~470 KiB, several chunks
	os.WriteFile(path, content, 0o644)
	d := hashedDist(t, path)
	m, _ := ParseMetadata(readFixture(t, "METADATA"))
	srv, got := fakeIndex(t, ok)

	// Same size, one byte flipped near the start.
	content[10] ^= 1
	os.WriteFile(path, content, 0o644)
	err := DefaultClient.Upload(context.Background(), srv.URL, d, m, nil, nil)
	var mm *DigestMismatchError
	if !errors.As(err, &mm) || mm.Want != d.SHA256Hex() || mm.Got == "" || !strings.Contains(err.Error(), "it was not uploaded") {
		t.Fatalf("err = %v", err)
	}
	if Retryable(err) {
		t.Errorf("a digest mismatch is retryable")
	}
	// The server may or may not have started reading; it never completes.
	deadline := time.Now().Add(2 * time.Second)
	for len(got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, r := range got() {
		if r.complete || r.size >= d.Size {
			t.Errorf("the index received a complete upload: %+v", r)
		}
	}

	// A size change is caught before anything is sent.
	before := len(got())
	os.WriteFile(path, append(content, 'x'), 0o644)
	err = DefaultClient.Upload(context.Background(), srv.URL, d, m, nil, nil)
	if !errors.As(err, &mm) || mm.GotSize != d.Size+1 {
		t.Fatalf("err = %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if len(got()) != before {
		t.Errorf("a request was sent for a file of the wrong size")
	}
}

// rawStatus answers with a custom status line, as PyPI does ("400 File
// already exists. …"), which net/http's ResponseWriter cannot write.
func rawStatus(status string, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 %s\r\nContent-Length: %d\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n%s", status, len(body), body)
		buf.Flush()
	}
}

func TestUploadResponses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sample_project-1.2.0-py3-none-any.whl")
	os.WriteFile(path, []byte("wheel"), 0o644)
	d := hashedDist(t, path)
	m, _ := ParseMetadata(readFixture(t, "METADATA"))
	cases := []struct {
		name      string
		respond   func(http.ResponseWriter)
		exists    bool
		retryable bool
		errHas    string
	}{
		{"ok", ok, false, false, ""},
		{"gitlab created", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }, false, false, ""},
		{"pypi exists", rawStatus("400 File already exists ('sample_project-1.2.0-py3-none-any.whl', with blake2_256 hash 'ab'). See https://pypi.org/help/#file-name-reuse for more information.", "<html>400</html>"), true, false, "HTTP 400: File already exists"},
		{"pypiserver exists", func(w http.ResponseWriter) { http.Error(w, "Package already exists", http.StatusConflict) }, true, false, "HTTP 409: Package already exists"},
		{"invalid attestations", rawStatus("400 Invalid attestations supplied during upload: Could not verify the uploaded artifact using the included attestation", "<html/>"), false, false, "Invalid attestations supplied during upload"},
		{"forbidden", func(w http.ResponseWriter) {
			w.WriteHeader(403)
			io.WriteString(w, `{"message":"The user 'x' isn't allowed to upload to project 'sample'."}`)
		}, false, false, "isn't allowed to upload"},
		{"unavailable", func(w http.ResponseWriter) { http.Error(w, "upstream timed out", http.StatusServiceUnavailable) }, false, true, "HTTP 503: upstream timed out"},
		{"redirect", func(w http.ResponseWriter) {
			w.Header().Set("Location", "https://upload.pypi.org/legacy/")
			w.WriteHeader(http.StatusMovedPermanently)
		}, false, false, `redirects (301 Moved Permanently) to "https://upload.pypi.org/legacy/"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fakeIndex(t, tc.respond)
			err := DefaultClient.Upload(context.Background(), srv.URL+"/legacy/", d, m, nil, BasicAuth{"__token__", "t"})
			if tc.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err = %v, want %q", err, tc.errHas)
			}
			if errors.Is(err, ErrExists) != tc.exists {
				t.Errorf("errors.Is(ErrExists) = %v", !tc.exists)
			}
			if Retryable(err) != tc.retryable {
				t.Errorf("Retryable = %v", !tc.retryable)
			}
		})
	}
}

// TestUploadConnectionReset: the index drops the connection mid-upload;
// the error is retryable.
func TestUploadConnectionReset(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sample_project-1.2.0-py3-none-any.whl")
	os.WriteFile(path, []byte(strings.Repeat("x", 1<<20)), 0o644)
	d := hashedDist(t, path)
	m, _ := ParseMetadata(readFixture(t, "METADATA"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		bufio.NewReader(conn).Peek(1000)
		conn.Close()
	}))
	defer srv.Close()
	err := DefaultClient.Upload(context.Background(), srv.URL, d, m, nil, nil)
	if err == nil || !Retryable(err) {
		t.Fatalf("err = %v, Retryable = %v", err, Retryable(err))
	}
}

func TestRetryPolicy(t *testing.T) {
	var slept []time.Duration
	p := RetryPolicy{Attempts: 4, Initial: time.Second, Max: 3 * time.Second, Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}}
	ctx := context.Background()
	unavailable := &UploadError{Filename: "f", Status: 503}
	reset := fmt.Errorf("uploading f: %w", syscall.ECONNRESET)

	// Transient failures, then success.
	var calls int
	err := p.Do(ctx, func(context.Context) error {
		calls++
		if calls < 3 {
			return unavailable
		}
		return nil
	}, func(context.Context) (bool, error) { return false, nil })
	if err != nil || calls != 3 || fmt.Sprint(slept) != "[1s 2s]" {
		t.Errorf("err %v, calls %d, slept %v", err, calls, slept)
	}

	// The file landed despite the reset: the caller is told, no re-upload.
	calls, slept = 0, nil
	var checks atomic.Int32
	err = p.Do(ctx, func(context.Context) error { calls++; return reset }, func(context.Context) (bool, error) {
		checks.Add(1)
		return true, nil
	})
	if !errors.Is(err, ErrLanded) || calls != 1 || checks.Load() != 1 {
		t.Errorf("err %v, calls %d, checks %d", err, calls, checks.Load())
	}

	// Refusals are final.
	calls = 0
	err = p.Do(ctx, func(context.Context) error { calls++; return &UploadError{Status: 400, Exists: true} }, nil)
	if !errors.Is(err, ErrExists) || calls != 1 {
		t.Errorf("err %v, calls %d", err, calls)
	}

	// Attempts run out; backoff is capped.
	calls, slept = 0, nil
	err = p.Do(ctx, func(context.Context) error { calls++; return reset }, nil)
	if calls != 4 || !strings.Contains(err.Error(), "giving up after 4 attempts") || !errors.Is(err, syscall.ECONNRESET) || fmt.Sprint(slept) != "[1s 2s 3s]" {
		t.Errorf("err %v, calls %d, slept %v", err, calls, slept)
	}

	// The existence check failing stops retries.
	err = p.Do(ctx, func(context.Context) error { return reset }, func(context.Context) (bool, error) { return false, errors.New("index down") })
	if err == nil || !strings.Contains(err.Error(), "index down") {
		t.Errorf("err %v", err)
	}
	if Retryable(context.Canceled) || Retryable(&UploadError{Status: 403}) || !Retryable(&UploadError{Status: 429}) || !Retryable(io.ErrUnexpectedEOF) {
		t.Errorf("Retryable classification")
	}
	if Retryable(&IndexError{Status: 404}) || !Retryable(fmt.Errorf("listing x: %w", &IndexError{Status: 503})) || !Retryable(&IndexError{Status: 429}) {
		t.Errorf("Retryable classification of index answers")
	}
}
