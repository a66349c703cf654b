package verification

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Artifact is what a signature must be over: a file, or only its digest.
type Artifact struct {
	// Name is how the artifact was given (path or sha256:…).
	Name string
	// Path is the file, or "" when only the digest is known.
	Path string
	// SHA256 is the artifact's digest.
	SHA256 []byte
	// SHA512 is set when the file is at hand (npm subjects use sha512).
	SHA512 []byte
	// Filename is the dist filename PEP 740 subjects are checked against:
	// the file's base name, or given explicitly for a digest.
	Filename string
	// Size is the number of bytes hashed into SHA256 (the file read, or
	// the download), nil when only the digest is known.
	Size *int64
}

// SizeOf returns a pointer to n, for Artifact.Size.
func SizeOf(n int64) *int64 { return &n }

// ArtifactFromFile hashes a file.
func ArtifactFromFile(path string) (Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return Artifact{}, fmt.Errorf("opening artifact: %w", err)
	}
	defer f.Close()
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(h256, h512), f)
	if err != nil {
		return Artifact{}, fmt.Errorf("hashing %s: %w", path, err)
	}
	return Artifact{Name: path, Path: path, SHA256: h256.Sum(nil), SHA512: h512.Sum(nil), Filename: filepath.Base(path), Size: SizeOf(n)}, nil
}

// IsDigestArg reports whether s has the form of a digest argument
// (sha256:… or sha512:…), whatever follows the colon.
func IsDigestArg(s string) bool {
	return strings.HasPrefix(s, "sha256:") || strings.HasPrefix(s, "sha512:")
}

// ArtifactFromDigest reads "sha256:<64 hex>" or "sha512:<128 hex>" into an
// artifact known only by that digest; filename names the dist for PEP 740
// subject checks (may be empty).
func ArtifactFromDigest(s, filename string) (Artifact, error) {
	a := Artifact{Name: s, Filename: filename}
	algo, hexPart, ok := strings.Cut(s, ":")
	want := map[string]int{"sha256": 64, "sha512": 128}[algo]
	if !ok || want == 0 {
		return a, fmt.Errorf("digest %q: want sha256:<64 hex characters> or sha512:<128 hex characters>", s)
	}
	if len(hexPart) != want {
		return a, fmt.Errorf("digest %q: want %d hex characters after %s:, got %d", s, want, algo, len(hexPart))
	}
	d, err := hex.DecodeString(strings.ToLower(hexPart))
	if err != nil {
		return a, fmt.Errorf("digest %q: %w", s, err)
	}
	if algo == "sha256" {
		a.SHA256 = d
	} else {
		a.SHA512 = d
	}
	return a, nil
}
