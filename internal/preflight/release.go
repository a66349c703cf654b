package preflight

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// MaxReleaseAge is how long after a release was created PyPI still takes
// new files for it (warehouse MAXIMUM_AGE_FOR_NEW_UPLOADS_DAYS = 14, PR
// #19727, 2026-07-08).
const MaxReleaseAge = 14 * 24 * time.Hour

// closedReleaseMessage is PyPI's refusal, verbatim.
const closedReleaseMessage = "Uploading new files to releases older than 14 days is not allowed."

// checkClosedRelease warns when the release was first uploaded to PyPI more
// than MaxReleaseAge ago. Warehouse compares Release.created, the time of
// the release's first upload; a file already there with the same content
// is answered as a duplicate before that check, so only new files fail.
// The first upload time read from the index can be later than
// Release.created when files were deleted, hence a warning.
func checkClosedRelease(o *Options, ds []parsedDist) []Finding {
	if !o.PyPI || o.ReleaseFirstUpload == nil || len(ds) == 0 {
		return nil
	}
	first := *o.ReleaseFirstUpload
	age := o.Now.Sub(first)
	if age <= MaxReleaseAge {
		return nil
	}
	d := ds[0]
	return []Finding{{
		Check:    CheckClosedRelease,
		Severity: Warning,
		Message: fmt.Sprintf(`%s %s was first uploaded to the index on %s, %s ago: PyPI refuses new files for releases older than 14 days (HTTP 400 %q); only files already there with identical content are accepted, as duplicates.`,
			d.name.CanonicalName(), d.version, first.UTC().Format(time.RFC3339), formatAge(age), closedReleaseMessage),
		Fix: fmt.Sprintf(`Publish a new version instead: set the version to %s or the next release, and build the dists again.`, suggestVersion(d.version)),
	}}
}

func formatAge(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	return fmt.Sprintf("%d days %d hours", days, hours)
}

// suggestVersion quotes nextPostRelease's suggestion, saying when it is a
// post-release.
func suggestVersion(v string) string {
	next := nextPostRelease(v)
	if m := lastNumbered.FindStringSubmatch(next); m != nil && m[1] == "post" {
		return fmt.Sprintf("%q (a post-release)", next)
	}
	return fmt.Sprintf("%q", next)
}

var lastNumbered = regexp.MustCompile(`\.(post|dev)([0-9]+)$`)

// nextPostRelease suggests a version after a normalised one for a new
// upload: 1.2.0 → 1.2.0.post1, 1.2.0.post1 → 1.2.0.post2, 1.2.0.dev3 →
// 1.2.0.dev4; a local segment, which PyPI refuses anyway, is dropped.
func nextPostRelease(v string) string {
	v, _, _ = strings.Cut(v, "+")
	if v == "" {
		return "<version>.post1"
	}
	if m := lastNumbered.FindStringSubmatch(v); m != nil {
		if n, err := strconv.ParseUint(m[2], 10, 63); err == nil {
			return v[:len(v)-len(m[0])] + "." + m[1] + strconv.FormatUint(n+1, 10)
		}
	}
	return v + ".post1"
}

// checkMixedRelease refuses dists of more than one project or version: a
// run signs and publishes one release (dists.Find refuses the same, for
// dists it lists).
// Versions are compared as warehouse groups releases, by
// packaging.utils.canonicalize_version (trailing ".0"s dropped).
func checkMixedRelease(_ *Options, ds []parsedDist) []Finding {
	if len(ds) < 2 {
		return nil
	}
	// The release is the project and version most dists have (the first
	// dist's on a tie); the others are the odd ones out.
	key := func(d parsedDist) string { return d.name.CanonicalName() + " " + canonicalVersion(d.version) }
	count := map[string]int{}
	for _, d := range ds {
		count[key(d)]++
	}
	ref := ds[0]
	for _, d := range ds {
		if count[key(d)] > count[key(ref)] {
			ref = d
		}
	}
	var out []Finding
	for _, d := range ds {
		if key(d) == key(ref) {
			continue
		}
		out = append(out, Finding{
			Check:    CheckMixedRelease,
			Severity: Error,
			File:     d.Filename,
			Message: fmt.Sprintf(`%q is project %q version %q, but %q is project %q version %q: one run publishes one release.`,
				d.Filename, d.name.CanonicalName(), d.version, ref.Filename, ref.name.CanonicalName(), ref.version),
			Fix: fmt.Sprintf(`Remove %q from the packages directory, and publish each release from a directory of its own.`, d.Filename),
		})
	}
	return out
}

// canonicalVersion is packaging.utils.canonicalize_version of a normalised
// version: trailing zeros of the release segment dropped.
func canonicalVersion(v string) string {
	release := releasePrefix.FindString(v)
	parts := strings.Split(release, ".")
	for len(parts) > 1 && parts[len(parts)-1] == "0" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, ".") + v[len(release):]
}

var releasePrefix = regexp.MustCompile(`^(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*`)

// checkLocalVersion refuses a version with a local segment ("+…") for
// PyPI, which refuses it in the upload's metadata
// (warehouse/forklift/metadata.py).
func checkLocalVersion(o *Options, ds []parsedDist) []Finding {
	if !o.PyPI {
		return nil
	}
	var out []Finding
	seen := map[string]bool{}
	for _, d := range ds {
		public, local, ok := strings.Cut(d.version, "+")
		if !ok || seen[d.version] {
			continue
		}
		seen[d.version] = true
		out = append(out, Finding{
			Check:    CheckLocalVersion,
			Severity: Error,
			Message: fmt.Sprintf(`version %q (of %q) has the local segment %q: PyPI refuses local versions ("The use of local versions in '%s' is not allowed.").`,
				d.version, d.Filename, "+"+local, d.version),
			Fix: fmt.Sprintf(`Build from a clean checkout of the release tag so that the version is %q; with setuptools-scm, set local_scheme = "no-local-version".`, public),
		})
	}
	return out
}

// ErrNoUploadTime is returned by FirstUpload when the index lists files of
// the release without an upload-time (PEP 700, simple API version 1.1).
var ErrNoUploadTime = errors.New("the index does not say when the release's files were uploaded (no PEP 700 upload-time)")

// FirstUpload reads a PEP 691 simple API project page (JSON) and returns
// the earliest upload-time (PEP 700) of the files of project at version,
// comparing names canonicalised and versions as warehouse groups a release
// (canonicalize_version). ok is false, with a nil error, when the page
// lists no file of that version (a new release). Files whose names do not
// parse as a wheel or sdist are ignored.
func FirstUpload(page []byte, project, version string) (first time.Time, ok bool, err error) {
	want, valid := dists.NormalizeVersion(version)
	name := dists.CanonicalizeName(project)
	if !valid || name == "" {
		return time.Time{}, false, fmt.Errorf("%q %q: not a project name and PEP 440 version", project, version)
	}
	var doc struct {
		Files []struct {
			Filename   string  `json:"filename"`
			UploadTime *string `json:"upload-time"`
		} `json:"files"`
	}
	if err := json.Unmarshal(page, &doc); err != nil {
		return time.Time{}, false, fmt.Errorf("reading the simple API page (PEP 691 JSON): %w", err)
	}
	for _, f := range doc.Files {
		fn, err := dists.ParseFilename(f.Filename)
		if err != nil || fn.CanonicalName() != name || canonicalVersion(fn.Version) != canonicalVersion(want) {
			continue
		}
		if f.UploadTime == nil || *f.UploadTime == "" {
			return time.Time{}, false, fmt.Errorf("%s: %w", f.Filename, ErrNoUploadTime)
		}
		t, err := time.Parse(time.RFC3339Nano, *f.UploadTime)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%s: upload-time %q: %w", f.Filename, *f.UploadTime, err)
		}
		if !ok || t.Before(first) {
			first, ok = t, true
		}
	}
	return first, ok, nil
}
