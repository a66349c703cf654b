package main

import (
	"github.com/attest-publish/attest-publish/internal/release"

	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestVerifyFlagsPolicy(t *testing.T) {
	tests := []struct {
		name  string
		f     verifyFlags
		check func(t *testing.T, f verifyFlags)
		err   string
	}{
		{name: "repository shorthand", f: verifyFlags{identity: "s", issuer: "i", sourceRepository: "o/r", denySelfHosted: true}, check: func(t *testing.T, f verifyFlags) {
			p, _ := f.policy()
			if p.Extensions.SourceRepositoryURI != "https://github.com/o/r" || p.Extensions.RunnerEnvironment != "github-hosted" {
				t.Errorf("extensions %+v", p.Extensions)
			}
		}},
		{name: "publisher", f: verifyFlags{identityRegexp: ".*", issuer: "i", publisherKind: "GitHub", publisherRepo: "o/r", publisherWorkflow: "release.yml"}, check: func(t *testing.T, f verifyFlags) {
			p, _ := f.policy()
			if p.Publisher == nil || p.Publisher.Kind != "github" {
				t.Errorf("publisher %+v", p.Publisher)
			}
		}},
		{name: "publisher without kind", f: verifyFlags{identity: "s", issuer: "i", publisherRepo: "o/r"}, err: "--publisher-kind"},
		{name: "publisher without workflow", f: verifyFlags{identity: "s", issuer: "i", publisherKind: "gitlab", publisherRepo: "g/p"}, err: "--publisher-workflow"},
		{name: "bad repository", f: verifyFlags{identity: "s", issuer: "i", sourceRepository: "o"}, err: "--source-repository"},
		{name: "keyless without issuer", f: verifyFlags{identity: "s"}, err: "issuer"},
		{name: "key alone", f: verifyFlags{key: "k.pub"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f.policy()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.As(err, new(usageError)) {
					t.Fatalf("err = %v, want usage error %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, tt.f)
			}
		})
	}
}

func TestArtifactArg(t *testing.T) {
	good := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		arg, err string
	}{
		{arg: good},
		{arg: "sha256:" + strings.Repeat("ab", 31), err: "64 hex"},
		{arg: "sha256:" + strings.Repeat("zz", 32), err: "invalid byte"},
		{arg: "no-such-file", err: "opening artifact"},
		{arg: "sha512:" + strings.Repeat("cd", 64)},
		{arg: "sha512:" + strings.Repeat("cd", 32), err: "want 128 hex characters after sha512:"},
		{arg: "md5:" + strings.Repeat("cd", 16), err: "opening artifact"},
	}
	for _, tt := range tests {
		a, err := release.ArtifactArg(tt.arg, "foo-1.0.tar.gz")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.arg, err, tt.err)
			}
			continue
		}
		if err != nil || len(a.SHA256)+len(a.SHA512) != 32*(1+strings.Count(tt.arg, "sha512:")) || a.Filename != "foo-1.0.tar.gz" {
			t.Errorf("%s: %+v, %v", tt.arg, a, err)
		}
	}
}

func TestVerifyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"verify"},
		{"verify", "x"},
		{"verify", "--trusted-root", "r.json", "x"},
		{"verify", "--trusted-root", "r.json", "--bundle", "b", "--format", "xml", "x"},
		{"verify", "--trusted-root", "r.json", "--bundle", "b", "--certificate-identity", "s", "x"},
		{"verify", "--trusted-root", "r.json", "--tuf", "--bundle", "b", "--certificate-identity", "s", "--certificate-oidc-issuer", "i", "x"},
		{"verify", "--bundle", "b", "x"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb, func(string) string { return "" }); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}
