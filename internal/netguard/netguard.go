// Package netguard holds the rules every network client of attest-publish
// follows:
//
//   - credentials (OIDC tokens, minted API tokens, passwords, GITHUB_TOKEN)
//     travel over HTTPS only; plain http is accepted for loopback hosts
//     (localhost, 127.0.0.0/8, ::1) alone, so tests and local stacks work;
//   - a request that carries credentials is never redirected to another
//     origin (scheme, host and port) or to plain http (CheckRedirect,
//     Guard);
//   - no connection may stall forever (IdleTimeoutTransport, TUFFetcher),
//     and response bodies read into memory are bounded (LimitBody).
package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/util"
	"github.com/sigstore/sigstore/pkg/httpretry"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// maxRedirects is how many redirects CheckRedirect follows (net/http's
// default).
const maxRedirects = 10

// IsLoopback reports whether host (a URL's Hostname(), without a port) is
// "localhost" or a loopback IP address.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// ErrInsecureURL is wrapped by RequireHTTPS's error for a plain-http URL
// whose host is not a loopback address.
var ErrInsecureURL = errors.New("plain http is allowed only for localhost and loopback addresses")

// RequireHTTPS parses raw and checks that it is an absolute https URL, or
// an http URL of a loopback host. The error starts with raw, quoted, so a
// caller can put the URL's role before it ("repository URL "http://…": …").
func RequireHTTPS(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", raw, err)
	}
	switch {
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, fmt.Errorf("%q: want an absolute https URL", raw)
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		fixed := *u
		fixed.Scheme = "https"
		return nil, fmt.Errorf("%q: %w (credentials travel over https only); use %q", raw, ErrInsecureURL, fixed.String())
	}
	return u, nil
}

// SameOrigin reports whether a and b have the same scheme, host and port
// (the scheme's default port filled in; names compared case-insensitively).
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return net.JoinHostPort(u.Hostname(), "443")
	case "http":
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return u.Host
}

// RedirectError is CheckRedirect's refusal.
type RedirectError struct {
	// From is the URL of the first request, To the redirect's target.
	From, To *url.URL
}

// Error names both URLs (without user information) and what to do.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("refusing to follow the redirect from %s to %s: requests that carry credentials are never redirected to another host or to plain http (if the target is the right server, configure its URL instead)",
		e.From.Redacted(), e.To.Redacted())
}

// CheckRedirect is an http.Client CheckRedirect function for requests that
// carry credentials: it follows a redirect only to the first request's
// origin, and never to plain http on a host that is not a loopback
// address; at most 10 redirects. Its refusal is a *RedirectError.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	first := via[0].URL
	if !SameOrigin(first, req.URL) || (req.URL.Scheme == "http" && !IsLoopback(req.URL.Hostname())) {
		return &RedirectError{From: first, To: req.URL}
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}

// Guard returns a copy of hc (a new client with timeout when hc is nil)
// whose CheckRedirect applies CheckRedirect before hc's own.
func Guard(hc *http.Client, timeout time.Duration) *http.Client {
	if hc == nil {
		return &http.Client{Timeout: timeout, CheckRedirect: CheckRedirect}
	}
	c := *hc
	own := hc.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := CheckRedirect(req, via); err != nil {
			return err
		}
		if own != nil {
			return own(req, via)
		}
		return nil
	}
	return &c
}

// ErrResponseTooLarge is returned by a LimitBody reader once more than its
// limit has been read.
var ErrResponseTooLarge = errors.New("response body too large")

// LimitBody returns body bounded to limit bytes: reading past the limit
// fails with an error wrapping ErrResponseTooLarge that names what (for
// example "GitHub API response").
func LimitBody(body io.ReadCloser, limit int64, what string) io.ReadCloser {
	return &limitedBody{rc: body, left: limit, limit: limit, what: what}
}

type limitedBody struct {
	rc          io.ReadCloser
	left, limit int64
	what        string
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.tooLarge()
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n + int(l.left), l.tooLarge()
	}
	return n, err
}

func (l *limitedBody) tooLarge() error {
	return fmt.Errorf("%s: %w (more than %d bytes)", l.what, ErrResponseTooLarge, l.limit)
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// LimitTransport wraps base (http.DefaultTransport when nil) so that every
// response body is bounded by LimitBody, for libraries that decode
// responses without a bound of their own.
func LimitTransport(base http.RoundTripper, limit int64, what string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return limitTransport{base: base, limit: limit, what: what}
}

type limitTransport struct {
	base  http.RoundTripper
	limit int64
	what  string
}

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.Body != nil {
		resp.Body = LimitBody(resp.Body, t.limit, t.what)
	}
	return resp, err
}

// CredentialsOnlyTo wraps base (http.DefaultTransport when nil) for a
// library client that sets an Authorization header per request and
// follows redirects itself: a request carrying Authorization (or a
// Cookie) to any origin but origin's, or over plain http to a host that is
// not a loopback address, is refused with a *RedirectError before it is
// sent. Requests without credentials pass.
func CredentialsOnlyTo(origin string, base http.RoundTripper) (http.RoundTripper, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("credentials origin %q: not an absolute URL", origin)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return credentialsOnly{origin: u, base: base}, nil
}

type credentialsOnly struct {
	origin *url.URL
	base   http.RoundTripper
}

func (t credentialsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" || req.Header.Get("Cookie") != "" {
		if !SameOrigin(t.origin, req.URL) || (req.URL.Scheme == "http" && !IsLoopback(req.URL.Hostname())) {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, &RedirectError{From: t.origin, To: req.URL}
		}
	}
	return t.base.RoundTrip(req)
}

// IdleTimeoutTransport returns a clone of http.DefaultTransport whose
// connections fail once no byte has been written or read on them for idle:
// a peer that stops reading a request body, or never answers, cannot hold
// the caller forever, while a long transfer that keeps moving is never cut.
func IdleTimeoutTransport(idle time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		ic := &idleConn{Conn: c, idle: idle}
		ic.extend()
		return ic, nil
	}
	return t
}

// idleConn moves its read and write deadlines forward on every transfer in
// either direction, so a blocked read (the transport waiting for the
// answer) survives while the request body is still being written.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) extend() { _ = c.Conn.SetDeadline(time.Now().Add(c.idle)) }

func (c *idleConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.extend()
	}
	return n, idleError(err, c.idle)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.extend()
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.extend()
	}
	return n, idleError(err, c.idle)
}

// IdleError says a connection moved no byte for too long. It is a
// net.Error whose Timeout is true.
type IdleError struct {
	// Idle is the limit that passed.
	Idle time.Duration
	err  error
}

// Error says how long the connection was idle.
func (e *IdleError) Error() string {
	return fmt.Sprintf("no data sent or received for %s: the server stalled (%v)", e.Idle, e.err)
}

// Unwrap returns the deadline error.
func (e *IdleError) Unwrap() error { return e.err }

// Timeout is true: the error is a timeout.
func (e *IdleError) Timeout() bool { return true }

// Temporary is false (net.Error).
func (e *IdleError) Temporary() bool { return false }

func idleError(err error, idle time.Duration) error {
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		return &IdleError{Idle: idle, err: err}
	}
	return err
}

// TUFTimeout bounds each TUF metadata or target download (the fetcher's own
// retries included). TUF files are small; two minutes is generous.
const TUFTimeout = 2 * time.Minute

// TUFFetcher returns sigstore-go's default TUF fetcher (its user agent and
// retrying transport) with a timeout on every download: sigstore-go's own
// default has none.
func TUFFetcher() fetcher.Fetcher {
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPUserAgent(util.ConstructUserAgent())
	f.SetHTTPClient(&http.Client{Transport: httpretry.NewTransport(nil), Timeout: TUFTimeout})
	return f
}
