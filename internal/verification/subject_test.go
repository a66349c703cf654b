package verification

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
)

// TestCheckSubjectDigests covers the digest forms a DSSE subject is matched
// with: sha256, sha512 (a sha512: argument or a file), and never an empty
// digest matching a subject that lacks that algorithm.
func TestCheckSubjectDigests(t *testing.T) {
	h256 := strings.Repeat("11", 32)
	h512 := strings.Repeat("22", 64)
	b := func(s string) []byte { d, _ := hex.DecodeString(s); return d }
	st := func(digests ...map[string]string) *intoto.Statement {
		s := &intoto.Statement{}
		for _, d := range digests {
			s.Subject = append(s.Subject, &intoto.ResourceDescriptor{Name: "x-1.0.tar.gz", Digest: d})
		}
		return s
	}
	tests := []struct {
		name   string
		st     *intoto.Statement
		a      Artifact
		pep740 bool
		err    string
	}{
		{name: "sha256", st: st(map[string]string{"sha256": h256}), a: Artifact{SHA256: b(h256)}},
		{name: "sha512 argument", st: st(map[string]string{"sha512": h512}), a: Artifact{SHA512: b(h512)}},
		{name: "sha512 argument, upper-case subject", st: st(map[string]string{"sha512": strings.ToUpper(h512)}), a: Artifact{SHA512: b(h512)}},
		{name: "sha512 argument, second subject", st: st(map[string]string{"sha256": h256}, map[string]string{"sha512": h512}), a: Artifact{SHA512: b(h512)}},
		{name: "sha512 argument, subject without sha256 is no match", st: st(map[string]string{"sha1": "x"}), a: Artifact{SHA512: b(h512)}, err: "sha512:" + h512},
		{name: "sha256 argument, sha512-only subject", st: st(map[string]string{"sha512": h512}), a: Artifact{SHA256: b(h256)}, err: "sha256:" + h256},
		{name: "file with both", st: st(map[string]string{"sha512": h512}), a: Artifact{SHA256: b(h256), SHA512: b(h512)}},
		{name: "PEP 740 needs sha256", st: st(map[string]string{"sha256": h256}), a: Artifact{SHA512: b(h512), Filename: "x-1.0.tar.gz"}, pep740: true, err: "PEP 740 subjects are named by sha256"},
		{name: "PEP 740 sha256", st: st(map[string]string{"sha256": h256}), a: Artifact{SHA256: b(h256), Filename: "x-1.0.tar.gz"}, pep740: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkSubject(tt.st, tt.a, tt.pep740)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Check != CheckSubject || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err %v, want a subject failure saying %q", err, tt.err)
			}
		})
	}
}

func TestSameDistFilename(t *testing.T) {
	tests := []struct {
		a, b string
		ok   bool
	}{
		{"spt3g-1.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "spt3g-1.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", true},
		{"rfc8785-0.1.2-py3-none-any.whl", "wrong_name-0.1.2-py3-none-any.whl", false},
		{"Foo.Bar-1.0.tar.gz", "foo_bar-1.0.tar.gz", true},
		{"foo-1.0.tar.gz", "foo-1.0.zip", false},
		{"foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl", false},
		{"foo-1.0-py3-none-any.whl", "foo-1.0-py3-none-win32.whl", false},
		{"not a dist", "foo-1.0.tar.gz", false},
	}
	for _, tt := range tests {
		if err := SameDistFilename(tt.a, tt.b); (err == nil) != tt.ok {
			t.Errorf("SameDistFilename(%q, %q) = %v, want ok=%v", tt.a, tt.b, err, tt.ok)
		}
	}
}

func TestCheckPackage(t *testing.T) {
	tests := []struct {
		subject, name, version, err string
	}{
		{subject: "pkg:npm/gundam-visor@1.0.1", name: "gundam-visor", version: "1.0.1"},
		{subject: "pkg:npm/%40trishankatdatadog/supreme-goggles@1.0.5", name: "@trishankatdatadog/supreme-goggles"},
		{subject: "pkg:npm/%40trishankatdatadog/supreme-goggles@1.0.5", name: "supreme-goggles", err: `names npm package "@trishankatdatadog/supreme-goggles"`},
		{subject: "pkg:npm/gundam-visor@1.0.1", version: "1.0.2", err: `names version "1.0.1", want "1.0.2"`},
		{subject: "pkg:npm/gundam-visor", name: "gundam-visor", err: "without a version"},
		{subject: "pypi_attestations-0.0.19.tar.gz", name: "pypi-attestations", version: "0.0.19"},
		{subject: "Pypi.Attestations-0.0.19-py3-none-any.whl", name: "pypi_attestations", version: "v0.0.19"},
		{subject: "pypi_attestations-0.0.19.tar.gz", name: "pypi-attestation", err: `names project "pypi_attestations"`},
		{subject: "pypi_attestations-0.0.19.tar.gz", version: "0.0.20", err: `names version "0.0.19", want "0.0.20"`},
		{subject: "pypi_attestations-0.0.19.tar.gz", version: "not a version", err: "not a PEP 440 version"},
		{subject: "binary-linux-amd64", name: "binary", err: "neither an npm package"},
	}
	for _, tt := range tests {
		err := checkPackage(tt.subject, tt.name, tt.version)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("checkPackage(%q, %q, %q) = %v, want %q", tt.subject, tt.name, tt.version, err, tt.err)
		}
	}
}
