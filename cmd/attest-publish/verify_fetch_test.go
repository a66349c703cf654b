package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const (
	rwDigest   = "sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25"
	rwIdentity = "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d"
)

// fakeGitHub serves the attestations API for one digest in octo/repo with
// the given bundles (real ones from the test vectors).
func fakeGitHub(t *testing.T, digest string, bundles ...[]byte) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/repos/octo/repo/attestations/"+digest || r.Header.Get("Authorization") != "" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message": "Not Found"}`)
			return
		}
		var entries []map[string]json.RawMessage
		for _, b := range bundles {
			entries = append(entries, map[string]json.RawMessage{"bundle": b})
		}
		json.NewEncoder(w).Encode(map[string]any{"attestations": entries})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestVerifyFromGitHub(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "")
	dir := vectorsDir(t)
	rw := filepath.Join(dir, "gh-reusable-workflow-attestation")
	good, err := os.ReadFile(filepath.Join(rw, "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(filepath.Join(dir, "gh-sigstore-js-2.1.0-v0.3", "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv, calls := fakeGitHub(t, rwDigest, other, good)
	whl := filepath.Join(rw, "github_provenance_demo-0.0.0-py3-none-any.whl")
	base := []string{"--from-github", "octo/repo", "--github-api-url", srv.URL, "--trusted-root", filepath.Join(rw, "trusted_root.json"),
		"--certificate-oidc-issuer", ghIssuer}
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		check     string // failed check, "" when verified
		errSubstr string
	}{
		{name: "file", args: []string{"--certificate-identity", rwIdentity, whl}},
		{name: "digest", args: []string{"--certificate-identity", rwIdentity, "--source-repository", "malancas/attest-demo", rwDigest}},
		{name: "another identity", args: []string{"--certificate-identity", strings.Replace(rwIdentity, "attest.yml", "other.yml", 1), whl}, code: 1, check: "identity"},
		{name: "another predicate type", args: []string{"--certificate-identity", rwIdentity, "--predicate-type", "https://spdx.dev/Document/v2.3", whl}, code: 1, check: "predicate-type"},
		{name: "nothing stored", args: []string{"--certificate-identity", rwIdentity, "sha256:" + strings.Repeat("ab", 32)}, code: 1, check: "material",
			errSubstr: "no attestations for sha256:" + strings.Repeat("ab", 32) + " in octo/repo"},
		{name: "sha512 digest", args: []string{"--certificate-identity", rwIdentity, "sha512:" + strings.Repeat("ab", 64)}, code: 1, check: "material", errSubstr: "searched by sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, results, stderr := runVerifyCLI(t, append(append([]string{}, base...), tc.args...)...)
			if code != tc.code || len(results) != 1 {
				t.Fatalf("exit %d, want %d; results %+v\n%s", code, tc.code, results, stderr)
			}
			r := results[0]
			if r.FailedCheck != tc.check || r.Verified != (tc.check == "") || !strings.Contains(r.Error, tc.errSubstr) {
				t.Errorf("result %+v, want failed check %q with %q", r, tc.check, tc.errSubstr)
			}
			if r.Verified && (len(r.Material) != 1 || r.Material[0] != "GitHub octo/repo attestation 2") {
				t.Errorf("material %v", r.Material)
			}
		})
	}
	before := calls.Load()
	for _, args := range [][]string{
		{"--bundle", filepath.Join(rw, "bundle.sigstore.json"), "--certificate-identity", rwIdentity, whl},
		{"--from-index", "http://127.0.0.1:1", "--certificate-identity", rwIdentity, whl},
		{"--limit", "1001", "--certificate-identity", rwIdentity, whl},
		{"--certificate-identity", rwIdentity},
	} {
		a := append(append([]string{}, base...), args...)
		a[1] = "octo/repo"
		if code, _, stderr := runVerifyCLI(t, a...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", args, code, stderr)
		}
	}
	if code, _, _ := runVerifyCLI(t, "--from-github", "octo", "--certificate-identity", rwIdentity, "--certificate-oidc-issuer", ghIssuer, whl); code != 2 {
		t.Errorf("--from-github octo: exit %d, want 2", code)
	}
	if calls.Load() != before {
		t.Error("a refused command line reached the API")
	}
}

// fakeIndexServer serves pypi_attestations 0.0.19 (the real sdist) with its
// real PEP 740 attestation as Integrity API provenance, plus a wheel of the
// same release that has none, as pypiserver's HTML simple page.
func fakeIndexServer(t *testing.T, sdist, att []byte, withWheel bool) *httptest.Server {
	t.Helper()
	prov, _ := json.Marshal(map[string]any{"version": 1, "attestation_bundles": []any{map[string]any{
		"publisher": map[string]any{"kind": "GitHub", "repository": "trailofbits/pypi-attestations", "workflow": "release.yml"}, "attestations": []json.RawMessage{att}}}})
	const sdistName, wheelName = "pypi_attestations-0.0.19.tar.gz", "pypi_attestations-0.0.19-py3-none-any.whl"
	files := map[string][]byte{sdistName: sdist}
	if withWheel {
		files[wheelName] = []byte("a wheel uploaded without attestations")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/simple/pypi-attestations/":
			w.Header().Set("Content-Type", "text/html")
			for name, data := range files {
				fmt.Fprintf(w, "<a href=\"../../packages/%s#sha256=%x\">%s</a><br>\n", name, sha256.Sum256(data), name)
			}
		case strings.HasPrefix(p, "/packages/") && files[strings.TrimPrefix(p, "/packages/")] != nil:
			w.Write(files[strings.TrimPrefix(p, "/packages/")])
		case p == "/integrity/pypi-attestations/0.0.19/"+sdistName+"/provenance":
			w.Header().Set("Content-Type", "application/vnd.pypi.integrity.v1+json")
			w.Write(prov)
		default:
			http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVerifyFromIndex(t *testing.T) {
	dir := filepath.Join(vectorsDir(t), "pep740-pypi_attestations-0.0.19-publish")
	sdist, err := os.ReadFile(filepath.Join(dir, "pypi_attestations-0.0.19.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	att, err := os.ReadFile(filepath.Join(dir, "pypi_attestations-0.0.19.tar.gz.publish.attestation"))
	if err != nil {
		t.Fatal(err)
	}
	policy := func(index, workflow string) []string {
		return []string{"--from-index", index, "--trusted-root", filepath.Join(dir, "trusted_root.json"),
			"--certificate-identity", paIdentity, "--certificate-oidc-issuer", ghIssuer,
			"--publisher-kind", "github", "--publisher-repository", "trailofbits/pypi-attestations", "--publisher-workflow", workflow}
	}
	only := fakeIndexServer(t, sdist, att, false)
	both := fakeIndexServer(t, sdist, att, true)
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		want  map[string]string // artifact → failed check ("" verified)
		error string
	}{
		{name: "verified", args: append(policy(only.URL, "release.yml"), "pypi-attestations==0.0.19"), want: map[string]string{"pypi_attestations-0.0.19.tar.gz": ""}},
		{name: "the /simple/ URL and another spelling", args: append(policy(only.URL+"/simple/", "release.yml"), "PyPI_Attestations==0.0.19"), want: map[string]string{"pypi_attestations-0.0.19.tar.gz": ""}},
		{name: "another workflow", args: append(policy(only.URL, "other.yml"), "pypi-attestations==0.0.19"), code: 1, want: map[string]string{"pypi_attestations-0.0.19.tar.gz": "publisher"}},
		{name: "a file without provenance", args: append(policy(both.URL, "release.yml"), "pypi-attestations==0.0.19"), code: 1,
			want: map[string]string{"pypi_attestations-0.0.19.tar.gz": "", "pypi_attestations-0.0.19-py3-none-any.whl": "material"}, error: "no provenance"},
		{name: "no such version", args: append(policy(only.URL, "release.yml"), "pypi-attestations==9.9"), code: 1, want: map[string]string{"pypi-attestations==9.9": "material"}, error: "versions there: 0.0.19"},
		{name: "no such project", args: append(policy(only.URL, "release.yml"), "nope==1.0"), code: 1, want: map[string]string{"nope==1.0": "material"}, error: "project not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, results, stderr := runVerifyCLI(t, tc.args...)
			if code != tc.code || len(results) != len(tc.want) {
				t.Fatalf("exit %d, want %d; results %+v\n%s", code, tc.code, results, stderr)
			}
			for _, r := range results {
				check, ok := tc.want[r.Artifact]
				if !ok || r.FailedCheck != check || r.Verified != (check == "") {
					t.Errorf("result %+v, want failed check %q", r, check)
				}
				if !r.Verified && !strings.Contains(r.Error, tc.error) {
					t.Errorf("error %q lacks %q", r.Error, tc.error)
				}
			}
		})
	}
	for _, args := range [][]string{
		append(policy(only.URL, "release.yml"), "pypi-attestations"),
		append(policy(only.URL, "release.yml"), "pypi-attestations==not-a-version"),
		append(policy("pypi.org", "release.yml"), "pypi-attestations==0.0.19"),
	} {
		if code, _, stderr := runVerifyCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args[len(args)-1], code, stderr)
		}
	}
}
