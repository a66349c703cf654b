package pypi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/netguard"
)

// Client talks to one package index. The zero value is usable.
type Client struct {
	// HTTP sends requests (default: a client with a 30 s timeout for the
	// trusted-publishing calls, and for uploads one that gives up when the
	// connection is idle for uploadIdleTimeout or the upload takes longer
	// than uploadTimeout). The trusted-publishing calls never follow a
	// redirect to another origin or to plain http, and uploads follow none,
	// whatever its CheckRedirect says.
	HTTP *http.Client
	// UserAgent is sent with every request (default "attest-publish").
	UserAgent string
	// Mask is called with every secret (a minted API token) as soon as it
	// is known and before it is used, so a CI log can hide it; see
	// actionio.Action.Mask. Nil does nothing.
	Mask func(secret string)
	// Warn receives non-fatal diagnostics (a reusable workflow). Nil drops
	// them.
	Warn func(msg string)
}

// DefaultClient is the Client a TokenSource without one uses.
var DefaultClient = &Client{}

// metaTimeout bounds the audience and mint requests, like the reference
// implementation's 5 s, with room for slow CI networks.
const metaTimeout = 30 * time.Second

// maxMetaResponse bounds the audience and mint-token responses read into
// memory (each a small JSON object).
const maxMetaResponse = 1 << 20

// uploadIdleTimeout fails an upload whose connection has moved no byte,
// in either direction, for this long: an index that stops reading the
// file or never answers. It is generous, since the index may take a while
// to check and store a large file after its last byte.
const uploadIdleTimeout = 5 * time.Minute

// uploadTimeout bounds one upload request as a whole, however steadily
// its bytes move (two hours covers gigabytes over slow CI links).
const uploadTimeout = 2 * time.Hour

// uploadTransport is the default uploads' transport, shared so that
// connections are reused (a variable so that tests can shorten the idle
// timeout).
var uploadTransport http.RoundTripper = netguard.IdleTimeoutTransport(uploadIdleTimeout)

// httpClient returns the client for the trusted-publishing calls (bounded)
// or for uploads. The trusted-publishing client refuses redirects to
// another origin or to plain http.
func (c *Client) httpClient(bounded bool) *http.Client {
	var hc *http.Client
	if c != nil {
		hc = c.HTTP
	}
	if bounded {
		return netguard.Guard(hc, metaTimeout)
	}
	if hc != nil {
		return hc
	}
	return &http.Client{Timeout: uploadTimeout, Transport: uploadTransport}
}

func (c *Client) userAgent() string {
	if c != nil && c.UserAgent != "" {
		return c.UserAgent
	}
	return "attest-publish"
}

func (c *Client) warn(msg string) {
	if c != nil && c.Warn != nil {
		c.Warn(msg)
	}
}

func (c *Client) mask(secret string) {
	if c != nil && c.Mask != nil {
		c.Mask(secret)
	}
}

// indexBase returns scheme://netloc of an index or repository URL, where
// the trusted-publishing endpoints live. The URL must be https (plain http
// only for a loopback host).
func indexBase(indexURL string) (*url.URL, error) {
	u, err := CheckRepositoryURL(indexURL)
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// CheckRepositoryURL parses an index or repository URL, which carries
// credentials (an OIDC token, an API token or a password): it must be an
// https URL, or plain http for a loopback host (tests, local indexes).
func CheckRepositoryURL(raw string) (*url.URL, error) {
	u, err := netguard.RequireHTTPS(raw)
	if err != nil {
		return nil, fmt.Errorf("repository URL %w (PyPI's is https://upload.pypi.org/legacy/)", err)
	}
	return u, nil
}

// ErrSigstoreAudience is returned when an index asks for an OIDC token
// with Sigstore's audience.
var ErrSigstoreAudience = errors.New(`the index asks for an OIDC token with audience "sigstore", the audience Sigstore's Fulcio certifies: such a token would let the index obtain signing certificates as this workflow, so it is never sent to an index. Check that the repository URL names a package index (PyPI asks for "pypi", TestPyPI for "testpypi")`)

// ErrTrustedPublishingUnsupported is wrapped by Audience's error when the
// index has no trusted-publishing endpoint (404) or has it disabled (403).
var ErrTrustedPublishingUnsupported = errors.New("trusted publishing unavailable")

// Audience asks the index which audience its trusted-publishing exchange
// wants in the OIDC token (GET <scheme://netloc>/_/oidc/audience). An
// index that asks for SigstoreAudience is refused with ErrSigstoreAudience.
func (c *Client) Audience(ctx context.Context, indexURL string) (string, error) {
	base, err := indexBase(indexURL)
	if err != nil {
		return "", err
	}
	endpoint := base.JoinPath("/_/oidc/audience").String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", fmt.Errorf("audience request: %w", err)
	}
	req.Header.Set("User-Agent", c.userAgent())
	resp, err := c.httpClient(true).Do(req)
	if err != nil {
		return "", fmt.Errorf("asking %s for its trusted-publishing audience: %w", base.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxMetaResponse))
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusForbidden:
		return "", fmt.Errorf("%w: trusted publishing disabled on %s (GET %s: 403%s)", ErrTrustedPublishingUnsupported, base.Host, endpoint, bodyMessage(body, ": "))
	case http.StatusNotFound:
		return "", fmt.Errorf("%w: this index does not support trusted publishing: %s (GET %s: 404). Use an API token (password) instead, or point --repository-url at PyPI or TestPyPI", ErrTrustedPublishingUnsupported, indexURL, endpoint)
	default:
		return "", fmt.Errorf("asking %s for its trusted-publishing audience: unexpected %s%s", base.Host, resp.Status, bodyMessage(body, ": "))
	}
	var out struct {
		Audience string `json:"audience"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Audience == "" {
		return "", fmt.Errorf("asking %s for its trusted-publishing audience: the response has no audience (GET %s)", base.Host, endpoint)
	}
	if out.Audience == idtoken.SigstoreAudience {
		return "", fmt.Errorf("trusted publishing with %s: %w", base.Host, ErrSigstoreAudience)
	}
	return out.Audience, nil
}

// bodyMessage extracts a short human message from an error response body:
// a JSON "message" field, else the trimmed text (HTML is dropped).
func bodyMessage(body []byte, prefix string) string {
	var j struct {
		Message string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(body, &j) == nil && j.Message != "" {
		msg = j.Message
	} else if t := strings.TrimSpace(string(body)); t != "" && !strings.HasPrefix(t, "<") && !strings.HasPrefix(t, "{") {
		msg = t
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	if msg == "" {
		return ""
	}
	return prefix + msg
}

// APIToken is a short-lived upload token minted by the index. Its String
// method never shows the secret.
type APIToken struct {
	// Value is the secret ("pypi-…"). Never log it.
	Value string
	// Expires is when the index says the token expires (zero if it did not
	// say).
	Expires time.Time
	// MintedAt is when this client received the token, on its own clock.
	MintedAt time.Time
}

// String describes the token without revealing it.
func (t *APIToken) String() string {
	if t == nil {
		return "<no token>"
	}
	return fmt.Sprintf("<API token minted %s, expires %s>", t.MintedAt.UTC().Format(time.RFC3339), t.Expires.UTC().Format(time.RFC3339))
}

// TokenLifetime is how long PyPI's minted tokens are valid.
const TokenLifetime = 15 * time.Minute

// ErrPullRequestTarget is returned by Mint, before anything is sent, for a
// token of a workflow triggered by pull_request_target.
var ErrPullRequestTarget = errors.New(`refusing to publish from a workflow triggered by "pull_request_target": PyPI rejects it ("Publishing from a workflow invoked via 'pull_request_target' is not supported"), because that trigger runs with the base repository's secrets on behalf of a pull request. Publish from a tag push, a published release or workflow_dispatch instead`)

// Mint exchanges an OIDC token for a short-lived API token
// (POST <scheme://netloc>/_/oidc/mint-token). projects, when given, name
// the project(s) being published, for the "create a trusted publisher"
// link in diagnostics. A refusal is a *MintError. The token is passed to
// c.Mask before Mint returns. A token whose audience includes
// SigstoreAudience is never sent; TokenSource also checks that the token's
// audience is exactly the one the index asked for.
func (c *Client) Mint(ctx context.Context, indexURL string, oidc *idtoken.Token, projects ...string) (*APIToken, error) {
	if oidc == nil || oidc.Raw == "" {
		return nil, errors.New("minting an API token: no OIDC token")
	}
	if oidc.Claims.String("event_name") == "pull_request_target" {
		return nil, ErrPullRequestTarget
	}
	if slices.Contains(oidc.Claims.Audience(), idtoken.SigstoreAudience) {
		return nil, fmt.Errorf("minting an API token: refusing to send a token whose audience includes %q (what Sigstore's Fulcio certifies) to an index. %s", idtoken.SigstoreAudience, audienceHint(""))
	}
	if w := ReusableWorkflowWarning(oidc.Claims); w != "" {
		c.warn(w)
	}
	base, err := indexBase(indexURL)
	if err != nil {
		return nil, err
	}
	endpoint := base.JoinPath("/_/oidc/mint-token").String()
	payload, err := json.Marshal(map[string]string{"token": oidc.Raw})
	if err != nil {
		return nil, fmt.Errorf("minting an API token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("minting an API token: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.userAgent())
	resp, err := c.httpClient(true).Do(req)
	if err != nil {
		return nil, fmt.Errorf("minting an API token at %s: %w", base.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetaResponse))
	if err != nil {
		return nil, fmt.Errorf("minting an API token at %s: reading the response: %w", base.Host, err)
	}
	var out struct {
		Success *bool    `json:"success"`
		Token   string   `json:"token"`
		Expires *float64 `json:"expires"`
		Message string   `json:"message"`
		Errors  []struct {
			Code        string `json:"code"`
			Description string `json:"description"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("minting an API token at %s: the index produced an unexpected %s response (not JSON); check https://status.python.org/ if this is PyPI", base.Host, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		me := &MintError{
			Status:   resp.StatusCode,
			Message:  out.Message,
			IndexURL: indexURL,
			Claims:   oidc.Claims,
			Projects: projects,
			now:      time.Now(),
		}
		for _, e := range out.Errors {
			me.Errors = append(me.Errors, MintErrorDetail{Code: e.Code, Description: e.Description})
		}
		return nil, me
	}
	if out.Token == "" {
		return nil, fmt.Errorf("minting an API token at %s: token response error: the index answered %s without a token", base.Host, resp.Status)
	}
	tok := &APIToken{Value: out.Token, MintedAt: time.Now()}
	c.mask(tok.Value)
	if out.Expires != nil {
		tok.Expires = time.Unix(int64(*out.Expires), 0)
	} else {
		tok.Expires = tok.MintedAt.Add(TokenLifetime)
	}
	return tok, nil
}

// MintErrorDetail is one reason the index gave for refusing to mint.
type MintErrorDetail struct {
	// Code is warehouse's error code (invalid-publisher, invalid-token, …).
	Code string
	// Description is the index's explanation.
	Description string
}

// MintError is the index's refusal to mint a token (HTTP 422 on PyPI). Its
// Error method renders the whole diagnosis: each code and description with
// a hint (for a GitLab token also what warehouse's reason says about the
// claims, such as which parts of ci_config_ref_uri differ from the
// publisher's and whether only their case does), the token's claims PyPI
// matches next to what each must equal on the publisher form (GitHub's or
// GitLab's), the link that creates a matching publisher and the page for
// a pending one, and the reusable-workflow warning. Text from the token
// and the index is escaped: it cannot add lines or control sequences.
type MintError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the index's summary ("Token request failed").
	Message string
	// Errors are the reasons, in the index's order.
	Errors []MintErrorDetail
	// IndexURL is the index or repository URL the exchange was made with.
	IndexURL string
	// Claims are the OIDC token's claims (decoded, not verified).
	Claims idtoken.Claims
	// Projects name what is being published, for the publisher link.
	Projects []string
	now      time.Time
}

var codeHints = map[string]string{
	"invalid-payload":           "the index could not read the request or the OIDC token, or does not trust its issuer (for example self-managed GitLab that PyPI has not onboarded)",
	"not-enabled":               "trusted publishing for this CI provider is turned off on the index; use an API token instead until it is back",
	"invalid-token":             "the OIDC token failed verification (signature, audience or expiry); request it right before publishing, in the same job",
	"invalid-pending-publisher": "a pending publisher only creates a new project; this project already exists, so add a trusted publisher on the project's own publishing settings",
	"invalid-publisher":         "no trusted publisher on the index matches this token; compare each claim below with the publisher's settings",
	"invalid-reuse-token":       "each OIDC token can be exchanged once; request a fresh token for every exchange instead of reusing one between steps or jobs",
}

// Error renders the diagnosis.
func (e *MintError) Error() string {
	var b strings.Builder
	host := e.IndexURL
	if base, err := indexBase(e.IndexURL); err == nil {
		host = base.Host
	}
	fmt.Fprintf(&b, "minting an API token at %s failed (HTTP %d", host, e.Status)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", printable(e.Message))
	}
	b.WriteString("); the server refused the request for the following reasons:\n")
	if len(e.Errors) == 0 {
		b.WriteString("  * (no reasons given)\n")
	}
	gitlab := isGitLab(e.Claims)
	for _, d := range e.Errors {
		fmt.Fprintf(&b, "  * %s: %s\n", printable(d.Code), printable(d.Description))
		if h := codeHints[d.Code]; h != "" {
			fmt.Fprintf(&b, "      → %s\n", h)
		}
		if d.Code == "invalid-token" {
			if h := (&idtoken.Token{Claims: e.Claims}).ExpiryHint(e.now); h != "" {
				fmt.Fprintf(&b, "      → %s\n", h)
			}
		}
		if gitlab {
			for _, h := range gitlabHints(d, e.Claims) {
				fmt.Fprintf(&b, "      → %s\n", h)
			}
		}
	}
	b.WriteString(ClaimsTable(e.Claims))
	if link := PublisherLink(e.IndexURL, e.Claims, e.Projects); link != "" {
		fmt.Fprintf(&b, "To create a trusted publisher with these values, open:\n  %s\n", link)
		fmt.Fprintf(&b, "If %s is not on %s yet, add a pending publisher with the same values and the project name instead, at:\n  %s\n",
			quote(e.Projects[0]), pypiSite(e.IndexURL), PendingPublisherLink(e.IndexURL))
	}
	if w := ReusableWorkflowWarning(e.Claims); w != "" {
		fmt.Fprintf(&b, "Warning: %s\n", w)
	}
	return strings.TrimRight(b.String(), "\n")
}

// claimRow is one line of the claims table.
type claimRow struct {
	claim, value, form string
}

// ClaimsTable renders the OIDC token claims the index matches against its
// trusted publishers, and what each must equal on the publisher form.
// Claims are shown for debugging; they were decoded without verification.
func ClaimsTable(c idtoken.Claims) string {
	get := func(name string) string {
		if v := c.String(name); v != "" {
			return printable(v)
		}
		return "MISSING"
	}
	var rows []claimRow
	if isGitLab(c) {
		rows = gitlabRows(c, get)
	} else {
		owner, repo, _ := strings.Cut(c.String("repository"), "/")
		rows = []claimRow{
			{"repository", get("repository"), fmt.Sprintf(`Owner "%s" + Repository name "%s" (case-insensitive)`, owner, repo)},
			{"repository_owner", get("repository_owner"), fmt.Sprintf(`Owner: "%s" (exact)`, c.String("repository_owner"))},
			{"repository_owner_id", get("repository_owner_id"), "not on the form: PyPI records the owner's id when the publisher is added; a re-created account has a new id, so re-add the publisher"},
			{"job_workflow_ref", get("job_workflow_ref"), fmt.Sprintf(`Workflow name: "%s"`, WorkflowFile(c.String("job_workflow_ref")))},
			{"environment", get("environment"), environmentForm(c.String("environment"))},
			{"event_name", get("event_name"), `not on the form; "pull_request_target" is always refused`},
			{"ref", get("ref"), "not on the form; must be present"},
			{"sub", get("sub"), `not on the form; must keep GitHub's default format ("repo:<owner>/<repo>:…"), a customized subject template fails (warehouse#19405)`},
		}
	}
	var b strings.Builder
	b.WriteString("Claims of the OIDC token the index matches (decoded without verification, for debugging only):\n")
	for i := range rows {
		// Token text the form column quotes as it is ("%s") stays one line.
		rows[i].form = printable(rows[i].form)
	}
	w1, w2 := len("claim"), len("token value")
	for _, r := range rows {
		w1 = max(w1, len(r.claim))
		w2 = max(w2, len(r.value))
	}
	fmt.Fprintf(&b, "  %-*s  %-*s  %s\n", w1, "claim", w2, "token value", "must equal on the index's publisher form")
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s  %-*s  %s\n", w1, r.claim, w2, r.value, r.form)
	}
	return b.String()
}

func environmentForm(env string) string {
	if env == "" {
		return "Environment name: empty (this job has no environment, so a publisher restricted to one refuses it)"
	}
	return fmt.Sprintf(`Environment name: "%s" (case-insensitive), or empty to allow any`, env)
}

// WorkflowFile returns the workflow filename of a job_workflow_ref or
// workflow_ref claim ("owner/repo/.github/workflows/release.yml@refs/…" →
// "release.yml"), or "" when it has none.
func WorkflowFile(ref string) string {
	path, _, _ := strings.Cut(ref, "@")
	const marker = "/.github/workflows/"
	i := strings.Index(path, marker)
	if i < 0 {
		return ""
	}
	return path[i+len(marker):]
}

// ReusableWorkflowWarning returns a warning when the token comes from a
// reusable workflow (workflow_ref differs from job_workflow_ref), which
// PyPI does not support, or "" otherwise.
func ReusableWorkflowWarning(c idtoken.Claims) string {
	wr, jwr := c.String("workflow_ref"), c.String("job_workflow_ref")
	if wr == "" || jwr == "" || wr == jwr {
		return ""
	}
	return fmt.Sprintf("potential workflow misconfiguration: this job runs in a reusable workflow (job_workflow_ref %q) called by %q. PyPI matches trusted publishers against the reusable workflow's file, and reusable workflows are not supported (they may break, and attestations made there fail verification). See https://docs.pypi.org/trusted-publishers/troubleshooting/#reusable-workflows-on-github", jwr, wr)
}

// pypiSite returns https://pypi.org or https://test.pypi.org for an index
// URL of either (upload.pypi.org, test.pypi.org/legacy/, …), else "".
func pypiSite(indexURL string) string {
	base, err := indexBase(indexURL)
	if err != nil {
		return ""
	}
	host := strings.ToLower(base.Hostname())
	switch {
	case host == "test.pypi.org" || strings.HasSuffix(host, ".test.pypi.org"):
		return "https://test.pypi.org"
	case host == "pypi.org" || strings.HasSuffix(host, ".pypi.org"):
		return "https://pypi.org"
	}
	return ""
}

// PendingPublisherLink returns the pypi.org or test.pypi.org page where a
// pending trusted publisher is added (the account's publishing page: a
// project that does not exist yet is created by its first trusted
// publish), or "" for other indexes. That page takes no pre-filled values.
func PendingPublisherLink(indexURL string) string {
	if site := pypiSite(indexURL); site != "" {
		return site + "/manage/account/publishing/"
	}
	return ""
}

// PublisherLink returns the pypi.org or test.pypi.org page that creates a
// trusted publisher matching the token's claims, for the first of
// projects, with PyPI's form pre-filled: for a GitHub Actions token
// provider=github, owner, repository and workflow_filename (the workflow
// of job_workflow_ref); for a GitLab CI token provider=gitlab, namespace,
// project and workflow_filepath as ci_config_ref_uri spells them (PyPI
// compares it exactly), and issuer_url for an instance other than
// gitlab.com. It returns "" for other indexes or when the claims lack what
// the form needs.
func PublisherLink(indexURL string, c idtoken.Claims, projects []string) string {
	site := pypiSite(indexURL)
	if site == "" || len(projects) == 0 || projects[0] == "" {
		return ""
	}
	if isGitLab(c) {
		query := gitlabPublisherQuery(c)
		if query == "" {
			return ""
		}
		return fmt.Sprintf("%s/manage/project/%s/settings/publishing/?%s", site, url.PathEscape(projects[0]), query)
	}
	owner, repo, ok := strings.Cut(c.String("repository"), "/")
	// PyPI matches the workflow of job_workflow_ref, so the link uses it.
	workflow := WorkflowFile(c.String("job_workflow_ref"))
	if !ok || owner == "" || repo == "" || workflow == "" {
		return ""
	}
	// The documented parameter order, which url.Values would sort away.
	query := "provider=github&owner=" + url.QueryEscape(owner) + "&repository=" + url.QueryEscape(repo) + "&workflow_filename=" + url.QueryEscape(workflow)
	return fmt.Sprintf("%s/manage/project/%s/settings/publishing/?%s", site, url.PathEscape(projects[0]), query)
}
