package pep740

import "testing"

// FuzzParse feeds arbitrary bytes to Parse and, when they parse, converts
// the attestation to a bundle and back: errors are fine, panics are not.
// Seeds are in testdata/fuzz/FuzzParse/ (real PEP 740 attestations from the
// repository's test vectors, testdata/vectors). Run with
//
//	go test ./internal/pep740 -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s -fuzzminimizetime 100x
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"verification_material":{"certificate":"AA==","transparency_entries":[{}]},"envelope":{"statement":"e30=","signature":"AA=="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
		if err != nil {
			return
		}
		if a == nil {
			t.Fatal("Parse returned neither an attestation nor an error")
		}
		b, err := a.ToBundle()
		if err != nil {
			return
		}
		if b == nil {
			t.Fatal("ToBundle returned neither a bundle nor an error")
		}
		// ToBundle's output is always a DSSE bundle FromBundle accepts.
		back, err := FromBundle(b)
		if err != nil {
			t.Fatalf("FromBundle(ToBundle(a)): %v", err)
		}
		if string(back.Envelope.Statement) != string(a.Envelope.Statement) {
			t.Fatal("statement changed in the round trip")
		}
	})
}
