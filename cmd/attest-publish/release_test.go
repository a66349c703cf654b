package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/pypitest"
	"github.com/attest-publish/attest-publish/internal/sigstoretest"
)

// releaseEnv is a GitHub Actions environment whose token endpoint hands out
// the fake Sigstore's tokens for any audience.
func releaseEnv(t *testing.T, fake *sigstoretest.Instance) func(string) string {
	t.Helper()
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"value": fake.Token(map[string]any{"aud": r.URL.Query().Get("audience")})})
	}))
	t.Cleanup(tokens.Close)
	env := map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   tokens.URL + "/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
	}
	return func(k string) string { return env[k] }
}

func releaseArgs(fake *sigstoretest.Instance, ix *pypitest.Index, dir string) []string {
	return []string{"release",
		"--packages-dir", dir,
		"--signing-config", fake.SigningConfigPath(true, true),
		"--trusted-root", fake.TrustedRootPath(),
		"--repository-url", ix.URL(),
	}
}

func TestReleaseSignsThenPublishes(t *testing.T) {
	fake := sigstoretest.Start(t)
	ix := pypitest.NewIndex(t)
	dir := pypitest.WriteRelease(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), releaseArgs(fake, ix, dir), &stdout, &stderr, releaseEnv(t, fake))
	if code != 0 {
		t.Fatalf("code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	// Sign stage: one certificate, outputs next to the dists.
	if fake.FulcioRequests() != 1 {
		t.Errorf("Fulcio requests = %d, want 1", fake.FulcioRequests())
	}
	for _, name := range []string{
		"sample-1.0-py3-none-any.whl.sigstore.json", "sample-1.0-py3-none-any.whl.publish.attestation",
		"sample-1.0.tar.gz.slsa.attestation", "provenance.sigstore.json",
	} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("sign output missing: %v", err)
		}
	}
	// Publish stage: both dists uploaded with both attestations.
	uploads, mints := map[string]int{}, ix.Mints()
	for _, u := range ix.Stored() {
		uploads[u.Filename] = len(u.Attestations)
	}
	if mints != 1 || len(uploads) != 2 || uploads["sample-1.0-py3-none-any.whl"] != 2 || uploads["sample-1.0.tar.gz"] != 2 {
		t.Errorf("mints %d, uploads %v", mints, uploads)
	}
	out := stdout.String()
	iSign, iPub := strings.Index(out, "::group::sign\n"), strings.Index(out, "::group::publish\n")
	iSigned := strings.Index(out, "Signed and verified 2 distribution(s)")
	if iSign < 0 || iPub < 0 || !(iSign < iSigned && iSigned < iPub) || strings.Count(out, "::endgroup::") != strings.Count(out, "::group::") {
		t.Errorf("stdout lacks the sign then publish groups:\n%s", out)
	}
}

func TestReleaseSigningFailurePublishesNothing(t *testing.T) {
	fake := sigstoretest.Start(t)
	fake.FailRekor(400, 1000) // a Rekor 400 is final: no retries
	ix := pypitest.NewIndex(t)
	dir := pypitest.WriteRelease(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), releaseArgs(fake, ix, dir), &stdout, &stderr, releaseEnv(t, fake))
	if code != 1 || !strings.Contains(stderr.String(), "signing failed, nothing published") {
		t.Fatalf("code %d\nstderr:\n%s", code, stderr.String())
	}
	if ix.Mints() != 0 || ix.UploadRequests() != 0 {
		t.Errorf("published after a signing failure: mints %d, uploads %d", ix.Mints(), ix.UploadRequests())
	}
	if strings.Contains(stdout.String(), "::group::publish") {
		t.Errorf("publish stage ran:\n%s", stdout.String())
	}
}

func TestReleaseCommandLine(t *testing.T) {
	for _, tt := range []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{args: []string{"--certificate-identity", "https://x"}, wantCode: 2, wantErr: "go together"},
		{args: []string{"--rekor-version", "3"}, wantCode: 2, wantErr: "--rekor-version"},
		{args: []string{"--output-dir", "x"}, wantCode: 2, wantErr: "not defined"},
		{args: []string{"dist/x.whl"}, wantCode: 2, wantErr: "unexpected argument"},
		{args: []string{"-h"}, wantCode: 0, wantErr: "-repository-url"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"release"}, tt.args...), &stdout, &stderr, func(string) string { return "" })
		if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("%v: code %d, stderr:\n%s", tt.args, code, stderr.String())
		}
	}
}

// TestReleaseJSON: --format json prints one report on stdout: every dist
// with the digest signed, its outputs, upload and read-back, and the signer.
func TestReleaseJSON(t *testing.T) {
	fake := sigstoretest.Start(t)
	ix := pypitest.NewIndex(t)
	dir := pypitest.WriteRelease(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(releaseArgs(fake, ix, dir), "--format", "json"), &stdout, &stderr, releaseEnv(t, fake))
	if code != 0 {
		t.Fatalf("code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	var rep struct {
		Mode   string `json:"mode"`
		OK     bool   `json:"ok"`
		Signer struct {
			SAN string `json:"san"`
		} `json:"signer"`
		Dists []struct {
			Filename, SHA256 string
			Bundle           string `json:"bundle"`
			Upload           struct {
				State        string `json:"state"`
				Attestations int    `json:"attestations"`
			} `json:"upload"`
			ReadBack struct {
				Served bool `json:"served"`
			} `json:"read_back"`
		} `json:"dists"`
		Verdicts []json.RawMessage `json:"verdicts"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, stdout.String())
	}
	if rep.Mode != "release" || !rep.OK || rep.Signer.SAN == "" || len(rep.Dists) != 2 || len(rep.Verdicts) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	for _, d := range rep.Dists {
		if len(d.SHA256) != 64 || d.Bundle == "" || d.Upload.State != "uploaded" || d.Upload.Attestations != 2 || !d.ReadBack.Served {
			t.Errorf("%s: %+v", d.Filename, d)
		}
	}
}
