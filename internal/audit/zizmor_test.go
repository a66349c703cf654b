package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// zizmorVersion is the zizmor release the comparison is recorded against;
// `make zizmor-venv` installs it into .cache/zizmor-venv.
const zizmorVersion = "1.32.0"

// zizmorRules maps the zizmor audits that overlap ours to a comparison
// class.
var zizmorRules = map[string]string{
	"unpinned-uses":         "unpinned",
	"excessive-permissions": "permissions",
	"template-injection":    "template-injection",
	"cache-poisoning":       "cache-poisoning",
	"artipacked":            "persist-credentials",
}

// ourRules maps our rule ids to the same classes.
var ourRules = map[string]string{
	RuleUnpinnedAction:           "unpinned",
	RuleWorkflowWritePermissions: "permissions",
	RuleIDTokenOutsidePublish:    "permissions",
	RuleTemplateInjection:        "template-injection",
	RuleCachePoisoning:           "cache-poisoning",
	RulePersistCredentials:       "persist-credentials",
}

// zizmorPath finds zizmor: $ZIZMOR, else .cache/zizmor-venv/bin/zizmor at
// the module root.
func zizmorPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ZIZMOR"); p != "" {
		return p
	}
	p, err := filepath.Abs("../../.cache/zizmor-venv/bin/zizmor")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestZizmorAgreement runs zizmor (offline) beside the audit over the
// corpus and compares them on the rules both have. Where they differ the
// difference must be one recorded, with its reason, in
// corpus/zizmor-divergences.json; any other difference fails. zizmor must
// be installed (`make zizmor-venv`): the test fails, never skips, without
// it.
func TestZizmorAgreement(t *testing.T) {
	man, _ := loadCorpus(t)
	bin := zizmorPath(t)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("zizmor is not installed at %s (run `make zizmor-venv`, or set ZIZMOR): %v", bin, err)
	}
	if got := strings.TrimSpace(string(out)); got != "zizmor "+zizmorVersion {
		t.Fatalf("%s is %q, want zizmor %s (run `make zizmor-venv`)", bin, got, zizmorVersion)
	}
	args := []string{"--offline", "--no-config", "--format", "json", "--persona", "regular"}
	for _, e := range man {
		args = append(args, e.File)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = corpusDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// zizmor exits non-zero (10 + the highest severity) when it has findings.
	if err := cmd.Run(); err != nil && stdout.Len() == 0 {
		t.Fatalf("zizmor: %v\n%s", err, stderr.String())
	}
	theirs, err := zizmorKeys(stdout.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{}
	for _, e := range man {
		path := filepath.Join(corpusDir, e.File)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Check(e.File, data)
		if err != nil {
			t.Fatal(err)
		}
		steps, err := stepStarts(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range r.Findings {
			if class, ok := ourRules[f.Rule]; ok {
				ours[compareKey(e.File, class, f.Job, f.Line, steps)] = true
			}
		}
	}
	var div struct {
		OnlyOurs   map[string]string `json:"only_ours"`
		OnlyZizmor map[string]string `json:"only_zizmor"`
	}
	data, err := os.ReadFile(filepath.Join(corpusDir, "zizmor-divergences.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &div); err != nil {
		t.Fatalf("zizmor-divergences.json: %v", err)
	}
	both, onlyOurs, onlyTheirs := 0, 0, 0
	for k := range ours {
		if theirs[k] {
			both++
			continue
		}
		onlyOurs++
		if div.OnlyOurs[k] == "" {
			t.Errorf("only the audit reports %s (zizmor does not); fix it or record why in zizmor-divergences.json", k)
		}
	}
	for k := range theirs {
		if ours[k] {
			continue
		}
		onlyTheirs++
		if div.OnlyZizmor[k] == "" {
			t.Errorf("only zizmor reports %s; fix the audit or record why in zizmor-divergences.json", k)
		}
	}
	for k := range div.OnlyOurs {
		if !ours[k] || theirs[k] {
			t.Errorf("zizmor-divergences.json: %s is no longer reported by the audit alone; remove it", k)
		}
	}
	for k := range div.OnlyZizmor {
		if !theirs[k] || ours[k] {
			t.Errorf("zizmor-divergences.json: %s is no longer reported by zizmor alone; remove it", k)
		}
	}
	t.Logf("zizmor %s on %d workflows, overlapping rules: %d agreed, %d only ours, %d only zizmor", zizmorVersion, len(man), both, onlyOurs, onlyTheirs)
}

// compareKey is what the comparison matches on: the file and class, plus
// the line for pins and template injection, the job and step for
// checkout credentials and caches (the tools point at different lines of
// the step), and nothing more for permissions (zizmor reports per job
// what we report once per workflow).
func compareKey(file, class, job string, line int, steps map[string][]int) string {
	switch class {
	case "permissions":
		return file + " " + class
	case "persist-credentials", "cache-poisoning":
		idx := -1
		for i, start := range steps[job] {
			if start <= line {
				idx = i
			}
		}
		return fmt.Sprintf("%s %s job %s step %d", file, class, job, idx)
	}
	return fmt.Sprintf("%s %s line %d", file, class, line)
}

// stepStarts maps each job id to the first lines of its steps.
func stepStarts(data []byte) (map[string][]int, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	out := map[string][]int{}
	root := doc.Content[0]
	_, jobs := lookup(root, "jobs")
	for _, p := range pairs(jobs) {
		_, steps := lookup(p.value, "steps")
		if steps == nil {
			continue
		}
		for _, s := range steps.Content {
			out[p.key.Value] = append(out[p.key.Value], s.Line)
		}
	}
	return out, nil
}

// zizmorKeys turns zizmor's JSON findings on the overlapping audits into
// comparison keys.
func zizmorKeys(data []byte) (map[string]bool, error) {
	var findings []struct {
		Ident     string `json:"ident"`
		Locations []struct {
			Symbolic struct {
				Key struct {
					Local struct {
						Path string `json:"verbatim_path"`
					} `json:"Local"`
				} `json:"key"`
				Route struct {
					Route []map[string]any `json:"route"`
				} `json:"route"`
				Kind string `json:"kind"`
			} `json:"symbolic"`
			Concrete struct {
				Location struct {
					Start struct {
						Row int `json:"row"`
					} `json:"start_point"`
				} `json:"location"`
			} `json:"concrete"`
		} `json:"locations"`
	}
	if err := json.Unmarshal(data, &findings); err != nil {
		return nil, fmt.Errorf("zizmor's JSON: %w", err)
	}
	out := map[string]bool{}
	for _, f := range findings {
		class, ok := zizmorRules[f.Ident]
		if !ok {
			continue
		}
		for _, l := range f.Locations {
			if l.Symbolic.Kind != "Primary" {
				continue
			}
			file := l.Symbolic.Key.Local.Path
			line := l.Concrete.Location.Start.Row + 1
			route := l.Symbolic.Route.Route
			var job string
			step := -1
			if len(route) >= 2 && route[0]["Key"] == "jobs" {
				job, _ = route[1]["Key"].(string)
			}
			if len(route) >= 4 && route[2]["Key"] == "steps" {
				if i, ok := route[3]["Index"].(float64); ok {
					step = int(i)
				}
			}
			var key string
			switch class {
			case "permissions":
				key = file + " " + class
			case "persist-credentials", "cache-poisoning":
				key = fmt.Sprintf("%s %s job %s step %d", file, class, job, step)
			default:
				key = fmt.Sprintf("%s %s line %d", file, class, line)
			}
			out[key] = true
		}
	}
	return out, nil
}
