package dists

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
)

func TestParseFilename(t *testing.T) {
	tests := []struct {
		file     string
		kind     Kind
		name     string
		version  string
		pyTag    string
		errMatch string
	}{
		{file: "attest_publish_sample-0.1.0-py3-none-any.whl", kind: Wheel, name: "attest-publish-sample", version: "0.1.0", pyTag: "py3"},
		{file: "numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", kind: Wheel, name: "numpy", version: "2.1.0", pyTag: "cp312"},
		{file: "pkg-1.0-1build-py2.py3-none-any.whl", kind: Wheel, name: "pkg", version: "1.0", pyTag: "py2.py3"},
		{file: "Pkg.Name-1.0rc1.tar.gz", kind: Sdist, name: "pkg-name", version: "1.0rc1", pyTag: "source"},
		// One archive suffix only (a fuzz finding: both were stripped).
		{file: "pkg-1.0+local.zip.tar.gz", kind: Sdist, name: "pkg", version: "1.0+local.zip", pyTag: "source"},
		{file: "pkg-2!1.0.post2.dev3+local.7.zip", kind: Sdist, name: "pkg", version: "2!1.0.post2.dev3+local.7", pyTag: "source"},
		{file: "pkg-1.0-Alpha.1.tar.gz", errMatch: "not a PEP 440 version"}, // name-version split takes the last dash
		{file: "pkg-1.0.0-py3-none.whl", errMatch: "PEP 427"},
		{file: "pkg-one-1.0-py3-none-any.whl", errMatch: "not a PEP 440 version"},
		{file: "pkg__x-1.0-py3-none-any.whl", errMatch: "bad project name"},
		{file: "pkg-1.0-x1-py3-none-any.whl", errMatch: "build tag"},
		{file: "pkg-notaversion-py3-none-any.whl", errMatch: "not a PEP 440 version"},
		{file: "pkg.tar.gz", errMatch: "PEP 625"},
		{file: "-1.0.tar.gz", errMatch: "PEP 625"},
		{file: "pkg-1.0.tar.bz2", errMatch: "not a wheel"},
		// Names are data: every part has its exact character set, and
		// control characters are refused before anything else.
		{file: "pkg-1.0-1_b.2-py3-none-manylinux_2_17_x86_64.whl", kind: Wheel, name: "pkg", version: "1.0", pyTag: "py3"},
		{file: "pkg-1.0-1\n::stop-commands::x1\n-none-any.whl", errMatch: "control character U+000A"},
		{file: "pkg-1.0-py3-none-any\r\n::error::forged.whl", errMatch: "control character U+000D"},
		{file: "pkg-1.0\n.tar.gz", errMatch: "control character U+000A"},
		{file: "pkg-1.0\t.tar.gz", errMatch: "control character U+0009"},
		{file: "pkg-1.0-py3-none-any\u0085.whl", errMatch: "control character U+0085"},
		{file: "pkg-1.0-py3-none-any\u2028.whl", errMatch: "control character U+2028"},
		{file: "pkg-1.0-py3-none-any\xff.whl", errMatch: "not valid UTF-8"},
		{file: "pkg-1.0-py3-none-../../../x.whl", errMatch: `contains '/'`},
		{file: "pkg-1.0-py3-none-x\"; name=\"attestations.whl", errMatch: `contains '"'`},
		{file: "pkg-1.0-1:x-py3-none-any.whl", errMatch: `contains ':'`},
		{file: "pkg-1.0 .tar.gz", errMatch: `contains ' '`},
		{file: "pkg-1.0-1%0A-py3-none-any.whl", errMatch: `contains '%'`},
		{file: "pkg-1.0-1!-py3-none-any.whl", errMatch: "build tag"},
		{file: "pkg-1.0-py3-none-any+x.whl", errMatch: "platform tag"},
		{file: "pkg-1.0-py3-abi!3-any.whl", errMatch: "abi tag"},
		{file: "pkg-1.0-py+3-none-any.whl", errMatch: "python tag"},
		{file: "pkg-1.0-py3--any.whl", errMatch: "empty abi tag"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := ParseFilename(tt.file)
			if tt.errMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.errMatch)
				}
				if !strings.HasPrefix(err.Error(), strconv.Quote(tt.file)+": ") {
					t.Errorf("err = %q does not start with the quoted filename", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != tt.kind || f.CanonicalName() != tt.name || f.Version != tt.version || f.PythonTag != tt.pyTag {
				t.Errorf("got %+v (canonical %q)", f, f.CanonicalName())
			}
		})
	}
}

func TestNormalizeVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.0":             "1.0",
		"v1.0":            "1.0",
		"1.0-Alpha1":      "1.0a1",
		"1.0.beta.2":      "1.0b2",
		"1.0c1":           "1.0rc1",
		"1.0-1":           "1.0.post1",
		"1.0.rev":         "1.0.post0",
		"1.0_dev":         "1.0.dev0",
		"0!01.002":        "1.2",
		"1.0+Ubuntu-1_a":  "1.0+ubuntu.1.a",
		"2024.01.05.post": "2024.1.5.post0",
	} {
		if got, ok := NormalizeVersion(in); !ok || got != want {
			t.Errorf("NormalizeVersion(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "1.0.", "one", "1.0+", "1..0"} {
		if got, ok := NormalizeVersion(bad); ok {
			t.Errorf("NormalizeVersion(%q) = %q, want invalid", bad, got)
		}
	}
	if !sameVersion("1.0", "1.0.0") || sameVersion("1.0", "1.0.1") || !sameVersion("1!2.0rc1", "1!2rc1") {
		t.Error("sameVersion gets trailing zeros wrong")
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "sample-1.0-py3-none-any.whl", "wheel bytes")
	write(t, dir, "sample-1.0.0.tar.gz", "sdist bytes")
	write(t, dir, "sample-1.0.tar.gz"+BundleSuffix, "{}") // not a dist: ignored
	write(t, dir, "README.txt", "ignored")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sub"), "other-9.0.tar.gz", "not searched") // not recursive

	got, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Filename != "sample-1.0-py3-none-any.whl" || got[1].Filename != "sample-1.0.0.tar.gz" {
		t.Fatalf("found %v", got)
	}
	sum := sha256.Sum256([]byte("wheel bytes"))
	b2 := blake2b.Sum256([]byte("wheel bytes"))
	if got[0].SHA256Hex() != hex.EncodeToString(sum[:]) || hex.EncodeToString(got[0].Blake2b256) != hex.EncodeToString(b2[:]) || got[0].Size != 11 {
		t.Errorf("digests/size wrong: %x %x %d", got[0].SHA256, got[0].Blake2b256, got[0].Size)
	}
}

func TestFindRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{name: "empty", setup: func(*testing.T, string) {}, want: []string{"no distributions"}},
		{name: "symlink", setup: func(t *testing.T, dir string) {
			write(t, dir, "real.bin", "x")
			write(t, dir, "sample-1.0.tar.gz", "x")
			if err := os.Symlink(filepath.Join(dir, "real.bin"), filepath.Join(dir, "sample-1.0-py3-none-any.whl")); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"sample-1.0-py3-none-any.whl: looks like a distribution but is not a regular file (a symlink)"}},
		{name: "directory", setup: func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "sample-1.0.zip"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"not a regular file (a directory)"}},
		{name: "invalid wheel name", setup: func(t *testing.T, dir string) {
			write(t, dir, "sample-1.0-py3-any.whl", "x")
		}, want: []string{"sample-1.0-py3-any.whl: invalid wheel filename"}},
		{name: "version mismatch", setup: func(t *testing.T, dir string) {
			write(t, dir, "sample-1.0-py3-none-any.whl", "x")
			write(t, dir, "sample-1.1.tar.gz", "x")
		}, want: []string{"sample-1.1.tar.gz: version 1.1 differs from 1.0"}},
		{name: "name mismatch, all problems listed", setup: func(t *testing.T, dir string) {
			write(t, dir, "sample-1.0-py3-none-any.whl", "x")
			write(t, dir, "other-1.0.tar.gz", "x")
			write(t, dir, "bad.whl", "x")
		}, want: []string{"2 problems", "bad.whl: invalid wheel filename", `project "sample" differs from "other"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			_, err := Find(dir)
			if err == nil {
				t.Fatal("Find accepted the directory")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestHashFileStreams checks that hashing a large file does not read it
// into memory: the bytes allocated stay far below the file size.
func TestHashFileStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.whl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, n, err := HashFile(path)
	runtime.ReadMemStats(&after)
	if err != nil || n != 64<<20 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2<<20 {
		t.Errorf("hashing a 64 MiB file allocated %d bytes", grew)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3174: "3.1 KiB", 1 << 20: "1.0 MiB", 200 << 20: "200.0 MiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
