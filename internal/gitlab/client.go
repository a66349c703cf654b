package gitlab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// Defaults of Options.
const (
	DefaultTimeout  = 60 * time.Second
	DefaultAttempts = 3
	DefaultBackoff  = time.Second
	// maxWait caps one wait between attempts, whatever Retry-After asks.
	maxWait = 30 * time.Second
	// maxErrorBody bounds what is read of an error or JSON answer.
	maxErrorBody = 64 << 10
)

// ErrNotFound is wrapped by Download's error when the registry has no such
// file (HTTP 404; a private project answers 404 without a token too).
var ErrNotFound = errors.New("not found")

// Options configure a Client.
type Options struct {
	// Package is the generic package to store to or fetch from.
	Package *Package
	// Token authenticates (zero: anonymous, for public projects).
	Token Token
	// Timeout bounds each request (default 60 s).
	Timeout time.Duration
	// Attempts bounds the tries of a request failing transiently
	// (connection error, 5xx, 429; default 3); Backoff is the first wait,
	// doubling (default 1 s, at most 30 s or Retry-After).
	Attempts int
	Backoff  time.Duration
	// Sleep waits between attempts (default: a timer that stops early when
	// the context is done). Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Transport makes the requests (default http.DefaultTransport).
	Transport http.RoundTripper
}

// Client talks to one generic package. It is safe for concurrent use.
type Client struct {
	opts Options
	pkg  *Package
	http *http.Client
}

// New checks the options and makes a client. It contacts nothing.
func New(o Options) (*Client, error) {
	if o.Package == nil {
		return nil, errors.New("gitlab: no package URL")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	base := o.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	// The token is added by the transport, to requests for the package's
	// origin only: a redirect's next hop never inherits it, and the client
	// refuses hops off that origin anyway.
	hc := &http.Client{
		Timeout:       o.Timeout,
		Transport:     &tokenTransport{origin: o.Package.URL, token: o.Token, base: base},
		CheckRedirect: netguard.CheckRedirect,
	}
	return &Client{opts: o, pkg: o.Package, http: hc}, nil
}

// Package is the client's package.
func (c *Client) Package() *Package { return c.pkg }

// tokenTransport adds the token header to requests for origin.
type tokenTransport struct {
	origin *neturl.URL
	token  Token
	base   http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.token.IsZero() || !netguard.SameOrigin(t.origin, req.URL) || (req.URL.Scheme == "http" && !netguard.IsLoopback(req.URL.Hostname())) {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set(t.token.Header, t.token.Value)
	return t.base.RoundTrip(r)
}

// StatusError is a request the registry refused or failed.
type StatusError struct {
	// Method and URL are the request's.
	Method, URL string
	// Status is the HTTP status; Message GitLab's message (or the status
	// text).
	Status  int
	Message string
	// Attempts is how many times it was tried.
	Attempts int
	// Hint says what to change ("" when nothing obvious).
	Hint string
}

// Error says what failed, how, and what to do.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

// Unwrap is ErrNotFound for a 404.
func (e *StatusError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}

// transient reports whether another attempt may succeed.
func (e *StatusError) transient() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// Download fetches a file of the package, at most limit bytes of it,
// retrying transient failures. A missing file is an error wrapping
// ErrNotFound.
func (c *Client) Download(ctx context.Context, file string, limit int64) ([]byte, error) {
	if err := CheckName("file name", file); err != nil {
		return nil, err
	}
	u := c.pkg.FileURL(file)
	var last error
	for n := 1; ; n++ {
		data, wait, err := c.get(ctx, u, limit)
		if err == nil {
			return data, nil
		}
		last = err
		var se *StatusError
		retry := wait >= 0 && ctx.Err() == nil
		if errors.As(err, &se) {
			se.Attempts = n
		}
		if !retry || n >= c.opts.Attempts {
			if !errors.As(err, &se) && n > 1 {
				return nil, fmt.Errorf("%w (after %d attempts)", last, n)
			}
			return nil, last
		}
		if err := c.sleep(ctx, max(wait, c.backoff(n))); err != nil {
			return nil, fmt.Errorf("%w (retry cancelled: %v)", last, err)
		}
	}
}

// get makes one GET. wait is -1 when the failure is final, else the least
// wait the server asked for.
func (c *Client) get(ctx context.Context, u string, limit int64) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, -1, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.connWait(err), fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		se := c.statusError(http.MethodGet, u, resp)
		if se.transient() {
			return nil, retryAfter(resp), se
		}
		return nil, -1, se
	}
	body := netguard.LimitBody(resp.Body, limit, "GET "+u)
	data, err := io.ReadAll(body)
	if err != nil {
		if errors.Is(err, netguard.ErrResponseTooLarge) {
			return nil, -1, err
		}
		return nil, 0, fmt.Errorf("GET %s: reading: %w", u, err)
	}
	// GitLab names the stored file's SHA-256 (X-Checksum-SHA256): the
	// bytes must be those.
	if want := resp.Header.Get("X-Checksum-SHA256"); want != "" {
		sum := sha256.Sum256(data)
		if !strings.EqualFold(want, hex.EncodeToString(sum[:])) {
			return nil, 0, fmt.Errorf("GET %s: the download's sha256 is not the X-Checksum-SHA256 the registry announced (%s): truncated or altered in transit", u, want)
		}
	}
	return data, 0, nil
}

// Upload stores one file of the package with a single PUT (the caller
// decides about retries: a PUT that failed may still have been stored) and
// returns the SHA-256 GitLab says it stored ("" when its answer does not
// say: GitLab before select=package_file, or the plain 201 answer).
func (c *Client) Upload(ctx context.Context, file string, data []byte) (string, error) {
	if err := CheckName("file name", file); err != nil {
		return "", err
	}
	u := c.pkg.FileURL(file) + "?select=package_file"
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("PUT %s: %w", c.pkg.FileURL(file), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return "", c.statusError(http.MethodPut, c.pkg.FileURL(file), resp)
	}
	raw, err := io.ReadAll(netguard.LimitBody(resp.Body, maxErrorBody, "PUT answer"))
	if err != nil {
		return "", fmt.Errorf("PUT %s: reading the answer: %w", c.pkg.FileURL(file), err)
	}
	var pf struct {
		FileName   string `json:"file_name"`
		FileSHA256 string `json:"file_sha256"`
	}
	if json.Unmarshal(raw, &pf) == nil {
		return strings.ToLower(pf.FileSHA256), nil
	}
	return "", nil
}

// statusError reads GitLab's message from a failed answer and says what to
// change.
func (c *Client) statusError(method, u string, resp *http.Response) *StatusError {
	raw, _ := io.ReadAll(netguard.LimitBody(resp.Body, maxErrorBody, "error answer"))
	se := &StatusError{Method: method, URL: u, Status: resp.StatusCode, Message: gitlabMessage(raw, resp.StatusCode), Attempts: 1}
	tok := c.opts.Token
	write := method == http.MethodPut
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if tok.IsZero() {
			se.Hint = "authentication required: in a GitLab CI job $CI_JOB_TOKEN is set; elsewhere set $GITLAB_TOKEN to a token with the api scope (or $GITLAB_DEPLOY_TOKEN)"
		} else {
			se.Hint = "GitLab refused " + tok.String() + ": it is invalid or expired"
		}
	case http.StatusForbidden:
		if write {
			se.Hint = tok.String() + " may not write this project's packages (a job token needs a Developer role pipeline and, with fine-grained job token permissions, admin_packages); the package name may be protected"
		} else {
			se.Hint = tok.String() + " may not read this project's packages"
		}
	case http.StatusNotFound:
		if write || tok.IsZero() {
			se.Hint = "no such project, the package registry is disabled, or it cannot be seen without a token (private projects answer 404)"
		}
	case http.StatusBadRequest:
		if strings.Contains(strings.ToLower(se.Message), "duplicate") {
			se.Hint = "the namespace forbids duplicate generic packages: store under a new version, or allow duplicates in the group's package settings"
		}
	}
	return se
}

// gitlabMessage extracts GitLab's {"message": …} or {"error": …}, on one
// line and bounded; the status text otherwise.
func gitlabMessage(raw []byte, status int) string {
	var m struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
	}
	msg := ""
	if json.Unmarshal(raw, &m) == nil {
		var s string
		if json.Unmarshal(m.Message, &s) == nil {
			msg = s
		} else if len(m.Message) > 0 {
			msg = string(m.Message)
		} else {
			msg = m.Error
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// connWait is 0 for a connection failure worth another attempt, -1 for a
// final one (a refused redirect, a cancelled context).
func (c *Client) connWait(err error) time.Duration {
	var re *netguard.RedirectError
	if errors.As(err, &re) || errors.Is(err, context.Canceled) {
		return -1
	}
	return 0
}

// retryAfter is the Retry-After seconds of resp (0 when none), capped.
func retryAfter(resp *http.Response) time.Duration {
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		return min(time.Duration(s)*time.Second, maxWait)
	}
	return 0
}

func (c *Client) backoff(n int) time.Duration {
	d := c.opts.Backoff
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.opts.Sleep != nil {
		return c.opts.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
