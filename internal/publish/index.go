package publish

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/attest-publish/attest-publish/internal/dists"
	"github.com/attest-publish/attest-publish/internal/pypi"
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

// lookupTimeout bounds one read of a simple page (whether an upload landed,
// where the index serves a file) when Options.Client has no HTTP client.
const lookupTimeout = 30 * time.Second

// simpleIndex returns the reader (pypi.IndexClient: PEP 691 JSON or PEP 503
// HTML, bounded, retried under o.Retry) of the simple index that serves
// what o.RepositoryURL receives.
func simpleIndex(o *Options) (*pypi.IndexClient, error) {
	simple, err := SimpleURL(o.RepositoryURL)
	if err != nil {
		return nil, err
	}
	c, err := pypi.NewIndexClient(simple)
	if err != nil {
		return nil, fmt.Errorf("the simple index of %s: %w", o.RepositoryURL, err)
	}
	c.HTTP = o.Client.HTTP
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: lookupTimeout}
	}
	if o.Client.UserAgent != "" {
		c.UserAgent = o.Client.UserAgent
	}
	c.Retry = o.Retry
	return c, nil
}
