package pypi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReleaseFilesInvalidNames: every listed file goes through
// dists.ParseFilename. A file whose name is refused but still reads as one
// of the release asked for (an installer may take it for one: pip accepts
// the build tag "1:x") fails the release, its name quoted, instead of being
// left out unverified; other refused names (another version, another
// project, legacy bdist zips) are ignored as before.
func TestReleaseFilesInvalidNames(t *testing.T) {
	const good = "sample-1.0.tar.gz"
	for _, tc := range []struct {
		name  string
		other string // listed next to good
		want  string // error substring, "" when good alone is the release
	}{
		{"build tag with a colon", "sample-1.0-1:x-py3-none-any.whl", `"sample-1.0-1:x-py3-none-any.whl": refused: contains ':'`},
		{"newline in an sdist version", "Sample-1.0\n.tar.gz", `"Sample-1.0\n.tar.gz": refused: contains the control character U+000A`},
		{"command lines in a wheel tag", "sample-1.0-1\n::stop-commands::zz\n-none-any.whl", `"sample-1.0-1\n::stop-commands::zz\n-none-any.whl": refused`},
		{"another version", "sample-2.0-1:x-py3-none-any.whl", ""},
		{"another project", "other-1.0-1:x-py3-none-any.whl", ""},
		{"legacy bdist zip", "sample-1.0.win32.zip", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var files []map[string]any
				for _, n := range []string{good, tc.other} {
					files = append(files, map[string]any{"filename": n, "url": "/packages/x", "hashes": map[string]string{}})
				}
				w.Header().Set("Content-Type", SimpleJSONType)
				json.NewEncoder(w).Encode(map[string]any{"files": files})
			}))
			t.Cleanup(srv.Close)
			c, err := NewIndexClient(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			files, err := c.ReleaseFiles(context.Background(), "sample", "1.0")
			if tc.want == "" {
				if err != nil || len(files) != 1 || files[0].Filename != good {
					t.Fatalf("ReleaseFiles = %+v, %v; want %s alone", files, err, good)
				}
				return
			}
			if !errors.Is(err, ErrInvalidFilename) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReleaseFiles = %+v, %v; want ErrInvalidFilename with %q", files, err, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("the error holds a line break: %q", err)
			}
		})
	}
}
