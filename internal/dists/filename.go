package dists

import (
	"fmt"
	"regexp"
	"strings"
)

// Kind says whether a distribution is a wheel or a source distribution.
type Kind string

const (
	// Wheel is a built distribution (PEP 427), "bdist_wheel" on upload.
	Wheel Kind = "bdist_wheel"
	// Sdist is a source distribution (PEP 625), "sdist" on upload.
	Sdist Kind = "sdist"
)

// Filename is a parsed distribution filename.
type Filename struct {
	// Kind is the distribution type.
	Kind Kind
	// Name is the project name as written in the filename.
	Name string
	// Version is the normalized PEP 440 version.
	Version string
	// PythonTag is the wheel's Python tag ("py3"), or "source" for an sdist,
	// as the upload form's pyversion field wants it.
	PythonTag string
}

// CanonicalName returns the PEP 503 normalized project name.
func (f Filename) CanonicalName() string { return CanonicalizeName(f.Name) }

var (
	nameRuns      = regexp.MustCompile(`[-_.]+`)
	wheelNamePart = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	buildTag      = regexp.MustCompile(`^[0-9]`)
	validName     = regexp.MustCompile(`(?i)^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)
)

// CanonicalizeName normalizes a project name per PEP 503: runs of "-", "_"
// and "." become one "-", and letters are lowered.
func CanonicalizeName(name string) string {
	return strings.ToLower(nameRuns.ReplaceAllString(name, "-"))
}

// IsDistFilename reports whether name has the suffix of a distribution this
// tool handles: .whl, .tar.gz or .zip.
func IsDistFilename(name string) bool {
	return strings.HasSuffix(name, ".whl") || strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".zip")
}

// ParseFilename parses a wheel filename (PEP 427:
// name-version[-build]-python-abi-platform.whl) or an sdist filename
// (PEP 625: name-version.tar.gz, or the legacy .zip), checking the name and
// the PEP 440 version the way the packaging library does.
func ParseFilename(filename string) (Filename, error) {
	switch {
	case strings.HasSuffix(filename, ".whl"):
		return parseWheel(filename)
	case strings.HasSuffix(filename, ".tar.gz"), strings.HasSuffix(filename, ".zip"):
		return parseSdist(filename)
	}
	return Filename{}, fmt.Errorf("%q: not a wheel (.whl) or sdist (.tar.gz, .zip) filename", filename)
}

func parseWheel(filename string) (Filename, error) {
	stem := strings.TrimSuffix(filename, ".whl")
	parts := strings.Split(stem, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return Filename{}, fmt.Errorf("%q: invalid wheel filename: want name-version[-build]-python-abi-platform.whl (PEP 427), got %d dash-separated parts", filename, len(parts))
	}
	name := parts[0]
	if !wheelNamePart.MatchString(name) || strings.Contains(name, "__") || !validName.MatchString(name) {
		return Filename{}, fmt.Errorf("%q: invalid wheel filename: bad project name %q (PEP 427 escapes runs of '-', '.' to '_')", filename, name)
	}
	version, ok := NormalizeVersion(parts[1])
	if !ok {
		return Filename{}, fmt.Errorf("%q: invalid wheel filename: %q is not a PEP 440 version", filename, parts[1])
	}
	if len(parts) == 6 && !buildTag.MatchString(parts[2]) {
		return Filename{}, fmt.Errorf("%q: invalid wheel filename: build tag %q must start with a digit", filename, parts[2])
	}
	tags := parts[len(parts)-3:]
	for _, t := range tags {
		if t == "" {
			return Filename{}, fmt.Errorf("%q: invalid wheel filename: empty compatibility tag", filename)
		}
	}
	return Filename{Kind: Wheel, Name: name, Version: version, PythonTag: tags[0]}, nil
}

func parseSdist(filename string) (Filename, error) {
	stem := strings.TrimSuffix(strings.TrimSuffix(filename, ".tar.gz"), ".zip")
	i := strings.LastIndex(stem, "-")
	if i <= 0 {
		return Filename{}, fmt.Errorf("%q: invalid sdist filename: want name-version.tar.gz (PEP 625)", filename)
	}
	name, rawVersion := stem[:i], stem[i+1:]
	if !validName.MatchString(name) {
		return Filename{}, fmt.Errorf("%q: invalid sdist filename: bad project name %q", filename, name)
	}
	version, ok := NormalizeVersion(rawVersion)
	if !ok {
		return Filename{}, fmt.Errorf("%q: invalid sdist filename: %q is not a PEP 440 version", filename, rawVersion)
	}
	return Filename{Kind: Sdist, Name: name, Version: version, PythonTag: "source"}, nil
}
