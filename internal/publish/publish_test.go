package publish

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/pypi"
	"github.com/attest-publish/attest-publish/internal/pypitest"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/sigstoretest"
	"github.com/attest-publish/attest-publish/internal/verification"
)

const (
	wheelName = pypitest.WheelName
	sdistName = pypitest.SdistName
)

// fixture is a signed release, a fake Sigstore and a fake index.
type fixture struct {
	dir   string
	fake  *sigstoretest.Instance
	index *pypitest.Index
	out   bytes.Buffer
	log   bytes.Buffer
}

// newSigned writes a release and signs it with attest.Run against a fake
// Sigstore, as attest-publish sign does.
func newSigned(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: pypitest.WriteRelease(t), fake: sigstoretest.Start(t), index: pypitest.NewIndex(t)}
	trust, err := signing.LoadTrust(f.fake.SigningConfigPath(true, true), f.fake.TrustedRootPath())
	if err != nil {
		t.Fatal(err)
	}
	found, err := dists.Find(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attest.Run(context.Background(), found, attest.Options{
		OutputDir: f.dir,
		Trust:     trust,
		Token:     f.token(t, "sigstore"),
		Signing:   signing.Options{Backoff: 10 * time.Millisecond, Attempts: 3},
	}); err != nil {
		t.Fatalf("signing: %v", err)
	}
	return f
}

func (f *fixture) token(t *testing.T, audience string) *idtoken.Token {
	t.Helper()
	tok, err := idtoken.Parse(f.fake.Token(map[string]any{"aud": audience}))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// options are trusted-publishing options with attestations.
func (f *fixture) options(t *testing.T) Options {
	return Options{
		RepositoryURL:  f.index.URL(),
		PackagesDir:    f.dir,
		VerifyMetadata: true,
		TrustedRoot:    f.fake.TrustedRoot(),
		OIDC: func(ctx context.Context, audience string) (*idtoken.Token, error) {
			return f.token(t, audience), nil
		},
		Retry: pypi.RetryPolicy{Sleep: func(context.Context, time.Duration) error { return nil }},
		Out:   &f.out,
		Log:   &f.log,
	}
}

// states renders a report as "filename: state [reason]" lines.
func states(rep *Report) []string {
	var s []string
	for _, e := range rep.Entries {
		line := e.Dist.Filename + ": " + string(e.State)
		if e.Reason != "" {
			line += " [" + e.Reason + "]"
		}
		s = append(s, line)
	}
	return s
}

func TestPasswordMode(t *testing.T) {
	index := pypitest.NewIndex(t)
	index.Password = "s3cret"
	dir := pypitest.WriteRelease(t)
	var out, log bytes.Buffer
	rep, err := Run(context.Background(), Options{
		RepositoryURL:  index.URL(),
		PackagesDir:    dir,
		Password:       "s3cret",
		VerifyMetadata: true,
		PrintHash:      true,
		Out:            &out,
		Log:            &log,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	if got := strings.Join(states(rep), "\n"); got != wheelName+": uploaded\n"+sdistName+": uploaded" {
		t.Errorf("report:\n%s", got)
	}
	if want := index.ServerURL() + "/packages/" + wheelName; rep.Entries[0].URL != want {
		t.Errorf("file URL %q, want %q (from the simple page)", rep.Entries[0].URL, want)
	}
	up := index.Stored()
	if len(up) != 2 {
		t.Fatalf("index kept %d uploads", len(up))
	}
	for _, u := range up {
		if u.User != "__token__" || u.Pass != "s3cret" || len(u.Attestations) != 0 {
			t.Errorf("upload %+v", u)
		}
	}
	if !strings.Contains(log.String(), "warning: attestations are not sent") {
		t.Errorf("no warning about dropped attestations:\n%s", log.String())
	}
	if !strings.Contains(out.String(), "blake2b-256: ") || !strings.Contains(out.String(), rep.Entries[0].Dist.SHA256Hex()) {
		t.Errorf("--print-hash output:\n%s", out.String())
	}
	if index.Mints() != 0 {
		t.Error("password mode minted a token")
	}
}

func TestTrustedPublishingWithAttestations(t *testing.T) {
	for _, gha := range []bool{false, true} {
		t.Run(map[bool]string{false: "local", true: "github-actions"}[gha], func(t *testing.T) {
			f := newSigned(t)
			opts := f.options(t)
			opts.GitHubActions = gha
			rep, err := Run(context.Background(), opts)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, f.log.String())
			}
			if !rep.Live() || len(rep.Entries) != 2 {
				t.Fatalf("report %v", states(rep))
			}
			up := f.index.Stored()
			if len(up) != 2 {
				t.Fatalf("index kept %d uploads", len(up))
			}
			for _, u := range up {
				if u.User != "__token__" || u.Pass != "pypi-minted-1" {
					t.Errorf("%s: auth %s:%s", u.Filename, u.User, u.Pass)
				}
				if len(u.Attestations) != 2 {
					t.Errorf("%s: %d attestations, want publish and SLSA", u.Filename, len(u.Attestations))
				}
				want, _ := os.ReadFile(filepath.Join(f.dir, u.Filename+publishSuffix))
				if len(u.Attestations) > 0 && !bytes.Equal(bytes.TrimSpace(u.Attestations[0]), bytes.TrimSpace(want)) {
					t.Errorf("%s: first attestation is not the publish attestation on disk", u.Filename)
				}
			}
			masked := strings.Contains(f.out.String(), "::add-mask::pypi-minted-1")
			if masked != gha {
				t.Errorf("masked = %v with GITHUB_ACTIONS %v; out:\n%s", masked, gha, f.out.String())
			}
			if strings.Contains(f.log.String(), "pypi-minted") {
				t.Error("the token was logged")
			}
		})
	}
}

// TestModifiedDistIsNeverUploaded: a dist changed before the run fails
// verification, and nothing is uploaded.
func TestModifiedDistIsNeverUploaded(t *testing.T) {
	f := newSigned(t)
	if err := os.WriteFile(filepath.Join(f.dir, sdistName), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), f.options(t))
	if err == nil {
		t.Fatal("Run succeeded")
	}
	if f.index.UploadRequests() != 0 {
		t.Errorf("the index saw %d upload(s)", f.index.UploadRequests())
	}
	if rep != nil && rep.Live() {
		t.Error("report says live")
	}
}

// uploadCounter is a transport that counts the upload requests the client
// starts, also those it cuts off before the index has read them whole.
type uploadCounter struct{ n atomic.Int32 }

func (c *uploadCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/legacy/") {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestDistChangedAfterVerification: a dist that changes after it was
// verified, here while the dist before it is being uploaded, never lands
// on the index. No separate re-hash precedes the upload: a size that
// differs is refused before the request starts, and other bytes of the
// same size are caught while streaming, the request cut off before its
// last bytes. The run fails naming the file, and the report says it was
// not uploaded and why.
func TestDistChangedAfterVerification(t *testing.T) {
	tests := []struct {
		name   string
		change func(data []byte) []byte
		// started is how many upload requests for the sdist the client
		// starts.
		started int32
		wantErr string
	}{
		{
			name: "same size, other bytes",
			change: func(data []byte) []byte {
				data[len(data)/2] ^= 0xff
				return data
			},
			started: 1,
			wantErr: "changed after it was hashed (sha256 ",
		},
		{
			name:    "grown",
			change:  func(data []byte) []byte { return append(data, "appended"...) },
			wantErr: "changed after it was hashed (",
		},
		{
			name:    "truncated",
			change:  func(data []byte) []byte { return data[:len(data)/2] },
			wantErr: "changed after it was hashed (",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSigned(t)
			opts := f.options(t)
			var uploads uploadCounter
			opts.Client = &pypi.Client{HTTP: &http.Client{Transport: &uploads}}
			sdist := filepath.Join(f.dir, sdistName)
			// The wheel is uploaded first, after every dist was verified;
			// the sdist changes once the index has read the wheel.
			f.index.OnUpload = func(n int, filename string) {
				if n != 1 {
					return
				}
				data, err := os.ReadFile(sdist)
				if err == nil {
					err = os.WriteFile(sdist, tt.change(data), 0o644)
				}
				if err != nil {
					t.Error(err)
				}
			}
			rep, err := Run(context.Background(), opts)
			var mismatch *pypi.DigestMismatchError
			if !errors.As(err, &mismatch) || !strings.Contains(err.Error(), sdistName) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a *pypi.DigestMismatchError naming %s and saying %q", err, sdistName, tt.wantErr)
			}
			for _, u := range f.index.Stored() {
				if u.Filename == sdistName {
					t.Errorf("the changed sdist reached the index (sha256 %s)", u.SHA256)
				}
			}
			if n := f.index.UploadRequests(); n != 1 {
				t.Errorf("the index read %d upload request(s) whole, want 1 (the wheel's)", n)
			}
			if n := uploads.n.Load(); n != 1+tt.started {
				t.Errorf("the client started %d upload request(s), want %d", n, 1+tt.started)
			}
			got := states(rep)
			if len(got) != 2 || got[0] != wheelName+": uploaded" {
				t.Fatalf("report %q", got)
			}
			e := rep.Entries[1]
			if e.State != NotUploaded || e.URL != "" || !strings.Contains(e.Reason, sdistName) || !strings.Contains(e.Reason, tt.wantErr) || !strings.Contains(e.Reason, "it was not uploaded") {
				t.Errorf("sdist entry: state %q, URL %q, reason %q", e.State, e.URL, e.Reason)
			}
			var printed bytes.Buffer
			rep.Print(&printed)
			for _, want := range []string{"1 of 2 distribution(s) live", sdistName + ": " + e.Reason} {
				if !strings.Contains(printed.String(), want) {
					t.Errorf("printed report lacks %q:\n%s", want, printed.String())
				}
			}
		})
	}
}

func TestFailureHalfwayThenSkipExisting(t *testing.T) {
	f := newSigned(t)
	// The index dies after the first file: every later upload loses its
	// connection.
	f.index.Respond = func(n int, filename string) pypitest.Action {
		if n == 1 {
			return pypitest.Accept
		}
		return pypitest.Drop
	}
	rep, err := Run(context.Background(), f.options(t))
	if err == nil {
		t.Fatal("Run succeeded")
	}
	if f.index.UploadRequests() != 5 {
		t.Errorf("upload requests = %d, want 1 + 4 attempts", f.index.UploadRequests())
	}
	if len(rep.Entries) != 2 || rep.Entries[0].State != Uploaded || rep.Entries[1].State != NotUploaded ||
		rep.Entries[0].Reason != "" || !strings.Contains(rep.Entries[1].Reason, "giving up after 4 attempts") {
		t.Fatalf("report %q", states(rep))
	}
	var printed bytes.Buffer
	rep.Print(&printed)
	for _, want := range []string{
		"1 of 2 distribution(s) live on " + f.index.URL(),
		wheelName + "  uploaded      " + rep.Entries[0].Dist.SHA256Hex(),
		sdistName + "            not uploaded  " + rep.Entries[1].Dist.SHA256Hex(),
		"rerun with --skip-existing",
	} {
		if !strings.Contains(printed.String(), want) {
			t.Errorf("printed report lacks %q:\n%s", want, printed.String())
		}
	}

	// The index is back: a rerun with skip-existing finishes the job.
	f.index.Respond = nil
	opts := f.options(t)
	opts.SkipExisting = true
	rep, err = Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if got := strings.Join(states(rep), "\n"); got != wheelName+": "+string(SkippedExisting)+"\n"+sdistName+": uploaded" {
		t.Errorf("rerun report:\n%s", got)
	}
	if !strings.HasSuffix(rep.Entries[0].URL, "/packages/"+wheelName) {
		t.Errorf("skipped file URL %q", rep.Entries[0].URL)
	}
	if n := len(f.index.Stored()); n != 2 {
		t.Errorf("index holds %d files", n)
	}
	// Without skip-existing, the existing file is a failure.
	rep, err = Run(context.Background(), f.options(t))
	if !errors.Is(err, pypi.ErrExists) || rep.Entries[0].State != NotUploaded {
		t.Errorf("without skip-existing: err = %v, report %q", err, states(rep))
	}
}

func TestUploadThatLandedIsNotRetried(t *testing.T) {
	f := newSigned(t)
	f.index.Respond = func(n int, filename string) pypitest.Action {
		if n == 1 {
			return pypitest.StoreDrop
		}
		return pypitest.Accept
	}
	rep, err := Run(context.Background(), f.options(t))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Entries[0].State != AlreadyLanded || !strings.HasSuffix(rep.Entries[0].URL, "/packages/"+wheelName) {
		t.Errorf("report %q, URL %q", states(rep), rep.Entries[0].URL)
	}
	if f.index.UploadRequests() != 2 {
		t.Errorf("upload requests = %d, want 2 (the landed file is not sent again)", f.index.UploadRequests())
	}
}

func TestBadAttestationAbortsBeforeAnyUpload(t *testing.T) {
	tests := []struct {
		name     string
		sabotage func(t *testing.T, f *fixture, o *Options)
		wantErr  string
	}{
		{
			name: "publish attestation of another dist",
			sabotage: func(t *testing.T, f *fixture, o *Options) {
				data, _ := os.ReadFile(filepath.Join(f.dir, wheelName+publishSuffix))
				os.WriteFile(filepath.Join(f.dir, sdistName+publishSuffix), data, 0o644)
			},
			wantErr: sdistName + publishSuffix,
		},
		{
			name: "truncated SLSA attestation",
			sabotage: func(t *testing.T, f *fixture, o *Options) {
				os.WriteFile(filepath.Join(f.dir, wheelName+slsaSuffix), []byte(`{"version":1`), 0o644)
			},
			wantErr: wheelName + slsaSuffix,
		},
		{
			name: "bundle of another dist",
			sabotage: func(t *testing.T, f *fixture, o *Options) {
				data, _ := os.ReadFile(filepath.Join(f.dir, sdistName+bundleSuffix))
				os.WriteFile(filepath.Join(f.dir, wheelName+bundleSuffix), data, 0o644)
			},
			wantErr: wheelName + bundleSuffix,
		},
		{
			name: "another signer required",
			sabotage: func(t *testing.T, f *fixture, o *Options) {
				o.Identity = &verification.Identity{SAN: "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main", Issuer: f.fake.Issuer()}
			},
			wantErr: "required signer https://github.com/evil/repo",
		},
		{
			name: "missing publish attestation",
			sabotage: func(t *testing.T, f *fixture, o *Options) {
				os.Remove(filepath.Join(f.dir, sdistName+publishSuffix))
			},
			wantErr: "run `attest-publish sign` first",
		},
		{
			name:     "no trusted root",
			sabotage: func(t *testing.T, f *fixture, o *Options) { o.TrustedRoot = nil },
			wantErr:  "--trusted-root",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSigned(t)
			opts := f.options(t)
			tt.sabotage(t, f, &opts)
			rep, err := Run(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
			}
			if f.index.UploadRequests() != 0 || f.index.Mints() != 0 {
				t.Errorf("uploads %d, mints %d before the abort", f.index.UploadRequests(), f.index.Mints())
			}
			for _, e := range rep.Entries {
				if e.State != NotUploaded {
					t.Errorf("%s: %s", e.Dist.Filename, e.State)
				}
			}
		})
	}
}

func TestMintRefusalDiagnosis(t *testing.T) {
	f := newSigned(t)
	f.index.MintRefusal = map[string]any{
		"message": "Token request failed",
		"errors": []map[string]string{{
			"code":        "invalid-publisher",
			"description": "valid token, but no corresponding publisher (Publisher with matching claims was not found)",
		}},
	}
	rep, err := Run(context.Background(), f.options(t))
	var me *pypi.MintError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want a *pypi.MintError", err)
	}
	for _, want := range []string{"invalid-publisher", "Publisher with matching claims was not found", sigstoretest.DefaultRepository} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("diagnosis lacks %q:\n%v", want, err)
		}
	}
	if f.index.UploadRequests() != 0 || rep.Live() {
		t.Errorf("uploads %d, report %q", f.index.UploadRequests(), states(rep))
	}
}

func TestMetadataErrorsAbort(t *testing.T) {
	index := pypitest.NewIndex(t)
	dir := pypitest.WriteRelease(t)
	// A wheel whose metadata names another version.
	os.Rename(filepath.Join(dir, wheelName), filepath.Join(dir, "sample-1.0-py2-none-any.whl"))
	os.WriteFile(filepath.Join(dir, "sample-1.0-py3-none-any.whl"), []byte("not a zip"), 0o644)
	rep, err := Run(context.Background(), Options{RepositoryURL: index.URL(), PackagesDir: dir, Password: "x", VerifyMetadata: true})
	if err == nil || !strings.Contains(err.Error(), "metadata check failed") || !strings.Contains(err.Error(), wheelName) {
		t.Fatalf("err = %v", err)
	}
	if index.UploadRequests() != 0 || rep.Live() {
		t.Error("uploaded despite a metadata error")
	}
}

func TestSimpleURL(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "https://upload.pypi.org/legacy/", want: "https://pypi.org/simple/"},
		{in: "https://test.pypi.org/legacy/", want: "https://test.pypi.org/simple/"},
		{in: "http://127.0.0.1:8080/legacy/", want: "http://127.0.0.1:8080/simple/"},
		{in: "https://nexus.example.com/repository/pypi/legacy", want: "https://nexus.example.com/repository/pypi/simple/"},
		{in: "https://example.com/upload/", wantErr: "does not end in /legacy/"},
	}
	for _, tt := range tests {
		got, err := SimpleURL(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SimpleURL(%q) err = %v", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("SimpleURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestTransientFailureIsRetried(t *testing.T) {
	f := newSigned(t)
	f.index.Respond = func(n int, filename string) pypitest.Action {
		if n == 1 {
			return pypitest.ServerFail
		}
		return pypitest.Accept
	}
	rep, err := Run(context.Background(), f.options(t))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := strings.Join(states(rep), "\n"); got != wheelName+": uploaded\n"+sdistName+": uploaded" {
		t.Errorf("report:\n%s", got)
	}
	if f.index.UploadRequests() != 3 {
		t.Errorf("upload requests = %d, want 3", f.index.UploadRequests())
	}
}

// TestSkipExistingWithADifferentFile: with SkipExisting, a file the index
// already has under the same name but with other bytes (its simple page
// states another sha256) is not counted as live.
func TestSkipExistingWithADifferentFile(t *testing.T) {
	index := pypitest.NewIndex(t)
	index.Password = "s3cret"
	dir := pypitest.WriteRelease(t)
	opts := Options{RepositoryURL: index.URL(), PackagesDir: dir, Password: "s3cret", SkipExisting: true}
	if _, err := Run(context.Background(), opts); err != nil {
		t.Fatalf("first run: %v", err)
	}
	// The same names, other bytes: a rebuilt release.
	sdist := filepath.Join(dir, sdistName)
	data, err := os.ReadFile(sdist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sdist, append(data, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), opts)
	if err == nil {
		t.Fatal("the second run succeeded")
	}
	var onIndex string
	for _, u := range index.Stored() {
		if u.Filename == sdistName {
			onIndex = u.SHA256
		}
	}
	got := states(rep)
	want := []string{
		wheelName + ": " + string(SkippedExisting),
		sdistName + ": not uploaded [the index already has a different file of this name (sha256 " + onIndex + "); a release file cannot be replaced, publish a new version]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("report:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if wantURL := index.ServerURL() + "/packages/" + sdistName; rep.Entries[1].URL != wantURL {
		t.Errorf("URL %q, want %q (from the simple page)", rep.Entries[1].URL, wantURL)
	}
}
