package ghattest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// gaveUpError is a transient failure that lasted through every attempt.
type gaveUpError struct {
	attempts int
	err      error
}

func (e *gaveUpError) Error() string {
	return fmt.Sprintf("giving up after %d attempts: %v", e.attempts, e.err)
}
func (e *gaveUpError) Unwrap() error { return e.err }

// maxWait caps one wait between attempts, whatever Retry-After asks.
const maxWait = 60 * time.Second

// do sends one API request, retrying transient failures: transport errors,
// 5xx, 429 and secondary rate limits. A request is rebuilt for every attempt
// (its body is consumed by the previous one).
func (c *Client) do(ctx context.Context, method, path string, body, v any, attempts int) (*github.Response, error) {
	for n := 1; ; n++ {
		req, err := c.gh.NewRequest(method, path, body)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		if c.token != "" && netguard.SameOrigin(req.URL, c.baseURL) {
			// Per request, to the API's origin only: net/http's redirect
			// handling decides what a next hop carries, and the client
			// refuses hops off this origin.
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.gh.Do(ctx, req, v)
		if err == nil {
			return resp, nil
		}
		wait, retry := c.retryable(ctx, resp, err, n)
		if !retry {
			return resp, err
		}
		if n >= attempts {
			return resp, &gaveUpError{attempts: n, err: err}
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return resp, fmt.Errorf("%w (retry cancelled: %v)", err, serr)
		}
	}
}

// retryable says whether attempt n's failure is worth another attempt, and
// how long to wait first.
func (c *Client) retryable(ctx context.Context, resp *github.Response, err error, n int) (time.Duration, bool) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	var redirect *netguard.RedirectError
	if errors.As(err, &redirect) || errors.Is(err, netguard.ErrResponseTooLarge) {
		return 0, false
	}
	wait := c.backoff(n)
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		if abuse.RetryAfter != nil {
			wait = max(wait, *abuse.RetryAfter)
		}
		return min(wait, maxWait), true
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return 0, false // the primary limit resets within the hour: say so instead
	}
	st := status(resp)
	switch {
	case st == 0:
		return wait, true // no response: the connection failed
	case st >= 500 || st == http.StatusTooManyRequests:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			wait = max(wait, time.Duration(s)*time.Second)
		}
		return min(wait, maxWait), true
	}
	return 0, false
}

func (c *Client) backoff(n int) time.Duration {
	d := c.opts.Backoff
	if d <= 0 {
		d = time.Second
	}
	for i := 1; i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
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

// explain turns a failed request into an error saying what to change.
// access is "read" (listing) or "write" (storing).
func (c *Client) explain(what string, resp *github.Response, err error, access string) error {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		hint := ""
		if !c.hasToken {
			hint = "; anonymous requests are limited to 60 an hour per address: set GITHUB_TOKEN"
		}
		return fmt.Errorf("%s: GitHub API rate limit exceeded (resets %s)%s", what, rl.Rate.Reset.Time.UTC().Format(time.RFC3339), hint)
	}
	st := status(resp)
	if st == 0 || errors.Is(err, netguard.ErrResponseTooLarge) {
		return fmt.Errorf("%s: %w", what, err)
	}
	msg := apiMessage(err, st)
	perm := `a fine-grained token needs the repository permission "Attestations: read" (a classic token: repo scope for a private repository); in a workflow, "permissions: attestations: read"`
	if access == "write" {
		perm = `in a workflow, give the job "permissions: attestations: write" (and id-token: write); a fine-grained token needs "Attestations: read and write"`
	}
	switch {
	case st == http.StatusUnauthorized && c.hasToken:
		hint := "GITHUB_TOKEN (or the token given) is invalid or expired"
		if access == "read" {
			hint += "; public repositories can be read without one: unset it"
		}
		return fmt.Errorf("%s: GitHub refused the token (HTTP 401 %s): %s", what, msg, hint)
	case st == http.StatusUnauthorized:
		return fmt.Errorf("%s: authentication required (HTTP 401 %s): set GITHUB_TOKEN to a token that can %s attestations (%s)", what, msg, access, perm)
	case st == http.StatusForbidden && strings.Contains(strings.ToLower(msg), "not available"):
		return fmt.Errorf("%s: %s (HTTP 403): artifact attestations of private or internal repositories need GitHub Enterprise Cloud; user-owned private repositories cannot store them, public ones can on every plan", what, msg)
	case st == http.StatusForbidden:
		who := "the token"
		if !c.hasToken {
			who = "an anonymous request (set GITHUB_TOKEN)"
		}
		return fmt.Errorf("%s: %s (HTTP 403): %s may not %s attestations here: %s", what, msg, who, access, perm)
	}
	tries := ""
	var gu *gaveUpError
	if errors.As(err, &gu) {
		tries = fmt.Sprintf(", %d attempts", gu.attempts)
	}
	return fmt.Errorf("%s: %s (HTTP %d%s)", what, msg, st, tries)
}

// apiMessage is GitHub's message for a failed request, or the status text.
func apiMessage(err error, st int) string {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Message != "" {
		msg := er.Message
		for _, e := range er.Errors {
			if e.Message != "" {
				msg += ": " + e.Message
			}
		}
		return msg
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) && abuse.Message != "" {
		return abuse.Message
	}
	return http.StatusText(st)
}
