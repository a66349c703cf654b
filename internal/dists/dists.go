package dists

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Dist is one distribution file of a release.
type Dist struct {
	// Path is the file's path as found (directory joined with Filename).
	Path string
	// Filename is the file's base name: the exact subject name of its
	// attestations.
	Filename string
	// Parsed holds what the filename says.
	Parsed Filename
	// Size is the file size in bytes when it was hashed.
	Size int64
	// SHA256 is the file's SHA-256 digest.
	SHA256 []byte
	// Blake2b256 is the file's BLAKE2b-256 digest (the upload form's
	// blake2_256_digest).
	Blake2b256 []byte
}

// SHA256Hex returns the SHA-256 digest as lowercase hex.
func (d *Dist) SHA256Hex() string { return hex.EncodeToString(d.SHA256) }

// Problems collects every reason a packages directory was refused, so that a
// user can fix them all in one go.
type Problems []string

func (p Problems) Error() string {
	if len(p) == 1 {
		return p[0]
	}
	return fmt.Sprintf("%d problems:\n  - %s", len(p), strings.Join(p, "\n  - "))
}

// Find lists the distributions directly in dir (not recursive), checks them
// and hashes each once. It refuses, before anything can be signed: a
// directory with no distributions; an entry that looks like a distribution but
// is not a regular file (a symlink, a directory, a device); a filename that is
// not a valid wheel or sdist name; and files whose project name or version
// disagree with the others.
func Find(dir string) ([]*Dist, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading packages directory: %w", err)
	}
	var found []*Dist
	var problems Problems
	for _, e := range entries {
		if !IsDistFilename(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		parsed, err := ParseFilename(e.Name())
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", DisplayPath(path), stripQuotedName(err, e.Name())))
			continue
		}
		if !e.Type().IsRegular() {
			problems = append(problems, fmt.Sprintf("%s: looks like a distribution but is not a regular file (%s); refusing to sign it", path, describeMode(e.Type())))
			continue
		}
		found = append(found, &Dist{Path: path, Filename: e.Name(), Parsed: parsed})
	}
	if len(problems) == 0 && len(found) == 0 {
		return nil, fmt.Errorf("no distributions (*.whl, *.tar.gz, *.zip) in %s: build them first (python -m build) or point --packages-dir at them", dir)
	}
	problems = append(problems, consistency(found)...)
	if len(problems) > 0 {
		return nil, problems
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Filename < found[j].Filename })
	if err := hashAll(found); err != nil {
		return nil, err
	}
	return found, nil
}

// consistency reports the dists whose project or version differ from the
// first one's.
func consistency(ds []*Dist) Problems {
	if len(ds) < 2 {
		return nil
	}
	sorted := append([]*Dist(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Filename < sorted[j].Filename })
	ref := sorted[0]
	var p Problems
	for _, d := range sorted[1:] {
		if d.Parsed.CanonicalName() != ref.Parsed.CanonicalName() {
			p = append(p, fmt.Sprintf("%s: project %q differs from %q in %s; one release at a time", d.Path, d.Parsed.CanonicalName(), ref.Parsed.CanonicalName(), ref.Filename))
		} else if !sameVersion(d.Parsed.Version, ref.Parsed.Version) {
			p = append(p, fmt.Sprintf("%s: version %s differs from %s in %s; one release at a time", d.Path, d.Parsed.Version, ref.Parsed.Version, ref.Filename))
		}
	}
	return p
}

func hashAll(ds []*Dist) error {
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = d.hash()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// hash streams the file once through SHA-256 and BLAKE2b-256. It opens the
// file and then checks that what it opened is the regular file it listed, so
// a file swapped for a symlink in between is refused.
func (d *Dist) hash() error {
	sum, b2, size, err := HashFile(d.Path)
	if err != nil {
		return err
	}
	d.SHA256, d.Blake2b256, d.Size = sum, b2, size
	return nil
}

// HashFile returns the SHA-256 and BLAKE2b-256 digests and the size of the
// regular file at path, reading it once in fixed-size chunks.
func HashFile(path string) (sha []byte, blake []byte, size int64, err error) {
	before, err := os.Lstat(path)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("hashing %s: %w", path, err)
	}
	if !before.Mode().IsRegular() {
		return nil, nil, 0, fmt.Errorf("hashing %s: not a regular file (%s)", path, describeMode(before.Mode().Type()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()
	after, err := f.Stat()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("hashing %s: %w", path, err)
	}
	if !os.SameFile(before, after) {
		return nil, nil, 0, fmt.Errorf("hashing %s: the file changed while it was being opened", path)
	}
	dg := NewDigester()
	// A buffer no larger than the file: batches hash thousands of small
	// dists, and 1 MiB each would be mostly garbage.
	buf := make([]byte, min(max(after.Size()+1, 512), 1<<20))
	if _, err := io.CopyBuffer(dg, f, buf); err != nil {
		return nil, nil, 0, fmt.Errorf("hashing %s: %w", path, err)
	}
	sha, blake, size = dg.Sums()
	return sha, blake, size, nil
}

func describeMode(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// DisplayPath returns path as it is when it is plain printable text, and
// Go-quoted (strconv.Quote) when it holds anything that is not: a control
// character, a quote or backslash, invalid UTF-8. Paths built from names
// that are not (yet) validated are printed with it.
func DisplayPath(path string) string {
	if q := strconv.Quote(path); q != `"`+path+`"` {
		return q
	}
	return path
}

// stripQuotedName drops the leading quoted filename from a ParseFilename
// error when the caller already names the path.
func stripQuotedName(err error, name string) string {
	return strings.TrimPrefix(err.Error(), fmt.Sprintf("%q: ", name))
}

// FormatSize renders a file size for people: bytes, KiB or MiB with one
// decimal.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
