package netguard

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRequireHTTPS(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{url: "https://upload.pypi.org/legacy/"},
		{url: "http://127.0.0.1:8080/legacy/"},
		{url: "http://localhost/legacy/"},
		{url: "http://[::1]:9/"},
		{url: "http://127.8.9.10/"},
		{url: "http://pypi.example.test/legacy/", wantErr: `"http://pypi.example.test/legacy/": plain http is allowed only for localhost and loopback addresses (credentials travel over https only); use "https://pypi.example.test/legacy/"`},
		{url: "http://localhost.example.test/", wantErr: "plain http"},
		{url: "http://127.0.0.1.example.test/", wantErr: "plain http"},
		{url: "ftp://pypi.example.test/", wantErr: "want an absolute https URL"},
		{url: "/legacy/", wantErr: "want an absolute https URL"},
		{url: "::", wantErr: `"::"`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := RequireHTTPS(tt.url)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to say %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckRedirect(t *testing.T) {
	parse := func(s string) *http.Request {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: u}
	}
	tests := []struct {
		name, from, to string
		ok             bool
	}{
		{"same origin", "https://pypi.org/a", "https://pypi.org/b", true},
		{"same origin, explicit default port", "https://pypi.org/a", "https://PyPI.org:443/b", true},
		{"loopback http, same port", "http://127.0.0.1:9/a", "http://127.0.0.1:9/b", true},
		{"another host", "https://pypi.org/a", "https://evil.example/b", false},
		{"a subdomain", "https://pypi.org/a", "https://files.pypi.org/b", false},
		{"another port", "http://127.0.0.1:9/a", "http://127.0.0.1:10/b", false},
		{"down to plain http", "https://pypi.org/a", "http://pypi.org/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRedirect(parse(tt.to), []*http.Request{parse(tt.from)})
			var re *RedirectError
			if tt.ok != (err == nil) || (!tt.ok && !errors.As(err, &re)) {
				t.Errorf("CheckRedirect(%s → %s) = %v", tt.from, tt.to, err)
			}
		})
	}
}

func TestLimitBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		limit   int64
		wantErr bool
	}{
		{"under the limit", "abc", 4, false},
		{"at the limit", "abcd", 4, false},
		{"over the limit", "abcde", 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(LimitBody(io.NopCloser(strings.NewReader(tt.body)), tt.limit, "test response"))
			if tt.wantErr {
				if !errors.Is(err, ErrResponseTooLarge) || !strings.Contains(err.Error(), "test response") || int64(len(got)) > tt.limit {
					t.Errorf("read %d bytes, err %v", len(got), err)
				}
				return
			}
			if err != nil || string(got) != tt.body {
				t.Errorf("read %q, err %v", got, err)
			}
		})
	}
}

func TestCredentialsOnlyTo(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	rt, err := CredentialsOnlyTo(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	tests := []struct {
		name, url, auth string
		ok              bool
	}{
		{"credentials to the origin", srv.URL + "/x", "Bearer t", true},
		{"no credentials elsewhere", other + "/x", "", true},
		{"credentials elsewhere", other + "/x", "Bearer t", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			before := hits.Load()
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if sent := hits.Load() != before; tt.ok != (err == nil) || tt.ok != sent {
				t.Errorf("err %v, sent %v", err, sent)
			}
		})
	}
}
