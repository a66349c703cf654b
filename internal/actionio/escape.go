package actionio

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The runner (actions/runner, ActionCommandManager) reads a step's stdout
// and stderr line by line, a line ending at "\n", "\r" or "\r\n", and takes
// as a workflow command every line that starts with "::" once leading white
// space is trimmed (::add-mask::, ::stop-commands::, ::error::, …), and
// every line that holds "##[" anywhere (the older ##[command]data form). A
// line carrying text the tool did not write itself (a filename, a claim, an
// index's or server's error text) must therefore never start with "::" nor
// hold "##[": one such line can pause command processing
// (::stop-commands::), after which ::add-mask:: of a secret is printed in
// clear and registers nothing, or forge annotations and outputs.
//
// Escape is the one escaping function for such text; TextWriter applies its
// line rule to everything written on stdout and stderr in action mode, so
// that no line can start a command even where a caller forgot to escape a
// value. Workflow commands themselves go to CommandWriter.

// Escape returns s as one line of plain text that the runner shows and never
// reads as a workflow command: '%' becomes %25, CR %0D and LF %0A (the
// runner's own escapes), every other control character, line or paragraph
// separator and invalid UTF-8 byte is percent-encoded too (%XX per byte),
// and then a leading "::" (after white space) and any "##[" are
// neutralised by percent-encoding their ':' or '['. Use it for every
// untrusted value printed in action mode.
func Escape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '%':
			b.WriteString("%25")
		case r == utf8.RuneError && size <= 1, isLineBreaking(r):
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return string(neutralise([]byte(b.String())))
}

// isLineBreaking reports whether r is a control character (C0, DEL, C1)
// or a Unicode line or paragraph separator: what Escape encodes.
func isLineBreaking(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// neutralise is Escape's line rule, for one line (no "\n" in it): a ':'
// that begins the line's first two non-blank characters "::" becomes %3A,
// and "##[" becomes "##%5B". Leading characters the runner might trim are
// skipped generously: any white space, control or other non-graphic
// character.
func neutralise(line []byte) []byte {
	start := 0
	for start < len(line) {
		r, size := utf8.DecodeRune(line[start:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsGraphic(r) {
			start += size
			continue
		}
		break
	}
	var out []byte
	if bytes.HasPrefix(line[start:], []byte("::")) {
		out = make([]byte, 0, len(line)+2)
		out = append(out, line[:start]...)
		out = append(out, "%3A"...)
		out = append(out, line[start+1:]...)
		line = out
	}
	if bytes.Contains(line, []byte("##[")) {
		line = bytes.ReplaceAll(line, []byte("##["), []byte("##%5B"))
	}
	return line
}

// maxPendingLine bounds the partial line a TextWriter holds back; a longer
// line is ended (with "\n") and passed on.
const maxPendingLine = 64 << 10

// stream is one of the step's output streams (stdout or stderr), shared by
// its TextWriter and its command writer.
type stream struct {
	mu      sync.Mutex
	w       io.Writer
	pending []byte // a partial text line, not yet written
	midLine bool   // a command was written without ending its line
}

// TextWriter is a step's stdout or stderr for text: every line written to
// it passes through Escape's line rule (a leading "::" and "##[" are
// neutralised, CR becomes %0D), so no line can start a workflow command.
// Complete lines are written through at once; a partial line is held until
// it ends, Flush is called, or a workflow command is written on the same
// stream. Text and commands never share a line. It is safe for concurrent
// use.
type TextWriter struct {
	s *stream
}

// NewTextWriter wraps w (the step's stdout or stderr). A w that is already
// a *TextWriter is returned as it is.
func NewTextWriter(w io.Writer) *TextWriter {
	if tw, ok := w.(*TextWriter); ok {
		return tw
	}
	return &TextWriter{s: &stream{w: w}}
}

// Write writes p's complete lines, escaped, and holds back a trailing
// partial line. It reports len(p) when everything was accepted.
func (t *TextWriter) Write(p []byte) (int, error) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []byte
	if s.midLine {
		out = append(out, '\n')
	}
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			s.pending = append(s.pending, rest...)
			if len(s.pending) > maxPendingLine {
				out = append(append(out, escapeTextLine(s.pending)...), '\n')
				s.pending = s.pending[:0]
			}
			break
		}
		s.pending = append(s.pending, rest[:i]...)
		out = append(append(out, escapeTextLine(s.pending)...), '\n')
		s.pending = s.pending[:0]
		rest = rest[i+1:]
	}
	if len(out) == 0 {
		return len(p), nil
	}
	s.midLine = false
	if _, err := s.w.Write(out); err != nil {
		return 0, fmt.Errorf("writing the step's output: %w", err)
	}
	return len(p), nil
}

// Flush writes a held-back partial line, escaped, and ends it.
func (t *TextWriter) Flush() error {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endLineLocked()
}

// endLineLocked writes the pending partial line and ends it, or ends a
// command's unfinished line, so that what follows starts a line of its
// own.
func (s *stream) endLineLocked() error {
	var out []byte
	switch {
	case len(s.pending) > 0:
		out = append(escapeTextLine(s.pending), '\n')
		s.pending = s.pending[:0]
	case s.midLine:
		out = []byte{'\n'}
	default:
		return nil
	}
	s.midLine = false
	if _, err := s.w.Write(out); err != nil {
		return fmt.Errorf("writing the step's output: %w", err)
	}
	return nil
}

// escapeTextLine applies the line rule to one line of the tool's own text,
// which may carry untrusted values: CR (a line break to the runner) becomes
// %0D, then neutralise. Other characters, '%' included, are left alone:
// the runner shows plain lines as they are.
func escapeTextLine(line []byte) []byte {
	if bytes.IndexByte(line, '\r') >= 0 {
		line = bytes.ReplaceAll(line, []byte("\r"), []byte("%0D"))
	}
	return neutralise(line)
}

// Commands returns the writer for workflow commands on the same stream:
// bytes go through unchanged, on a line of their own (a partial text line
// is written and ended first). Only code that builds well-formed commands
// (this package, with its escaping) writes to it.
func (t *TextWriter) Commands() io.Writer { return commandWriter{t.s} }

// commandWriter writes workflow commands verbatim on a stream.
type commandWriter struct{ s *stream }

func (c commandWriter) Write(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	if err := s.endLineLocked(); err != nil {
		return 0, err
	}
	n, err := s.w.Write(p)
	if n > 0 {
		s.midLine = p[n-1] != '\n'
	}
	return n, err
}

// CommandWriter returns where workflow commands for w go: the command
// writer of a *TextWriter, or w itself.
func CommandWriter(w io.Writer) io.Writer {
	if tw, ok := w.(*TextWriter); ok {
		return tw.Commands()
	}
	return w
}
