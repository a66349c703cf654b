package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStandIn starts the stand-in, uploads and downloads a file as GitLab
// CI's curl would, and stops it.
func TestStandIn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	urlFile := filepath.Join(t.TempDir(), "api.url")
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-job-token", "secret", "-url-file", urlFile, "-fail-put-from", "2"}, &strings.Builder{})
	}()
	var api string
	for i := 0; i < 100 && api == ""; i++ {
		data, _ := os.ReadFile(urlFile)
		api = strings.TrimSpace(string(data))
		time.Sleep(20 * time.Millisecond)
	}
	if api == "" {
		t.Fatal("the stand-in never wrote its URL")
	}
	file := api + "/projects/1/packages/generic/pkg/1.0/a.sig"
	do := func(method, token string) int {
		req, _ := http.NewRequest(method, file, strings.NewReader("sig"))
		if token != "" {
			req.Header.Set("JOB-TOKEN", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		method, token string
		want          int
	}{
		{"PUT", "", 401}, {"PUT", "secret", 201}, {"GET", "secret", 200}, {"GET", "", 404}, {"PUT", "secret", 503},
	} {
		if got := do(c.method, c.token); got != c.want {
			t.Errorf("%s with token %q: %d, want %d", c.method, c.token, got, c.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-job-token", "x", "-listen", "0.0.0.0:0"}, &strings.Builder{}); err == nil {
		t.Error("listened beyond loopback")
	}
}
