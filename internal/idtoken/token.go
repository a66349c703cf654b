package idtoken

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims are the claims of an identity token, decoded without verification.
type Claims map[string]any

// String returns claim name as a string: numbers are formatted without an
// exponent, missing or structured claims give "".
func (c Claims) String(name string) string {
	switch v := c[name].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// Audience returns the aud claim, which may be a string or a list.
func (c Claims) Audience() []string {
	switch v := c["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, a := range v {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// SigstoreAudience is the audience of the identity tokens Sigstore's
// Fulcio certifies. Such a token lets its holder obtain a signing
// certificate as the workflow, so it is never sent anywhere else.
const SigstoreAudience = "sigstore"

// ErrAudienceMismatch is wrapped by CheckAudience's error.
var ErrAudienceMismatch = errors.New("identity token audience mismatch")

// CheckAudience reports, with an error wrapping ErrAudienceMismatch,
// whether the token's aud claim is anything but exactly want: a single
// string, or a list holding want alone. A token for several audiences is
// refused, since every one of them could replay it.
func (t *Token) CheckAudience(want string) error {
	switch v := t.Claims["aud"].(type) {
	case string:
		if v == want {
			return nil
		}
	case []any:
		if len(v) == 1 && v[0] == want {
			return nil
		}
		if len(v) > 1 {
			return fmt.Errorf("%w: the token is for %d audiences %s; want a token for %q alone", ErrAudienceMismatch, len(v), quoteList(t.Claims.Audience()), want)
		}
	case nil:
		return fmt.Errorf("%w: the token has no aud claim; want %q", ErrAudienceMismatch, want)
	}
	return fmt.Errorf("%w: the token's audience is %s, not %q", ErrAudienceMismatch, quoteList(t.Claims.Audience()), want)
}

// quoteList renders audiences as a bracketed list of quoted strings.
func quoteList(aud []string) string {
	q := make([]string, len(aud))
	for i, a := range aud {
		q[i] = strconv.Quote(a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Time returns a NumericDate claim (exp, iat, nbf) as a time.
func (c Claims) Time(name string) (time.Time, bool) {
	s := c.String(name)
	if s == "" {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// Provider names the CI system that issued a token, judged from its claims.
type Provider string

const (
	// GitHubActions tokens carry job_workflow_ref.
	GitHubActions Provider = "github"
	// GitLabCI tokens carry ci_config_ref_uri and project_path.
	GitLabCI Provider = "gitlab"
	// Other is any other issuer.
	Other Provider = "other"
)

// Token is a raw identity token with its unverified claims.
type Token struct {
	// Raw is the compact JWS. Never log it.
	Raw string
	// Claims are decoded without verifying the signature.
	Claims Claims
}

// signatureAlgorithms lists what CI issuers sign with; parsing needs the
// list, though the signature itself is not checked here.
var signatureAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// Parse decodes a compact JWT's claims without verifying it.
func Parse(raw string) (*Token, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("identity token is empty")
	}
	parsed, err := jwt.ParseSigned(raw, signatureAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("identity token is not a JWT: %w", err)
	}
	var m map[string]json.RawMessage
	if err := parsed.UnsafeClaimsWithoutVerification(&m); err != nil {
		return nil, fmt.Errorf("decoding identity token claims: %w", err)
	}
	claims := Claims{}
	for k, v := range m {
		var x any
		dec := json.NewDecoder(strings.NewReader(string(v)))
		dec.UseNumber()
		if err := dec.Decode(&x); err != nil {
			return nil, fmt.Errorf("decoding identity token claim %q: %w", k, err)
		}
		claims[k] = x
	}
	return &Token{Raw: raw, Claims: claims}, nil
}

// Issuer returns the iss claim.
func (t *Token) Issuer() string { return t.Claims.String("iss") }

// Provider tells which CI system's claims the token carries.
func (t *Token) Provider() Provider {
	switch {
	case t.Claims.String("job_workflow_ref") != "":
		return GitHubActions
	case t.Claims.String("ci_config_ref_uri") != "" && t.Claims.String("project_path") != "":
		return GitLabCI
	}
	return Other
}

// ExpiryHint explains an expired or not-yet-valid token at time now, or
// returns "" when its validity window contains now.
func (t *Token) ExpiryHint(now time.Time) string {
	if exp, ok := t.Claims.Time("exp"); ok && !now.Before(exp) {
		iat, _ := t.Claims.Time("iat")
		return fmt.Sprintf("the identity token expired at %s (%s ago; issued at %s). CI tokens live minutes: request the token right before signing, not in an earlier step or job",
			exp.UTC().Format(time.RFC3339), now.Sub(exp).Round(time.Second), iat.UTC().Format(time.RFC3339))
	}
	if nbf, ok := t.Claims.Time("nbf"); ok && now.Before(nbf.Add(-time.Minute)) {
		return fmt.Sprintf("the identity token is not valid before %s: check this machine's clock", nbf.UTC().Format(time.RFC3339))
	}
	return ""
}
