package audit

import (
	"bytes"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// FuzzCheck feeds arbitrary bytes to Check, the audit's entry point for a
// workflow file (CheckFile reads the file and calls it). Errors are fine;
// panics are not, and an accepted workflow must give a well-formed report:
// rule ids shaped like ids, lines inside the file, findings in the documented order,
// the same report on a second run, one-line annotations. Seeds are in
// testdata/fuzz/FuzzCheck/ (the workflow fixtures of testdata/audit and
// this repository's own .github/workflows). Run with
//
//	go test ./internal/audit -run '^$' -fuzz '^FuzzCheck$' -fuzztime 60s
//
// or every target with `make fuzz`.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("on: push\njobs: {}\n"))
	f.Add([]byte("on: pull_request_target\npermissions: write-all\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"))
	// Rule ids are kebab-case words (the Rule* constants); the set grows,
	// so the shape is checked rather than a list.
	ruleID := regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = ".github/workflows/fuzz.yml"
		start := time.Now()
		r, err := Check(name, data)
		// Workflows are small and the audit reads one file: a few KiB of
		// YAML taking seconds means work that grows faster than the input
		// (alias or merge-key expansion).
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Check took %v on %d bytes", d, len(data))
		}
		if err != nil {
			if r != nil {
				t.Fatal("Check returned a report and an error")
			}
			if !strings.HasPrefix(err.Error(), name+": ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if r == nil {
			t.Fatal("Check returned neither a report nor an error")
		}
		if r.Path != name {
			t.Fatalf("report path %q, want %q", r.Path, name)
		}
		if r.Findings == nil {
			t.Fatal("Findings is nil (documented: empty, never nil)")
		}
		lines := 1 + lineBreaks(data)
		for _, fd := range r.Findings {
			if !ruleID.MatchString(fd.Rule) {
				t.Fatalf("rule id %q is not a kebab-case id", fd.Rule)
			}
			if fd.Line < 1 || fd.Line > lines {
				t.Fatalf("finding %v: line outside the file's %d lines", fd, lines)
			}
			if fd.Message == "" {
				t.Fatalf("finding %v without a message", fd)
			}
		}
		if !sort.SliceIsSorted(r.Findings, func(i, j int) bool {
			a, b := r.Findings[i], r.Findings[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			if a.Rule != b.Rule {
				return a.Rule < b.Rule
			}
			return a.Job < b.Job
		}) {
			t.Fatalf("findings not ordered by line, rule, job: %v", r.Findings)
		}
		again, err := Check(name, data)
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("second Check differs: %v, %v", again, err)
		}
		for _, strict := range []bool{false, true} {
			anns := r.Annotations(strict)
			if len(anns) != len(r.Findings) {
				t.Fatalf("%d annotations for %d findings", len(anns), len(r.Findings))
			}
			prefix := "::warning "
			if strict {
				prefix = "::error "
			}
			for _, a := range anns {
				if !strings.HasPrefix(a, prefix) || strings.ContainsAny(a, "\r\n") {
					t.Fatalf("annotation is not one %q workflow command: %q", prefix, a)
				}
			}
		}
	})
}

// lineBreaks counts what YAML may treat as a line break: \n, \r (alone or
// in \r\n, counted once), NEL, LS and PS.
func lineBreaks(data []byte) int {
	n := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n"))
	for _, s := range []string{"\u0085", "\u2028", "\u2029"} {
		n += bytes.Count(data, []byte(s))
	}
	return n
}
