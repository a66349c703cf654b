package ghattest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
)

// TestListBundleURL: entries that carry only a bundle_url are fetched
// (without the API token), decompressed and returned; unreadable ones are
// skipped with a warning that says why; 5xx is retried.
func TestListBundleURL(t *testing.T) {
	var mu sync.Mutex
	auth := map[string]string{}
	hits := map[string]int{}
	blobs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth[r.URL.Path] = r.Header.Get("Authorization")
		hits[r.URL.Path]++
		n := hits[r.URL.Path]
		mu.Unlock()
		switch r.URL.Path {
		case "/good":
			w.Write(snappy.Encode(nil, bundles[0]))
		case "/flaky":
			if n == 1 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			w.Write(snappy.Encode(nil, bundles[1]))
		case "/plain":
			w.Write(bundles[0]) // not compressed
		case "/notjson":
			w.Write(snappy.Encode(nil, []byte("<html>")))
		default:
			http.NotFound(w, r)
		}
	}))
	defer blobs.Close()
	es := []map[string]any{
		{"bundle_url": blobs.URL + "/good", "repository_id": 1},
		{"bundle": nil, "bundle_url": blobs.URL + "/flaky", "repository_id": 1},
		{"bundle_url": blobs.URL + "/plain"},
		{"bundle_url": blobs.URL + "/notjson"},
		{"bundle_url": blobs.URL + "/gone"},
	}
	api := httptest.NewServer(&fakeAPI{steps: []func(http.ResponseWriter, *http.Request){list(es)}})
	defer api.Close()
	var sleeps []time.Duration
	var warnings []string
	c := newClient(t, api, Options{Token: token, Warn: func(m string) { warnings = append(warnings, m) }}, &sleeps)
	got, err := c.List(context.Background(), "o", "r", digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0].JSON, bundles[0]) || !bytes.Equal(got[1].JSON, bundles[1]) || got[0].Index != 0 || got[1].Index != 1 {
		t.Fatalf("got %d bundles: %+v", len(got), got)
	}
	if hits["/flaky"] != 2 || len(sleeps) != 1 {
		t.Errorf("flaky bundle_url: %d requests, %d sleeps; want 2 and 1", hits["/flaky"], len(sleeps))
	}
	for path, a := range auth {
		if a != "" {
			t.Errorf("%s received an Authorization header", path)
		}
	}
	want := []string{"attestation 3", "decompressing (snappy)", "attestation 4", "not JSON", "attestation 5", "404"}
	joined := strings.Join(warnings, "\n")
	if len(warnings) != 3 {
		t.Errorf("want 3 warnings, got:\n%s", joined)
	}
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings lack %q:\n%s", w, joined)
		}
	}
	if strings.Contains(joined, token) {
		t.Error("a warning shows the token")
	}
}
