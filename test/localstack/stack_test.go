//go:build stack

package localstack_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/test/localstack"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// These tests need a running stack (stack up). Under the stack build tag
// they fail, never skip, when it is absent.

const (
	identity = "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
	repo     = "octo-org/octo-repo"
)

// runningStack loads the stack from $STACK_DIR or <repo>/.stack and fails
// the test unless every process of it is running.
func runningStack(t *testing.T) *localstack.Stack {
	t.Helper()
	dir := os.Getenv("STACK_DIR")
	if dir == "" {
		dir = filepath.Join(localstack.RepoRoot(), ".stack")
	}
	s, err := localstack.Load(dir)
	if err != nil {
		t.Fatalf("no local stack (run: go run ./test/localstack/cmd/stack up): %v", err)
	}
	if n := len(s.Running()); n == 0 || n != len(s.Processes) {
		t.Fatalf("stack in %s is not fully running (%d of %d processes)", dir, n, len(s.Processes))
	}
	return s
}

// token fetches an ID token the way GitHub Actions clients do.
func token(t *testing.T, s *localstack.Stack, extra string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.TokenURL+"&audience=sigstore"+extra, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "bearer "+s.RequestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("requesting token: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Value == "" {
		t.Fatalf("token response (%s): %v", resp.Status, err)
	}
	return body.Value
}

// cosign runs the cached cosign with HOME in a temp dir.
func cosign(t *testing.T, s *localstack.Stack, home string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.Bin, "cosign"), args...)
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// fulcioCerts reads Fulcio's issued-certificate counter.
func fulcioCerts(t *testing.T) int {
	t.Helper()
	n, err := localstack.FulcioCerts()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCosignRoundTrip(t *testing.T) {
	s := runningStack(t)
	for _, tc := range []struct{ name, signingConfig string }{
		{"rekor-v1", s.SigningConfig},
		{"rekor-v2", s.SigningConfigRekor2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			blob := filepath.Join(home, "a.bin")
			bndl := filepath.Join(home, "a.sigstore.json")
			if err := os.WriteFile(blob, []byte("attest-publish "+tc.name+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			before := fulcioCerts(t)
			out, err := cosign(t, s, home, "sign-blob", blob, "--identity-token", token(t, s, ""),
				"--signing-config", tc.signingConfig, "--trusted-root", s.TrustedRoot, "--bundle", bndl, "-y")
			if err != nil {
				t.Fatalf("cosign sign-blob: %v\n%s", err, out)
			}
			if got := fulcioCerts(t) - before; got != 1 {
				t.Errorf("fulcio issued %d certificates for one signature, want 1", got)
			}
			out, err = cosign(t, s, home, "verify-blob", blob, "--bundle", bndl, "--trusted-root", s.TrustedRoot,
				"--certificate-identity", identity, "--certificate-oidc-issuer", s.OIDCIssuer,
				"--certificate-github-workflow-repository", repo)
			if err != nil || !strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign verify-blob: %v\n%s", err, out)
			}
			verifyWithSigstoreGo(t, s, blob, bndl)
		})
	}
}

// verifyWithSigstoreGo verifies bndl over blob with sigstore-go, requiring an
// SCT, a transparency log entry and an observer timestamp.
func verifyWithSigstoreGo(t *testing.T, s *localstack.Stack, blob, bndl string) {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.LoadJSONFromPath(bndl)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.NewVerifier(tr, verify.WithSignedCertificateTimestamps(1),
		verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := verify.NewShortCertificateIdentity(s.OIDCIssuer, "", identity, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(blob)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := v.Verify(b, verify.NewPolicy(verify.WithArtifact(f), verify.WithCertificateIdentity(id)))
	if err != nil {
		t.Fatalf("sigstore-go verify: %v", err)
	}
	cert := res.Signature.Certificate
	if cert.SourceRepositoryURI != "https://github.com/"+repo || cert.RunnerEnvironment != "github-hosted" ||
		cert.SourceRepositoryVisibilityAtSigning != "public" {
		t.Errorf("unexpected certificate extensions: %+v", cert.Extensions)
	}
}

func TestFulcioRejectsExpiredToken(t *testing.T) {
	s := runningStack(t)
	home := t.TempDir()
	blob := filepath.Join(home, "a.bin")
	if err := os.WriteFile(blob, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := fulcioCerts(t)
	out, err := cosign(t, s, home, "sign-blob", blob, "--identity-token", token(t, s, "&iat_ago=1200&exp_in=600"),
		"--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot,
		"--bundle", filepath.Join(home, "a.json"), "-y")
	if err == nil {
		t.Fatalf("cosign signed with an expired token:\n%s", out)
	}
	if got := fulcioCerts(t) - before; got != 0 {
		t.Errorf("fulcio issued %d certificates for an expired token", got)
	}
}
