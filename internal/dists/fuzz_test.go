package dists

import (
	"strings"
	"testing"
)

// The fuzz targets feed arbitrary strings to the filename and version
// parsers: errors are fine, panics are not, and what parses must re-render
// to itself. Seeds are in testdata/fuzz/<FuzzName>/ (the dist filenames and
// versions of the repository's test vectors, testdata/vectors, and of this
// package's tests). Run one with
//
//	go test ./internal/dists -run '^$' -fuzz '^FuzzParseFilename$' -fuzztime 60s
//
// or every target with `make fuzz`.

// FuzzParseFilename checks ParseFilename: a parsed filename re-rendered
// (name-version-python-none-any.whl, name-version.tar.gz) parses to the same
// value, its version is in normal form, and its canonical name is stable.
func FuzzParseFilename(f *testing.F) {
	f.Add("attest_publish_sample-0.1.0-py3-none-any.whl")
	f.Add("Pkg.Name-1.0rc1.tar.gz")
	f.Fuzz(func(t *testing.T, filename string) {
		fn, err := ParseFilename(filename)
		if err != nil {
			if fn != (Filename{}) {
				t.Fatalf("ParseFilename(%q) returned %+v with an error", filename, fn)
			}
			return
		}
		if !IsDistFilename(filename) {
			t.Fatalf("ParseFilename accepted %q, which IsDistFilename refuses", filename)
		}
		if fn.Name == "" || fn.Version == "" || fn.PythonTag == "" {
			t.Fatalf("ParseFilename(%q) = %+v: empty field", filename, fn)
		}
		if nv, ok := NormalizeVersion(fn.Version); !ok || nv != fn.Version {
			t.Fatalf("ParseFilename(%q): version %q is not in normal form (%q, %v)", filename, fn.Version, nv, ok)
		}
		cn := fn.CanonicalName()
		if cn == "" || CanonicalizeName(cn) != cn || strings.ContainsAny(cn, "_.") || strings.Contains(cn, "--") {
			t.Fatalf("ParseFilename(%q): canonical name %q is not canonical", filename, cn)
		}
		var again string
		switch fn.Kind {
		case Wheel:
			again = fn.Name + "-" + fn.Version + "-" + fn.PythonTag + "-none-any.whl"
		case Sdist:
			if fn.PythonTag != "source" {
				t.Fatalf("ParseFilename(%q): sdist with python tag %q", filename, fn.PythonTag)
			}
			again = fn.Name + "-" + fn.Version + ".tar.gz"
		default:
			t.Fatalf("ParseFilename(%q): kind %q", filename, fn.Kind)
		}
		back, err := ParseFilename(again)
		if err != nil {
			t.Fatalf("ParseFilename(%q) = %+v, but its re-rendering %q does not parse: %v", filename, fn, again, err)
		}
		if back != fn {
			t.Fatalf("ParseFilename(%q) = %+v, re-rendered %q parses to %+v", filename, fn, again, back)
		}
	})
}

// FuzzNormalizeVersion checks that NormalizeVersion is idempotent (the
// normal form is a valid version that normalizes to itself), that it
// ignores surrounding space, and that the normal form contains no
// character that would break a filename ('-', '_', space, upper case).
func FuzzNormalizeVersion(f *testing.F) {
	f.Add("1.0-Alpha.1")
	f.Add("v1!2.0.0-rc.3.post4.dev5+Local-Build_7")
	f.Fuzz(func(t *testing.T, v string) {
		nv, ok := NormalizeVersion(v)
		if !ok {
			if nv != "" {
				t.Fatalf("NormalizeVersion(%q) = %q with ok=false", v, nv)
			}
			return
		}
		if nv == "" || strings.ContainsAny(nv, "-_ \t\n") || strings.ToLower(nv) != nv {
			t.Fatalf("NormalizeVersion(%q) = %q: not a normal form", v, nv)
		}
		again, ok := NormalizeVersion(nv)
		if !ok || again != nv {
			t.Fatalf("NormalizeVersion(%q) = %q, but NormalizeVersion(%q) = %q, %v", v, nv, nv, again, ok)
		}
		if spaced, ok := NormalizeVersion(" " + v + "\n"); !ok || spaced != nv {
			t.Fatalf("NormalizeVersion with surrounding space = %q, %v; want %q", spaced, ok, nv)
		}
		if !sameVersion(nv, nv) {
			t.Fatalf("sameVersion(%q, %q) is false", nv, nv)
		}
	})
}
