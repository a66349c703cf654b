package dists

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// TestDigester checks both digests against the plain hashes for writes
// below and above the size where the hashes run in parallel.
func TestDigester(t *testing.T) {
	data := bytes.Repeat([]byte("attest-publish "), 40000) // 600 kB
	for _, chunk := range []int{1, 1000, 64 << 10, 1 << 20} {
		d := NewDigester()
		for rest := data; len(rest) > 0; {
			n := min(chunk, len(rest))
			d.Write(rest[:n])
			rest = rest[n:]
		}
		sha, blake, size := d.Sums()
		wantSHA, wantBlake := sha256.Sum256(data), blake2b.Sum256(data)
		if !bytes.Equal(sha, wantSHA[:]) || !bytes.Equal(blake, wantBlake[:]) || size != int64(len(data)) {
			t.Errorf("chunk %d: wrong digests or size %d", chunk, size)
		}
	}
}
