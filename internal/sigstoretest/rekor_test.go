package sigstoretest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/attest-publish/attest-publish/internal/sigstoretest"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// TestRekorDuplicateAndLookup resubmits a logged entry: Rekor answers 409
// with the entry's location, and GET there returns the same entry.
func TestRekorDuplicateAndLookup(t *testing.T) {
	in := sigstoretest.Start(t)
	pb, err := signWith(t, &sign.PlainData{Data: []byte("artifact")}, bundleOptions(t, in, in.Token(nil)))
	if err != nil {
		t.Fatal(err)
	}
	entry := pb.GetVerificationMaterial().GetTlogEntries()[0]
	// A canonicalized body is itself a valid proposed entry.
	resp, err := http.Post(in.RekorURL()+"/api/v1/log/entries", "application/json", bytes.NewReader(entry.GetCanonicalizedBody()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	location := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusConflict || !strings.HasPrefix(location, in.RekorURL()+"/api/v1/log/entries/") {
		t.Fatalf("resubmission: %d, Location %q", resp.StatusCode, location)
	}
	for _, url := range []string{location, in.RekorURL() + "/api/v1/log/entries/" + location[len(location)-64:]} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]struct {
			LogIndex int64  `json:"logIndex"`
			Body     []byte `json:"body"`
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(got) != 1 {
			t.Fatalf("GET %s: %d %v %v", url, resp.StatusCode, got, err)
		}
		for _, e := range got {
			if e.LogIndex != entry.GetLogIndex() || !bytes.Equal(e.Body, entry.GetCanonicalizedBody()) {
				t.Errorf("GET %s: index %d, body %s", url, e.LogIndex, e.Body)
			}
		}
	}
	resp, err = http.Get(in.RekorURL() + "/api/v1/log/entries/" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown entry: %d", resp.StatusCode)
	}
	if in.RekorRequests() != 2 {
		t.Errorf("RekorRequests = %d, want 2 (lookups are not counted)", in.RekorRequests())
	}
}

func TestRekorRejectsInvalidEntries(t *testing.T) {
	in := sigstoretest.Start(t)
	body := `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"` +
		strings.Repeat("ab", 32) + `"}},"signature":{"content":"AAAA","publicKey":{"content":"AAAA"}}}}`
	resp, err := http.Post(in.RekorURL()+"/api/v1/log/entries", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid entry: %d", resp.StatusCode)
	}
}
