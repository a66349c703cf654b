package preflight

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/provenance"
)

var now = time.Date(2026, 8, 24, 12, 0, 0, 0, time.UTC)

// githubClaims are a GitHub Actions token's claims for a tag-push release
// from a top-level workflow (the shape internal/pypi's tests use).
func githubClaims() idtoken.Claims {
	return idtoken.Claims{
		"iss":                 "https://token.actions.githubusercontent.com",
		"aud":                 "sigstore",
		"sub":                 "repo:octo-org/sample:environment:pypi",
		"repository":          "octo-org/sample",
		"repository_owner":    "octo-org",
		"repository_owner_id": "4242",
		"repository_id":       "987654",
		"workflow":            "Release",
		"workflow_ref":        "octo-org/sample/.github/workflows/release.yml@refs/tags/v1.2.0",
		"workflow_sha":        "3f786850e387550fdab836ed7e6dc881de23001b",
		"job_workflow_ref":    "octo-org/sample/.github/workflows/release.yml@refs/tags/v1.2.0",
		"job_workflow_sha":    "3f786850e387550fdab836ed7e6dc881de23001b",
		"environment":         "pypi",
		"event_name":          "push",
		"ref":                 "refs/tags/v1.2.0",
		"ref_type":            "tag",
		"sha":                 "3f786850e387550fdab836ed7e6dc881de23001b",
		"runner_environment":  "github-hosted",
		"run_id":              "10244567890",
		"run_attempt":         "1",
		"jti":                 "6f1a2c9e-3b7d-4e2a-9c1f-0d8e7b6a5c4d",
	}
}

func claimsWith(mod func(idtoken.Claims)) idtoken.Claims {
	c := githubClaims()
	mod(c)
	return c
}

func dist(t *testing.T, filename string) *dists.Dist {
	t.Helper()
	p, err := dists.ParseFilename(filename)
	if err != nil {
		t.Fatalf("ParseFilename(%q): %v", filename, err)
	}
	return &dists.Dist{Path: filepath.Join("dist", filename), Filename: filename, Parsed: p}
}

func distsOf(t *testing.T, names ...string) []*dists.Dist {
	out := make([]*dists.Dist, len(names))
	for i, n := range names {
		out[i] = dist(t, n)
	}
	return out
}

// ours are the attestations attest-publish makes for a dist.
func ours(filename string) []Sidecar {
	return []Sidecar{
		{Name: filename + ".publish.attestation", PredicateType: provenance.PublishPredicateType},
		{Name: filename + ".slsa.attestation", PredicateType: provenance.SLSAPredicateType},
	}
}

func sidecarsFor(ds []*dists.Dist) map[string][]Sidecar {
	m := map[string][]Sidecar{}
	for _, d := range ds {
		m[d.Filename] = ours(d.Filename)
	}
	return m
}

func ago(d time.Duration) *time.Time {
	t := now.Add(-d)
	return &t
}

const (
	sdist = "sample-1.2.0.tar.gz"
	wheel = "sample-1.2.0-py3-none-any.whl"
	day   = 24 * time.Hour
)

// cleanOptions is a release PyPI takes: a top-level workflow pushed by a
// tag, normalised filenames, our two attestations per dist, a release first
// uploaded two days ago.
func cleanOptions(t *testing.T) Options {
	ds := distsOf(t, sdist, wheel)
	return Options{
		Claims:             githubClaims(),
		Dists:              ds,
		Attestations:       true,
		PyPI:               true,
		IndexURL:           "https://upload.pypi.org/legacy/",
		Sidecars:           sidecarsFor(ds),
		ReleaseFirstUpload: ago(2 * day),
		Now:                now,
	}
}

type want struct {
	check    string
	severity Severity
	file     string
	message  []string // substrings
	fix      []string // substrings
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		mod  func(t *testing.T, o *Options)
		want []want
	}{
		{name: "clean", mod: func(*testing.T, *Options) {}},
		{
			name: "no CI token: claim checks skipped",
			mod: func(_ *testing.T, o *Options) {
				o.Claims = nil
			},
		},
		{
			name: "reusable workflow in the same repository",
			mod: func(_ *testing.T, o *Options) {
				o.Claims = claimsWith(func(c idtoken.Claims) {
					c["job_workflow_ref"] = "octo-org/sample/.github/workflows/publish-reusable.yml@refs/tags/v1.2.0"
				})
			},
			want: []want{{
				check: CheckReusableWorkflow, severity: Error,
				message: []string{
					`"octo-org/sample/.github/workflows/publish-reusable.yml@refs/tags/v1.2.0" (job_workflow_ref)`,
					`"octo-org/sample/.github/workflows/release.yml@refs/tags/v1.2.0" (workflow_ref)`,
					`workflow file of job_workflow_ref ("publish-reusable.yml")`,
					`Build Config URI, which Fulcio takes from workflow_ref ("https://github.com/octo-org/sample/.github/workflows/release.yml@refs/tags/v1.2.0")`,
					`Invalid attestations supplied during upload: Certificate's Build Config URI (…) does not match expected Trusted Publisher (publish-reusable.yml @ octo-org/sample)`,
				},
				fix: []string{
					`from the reusable workflow ".github/workflows/publish-reusable.yml" into the calling workflow ".github/workflows/release.yml"`,
					`name "release.yml" as the workflow of the project's trusted publisher`,
					"https://pypi.org/manage/project/sample/settings/publishing/?provider=github&owner=octo-org&repository=sample&workflow_filename=release.yml",
					`"attestations: false"`, "--attestations=false",
					`with the trusted publisher naming "publish-reusable.yml"`,
					"warehouse#20083",
				},
			}},
		},
		{
			name: "reusable workflow from another repository",
			mod: func(_ *testing.T, o *Options) {
				o.Claims = claimsWith(func(c idtoken.Claims) {
					c["job_workflow_ref"] = "octo-org/shared-workflows/.github/workflows/pypi-publish.yml@refs/heads/main"
				})
			},
			want: []want{{
				check: CheckReusableWorkflow, severity: Error,
				message: []string{
					`"octo-org/shared-workflows/.github/workflows/pypi-publish.yml@refs/heads/main" (job_workflow_ref)`,
					`Nor can PyPI match a trusted publisher to this job today: it requires job_workflow_ref to be a workflow of "octo-org/sample" at this run's ref or commit (ref "refs/tags/v1.2.0" or sha "3f786850e387550fdab836ed7e6dc881de23001b")`,
				},
				fix: []string{
					`from the reusable workflow "octo-org/shared-workflows/.github/workflows/pypi-publish.yml" into the calling workflow ".github/workflows/release.yml"`,
					"cannot publish to PyPI today, with or without attestations",
				},
			}},
		},
		{
			name: "reusable workflow without attestations: left to the mint warning",
			mod: func(_ *testing.T, o *Options) {
				o.Attestations = false
				o.Claims = claimsWith(func(c idtoken.Claims) {
					c["job_workflow_ref"] = "octo-org/sample/.github/workflows/publish-reusable.yml@refs/tags/v1.2.0"
				})
			},
		},
		{
			name: "reusable workflow to another index",
			mod: func(_ *testing.T, o *Options) {
				o.PyPI = false
				o.Claims = claimsWith(func(c idtoken.Claims) {
					c["job_workflow_ref"] = "octo-org/sample/.github/workflows/publish-reusable.yml@refs/tags/v1.2.0"
				})
			},
		},
		{
			name: "GitLab token: no GitHub claim checks",
			mod: func(_ *testing.T, o *Options) {
				o.Claims = idtoken.Claims{
					"iss": "https://gitlab.com", "aud": "sigstore",
					"project_path":      "octo-group/sample",
					"ci_config_ref_uri": "gitlab.com/octo-group/sample//.gitlab-ci.yml@refs/tags/v1.2.0",
					"ref":               "v1.2.0", "ref_type": "tag", "pipeline_source": "push",
				}
			},
		},
		{
			name: "pull_request_target",
			mod: func(_ *testing.T, o *Options) {
				o.Claims = claimsWith(func(c idtoken.Claims) {
					c["event_name"] = "pull_request_target"
					c["ref"] = "refs/heads/main"
					c["workflow_ref"] = "octo-org/sample/.github/workflows/ci.yml@refs/heads/main"
					c["job_workflow_ref"] = c["workflow_ref"]
				})
			},
			want: []want{{
				check: CheckPullRequestTarget, severity: Error,
				message: []string{`"pull_request_target" (event_name)`, "Publishing from a workflow invoked via 'pull_request_target' is not supported."},
				fix:     []string{`In ".github/workflows/ci.yml", replace "pull_request_target"`, `on: {push: {tags: ["v*"]}}`, "on: {release: {types: [published]}}", "on: workflow_dispatch"},
			}},
		},
		{
			name: "pull_request_target to another index is refused too",
			mod: func(_ *testing.T, o *Options) {
				o.PyPI = false
				o.Claims = claimsWith(func(c idtoken.Claims) { c["event_name"] = "pull_request_target" })
			},
			want: []want{{check: CheckPullRequestTarget, severity: Error}},
		},
		{
			name: "closed release",
			mod: func(_ *testing.T, o *Options) {
				o.ReleaseFirstUpload = ago(20*day + 3*time.Hour)
			},
			want: []want{{
				check: CheckClosedRelease, severity: Warning,
				message: []string{"sample 1.2.0 was first uploaded to the index on 2026-08-04T09:00:00Z, 20 days 3 hours ago",
					`"Uploading new files to releases older than 14 days is not allowed."`},
				fix: []string{`"1.2.0.post1" (a post-release)`},
			}},
		},
		{
			name: "release 13 days old is still open",
			mod: func(_ *testing.T, o *Options) {
				o.ReleaseFirstUpload = ago(13*day + 23*time.Hour)
			},
		},
		{
			name: "closed release on another index",
			mod: func(_ *testing.T, o *Options) {
				o.PyPI = false
				o.ReleaseFirstUpload = ago(400 * day)
			},
		},
		{
			name: "closed post-release",
			mod: func(t *testing.T, o *Options) {
				o.Dists = distsOf(t, "sample-1.2.0.post2.tar.gz")
				o.Sidecars = sidecarsFor(o.Dists)
				o.ReleaseFirstUpload = ago(15 * day)
			},
			want: []want{{check: CheckClosedRelease, severity: Warning, fix: []string{`"1.2.0.post3" (a post-release)`}}},
		},
		{
			name: "two publish attestations for one file",
			mod: func(_ *testing.T, o *Options) {
				o.Sidecars[wheel] = append(o.Sidecars[wheel], Sidecar{Name: wheel + ".build.attestation", PredicateType: provenance.PublishPredicateType})
			},
			want: []want{{
				check: CheckAttestationCount, severity: Error, file: wheel,
				message: []string{`2 attestations of predicate type "https://docs.pypi.org/attestations/publish/v1"`,
					`"sample-1.2.0-py3-none-any.whl.build.attestation", "sample-1.2.0-py3-none-any.whl.publish.attestation"`,
					"Multiple attestations for the same file with the same predicate type (https://docs.pypi.org/attestations/publish/v1) are not supported",
					"A maximum of 2 attestations per file are supported", "and 3 would be sent"},
				fix: []string{`Keep "sample-1.2.0-py3-none-any.whl.publish.attestation" and remove "sample-1.2.0-py3-none-any.whl.build.attestation"`},
			}},
		},
		{
			name: "the same file listed twice counts once",
			mod: func(_ *testing.T, o *Options) {
				o.Sidecars[sdist] = append(o.Sidecars[sdist], ours(sdist)...)
			},
		},
		{
			name: "an unreadable file this run rewrites",
			mod: func(_ *testing.T, o *Options) {
				o.Sidecars[sdist] = append([]Sidecar{{Name: sdist + ".publish.attestation"}}, o.Sidecars[sdist]...)
			},
		},
		{
			name: "unsupported predicate type",
			mod: func(_ *testing.T, o *Options) {
				o.Sidecars[sdist] = []Sidecar{
					{Name: sdist + ".publish.attestation", PredicateType: provenance.PublishPredicateType},
					{Name: sdist + ".intoto.attestation", PredicateType: "https://slsa.dev/provenance/v0.2"},
				}
			},
			want: []want{{
				check: CheckAttestationType, severity: Error, file: sdist,
				message: []string{`"sample-1.2.0.tar.gz.intoto.attestation" has predicate type "https://slsa.dev/provenance/v0.2"`,
					"Attestation with unsupported predicate type: https://slsa.dev/provenance/v0.2"},
				fix: []string{`Remove "sample-1.2.0.tar.gz.intoto.attestation"`},
			}},
		},
		{
			name: "unreadable attestation",
			mod: func(_ *testing.T, o *Options) {
				o.Sidecars[sdist] = append(o.Sidecars[sdist], Sidecar{Name: sdist + ".old.attestation"})
			},
			want: []want{{
				check: CheckAttestationType, severity: Error, file: sdist,
				message: []string{`"sample-1.2.0.tar.gz.old.attestation" would be uploaded with it but is not a readable PEP 740 attestation`, "A maximum of 2 attestations per file"},
				fix:     []string{`Remove "sample-1.2.0.tar.gz.old.attestation"`},
			}},
		},
		{
			name: "attestations off: sidecars not judged",
			mod: func(_ *testing.T, o *Options) {
				o.Attestations = false
				o.Sidecars[sdist] = append(o.Sidecars[sdist], Sidecar{Name: sdist + ".old.attestation"})
			},
		},
		{
			name: "wheel name not normalised",
			mod: func(t *testing.T, o *Options) {
				o.Dists = distsOf(t, "Sample-1.2.0-py3-none-any.whl", sdist)
			},
			want: []want{{
				check: CheckFilenameNormalisation, severity: Error, file: "Sample-1.2.0-py3-none-any.whl",
				message: []string{`name part "Sample" is not the normalised project name "sample"`,
					"Filename 'Sample-1.2.0-py3-none-any.whl' should contain the normalized project name 'sample', not 'Sample'."},
				fix: []string{`names it "sample-1.2.0-py3-none-any.whl"`, `already "sample-1.2.0.dist-info"`},
			}},
		},
		{
			name: "wheel name with a dot",
			mod: func(t *testing.T, o *Options) {
				o.Dists = distsOf(t, "zope.interface-7.0.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
			},
			want: []want{{
				check: CheckFilenameNormalisation, severity: Error, file: "zope.interface-7.0.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
				message: []string{`"zope.interface" is not the normalised project name "zope_interface"`},
				fix:     []string{`"zope_interface-7.0.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"`},
			}},
		},
		{
			name: "wheel version not in normal form",
			mod: func(t *testing.T, o *Options) {
				o.Dists = distsOf(t, "sample-1.02.0-1-py3-none-any.whl", sdist)
			},
			want: []want{{
				check: CheckFilenameNormalisation, severity: Warning, file: "sample-1.02.0-1-py3-none-any.whl",
				message: []string{`version "1.02.0" is not in normal form ("1.2.0")`, "PyPI accepts it"},
				fix:     []string{`"sample-1.2.0-1-py3-none-any.whl"`},
			}},
		},
		{
			name: "sdist name not normalised (PEP 625)",
			mod: func(t *testing.T, o *Options) {
				o.Dists = distsOf(t, "Sample.Core-1.2.0RC1.tar.gz", "sample_core-1.2.0rc1-py3-none-any.whl")
			},
			want: []want{{
				check: CheckFilenameNormalisation, severity: Error, file: "Sample.Core-1.2.0RC1.tar.gz",
				message: []string{`not named "sample_core-1.2.0rc1.tar.gz" as PEP 625 requires`,
					"Filename 'Sample.Core-1.2.0RC1.tar.gz' is invalid, should be 'sample_core-1.2.0rc1.tar.gz'."},
				fix: []string{`Rename it to "sample_core-1.2.0rc1.tar.gz"`},
			}},
		},
		{
			name: "zip sdist",
			mod: func(t *testing.T, o *Options) {
				o.Dists = distsOf(t, "sample-1.2.0.zip", wheel)
			},
			want: []want{{
				check: CheckFilenameNormalisation, severity: Error, file: "sample-1.2.0.zip",
				message: []string{"should be 'sample-1.2.0.tar.gz'"},
				fix:     []string{"python -m build --sdist", `"sample-1.2.0.tar.gz"`},
			}},
		},
		{
			name: "filename to another index is a warning",
			mod: func(t *testing.T, o *Options) {
				o.PyPI = false
				o.Dists = distsOf(t, "Sample-1.2.0.tar.gz")
			},
			want: []want{{
				check: CheckFilenameNormalisation, severity: Warning, file: "Sample-1.2.0.tar.gz",
				message: []string{"PyPI would refuse it"}, fix: []string{`"sample-1.2.0.tar.gz"`},
			}},
		},
		{
			name: "local version",
			mod: func(t *testing.T, o *Options) {
				o.Dists = distsOf(t, "sample-1.2.1.dev3+g1a2b3c4.tar.gz", "sample-1.2.1.dev3+g1a2b3c4-py3-none-any.whl")
			},
			want: []want{{
				check: CheckLocalVersion, severity: Error,
				message: []string{`version "1.2.1.dev3+g1a2b3c4"`, `local segment "+g1a2b3c4"`, "The use of local versions in '1.2.1.dev3+g1a2b3c4' is not allowed."},
				fix:     []string{`"1.2.1.dev3"`, `local_scheme = "no-local-version"`},
			}},
		},
		{
			name: "two versions in one run",
			mod: func(t *testing.T, o *Options) {
				o.Dists = distsOf(t, sdist, "sample-1.3.0-py3-none-any.whl", "sample-1.2-py3-none-any.whl")
			},
			want: []want{{
				check: CheckMixedRelease, severity: Error, file: "sample-1.3.0-py3-none-any.whl",
				message: []string{`"sample-1.3.0-py3-none-any.whl" is project "sample" version "1.3.0", but "sample-1.2-py3-none-any.whl" is project "sample" version "1.2"`},
				fix:     []string{`Remove "sample-1.3.0-py3-none-any.whl"`},
			}},
		},
		{
			name: "control characters in claims stay out of messages",
			mod: func(_ *testing.T, o *Options) {
				o.Claims = claimsWith(func(c idtoken.Claims) {
					c["job_workflow_ref"] = "octo-org/sample/.github/workflows/x\n::error::pwned.yml@refs/tags/v1.2.0\x1b[31m"
				})
			},
			want: []want{{check: CheckReusableWorkflow, severity: Error, message: []string{`x\n::error::pwned.yml`}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := cleanOptions(t)
			tt.mod(t, &o)
			r := Check(context.Background(), o)
			if len(r.Findings) != len(tt.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(r.Findings), len(tt.want), dump(r))
			}
			for i, w := range tt.want {
				f := r.Findings[i]
				if f.Check != w.check || f.Severity != w.severity || f.File != w.file {
					t.Errorf("finding %d = %s %s %q, want %s %s %q", i, f.Check, f.Severity, f.File, w.check, w.severity, w.file)
				}
				for _, s := range w.message {
					if !strings.Contains(f.Message, s) {
						t.Errorf("finding %d message lacks %q:\n%s", i, s, f.Message)
					}
				}
				for _, s := range w.fix {
					if !strings.Contains(f.Fix, s) {
						t.Errorf("finding %d fix lacks %q:\n%s", i, s, f.Fix)
					}
				}
				if f.Fix == "" {
					t.Errorf("finding %d has no fix", i)
				}
				for _, s := range []string{f.Message, f.Fix, f.File} {
					if strings.ContainsFunc(s, unicode.IsControl) {
						t.Errorf("finding %d holds a control character: %q", i, s)
					}
				}
			}
			hasErr := len(r.Errors()) > 0
			if err := r.Err(); (err != nil) != hasErr {
				t.Errorf("Err() = %v with %d error findings", err, len(r.Errors()))
			}
		})
	}
}

func dump(r Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

func TestReportErr(t *testing.T) {
	o := cleanOptions(t)
	o.Claims["event_name"] = "pull_request_target"
	o.ReleaseFirstUpload = ago(30 * day)
	o.Dists = distsOf(t, "Sample-1.2.0.tar.gz", wheel)
	r := Check(context.Background(), o)
	if got := len(r.Warnings()); got != 1 {
		t.Fatalf("warnings = %d, want 1 (closed release):\n%s", got, dump(r))
	}
	err := r.Err()
	var refused *RefusedError
	if !errors.As(err, &refused) || len(refused.Findings) != 2 {
		t.Fatalf("Err() = %v, want a RefusedError with 2 findings", err)
	}
	msg := err.Error()
	for _, s := range []string{"refusing to sign: PyPI would refuse this release (2 problems):", "[pull-request-target]", `[filename-normalisation] "Sample-1.2.0.tar.gz": `, "Fix: Rename it to"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "closed-release") {
		t.Errorf("error lists a warning:\n%s", msg)
	}
	if (Report{}).Err() != nil {
		t.Error("empty report has an error")
	}
}

func TestCheckContextDone(t *testing.T) {
	o := cleanOptions(t)
	o.Claims["event_name"] = "pull_request_target"
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := Check(ctx, o); len(r.Findings) != 0 {
		t.Errorf("findings after cancel: %s", dump(r))
	}
}

func TestNextPostRelease(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.0":              "1.2.0.post1",
		"1.2.0.post1":        "1.2.0.post2",
		"2!1.0rc1":           "2!1.0rc1.post1",
		"1.2.1.dev3":         "1.2.1.dev4",
		"1.2.1.dev3+g1a2b3c": "1.2.1.dev4",
		"":                   "<version>.post1",
	} {
		if got := nextPostRelease(in); got != want {
			t.Errorf("nextPostRelease(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFirstUpload(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("testdata", "simple-sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		project, version string
		want             string // RFC 3339, "" for none
		err              error
	}{
		// The earliest of the release's three files.
		{project: "sample", version: "1.2.0", want: "2026-07-01T11:59:58Z"},
		// Warehouse groups versions by canonicalize_version.
		{project: "Sample", version: "1.2", want: "2026-07-01T11:59:58Z"},
		{project: "sample", version: "1.1.0", want: "2026-05-02T09:14:27.481516Z"},
		{project: "sample", version: "1.4.0"},
		{project: "sample", version: "1.3.0rc1", err: ErrNoUploadTime},
	}
	for _, tt := range tests {
		got, ok, err := FirstUpload(page, tt.project, tt.version)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s %s: err = %v, want %v", tt.project, tt.version, err, tt.err)
			continue
		}
		if ok != (tt.want != "") {
			t.Errorf("%s %s: ok = %v", tt.project, tt.version, ok)
			continue
		}
		if ok {
			w, _ := time.Parse(time.RFC3339Nano, tt.want)
			if !got.Equal(w) {
				t.Errorf("%s %s: first upload %v, want %v", tt.project, tt.version, got, w)
			}
		}
	}
	if _, _, err := FirstUpload([]byte("<html></html>"), "sample", "1.2.0"); err == nil {
		t.Error("an HTML page was read as JSON")
	}
	if _, _, err := FirstUpload(page, "sample", "not a version"); err == nil {
		t.Error("an invalid version was accepted")
	}
}

// attestationJSON is a PEP 740 attestation object whose statement has
// the given predicate type (the signature and certificate are not read).
func attestationJSON(t *testing.T, subject, predicateType string) []byte {
	t.Helper()
	st, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": subject, "digest": map[string]string{"sha256": strings.Repeat("ab", 32)}}},
		"predicateType": predicateType,
		"predicate":     map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"version": 1,
		"verification_material": map[string]any{
			"certificate":          base64.StdEncoding.EncodeToString([]byte("DER")),
			"transparency_entries": []any{map[string]any{"logIndex": "1"}},
		},
		"envelope": map[string]any{
			"statement": base64.StdEncoding.EncodeToString(st),
			"signature": base64.StdEncoding.EncodeToString([]byte("sig")),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadSidecars(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(sdist, []byte("sdist"))
	write(wheel, []byte("wheel"))
	write(sdist+".publish.attestation", attestationJSON(t, sdist, provenance.PublishPredicateType))
	write(sdist+".slsa.attestation", attestationJSON(t, sdist, provenance.SLSAPredicateType))
	write(wheel+".publish.attestation", attestationJSON(t, wheel, provenance.PublishPredicateType))
	write(wheel+".build.attestation", attestationJSON(t, wheel, provenance.PublishPredicateType))
	write(wheel+".junk.attestation", []byte("not json"))
	write("other-0.1.tar.gz.publish.attestation", attestationJSON(t, "other-0.1.tar.gz", provenance.PublishPredicateType))
	write(sdist+".sigstore.json", []byte("{}"))
	if err := os.Symlink(filepath.Join(dir, sdist+".slsa.attestation"), filepath.Join(dir, wheel+".slsa.attestation")); err != nil {
		t.Fatal(err)
	}
	ds := []*dists.Dist{dist(t, sdist), dist(t, wheel)}
	for _, d := range ds {
		d.Path = filepath.Join(dir, d.Filename)
	}
	got, err := ReadSidecars(ds)
	if err != nil {
		t.Fatal(err)
	}
	wantSidecars := map[string][]Sidecar{
		sdist: {
			{Name: sdist + ".publish.attestation", PredicateType: provenance.PublishPredicateType},
			{Name: sdist + ".slsa.attestation", PredicateType: provenance.SLSAPredicateType},
		},
		wheel: {
			{Name: wheel + ".build.attestation", PredicateType: provenance.PublishPredicateType},
			{Name: wheel + ".junk.attestation"},
			{Name: wheel + ".publish.attestation", PredicateType: provenance.PublishPredicateType},
			{Name: wheel + ".slsa.attestation"}, // a symlink is not read
		},
	}
	for name, want := range wantSidecars {
		if len(got[name]) != len(want) {
			t.Errorf("%s: %v, want %v", name, got[name], want)
			continue
		}
		for i := range want {
			if got[name][i] != want[i] {
				t.Errorf("%s[%d] = %+v, want %+v", name, i, got[name][i], want[i])
			}
		}
	}
	if len(got) != 2 {
		t.Errorf("sidecars for %d dists, want 2: %v", len(got), got)
	}

	// Fed to Check: the wheel's extra publish attestation, the unreadable
	// one and the symlink are all refused.
	r := Check(context.Background(), Options{Dists: ds, Attestations: true, PyPI: true, Sidecars: got, Now: now})
	var checks []string
	for _, f := range r.Findings {
		if f.File != wheel {
			t.Errorf("finding about %q: %s", f.File, f)
		}
		checks = append(checks, f.Check)
	}
	if strings.Join(checks, ",") != "attestation-count,attestation-type,attestation-type" {
		t.Errorf("checks = %v:\n%s", checks, dump(r))
	}

	if _, err := ReadSidecars([]*dists.Dist{{Path: filepath.Join(dir, "missing", sdist), Filename: sdist}}); err == nil {
		t.Error("an unreadable directory gave no error")
	}
}
