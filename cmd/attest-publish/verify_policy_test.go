package main

import (
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
