package verification

import "testing"

func TestLineOf(t *testing.T) {
	set := &MaterialSet{Path: "a b.jsonl"}
	for src, want := range map[string]int{
		"a b.jsonl line 12":                12,
		"a b.jsonl":                        0,
		"a b.jsonl line x":                 0,
		"a b.jsonl line 0":                 0,
		"other.jsonl line 3":               0,
		"a b.jsonl bundle 0 attestation 1": 0,
	} {
		if got := lineOf(set, Material{Source: src}); got != want {
			t.Errorf("lineOf(%q) = %d, want %d", src, got, want)
		}
	}
}
