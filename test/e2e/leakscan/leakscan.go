// Package leakscan looks for secrets where they must not be: in files, in
// recorded HTTP exchanges and in a step's output as the GitHub Actions
// runner shows it. It is a helper of the canary tests (test/e2e
// canary_test.go, test/acttest canary_test.go).
//
// Every secret is searched for in these forms: raw; base64 with the
// standard and the URL alphabet, padded and not; the part of its base64
// that is fixed whatever surrounds it, at each of the three byte alignments
// (so it is found inside a longer base64 text, such as a Basic
// Authorization header or an encoded JSON document); and URL-encoded
// (query and path escaping, when they differ from the raw value). A hit
// names the file (or label) and the byte offset, and describes the secret
// by name, form, length and a SHA-256 prefix: the value itself is never
// printed, and in the context shown around a hit every occurrence of any
// form of any secret is replaced by its description (an occurrence cut by
// the context's edge is taken in whole).
package leakscan

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/attest-publish/attest-publish/internal/actionio/runnertest"
)

// MinSecretLen is the shortest value New accepts: shorter ones would match
// by chance.
const MinSecretLen = 12

// DefaultMaxFileSize is how much of one file ScanDir reads by default.
const DefaultMaxFileSize = 256 << 20

// Secret is a value that must not leak, with a name for reports.
type Secret struct {
	Name, Value string
}

// Form is one encoding of a secret that is searched for.
type Form struct {
	Name, Value string
}

// Forms returns the encodings of value that are searched for, without
// duplicates (for a value of URL-safe characters the URL-encoded forms are
// the raw value, and are not listed again).
func Forms(value string) []Form {
	b := []byte(value)
	forms := []Form{
		{"raw", value},
		{"base64-std", base64.StdEncoding.EncodeToString(b)},
		{"base64-std-nopad", base64.RawStdEncoding.EncodeToString(b)},
		{"base64-url", base64.URLEncoding.EncodeToString(b)},
		{"base64-url-nopad", base64.RawURLEncoding.EncodeToString(b)},
	}
	for k := 0; k < 3; k++ {
		forms = append(forms,
			Form{fmt.Sprintf("base64-std-inside@%d", k), base64Core(base64.RawStdEncoding, b, k)},
			Form{fmt.Sprintf("base64-url-inside@%d", k), base64Core(base64.RawURLEncoding, b, k)})
	}
	forms = append(forms,
		Form{"url-query-escaped", url.QueryEscape(value)},
		Form{"url-path-escaped", url.PathEscape(value)})
	seen := map[string]bool{}
	var out []Form
	for _, f := range forms {
		if f.Value != "" && !seen[f.Value] {
			seen[f.Value] = true
			out = append(out, f)
		}
	}
	return out
}

// base64Core is the part of the base64 encoding of b that does not depend
// on what surrounds b, when b starts k bytes (mod 3) into the encoded text:
// the characters made only of b's bits.
func base64Core(enc *base64.Encoding, b []byte, k int) string {
	s := enc.EncodeToString(append(make([]byte, k), b...))
	first := (8*k + 5) / 6       // characters holding bits of the k bytes before b
	last := 8 * (k + len(b)) / 6 // characters made of whole known 6-bit groups
	if first >= last {
		return ""
	}
	return s[first:last]
}

// Hit is one occurrence of a secret.
type Hit struct {
	// Where is the file or the labelled place (with a line number for
	// output lines), Offset the byte offset of the match in it.
	Where  string
	Offset int64
	// Secret describes the secret (name, length, SHA-256 prefix); Form is
	// the encoding found.
	Secret, Form string
	// Context is the text around the match, every secret form replaced
	// by «name/form».
	Context string
	// name is the Secret's Name.
	name string
}

// SecretName is the Name of the secret found.
func (h Hit) SecretName() string { return h.name }

func (h Hit) String() string {
	return fmt.Sprintf("%s at byte %d: %s as %s, around %q", h.Where, h.Offset, h.Secret, h.Form, h.Context)
}

type pattern struct {
	secret int
	form   string
	value  []byte
}

// Scanner searches data for a fixed set of secrets in all their forms.
type Scanner struct {
	// MaxFileSize caps how much of one file ScanDir and ScanFile read.
	MaxFileSize int64

	secrets  []Secret
	desc     []string
	patterns []pattern
	maxLen   int
	// A first filter on the first four bytes of every pattern.
	filter   []uint64
	byPrefix map[uint32][]int
}

const filterBits = 20

// New returns a Scanner for secrets. It panics on a value shorter than
// MinSecretLen (a test mistake).
func New(secrets ...Secret) *Scanner {
	s := &Scanner{MaxFileSize: DefaultMaxFileSize, filter: make([]uint64, 1<<filterBits/64), byPrefix: map[uint32][]int{}}
	for i, sec := range secrets {
		if len(sec.Value) < MinSecretLen {
			panic(fmt.Sprintf("leakscan: secret %s is %d bytes, want at least %d", sec.Name, len(sec.Value), MinSecretLen))
		}
		sum := sha256.Sum256([]byte(sec.Value))
		s.secrets = append(s.secrets, sec)
		s.desc = append(s.desc, fmt.Sprintf("%s (%d bytes, sha256 %s…)", sec.Name, len(sec.Value), hex.EncodeToString(sum[:4])))
		for _, f := range Forms(sec.Value) {
			if len(f.Value) < 4 {
				continue
			}
			p := pattern{secret: i, form: f.Name, value: []byte(f.Value)}
			idx := len(s.patterns)
			s.patterns = append(s.patterns, p)
			pre := binary.LittleEndian.Uint32(p.value)
			s.byPrefix[pre] = append(s.byPrefix[pre], idx)
			h := hash4(pre)
			s.filter[h/64] |= 1 << (h % 64)
			s.maxLen = max(s.maxLen, len(p.value))
		}
	}
	return s
}

func hash4(x uint32) uint32 { return (x * 2654435761) >> (32 - filterBits) }

// Secrets returns the scanner's secrets.
func (s *Scanner) Secrets() []Secret { return s.secrets }

// Describe returns the redacted description of the secret called name.
func (s *Scanner) Describe(name string) string {
	for i, sec := range s.secrets {
		if sec.Name == name {
			return s.desc[i]
		}
	}
	return name
}

type match struct {
	off, end int
	pat      int
}

// matches finds every pattern in data; overlapping matches of one secret
// at one offset are reported once (the first form listed by Forms).
func (s *Scanner) matches(data []byte) []match {
	var out []match
	for i := 0; i+4 <= len(data); i++ {
		x := binary.LittleEndian.Uint32(data[i:])
		h := hash4(x)
		if s.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		first := len(out)
	candidates:
		for _, pi := range s.byPrefix[x] {
			p := s.patterns[pi]
			for _, m := range out[first:] {
				if s.patterns[m.pat].secret == p.secret {
					continue candidates
				}
			}
			if bytes.HasPrefix(data[i:], p.value) {
				out = append(out, match{off: i, end: i + len(p.value), pat: pi})
			}
		}
	}
	return out
}

// context returns data around [off,end) with every match replaced.
func (s *Scanner) context(data []byte, all []match, off, end int) string {
	const around = 32
	lo, hi := max(0, off-around), min(len(data), end+around)
	// A match cut by the window's edge is taken in whole (and replaced).
	for _, m := range all {
		if m.off < lo && m.end > lo {
			lo = m.off
		}
		if m.off < hi && m.end > hi {
			hi = m.end
		}
	}
	var b strings.Builder
	pos := lo
	for _, m := range all {
		if m.end <= lo || m.off >= hi || m.off < pos {
			continue
		}
		b.Write(data[pos:m.off])
		p := s.patterns[m.pat]
		fmt.Fprintf(&b, "«%s/%s»", s.secrets[p.secret].Name, p.form)
		pos = m.end
	}
	if pos < hi {
		b.Write(data[pos:hi])
	}
	return b.String()
}

func (s *Scanner) hits(where string, base int64, data []byte) []Hit {
	ms := s.matches(data)
	var out []Hit
	for _, m := range ms {
		p := s.patterns[m.pat]
		out = append(out, Hit{
			Where: where, Offset: base + int64(m.off),
			Secret: s.desc[p.secret], Form: p.form, name: s.secrets[p.secret].Name,
			Context: s.context(data, ms, m.off, m.end),
		})
	}
	return out
}

// ScanBytes returns the hits in data, labelled where.
func (s *Scanner) ScanBytes(where string, data []byte) []Hit {
	return s.hits(where, 0, data)
}

// ScanReader reads r up to limit bytes in chunks (overlapping by the
// longest form, so no match is split) and returns the hits, the bytes
// scanned and whether r had more than limit bytes.
func (s *Scanner) ScanReader(where string, r io.Reader, limit int64) ([]Hit, int64, bool, error) {
	const chunk = 4 << 20
	overlap := s.maxLen - 1
	buf := make([]byte, 0, chunk+overlap)
	lr := io.LimitReader(r, limit+1)
	var hits []Hit
	var base, total int64 // file offset of buf[0]; bytes read
	for {
		n, err := io.ReadFull(lr, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		total += int64(n)
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return hits, total, false, err
		}
		truncated := total > limit
		data := buf
		if truncated {
			data = buf[:len(buf)-int(total-limit)]
		}
		hits = append(hits, s.hits(where, base, data)...)
		if eof || truncated {
			return dedupe(hits), min(total, limit), truncated, nil
		}
		// Keep the last overlap bytes for matches spanning the boundary
		// (a match found twice is reported once, by dedupe).
		tail := min(len(buf), overlap)
		base += int64(len(buf) - tail)
		copy(buf, buf[len(buf)-tail:])
		buf = buf[:tail]
	}
}

// dedupe drops repeated (where, offset, secret) hits (from the chunk overlap).
func dedupe(hits []Hit) []Hit {
	type key struct {
		where  string
		off    int64
		secret string
	}
	seen := map[key]bool{}
	var out []Hit
	for _, h := range hits {
		k := key{h.Where, h.Offset, h.name}
		if !seen[k] {
			seen[k] = true
			out = append(out, h)
		}
	}
	return out
}

// Stats describes what ScanDir read.
type Stats struct {
	Files int
	Bytes int64
	// Truncated are files longer than MaxFileSize (only their start was read).
	Truncated []string
	// Skipped are the paths the skip function excluded.
	Skipped []string
}

func (st Stats) String() string {
	return fmt.Sprintf("%d files, %.1f MiB, %d truncated, %d skipped", st.Files, float64(st.Bytes)/(1<<20), len(st.Truncated), len(st.Skipped))
}

// ScanFile scans one regular file, up to MaxFileSize.
func (s *Scanner) ScanFile(path string) ([]Hit, int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, false, err
	}
	defer f.Close()
	return s.ScanReader(path, f, s.MaxFileSize)
}

// ScanDir scans every regular file below root (symbolic links are not
// followed; files that vanish during the walk are ignored). skip, when not
// nil, is asked about every path (files and directories) and excludes it.
func (s *Scanner) ScanDir(root string, skip func(path string, d fs.DirEntry) bool) ([]Hit, Stats, error) {
	var hits []Hit
	var st Stats
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if skip != nil && path != root && skip(path, d) {
			st.Skipped = append(st.Skipped, path)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		h, n, truncated, err := s.ScanFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		hits = append(hits, h...)
		st.Files++
		st.Bytes += n
		if truncated {
			st.Truncated = append(st.Truncated, path)
		}
		return nil
	})
	return hits, st, err
}

// RunnerOutput checks a step's output (stdout and stderr interleaved, as
// the runner received them) the way the GitHub Actions runner processes it
// (runnertest.Replay): a secret may appear in a raw line only if that line
// is an ::add-mask:: command the runner processed, and in no form in the job
// log it shows (View.Log, registered secrets replaced by ***). It returns
// the hits and the runner's view.
func (s *Scanner) RunnerOutput(where, output string) ([]Hit, *runnertest.View) {
	v := runnertest.Replay(output)
	masks := map[int]bool{}
	for _, c := range v.Named("add-mask") {
		masks[c.Line] = true
	}
	var hits []Hit
	for i, line := range v.Raw {
		if !masks[i+1] {
			hits = append(hits, s.ScanBytes(fmt.Sprintf("%s: output line %d", where, i+1), []byte(line))...)
		}
	}
	for i, line := range v.Log {
		hits = append(hits, s.ScanBytes(fmt.Sprintf("%s: job log line %d", where, i+1), []byte(line))...)
	}
	return hits, v
}

// Masked reports which of the scanner's secrets (by name) v registered
// with ::add-mask::.
func (s *Scanner) Masked(v *runnertest.View) map[string]bool {
	out := map[string]bool{}
	for _, sec := range s.secrets {
		for _, m := range v.Secrets {
			if m == sec.Value {
				out[sec.Name] = true
			}
		}
	}
	return out
}

// Sort orders hits by place and offset.
func Sort(hits []Hit) {
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].Where != hits[j].Where {
			return hits[i].Where < hits[j].Where
		}
		return hits[i].Offset < hits[j].Offset
	})
}
