package verification

import (
	"strings"
	"testing"
)

func TestArtifactFromDigest(t *testing.T) {
	h256 := strings.Repeat("ab", 32)
	h512 := strings.Repeat("Cd", 64)
	tests := []struct {
		in       string
		err      string
		has256   bool
		has512   bool
		filename string
	}{
		{in: "sha256:" + h256, has256: true},
		{in: "sha512:" + h512, has512: true},
		{in: "sha256:" + h256[:63], err: "want 64 hex characters after sha256:, got 63"},
		{in: "sha512:" + h256, err: "want 128 hex characters after sha512:, got 64"},
		{in: "sha512:" + strings.Repeat("zz", 64), err: "invalid byte"},
		{in: "sha1:" + h256[:40], err: "want sha256:<64 hex characters> or sha512:<128 hex characters>"},
		{in: "sha256", err: "want sha256:"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ArtifactFromDigest(tt.in, "x-1.0.tar.gz")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (a.SHA256 != nil) != tt.has256 || (a.SHA512 != nil) != tt.has512 || a.Path != "" || a.Filename != "x-1.0.tar.gz" || a.Name != tt.in {
				t.Errorf("artifact %+v", a)
			}
		})
	}
}
