// Package actionio is attest-publish's side of the GitHub Actions runner
// protocol when it runs as the composite action: inputs (read from the
// AP_INPUT_* variables action.yml maps explicitly), outputs
// ($GITHUB_OUTPUT), log groups, annotations, secret masking and the job
// summary ($GITHUB_STEP_SUMMARY).
//
// It wraps github.com/sethvargo/go-githubactions, whose file commands
// (SetOutput, AddStepSummary, SetEnv, AddPath, SaveState) panic when their
// $GITHUB_* file variable is unset or the file cannot be opened, and whose
// stdout commands (AddMask, Group, Errorf, …) panic when stdout cannot be
// written; Fatalf exits the process. Every call here returns an error, or
// drops the command, instead.
package actionio

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// InputPrefix is the prefix of the variables action.yml maps every input
// to. It differs from the runner's INPUT_ so that act's automatic INPUT_*
// (which GitHub does not set for composite steps) cannot hide a missing
// mapping.
const InputPrefix = "AP_INPUT_"

// fileCommandDelimiter is the fixed heredoc delimiter go-githubactions
// writes file commands with; a value containing it could forge outputs.
const fileCommandDelimiter = "_GitHubActionsFileCommandDelimeter_"

// ErrNoOutputFile is returned by SetOutput outside a runner step
// ($GITHUB_OUTPUT unset).
var ErrNoOutputFile = errors.New("GITHUB_OUTPUT is not set: not running as a GitHub Actions step, outputs are not written")

// ErrNoSummaryFile is returned by AddSummary when $GITHUB_STEP_SUMMARY is
// unset.
var ErrNoSummaryFile = errors.New("GITHUB_STEP_SUMMARY is not set: not running as a GitHub Actions step, no job summary is written")

// Options configure an Action.
type Options struct {
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	// Out receives workflow commands (default os.Stdout): the runner reads
	// them from the step's stdout. When it is a *TextWriter, commands go to
	// its command writer (CommandWriter), on lines of their own.
	Out io.Writer
}

// Action reads inputs and writes workflow commands for one step.
type Action struct {
	gha    *githubactions.Action
	getenv func(string) string
}

// New returns an Action reading inputs from AP_INPUT_<NAME>.
func New(opts Options) *Action {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	out = CommandWriter(out)
	remap := func(key string) string {
		if name, ok := strings.CutPrefix(key, "INPUT_"); ok {
			return getenv(InputEnv(name))
		}
		return getenv(key)
	}
	return &Action{
		gha:    githubactions.New(githubactions.WithGetenv(remap), githubactions.WithWriter(out)),
		getenv: getenv,
	}
}

// InputEnv returns the variable action.yml maps input name to:
// AP_INPUT_ + name upper-cased with '-' and ' ' turned into '_'.
func InputEnv(name string) string {
	return InputPrefix + strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(name))
}

// Getenv reads the environment the Action was made with.
func (a *Action) Getenv(key string) string { return a.getenv(key) }

// Input returns input name, trimmed of surrounding white space ("" when
// unset).
func (a *Action) Input(name string) string { return a.gha.GetInput(name) }

// Bool reads a boolean input strictly, as @actions/core's getBooleanInput
// does: true, True, TRUE, false, False or FALSE; empty gives def.
func (a *Action) Bool(name string, def bool) (bool, error) {
	switch v := a.Input(name); v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	default:
		return false, fmt.Errorf("input %s must be true or false, got %q", name, v)
	}
}

// OneOf reads an input that must be one of allowed; empty gives allowed[0].
func (a *Action) OneOf(name string, allowed ...string) (string, error) {
	v := a.Input(name)
	if v == "" {
		return allowed[0], nil
	}
	for _, ok := range allowed {
		if v == ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("input %s must be one of %s, got %q", name, strings.Join(allowed, ", "), v)
}

// Lines reads a newline-separated list input: lines trimmed, empty lines
// dropped.
func (a *Action) Lines(name string) []string {
	var out []string
	for _, l := range strings.Split(a.Input(name), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Mask tells the runner to replace secret with *** in the log from now on,
// each line of a multi-line secret as well. Call it before anything could
// print the secret.
func (a *Action) Mask(secret string) {
	if strings.TrimSpace(secret) == "" {
		return
	}
	a.guard(func() { a.gha.AddMask(secret) })
	if strings.ContainsAny(secret, "\r\n") {
		for _, l := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if strings.TrimSpace(l) != "" {
				a.guard(func() { a.gha.AddMask(l) })
			}
		}
	}
}

// SetOutput appends name=value to $GITHUB_OUTPUT.
func (a *Action) SetOutput(name, value string) error {
	if a.getenv("GITHUB_OUTPUT") == "" {
		return ErrNoOutputFile
	}
	if strings.Contains(value, fileCommandDelimiter) || strings.Contains(name, fileCommandDelimiter) {
		return fmt.Errorf("output %s: value contains the file command delimiter", name)
	}
	return a.guard(func() { a.gha.SetOutput(name, value) })
}

// SetOutputJSON sets output name to v encoded as compact JSON.
func (a *Action) SetOutputJSON(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("output %s: %w", name, err)
	}
	return a.SetOutput(name, string(data))
}

// Group starts a collapsible log group; EndGroup ends it.
func (a *Action) Group(title string) { a.guard(func() { a.gha.Group(title) }) }

// EndGroup ends the current log group.
func (a *Action) EndGroup() { a.guard(func() { a.gha.EndGroup() }) }

// Annotation is a message attached to a file (and line) in the run's
// summary and in pull request diffs.
type Annotation struct {
	// File is the path, relative to the repository root (see RelPath);
	// empty for a message about the run as a whole.
	File string
	// Line is the 1-based line (0: the whole file).
	Line int
	// Title is a short heading.
	Title string
	// Message is the text.
	Message string
}

func (n Annotation) fields() map[string]string {
	m := map[string]string{}
	if n.File != "" {
		m["file"] = n.File
	}
	if n.Line > 0 {
		m["line"] = strconv.Itoa(n.Line)
	}
	if n.Title != "" {
		m["title"] = n.Title
	}
	return m
}

// Error writes an ::error:: annotation.
func (a *Action) Error(n Annotation) {
	a.guard(func() { a.gha.WithFieldsMap(n.fields()).Errorf("%s", n.Message) })
}

// Warning writes a ::warning:: annotation.
func (a *Action) Warning(n Annotation) {
	a.guard(func() { a.gha.WithFieldsMap(n.fields()).Warningf("%s", n.Message) })
}

// Notice writes a ::notice:: annotation.
func (a *Action) Notice(n Annotation) {
	a.guard(func() { a.gha.WithFieldsMap(n.fields()).Noticef("%s", n.Message) })
}

// RelPath returns path relative to $GITHUB_WORKSPACE, with forward
// slashes, as annotations need it; a path outside the workspace is
// returned cleaned but otherwise unchanged.
func (a *Action) RelPath(path string) string {
	ws := a.getenv("GITHUB_WORKSPACE")
	abs, err := filepath.Abs(path)
	if ws == "" || err != nil {
		return filepath.ToSlash(filepath.Clean(path))
	}
	if wsAbs, err := filepath.Abs(ws); err == nil {
		if rel, err := filepath.Rel(wsAbs, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}

// AddSummary appends markdown to the job summary ($GITHUB_STEP_SUMMARY).
func (a *Action) AddSummary(markdown string) error {
	if a.getenv("GITHUB_STEP_SUMMARY") == "" {
		return ErrNoSummaryFile
	}
	return a.guard(func() { a.gha.AddStepSummary(markdown) })
}

// RepositoryVisibility reads repository.visibility ("public", "private",
// "internal") from the event payload at $GITHUB_EVENT_PATH; "" when the
// payload does not say.
func (a *Action) RepositoryVisibility() (string, error) {
	path := a.getenv("GITHUB_EVENT_PATH")
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the event payload: %w", err)
	}
	var ev struct {
		Repository struct {
			Visibility string `json:"visibility"`
			Private    *bool  `json:"private"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return "", fmt.Errorf("reading the event payload %s: %w", path, err)
	}
	if v := ev.Repository.Visibility; v != "" {
		return v, nil
	}
	if p := ev.Repository.Private; p != nil {
		if *p {
			return "private", nil
		}
		return "public", nil
	}
	return "", nil
}

// guard runs fn, turning a go-githubactions panic into an error.
func (a *Action) guard(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = fmt.Errorf("workflow command: %w", e)
			} else {
				err = fmt.Errorf("workflow command: %v", r)
			}
		}
	}()
	fn()
	return nil
}
