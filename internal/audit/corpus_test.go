package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const corpusDir = fixtures + "/corpus"

// corpusEntry is one workflow of testdata/audit/corpus/manifest.json.
type corpusEntry struct {
	File       string `json:"file"`
	Repository string `json:"repository"`
	Path       string `json:"path"`
	Commit     string `json:"commit"`
}

// reviewed is a hand-reviewed finding of expected.json.
type reviewed struct {
	Rule string `json:"rule"`
	Job  string `json:"job"`
	Line int    `json:"line"`
}

// review is expected.json's verdict on one workflow.
type review struct {
	// Findings are the audit's findings that review judged right.
	Findings []reviewed `json:"findings"`
	// FalsePositives are the audit's findings that review judged wrong.
	FalsePositives []reviewed `json:"false_positives"`
	// Missed are problems review found that the audit does not report.
	Missed []reviewed `json:"missed"`
}

func loadCorpus(t *testing.T) ([]corpusEntry, map[string]review) {
	t.Helper()
	var man []corpusEntry
	data, err := os.ReadFile(filepath.Join(corpusDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &man); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	var exp struct {
		Workflows map[string]review `json:"workflows"`
	}
	data, err = os.ReadFile(filepath.Join(corpusDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		t.Fatalf("expected.json: %v", err)
	}
	if len(man) < 20 {
		t.Fatalf("the corpus has %d workflows, want at least 20", len(man))
	}
	return man, exp.Workflows
}

// TestCorpus audits real release workflows of well-known Python projects
// and compares the findings exactly with the hand review in expected.json
// (right findings plus recorded false positives). It logs precision and
// time per file.
func TestCorpus(t *testing.T) {
	man, exp := loadCorpus(t)
	var tp, fp, missed int
	var total time.Duration
	for _, e := range man {
		t.Run(e.File, func(t *testing.T) {
			if e.Repository == "" || e.Path == "" || len(e.Commit) != 40 {
				t.Errorf("manifest entry %+v lacks repository, path or commit", e)
			}
			rv, ok := exp[e.File]
			if !ok {
				t.Fatalf("%s has no hand review in expected.json", e.File)
			}
			start := time.Now()
			r, err := CheckFile(filepath.Join(corpusDir, e.File))
			d := time.Since(start)
			total += d
			if err != nil {
				t.Fatal(err)
			}
			if d > time.Second {
				t.Errorf("audit took %v", d)
			}
			got := []reviewed{}
			for _, f := range r.Findings {
				got = append(got, reviewed{f.Rule, f.Job, f.Line})
			}
			want := append(append([]reviewed{}, rv.Findings...), rv.FalsePositives...)
			sortReviewed(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("findings differ from the hand review:\n got  %v\n want %v\nall:\n%s", got, want, dump(r))
			}
			tp += len(rv.Findings)
			fp += len(rv.FalsePositives)
			missed += len(rv.Missed)
		})
	}
	if tp+fp > 0 {
		t.Logf("corpus: %d workflows, %d findings, %d false positives, precision %.1f%%, %d missed by the audit; %v per file on average",
			len(man), tp+fp, fp, 100*float64(tp)/float64(tp+fp), missed, total/time.Duration(len(man)))
	}
}

// sortReviewed orders findings as Check does: by line, rule, job.
func sortReviewed(fs []reviewed) {
	less := func(a, b reviewed) bool {
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Job < b.Job
	}
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && less(fs[j], fs[j-1]); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

func (r reviewed) String() string { return fmt.Sprintf("%s/%s@%d", r.Rule, r.Job, r.Line) }
