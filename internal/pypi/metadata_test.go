package pypi

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/dists"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeZip writes a zip archive of files (name → content) to path.
func writeZip(t *testing.T, path string, files [][2]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, file := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: file[0], Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(file[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// writeTarGz writes a gzipped tar archive of files to path.
func writeTarGz(t *testing.T, path string, files [][2]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, file := range files {
		if strings.HasSuffix(file[0], "/") {
			tw.WriteHeader(&tar.Header{Name: file[0], Typeflag: tar.TypeDir, Mode: 0o755})
			continue
		}
		tw.WriteHeader(&tar.Header{Name: file[0], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(file[1]))})
		tw.Write([]byte(file[1]))
	}
	tw.Close()
	gz.Close()
	f.Close()
}

// buildDists writes a wheel, a .tar.gz sdist and a .zip sdist of the
// fixture METADATA into dir, as build backends lay them out.
func buildDists(t *testing.T, dir string) (wheel, tarball, zipball string) {
	t.Helper()
	md := string(readFixture(t, "METADATA"))
	wheel = filepath.Join(dir, "sample_project-1.2.0-py3-none-any.whl")
	writeZip(t, wheel, [][2]string{
		{"sample_project/__init__.py", "def main():\n    return 1\n"},
		{"sample_project-1.2.0.dist-info/METADATA", md},
		{"sample_project-1.2.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{"sample_project-1.2.0.dist-info/RECORD", ""},
	})
	sdistFiles := [][2]string{
		{"sample_project-1.2.0/", ""},
		{"sample_project-1.2.0/PKG-INFO", md},
		{"sample_project-1.2.0/pyproject.toml", "[project]\nname = \"sample_project\"\n"},
		// A nested PKG-INFO (setuptools' egg-info) must not be taken.
		{"sample_project-1.2.0/src/sample_project.egg-info/PKG-INFO", "Metadata-Version: 2.1\nName: wrong\nVersion: 0\n"},
	}
	tarball = filepath.Join(dir, "sample_project-1.2.0.tar.gz")
	writeTarGz(t, tarball, sdistFiles)
	zipball = filepath.Join(dir, "sample_project-1.2.0.zip")
	writeZip(t, zipball, sdistFiles[1:])
	return wheel, tarball, zipball
}

func TestReadMetadata(t *testing.T) {
	dir := t.TempDir()
	wheel, tarball, zipball := buildDists(t, dir)
	for _, path := range []string{wheel, tarball, zipball} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m, err := ReadMetadata(path)
			if err != nil {
				t.Fatal(err)
			}
			if m.Get("Name") != "sample_project" || m.Get("version") != "1.2.0" || m.Get("METADATA-VERSION") != "2.4" {
				t.Errorf("name/version: %v", m.Fields)
			}
			if got := m.Values("Classifier"); len(got) != 3 || got[2] != "Programming Language :: Python :: 3 :: Only" {
				t.Errorf("classifiers %q", got)
			}
			if got := m.Values("requires-dist"); len(got) != 3 || got[1] != `check-manifest; extra == "dev"` {
				t.Errorf("requires-dist %q", got)
			}
			if !strings.HasPrefix(m.Description, "# Sample project\n\n") || !strings.Contains(m.Description, "\n    indented code\n") || !strings.HasSuffix(m.Description, "Ünïcödé works too.\n") {
				t.Errorf("description %q", m.Description)
			}
			if !strings.Contains(m.Source, "/") || !strings.HasPrefix(m.Source, filepath.Base(path)+"!") {
				t.Errorf("source %q", m.Source)
			}
			d := &dists.Dist{Path: path, Filename: filepath.Base(path)}
			d.Parsed, err = dists.ParseFilename(d.Filename)
			if err != nil {
				t.Fatal(err)
			}
			if r := Check(m, d); len(r.Errors) != 0 || len(r.Warnings) != 0 {
				t.Errorf("check: %+v", r)
			}
		})
	}
}

func TestReadMetadataErrors(t *testing.T) {
	dir := t.TempDir()
	noMeta := filepath.Join(dir, "x-1.0-py3-none-any.whl")
	writeZip(t, noMeta, [][2]string{{"x/__init__.py", ""}})
	two := filepath.Join(dir, "y-1.0-py3-none-any.whl")
	writeZip(t, two, [][2]string{{"a.dist-info/METADATA", "Name: a\n"}, {"b.dist-info/METADATA", "Name: b\n"}})
	garbage := filepath.Join(dir, "z-1.0.tar.gz")
	os.WriteFile(garbage, []byte("not gzip"), 0o644)
	bad := filepath.Join(dir, "w-1.0.tar.gz")
	writeTarGz(t, bad, [][2]string{{"w-1.0/PKG-INFO", "Metadata-Version 2.1\n"}})
	for path, want := range map[string]string{
		noMeta:  "no metadata file",
		two:     "more than one metadata file",
		garbage: "not a gzip file",
		bad:     `not a "Field: value" header`,
	} {
		_, err := ReadMetadata(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want %q", filepath.Base(path), err, want)
		}
	}
}

func TestParseMetadataLegacyDescription(t *testing.T) {
	m, err := ParseMetadata([]byte("Metadata-Version: 1.1\r\nName: old\r\nVersion: 0.1\r\nDescription: Title\r\n        =====\r\n        \r\n        Body |x|\r\n       |pipe\r\nPlatform: UNKNOWN\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Title\n=====\n\nBody |x|\npipe"; m.Description != want {
		t.Errorf("description %q, want %q", m.Description, want)
	}
	if m.Get("platform") != "UNKNOWN" {
		t.Errorf("fields %v", m.Fields)
	}
}

func TestCheck(t *testing.T) {
	base := string(readFixture(t, "METADATA"))
	wheel := &dists.Dist{Filename: "sample_project-1.2.0-py3-none-any.whl"}
	var err error
	if wheel.Parsed, err = dists.ParseFilename(wheel.Filename); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name          string
		edit          func(string) string
		errs, warning string
	}{
		{"ok", func(s string) string { return s }, "", ""},
		{"no metadata version", func(s string) string { return strings.Replace(s, "Metadata-Version: 2.4\n", "", 1) }, "Metadata-Version is missing", ""},
		{"unknown metadata version", func(s string) string { return strings.Replace(s, "Metadata-Version: 2.4", "Metadata-Version: 9.9", 1) }, `Metadata-Version "9.9" is not a known`, ""},
		{"no name", func(s string) string { return strings.Replace(s, "Name: sample_project\n", "", 1) }, "Name is missing", ""},
		{"other name", func(s string) string { return strings.Replace(s, "Name: sample_project", "Name: other", 1) }, `Name "other" does not match the filename's project "sample_project"`, ""},
		{"equivalent name", func(s string) string { return strings.Replace(s, "Name: sample_project", "Name: Sample.Project", 1) }, "", ""},
		{"no version", func(s string) string { return strings.Replace(s, "Version: 1.2.0\n", "", 1) }, "Version is missing", ""},
		{"other version", func(s string) string { return strings.Replace(s, "Version: 1.2.0", "Version: 1.3", 1) }, `Version "1.3" does not match the filename's version "1.2.0"`, ""},
		{"equivalent version", func(s string) string { return strings.Replace(s, "Version: 1.2.0", "Version: v1.2.0", 1) }, "", ""},
		{"bad version", func(s string) string { return strings.Replace(s, "Version: 1.2.0", "Version: banana", 1) }, "is not a PEP 440 version", ""},
		{"dynamic version", func(s string) string { return strings.Replace(s, "Dynamic: license-file", "Dynamic: version", 1) }, `Dynamic lists "version"`, ""},
		{"unknown content type", func(s string) string {
			return strings.Replace(s, "text/markdown; charset=UTF-8", "text/asciidoc", 1)
		}, "PyPI renders only text/plain, text/x-rst and text/markdown", ""},
		{"bad markdown variant", func(s string) string {
			return strings.Replace(s, "text/markdown; charset=UTF-8", "text/markdown; variant=Pandoc", 1)
		}, `unknown Markdown variant "Pandoc"`, ""},
		{"bad charset", func(s string) string {
			return strings.Replace(s, "charset=UTF-8", "charset=latin-1", 1)
		}, "the charset must be UTF-8", ""},
		{"no content type", func(s string) string {
			return strings.Replace(s, "Description-Content-Type: text/markdown; charset=UTF-8\n", "", 1)
		}, "", "Description-Content-Type is missing"},
		{"no description", func(s string) string { return s[:strings.Index(s, "\n\n")+1] }, "", "long description is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMetadata([]byte(tc.edit(base)))
			if err != nil {
				t.Fatal(err)
			}
			r := Check(m, wheel)
			if tc.errs == "" && len(r.Errors) != 0 || tc.errs != "" && (len(r.Errors) != 1 || !strings.Contains(r.Errors[0], tc.errs)) {
				t.Errorf("errors %q, want %q", r.Errors, tc.errs)
			}
			if tc.errs != "" && !strings.HasPrefix(r.Errors[0], wheel.Filename+": ") {
				t.Errorf("error %q does not start with the filename", r.Errors[0])
			}
			if tc.warning == "" && len(r.Warnings) != 0 || tc.warning != "" && (len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], tc.warning)) {
				t.Errorf("warnings %q, want %q", r.Warnings, tc.warning)
			}
		})
	}
}
