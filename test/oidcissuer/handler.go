package oidcissuer

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
)

// ServeHTTP serves:
//
//	/.well-known/openid-configuration         discovery (GitHub-shaped issuer)
//	/gitlab/.well-known/openid-configuration  discovery (GitLab-shaped issuer)
//	/.well-known/jwks                         the public key set
//	/token?audience=X[&claim=value...]        {"value":"<jwt>"}, like GitHub
//
// /token ignores api-version, passes every other query parameter to Mint as
// an override (kind, exp_in, iat_ago, delete=claim,… and audiences=a,b
// among them), and requires "Authorization: Bearer <request token>" when a
// request token is configured.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, i.discovery(i.url))
	case gitLabPath + "/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, i.discovery(i.GitLabURL()))
	case "/.well-known/jwks":
		writeJSON(w, http.StatusOK, i.JWKS())
	case "/token":
		i.serveToken(w, r)
	default:
		http.NotFound(w, r)
	}
}

// discovery returns the OpenID provider metadata for issuer.
func (i *Issuer) discovery(issuer string) map[string]any {
	return map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              i.url + "/.well-known/jwks",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public", "pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
		"claims_supported":                      claimsSupported(),
	}
}

// claimsSupported lists every claim a minted token can carry by default.
func claimsSupported() []string {
	names := []string{"aud", "exp", "iat", "iss", "jti", "nbf", "sub", "environment"}
	for k := range DefaultGitHubClaims() {
		names = append(names, k)
	}
	for k := range DefaultGitLabClaims() {
		names = append(names, k)
	}
	return names
}

// serveToken implements the ACTIONS_ID_TOKEN_REQUEST_URL endpoint.
func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !i.authorized(r.Header.Get("Authorization")) {
		writeError(w, http.StatusUnauthorized, "missing or invalid bearer request token")
		return
	}
	q := r.URL.Query()
	overrides := map[string]string{}
	for k, v := range q {
		if k != "audience" && k != "api-version" && len(v) > 0 {
			overrides[k] = v[len(v)-1]
		}
	}
	tok, err := i.Mint(q.Get("audience"), overrides)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"value": tok})
}

// authorized reports whether header carries the configured request token.
// The scheme is case-insensitive: the toolkit sends Bearer, cosign bearer.
func (i *Issuer) authorized(header string) bool {
	if i.requestToken == "" {
		return true
	}
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(tok), []byte(i.requestToken)) == 1
}

// writeJSON writes v as a JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes a JSON error body like GitHub's.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}
