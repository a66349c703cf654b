package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestPublishCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "identity without issuer", args: []string{"--certificate-identity", "https://x"}, wantCode: 2, wantErr: "go together"},
		{name: "stray argument", args: []string{"dist/x.whl"}, wantCode: 2, wantErr: "unexpected argument"},
		{name: "plain http repository", args: []string{"--repository-url", "http://pypi.example.test/legacy/"}, wantCode: 2,
			wantErr: `--repository-url "http://pypi.example.test/legacy/": plain http is allowed only for localhost and loopback addresses`},
		{name: "no dists", args: []string{"--packages-dir", "."}, wantCode: 1, wantErr: "no distributions"},
		{name: "help", args: []string{"-h"}, wantCode: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"publish"}, tt.args...), &stdout, &stderr, func(string) string { return "" })
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("code %d, stderr:\n%s", code, stderr.String())
			}
		})
	}
}
