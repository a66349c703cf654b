package publish

import (
	"context"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// SimpleURL returns the PEP 503 simple index root of a repository URL:
// https://pypi.org/simple/ for https://upload.pypi.org/legacy/ (and the
// same for test.pypi.org), otherwise the URL with a trailing /legacy/
// replaced by /simple/.
func SimpleURL(repositoryURL string) (string, error) {
	u, err := url.Parse(repositoryURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("repository URL %q: not a URL", repositoryURL)
	}
	switch u.Host {
	case "upload.pypi.org":
		return "https://pypi.org/simple/", nil
	case "test.pypi.org":
		return "https://test.pypi.org/simple/", nil
	}
	p := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(p, "/legacy") && p != "legacy" {
		return "", fmt.Errorf("repository URL %q does not end in /legacy/: cannot tell where its simple index is", repositoryURL)
	}
	u.Path = strings.TrimSuffix(p, "legacy") + "simple/"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// pypiLike reports whether the repository is PyPI or TestPyPI, the indexes
// that accept PEP 740 attestations.
func pypiLike(repositoryURL string) bool {
	u, err := url.Parse(repositoryURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "pypi.org" || h == "test.pypi.org" || strings.HasSuffix(h, ".pypi.org")
}

// pypiFileURL is where PyPI and TestPyPI serve an uploaded file; "" for
// other indexes.
func pypiFileURL(repositoryURL string, d *dists.Dist) string {
	u, err := url.Parse(repositoryURL)
	if err != nil {
		return ""
	}
	host := ""
	switch u.Hostname() {
	case "upload.pypi.org":
		host = "files.pythonhosted.org"
	case "test.pypi.org":
		host = "test-files.pythonhosted.org"
	default:
		return ""
	}
	b := hex.EncodeToString(d.Blake2b256)
	if len(b) < 4 {
		return ""
	}
	return fmt.Sprintf("https://%s/packages/%s/%s/%s/%s", host, b[:2], b[2:4], b[4:], url.PathEscape(d.Filename))
}

// maxSimplePage bounds a project's simple page read into memory (PyPI's
// largest pages list tens of thousands of files in a few MiB).
const maxSimplePage = 32 << 20

var anchorRE = regexp.MustCompile(`(?is)<a\s[^>]*?href\s*=\s*["']([^"']*)["'][^>]*>(.*?)</a>`)

// listing is what a simple page says about one file.
type listing struct {
	// found is set when the page lists the filename.
	found bool
	// sha256 is the hex digest in the link's fragment ("" when absent).
	sha256 string
	// url is the absolute file URL.
	url string
}

// lookup reads the simple page of d's project and returns what it lists
// under d's filename.
func lookup(ctx context.Context, hc *http.Client, simpleRoot string, d *dists.Dist) (listing, error) {
	page, err := url.JoinPath(simpleRoot, d.Parsed.CanonicalName()+"/")
	if err != nil {
		return listing{}, fmt.Errorf("simple page URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	if err != nil {
		return listing{}, fmt.Errorf("simple page request: %w", err)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "attest-publish")
	resp, err := hc.Do(req)
	if err != nil {
		return listing{}, fmt.Errorf("reading %s: %w", page, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return listing{}, nil
	}
	if resp.StatusCode != http.StatusOK {
		return listing{}, fmt.Errorf("reading %s: %s", page, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSimplePage))
	if err != nil {
		return listing{}, fmt.Errorf("reading %s: %w", page, err)
	}
	base, _ := url.Parse(page)
	for _, m := range anchorRE.FindAllSubmatch(body, -1) {
		if strings.TrimSpace(html.UnescapeString(string(m[2]))) != d.Filename {
			continue
		}
		href := html.UnescapeString(string(m[1]))
		l := listing{found: true, url: href}
		if ref, err := url.Parse(href); err == nil {
			if v, ok := strings.CutPrefix(ref.Fragment, "sha256="); ok {
				l.sha256 = strings.ToLower(v)
			}
			ref.Fragment = ""
			l.url = base.ResolveReference(ref).String()
		}
		return l, nil
	}
	return listing{}, nil
}
