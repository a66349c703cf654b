// Command actionmeta reads a composite action's metadata (action.yml) and
// either checks the contract of its run steps or writes workflows that let
// actionlint judge the action from both sides (scripts/actionlint.sh):
//
//	actionmeta check ACTION.yml      every input mapped as AP_INPUT_<NAME>: ${{ inputs.<name> }},
//	                                 no nested uses:, a shell: on every run step
//	actionmeta caller ACTION.yml     a workflow calling `uses: ./` with every input and
//	                                 reading every output (actionlint checks both against
//	                                 the local action's metadata)
//	actionmeta script ACTION.yml     the run: script of the step with id "run" (bench/startup.sh)
//	actionmeta composite ACTION.yml  the composite steps wrapped into a workflow job,
//	                                 with the inputs declared as workflow_call inputs
//	                                 (actionlint does not lint action.yml's steps itself)
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: actionmeta check|caller|script|composite ACTION.yml")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "actionmeta: %s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
}

func run(cmd, path string, out io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	a, err := parse(data)
	if err != nil {
		return err
	}
	switch cmd {
	case "check":
		if err := a.check(); err != nil {
			return err
		}
		fmt.Fprintf(out, "actionmeta: %s: %d inputs, each mapped to its AP_INPUT_ env; %d step(s), no nested uses\n", path, len(a.Inputs), len(a.Steps))
		return nil
	case "caller":
		return a.caller(out)
	case "composite":
		return a.composite(out)
	case "script":
		for _, st := range a.Steps {
			if id := get(st, "id"); id != nil && id.Value == "run" {
				if r := get(st, "run"); r != nil {
					_, err := io.WriteString(out, r.Value)
					return err
				}
			}
		}
		return errors.New(`no step with id "run" and a run: script`)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// input is one declared input of the action.
type input struct {
	Name, Default string
}

// action is the part of action.yml the checks need.
type action struct {
	Using   string
	Inputs  []input
	Outputs []string
	// OutputValues are the outputs' value expressions, in order.
	OutputValues []string
	// Steps are runs.steps, kept as YAML nodes so they are re-emitted verbatim.
	Steps []*yaml.Node
}

// parse reads action.yml keeping the order of inputs and outputs.
func parse(data []byte) (*action, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	root := doc.Content[0]
	a := &action{}
	if in := get(root, "inputs"); in != nil {
		for i := 0; i+1 < len(in.Content); i += 2 {
			def := ""
			if d := get(in.Content[i+1], "default"); d != nil {
				def = d.Value
			}
			a.Inputs = append(a.Inputs, input{Name: in.Content[i].Value, Default: def})
		}
	}
	if o := get(root, "outputs"); o != nil {
		for i := 0; i+1 < len(o.Content); i += 2 {
			a.Outputs = append(a.Outputs, o.Content[i].Value)
			v := ""
			if val := get(o.Content[i+1], "value"); val != nil {
				v = val.Value
			}
			a.OutputValues = append(a.OutputValues, v)
		}
	}
	runs := get(root, "runs")
	if runs == nil {
		return nil, errors.New("no runs: section")
	}
	if u := get(runs, "using"); u != nil {
		a.Using = u.Value
	}
	if s := get(runs, "steps"); s != nil {
		a.Steps = s.Content
	}
	return a, nil
}

// get returns the value of key in mapping node m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// EnvName is the env variable an input must be mapped to: AP_INPUT_ plus the
// name upper-cased with '-' turned into '_'.
func EnvName(input string) string {
	return "AP_INPUT_" + strings.ToUpper(strings.ReplaceAll(input, "-", "_"))
}

// check enforces the action contract: a composite action without nested
// uses:, a shell: on every run step, and every input mapped into a run step's
// env as AP_INPUT_<NAME>: ${{ inputs.<name> }} (and no AP_INPUT_ without an input).
func (a *action) check() error {
	var problems []string
	if a.Using != "composite" {
		problems = append(problems, fmt.Sprintf("runs.using is %q, want composite", a.Using))
	}
	mapped := map[string]string{} // env name -> value, over all run steps
	for i, s := range a.Steps {
		label := fmt.Sprintf("step %d (line %d)", i+1, s.Line)
		if u := get(s, "uses"); u != nil {
			problems = append(problems, fmt.Sprintf("%s has uses: %s (no nested actions: a full-SHA pin must cover everything)", label, u.Value))
		}
		if get(s, "run") != nil && get(s, "shell") == nil {
			problems = append(problems, label+" has run: without shell: (composite steps need one)")
		}
		if env := get(s, "env"); env != nil && get(s, "run") != nil {
			for j := 0; j+1 < len(env.Content); j += 2 {
				mapped[env.Content[j].Value] = env.Content[j+1].Value
			}
		}
	}
	declared := map[string]bool{}
	for _, in := range a.Inputs {
		name := EnvName(in.Name)
		declared[name] = true
		want := "${{ inputs." + in.Name + " }}"
		got, ok := mapped[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("input %q is not mapped: add `%s: %s` to the run step's env", in.Name, name, want))
		case strings.Join(strings.Fields(got), " ") != want:
			problems = append(problems, fmt.Sprintf("input %q: %s is %q, want %q", in.Name, name, got, want))
		}
	}
	var extra []string
	for name := range mapped {
		if strings.HasPrefix(name, "AP_INPUT_") && !declared[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		problems = append(problems, fmt.Sprintf("env %s maps no declared input", name))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n  "))
	}
	return nil
}

// sampleValue is what the caller workflow passes for an input.
func sampleValue(in input) string {
	if in.Default != "" {
		return in.Default
	}
	return "example-" + in.Name
}

// caller writes a workflow job that uses the local action with every input
// and passes every output on through env (actionlint types outputs from the
// metadata, so a misspelt or missing output is an error).
func (a *action) caller(out io.Writer) error {
	var b bytes.Buffer
	b.WriteString("# Generated by test/acttest/cmd/actionmeta: every input and output of action.yml.\n")
	b.WriteString("name: every-input\non: workflow_dispatch\npermissions:\n  contents: read\njobs:\n  caller:\n")
	b.WriteString("    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n      id-token: write\n      attestations: write\n")
	b.WriteString("    environment: pypi\n    steps:\n      - id: ap\n        uses: ./\n        with:\n")
	for _, in := range a.Inputs {
		fmt.Fprintf(&b, "          %s: %s\n", in.Name, quote(sampleValue(in)))
	}
	if len(a.Outputs) > 0 {
		b.WriteString("      - name: outputs\n        shell: bash\n        env:\n")
		for _, o := range a.Outputs {
			fmt.Fprintf(&b, "          OUT_%s: ${{ steps.ap.outputs.%s }}\n", strings.ToUpper(strings.ReplaceAll(o, "-", "_")), o)
		}
		b.WriteString("        run: env | grep '^OUT_' | sort\n")
	}
	_, err := out.Write(b.Bytes())
	return err
}

// quote renders s as a YAML scalar (expressions stay usable).
func quote(s string) string {
	if strings.HasPrefix(s, "${{") {
		return s
	}
	q, _ := yaml.Marshal(s)
	return strings.TrimSpace(string(q))
}

// composite writes the action's steps as a workflow job. The inputs become
// workflow_call inputs (workflow_dispatch allows only 25) so `inputs.x` expressions are type-checked (an
// undeclared input is an error); github.action_path and runner.* exist in a
// job too, so the rest of the step is linted as it stands, shell included.
func (a *action) composite(out io.Writer) error {
	inputs := &yaml.Node{Kind: yaml.MappingNode}
	for _, in := range a.Inputs {
		inputs.Content = append(inputs.Content, scalar(in.Name), mapping("type", "string", "required", "false"))
	}
	steps := &yaml.Node{Kind: yaml.SequenceNode, Content: a.Steps}
	if len(a.Outputs) > 0 {
		// The outputs' value expressions, evaluated after the steps as in a
		// composite action: steps.<id>.outputs must name a step of the job.
		env := &yaml.Node{Kind: yaml.MappingNode}
		for i, o := range a.Outputs {
			env.Content = append(env.Content, scalar("OUTPUT_"+strings.ToUpper(strings.ReplaceAll(o, "-", "_"))), scalar(a.OutputValues[i]))
		}
		steps = &yaml.Node{Kind: yaml.SequenceNode, Content: append(append([]*yaml.Node{}, a.Steps...), &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			scalar("name"), scalar("action outputs"), scalar("shell"), scalar("bash"), scalar("env"), env, scalar("run"), scalar("env | grep '^OUTPUT_' | sort"),
		}})}
	}
	job := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		scalar("runs-on"), scalar("ubuntu-latest"),
		scalar("steps"), steps,
	}}
	wf := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		scalar("name"), scalar("composite-steps"),
		scalar("on"), &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			scalar("workflow_call"), &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("inputs"), inputs}},
		}},
		scalar("permissions"), mapping("contents", "read"),
		scalar("jobs"), &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("composite"), job}},
	}}
	fmt.Fprintln(out, "# Generated by test/acttest/cmd/actionmeta: action.yml's runs.steps as a workflow job.")
	enc := yaml.NewEncoder(out)
	enc.SetIndent(2)
	if err := enc.Encode(wf); err != nil {
		return err
	}
	return enc.Close()
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func mapping(kv ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, scalar(kv[i]), scalar(kv[i+1]))
	}
	return n
}
