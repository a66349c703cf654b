package audit

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fixtures = "../../testdata/audit"

// want is a finding without its message: rule, job and line are asserted
// exactly, messages are checked for the advice separately.
type want struct {
	rule string
	job  string
	line int
}

func (w want) String() string { return fmt.Sprintf("%s/%s@%d", w.rule, w.job, w.line) }

func TestCheckFileFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []want
	}{
		{"good/release.yml", nil},
		{"good/self.yml", nil},
		{"good/packaging-guide.yml", nil},
		{"good/self-repository.yml", nil},
		{"good/reusable-only.yml", nil},
		{"good/oidc-actions.yml", nil},
		{"bad/pypi-publish-readme.yml", []want{
			{RuleUnpinnedAction, "pypi-publish", 24},
		}},
		{"bad/no-permissions.yml", []want{
			{RuleWorkflowWritePermissions, "", 3},
		}},
		{"bad/oidc-actions.yml", []want{
			{RuleIDTokenOutsidePublish, "build", 9},
			{RuleIDTokenOutsidePublish, "aws", 15},
			{RuleIDTokenOutsidePublish, "maturin", 23},
		}},
		{"bad/git-push.yml", []want{
			{RulePersistCredentials, "docs", 22},
			{RulePersistCredentials, "build", 29},
		}},
		{"bad/cache-release.yml", []want{
			{RuleCachePoisoning, "build", 14},
			{RuleCachePoisoning, "build", 15},
		}},
		{"bad/cache-publish-needs.yml", []want{
			{RuleCachePoisoning, "build", 18},
		}},
		{"bad/template-injection.yml", []want{
			{RuleTemplateInjection, "release", 17},
			{RuleTemplateInjection, "release", 19},
			{RuleTemplateInjection, "release", 20},
			{RuleTemplateInjection, "release", 23},
			{RuleTemplateInjection, "release", 23},
			{RuleTemplateInjection, "release", 26},
		}},
		{"bad/everything.yml", []want{
			{RuleRiskyTrigger, "", 3},
			{RuleRiskyTrigger, "", 5},
			{RuleWorkflowWritePermissions, "", 8},
			{RuleIDTokenOutsidePublish, "test", 14},
			{RulePersistCredentials, "test", 16},
			{RuleUnpinnedAction, "test", 16},
			{RuleUnpinnedAction, "test", 17},
			{RuleUnpinnedAction, "test", 18},
			{RuleUnpinnedAction, "test", 21},
			{RulePublishWithoutEnvironment, "upload", 22},
			{RulePersistCredentials, "upload", 28},
			{RulePublishWithoutEnvironment, "release", 32},
			{RuleUnpinnedAction, "release", 36},
			{RuleUnpinnedAction, "reuse", 38},
		}},
		{"bad/workflow-permissions.yml", []want{
			{RuleRiskyTrigger, "", 2},
			{RuleWorkflowWritePermissions, "", 4},
			{RuleIDTokenOutsidePublish, "", 5},
			{RuleWorkflowWritePermissions, "", 6},
		}},
		{"bad/anchors.yml", []want{
			{RuleRiskyTrigger, "", 2},
			{RulePersistCredentials, "one", 10},
			{RulePersistCredentials, "two", 10},
			{RuleIDTokenOutsidePublish, "two", 16},
			{RulePublishWithoutEnvironment, "three", 19},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(fixtures, tt.file)
			r, err := CheckFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if r.Path != path {
				t.Errorf("Path = %q, want %q", r.Path, path)
			}
			if r.Findings == nil {
				t.Error("Findings is nil, want an empty slice")
			}
			got := make([]want, 0, len(r.Findings))
			for _, f := range r.Findings {
				got = append(got, want{f.Rule, f.Job, f.Line})
				if f.Message == "" {
					t.Errorf("%v: empty message", f)
				}
			}
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("findings:\n got  %v\n want %v\nall:\n%s", got, tt.want, dump(r))
			}
		})
	}
}

// TestMessagesSayWhatToChange checks the advice of one finding per kind.
func TestMessagesSayWhatToChange(t *testing.T) {
	r, err := CheckFile(filepath.Join(fixtures, "bad/everything.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		line int
		rule string
		says []string
	}{
		{3, RuleRiskyTrigger, []string{"pull_request_target", "workflow_dispatch"}},
		{5, RuleRiskyTrigger, []string{"workflow_run", "untrusted"}},
		{8, RuleWorkflowWritePermissions, []string{"write-all", "permissions: {}", "contents: read"}},
		{14, RuleIDTokenOutsidePublish, []string{"job test", "id-token: write", "publishing job"}},
		{16, RuleUnpinnedAction, []string{`actions/checkout@v4 is pinned by "v4"`, "uses: actions/checkout@<40-hex commit SHA> # v4"}},
		{16, RulePersistCredentials, []string{"persist-credentials: false"}},
		{17, RuleUnpinnedAction, []string{"short commit SHA", "full 40-hex"}},
		{18, RuleUnpinnedAction, []string{"python:3.12", "docker://IMAGE@sha256:<digest>"}},
		{21, RuleUnpinnedAction, []string{"no @ref", "some-org/some-action@<40-hex commit SHA>"}},
		{22, RulePublishWithoutEnvironment, []string{"job upload publishes", "environment: pypi"}},
		{28, RulePersistCredentials, []string{"persist-credentials: true", "set it to false"}},
		{38, RuleUnpinnedAction, []string{"reusable workflow some-org/workflows/.github/workflows/release.yml@v2"}},
	} {
		f := find(r, tt.line, tt.rule)
		if f == nil {
			t.Errorf("no %s finding at line %d", tt.rule, tt.line)
			continue
		}
		for _, s := range tt.says {
			if !strings.Contains(f.Message, s) {
				t.Errorf("line %d %s: message %q does not say %q", tt.line, tt.rule, f.Message, s)
			}
		}
	}
	r, err = CheckFile(filepath.Join(fixtures, "bad/workflow-permissions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if f := find(r, 4, RuleWorkflowWritePermissions); f == nil || !strings.Contains(f.Message, "contents: write at workflow level") {
		t.Errorf("line 4: %v", f)
	}
	if f := find(r, 5, RuleIDTokenOutsidePublish); f == nil || !strings.Contains(f.Message, "publishing job") {
		t.Errorf("line 5: %v", f)
	}
	for _, tt := range []struct {
		file string
		line int
		rule string
		says []string
	}{
		{"bad/no-permissions.yml", 3, RuleWorkflowWritePermissions, []string{"no workflow-level permissions:"}},
		{"bad/git-push.yml", 22, RulePersistCredentials, []string{"job docs pushes with git", "persist-credentials: true", "$RUNNER_TEMP", "includeIf"}},
		{"bad/git-push.yml", 29, RulePersistCredentials, []string{"no step of the job pushes", "set it to false", ".git/config with actions/checkout v5 and older"}},
		{"bad/cache-release.yml", 14, RuleCachePoisoning, []string{"actions/setup-python with cache: pip", "turn the cache off"}},
		{"bad/template-injection.yml", 17, RuleTemplateInjection, []string{"${{ inputs.version }}", "dispatches the run", "env:", `"$VALUE"`}},
		{"bad/template-injection.yml", 23, RuleTemplateInjection, []string{"${{ github.head_ref }}", "no write access needed"}},
	} {
		r, err := CheckFile(filepath.Join(fixtures, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		f := find(r, tt.line, tt.rule)
		if f == nil {
			t.Errorf("%s: no %s finding at line %d", tt.file, tt.rule, tt.line)
			continue
		}
		for _, s := range tt.says {
			if !strings.Contains(f.Message, s) {
				t.Errorf("%s line %d %s: message %q does not say %q", tt.file, tt.line, tt.rule, f.Message, s)
			}
		}
	}
}

// TestCheckRules covers shapes of each rule in small inline workflows.
func TestCheckRules(t *testing.T) {
	const head = "on: workflow_dispatch\npermissions: {}\njobs:\n"
	tests := []struct {
		name string
		yaml string
		want []want
	}{
		{"read-all is fine", "on: push\npermissions: read-all\njobs:\n  a:\n    steps: [{run: make}]\n", nil},
		{"on as a list", "on: [push, pull_request_target]\npermissions: {}\njobs:\n  a:\n    steps: [{run: make}]\n",
			[]want{{RuleRiskyTrigger, "", 1}}},
		{"uppercase full SHA", head + "  a:\n    steps:\n      - uses: o/a@0123456789ABCDEF0123456789ABCDEF01234567\n", nil},
		{"41 hex is not a SHA", head + "  a:\n    steps:\n      - uses: o/a@0123456789abcdef0123456789abcdef012345678\n",
			[]want{{RuleUnpinnedAction, "a", 6}}},
		{"subdirectory action", head + "  a:\n    steps:\n      - uses: o/r/sub@v1\n", []want{{RuleUnpinnedAction, "a", 6}}},
		{"docker digest in uppercase is not a digest", head + "  a:\n    steps:\n      - uses: docker://alpine@sha256:" + strings.Repeat("A", 64) + "\n",
			[]want{{RuleUnpinnedAction, "a", 6}}},
		{"attest-publish sign mode may hold id-token", head + "  a:\n    permissions: {id-token: write}\n    steps:\n      - uses: ./\n        with: {mode: sign}\n", nil},
		{"attest-publish verify mode is not publishing", head + "  a:\n    permissions: {id-token: write}\n    steps:\n      - uses: ./\n        with: {mode: verify}\n",
			[]want{{RuleIDTokenOutsidePublish, "a", 5}}},
		{"attest-publish mode from an expression publishes", head + "  a:\n    steps:\n      - uses: ./\n        with: {mode: '${{ inputs.mode }}'}\n",
			[]want{{RulePublishWithoutEnvironment, "a", 4}}},
		{"twine upload publishes", head + "  a:\n    environment: {url: https://pypi.org}\n    steps:\n      - run: twine upload dist/*\n",
			[]want{{RulePublishWithoutEnvironment, "a", 4}}},
		{"attest-publish audit does not publish", head + "  a:\n    permissions:\n      id-token: write\n    steps:\n      - run: attest-publish audit .github/workflows/release.yml\n",
			[]want{{RuleIDTokenOutsidePublish, "a", 6}}},
		{"cosign signing may hold id-token", head + "  a:\n    permissions:\n      id-token: write\n    steps:\n      - run: cosign sign-blob --bundle x.sigstore.json x\n", nil},
		{"other owner's pypi-publish fork is not pypi-publish", head + "  a:\n    environment: pypi\n    permissions: {id-token: write}\n    steps:\n      - uses: evil/gh-action-pypi-publish@0123456789abcdef0123456789abcdef01234567\n",
			[]want{{RuleIDTokenOutsidePublish, "a", 6}}},
		{"merge keys", head + "  a:\n    <<: {permissions: {id-token: write}}\n    steps: [{run: make}]\n",
			[]want{{RuleIDTokenOutsidePublish, "a", 5}}},
		{"self-repository action with a ref is local", head + "  a:\n    steps:\n      - uses: $/.github/actions/x\n", nil},
		{"$/ root is this action", head + "  a:\n    steps:\n      - uses: $/\n        with: {mode: sign}\n", nil},
		{"github-script minting an OIDC token", head + "  a:\n    permissions: {id-token: write}\n    steps:\n      - uses: actions/github-script@0123456789abcdef0123456789abcdef01234567\n        with:\n          script: await core.getIDToken('sts')\n", nil},
		{"workflow_call among other triggers still needs permissions", "on: [push, workflow_call]\njobs:\n  a:\n    steps: [{run: make}]\n",
			[]want{{RuleWorkflowWritePermissions, "", 1}}},
		{"git push in a job with explicit persist-credentials", head + "  a:\n    steps:\n      - uses: actions/checkout@0123456789abcdef0123456789abcdef01234567\n        with: {persist-credentials: true}\n      - run: git push --tags\n", nil},
		{"release event makes every job a release job", "on: {release: {types: [published]}}\npermissions: {}\njobs:\n  a:\n    steps:\n      - uses: actions/setup-go@0123456789abcdef0123456789abcdef01234567\n",
			[]want{{RuleCachePoisoning, "a", 6}}},
		{"setup-go with cache: false", "on: {release: {types: [published]}}\npermissions: {}\njobs:\n  a:\n    steps:\n      - uses: actions/setup-go@0123456789abcdef0123456789abcdef01234567\n        with: {cache: false}\n", nil},
		{"cache outside release jobs", head + "  a:\n    steps:\n      - uses: actions/cache@0123456789abcdef0123456789abcdef01234567\n", nil},
		{"template in env: is fine", head + "  a:\n    steps:\n      - run: echo \"$T\"\n        env: {T: '${{ github.event.issue.title }}'}\n", nil},
		{"quoted string is not a context", head + "  a:\n    steps:\n      - run: echo ${{ format('github.head_ref {0}', github.sha) }}\n", nil},
		{"index syntax", head + "  a:\n    steps:\n      - run: echo ${{ github.event['pull_request']['title'] }}\n",
			[]want{{RuleTemplateInjection, "a", 6}}},
		{"persist-credentials from an expression", head + "  a:\n    steps:\n      - uses: actions/checkout@0123456789abcdef0123456789abcdef01234567\n        with:\n          persist-credentials: ${{ inputs.keep }}\n",
			[]want{{RulePersistCredentials, "a", 8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Check("inline.yml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got := []want{}
			for _, f := range r.Findings {
				got = append(got, want{f.Rule, f.Job, f.Line})
			}
			if tt.want == nil {
				tt.want = []want{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings:\n got  %v\n want %v\nall:\n%s", got, tt.want, dump(r))
			}
		})
	}
}

func TestCheckRefusesNonWorkflows(t *testing.T) {
	tests := []struct {
		file string
		says string
	}{
		{"invalid/not-yaml.yml", "invalid YAML"},
		{"invalid/list.yml", "top level must be a mapping"},
		{"invalid/no-jobs.yml", "no jobs: mapping"},
		{"invalid/empty.yml", "the file is empty"},
		{"invalid/missing.yml", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(fixtures, tt.file)
			r, err := CheckFile(path)
			if err == nil {
				t.Fatalf("no error; report %+v", r)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q should name %s and say %q", err, path, tt.says)
			}
		})
	}
	// A path that exists but cannot be read as a file names the file too.
	dir := t.TempDir()
	if _, err := CheckFile(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}
}

func TestAnnotation(t *testing.T) {
	f := Finding{Rule: RuleUnpinnedAction, Job: "build", Line: 12, Message: "50% of\nthe pins: fix, please"}
	for _, tt := range []struct {
		strict bool
		want   string
	}{
		{false, "::warning file=.github/workflows/a%2Cb.yml,line=12,title=attest-publish audit%3A unpinned-action (job build)::50%25 of%0Athe pins: fix, please"},
		{true, "::error file=.github/workflows/a%2Cb.yml,line=12,title=attest-publish audit%3A unpinned-action (job build)::50%25 of%0Athe pins: fix, please"},
	} {
		if got := Annotation(".github/workflows/a,b.yml", f, tt.strict); got != tt.want {
			t.Errorf("strict=%v:\n got  %s\n want %s", tt.strict, got, tt.want)
		}
	}
	r := &Report{Path: "w.yml", Findings: []Finding{{Rule: RuleRiskyTrigger, Line: 3, Message: "m"}}}
	if got := r.Annotations(false); len(got) != 1 || got[0] != "::warning file=w.yml,line=3,title=attest-publish audit%3A risky-trigger::m" {
		t.Errorf("Annotations = %q", got)
	}
}

func find(r *Report, line int, rule string) *Finding {
	for i, f := range r.Findings {
		if f.Line == line && f.Rule == rule {
			return &r.Findings[i]
		}
	}
	return nil
}

func dump(r *Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  %v\n", f)
	}
	return b.String()
}
