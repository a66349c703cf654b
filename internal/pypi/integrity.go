package pypi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/netguard"
)

// Media types of the index APIs read here.
const (
	// SimpleJSONType is PEP 691's JSON simple API.
	SimpleJSONType = "application/vnd.pypi.simple.v1+json"
	// SimpleHTMLType is PEP 691's name for the PEP 503 HTML page.
	SimpleHTMLType = "application/vnd.pypi.simple.v1+html"
	// IntegrityType is the PyPI Integrity API's provenance object.
	IntegrityType = "application/vnd.pypi.integrity.v1+json"
)

// maxIndexDocument bounds a simple-API page or a provenance object.
const maxIndexDocument = 64 << 20

// maxErrorSnippet bounds what is read of an index's error response, to
// quote it in the error.
const maxErrorSnippet = 300

// indexTimeout bounds one index request, a file download included
// (downloads are streamed into hashes, never held in memory).
const indexTimeout = 10 * time.Minute

var (
	// ErrProjectNotFound is wrapped when the index does not know the project.
	ErrProjectNotFound = errors.New("project not found")
	// ErrReleaseNotFound is wrapped when the project has no file of the
	// version asked for.
	ErrReleaseNotFound = errors.New("release not found")
	// ErrNoProvenance is wrapped when the Integrity API has no provenance
	// for a file (PyPI answers 404: it was uploaded without attestations).
	ErrNoProvenance = errors.New("no provenance")
	// ErrInvalidFilename is wrapped when the index lists a file that names
	// the release but is not a valid wheel or sdist filename.
	ErrInvalidFilename = errors.New("invalid distribution filename")
)

// IndexError is a request to an index that got an unexpected status.
type IndexError struct {
	// URL is what was asked for.
	URL string
	// Status is the HTTP status code.
	Status int
	// Message is the start of the body (or the status text).
	Message string
}

func (e *IndexError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d: %s", e.URL, e.Status, e.Message)
}

// IndexClient reads a PyPI-compatible index: the simple API (PEP 691 JSON,
// or the PEP 503 HTML page when that is all the index serves), the files
// themselves, and the Integrity API's provenance (PEP 740). Transient
// failures (transport errors, 5xx, 429) are retried with Retry.
type IndexClient struct {
	// BaseURL is the index root, e.g. https://pypi.org (a trailing
	// /simple/ is dropped by NewIndexClient).
	BaseURL string
	// HTTP makes the requests (nil: a client with indexTimeout).
	HTTP *http.Client
	// Retry is the retry policy (zero value: 4 attempts from 1 s).
	Retry RetryPolicy
	// UserAgent is sent with every request.
	UserAgent string
}

// NewIndexClient returns a client for the index at base (its root, or its
// /simple/ URL), which must be https (plain http only for a loopback host).
func NewIndexClient(base string) (*IndexClient, error) {
	u, err := netguard.RequireHTTPS(strings.TrimSpace(base))
	if err != nil {
		return nil, fmt.Errorf("index URL %w (for example https://pypi.org)", err)
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/simple")
	u.RawQuery, u.Fragment = "", ""
	return &IndexClient{BaseURL: strings.TrimRight(u.String(), "/"), HTTP: &http.Client{Timeout: indexTimeout}, UserAgent: "attest-publish"}, nil
}

// IndexFile is one file of a release, as the simple API lists it.
type IndexFile struct {
	// Filename is the dist's filename.
	Filename string
	// URL is where to download it (absolute, without the hash fragment).
	URL string
	// SHA256 is the hex digest the index states, or "" when it states none.
	SHA256 string
	// Provenance is the Integrity API URL of its provenance: the index's
	// own (PEP 740) or, when it names none, the conventional path.
	Provenance string
	// Project and Version are parsed from the filename (normalized).
	Project, Version string
}

// simpleJSON is the part of a PEP 691 project page read here.
type simpleJSON struct {
	Files []struct {
		Filename   string            `json:"filename"`
		URL        string            `json:"url"`
		Hashes     map[string]string `json:"hashes"`
		Provenance *string           `json:"provenance"`
	} `json:"files"`
}

// simpleAccept asks for PEP 691 JSON first, then the PEP 503 HTML page.
const simpleAccept = SimpleJSONType + ", " + SimpleHTMLType + ";q=0.2, text/html;q=0.1"

// projectFiles reads the simple page of project (a canonical name), PEP 691
// JSON or PEP 503 HTML, and returns every file it lists, as listed (Project
// and Version not set). A 404 is an error wrapping ErrProjectNotFound.
func (c *IndexClient) projectFiles(ctx context.Context, name string) ([]IndexFile, error) {
	pageURL := c.BaseURL + "/simple/" + url.PathEscape(name) + "/"
	body, ctype, final, err := c.fetch(ctx, pageURL, simpleAccept)
	var ie *IndexError
	if errors.As(err, &ie) && ie.Status == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %s is not on %s (%s answered 404)", ErrProjectNotFound, name, c.BaseURL, pageURL)
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", name, err)
	}
	var all []IndexFile
	if ctype == SimpleJSONType {
		all, err = parseSimpleJSON(body, final)
	} else {
		all, err = parseSimpleHTML(body, final)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the simple API page %s: %w", pageURL, err)
	}
	return all, nil
}

// File returns what the simple page of project lists under filename: its
// URL and, when the index states one, its sha256 (Project, Version and
// Provenance are filled in as ReleaseFiles does when the filename parses).
// ok is false when the index does not know the project (404) or its page
// does not list the file; err is set only when the page could not be read.
func (c *IndexClient) File(ctx context.Context, project, filename string) (f IndexFile, ok bool, err error) {
	name := dists.CanonicalizeName(project)
	if name == "" {
		return IndexFile{}, false, fmt.Errorf("%q: not a valid project name", project)
	}
	all, err := c.projectFiles(ctx, name)
	if errors.Is(err, ErrProjectNotFound) {
		return IndexFile{}, false, nil
	}
	if err != nil {
		return IndexFile{}, false, err
	}
	for _, listed := range all {
		if listed.Filename != filename {
			continue
		}
		if fn, perr := dists.ParseFilename(listed.Filename); perr == nil && fn.CanonicalName() == name {
			c.complete(&listed, name, fn.Version)
		}
		return listed, true, nil
	}
	return IndexFile{}, false, nil
}

// complete sets f's project and version, and its provenance URL when the
// index named none.
func (c *IndexClient) complete(f *IndexFile, project, version string) {
	f.Project, f.Version = project, version
	if f.Provenance == "" {
		f.Provenance = c.IntegrityURL(project, version, f.Filename)
	}
}

// ReleaseFiles lists the files of project==version on the index.
func (c *IndexClient) ReleaseFiles(ctx context.Context, project, version string) ([]IndexFile, error) {
	name := dists.CanonicalizeName(project)
	want, ok := dists.NormalizeVersion(version)
	if name == "" || !ok {
		return nil, fmt.Errorf("%s==%s: not a valid project name and PEP 440 version", project, version)
	}
	all, err := c.projectFiles(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []IndexFile
	var versions, invalid []string
	for _, f := range all {
		fn, err := dists.ParseFilename(f.Filename)
		if err != nil && claimsRelease(f.Filename, name, want) {
			invalid = append(invalid, err.Error())
		}
		if err != nil || fn.CanonicalName() != name {
			continue
		}
		if !slices.Contains(versions, fn.Version) {
			versions = append(versions, fn.Version)
		}
		if fn.Version != want {
			continue
		}
		c.complete(&f, name, fn.Version)
		out = append(out, f)
	}
	if len(invalid) > 0 {
		// An installer may still take such a file for one of the release
		// (pip accepts a build tag such as "1:x"); nothing here can
		// verify it, so the release does not verify.
		return nil, fmt.Errorf("%w: %s %s on %s lists %d file(s) of this release whose name is not a valid wheel or sdist filename: %s",
			ErrInvalidFilename, name, want, c.BaseURL, len(invalid), strings.Join(invalid, "; "))
	}
	if len(out) == 0 {
		have := "none"
		if len(versions) > 0 {
			have = strings.Join(versions, ", ")
		}
		return nil, fmt.Errorf("%w: %s has no files of version %s on %s (versions there: %s)", ErrReleaseNotFound, name, want, c.BaseURL, have)
	}
	return out, nil
}

// claimsRelease reports whether filename, which dists.ParseFilename refused,
// still reads as a dist of project (canonical) at version want (normal
// form): name-version-… for a wheel, name-version.tar.gz or .zip for an
// sdist, compared after canonicalizing the name and normalizing the
// version.
func claimsRelease(filename, project, want string) bool {
	if !dists.IsDistFilename(filename) {
		return false
	}
	stem := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(filename, ".whl"), ".tar.gz"), ".zip")
	same := func(name, version string) bool {
		v, ok := dists.NormalizeVersion(version)
		return ok && v == want && dists.CanonicalizeName(name) == project
	}
	if parts := strings.SplitN(stem, "-", 3); len(parts) >= 2 && same(parts[0], parts[1]) {
		return true
	}
	i := strings.LastIndex(stem, "-")
	return i > 0 && same(stem[:i], stem[i+1:])
}

// IntegrityURL is the Integrity API's provenance URL of a file:
// {index}/integrity/{project}/{version}/{filename}/provenance.
func (c *IndexClient) IntegrityURL(project, version, filename string) string {
	return fmt.Sprintf("%s/integrity/%s/%s/%s/provenance", c.BaseURL,
		url.PathEscape(dists.CanonicalizeName(project)), url.PathEscape(version), url.PathEscape(filename))
}

func parseSimpleJSON(body []byte, page *url.URL) ([]IndexFile, error) {
	var doc simpleJSON
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("PEP 691 JSON: %w", err)
	}
	out := make([]IndexFile, 0, len(doc.Files))
	for _, f := range doc.Files {
		u, err := page.Parse(f.URL)
		if err != nil {
			return nil, fmt.Errorf("file %s: URL %q: %w", f.Filename, f.URL, err)
		}
		u.Fragment = ""
		file := IndexFile{Filename: f.Filename, URL: u.String(), SHA256: strings.ToLower(f.Hashes["sha256"])}
		if f.Provenance != nil && *f.Provenance != "" {
			p, err := page.Parse(*f.Provenance)
			if err != nil {
				return nil, fmt.Errorf("file %s: provenance URL %q: %w", f.Filename, *f.Provenance, err)
			}
			file.Provenance = p.String()
		}
		out = append(out, file)
	}
	return out, nil
}

// parseSimpleHTML reads a PEP 503 page: one <a> per file, its text the
// filename, its href's fragment the hash, PEP 740's data-provenance.
func parseSimpleHTML(body []byte, page *url.URL) ([]IndexFile, error) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("PEP 503 HTML: %w", err)
	}
	var out []IndexFile
	var walkErr error
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "a" {
			continue
		}
		var href, prov string
		for _, a := range n.Attr {
			switch a.Key {
			case "href":
				href = a.Val
			case "data-provenance":
				prov = a.Val
			}
		}
		var text strings.Builder
		for d := range n.Descendants() {
			if d.Type == html.TextNode {
				text.WriteString(d.Data)
			}
		}
		u, err := page.Parse(href)
		if err != nil {
			walkErr = fmt.Errorf("link %q: %w", href, err)
			break
		}
		file := IndexFile{Filename: strings.TrimSpace(text.String())}
		if frag, err := url.ParseQuery(u.Fragment); err == nil {
			file.SHA256 = strings.ToLower(frag.Get("sha256"))
		}
		u.Fragment = ""
		file.URL = u.String()
		if prov != "" {
			p, err := page.Parse(prov)
			if err != nil {
				walkErr = fmt.Errorf("provenance link %q: %w", prov, err)
				break
			}
			file.Provenance = p.String()
		}
		out = append(out, file)
	}
	return out, walkErr
}

// DigestMismatchIndexError says a downloaded file is not what the index
// said it is.
type DigestMismatchIndexError struct {
	// Filename is the file.
	Filename string
	// Want is the index's sha256, Got the download's.
	Want, Got string
}

func (e *DigestMismatchIndexError) Error() string {
	return fmt.Sprintf("%s: the download's sha256 %s differs from the index's %s", e.Filename, e.Got, e.Want)
}

// Download streams a file through SHA-256 and SHA-512 (nothing is kept) and
// returns its digests. When the index stated a sha256, the download must
// match it.
func (c *IndexClient) Download(ctx context.Context, f IndexFile) (sum256, sum512 []byte, size int64, err error) {
	err = c.Retry.Do(ctx, func(ctx context.Context) error {
		resp, err := c.get(ctx, f.URL, "*/*")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		h256, h512 := sha256.New(), sha512.New()
		size, err = io.Copy(io.MultiWriter(h256, h512), resp.Body)
		if err != nil {
			return fmt.Errorf("downloading %s: %w", f.URL, err)
		}
		sum256, sum512 = h256.Sum(nil), h512.Sum(nil)
		return nil
	}, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	if got := hex.EncodeToString(sum256); f.SHA256 != "" && got != f.SHA256 {
		return nil, nil, 0, &DigestMismatchIndexError{Filename: f.Filename, Want: f.SHA256, Got: got}
	}
	return sum256, sum512, size, nil
}

// Provenance fetches a file's provenance object from the Integrity API; a
// 404 is an error wrapping ErrNoProvenance.
func (c *IndexClient) Provenance(ctx context.Context, f IndexFile) ([]byte, error) {
	body, _, _, err := c.fetch(ctx, f.Provenance, IntegrityType+", application/json;q=0.5")
	var ie *IndexError
	if errors.As(err, &ie) && ie.Status == http.StatusNotFound {
		return nil, fmt.Errorf("%w for %s: the Integrity API answered 404 at %s (uploaded without attestations?)", ErrNoProvenance, f.Filename, f.Provenance)
	}
	if err != nil {
		return nil, fmt.Errorf("fetching the provenance of %s: %w", f.Filename, err)
	}
	return body, nil
}

// fetch GETs a document (bounded in size) with retries and returns it, its
// media type and the URL it came from after redirects.
func (c *IndexClient) fetch(ctx context.Context, u, accept string) (body []byte, ctype string, final *url.URL, err error) {
	err = c.Retry.Do(ctx, func(ctx context.Context) error {
		resp, err := c.get(ctx, u, accept)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxIndexDocument+1))
		if err != nil {
			return fmt.Errorf("reading %s: %w", u, err)
		}
		if len(body) > maxIndexDocument {
			return fmt.Errorf("%s: larger than %d MiB", u, maxIndexDocument>>20)
		}
		ctype, _, _ = mime.ParseMediaType(resp.Header.Get("Content-Type"))
		final = resp.Request.URL
		return nil
	}, nil)
	return body, ctype, final, err
}

// get sends one GET and returns a 200 response, or an *IndexError.
func (c *IndexClient) get(ctx context.Context, u, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: indexTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorSnippet))
		text := strings.Join(strings.Fields(string(msg)), " ")
		if text == "" {
			text = http.StatusText(resp.StatusCode)
		}
		return nil, &IndexError{URL: u, Status: resp.StatusCode, Message: text}
	}
	return resp, nil
}
