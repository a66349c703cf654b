// Package gitlab is a client of GitLab's generic package registry
// (lib/api/generic_packages.rb: PUT and GET on
// /projects/:id/packages/generic/:package_name/:package_version/:file_name),
// used to store a release's signature material next to its dists and to
// fetch it back for verification.
//
// Storing is idempotent without the packages listing API: before each
// upload the file is downloaded by name (GitLab serves the most recent file
// of that name) and hashed; a file already stored with the same SHA-256 is
// skipped. A file not there, or there with other bytes, is uploaded: GitLab
// appends duplicates by default, and then serves the newest, so a rerun
// after a failure halfway finishes the package. One request per file and no
// extra token scope (the listing API needs read access to the project's
// packages API, the download the same job-token permission as the upload).
//
// Credentials (a CI job token, a personal, project or deploy token) travel
// in GitLab's own headers to the registry's origin only, over https (plain
// http only for a loopback host); a redirect to another origin is refused,
// and the token is never printed.
package gitlab

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/attest-publish/attest-publish/internal/netguard"
)

// namePattern is GitLab's generic package name and file name rule
// (Gitlab::Regex.generic_package_name_regex: letters, digits, ".", "_",
// "-" and "+").
var namePattern = regexp.MustCompile(`\A[A-Za-z0-9._+-]+\z`)

// versionPattern is GitLab's generic package version rule
// (generic_package_version_regex: word characters, "+", "." and "-"; no
// "..", checked apart).
var versionPattern = regexp.MustCompile(`\A[A-Za-z0-9_+.-]+\z`)

// packagePath matches the path of a generic package: the API root, then
// /projects/<id or URL-encoded path>/packages/generic/<name>/<version>.
var packagePath = regexp.MustCompile(`\A(.*)/projects/([^/]+)/packages/generic/([^/]+)/([^/]+)/?\z`)

// Package is one generic package of one project: files are stored at and
// fetched from URL + "/" + file name.
type Package struct {
	// URL is the package's base URL, without a trailing slash.
	URL *url.URL
	// APIURL is the API root before /projects (CI_API_V4_URL).
	APIURL string
	// Project is the project id or URL-encoded path, as in the URL.
	Project string
	// Name and Version are the package's.
	Name, Version string
}

// ParsePackageURL checks a package base URL:
// https://host/api/v4/projects/<id>/packages/generic/<name>/<version> (plain
// http only for a loopback host, no user information, query or fragment),
// whose name and version follow GitLab's rules.
func ParsePackageURL(raw string) (*Package, error) {
	u, err := netguard.RequireHTTPS(raw)
	if err != nil {
		return nil, err
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: want no user information, query or fragment (the token comes from the environment)", u.Redacted())
	}
	m := packagePath.FindStringSubmatch(u.EscapedPath())
	if m == nil {
		return nil, fmt.Errorf("%q: want <API URL>/projects/<id>/packages/generic/<package name>/<version>, as ${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/generic/<name>/<version>", raw)
	}
	name, nerr := url.PathUnescape(m[3])
	version, verr := url.PathUnescape(m[4])
	if nerr != nil || verr != nil {
		return nil, fmt.Errorf("%q: bad escape in the package name or version", raw)
	}
	if err := CheckName("package name", name); err != nil {
		return nil, fmt.Errorf("%q: %w", raw, err)
	}
	if err := CheckVersion(version); err != nil {
		return nil, fmt.Errorf("%q: %w", raw, err)
	}
	base := *u
	base.Path, base.RawPath = strings.TrimSuffix(u.Path, "/"), strings.TrimSuffix(u.EscapedPath(), "/")
	api := *u
	api.RawPath, api.Path = "", m[1]
	return &Package{URL: &base, APIURL: api.String(), Project: m[2], Name: name, Version: version}, nil
}

// PackageURLFor is the base URL of package name at version of a project:
// apiURL (CI_API_V4_URL) + /projects/<project>/packages/generic/<name>/<version>.
func PackageURLFor(apiURL, project, name, version string) (*Package, error) {
	if apiURL == "" || project == "" {
		return nil, fmt.Errorf("the package URL is derived from CI_API_V4_URL and CI_PROJECT_ID, and one is not set (outside GitLab CI, give the package URL)")
	}
	raw := strings.TrimSuffix(apiURL, "/") + "/projects/" + url.PathEscape(project) + "/packages/generic/" + url.PathEscape(name) + "/" + url.PathEscape(version)
	return ParsePackageURL(raw)
}

// CheckName checks a package or file name against GitLab's rule.
func CheckName(what, name string) error {
	if name == "." || name == ".." || !namePattern.MatchString(name) {
		return fmt.Errorf("%s %q: GitLab's generic packages allow only letters, digits, '.', '_', '-' and '+'", what, name)
	}
	return nil
}

// CheckVersion checks a package version against GitLab's rule.
func CheckVersion(v string) error {
	if !versionPattern.MatchString(v) || strings.Contains(v, "..") {
		return fmt.Errorf("package version %q: GitLab's generic packages allow only letters, digits, '_', '+', '.' and '-', and no '..'", v)
	}
	return nil
}

// FileURL is the URL of one file of the package.
func (p *Package) FileURL(file string) string {
	return p.URL.String() + "/" + url.PathEscape(file)
}

// String is the package's base URL.
func (p *Package) String() string { return p.URL.String() }
