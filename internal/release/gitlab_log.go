package release

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// GitLab's job log is a terminal stream the web UI renders: ANSI escape
// sequences colour it, and a line holding
//
//	ESC[0Ksection_start:<unix time>:<name>[options]CR ESC[0K<header>
//
// (section_end likewise) opens or closes a collapsible section. Text that
// attest-publish did not write itself (a filename, a claim, an index's or
// server's message) must therefore never carry an escape character or a
// carriage return: with them it could open, close or rename sections,
// rewrite earlier text (cursor movement, erase line) or hide lines.
//
// GitLabLog is a job's log: its Text writer percent-encodes every control
// character but newline and tab (ESC becomes %1B, CR %0D), every Unicode
// line or paragraph separator and every invalid UTF-8 byte, so no text can
// form a section line or an escape sequence; only Section writes section
// lines, with names it builds itself.

// GitLabLog is one GitLab CI job log stream.
type GitLabLog struct {
	mu      sync.Mutex
	w       io.Writer
	partial []byte // an incomplete UTF-8 sequence held back
	midLine bool   // the last byte written was not a newline
	now     func() time.Time
}

// NewGitLabLog returns the log writing to w (the job's stdout); now stamps
// the section lines (nil: time.Now).
func NewGitLabLog(w io.Writer, now func() time.Time) *GitLabLog {
	if now == nil {
		now = time.Now
	}
	return &GitLabLog{w: w, now: now}
}

// Text returns the writer for text: escaped, never a section line.
func (l *GitLabLog) Text() io.Writer { return gitLabText{l} }

type gitLabText struct{ l *GitLabLog }

func (t gitLabText) Write(p []byte) (int, error) {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	data := append(l.partial, p...)
	l.partial = nil
	// Hold back an incomplete UTF-8 sequence at the end of data: the next
	// write may complete it.
	if n := incompleteTail(data); n > 0 {
		l.partial = append([]byte(nil), data[len(data)-n:]...)
		data = data[:len(data)-n]
	}
	if err := l.writeLocked(EscapeGitLab(string(data))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// incompleteTail returns the length of a UTF-8 sequence that data ends
// with and that more bytes could complete (0: none).
func incompleteTail(data []byte) int {
	for n := 1; n <= 3 && n <= len(data); n++ {
		c := data[len(data)-n]
		if c < 0x80 {
			return 0
		}
		if c >= 0xC0 { // a leading byte: is its sequence longer than n?
			need := 2
			switch {
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			}
			if need > n {
				return n
			}
			return 0
		}
	}
	return 0
}

// Flush writes a held-back partial UTF-8 sequence (escaped) and ends a
// partial line.
func (l *GitLabLog) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		s := EscapeGitLab(string(l.partial))
		l.partial = nil
		if err := l.writeLocked(s); err != nil {
			return err
		}
	}
	if l.midLine {
		return l.writeLocked("\n")
	}
	return nil
}

func (l *GitLabLog) writeLocked(s string) error {
	if s == "" {
		return nil
	}
	if _, err := io.WriteString(l.w, s); err != nil {
		return fmt.Errorf("writing the job log: %w", err)
	}
	l.midLine = s[len(s)-1] != '\n'
	return nil
}

// Section writes a section_start (start true) or section_end line for the
// section name (made of letters, digits, '_', '.' and '-': anything else
// becomes '_'), with header as the start line's visible title (escaped).
// A partial text line is ended first.
func (l *GitLabLog) Section(start bool, name, header string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.midLine {
		if err := l.writeLocked("\n"); err != nil {
			return err
		}
	}
	name = sectionName(name)
	ts := l.now().Unix()
	if start {
		return l.writeLocked(fmt.Sprintf("\x1b[0Ksection_start:%d:%s\r\x1b[0K\x1b[36;1m%s\x1b[0m\n", ts, name, EscapeGitLab(header)))
	}
	return l.writeLocked(fmt.Sprintf("\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", ts, name))
}

// sectionName keeps what GitLab accepts in a section name.
func sectionName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

// EscapeGitLab returns s with every character that could drive the job
// log's terminal rendering percent-encoded (%XX per byte): control
// characters other than newline and tab (ESC %1B, CR %0D, the C1 controls
// such as U+009B), Unicode line and paragraph separators, and invalid
// UTF-8 bytes. Newlines and tabs stay: the text keeps its
// lines, and none of them can hold a section line or an escape sequence.
func EscapeGitLab(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if gitLabUnsafe(r, size) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if gitLabUnsafe(r, size) {
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func gitLabUnsafe(r rune, size int) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r == utf8.RuneError && size <= 1:
		return true
	}
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
