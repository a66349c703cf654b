package dists

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
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
	// compatTag is one wheel compatibility tag (python, abi or platform,
	// each possibly a dot-separated set), PEP 427/PEP 491: letters, digits,
	// '_' and '.' only.
	compatTag = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	// buildTag is a wheel build tag: a digit, then PEP 427's tag characters.
	buildTag = regexp.MustCompile(`^[0-9][A-Za-z0-9_.]*$`)
	// versionChars are the characters of a PEP 440 version as a filename
	// holds it (PEP 427 and PEP 625 replace '-' with '_').
	versionChars = regexp.MustCompile(`^[A-Za-z0-9_.!+]+$`)
	validName    = regexp.MustCompile(`(?i)^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)
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

// ParseFilename parses a wheel filename (PEP 427 and PEP 491:
// name-version[-build]-python-abi-platform.whl) or an sdist filename
// (PEP 625: name-version.tar.gz, or the legacy .zip), checking the name and
// the PEP 440 version the way the packaging library does, and every part
// against its exact character set: compatibility tags [A-Za-z0-9_.], a
// build tag a digit then [A-Za-z0-9_.]*. A name holding a control
// character, or any character no part allows, is refused before anything
// else: filenames reach logs, CI runners and upload headers, and must stay
// data. Errors quote the filename (Go-escaped) and say what is wrong.
func ParseFilename(filename string) (Filename, error) {
	if err := checkCharacters(filename); err != nil {
		return Filename{}, err
	}
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
	version, ok := normalizeFileVersion(parts[1])
	if !ok {
		return Filename{}, fmt.Errorf("%q: invalid wheel filename: %q is not a PEP 440 version", filename, parts[1])
	}
	if len(parts) == 6 && !buildTag.MatchString(parts[2]) {
		return Filename{}, fmt.Errorf("%q: invalid wheel filename: build tag %q must be a digit followed by letters, digits, '_' or '.' (PEP 427)", filename, parts[2])
	}
	tags := parts[len(parts)-3:]
	for i, t := range tags {
		kind := [...]string{"python", "abi", "platform"}[i]
		if t == "" {
			return Filename{}, fmt.Errorf("%q: invalid wheel filename: empty %s tag", filename, kind)
		}
		if !compatTag.MatchString(t) {
			return Filename{}, fmt.Errorf("%q: invalid wheel filename: %s tag %q may hold only letters, digits, '_' and '.' (PEP 427, PEP 491)", filename, kind, t)
		}
	}
	return Filename{Kind: Wheel, Name: name, Version: version, PythonTag: tags[0]}, nil
}

func parseSdist(filename string) (Filename, error) {
	// Exactly one archive suffix: "x-1.0+local.zip.tar.gz" is version
	// 1.0+local.zip, not 1.0+local.
	stem, ok := strings.CutSuffix(filename, ".tar.gz")
	if !ok {
		stem = strings.TrimSuffix(filename, ".zip")
	}
	i := strings.LastIndex(stem, "-")
	if i <= 0 {
		return Filename{}, fmt.Errorf("%q: invalid sdist filename: want name-version.tar.gz (PEP 625)", filename)
	}
	name, rawVersion := stem[:i], stem[i+1:]
	if !validName.MatchString(name) {
		return Filename{}, fmt.Errorf("%q: invalid sdist filename: bad project name %q", filename, name)
	}
	version, ok := normalizeFileVersion(rawVersion)
	if !ok {
		return Filename{}, fmt.Errorf("%q: invalid sdist filename: %q is not a PEP 440 version", filename, rawVersion)
	}
	return Filename{Kind: Sdist, Name: name, Version: version, PythonTag: "source"}, nil
}

// normalizeFileVersion is NormalizeVersion for the version part of a
// filename, which holds no white space (NormalizeVersion trims it) and only
// the characters of a version.
func normalizeFileVersion(v string) (string, bool) {
	if !versionChars.MatchString(v) {
		return "", false
	}
	return NormalizeVersion(v)
}

// checkCharacters refuses a filename holding a control character (C0, DEL,
// C1, or a line or paragraph separator), invalid UTF-8, or any other
// character that no part of a wheel or sdist filename allows: letters,
// digits and "-_.!+" only.
func checkCharacters(filename string) error {
	for i, r := range filename {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(filename[i:], "\uFFFD"):
			return fmt.Errorf("%q: refused: not valid UTF-8 at byte %d", filename, i)
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return fmt.Errorf("%q: refused: contains the control character %U at byte %d", filename, r, i)
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("-_.!+", r):
		default:
			return fmt.Errorf("%q: refused: contains %q at byte %d; a wheel or sdist filename holds only letters, digits and \"-_.!+\" (PEP 427, PEP 625)", filename, r, i)
		}
	}
	return nil
}
