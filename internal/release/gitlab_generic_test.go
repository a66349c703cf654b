package release

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/gitlab"
	"github.com/attest-publish/attest-publish/internal/gitlabtest"
	"github.com/attest-publish/attest-publish/internal/pypitest"
	"github.com/attest-publish/attest-publish/internal/verification"
)

const jobToken = "glcbt-test-job-token"

// withGitLab adds the GitLab stage (derived package URL, job token) and
// detached pairs to o.
func withGitLab(o Options, api string) Options {
	o.Sign.Detached = true
	o.GitLabGeneric = &GitLabGenericOptions{
		APIURL: api, Project: "42",
		Token:  gitlab.Token{Header: gitlab.JobTokenHeader, Value: jobToken, From: "CI_JOB_TOKEN"},
		Client: gitlab.Options{Sleep: func(context.Context, time.Duration) error { return nil }},
	}
	return o
}

// names lists the registry's file names.
func names(reg *gitlabtest.Registry) string {
	var out []string
	for _, f := range reg.Files() {
		out = append(out, f.Name)
	}
	return strings.Join(out, " ")
}

func TestReleaseStoresOnGitLab(t *testing.T) {
	s := newStack(t)
	reg := gitlabtest.New(jobToken)
	api := gitlabtest.Start(t, reg)
	rec := &recorder{}
	res, err := Run(context.Background(), withGitLab(s.options(ModeRelease), api), rec)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, strings.Join(rec.calls, "\n"))
	}
	calls := strings.Join(rec.calls, "\n")
	if !strings.HasSuffix(calls, "end publish false\nstart store on GitLab\nend store on GitLab false\ndone false") {
		t.Errorf("handler calls:\n%s", calls)
	}
	w, sd := pypitest.WheelName, pypitest.SdistName
	want := strings.Join([]string{
		w + ".sigstore.json", w + ".publish.attestation", w + ".slsa.attestation", w + ".sig", w + ".crt",
		sd + ".sigstore.json", sd + ".publish.attestation", sd + ".slsa.attestation", sd + ".sig", sd + ".crt",
		"provenance.sigstore.json",
	}, " ")
	if got := names(reg); got != want {
		t.Errorf("registry holds:\n%s\nwant\n%s", got, want)
	}
	for _, r := range reg.Requests() {
		if r.Header != gitlab.JobTokenHeader || r.Token != jobToken || r.Project != "42" || r.Package != "sample" || r.Version != "1.0" {
			t.Errorf("request %+v", r)
		}
	}
	rep := NewReport(res, nil)
	if rep.GitLabGeneric == nil || !rep.GitLabGeneric.Complete() || len(rep.GitLabGeneric.Files) != 11 {
		t.Errorf("report: %+v", rep.GitLabGeneric)
	}
	// The consumer's side: every dist against what the package holds.
	verifyFromRegistry(t, s, res.Signed.Identity.SAN, api, 4)
}

// verifyFromRegistry verifies the stack's dists against the generic
// package and wants material pieces each.
func verifyFromRegistry(t *testing.T, s *stack, san, api string, material int) []verification.Result {
	t.Helper()
	vo := VerifyOptions{
		Targets: []string{s.dir},
		Policy:  verification.Policy{SAN: san, Issuer: s.fake.Issuer()},
		Trust: func(func(string)) (*verification.Trust, error) {
			return verification.TrustFromRoot(s.fake.TrustedRoot())
		},
		FromGitLab: &GitLabGenericSource{
			PackageURL: gitlabtest.PackageURL(api, "42", "sample", "1.0"),
			Token:      gitlab.Token{Header: gitlab.JobTokenHeader, Value: jobToken, From: "CI_JOB_TOKEN"},
		},
	}
	results, err := Verify(context.Background(), vo, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if material > 0 && (!r.Verified || len(r.Material) != material) {
			t.Errorf("%s: verified %v, material %v: %s", r.Artifact, r.Verified, r.Material, r.Error)
		}
	}
	return results
}

// TestGitLabStoreHalfway: the registry fails halfway through a sign run;
// the run fails with the exact report, keeps the signed outputs, and a
// verify run with the stage finishes the package without signing again.
func TestGitLabStoreHalfway(t *testing.T) {
	s := newStack(t)
	reg := gitlabtest.New(jobToken)
	api := gitlabtest.Start(t, reg)
	reg.Fail = func(method string, n int, _ string) (int, bool) {
		if method == http.MethodPut && n >= 4 {
			return http.StatusServiceUnavailable, false
		}
		return 0, false
	}
	rec := &recorder{}
	res, err := Run(context.Background(), withGitLab(s.options(ModeSign), api), rec)
	if err == nil || res.Signed == nil {
		t.Fatalf("want signing to succeed and the store to fail: %v", err)
	}
	for _, want := range []string{
		"signed (the outputs are kept), but storing the signature material on GitLab failed: GitLab generic package " + api + "/projects/42/packages/generic/sample/1.0: 3 of 11 file(s) in the registry, 8 not stored:",
		"  stored          " + pypitest.WheelName + ".sigstore.json (sha256:",
		"  NOT STORED      " + pypitest.WheelName + ".sig: PUT " + api,
		"HTTP 503 (Service Unavailable) after 3 attempts",
		"  NOT STORED      provenance.sigstore.json: not attempted: stopped after " + pypitest.WheelName + ".sig failed",
		"rerun to finish: files already stored with the same sha256 are skipped",
		"\nto finish without signing again: attest-publish verify " + s.dir + " --certificate-identity " + res.Signed.Identity.SAN + " --certificate-oidc-issuer " + res.Signed.Identity.Issuer + " --gitlab-generic-package auto",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), jobToken) {
		t.Error("the error shows the token")
	}
	if res.GitLabGeneric == nil || res.GitLabGeneric.Count() != 3 || res.Signed == nil {
		t.Fatalf("result: %+v", res.GitLabGeneric)
	}
	// Verifying against the half-filled package: the wheel's stored
	// material verifies, the sdist has none.
	results := verifyFromRegistry(t, s, res.Signed.Identity.SAN, api, 0)
	if !results[0].Verified || results[1].Verified || !strings.Contains(results[1].Error, "holds no material for "+pypitest.SdistName) {
		t.Errorf("half-filled package: %+v", results)
	}
	// Finish: verify the directory, then store what verified.
	reg.Fail = nil
	o := withGitLab(Options{Mode: ModeVerify}, api)
	o.Verify = VerifyOptions{
		Targets: []string{s.dir},
		Policy:  verification.Policy{SAN: res.Signed.Identity.SAN, Issuer: res.Signed.Identity.Issuer},
		Trust: func(func(string)) (*verification.Trust, error) {
			return verification.TrustFromRoot(s.fake.TrustedRoot())
		},
	}
	rec = &recorder{}
	res2, err := Run(context.Background(), o, rec)
	if err != nil {
		t.Fatalf("finishing: %v\n%s", err, strings.Join(rec.calls, "\n"))
	}
	var states []string
	for _, f := range res2.GitLabGeneric.Files {
		states = append(states, string(f.State))
	}
	// Verify mode stores each dist's material (not the release provenance,
	// which it does not verify): 3 already there, 7 stored now.
	if got := strings.Join(states, ","); got != "already stored,already stored,already stored,stored,stored,stored,stored,stored,stored,stored" {
		t.Errorf("states %s", got)
	}
	verifyFromRegistry(t, s, res.Signed.Identity.SAN, api, 4)
	// A tampered signature in the registry (newest file wins) fails.
	reg.Put("42", "sample", "1.0", pypitest.WheelName+".sig", bytes.ToUpper(reg.Files()[0].Data[:10]))
	results = verifyFromRegistry(t, s, res.Signed.Identity.SAN, api, 0)
	for _, r := range results {
		if strings.HasSuffix(r.Artifact, ".whl") && (r.Verified || !strings.Contains(r.Error, "signature")) {
			t.Errorf("tampered .sig: %+v", r)
		}
	}
}
