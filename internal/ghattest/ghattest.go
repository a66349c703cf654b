// Package ghattest is a client for GitHub's artifact attestations API:
// listing the Sigstore bundles stored for an artifact digest in a
// repository (GET /repos/{owner}/{repo}/attestations/sha256:…, anonymous
// for public repositories) and storing one (POST
// /repos/{owner}/{repo}/attestations, what actions/attest does).
//
// It is built on go-github v60, whose typed API lacks these endpoints, so
// requests go through its NewRequest/Do with its Link-header pagination
// cursors and error types. Transient failures (transport errors, 5xx, 429,
// secondary rate limits) are retried with exponential backoff, a bounded
// number of times.
//
// The token is a secret: it is set per request, in the Authorization
// header of requests to the API's own origin only (never through a
// transport that would re-add it after a redirect), the API requests
// refuse redirects to another origin or to plain http, and it never
// appears in an error or a warning. The API URL must be https (plain http
// only for a loopback host).
package ghattest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// DefaultAPIURL is github.com's REST API.
const DefaultAPIURL = "https://api.github.com"

const (
	// DefaultLimit is how many attestations List returns at most unless
	// told otherwise (gh attestation's default).
	DefaultLimit = 30
	// MaxLimit is the largest limit List accepts (gh attestation's).
	MaxLimit = 1000
	// pageSize is the API's largest page.
	pageSize = 100
	// userAgent names this client to GitHub.
	userAgent = "attest-publish"
	// apiTimeout bounds one API request (the default client's).
	apiTimeout = 60 * time.Second
	// maxAPIResponse bounds an API response body, which go-github decodes
	// without a bound of its own: a listing page holds at most 100
	// bundles, typically a few kB each.
	maxAPIResponse = 64 << 20
)

// ErrNoAttestations is wrapped by List's error when the repository holds no
// attestation for the digest.
var ErrNoAttestations = errors.New("no attestations")

// Options configure a Client. The zero value reads anonymously from
// api.github.com, or with $GITHUB_TOKEN when it is set.
type Options struct {
	// BaseURL is the REST API root (default $GITHUB_API_URL, else
	// https://api.github.com).
	BaseURL string
	// Token authenticates the requests (default $GITHUB_TOKEN; empty:
	// anonymous, which works for public repositories).
	Token string
	// Anonymous ignores $GITHUB_TOKEN when Token is empty.
	Anonymous bool
	// HTTPClient makes the requests (default: a client with a 60 s
	// timeout). For API requests it is copied, with redirects to another
	// origin or to plain http refused and response bodies bounded.
	HTTPClient *http.Client
	// Limit is the most attestations List returns (default 30, at most 1000).
	Limit int
	// Attempts is how many times a request is tried (default 4 for List, 5
	// for Store, as octokit's retry plugin does for actions/attest).
	Attempts int
	// Backoff is the wait before the first retry (default 1 s); it doubles
	// on every retry, up to 30 s. A Retry-After header asks for longer.
	Backoff time.Duration
	// Sleep waits between attempts (default: a timer that stops early when
	// the context is done). Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Warn receives non-fatal problems (an entry List had to skip).
	Warn func(msg string)
	// Getenv reads GITHUB_API_URL and GITHUB_TOKEN (default os.Getenv).
	Getenv func(string) string
}

// Client talks to one GitHub REST API.
type Client struct {
	gh       *github.Client
	hc       *http.Client
	base     string
	baseURL  *url.URL
	token    string
	hasToken bool
	limit    int
	attempts int
	opts     Options
}

// New returns a client for the API at opts.BaseURL.
func New(opts Options) (*Client, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	base := opts.BaseURL
	if base == "" {
		base = getenv("GITHUB_API_URL")
	}
	if base == "" {
		base = DefaultAPIURL
	}
	u, err := netguard.RequireHTTPS(strings.TrimRight(base, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("GitHub API URL %w (for example %s)", err, DefaultAPIURL)
	}
	limit := opts.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return nil, fmt.Errorf("limit %d: want 1 to %d", limit, MaxLimit)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: apiTimeout}
	}
	api := netguard.Guard(hc, apiTimeout)
	api.Transport = netguard.LimitTransport(api.Transport, maxAPIResponse, "GitHub API response")
	gh := github.NewClient(api)
	token := opts.Token
	if token == "" && !opts.Anonymous {
		token = getenv("GITHUB_TOKEN")
	}
	gh.BaseURL = u
	gh.UserAgent = userAgent
	return &Client{gh: gh, hc: hc, base: u.String(), baseURL: u, token: token, hasToken: token != "", limit: limit, attempts: opts.Attempts, opts: opts}, nil
}

// Bundle is one attestation as the API returned it.
type Bundle struct {
	// JSON is the Sigstore bundle.
	JSON json.RawMessage
	// RepositoryID is the repository the attestation is stored in.
	RepositoryID int64
	// Index is the entry's position in the listing (0-based).
	Index int
}

// listResponse is the body of GET …/attestations/{digest}.
type listResponse struct {
	Attestations []struct {
		Bundle       json.RawMessage `json:"bundle"`
		BundleURL    string          `json:"bundle_url"`
		RepositoryID int64           `json:"repository_id"`
	} `json:"attestations"`
}

// List returns the attestations stored in owner/repo for digest
// ("sha256:<64 hex>"), following the Link header's cursors until the
// client's limit. Entries carry the bundle inline or only as a bundle_url
// pointing at a snappy-compressed copy (API versions from 2026-03-10 drop
// the inline copy); the inline bundle is used when present, else the
// bundle_url is fetched (without the token) and decompressed. An entry
// whose bundle cannot be fetched is skipped with a warning. It fails with
// an error wrapping ErrNoAttestations when there is nothing to verify.
func (c *Client) List(ctx context.Context, owner, repo, digest string) ([]Bundle, error) {
	if err := checkRepo(owner, repo); err != nil {
		return nil, err
	}
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	where := fmt.Sprintf("for %s in %s/%s", digest, owner, repo)
	path := fmt.Sprintf("repos/%s/%s/attestations/%s", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(digest))
	var out []Bundle
	var urlOnly int
	seen := 0
	after, page := "", 0
	for seen < c.limit {
		q := url.Values{"per_page": {fmt.Sprint(min(pageSize, c.limit-seen))}}
		if after != "" {
			q.Set("after", after)
		} else if page > 0 {
			q.Set("page", fmt.Sprint(page))
		}
		var body listResponse
		resp, err := c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &body, c.attemptsOr(4))
		if err != nil {
			if status(resp) == http.StatusNotFound {
				hint := ""
				if !c.hasToken {
					hint = " (a private repository answers like this without a token: set GITHUB_TOKEN)"
				}
				return nil, fmt.Errorf("%w %s%s", ErrNoAttestations, where, hint)
			}
			return nil, c.explain(fmt.Sprintf("listing attestations for %s in %s/%s", digest, owner, repo), resp, err, "read")
		}
		for _, a := range body.Attestations {
			if seen == c.limit {
				break
			}
			idx := seen
			seen++
			if len(a.Bundle) > 0 && string(a.Bundle) != "null" {
				out = append(out, Bundle{JSON: a.Bundle, RepositoryID: a.RepositoryID, Index: idx})
				continue
			}
			if a.BundleURL != "" {
				data, err := c.fetchBundleURL(ctx, a.BundleURL)
				if err == nil {
					out = append(out, Bundle{JSON: data, RepositoryID: a.RepositoryID, Index: idx})
					continue
				}
				if c.opts.Warn != nil {
					c.opts.Warn(fmt.Sprintf("attestation %d for %s in %s/%s: %v: skipped", idx+1, digest, owner, repo, err))
				}
			}
			urlOnly++
		}
		if len(body.Attestations) == 0 || resp == nil || (resp.After == "" && resp.NextPage == 0) {
			break
		}
		after, page = resp.After, resp.NextPage
	}
	if len(out) == 0 {
		if urlOnly > 0 {
			return nil, fmt.Errorf("%w %s: none of the %d found had a bundle that could be read (see the warnings)", ErrNoAttestations, where, urlOnly)
		}
		return nil, fmt.Errorf("%w %s", ErrNoAttestations, where)
	}
	return out, nil
}

// Store saves a Sigstore bundle (JSON) as an attestation of owner/repo and
// returns its id. The workflow needs "permissions: attestations: write" (and
// id-token: write to have signed it).
func (c *Client) Store(ctx context.Context, owner, repo string, bundleJSON []byte) (int64, error) {
	if err := checkRepo(owner, repo); err != nil {
		return 0, fmt.Errorf("persisting attestation: %w", err)
	}
	if !json.Valid(bundleJSON) {
		return 0, errors.New("persisting attestation: the bundle is not valid JSON")
	}
	path := fmt.Sprintf("repos/%s/%s/attestations", url.PathEscape(owner), url.PathEscape(repo))
	var body struct {
		ID int64 `json:"id"`
	}
	req := struct {
		Bundle json.RawMessage `json:"bundle"`
	}{Bundle: bundleJSON}
	resp, err := c.do(ctx, http.MethodPost, path, req, &body, c.attemptsOr(5))
	if err != nil {
		return 0, c.explain("persisting attestation", resp, err, "write")
	}
	if body.ID == 0 {
		return 0, fmt.Errorf("persisting attestation: %s answered %d without an attestation id", c.base+path, status(resp))
	}
	return body.ID, nil
}

// URL is where GitHub shows a stored attestation:
// ${server}/${owner}/${repo}/attestations/${id}, as actions/attest's
// attestation-url output.
func URL(serverURL, owner, repo string, id int64) string {
	if serverURL == "" {
		serverURL = "https://github.com"
	}
	return fmt.Sprintf("%s/%s/%s/attestations/%d", strings.TrimRight(serverURL, "/"), owner, repo, id)
}

// SplitRepo splits "owner/repo" (as --from-github and GITHUB_REPOSITORY
// name a repository).
func SplitRepo(s string) (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(repo, "/") {
		return "", "", fmt.Errorf("repository %q: want OWNER/REPO", s)
	}
	return owner, repo, checkRepo(owner, repo)
}

func checkRepo(owner, repo string) error {
	for _, s := range []string{owner, repo} {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/?#%\\ \t\n") {
			return fmt.Errorf("repository %q/%q: want OWNER/REPO", owner, repo)
		}
	}
	return nil
}

func checkDigest(d string) error {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return fmt.Errorf("digest %q: want sha256:<64 hex characters>", d)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fmt.Errorf("digest %q: %w", d, err)
	}
	return nil
}

func (c *Client) attemptsOr(n int) int {
	if c.attempts > 0 {
		return c.attempts
	}
	return n
}

func status(resp *github.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}
