package pypi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSimpleIndex serves one project with two releases, as pypiserver (HTML) or
// warehouse (PEP 691 JSON with PEP 740 provenance links) would.
type fakeSimpleIndex struct {
	json      bool
	files     map[string][]byte // filename → content
	prov      map[string][]byte // filename → provenance object
	flaky     atomic.Int32      // answer 503 this many times first
	lastAccpt atomic.Value
}

func (f *fakeSimpleIndex) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.flaky.Add(-1) >= 0 {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	switch {
	case r.URL.Path == "/simple/attest-publish-sample/":
		f.lastAccpt.Store(r.Header.Get("Accept"))
		names := []string{"attest_publish_sample-0.1.0-py3-none-any.whl", "attest_publish_sample-0.1.0.tar.gz", "attest_publish_sample-0.2.0.tar.gz", "unrelated-0.1.0.tar.gz"}
		if f.json {
			var files []map[string]any
			for _, n := range names {
				sum := sha256.Sum256(f.files[n])
				e := map[string]any{"filename": n, "url": "../../packages/" + n, "hashes": map[string]string{"sha256": hex.EncodeToString(sum[:])}, "provenance": nil}
				if strings.HasSuffix(n, ".whl") {
					e["provenance"] = "/elsewhere/" + n + "/provenance"
				}
				files = append(files, e)
			}
			w.Header().Set("Content-Type", SimpleJSONType)
			json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": "attest-publish-sample", "files": files})
			return
		}
		var b strings.Builder
		b.WriteString("<!DOCTYPE html><html><body><h1>Links for attest-publish-sample</h1>\n")
		for _, n := range names {
			sum := sha256.Sum256(f.files[n])
			fmt.Fprintf(&b, `<a href="../../packages/%s#sha256=%x">%s</a><br>`+"\n", n, sum, n)
		}
		b.WriteString("</body></html>")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(b.String()))
	case strings.HasPrefix(r.URL.Path, "/packages/"):
		data, ok := f.files[strings.TrimPrefix(r.URL.Path, "/packages/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	case strings.HasPrefix(r.URL.Path, "/integrity/"), strings.HasPrefix(r.URL.Path, "/elsewhere/"):
		parts := strings.Split(r.URL.Path, "/")
		data, ok := f.prov[parts[len(parts)-2]]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message": "No provenance available"}`))
			return
		}
		w.Header().Set("Content-Type", IntegrityType)
		w.Write(data)
	default:
		http.NotFound(w, r)
	}
}

func newFakeSimple(t *testing.T, asJSON bool) (*fakeSimpleIndex, *IndexClient) {
	t.Helper()
	att, err := os.ReadFile("testdata/sample.publish.attestation")
	if err != nil {
		t.Fatal(err)
	}
	prov, _ := json.Marshal(map[string]any{"version": 1, "attestation_bundles": []any{map[string]any{"publisher": map[string]any{"kind": "GitHub"}, "attestations": []json.RawMessage{att}}}})
	f := &fakeSimpleIndex{json: asJSON,
		files: map[string][]byte{
			"attest_publish_sample-0.1.0-py3-none-any.whl": []byte("wheel bytes"),
			"attest_publish_sample-0.1.0.tar.gz":           []byte("sdist bytes"),
			"attest_publish_sample-0.2.0.tar.gz":           []byte("newer sdist"),
			"unrelated-0.1.0.tar.gz":                       []byte("other"),
		},
		prov: map[string][]byte{"attest_publish_sample-0.1.0-py3-none-any.whl": prov, "attest_publish_sample-0.1.0.tar.gz": prov},
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := NewIndexClient(srv.URL + "/simple/")
	if err != nil {
		t.Fatal(err)
	}
	c.Retry = RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }}
	return f, c
}

func TestReleaseFiles(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			f, c := newFakeSimple(t, asJSON)
			files, err := c.ReleaseFiles(context.Background(), "Attest_Publish.Sample", "0.1.0")
			if err != nil {
				t.Fatal(err)
			}
			if accept, _ := f.lastAccpt.Load().(string); !strings.HasPrefix(accept, SimpleJSONType+",") {
				t.Errorf("Accept %q does not ask for PEP 691 JSON first", accept)
			}
			if len(files) != 2 {
				t.Fatalf("files %+v, want the wheel and sdist of 0.1.0", files)
			}
			for _, file := range files {
				if file.URL != c.BaseURL+"/packages/"+file.Filename || file.Project != "attest-publish-sample" || file.Version != "0.1.0" {
					t.Errorf("file %+v", file)
				}
				sum := sha256.Sum256(f.files[file.Filename])
				if file.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("%s: sha256 %q", file.Filename, file.SHA256)
				}
				want := c.BaseURL + "/integrity/attest-publish-sample/0.1.0/" + file.Filename + "/provenance"
				if asJSON && strings.HasSuffix(file.Filename, ".whl") {
					want = c.BaseURL + "/elsewhere/" + file.Filename + "/provenance" // the index's own PEP 740 link
				}
				if file.Provenance != want {
					t.Errorf("%s: provenance %q, want %q", file.Filename, file.Provenance, want)
				}
				s256, s512, size, err := c.Download(context.Background(), file)
				if err != nil || !bytes.Equal(s256, sum[:]) || len(s512) != 64 || size != int64(len(f.files[file.Filename])) {
					t.Errorf("Download(%s) = %x, %d, %v", file.Filename, s256, size, err)
				}
				prov, err := c.Provenance(context.Background(), file)
				if err != nil || !json.Valid(prov) {
					t.Errorf("Provenance(%s): %v", file.Filename, err)
				}
			}
		})
	}
}

func TestReleaseFilesErrors(t *testing.T) {
	_, c := newFakeSimple(t, false)
	ctx := context.Background()
	for _, tc := range []struct {
		project, version string
		is               error
		want             string
	}{
		{"attest-publish-sample", "9.9", ErrReleaseNotFound, "versions there: 0.1.0, 0.2.0"},
		{"no-such-project", "1.0", ErrProjectNotFound, "no-such-project is not on"},
		{"attest-publish-sample", "not a version", nil, "not a valid project name and PEP 440 version"},
	} {
		_, err := c.ReleaseFiles(ctx, tc.project, tc.version)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("ReleaseFiles(%s==%s) = %v, want %v with %q", tc.project, tc.version, err, tc.is, tc.want)
		}
	}
}

func TestProvenanceMissing(t *testing.T) {
	_, c := newFakeSimple(t, false)
	files, err := c.ReleaseFiles(context.Background(), "attest-publish-sample", "0.2.0")
	if err != nil || len(files) != 1 {
		t.Fatalf("%v %v", files, err)
	}
	_, err = c.Provenance(context.Background(), files[0])
	if !errors.Is(err, ErrNoProvenance) || !strings.Contains(err.Error(), "attest_publish_sample-0.2.0.tar.gz") {
		t.Errorf("err = %v, want ErrNoProvenance naming the file", err)
	}
}

func TestDownloadChecksTheIndexDigest(t *testing.T) {
	_, c := newFakeSimple(t, false)
	files, err := c.ReleaseFiles(context.Background(), "attest-publish-sample", "0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	f := files[0]
	f.SHA256 = strings.Repeat("0", 64)
	var mm *DigestMismatchIndexError
	if _, _, _, err := c.Download(context.Background(), f); !errors.As(err, &mm) {
		t.Errorf("err = %v, want a digest mismatch", err)
	}
}

func TestIndexRetries(t *testing.T) {
	f, c := newFakeSimple(t, true)
	f.flaky.Store(2)
	if _, err := c.ReleaseFiles(context.Background(), "attest-publish-sample", "0.1.0"); err != nil {
		t.Fatalf("two 503s then success: %v", err)
	}
	f.flaky.Store(10)
	_, err := c.ReleaseFiles(context.Background(), "attest-publish-sample", "0.1.0")
	if err == nil || !strings.Contains(err.Error(), "giving up after 4 attempts") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("err = %v, want giving up after 4 attempts", err)
	}
}

func TestNewIndexClient(t *testing.T) {
	for in, want := range map[string]string{
		"https://pypi.org":                 "https://pypi.org",
		"https://pypi.org/simple/":         "https://pypi.org",
		"http://127.0.0.1:8080/simple":     "http://127.0.0.1:8080",
		"https://example.com/pypi/simple/": "https://example.com/pypi",
	} {
		c, err := NewIndexClient(in)
		if err != nil || c.BaseURL != want {
			t.Errorf("NewIndexClient(%q) = %v, %v; want %q", in, c, err, want)
		}
	}
	for _, bad := range []string{"", "pypi.org", "ftp://pypi.org"} {
		if _, err := NewIndexClient(bad); err == nil {
			t.Errorf("NewIndexClient(%q) accepted", bad)
		}
	}
}

// TestFile looks one file up on the project's simple page, as publish does
// to see whether an upload landed and where the file is served: from PEP
// 691 JSON and from PEP 503 HTML alike, a file the page does not list and
// a project the index does not know are not found (no error), and a page
// that cannot be read is an error after the retries.
func TestFile(t *testing.T) {
	const sdist = "attest_publish_sample-0.1.0.tar.gz"
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			f, c := newFakeSimple(t, asJSON)
			ctx := context.Background()
			for _, tc := range []struct {
				project, filename string
				found             bool
			}{
				{"Attest_Publish.Sample", sdist, true},
				{"attest-publish-sample", "attest_publish_sample-0.2.0.tar.gz", true},
				{"attest-publish-sample", "attest_publish_sample-0.3.0.tar.gz", false},
				{"attest-publish-sample", "unrelated-0.1.0.tar.gz", true}, // listed on the page, as asked
				{"no-such-project", "no_such_project-1.0.tar.gz", false},
			} {
				file, ok, err := c.File(ctx, tc.project, tc.filename)
				if err != nil || ok != tc.found {
					t.Errorf("File(%s, %s) = %v, %v; want found %v", tc.project, tc.filename, ok, err, tc.found)
					continue
				}
				if !ok {
					if file != (IndexFile{}) {
						t.Errorf("File(%s, %s) not found, but returned %+v", tc.project, tc.filename, file)
					}
					continue
				}
				sum := sha256.Sum256(f.files[tc.filename])
				if file.Filename != tc.filename || file.URL != c.BaseURL+"/packages/"+tc.filename || file.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("File(%s, %s) = %+v", tc.project, tc.filename, file)
				}
			}
			file, _, _ := c.File(ctx, "attest-publish-sample", sdist)
			if file.Project != "attest-publish-sample" || file.Version != "0.1.0" || file.Provenance != c.BaseURL+"/integrity/attest-publish-sample/0.1.0/"+sdist+"/provenance" {
				t.Errorf("File(%s) = %+v, want project, version and provenance as ReleaseFiles sets them", sdist, file)
			}

			f.flaky.Store(2)
			if _, ok, err := c.File(ctx, "attest-publish-sample", sdist); err != nil || !ok {
				t.Errorf("two 503s then the page: %v, %v", ok, err)
			}
			f.flaky.Store(10)
			if _, ok, err := c.File(ctx, "attest-publish-sample", sdist); ok || err == nil || !strings.Contains(err.Error(), "giving up after 4 attempts") || !strings.Contains(err.Error(), "HTTP 503") {
				t.Errorf("an unreadable page: %v, %v; want giving up after 4 attempts", ok, err)
			}
			f.flaky.Store(0)
			if _, _, err := c.File(ctx, "", sdist); err == nil {
				t.Error("File accepted an empty project name")
			}
		})
	}
}
