// Package oidcissuer is a local OpenID Connect issuer for tests. It mints
// RS256 ID tokens shaped like GitHub Actions (or GitLab CI) tokens and serves
// discovery, JWKS and a token endpoint that behaves like GitHub's
// ACTIONS_ID_TOKEN_REQUEST_URL, so Fulcio and real OIDC clients accept it.
package oidcissuer

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// gitLabPath is the path of the GitLab sub-issuer below the issuer URL.
const gitLabPath = "/gitlab"

// Options configures an Issuer.
type Options struct {
	// Issuer is the issuer URL (the iss claim), e.g. http://127.0.0.1:8090.
	Issuer string
	// Key signs the tokens. When nil a fresh 2048-bit key is generated.
	Key *rsa.PrivateKey
	// RequestToken, when set, must be presented by token requests as
	// "Authorization: Bearer <RequestToken>".
	RequestToken string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Issuer mints and serves ID tokens. It is safe for concurrent use.
type Issuer struct {
	url          string
	requestToken string
	now          func() time.Time
	jwk          jose.JSONWebKey
	signer       jose.Signer
}

// New returns an Issuer for opts.
func New(opts Options) (*Issuer, error) {
	if opts.Issuer == "" {
		return nil, errors.New("oidcissuer: Issuer URL is required")
	}
	key := opts.Key
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("generating issuer key: %w", err)
		}
	}
	jwk := jose.JSONWebKey{Key: key, Algorithm: string(jose.RS256), Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("computing key id: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("creating token signer: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Issuer{
		url:          strings.TrimSuffix(opts.Issuer, "/"),
		requestToken: opts.RequestToken,
		now:          now,
		jwk:          jwk,
		signer:       signer,
	}, nil
}

// URL returns the issuer URL of GitHub-shaped tokens.
func (i *Issuer) URL() string { return i.url }

// GitLabURL returns the issuer URL of GitLab-shaped tokens. It is a separate
// issuer (with its own discovery document) so that Fulcio can map it to its
// gitlab-pipeline provider.
func (i *Issuer) GitLabURL() string { return i.url + gitLabPath }

// KeyID returns the kid of the signing key: its RFC 7638 SHA-256 thumbprint,
// stable for a given key.
func (i *Issuer) KeyID() string { return i.jwk.KeyID }

// JWKS returns the public key set served at /.well-known/jwks.
func (i *Issuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{i.jwk.Public()}}
}
