package pypi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// RemintAfter is how long a minted token is used before a fresh one is
// minted: more than 10 of its 15 minutes (twine 6.2's rule), so an upload
// that starts with it still has minutes to finish.
const RemintAfter = 10 * time.Minute

// Credentials supply the Basic auth of an upload. They are asked once per
// request, so a source can rotate short-lived tokens.
type Credentials interface {
	// Credentials returns the username and password for the next request.
	Credentials(ctx context.Context) (username, password string, err error)
}

// BasicAuth is a fixed username and password (an API token with username
// "__token__", or an index account).
type BasicAuth struct {
	// Username is "__token__" for API tokens.
	Username string
	// Password is the token or password. Never log it.
	Password string
}

// Credentials returns the fixed pair.
func (a BasicAuth) Credentials(context.Context) (string, string, error) {
	return a.Username, a.Password, nil
}

// TokenSource mints API tokens through trusted publishing and mints again
// when more than RemintAfter has passed since the current one was minted.
// It is safe for concurrent use. It implements Credentials with username
// "__token__".
type TokenSource struct {
	// Client performs the exchange (default DefaultClient).
	Client *Client
	// IndexURL is the index or repository URL.
	IndexURL string
	// OIDC returns a fresh OIDC token for audience; it is called for every
	// mint, because the index refuses a token exchanged before.
	OIDC func(ctx context.Context, audience string) (*idtoken.Token, error)
	// Projects name what is being published (for diagnostics).
	Projects []string
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	audience string
	current  *APIToken
	mintedAt time.Time
}

func (s *TokenSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Token returns a valid API token, minting one first when there is none
// or the current one is older than RemintAfter.
func (s *TokenSource) Token(ctx context.Context) (*APIToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != nil && s.now().Sub(s.mintedAt) <= RemintAfter {
		return s.current, nil
	}
	if s.OIDC == nil {
		return nil, errors.New("trusted publishing: no OIDC token source")
	}
	c := s.Client
	if c == nil {
		c = DefaultClient
	}
	if s.audience == "" {
		aud, err := c.Audience(ctx, s.IndexURL)
		if err != nil {
			return nil, err
		}
		s.audience = aud
	}
	oidc, err := s.OIDC(ctx, s.audience)
	if err != nil {
		return nil, fmt.Errorf("trusted publishing: OpenID Connect token retrieval failed: %w", err)
	}
	// A token goes only to the service whose audience it carries: never a
	// Sigstore token, nor one several services would accept, to an index.
	if err := oidc.CheckAudience(s.audience); err != nil {
		host := s.IndexURL
		if base, berr := indexBase(s.IndexURL); berr == nil {
			host = base.Host
		}
		return nil, fmt.Errorf("trusted publishing: refusing to send the identity token to %s, which asked for audience %q: %w. %s", host, s.audience, err, audienceHint(s.audience))
	}
	tok, err := c.Mint(ctx, s.IndexURL, oidc, s.Projects...)
	if err != nil {
		return nil, err
	}
	s.current, s.mintedAt = tok, s.now()
	tok.MintedAt = s.mintedAt
	return tok, nil
}

// Credentials returns "__token__" and a valid API token.
func (s *TokenSource) Credentials(ctx context.Context) (string, string, error) {
	tok, err := s.Token(ctx)
	if err != nil {
		return "", "", err
	}
	return "__token__", tok.Value, nil
}

// audienceHint says how to obtain a token for audience ("" when not known:
// the index's).
func audienceHint(audience string) string {
	if audience == "" {
		return `Trusted publishing needs a token whose aud is exactly the audience the index asks for (GET /_/oidc/audience: "pypi" on PyPI): in GitHub Actions attest-publish requests it itself ("permissions: id-token: write"); in GitLab CI declare "id_tokens: PYPI_ID_TOKEN: aud: pypi"`
	}
	v := idtoken.EnvVarFor(audience)
	return fmt.Sprintf(`Give a token whose aud is exactly %q: in GitHub Actions attest-publish requests it itself ("permissions: id-token: write"; do not pass the signing token); in GitLab CI declare "id_tokens: %s: aud: %s"`, audience, v, audience)
}
