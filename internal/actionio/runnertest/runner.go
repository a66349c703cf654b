// Package runnertest replays a step's output the way the GitHub Actions
// runner (actions/runner, ActionCommandManager and ActionCommand) processes
// it, for tests: lines end at "\n", "\r" or "\r\n"; a line whose text,
// once leading white space is trimmed, starts with "::" is a workflow
// command, and so is a line holding "##[" anywhere (the older form);
// ::stop-commands::TOKEN pauses processing until a ::TOKEN:: line;
// ::add-mask:: registers a secret that the log shows as ***.
package runnertest

import (
	"strings"
	"sync"
	"unicode"
)

// registered are the commands the runner knows (stop-commands plus its
// command extensions), compared case-insensitively.
var registered = []string{
	"stop-commands", "add-mask", "error", "warning", "notice", "debug", "group", "endgroup",
	"set-output", "set-env", "add-path", "save-state", "echo", "add-matcher", "remove-matcher",
}

// Command is one workflow command the runner processed.
type Command struct {
	// Name is the command, lower-cased.
	Name string
	// Properties are its key=value properties, unescaped.
	Properties map[string]string
	// Data is its data, unescaped.
	Data string
	// Line is the 1-based output line it came from.
	Line int
}

// View is what the runner made of a step's output.
type View struct {
	// Log is the job log: the lines that were not processed as commands,
	// with every registered secret replaced by ***.
	Log []string
	// Commands are the commands processed, in order (stop-commands and
	// the resume token included).
	Commands []Command
	// Secrets are the values ::add-mask:: registered.
	Secrets []string
	// Raw are the output lines as the runner split them.
	Raw []string
}

// Named returns the processed commands called name.
func (v *View) Named(name string) []Command {
	var out []Command
	for _, c := range v.Commands {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// Replay processes output (a step's stdout and stderr, interleaved as the
// runner received them) and returns what the runner made of it.
func Replay(output string) *View {
	v := &View{}
	known := map[string]bool{}
	for _, c := range registered {
		known[c] = true
	}
	stopToken := ""
	var shown []string
	for i, line := range splitLines(output) {
		v.Raw = append(v.Raw, line)
		cmd, ok := parseV2(line, known)
		if !ok {
			cmd, ok = parseV1(line, known)
		}
		if !ok {
			shown = append(shown, line)
			continue
		}
		cmd.Line = i + 1
		if stopToken != "" {
			if cmd.Name == stopToken {
				v.Commands = append(v.Commands, cmd)
				delete(known, stopToken)
				stopToken = ""
			}
			shown = append(shown, line)
			continue
		}
		switch cmd.Name {
		case "stop-commands":
			v.Commands = append(v.Commands, cmd)
			stopToken = strings.ToLower(cmd.Data)
			known[stopToken] = true
			shown = append(shown, line)
		case "add-mask":
			v.Commands = append(v.Commands, cmd)
			if strings.TrimSpace(cmd.Data) != "" {
				v.Secrets = append(v.Secrets, cmd.Data)
			}
		default:
			v.Commands = append(v.Commands, cmd)
		}
	}
	for _, l := range shown {
		for _, s := range v.Secrets {
			l = strings.ReplaceAll(l, s, "***")
		}
		v.Log = append(v.Log, l)
	}
	return v
}

// splitLines splits as .NET's StreamReader.ReadLine does.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return lines
}

func parseV2(line string, known map[string]bool) (Command, bool) {
	m := strings.TrimLeftFunc(line, unicode.IsSpace)
	if !strings.HasPrefix(m, "::") {
		return Command{}, false
	}
	end := strings.Index(m[2:], "::")
	if end < 0 {
		return Command{}, false
	}
	info := m[2 : 2+end]
	name, props, _ := strings.Cut(info, " ")
	name = strings.ToLower(name)
	if !known[name] {
		return Command{}, false
	}
	c := Command{Name: name, Properties: map[string]string{}, Data: unescape(m[2+end+2:], dataEscapes)}
	for _, p := range strings.Split(strings.TrimSpace(props), ",") {
		if k, val, ok := strings.Cut(p, "="); ok && k != "" && val != "" {
			c.Properties[k] = unescape(val, propertyEscapes)
		}
	}
	return c, true
}

func parseV1(line string, known map[string]bool) (Command, bool) {
	i := strings.Index(line, "##[")
	if i < 0 {
		return Command{}, false
	}
	rb := strings.IndexByte(line[i:], ']')
	if rb < 0 {
		return Command{}, false
	}
	info := line[i+3 : i+rb]
	name, props, _ := strings.Cut(info, " ")
	name = strings.ToLower(name)
	if !known[name] {
		return Command{}, false
	}
	c := Command{Name: name, Properties: map[string]string{}, Data: unescape(line[i+rb+1:], v1Escapes)}
	for _, p := range strings.Split(props, ";") {
		if k, val, ok := strings.Cut(p, "="); ok && k != "" && val != "" {
			c.Properties[k] = unescape(val, v1Escapes)
		}
	}
	return c, true
}

// The runner's unescaping tables, applied in this order.
var (
	dataEscapes     = []string{"\r", "%0D", "\n", "%0A", "%", "%25"}
	propertyEscapes = []string{"\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C", "%", "%25"}
	v1Escapes       = []string{";", "%3B", "\r", "%0D", "\n", "%0A", "]", "%5D", "%", "%25"}
)

func unescape(s string, table []string) string {
	for i := 0; i < len(table); i += 2 {
		s = strings.ReplaceAll(s, table[i+1], table[i])
	}
	return s
}

// Output is an io.Writer safe for concurrent use that collects a step's
// stdout and stderr in the order they were written, as the runner reads
// them.
type Output struct {
	mu  sync.Mutex
	buf strings.Builder
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// String returns everything written.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
