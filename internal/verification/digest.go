package verification

import (
	"encoding/hex"
	"fmt"
	"strings"
)

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
