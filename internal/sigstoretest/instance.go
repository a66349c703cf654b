package sigstoretest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// DefaultIssuer is the OIDC issuer the fake Fulcio accepts unless WithIssuer
// says otherwise: GitHub Actions' own, so certificates look like real ones.
const DefaultIssuer = "https://token.actions.githubusercontent.com"

// DefaultGitHubURL is the server URL the fake Fulcio puts in front of
// repository and workflow names (Fulcio's {{ .url }} template value).
const DefaultGitHubURL = "https://github.com"

// Instance is one running fake Sigstore. Its methods are safe for concurrent
// use.
type Instance struct {
	issuer    string
	githubURL string
	dir       string

	pki   *pki
	log   *rekorLog
	trust *root.TrustedRoot

	fulcio *httptest.Server
	tsa    *httptest.Server
	rekor  *httptest.Server

	fulcioCount atomic.Int64
	tsaCount    atomic.Int64
	rekorCount  atomic.Int64

	tsaFaults   faults
	rekorFaults faults
	rekorDown   sync.Once

	trustedRootPath string
}

// Option configures Start.
type Option func(*config)

type config struct {
	issuer    string
	githubURL string
	caOrg     string
}

// WithIssuer sets the OIDC issuer that tokens carry and the fake Fulcio
// accepts (default DefaultIssuer).
func WithIssuer(issuer string) Option {
	return func(c *config) { c.issuer = issuer }
}

// WithGitHubURL sets the server URL used in the certificate SAN and the
// repository extensions (default DefaultGitHubURL), as for GitHub Enterprise.
func WithGitHubURL(url string) Option {
	return func(c *config) { c.githubURL = url }
}

// WithCAOrganization names the Organization of the Fulcio intermediate that
// issues the certificates (sigstore-go's test CA says "sigstore.dev"); with
// "GitHub, Inc." the instance looks like GitHub's own Sigstore instance.
func WithCAOrganization(org string) Option {
	return func(c *config) { c.caOrg = org }
}

// Start generates fresh keys, starts the Fulcio, timestamp authority and
// Rekor v1 fakes on 127.0.0.1, writes the trusted root, and registers their
// shutdown with t.Cleanup. It fails the test on any setup error.
func Start(t testing.TB, opts ...Option) *Instance {
	t.Helper()
	cfg := config{issuer: DefaultIssuer, githubURL: DefaultGitHubURL}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := newPKI(cfg.caOrg)
	if err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	in := &Instance{issuer: cfg.issuer, githubURL: cfg.githubURL, dir: t.TempDir(), pki: p}
	in.fulcio = serve(t, "/api/v2/signingCert", in.handleSigningCert)
	in.tsa = serve(t, tsaPath, in.handleTimestamp)
	rekorMux := http.NewServeMux()
	rekorMux.HandleFunc("POST "+rekorEntriesPath, in.handleCreateEntry)
	rekorMux.HandleFunc("GET "+rekorEntriesPath+"/{id}", in.handleGetEntry)
	in.rekor = httptest.NewServer(rekorMux)
	t.Cleanup(in.RekorDown)
	in.log, err = newRekorLog(p.rekorKey, in.rekor.URL)
	if err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	if err := in.writeTrustedRoot(); err != nil {
		t.Fatalf("sigstoretest: %v", err)
	}
	return in
}

// serve starts an httptest server answering one path.
func serve(t testing.TB, path string, h http.HandlerFunc) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+path, h)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Issuer returns the OIDC issuer URL the fake Fulcio accepts and records in
// certificates.
func (in *Instance) Issuer() string { return in.issuer }

// FulcioURL returns the fake Fulcio's base URL.
func (in *Instance) FulcioURL() string { return in.fulcio.URL }

// TSAURL returns the fake timestamp authority's full timestamping URL.
func (in *Instance) TSAURL() string { return in.tsa.URL + tsaPath }

// RekorURL returns the fake Rekor's base URL.
func (in *Instance) RekorURL() string { return in.rekor.URL }

// FulcioRequests counts signing-certificate requests received, refused ones
// included.
func (in *Instance) FulcioRequests() int { return int(in.fulcioCount.Load()) }

// TSARequests counts timestamp requests received, injected failures included.
func (in *Instance) TSARequests() int { return int(in.tsaCount.Load()) }

// RekorRequests counts entry-creation requests received, injected failures
// included (entry lookups are not counted).
func (in *Instance) RekorRequests() int { return int(in.rekorCount.Load()) }

// FailRekor makes the next times entry-creation requests fail with HTTP
// status, with a Rekor-style JSON error body. Status 409 is special: the
// entry is logged and the reply is Rekor's conflict answer pointing at it,
// which exercises a client's fetch-the-existing-entry path.
func (in *Instance) FailRekor(status, times int) { in.rekorFaults.set(status, times) }

// FailTSA makes the next times timestamp requests fail with HTTP status.
func (in *Instance) FailTSA(status, times int) { in.tsaFaults.set(status, times) }

// RekorDown shuts the Rekor server down, so later connections are refused.
// It cannot be brought back.
func (in *Instance) RekorDown() { in.rekorDown.Do(in.rekor.Close) }

// faults is a goroutine-safe "fail the next n requests with status" switch.
type faults struct {
	mu        sync.Mutex
	status    int
	remaining int
}

func (f *faults) set(status, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.remaining = status, times
}

// take returns the status to fail the current request with, or 0.
func (f *faults) take() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.remaining <= 0 {
		return 0
	}
	f.remaining--
	return f.status
}
