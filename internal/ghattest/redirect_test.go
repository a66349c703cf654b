package ghattest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTokenStaysOnTheAPIHost (security review, finding 6): GITHUB_TOKEN is
// sent to the API's host only. When the API redirects List (302) or Store
// (307) to another host, that host never receives the token (the redirect
// is refused); a redirect within the API's own origin keeps it.
func TestTokenStaysOnTheAPIHost(t *testing.T) {
	var mu sync.Mutex
	var otherSaw []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherSaw = append(otherSaw, r.Method+" "+r.Host+" Authorization="+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Method == http.MethodPost {
			reply(201, map[string]any{"id": 7})(w, r)
			return
		}
		list(entries(1))(w, r)
	}))
	defer other.Close()

	cases := []struct {
		name    string
		store   bool
		target  func(apiURL string) string // where the API redirects
		status  int
		wantErr bool
	}{
		{name: "List redirected (302) to another host", target: func(string) string {
			return strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
		}, status: http.StatusFound, wantErr: true},
		{name: "List redirected (302) to the same host name on another port", target: func(string) string {
			return other.URL
		}, status: http.StatusFound, wantErr: true},
		{name: "Store redirected (307) to another host", store: true, target: func(string) string {
			return other.URL
		}, status: http.StatusTemporaryRedirect, wantErr: true},
		{name: "List redirected (301) within the API's origin keeps the token", target: func(apiURL string) string {
			return apiURL + "/moved"
		}, status: http.StatusMovedPermanently},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			otherSaw = nil
			mu.Unlock()
			var apiSaw []string
			var api *httptest.Server
			api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				apiSaw = append(apiSaw, r.URL.Path+" Authorization="+r.Header.Get("Authorization"))
				mu.Unlock()
				if strings.HasPrefix(r.URL.Path, "/moved") {
					list(entries(1))(w, r)
					return
				}
				http.Redirect(w, r, tc.target(api.URL)+r.URL.Path, tc.status)
			}))
			defer api.Close()
			var sleeps []time.Duration
			c := newClient(t, api, Options{Token: token}, &sleeps)
			var err error
			if tc.store {
				_, err = c.Store(context.Background(), "o", "r", []byte(`{"mediaType":"x"}`))
			} else {
				_, err = c.List(context.Background(), "o", "r", digest)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, s := range otherSaw {
				if strings.Contains(s, token) {
					t.Errorf("the other host received the token: %q", s)
				}
			}
			if len(apiSaw) == 0 || !strings.Contains(apiSaw[0], "Bearer "+token) {
				t.Errorf("the API did not receive the token: %q", apiSaw)
			}
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if len(apiSaw) != 2 || !strings.Contains(apiSaw[1], "Bearer "+token) {
					t.Errorf("the redirect within the API lost the token: %q", apiSaw)
				}
				return
			}
			if err == nil {
				t.Fatalf("the redirect to another host was followed; it saw %q", otherSaw)
			}
			if !strings.Contains(err.Error(), "refusing to follow the redirect") || strings.Contains(err.Error(), token) {
				t.Errorf("error: %v", err)
			}
			if len(sleeps) != 0 {
				t.Errorf("a refused redirect was retried (%d waits)", len(sleeps))
			}
		})
	}
}
