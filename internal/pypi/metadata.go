package pypi

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// maxMetadataSize bounds the METADATA / PKG-INFO read from an archive, so a
// crafted archive cannot exhaust memory.
const maxMetadataSize = 16 << 20

// Metadata is a distribution's core metadata: RFC 822-style headers
// (possibly repeated) and the long description.
type Metadata struct {
	// Fields holds each header's values in file order, keyed by the
	// lowercased field name ("requires-dist").
	Fields map[string][]string
	// Description is the long description: the message body, or a legacy
	// Description header with its continuation indentation removed.
	Description string
	// Source names where the metadata was read from ("x.whl!x-1.dist-info/METADATA").
	Source string
}

// Get returns the first value of field (case-insensitive), or "".
func (m *Metadata) Get(field string) string {
	if v := m.Fields[strings.ToLower(field)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns every value of field (case-insensitive).
func (m *Metadata) Values(field string) []string {
	return m.Fields[strings.ToLower(field)]
}

// Has reports whether field is present.
func (m *Metadata) Has(field string) bool {
	_, ok := m.Fields[strings.ToLower(field)]
	return ok
}

// ParseMetadata parses core metadata: "Field: value" lines (continuation
// lines start with whitespace), an empty line, then the body, which is the
// long description.
func ParseMetadata(data []byte) (*Metadata, error) {
	m := &Metadata{Fields: map[string][]string{}}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), maxMetadataSize)
	var key string
	var headerDone bool
	var body strings.Builder
	lineNo := 0
	for sc.Scan() {
		line := sc.Text()
		lineNo++
		if headerDone {
			body.WriteString(line)
			body.WriteByte('\n')
			continue
		}
		if line == "" {
			headerDone = true
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if key == "" {
				return nil, fmt.Errorf("line %d: continuation line before any field", lineNo)
			}
			vals := m.Fields[key]
			vals[len(vals)-1] += "\n" + line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("line %d: not a \"Field: value\" header: %q", lineNo, truncate(line, 80))
		}
		key = strings.ToLower(name)
		m.Fields[key] = append(m.Fields[key], strings.TrimSpace(value))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading metadata: %w", err)
	}
	if len(m.Fields) == 0 {
		return nil, errors.New("no metadata fields")
	}
	if headerDone && strings.TrimSpace(body.String()) != "" {
		m.Description = body.String()
	} else if d := m.Get("description"); d != "" {
		m.Description = unfoldDescription(d)
	}
	return m, nil
}

// unfoldDescription undoes the legacy folding of a Description header: each
// continuation line is indented with 8 spaces or "       |".
func unfoldDescription(v string) string {
	lines := strings.Split(v, "\n")
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "       |"):
			lines[i] = l[len("       |"):]
		case strings.HasPrefix(l, "        "):
			lines[i] = l[8:]
		default:
			lines[i] = strings.TrimLeft(l, " \t")
		}
	}
	return strings.Join(lines, "\n")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ReadMetadata reads the core metadata of the distribution at path: a
// wheel's <name>-<version>.dist-info/METADATA, or an sdist's top-level
// <name>-<version>/PKG-INFO (.tar.gz or .zip).
func ReadMetadata(path string) (*Metadata, error) {
	name := filepath.Base(path)
	var (
		data   []byte
		member string
		err    error
	)
	switch {
	case strings.HasSuffix(name, ".whl"):
		data, member, err = fromZip(path, isWheelMetadata)
	case strings.HasSuffix(name, ".zip"):
		data, member, err = fromZip(path, isSdistPKGINFO)
	case strings.HasSuffix(name, ".tar.gz"):
		data, member, err = fromTarGz(path)
	default:
		return nil, fmt.Errorf("reading metadata of %s: not a wheel or sdist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s: %w", path, err)
	}
	m, err := ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s in %s: %w", member, path, err)
	}
	m.Source = name + "!" + member
	return m, nil
}

// isWheelMetadata matches <dir>.dist-info/METADATA at the archive root.
func isWheelMetadata(name string) bool {
	dir, file, ok := strings.Cut(name, "/")
	return ok && file == "METADATA" && strings.HasSuffix(dir, ".dist-info")
}

// isSdistPKGINFO matches <dir>/PKG-INFO, one level deep.
func isSdistPKGINFO(name string) bool {
	dir, file, ok := strings.Cut(strings.TrimPrefix(name, "./"), "/")
	return ok && dir != "" && file == "PKG-INFO"
}

func fromZip(path string, match func(string) bool) ([]byte, string, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, "", fmt.Errorf("opening zip archive: %w", err)
	}
	defer zr.Close()
	var found []*zip.File
	for _, f := range zr.File {
		if match(f.Name) {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return nil, "", errors.New("no metadata file in the archive (want <name>.dist-info/METADATA in a wheel, <name>-<version>/PKG-INFO in an sdist)")
	case 1:
	default:
		names := make([]string, len(found))
		for i, f := range found {
			names[i] = f.Name
		}
		return nil, "", fmt.Errorf("more than one metadata file in the archive: %s", strings.Join(names, ", "))
	}
	rc, err := found[0].Open()
	if err != nil {
		return nil, "", fmt.Errorf("opening %s: %w", found[0].Name, err)
	}
	defer rc.Close()
	data, err := readBounded(rc, found[0].Name)
	return data, found[0].Name, err
}

func fromTarGz(path string) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, "", fmt.Errorf("not a gzip file: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	var data []byte
	var member string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading tar archive: %w", err)
		}
		if !isSdistPKGINFO(h.Name) || h.Typeflag != tar.TypeReg {
			continue
		}
		if member != "" {
			return nil, "", fmt.Errorf("more than one metadata file in the archive: %s, %s", member, h.Name)
		}
		member = cleanMember(h.Name)
		if data, err = readBounded(tr, h.Name); err != nil {
			return nil, "", err
		}
	}
	if member == "" {
		return nil, "", errors.New("no <name>-<version>/PKG-INFO in the sdist")
	}
	return data, member, nil
}

func cleanMember(p string) string { return path.Clean(strings.TrimPrefix(p, "./")) }

func readBounded(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > maxMetadataSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", name, maxMetadataSize>>20)
	}
	return data, nil
}

// Report is the outcome of Check: errors make an upload pointless (the
// index would refuse it or the description would not render), warnings do
// not.
type Report struct {
	// Errors are problems that must be fixed.
	Errors []string
	// Warnings are worth fixing.
	Warnings []string
}

// knownMetadataVersions are the core metadata versions PyPI accepts.
var knownMetadataVersions = map[string]bool{
	"1.0": true, "1.1": true, "1.2": true, "2.0": true, "2.1": true,
	"2.2": true, "2.3": true, "2.4": true, "2.5": true,
}

// Check does what twine check does where Go can tell: the metadata parsed;
// Metadata-Version, Name and Version are present and valid; Name and
// Version match the filename; Name and Version are not dynamic; the
// description content type is one PyPI renders; and it warns when the long
// description or its content type is missing. Rendering reStructuredText or
// Markdown is not attempted.
func Check(m *Metadata, d *dists.Dist) Report {
	var r Report
	errf := func(format string, a ...any) { r.Errors = append(r.Errors, d.Filename+": "+fmt.Sprintf(format, a...)) }
	warnf := func(format string, a ...any) {
		r.Warnings = append(r.Warnings, d.Filename+": "+fmt.Sprintf(format, a...))
	}
	mv := m.Get("metadata-version")
	switch {
	case mv == "":
		errf("Metadata-Version is missing")
	case !knownMetadataVersions[mv]:
		errf("Metadata-Version %q is not a known core metadata version (1.0–2.5)", mv)
	}
	name, version := m.Get("name"), m.Get("version")
	if name == "" {
		errf("Name is missing")
	} else if dists.CanonicalizeName(name) != d.Parsed.CanonicalName() {
		errf("Name %q does not match the filename's project %q", name, d.Parsed.Name)
	}
	if version == "" {
		errf("Version is missing")
	} else if nv, ok := dists.NormalizeVersion(version); !ok {
		errf("Version %q is not a PEP 440 version", version)
	} else if nv != d.Parsed.Version {
		errf("Version %q does not match the filename's version %q", version, d.Parsed.Version)
	}
	for _, dyn := range m.Values("dynamic") {
		switch strings.ToLower(dyn) {
		case "name", "version", "metadata-version":
			errf("Dynamic lists %q, which core metadata forbids", dyn)
		}
	}
	dct := m.Get("description-content-type")
	if dct != "" {
		if problem := checkContentType(dct); problem != "" {
			errf("%s", problem)
		}
	}
	if strings.TrimSpace(m.Description) == "" {
		warnf("long description is missing (the project page will be empty); set readme in pyproject.toml")
	} else if dct == "" {
		warnf("Description-Content-Type is missing; PyPI renders the description as reStructuredText (text/x-rst). Set it, e.g. text/markdown")
	}
	return r
}

// checkContentType validates a Description-Content-Type the way PyPI does.
func checkContentType(v string) string {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return fmt.Sprintf("Description-Content-Type %q does not parse: %v", v, err)
	}
	switch mt {
	case "text/plain", "text/x-rst":
	case "text/markdown":
		if variant, ok := params["variant"]; ok && variant != "GFM" && variant != "CommonMark" {
			return fmt.Sprintf("Description-Content-Type %q: unknown Markdown variant %q (want GFM or CommonMark)", v, variant)
		}
	default:
		return fmt.Sprintf("Description-Content-Type %q: PyPI renders only text/plain, text/x-rst and text/markdown", v)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Sprintf("Description-Content-Type %q: the charset must be UTF-8", v)
	}
	return ""
}

// CheckDists reads and checks the metadata of every dist, as twine check
// does, and returns the warnings and one error listing every problem.
func CheckDists(ds []*dists.Dist) (warnings []string, err error) {
	var problems dists.Problems
	for _, d := range ds {
		m, err := ReadMetadata(d.Path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", d.Filename, err))
			continue
		}
		r := Check(m, d)
		problems = append(problems, r.Errors...)
		warnings = append(warnings, r.Warnings...)
	}
	if len(problems) > 0 {
		return warnings, fmt.Errorf("metadata check failed (turn it off with --verify-metadata=false): %w", problems)
	}
	return warnings, nil
}
