package sigstoretest

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Default claim values of tokens minted by (*Instance).Token.
const (
	// DefaultRepository is the repository claim.
	DefaultRepository = "octo-org/octo-repo"
	// DefaultRef is the ref claim.
	DefaultRef = "refs/heads/main"
	// DefaultSHA is the sha, workflow_sha and job_workflow_sha claim.
	DefaultSHA = "0123456789abcdef0123456789abcdef01234567"
	// DefaultWorkflowRef is the workflow_ref and job_workflow_ref claim.
	DefaultWorkflowRef = DefaultRepository + "/.github/workflows/release.yml@" + DefaultRef
	// DefaultSubject is the sub claim.
	DefaultSubject = "repo:" + DefaultRepository + ":ref:" + DefaultRef
)

// tokenKeyID is the kid header of minted tokens.
const tokenKeyID = "sigstoretest"

// tokenKey is the RSA key that signs tokens, shared by all instances in the
// process because RSA key generation is slow.
var tokenKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// Token mints a GitHub-Actions-shaped OIDC token (RS256 JWT) for audience
// sigstore, valid for ten minutes from now. overrides replace or add claims;
// a nil value deletes the claim. It panics if signing fails, which only an
// unencodable override can cause.
func (in *Instance) Token(overrides map[string]any) string {
	now := time.Now()
	claims := map[string]any{
		"iss":                   in.issuer,
		"aud":                   "sigstore",
		"sub":                   DefaultSubject,
		"jti":                   rand.Text(),
		"iat":                   now.Unix(),
		"nbf":                   now.Unix(),
		"exp":                   now.Add(10 * time.Minute).Unix(),
		"actor":                 "octocat",
		"actor_id":              "583231",
		"repository":            DefaultRepository,
		"repository_owner":      "octo-org",
		"repository_id":         "123456",
		"repository_owner_id":   "7890",
		"repository_visibility": "public",
		"ref":                   DefaultRef,
		"ref_type":              "branch",
		"ref_protected":         "false",
		"sha":                   DefaultSHA,
		"workflow":              "Release",
		"workflow_ref":          DefaultWorkflowRef,
		"workflow_sha":          DefaultSHA,
		"job_workflow_ref":      DefaultWorkflowRef,
		"job_workflow_sha":      DefaultSHA,
		"event_name":            "workflow_dispatch",
		"run_id":                "42",
		"run_number":            "7",
		"run_attempt":           "1",
		"runner_environment":    "github-hosted",
	}
	for k, v := range overrides {
		if v == nil {
			delete(claims, k)
			continue
		}
		claims[k] = v
	}
	tok, err := signToken(claims)
	if err != nil {
		panic(fmt.Sprintf("sigstoretest: minting token: %v", err))
	}
	return tok
}

// signToken serialises claims as an RS256 JWT under tokenKey.
func signToken(claims map[string]any) (string, error) {
	key, err := tokenKey()
	if err != nil {
		return "", fmt.Errorf("generating token key: %w", err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", tokenKeyID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("creating signer: %w", err)
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// parseToken checks a token's signature against tokenKey and returns its
// standard and full claims.
func parseToken(raw string) (*jwt.Claims, map[string]any, error) {
	key, err := tokenKey()
	if err != nil {
		return nil, nil, fmt.Errorf("generating token key: %w", err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, nil, fmt.Errorf("oidc: malformed jwt: %w", err)
	}
	var std jwt.Claims
	all := map[string]any{}
	if err := tok.Claims(&key.PublicKey, &std, &all); err != nil {
		return nil, nil, fmt.Errorf("failed to verify signature: %w", err)
	}
	return &std, all, nil
}
