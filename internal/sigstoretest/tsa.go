package sigstoretest

import (
	"crypto"
	"encoding/asn1"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
)

// tsaPath is the timestamp-authority endpoint path.
const tsaPath = "/api/v1/timestamp"

// tsaPolicy is the TSA policy OID sigstore's timestamp-authority uses by
// default.
var tsaPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}

// handleTimestamp is the fake timestamp authority's POST /api/v1/timestamp:
// an RFC 3161 response over the request's message imprint, as sigstore's
// timestamp-authority builds it.
func (in *Instance) handleTimestamp(w http.ResponseWriter, r *http.Request) {
	in.tsaCount.Add(1)
	if status := in.tsaFaults.take(); status != 0 {
		writeJSON(w, status, apiError{Code: status, Message: "injected failure"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: http.StatusBadRequest, Message: fmt.Sprintf("reading request: %v", err)})
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Code: http.StatusBadRequest, Message: fmt.Sprintf("parsing timestamp request: %v", err)})
		return
	}
	policy := req.TSAPolicyOID
	if len(policy) == 0 {
		policy = tsaPolicy
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              time.Now().UTC(),
		Nonce:             req.Nonce,
		Policy:            policy,
		Accuracy:          time.Second,
		AddTSACertificate: req.Certificates,
		ExtraExtensions:   req.Extensions,
	}
	resp, err := ts.CreateResponseWithOpts(in.pki.tsaLeaf, in.pki.tsaKey, crypto.SHA256)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{Code: http.StatusInternalServerError, Message: fmt.Sprintf("creating timestamp: %v", err)})
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
}

// apiError is the JSON error body of Rekor and the timestamp authority
// (their go-swagger models.Error).
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}
