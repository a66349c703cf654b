//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// frontUploads lists the uploads the index front accepted.
func frontUploads(t *testing.T, index map[string]string) []map[string]any {
	t.Helper()
	var ups []map[string]any
	if err := json.Unmarshal(get(t, index["INDEXFRONT_URL"]+"/_/front/uploads"), &ups); err != nil {
		t.Fatal(err)
	}
	return ups
}

// TestReleaseRefusedBeforeSigning: what PyPI (here the front, with
// warehouse's rules) would refuse after everything is signed — a reusable
// workflow releasing with attestations, a pull_request_target trigger — is
// refused from the token's claims with the exact fix, before the Fulcio
// request: no certificate is issued and nothing is uploaded.
func TestReleaseRefusedBeforeSigning(t *testing.T) {
	index := startIndex(t)
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{
			name:  "reusable workflow",
			query: "&job_workflow_ref=octo-org/octo-repo/.github/workflows/publish.yml@refs/heads/main",
			want:  []string{"[reusable-workflow]", `"publish.yml"`, `"release.yml"`, "Build Config URI", "--attestations=false"},
		},
		{
			name:  "pull_request_target",
			query: "&event_name=pull_request_target",
			want:  []string{"[pull-request-target]", "pull_request_target", "on: workflow_dispatch"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDists(t)
			before := fulcioCerts(t)
			res := command(t, runnerEnv(tc.query), "release", append(trustArgs(env.signingConfig),
				"--packages-dir", dir, "--repository-url", index["INDEXFRONT_UPLOAD_URL"])...)
			if res.code != 1 {
				t.Fatalf("release exit %d, want 1\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("the refusal lacks %q:\n%s", w, res.stderr)
				}
			}
			if n := fulcioCerts(t) - before; n != 0 {
				t.Errorf("Fulcio issued %d certificate(s): the refusal came after the Fulcio request", n)
			}
			if ups := frontUploads(t, index); len(ups) != 0 {
				t.Errorf("uploads: %v", ups)
			}
			if matches, _ := filepath.Glob(filepath.Join(dir, "*.sigstore.json")); len(matches) != 0 {
				t.Errorf("signed outputs left behind: %v", matches)
			}
		})
	}
}

// TestReleaseReadBack: after uploading, release reads each file's
// provenance back from the front's Integrity API and checks it is what was
// uploaded. The front serves the sdist's provenance for the wheel: the
// release fails naming the wheel, and says the index serves the sdist's.
func TestReleaseReadBack(t *testing.T) {
	index := startIndex(t)
	dir := copyDists(t)
	var wheel, sdist string
	for _, d := range distFiles(t, dir) {
		if strings.HasSuffix(d, ".whl") {
			wheel = filepath.Base(d)
		} else {
			sdist = filepath.Base(d)
		}
	}
	body, _ := json.Marshal([]string{wheel})
	resp, err := http.Post(index["INDEXFRONT_URL"]+"/_/front/wrong-provenance", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := command(t, runnerEnv(""), "release", append(trustArgs(env.signingConfig),
		"--packages-dir", dir, "--repository-url", index["INDEXFRONT_UPLOAD_URL"])...)
	if res.code != 1 {
		t.Fatalf("release exit %d, want 1\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if want := "the index does not serve the attestations uploaded for 1 file(s): " + wheel + ": the index serves 2 attestation(s) whose statements differ from the 2 uploaded"; !strings.Contains(res.stderr, want) {
		t.Errorf("the error does not name the wheel (%s):\n%s", want, res.stderr)
	}
	if want := sdist + ": PyPI serves the attestation"; !strings.Contains(res.stdout, want) {
		t.Errorf("the report lacks %q:\n%s", want, res.stdout)
	}
	if ups := frontUploads(t, index); len(ups) != 2 {
		t.Errorf("uploads %v, want both files (the read-back comes after the upload)", ups)
	}
}
