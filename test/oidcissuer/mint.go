package oidcissuer

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Special override keys understood by Mint (and the /token endpoint). They
// are not copied into the token.
const (
	// ParamKind selects the claim set: KindGitHub (default) or KindGitLab.
	ParamKind = "kind"
	// ParamExpIn sets exp to iat plus this many seconds (may be negative).
	ParamExpIn = "exp_in"
	// ParamIatAgo moves iat and nbf this many seconds into the past.
	ParamIatAgo = "iat_ago"
	// ParamDelete names claims (comma-separated) left out of the token, as
	// GitLab leaves out ci_config_ref_uri in child pipelines.
	ParamDelete = "delete"
	// ParamAudiences makes aud a list of these audiences (comma-separated),
	// replacing the audience argument.
	ParamAudiences = "audiences"
)

// special reports whether an override key is one of the special keys.
func special(k string) bool {
	switch k {
	case ParamKind, ParamExpIn, ParamIatAgo, ParamDelete, ParamAudiences:
		return true
	}
	return false
}

// tokenLifetime is the default validity of a token, as on GitHub.
const tokenLifetime = 10 * time.Minute

// Mint returns a signed JWT for audience. Each entry of overrides replaces or
// adds a string claim, except the special keys ParamKind, ParamExpIn,
// ParamIatAgo, ParamDelete and ParamAudiences. When sub is not overridden it is derived from the final claims
// like the CI provider would. An empty audience gives GitHub's default,
// https://github.com/<repository_owner>.
func (i *Issuer) Mint(audience string, overrides map[string]string) (string, error) {
	kind := overrides[ParamKind]
	var base map[string]string
	iss := i.url
	switch kind {
	case "", KindGitHub:
		kind, base = KindGitHub, DefaultGitHubClaims()
	case KindGitLab:
		base, iss = DefaultGitLabClaims(), i.GitLabURL()
	default:
		return "", fmt.Errorf("unknown token kind %q", kind)
	}
	expIn, err := seconds(overrides, ParamExpIn, int64(tokenLifetime/time.Second))
	if err != nil {
		return "", err
	}
	iatAgo, err := seconds(overrides, ParamIatAgo, 0)
	if err != nil {
		return "", err
	}
	for k, v := range overrides {
		if !special(k) {
			base[k] = v
		}
	}
	if _, ok := overrides["sub"]; !ok {
		base["sub"] = defaultSubject(kind, base)
	}
	if audience == "" {
		audience = "https://github.com/" + base["repository_owner"]
	}
	jti, err := newJTI()
	if err != nil {
		return "", err
	}
	iat := i.now().Unix() - iatAgo
	claims := map[string]any{}
	for k, v := range base {
		claims[k] = v
	}
	claims["iss"] = iss
	claims["aud"] = audience
	if list := overrides[ParamAudiences]; list != "" {
		claims["aud"] = strings.Split(list, ",")
	}
	claims["jti"] = jti
	claims["iat"] = iat
	claims["nbf"] = iat
	claims["exp"] = iat + expIn
	if del := overrides[ParamDelete]; del != "" {
		for _, name := range strings.Split(del, ",") {
			delete(claims, strings.TrimSpace(name))
		}
	}
	tok, err := jwt.Signed(i.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	return tok, nil
}

// seconds parses overrides[key] as an integer number of seconds.
func seconds(overrides map[string]string, key string, def int64) (int64, error) {
	s, ok := overrides[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", key, err)
	}
	return n, nil
}

// newJTI returns a random, unique token id.
func newJTI() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating jti: %w", err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}
