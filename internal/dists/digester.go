package dists

import (
	"crypto/sha256"
	"hash"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// Digester computes a file's SHA-256 and BLAKE2b-256 digests in one pass,
// updating the two hashes in parallel (they are the slow part of reading a
// large file from the page cache). Write does not keep p.
type Digester struct {
	sha, blake hash.Hash
	size       int64
}

// NewDigester returns an empty Digester.
func NewDigester() *Digester {
	b, err := blake2b.New256(nil)
	if err != nil { // only for a key longer than 64 bytes
		panic(err)
	}
	return &Digester{sha: sha256.New(), blake: b}
}

// Write hashes p with both hashes at once.
func (d *Digester) Write(p []byte) (int, error) {
	d.size += int64(len(p))
	if len(p) < 64<<10 {
		d.sha.Write(p)
		d.blake.Write(p)
		return len(p), nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.blake.Write(p)
	}()
	d.sha.Write(p)
	wg.Wait()
	return len(p), nil
}

// Sums returns the SHA-256 and BLAKE2b-256 digests and the bytes written.
func (d *Digester) Sums() (sha, blake []byte, size int64) {
	return d.sha.Sum(nil), d.blake.Sum(nil), d.size
}
