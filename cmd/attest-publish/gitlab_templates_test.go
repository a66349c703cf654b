package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/attest-publish/attest-publish/internal/actionio"
)

// templateInput is one spec:inputs entry of a GitLab component template.
type templateInput struct {
	Description string    `yaml:"description"`
	Default     *string   `yaml:"default"`
	Type        string    `yaml:"type"`
	Options     []string  `yaml:"options"`
	Regex       string    `yaml:"regex"`
	Extra       yaml.Node `yaml:",inline"`
}

// templateJob is the one job of a template.
type templateJob struct {
	IDTokens  map[string]map[string]string `yaml:"id_tokens"`
	Variables map[string]yaml.Node         `yaml:"variables"`
	Script    []string                     `yaml:"script"`
	Artifacts struct {
		Reports map[string]string `yaml:"reports"`
	} `yaml:"artifacts"`
}

// templateOnly are inputs the job itself uses (not the binary).
var templateOnly = []string{"job-name", "stage", "run-if", "environment", "pypi-audience", "binary-url", "binary-auth"}

// readTemplate splits a template into its spec document (checked for
// GitLab's spec:inputs shape) and its job document.
func readTemplate(t *testing.T, name string) (map[string]templateInput, templateJob) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "templates", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var spec struct {
		Spec struct {
			Inputs map[string]templateInput `yaml:"inputs"`
		} `yaml:"spec"`
	}
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		t.Fatalf("%s: spec document: %v", name, err)
	}
	dec.KnownFields(false)
	var jobs map[string]templateJob
	if err := dec.Decode(&jobs); err != nil || len(jobs) != 1 {
		t.Fatalf("%s: jobs document: %v (%d jobs)", name, err, len(jobs))
	}
	for _, in := range spec.Spec.Inputs {
		if in.Extra.Kind != 0 {
			t.Errorf("%s: unknown input keys %v", name, in.Extra.Content)
		}
	}
	return spec.Spec.Inputs, jobs["$[[ inputs.job-name ]]"]
}

// TestGitLabTemplates: each template's spec is GitLab's input shape (a
// description, a default, string type, options holding the default, a
// compilable regex); every input reaches the binary as AP_INPUT_<NAME>
// (not expanded) or is the job's own; every option is accepted by the
// binary and a value outside them refused; id_tokens only where tokens
// are used; the job runs "<binary> gitlab" and exposes the dotenv report.
func TestGitLabTemplates(t *testing.T) {
	for _, tc := range []struct {
		file   string
		tokens []string
		fixed  map[string]string // variables set to a constant
	}{
		{file: "release.yml", tokens: []string{"PYPI_ID_TOKEN", "SIGSTORE_ID_TOKEN"}},
		{file: "verify.yml", fixed: map[string]string{"AP_INPUT_MODE": "verify"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			inputs, job := readTemplate(t, tc.file)
			for name, in := range inputs {
				if in.Description == "" || in.Default == nil || in.Type != "" && in.Type != "string" {
					t.Errorf("input %s: description %q, default %v, type %q (want a description, a default, strings only)", name, in.Description, in.Default, in.Type)
				}
				if len(in.Options) > 0 && in.Default != nil && !slices.Contains(in.Options, *in.Default) {
					t.Errorf("input %s: default %q is not one of its options %v", name, *in.Default, in.Options)
				}
				if in.Regex != "" {
					if re, err := regexp.Compile(in.Regex); err != nil || !re.MatchString(*in.Default) {
						t.Errorf("input %s: regex %q (%v) does not match its default", name, in.Regex, err)
					}
				}
				if slices.Contains(templateOnly, name) {
					continue
				}
				v := job.Variables[actionio.InputEnv(name)]
				var value struct {
					Value  string `yaml:"value"`
					Expand *bool  `yaml:"expand"`
				}
				ref := "$[[ inputs." + name + " ]]"
				switch {
				case v.Kind == yaml.ScalarNode:
					// Expanded: only inputs that say so (an identity naming
					// $CI_PROJECT_PATH, a path under $CI_PROJECT_DIR).
					if v.Value != ref || !strings.Contains(in.Description, "CI/CD variables are expanded") {
						t.Errorf("input %s: variable %s = %q is expanded, but its description does not say so", name, actionio.InputEnv(name), v.Value)
					}
				case v.Decode(&value) != nil || value.Value != ref || value.Expand == nil || *value.Expand:
					t.Errorf("input %s: variable %s is not {value: %s, expand: false}", name, actionio.InputEnv(name), ref)
				}
				checkOptions(t, name, in, tc.fixed)
			}
			for k, v := range job.Variables {
				name, ok := strings.CutPrefix(k, actionio.InputPrefix)
				if !ok {
					continue
				}
				name = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
				if _, declared := inputs[name]; !declared && tc.fixed[k] != v.Value {
					t.Errorf("variable %s maps no declared input", k)
				}
			}
			var tokens []string
			for k := range job.IDTokens {
				tokens = append(tokens, k)
			}
			slices.Sort(tokens)
			if !slices.Equal(tokens, tc.tokens) {
				t.Errorf("id_tokens %v, want %v", tokens, tc.tokens)
			}
			if len(job.Script) != 1 || !strings.Contains(job.Script[0], `"$bin" gitlab`) || job.Artifacts.Reports["dotenv"] != "attest-publish.env" {
				t.Errorf("the job does not run the checked binary in gitlab mode with its dotenv report")
			}
		})
	}
}

// checkOptions: the binary accepts every option of the input, and refuses
// a value outside them with a message naming the input.
func checkOptions(t *testing.T, name string, in templateInput, fixed map[string]string) {
	t.Helper()
	if len(in.Options) == 0 {
		return
	}
	env := map[string]string{}
	for k, v := range fixed {
		env[k] = v
	}
	for _, opt := range in.Options {
		env[actionio.InputEnv(name)] = opt
		if _, err := readGitLabInputs(mapEnv(env)); err != nil {
			t.Errorf("input %s: option %q refused by the binary: %v", name, opt, err)
		}
	}
	env[actionio.InputEnv(name)] = "not-an-option"
	if _, err := readGitLabInputs(mapEnv(env)); err == nil || !strings.Contains(err.Error(), "input "+name) {
		if name != "publisher-kind" { // checked by verify's policy, when the run starts
			t.Errorf("input %s: a value outside its options was not refused (%v)", name, err)
		}
	}
}

// pinLine is a template line pinning one binary's SHA-256.
var pinLine = regexp.MustCompile(`want=([0-9a-f]{64}) ;; # pin: dist/(attest-publish-linux-(amd64|arm64))\n`)

// TestGitLabTemplatePins: every template pins the linux amd64 and arm64
// binaries, with the SHA-256 dist/SHA256SUMS holds (scripts/dist.sh
// writes both whenever dist/ is rebuilt).
func TestGitLabTemplatePins(t *testing.T) {
	sums, err := os.ReadFile(filepath.Join("..", "..", "dist", "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			want[strings.TrimPrefix(f[1], "*")] = f[0]
		}
	}
	for _, file := range []string{"release.yml", "verify.yml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "templates", file))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, m := range pinLine.FindAllStringSubmatch(string(data), -1) {
			got[m[2]] = m[1]
		}
		for _, bin := range []string{"attest-publish-linux-amd64", "attest-publish-linux-arm64"} {
			if got[bin] == "" || got[bin] != want[bin] {
				t.Errorf("%s pins %s at sha256 %q, dist/SHA256SUMS says %q: run scripts/dist.sh (make dist)", file, bin, got[bin], want[bin])
			}
		}
	}
}

// TestTemplatePinsScript: scripts/template-pins.sh (what scripts/dist.sh
// runs) rewrites the pin lines, and with RELEASE_TAG the binary-url tag,
// and nothing else.
func TestTemplatePinsScript(t *testing.T) {
	dir := t.TempDir()
	orig, err := os.ReadFile(filepath.Join("..", "..", "templates", "release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl := filepath.Join(dir, "release.yml")
	if err := os.WriteFile(tpl, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	sums := filepath.Join(dir, "SHA256SUMS")
	if err := os.WriteFile(sums, []byte(a+"  attest-publish-linux-amd64\n"+b+"  attest-publish-linux-arm64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "template-pins.sh"), sums, tpl)
	cmd.Env = append(os.Environ(), "RELEASE_TAG=v9.8.7")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("template-pins.sh: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(tpl)
	want := string(orig)
	for _, m := range pinLine.FindAllStringSubmatch(want, -1) {
		sum := a
		if m[3] == "arm64" {
			sum = b
		}
		want = strings.Replace(want, m[0], strings.Replace(m[0], m[1], sum, 1), 1)
	}
	want = regexp.MustCompile(`/attest-publish/attest-publish/[^/]+/dist/`).ReplaceAllString(want, "/attest-publish/attest-publish/v9.8.7/dist/")
	if string(got) != want || !strings.Contains(want, "want="+b) || !strings.Contains(want, "/v9.8.7/dist/attest-publish-linux-{arch}") {
		t.Errorf("template-pins.sh changed more (or less) than the pins and the tag:\n%s", got)
	}
}
