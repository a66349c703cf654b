package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/attest"
	"github.com/attest-publish/attest-publish/internal/audit"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/publish"
	"github.com/attest-publish/attest-publish/internal/pypitest"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/sigstoretest"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// recorder is a Handler that records every call, one line each.
type recorder struct {
	calls []string
	res   *Result
	err   error
}

func (r *recorder) add(format string, args ...any) {
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
}

func (r *recorder) StageStarted(s Stage)          { r.add("start %s", s) }
func (r *recorder) StageEnded(s Stage, err error) { r.add("end %s %v", s, err != nil) }
func (r *recorder) Progress(string)               {}
func (r *recorder) Warning(w Warning)             { r.add("warning %s: %s", w.Stage, w.Message) }
func (r *recorder) Audited(rep *audit.Report, workflow string, strict bool) {
	r.add("audited %s %d", workflow, len(rep.Findings))
}
func (r *recorder) Signed(res *attest.Result) { r.add("signed %d", len(res.Dists)) }
func (r *recorder) Verified(rs []verification.Result) {
	ok := 0
	for _, v := range rs {
		if v.Verified {
			ok++
		}
	}
	r.add("verified %d/%d", ok, len(rs))
}
func (r *recorder) AttestedToGitHub(a *GitHubAttestation) { r.add("github %d", a.ID) }
func (r *recorder) Published(rep *publish.Report) {
	live := 0
	for _, e := range rep.Entries {
		if e.State.Live() {
			live++
		}
	}
	r.add("published %d/%d", live, len(rep.Entries))
}
func (r *recorder) ReadBack(rb *ReadBackReport) {
	if rb.Skipped != "" {
		r.add("read back skipped: %s", rb.Skipped)
		return
	}
	served := 0
	for _, f := range rb.Files {
		if f.Served {
			served++
		}
	}
	r.add("read back %d/%d", served, len(rb.Files))
}
func (r *recorder) Done(res *Result, err error) error {
	r.res, r.err = res, err
	r.add("done %v", err != nil)
	return nil
}

// stack is the fakes a run talks to: Sigstore, the index, a release.
type stack struct {
	fake *sigstoretest.Instance
	ix   *pypitest.Index
	dir  string
	// claims override the tokens' claims.
	claims map[string]any
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return &stack{fake: sigstoretest.Start(t), ix: pypitest.NewIndex(t), dir: pypitest.WriteRelease(t)}
}

// options are a run of mode against the fakes, signing one signature at a
// time (log indexes in a fixed order) and reading back without waiting.
func (s *stack) options(mode Mode) Options {
	token := func(aud string) (*idtoken.Token, error) {
		claims := map[string]any{"aud": aud}
		for k, v := range s.claims {
			claims[k] = v
		}
		return idtoken.Parse(s.fake.Token(claims))
	}
	return Options{
		Mode:        mode,
		PackagesDir: s.dir,
		Sign: SignOptions{
			VerifyMetadata: true,
			Token:          func(context.Context) (*idtoken.Token, error) { return token("sigstore") },
			Trust: func() (*signing.Trust, error) {
				return signing.LoadTrust(s.fake.SigningConfigPath(true, true), s.fake.TrustedRootPath())
			},
			Concurrency: 1,
		},
		Publish: publish.Options{
			RepositoryURL:  s.ix.URL(),
			VerifyMetadata: true,
			OIDC:           func(_ context.Context, aud string) (*idtoken.Token, error) { return token(aud) },
		},
		ReadBack: ReadBackOptions{Sleep: func(context.Context, time.Duration) error { return nil }},
	}
}

func TestReleaseStagesInOrder(t *testing.T) {
	s := newStack(t)
	rec := &recorder{}
	res, err := Run(context.Background(), s.options(ModeRelease), rec)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, strings.Join(rec.calls, "\n"))
	}
	want := []string{
		"start sign", "signed 2", "end sign false",
		"start verify", "verified 2/2", "end verify false",
		"start attest to GitHub", "end attest to GitHub false",
		"start publish", "published 2/2", "read back 2/2", "end publish false",
		"done false",
	}
	if got := strings.Join(rec.calls, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("handler calls:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	// Values flow from stage to stage: the verdicts are about the digests
	// signing hashed, and publish verified for the identity that signed.
	for i, d := range res.Signed.Dists {
		if v := res.Verdicts[i]; v.SHA256 != d.Dist.SHA256Hex() || v.Signer != res.Signed.Identity.SAN {
			t.Errorf("verdict %d: sha256 %s signer %s, want %s %s", i, v.SHA256, v.Signer, d.Dist.SHA256Hex(), res.Signed.Identity.SAN)
		}
	}
	if p := res.Published.Signer; p == nil || *p != res.Signed.Identity {
		t.Errorf("publish verified for %v, want %v", p, res.Signed.Identity)
	}
	if s.fake.FulcioRequests() != 1 || s.ix.Mints() != 1 {
		t.Errorf("Fulcio requests %d, mints %d", s.fake.FulcioRequests(), s.ix.Mints())
	}
}

func TestReadBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		// provenance is the fake Integrity API's answer (nil: what was
		// uploaded).
		provenance func(calls map[string]int) func(string, []json.RawMessage) ([]json.RawMessage, bool)
		noAPI      bool
		wantErr    string // "" for success
		wantCalls  string
	}{
		{name: "served", wantCalls: "read back 2/2"},
		{
			// The wheel's provenance is the sdist's: valid signatures, but
			// not what was uploaded for the wheel.
			name: "wrong provenance",
			provenance: func(map[string]int) func(string, []json.RawMessage) ([]json.RawMessage, bool) {
				var sdist []json.RawMessage
				return func(name string, up []json.RawMessage) ([]json.RawMessage, bool) {
					if name == pypitest.SdistName {
						sdist = up
						return up, true
					}
					return sdist, sdist != nil
				}
			},
			wantErr:   pypitest.WheelName + ": the index serves 2 attestation(s) whose statements differ from the 2 uploaded",
			wantCalls: "read back 1/2",
		},
		{
			name: "one attestation dropped",
			provenance: func(map[string]int) func(string, []json.RawMessage) ([]json.RawMessage, bool) {
				return func(name string, up []json.RawMessage) ([]json.RawMessage, bool) {
					if name == pypitest.WheelName {
						return up[:1], true
					}
					return up, true
				}
			},
			wantErr:   pypitest.WheelName + ": the index serves 1 attestation(s) whose statements differ from the 2 uploaded",
			wantCalls: "read back 1/2",
		},
		{
			// PyPI answers 404 until the upload has propagated.
			name: "propagating",
			provenance: func(calls map[string]int) func(string, []json.RawMessage) ([]json.RawMessage, bool) {
				return func(name string, up []json.RawMessage) ([]json.RawMessage, bool) {
					calls[name]++
					return up, name == pypitest.SdistName || calls[name] > 2
				}
			},
			wantCalls: "read back 2/2",
		},
		{
			name: "missing",
			provenance: func(map[string]int) func(string, []json.RawMessage) ([]json.RawMessage, bool) {
				return func(name string, up []json.RawMessage) ([]json.RawMessage, bool) {
					return up, name != pypitest.WheelName
				}
			},
			wantErr:   pypitest.WheelName + ": no provenance for " + pypitest.WheelName,
			wantCalls: "read back 1/2",
		},
		{name: "no integrity API", noAPI: true, wantCalls: "read back skipped: the index has no Integrity API"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			if tc.provenance != nil {
				s.ix.Provenance = tc.provenance(map[string]int{})
			}
			s.ix.NoIntegrity = tc.noAPI
			rec := &recorder{}
			o := s.options(ModeRelease)
			var waits []time.Duration
			o.ReadBack.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			_, err := Run(context.Background(), o, rec)
			calls := strings.Join(rec.calls, "\n")
			if !strings.Contains(calls, tc.wantCalls) {
				t.Errorf("calls lack %q:\n%s", tc.wantCalls, calls)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("run: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			}
			if tc.name == "propagating" && len(waits) != 2 {
				t.Errorf("waits %v, want two before the wheel's provenance is served", waits)
			}
			if tc.name == "missing" && len(waits) != 4 {
				t.Errorf("waits %v, want 4 (5 attempts)", waits)
			}
		})
	}
}

func TestSigningFailurePublishesNothing(t *testing.T) {
	s := newStack(t)
	o := s.options(ModeRelease)
	o.Sign.Trust = func() (*signing.Trust, error) { return nil, errors.New("no trust today") }
	rec := &recorder{}
	_, err := Run(context.Background(), o, rec)
	if err == nil || !strings.Contains(err.Error(), "signing failed, nothing published: no trust today") {
		t.Fatalf("error %v", err)
	}
	if got := strings.Join(rec.calls, "|"); got != "start sign|end sign true|done true" {
		t.Errorf("calls %s", got)
	}
	if s.ix.UploadRequests() != 0 || s.fake.FulcioRequests() != 0 {
		t.Errorf("uploads %d, Fulcio requests %d", s.ix.UploadRequests(), s.fake.FulcioRequests())
	}
}

func TestWarningsOneChannel(t *testing.T) {
	s := newStack(t)
	o := s.options(ModePublish)
	// A password: PyPI-like default drops the attestations with a warning
	// from publish; the bundles are verified against the fake's root.
	s.ix.Password = "secret"
	o.Publish.Password, o.Publish.User = "secret", "maintainer"
	rec := &recorder{}
	if _, err := Run(context.Background(), o, rec); err != nil {
		t.Fatalf("run: %v\n%s", err, strings.Join(rec.calls, "\n"))
	}
	if len(rec.res.Warnings) == 0 || !strings.Contains(strings.Join(rec.calls, "\n"), "warning publish: attestations are not sent") {
		t.Errorf("publish's warning did not reach the handler: %q", rec.calls)
	}
}

// TestPreflightBeforeFulcio: what PyPI would refuse after everything is
// signed is refused before the Fulcio request, with the fix; a release
// older than PyPI's window is a warning.
func TestPreflightBeforeFulcio(t *testing.T) {
	for _, tc := range []struct {
		name    string
		claims  map[string]any
		first   time.Duration // how long ago the release's first file was uploaded (0: new)
		wantErr []string
		warning string
	}{
		{name: "reusable workflow", claims: map[string]any{
			"job_workflow_ref": "octo-org/octo-repo/.github/workflows/publish.yml@refs/heads/main",
			"workflow_ref":     "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		}, wantErr: []string{"[reusable-workflow]", `"publish.yml"`, `"release.yml"`, "Build Config URI"}},
		{name: "pull_request_target", claims: map[string]any{"event_name": "pull_request_target"},
			wantErr: []string{"[pull-request-target]", "pull_request_target"}},
		{name: "closed release", first: 20 * 24 * time.Hour, warning: "older than 14 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			s.claims = tc.claims
			o := s.options(ModeRelease)
			now := time.Now()
			o.Sign.Preflight.Now = func() time.Time { return now }
			o.Sign.Preflight.ReleaseFirstUpload = func(context.Context, string, string) (time.Time, bool, error) {
				return now.Add(-tc.first), tc.first > 0, nil
			}
			rec := &recorder{}
			_, err := Run(context.Background(), o, rec)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				if !strings.Contains(strings.Join(rec.calls, "\n"), tc.warning) {
					t.Errorf("no warning %q:\n%s", tc.warning, strings.Join(rec.calls, "\n"))
				}
				return
			}
			if err == nil {
				t.Fatal("not refused")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if !strings.Contains(err.Error(), "Fix:") && !strings.Contains(err.Error(), "fix") {
				t.Errorf("error does not say what to change: %v", err)
			}
			if s.fake.FulcioRequests() != 0 || s.ix.UploadRequests() != 0 {
				t.Errorf("Fulcio requests %d, uploads %d: the refusal came too late", s.fake.FulcioRequests(), s.ix.UploadRequests())
			}
		})
	}
}
