package sigstoretest

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"

	// Register the entry kinds sigstore-go uploads.
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
)

// rekorEntriesPath is Rekor v1's log entries collection.
const rekorEntriesPath = "/api/v1/log/entries"

// handleCreateEntry is the fake Rekor's POST /api/v1/log/entries: validate
// and canonicalize the proposed entry with Rekor's own types, log it, and
// answer 201 with the entry keyed by its ID (plus ETag and Location headers)
// like Rekor does; 409 with Location for an entry already logged.
func (in *Instance) handleCreateEntry(w http.ResponseWriter, r *http.Request) {
	in.rekorCount.Add(1)
	injected := in.rekorFaults.take()
	if injected != 0 && injected != http.StatusConflict {
		writeJSON(w, injected, apiError{Code: injected, Message: "injected failure"})
		return
	}
	ctx := r.Context()
	proposed, err := models.UnmarshalProposedEntry(r.Body, runtime.JSONConsumer())
	if err != nil {
		rekorError(w, http.StatusBadRequest, fmt.Errorf("decoding proposed entry: %w", err))
		return
	}
	entry, err := types.CreateVersionedEntry(proposed)
	if err != nil {
		rekorError(w, http.StatusBadRequest, err)
		return
	}
	body, err := types.CanonicalizeEntry(ctx, entry)
	if err != nil {
		status := http.StatusInternalServerError
		var invalid *types.InputValidationError
		if errors.As(err, &invalid) {
			status = http.StatusBadRequest
		}
		rekorError(w, status, err)
		return
	}
	id, existed, err := in.log.add(ctx, body)
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err)
		return
	}
	location := in.rekor.URL + rekorEntriesPath + "/" + id
	w.Header().Set("Location", location)
	if existed || injected == http.StatusConflict {
		writeJSON(w, http.StatusConflict, apiError{Code: http.StatusConflict,
			Message: fmt.Sprintf("an equivalent entry already exists in the transparency log with UUID %v", id)})
		return
	}
	logged, _, err := in.log.lookup(ctx, id)
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("ETag", id)
	writeJSON(w, http.StatusCreated, logged)
}

// handleGetEntry is the fake Rekor's GET /api/v1/log/entries/{id}.
func (in *Instance) handleGetEntry(w http.ResponseWriter, r *http.Request) {
	logged, ok, err := in.log.lookup(r.Context(), r.PathValue("id"))
	switch {
	case err != nil:
		rekorError(w, http.StatusInternalServerError, err)
	case !ok:
		writeJSON(w, http.StatusNotFound, apiError{Code: http.StatusNotFound, Message: "entry not found"})
	default:
		writeJSON(w, http.StatusOK, logged)
	}
}

// rekorError answers with Rekor's "error processing entry" wording.
func rekorError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, apiError{Code: status, Message: fmt.Sprintf("error processing entry: %v", err)})
}
