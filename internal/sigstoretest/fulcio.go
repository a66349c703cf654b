package sigstoretest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Client-facing messages of Fulcio v1.8.8 (pkg/server/error.go). Fulcio logs
// the underlying cause and answers only with these.
const (
	msgInvalidIdentityToken = "There was an error processing the identity token"
	msgInvalidPublicKey     = "The public key supplied in the request could not be parsed"
	msgInsecurePublicKey    = "The public key supplied in the request is insecure"
	msgInvalidSignature     = "The signature supplied in the request could not be verified"
	msgCertificate          = "Error marshaling code signing certificate"
)

// ReasonHeader is a response header the fake Fulcio adds to refusals with
// the cause real Fulcio only logs, e.g. go-oidc's "oidc: token is expired
// (Token Expiry: …)". The body stays exactly what real Fulcio sends.
const ReasonHeader = "X-Sigstoretest-Reason"

// fulcioRequest is the JSON body of POST /api/v2/signingCert (public key
// flavour; the CSR flavour is not supported).
type fulcioRequest struct {
	PublicKeyRequest struct {
		PublicKey struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession []byte `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
}

// fulcioResponse is the 200 answer: the chain, leaf first, as PEM strings.
type fulcioResponse struct {
	SignedCertificateEmbeddedSct struct {
		Chain struct {
			Certificates []string `json:"certificates"`
		} `json:"chain"`
	} `json:"signedCertificateEmbeddedSct"`
}

// handleSigningCert is the fake Fulcio's POST /api/v2/signingCert.
func (in *Instance) handleSigningCert(w http.ResponseWriter, r *http.Request) {
	in.fulcioCount.Add(1)
	var req fulcioRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		fulcioError(w, http.StatusBadRequest, err.Error(), fmt.Errorf("decoding request: %w", err))
		return
	}
	claims, err := in.authenticate(bearerToken(r), time.Now())
	if err != nil {
		fulcioError(w, http.StatusBadRequest, msgInvalidIdentityToken, err)
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		fulcioError(w, http.StatusBadRequest, msgInvalidPublicKey, err)
		return
	}
	// Fulcio v1.8.8 refuses weak keys with this check; the fake does as
	// the real one does until Fulcio drops it.
	//lint:ignore SA1019 deprecated in sigstore v1.11, still what Fulcio v1.8.8 runs
	if err := cryptoutils.ValidatePubKey(pub); err != nil {
		fulcioError(w, http.StatusBadRequest, msgInsecurePublicKey, err)
		return
	}
	verifier, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		fulcioError(w, http.StatusBadRequest, err.Error(), err)
		return
	}
	sub, _ := claims["sub"].(string)
	pop := req.PublicKeyRequest.ProofOfPossession
	if err := verifier.VerifySignature(bytes.NewReader(pop), strings.NewReader(sub)); err != nil {
		fulcioError(w, http.StatusBadRequest, msgInvalidSignature, fmt.Errorf("proof of possession over sub: %w", err))
		return
	}
	chain, err := in.issueCertificate(pub, claims)
	if err != nil {
		fulcioError(w, http.StatusInternalServerError, msgCertificate, err)
		return
	}
	var resp fulcioResponse
	resp.SignedCertificateEmbeddedSct.Chain.Certificates = chain
	writeJSON(w, http.StatusOK, resp)
}

// bearerToken returns the Authorization header's bearer token, or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authenticate checks a token the way Fulcio's go-oidc verifier does
// (signature, issuer, audience "sigstore", expiry) and returns its claims.
// Error texts follow go-oidc's.
func (in *Instance) authenticate(raw string, now time.Time) (map[string]any, error) {
	if raw == "" {
		return nil, errors.New("oidc: malformed jwt: no bearer token")
	}
	std, claims, err := parseToken(raw)
	if err != nil {
		return nil, err
	}
	if std.Issuer != in.issuer {
		return nil, fmt.Errorf("oidc: id token issued by a different provider, expected %q got %q", in.issuer, std.Issuer)
	}
	if !slices.Contains([]string(std.Audience), "sigstore") {
		return nil, fmt.Errorf("oidc: expected audience %q got %q", "sigstore", []string(std.Audience))
	}
	if std.Expiry == nil {
		return nil, errors.New("oidc: token has no exp claim")
	}
	if exp := std.Expiry.Time(); now.After(exp) {
		return nil, fmt.Errorf("oidc: token is expired (Token Expiry: %v)", exp)
	}
	// go-oidc allows five minutes of clock skew on nbf.
	if std.NotBefore != nil && now.Add(5*time.Minute).Before(std.NotBefore.Time()) {
		return nil, fmt.Errorf("oidc: current time %v before the nbf (not before) time: %v", now, std.NotBefore.Time())
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return nil, errors.New("token has no sub claim")
	}
	return claims, nil
}

// fulcioError answers like Fulcio's grpc-gateway does for a gRPC status
// (code 3 InvalidArgument for 400, 13 Internal for 500), adding the cause in
// ReasonHeader.
func fulcioError(w http.ResponseWriter, status int, message string, cause error) {
	code := 3
	if status >= 500 {
		code = 13
	}
	if cause != nil {
		w.Header().Set(ReasonHeader, strings.ReplaceAll(cause.Error(), "\n", " "))
	}
	writeJSON(w, status, grpcStatus{Code: code, Message: message, Details: []any{}})
}

// grpcStatus is grpc-gateway's JSON rendering of a gRPC status, in its
// field order.
type grpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
