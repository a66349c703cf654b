package pypitest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// The files WriteRelease writes: a wheel and an sdist of project "sample" 1.0.
const (
	WheelName = "sample-1.0-py3-none-any.whl"
	SdistName = "sample-1.0.tar.gz"
)

const sampleMetadata = `Metadata-Version: 2.1
Name: sample
Version: 1.0
Summary: A sample
Description-Content-Type: text/plain

A long description.
`

// WriteRelease writes a wheel and an sdist with real metadata into a fresh
// directory.
func WriteRelease(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, f := range [][2]string{
		{"sample/__init__.py", "X = 1\n"},
		{"sample-1.0.dist-info/METADATA", sampleMetadata},
		{"sample-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n"},
	} {
		w, _ := zw.Create(f[0])
		w.Write([]byte(f[1]))
	}
	zw.Close()
	var tbuf bytes.Buffer
	gz := gzip.NewWriter(&tbuf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "sample-1.0/PKG-INFO", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(sampleMetadata))})
	tw.Write([]byte(sampleMetadata))
	tw.Close()
	gz.Close()
	for name, data := range map[string][]byte{WheelName: zbuf.Bytes(), SdistName: tbuf.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
