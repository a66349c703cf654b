package audit

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// auditWithin runs CheckFile (or Check, when data is not nil) in a
// goroutine and fails the test if it takes longer than limit, so that a
// regression hangs no longer than the limit.
func auditWithin(t *testing.T, limit time.Duration, path string, data []byte) (*Report, error) {
	t.Helper()
	type result struct {
		r   *Report
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		var res result
		if data == nil {
			res.r, res.err = CheckFile(path)
		} else {
			res.r, res.err = Check(path, data)
		}
		done <- res
	}()
	select {
	case res := <-done:
		if d := time.Since(start); d > limit {
			t.Errorf("audit took %v, want < %v", d, limit)
		}
		return res.r, res.err
	case <-time.After(limit):
		t.Fatalf("audit of %s did not finish within %v", path, limit)
		return nil, nil
	}
}

// TestMergeKeyBounds is the regression test for security-review finding 7:
// self-referencing and exponentially nested merge keys must be refused or
// audited quickly, never crash or hang.
func TestMergeKeyBounds(t *testing.T) {
	tests := []struct {
		file    string
		errSays string // "" when the file must audit cleanly
		want    []want
	}{
		{"invalid/merge-self.yml", "refers to the mapping it is in", nil},
		{"invalid/merge-cycle.yml", "refers to the mapping it is in", nil},
		{"good/merge-nested.yml", "", []want{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(fixtures, tt.file)
			r, err := auditWithin(t, time.Second, path, nil)
			if tt.errSays != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSays) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error = %v, want one naming %s and saying %q", err, path, tt.errSays)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []want{}
			for _, f := range r.Findings {
				got = append(got, want{f.Rule, f.Job, f.Line})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("findings:\n got  %v\n want %v", got, tt.want)
			}
		})
	}
}

// TestMergeKeyExpansionCap: merges that add more pairs than
// maxMergedEntries are refused rather than materialised.
func TestMergeKeyExpansionCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("on: push\npermissions: {}\nbig: &big\n")
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	b.WriteString("copies:\n")
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&b, "  c%d: {<<: *big}\n", i)
	}
	b.WriteString("jobs:\n  a:\n    steps: [{run: make}]\n")
	_, err := auditWithin(t, time.Second, "cap.yml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("error = %v, want a refusal for too many merged entries", err)
	}
}
