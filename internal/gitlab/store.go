package gitlab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// MaxFileSize bounds a file stored or compared: signature material is a few
// KiB, and GitLab's default generic package limit is far above this.
const MaxFileSize = 64 << 20

// State is where one file stands after Store.
type State string

// The states of a file; every file of a Store call ends in exactly one.
const (
	// Stored: this run uploaded it, and the registry acknowledged it.
	Stored State = "stored"
	// AlreadyStored: the registry already served the same bytes (same
	// SHA-256) under that name; nothing was uploaded.
	AlreadyStored State = "already stored"
	// NotStored: the registry does not have it; Reason says why.
	NotStored State = "not stored"
)

// File is one local file to store under a name.
type File struct {
	// Name is the file name in the package (a base name).
	Name string
	// Path is the local file.
	Path string
}

// StoredFile is one file's outcome.
type StoredFile struct {
	// Name is the file name in the package; URL where it is served.
	Name string `json:"name"`
	URL  string `json:"url"`
	// Path is the local file; SHA256 and Size its bytes' (empty when it
	// could not be read).
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size"`
	// State is the outcome; Reason why it is not stored; Note a remark
	// (an earlier attempt landed, other bytes were stored under the name).
	State  State  `json:"state"`
	Reason string `json:"reason,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Report lists every file of a Store call with its outcome, also after a
// failure halfway.
type Report struct {
	// PackageURL is the package's base URL.
	PackageURL string `json:"package_url"`
	// Files are in the order given.
	Files []*StoredFile `json:"files"`
}

// Complete reports whether every file is in the registry.
func (r *Report) Complete() bool {
	for _, f := range r.Files {
		if f.State == NotStored {
			return false
		}
	}
	return true
}

// Count returns how many files are in the registry (stored now or before).
func (r *Report) Count() int {
	n := 0
	for _, f := range r.Files {
		if f.State != NotStored {
			n++
		}
	}
	return n
}

// Lines is the report, one line per file: its state, name, digest and
// reason or note.
func (r *Report) Lines() []string {
	var out []string
	for _, f := range r.Files {
		label := map[State]string{Stored: "stored        ", AlreadyStored: "already stored", NotStored: "NOT STORED    "}[f.State]
		line := fmt.Sprintf("  %s  %s", label, f.Name)
		if f.SHA256 != "" && f.State != NotStored {
			line += " (sha256:" + f.SHA256 + ")"
		}
		switch {
		case f.State == NotStored:
			line += ": " + f.Reason
		case f.Note != "":
			line += ": " + f.Note
		}
		out = append(out, line)
	}
	return out
}

// StoreError is Store's error: the report says what is stored and what is
// not, and why.
type StoreError struct {
	// Report is every file's outcome.
	Report *Report
}

// Error is the whole report and how to finish.
func (e *StoreError) Error() string {
	r := e.Report
	return fmt.Sprintf("GitLab generic package %s: %d of %d file(s) in the registry, %d not stored:\n%s\nrerun to finish: files already stored with the same sha256 are skipped",
		r.PackageURL, r.Count(), len(r.Files), len(r.Files)-r.Count(), strings.Join(r.Lines(), "\n"))
}

// Store puts every file into the package, in order: a file the registry
// already serves with the same SHA-256 is skipped, any other is uploaded
// (retried while the registry fails transiently, checking before each
// retry whether the previous attempt landed). The first file that cannot be
// stored stops the run: the rest are reported as not attempted, and the
// error is a *StoreError naming every file's state. progress gets one line
// per file.
func (c *Client) Store(ctx context.Context, files []File, progress func(string)) (*Report, error) {
	if progress == nil {
		progress = func(string) {}
	}
	rep := &Report{PackageURL: c.pkg.String()}
	for _, f := range files {
		rep.Files = append(rep.Files, &StoredFile{Name: f.Name, Path: f.Path, URL: c.pkg.FileURL(f.Name)})
	}
	for i, f := range files {
		sf := rep.Files[i]
		c.storeOne(ctx, f, sf)
		line := fmt.Sprintf("%s %s", sf.State, sf.URL)
		switch {
		case sf.State == NotStored:
			line += ": " + sf.Reason
		case sf.Note != "":
			line += " (" + sf.Note + ")"
		}
		progress(line)
		if sf.State == NotStored {
			for _, rest := range rep.Files[i+1:] {
				rest.State, rest.Reason = NotStored, "not attempted: stopped after "+f.Name+" failed"
			}
			return rep, &StoreError{Report: rep}
		}
	}
	return rep, nil
}

// storeOne fills sf with f's outcome.
func (c *Client) storeOne(ctx context.Context, f File, sf *StoredFile) {
	fail := func(format string, a ...any) { sf.State, sf.Reason = NotStored, fmt.Sprintf(format, a...) }
	data, err := readBounded(f.Path)
	if err != nil {
		fail("reading %s: %v", f.Path, err)
		return
	}
	sum := sha256.Sum256(data)
	sf.SHA256, sf.Size = hex.EncodeToString(sum[:]), int64(len(data))
	same, other, err := c.holds(ctx, f.Name, sf.SHA256)
	switch {
	case err != nil:
		fail("checking whether it is already stored: %v", err)
		return
	case same:
		sf.State = AlreadyStored
		return
	case other:
		sf.Note = "the registry held other bytes under this name: GitLab keeps both and serves the newest, this one"
	}
	for n := 1; ; n++ {
		got, err := c.Upload(ctx, f.Name, data)
		if err == nil {
			if got != "" && got != sf.SHA256 {
				fail("the registry says it stored sha256:%s, not the file's sha256:%s", got, sf.SHA256)
				return
			}
			sf.State = Stored
			return
		}
		var se *StatusError
		isStatus := errors.As(err, &se)
		if isStatus {
			se.Attempts = n
		}
		transient := (isStatus && se.transient()) || (!isStatus && c.connWait(err) == 0 && ctx.Err() == nil)
		if !transient || n >= c.opts.Attempts {
			if !isStatus && n > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, n)
			}
			fail("%v", err)
			return
		}
		if serr := c.sleep(ctx, c.backoff(n)); serr != nil {
			fail("%v (retry cancelled: %v)", err, serr)
			return
		}
		// The failed PUT may have been stored all the same: look before
		// sending it again (a duplicate would be appended).
		if landed, _, herr := c.holds(ctx, f.Name, sf.SHA256); herr == nil && landed {
			sf.State, sf.Note = Stored, "an earlier attempt reached the registry"
			return
		}
	}
}

// holds reports whether the registry serves file with digest sha (same),
// or serves other bytes under that name (other).
func (c *Client) holds(ctx context.Context, file, sha string) (same, other bool, err error) {
	data, err := c.Download(ctx, file, MaxFileSize)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, false, nil
	case errors.Is(err, netguard.ErrResponseTooLarge):
		return false, true, nil
	case err != nil:
		return false, false, err
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) == sha {
		return true, false, nil
	}
	return false, true, nil
}

// readBounded reads a local file of at most MaxFileSize bytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", MaxFileSize>>20)
	}
	return data, nil
}
