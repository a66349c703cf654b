package pypi

import (
	"crypto/sha256"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// The fuzz targets feed arbitrary bytes to the parsers of what a dist or an
// index hands us: core metadata (METADATA, PKG-INFO), the dist archives that
// hold it, and the simple API's project pages (PEP 691 JSON, PEP 503 HTML).
// Errors are fine, panics are not; what parses must be well formed, and
// metadata must survive a re-rendering. Seeds are in
// testdata/fuzz/<FuzzName>/ (the METADATA and PKG-INFO of the wheels and
// sdists in testdata/vectors and testdata/sampleproject, this package's
// fixtures, and index pages in pypi.org's and pypiserver's formats for the
// vectors' dists). Run one with
//
//	go test ./internal/pypi -run '^$' -fuzz '^FuzzParseMetadata$' -fuzztime 60s
//
// or every target with `make fuzz`.

// FuzzParseMetadata checks ParseMetadata: field names are lowercased,
// non-empty and free of ':' and blanks; rendering the parsed fields and
// description back to a file parses to the same Metadata; and Check and
// FormFields (what an upload does with it next) never panic.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte("Metadata-Version: 2.1\nName: sample\nVersion: 1.0\n\nA description.\n"))
	f.Add([]byte("Metadata-Version: 1.2\nName: legacy\nVersion: 0.1\nDescription: first line\n        second line\n       |third line\n"))
	d := &dists.Dist{
		Filename: "sample-1.0.tar.gz", Path: "sample-1.0.tar.gz",
		Parsed:     dists.Filename{Kind: dists.Sdist, Name: "sample", Version: "1.0", PythonTag: "source"},
		SHA256:     make([]byte, sha256.Size),
		Blake2b256: make([]byte, blake2b.Size256),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata(data)
		if err != nil {
			if m != nil {
				t.Fatal("ParseMetadata returned metadata and an error")
			}
			return
		}
		if m == nil || len(m.Fields) == 0 {
			t.Fatal("ParseMetadata accepted metadata without fields")
		}
		for k, vs := range m.Fields {
			if k == "" || strings.ToLower(k) != k || strings.ContainsAny(k, ": \t\n") {
				t.Fatalf("field name %q is not a lowercased header name", k)
			}
			if len(vs) == 0 {
				t.Fatalf("field %q has no values", k)
			}
		}
		back, err := ParseMetadata(renderMetadata(m))
		if err != nil {
			t.Fatalf("re-rendered metadata does not parse: %v", err)
		}
		if !reflect.DeepEqual(back.Fields, m.Fields) {
			t.Fatalf("fields changed in the round trip:\n got  %q\n want %q", back.Fields, m.Fields)
		}
		if back.Description != m.Description {
			t.Fatalf("description changed in the round trip:\n got  %q\n want %q", back.Description, m.Description)
		}
		r := Check(m, d)
		for _, p := range append(r.Errors, r.Warnings...) {
			if !strings.HasPrefix(p, d.Filename+": ") {
				t.Fatalf("Check problem does not name the dist: %q", p)
			}
		}
		fields, err := FormFields(d, m, nil)
		if err != nil {
			t.Fatalf("FormFields: %v", err)
		}
		if len(fields) < 9 || fields[0].Name != ":action" {
			t.Fatalf("FormFields returned %d fields starting %v", len(fields), fields[:min(len(fields), 1)])
		}
	})
}

// renderMetadata writes m back as a core metadata file that ParseMetadata
// reads as m: field names in sorted order (values in file order, each line
// of a folded value on its own line), a blank line, then the description
// as the body unless it came from a Description header. Every line ends in
// "\r\r\n": ParseMetadata turns "\r\n" into "\n" and then drops one "\r"
// before each "\n", so a line's own trailing "\r" survives. A byte-order
// mark comes first, since ParseMetadata drops exactly one.
func renderMetadata(m *Metadata) []byte {
	const eol = "\r\r\n"
	var b strings.Builder
	b.WriteString("\ufeff")
	keys := make([]string, 0, len(m.Fields))
	for k := range m.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range m.Fields[k] {
			b.WriteString(k + ": " + strings.ReplaceAll(v, "\n", eol) + eol)
		}
	}
	fromHeader := m.Get("description") != "" && unfoldDescription(m.Get("description")) == m.Description
	if m.Description != "" && !fromHeader {
		b.WriteString(eol)
		for _, line := range strings.Split(strings.TrimSuffix(m.Description, "\n"), "\n") {
			b.WriteString(line + eol)
		}
	}
	return []byte(b.String())
}

// FuzzReadMetadata writes arbitrary bytes to a file named like a dist (a
// wheel, a .tar.gz or a .zip sdist, or anything else) and reads its
// metadata: the archive readers must refuse a bad archive with an error,
// and what they accept is metadata that ParseMetadata accepts, with a
// Source naming the dist and its metadata member.
func FuzzReadMetadata(f *testing.F) {
	f.Add("sample-1.0-py3-none-any.whl", []byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add("sample-1.0.tar.gz", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || len(name) > 200 {
			t.Skip("not a file name")
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Skip(err)
		}
		defer os.Remove(path)
		m, err := ReadMetadata(path)
		if err != nil {
			if m != nil {
				t.Fatal("ReadMetadata returned metadata and an error")
			}
			return
		}
		if !strings.HasSuffix(name, ".whl") && !strings.HasSuffix(name, ".tar.gz") && !strings.HasSuffix(name, ".zip") {
			t.Fatalf("ReadMetadata read %q, which is not named like a dist", name)
		}
		member, ok := strings.CutPrefix(m.Source, name+"!")
		if !ok || !(strings.HasSuffix(member, "/METADATA") || strings.HasSuffix(member, "/PKG-INFO")) {
			t.Fatalf("Source %q does not name %s and its metadata member", m.Source, name)
		}
		if len(m.Fields) == 0 {
			t.Fatal("ReadMetadata accepted metadata without fields")
		}
	})
}

// fuzzPage is the URL the simple API pages are parsed against.
var fuzzPage = &url.URL{Scheme: "https", Host: "pypi.org", Path: "/simple/sampleproject/"}

// checkIndexFiles checks what a simple API parser returned: absolute URLs
// without fragments, lowercased digests, no Project/Version (ReleaseFiles
// fills those from the filename).
func checkIndexFiles(t *testing.T, files []IndexFile) {
	t.Helper()
	for _, f := range files {
		u, err := url.Parse(f.URL)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(f.URL, "#") {
			t.Fatalf("file %q: URL %q is not absolute without a fragment (%v)", f.Filename, f.URL, err)
		}
		if f.Provenance != "" {
			if p, err := url.Parse(f.Provenance); err != nil || !p.IsAbs() {
				t.Fatalf("file %q: provenance URL %q is not absolute (%v)", f.Filename, f.Provenance, err)
			}
		}
		if strings.ToLower(f.SHA256) != f.SHA256 {
			t.Fatalf("file %q: digest %q is not lowercased", f.Filename, f.SHA256)
		}
		if f.Project != "" || f.Version != "" {
			t.Fatalf("file %q: parser set project %q version %q", f.Filename, f.Project, f.Version)
		}
	}
}

// FuzzParseSimpleJSON checks the PEP 691 project-page parser: one file per
// entry of "files", in order, with well-formed URLs.
func FuzzParseSimpleJSON(f *testing.F) {
	f.Add([]byte(`{"meta":{"api-version":"1.1"},"name":"sampleproject","files":[]}`))
	f.Add([]byte(`{"files":[{"filename":"sampleproject-1.0.tar.gz","url":"../../packages/sampleproject-1.0.tar.gz#sha256=AB","hashes":{"sha256":"AB"},"provenance":"/integrity/x"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		files, err := parseSimpleJSON(body, fuzzPage)
		if err != nil {
			if files != nil {
				t.Fatal("parseSimpleJSON returned files and an error")
			}
			return
		}
		var doc simpleJSON
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("parseSimpleJSON accepted a page encoding/json refuses: %v", err)
		}
		if len(files) != len(doc.Files) {
			t.Fatalf("%d files listed, %d returned", len(doc.Files), len(files))
		}
		for i, f := range files {
			if f.Filename != doc.Files[i].Filename {
				t.Fatalf("file %d: filename %q, page says %q", i, f.Filename, doc.Files[i].Filename)
			}
		}
		checkIndexFiles(t, files)
	})
}

// FuzzParseSimpleHTML checks the PEP 503 project-page parser: filenames
// are the links' trimmed text, URLs well formed.
func FuzzParseSimpleHTML(f *testing.F) {
	f.Add([]byte("<!DOCTYPE html><html><body><a href=\"../../packages/sampleproject-1.0.tar.gz#sha256=AB\">sampleproject-1.0.tar.gz</a><br></body></html>"))
	f.Add([]byte(`<a href="x.whl" data-provenance="https://pypi.org/integrity/x/1/x.whl/provenance"> x.whl </a>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		files, err := parseSimpleHTML(body, fuzzPage)
		if err != nil {
			return
		}
		for _, f := range files {
			if strings.TrimSpace(f.Filename) != f.Filename {
				t.Fatalf("filename %q is not trimmed", f.Filename)
			}
		}
		checkIndexFiles(t, files)
	})
}
