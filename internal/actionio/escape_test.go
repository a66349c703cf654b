package actionio

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/actionio/runnertest"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sample-1.0-py3-none-any.whl", "sample-1.0-py3-none-any.whl"},
		{"100%", "100%25"},
		{"%0A", "%250A"},
		{"a\nb", "a%0Ab"},
		{"a\r\n::stop-commands::x", "a%0D%0A::stop-commands::x"},
		{"::stop-commands::x", "%3A:stop-commands::x"},
		{"  ::add-mask::x", "  %3A:add-mask::x"},
		{"\u00a0\u3000::error::x", "\u00a0\u3000%3A:error::x"},
		{"\t::error::x", "%09::error::x"},
		{"x ##[add-mask]y", "x ##%5Badd-mask]y"},
		{"\x1b[31mred\x7f", "%1B[31mred%7F"},
		{"a\u2028b\u0085c", "a%E2%80%A8b%C2%85c"},
		{"\xff::x", "%FF::x"},
		{": :x", ": :x"},
		{"é::x", "é::x"},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if v := runnertest.Replay(Escape(tc.in) + "\n"); len(v.Commands) > 0 || len(v.Raw) != 1 {
			t.Errorf("Escape(%q) = %q: the runner reads %d line(s), commands %+v", tc.in, Escape(tc.in), len(v.Raw), v.Commands)
		}
	}
}

// TestTextWriter: whatever text is written, in whatever chunks, no line
// the runner reads from it is a workflow command, and commands written on
// the command writer stay commands, each on a line of its own.
func TestTextWriter(t *testing.T) {
	type write struct {
		cmd  bool // on the command writer
		text string
	}
	for _, tc := range []struct {
		name   string
		writes []write
		want   string
	}{
		{"plain lines", []write{{false, "a\nb 100%\n"}}, "a\nb 100%\n"},
		{"a leading ::", []write{{false, "ok\n::stop-commands::x\n  ::add-mask::y\n"}}, "ok\n%3A:stop-commands::x\n  %3A:add-mask::y\n"},
		{"##[ anywhere", []write{{false, "FAIL x: HTTP 403: ##[stop-commands]zz\n"}}, "FAIL x: HTTP 403: ##%5Bstop-commands]zz\n"},
		{"CR is a line break to the runner", []write{{false, "a\r::error::x\n"}}, "a%0D::error::x\n"},
		{"split across writes", []write{{false, "  :"}, {false, ":error::x\nx #"}, {false, "#[add-mask]y\n"}}, "  %3A:error::x\nx ##%5Badd-mask]y\n"},
		{"a command ends a partial line", []write{{false, "abc"}, {true, "::group::g\n"}, {false, "def\n"}}, "abc\n::group::g\ndef\n"},
		{"text never continues a command's line", []write{{true, "::endgroup::"}, {false, "::x::y\n"}}, "::endgroup::\n%3A:x::y\n"},
		{"commands pass unchanged", []write{{true, "::add-mask::s%25\n"}, {false, "s%\n"}}, "::add-mask::s%25\ns%\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			tw := NewTextWriter(&out)
			if NewTextWriter(tw) != tw || CommandWriter(tw) == io.Writer(tw) {
				t.Fatal("NewTextWriter or CommandWriter do not recognise a TextWriter")
			}
			var cmds int
			for _, w := range tc.writes {
				dst := io.Writer(tw)
				if w.cmd {
					dst, cmds = CommandWriter(tw), cmds+1
				}
				if n, err := io.WriteString(dst, w.text); err != nil || n != len(w.text) {
					t.Fatalf("write %q: %d, %v", w.text, n, err)
				}
			}
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("output %q, want %q", got, tc.want)
			}
			if v := runnertest.Replay(out.String()); len(v.Commands) != cmds {
				t.Errorf("the runner processed %d command(s), want %d: %+v", len(v.Commands), cmds, v.Commands)
			}
		})
	}
}

// TestMaskEscapesTheSecret: the runner unescapes ::add-mask::'s data, so the
// secret registered is the secret itself, whatever it holds; and it is
// registered before text on the same stream that would pause commands.
func TestMaskEscapesTheSecret(t *testing.T) {
	for _, secret := range []string{"pypi-AgEIcHlwaS5vcmc", "a%0Ab", "x%y", "c%25", "::stop-commands::z"} {
		var out strings.Builder
		tw := NewTextWriter(&out)
		fmt.Fprintf(tw, "::stop-commands::zz\n")
		a := New(Options{Getenv: func(string) string { return "" }, Out: tw})
		a.Mask(secret)
		fmt.Fprintf(tw, "the secret: %s\n", secret)
		v := runnertest.Replay(out.String())
		if len(v.Secrets) != 1 || v.Secrets[0] != secret {
			t.Errorf("secret %q: registered %q\n%s", secret, v.Secrets, out.String())
		}
		for _, l := range v.Log {
			if strings.Contains(l, secret) {
				t.Errorf("secret %q in clear in the log: %q", secret, l)
			}
		}
	}
}

// TestMaskMultiLineSecret registers a secret spanning lines whole, with its
// % and line breaks escaped as the runner unescapes them, and each line too.
func TestMaskMultiLineSecret(t *testing.T) {
	secret := "a%0Ab\r\nc%25"
	var out strings.Builder
	a := New(Options{Getenv: func(string) string { return "" }, Out: NewTextWriter(&out)})
	a.Mask(secret)
	if !strings.Contains(out.String(), "::add-mask::a%250Ab%0D%0Ac%2525\n") {
		t.Errorf("the whole secret is not registered escaped:\n%s", out.String())
	}
	v := runnertest.Replay(out.String())
	want := map[string]bool{secret: true, "a%0Ab": true, "c%25": true}
	for _, s := range v.Secrets {
		delete(want, s)
	}
	if len(want) != 0 {
		t.Errorf("not registered: %v (registered %q)", want, v.Secrets)
	}
}
