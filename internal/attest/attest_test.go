package attest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/sigstoretest"
)

// release writes n wheels' worth of a tiny release (plus an sdist) into a
// fresh directory and returns it.
func release(t *testing.T, wheels int) string {
	t.Helper()
	dir := t.TempDir()
	files := []string{"sample-1.0.tar.gz"}
	for i := 0; i < wheels; i++ {
		files = append(files, "sample-1.0-cp3"+string(rune('0'+i%10))+"-none-any.whl")
	}
	for i, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), bytes.Repeat([]byte{byte(i)}, 1000+i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

type fixture struct {
	fake *sigstoretest.Instance
	opts Options
	dir  string
}

func newFixture(t *testing.T, wheels int, claims map[string]any) *fixture {
	t.Helper()
	fake := sigstoretest.Start(t)
	trust, err := signing.LoadTrust(fake.SigningConfigPath(true, true), fake.TrustedRootPath())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := idtoken.Parse(fake.Token(claims))
	if err != nil {
		t.Fatal(err)
	}
	dir := release(t, wheels)
	return &fixture{fake: fake, dir: dir, opts: Options{
		OutputDir: dir,
		Trust:     trust,
		Token:     tok,
		Signing:   signing.Options{Backoff: 10 * time.Millisecond, Attempts: 3},
	}}
}

func (f *fixture) run(t *testing.T) (*Result, error) {
	t.Helper()
	found, err := dists.Find(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), found, f.opts)
}

func TestRunSignsEverythingWithOneCertificate(t *testing.T) {
	f := newFixture(t, 5, nil)
	res, err := f.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.fake.FulcioRequests(); got != 1 {
		t.Errorf("Fulcio requests = %d, want exactly 1 per run", got)
	}
	// 6 dists × (bundle, publish, slsa) + 1 release provenance.
	if res.Signatures != 19 || f.fake.RekorRequests() != 19 || f.fake.TSARequests() != 19 {
		t.Errorf("signatures %d, rekor %d, tsa %d; want 19 each", res.Signatures, f.fake.RekorRequests(), f.fake.TSARequests())
	}
	names := listDir(t, f.dir)
	if len(names) != 6*4+1 {
		t.Errorf("directory holds %v", names)
	}
	for _, n := range names {
		if strings.Contains(n, ".tmp-") {
			t.Errorf("temporary file left: %s", n)
		}
	}
	for _, d := range res.Dists {
		if d.LogIndex < 0 || d.PublishAttestation == "" || d.SLSAAttestation == "" {
			t.Errorf("%s: %+v", d.Dist.Filename, d)
		}
	}
	if res.Identity.SAN != "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main" {
		t.Errorf("identity %s", res.Identity)
	}
}

func TestRunRefusesExistingOutputs(t *testing.T) {
	f := newFixture(t, 1, nil)
	existing := filepath.Join(f.dir, "sample-1.0.tar.gz"+dists.PublishAttestationSuffix)
	if err := os.WriteFile(existing, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, f.dir)
	_, err := f.run(t)
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") || !strings.Contains(err.Error(), existing) {
		t.Fatalf("err = %v", err)
	}
	if f.fake.FulcioRequests() != 0 {
		t.Error("contacted Fulcio before refusing")
	}
	if after := listDir(t, f.dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("directory changed: %v", after)
	}
	f.opts.Overwrite = true
	if _, err := f.run(t); err != nil {
		t.Fatalf("with overwrite: %v", err)
	}
	if data, _ := os.ReadFile(existing); string(data) == "old" {
		t.Error("--overwrite did not replace the file")
	}
}

func TestRunLeavesNothingOnFailure(t *testing.T) {
	tests := []struct {
		name     string
		sabotage func(f *fixture)
		wantErr  string
	}{
		{name: "transparency log refuses every time", sabotage: func(f *fixture) { f.fake.FailRekor(500, 1000) }, wantErr: "transparency log"},
		{name: "transparency log down", sabotage: func(f *fixture) { f.fake.RekorDown() }, wantErr: "after 3 attempts"},
		{name: "timestamp authority fails", sabotage: func(f *fixture) { f.fake.FailTSA(503, 1000) }, wantErr: "timestamp authority"},
		{name: "self-verification fails (identity mismatch)", sabotage: func(f *fixture) { f.opts.ServerURL = "https://ghe.example.com" }, wantErr: "self-verification failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 2, nil)
			before := listDir(t, f.dir)
			tt.sabotage(f)
			_, err := f.run(t)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
			}
			if after := listDir(t, f.dir); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("outputs left behind: %v", after)
			}
		})
	}
}

func TestRunRecoversFromTransientLogErrors(t *testing.T) {
	f := newFixture(t, 1, nil)
	f.fake.FailRekor(503, 2)
	if _, err := f.run(t); err != nil {
		t.Fatalf("two 503s should be retried: %v", err)
	}
}

func TestRunExpiredToken(t *testing.T) {
	past := time.Now().Add(-time.Hour)
	f := newFixture(t, 1, map[string]any{"iat": past.Unix(), "nbf": past.Unix(), "exp": past.Add(10 * time.Minute).Unix()})
	_, err := f.run(t)
	if err == nil || !strings.Contains(err.Error(), "Fulcio returned 400") || !strings.Contains(err.Error(), "hint: the identity token expired") {
		t.Fatalf("err = %v", err)
	}
}
