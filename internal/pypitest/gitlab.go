package pypitest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// GitLabRegistry is a stand-in for one private GitLab project's PyPI
// package registry (GitLab's lib/api/pypi_packages.rb), as much of it as
// attest-publish uses: the legacy upload at
// /api/v4/projects/<id>/packages/pypi (Basic auth with the user
// gitlab-ci-token and the job token; 201 Created; undeclared fields such as
// attestations ignored), the simple index below it at /simple/<name>/
// (forwarding a project it does not hold, as GitLab forwards to pypi.org,
// when Forward is set), and the files at /files/<sha256>/<filename>. A
// request without credentials gets 404, as GitLab answers for a private
// project, and wrong credentials 401; a filename uploaded twice gets 400
// (GitLab's text for that varies with its version and settings; this one
// is illustrative). It is not GitLab: no other endpoint, token kind or
// permission is modelled.
type GitLabRegistry struct {
	srv *httptest.Server
	// ProjectID is the project's ID in the registry's paths.
	ProjectID string
	// JobToken is the one password accepted (with gitlab-ci-token).
	JobToken string
	// Forward, when set, is the index a project the registry does not hold
	// is redirected to (GitLab forwards to https://pypi.org/simple/).
	Forward string
	// Respond picks the answer to upload request n (1-based), as Index's
	// does; nil accepts.
	Respond func(n int, filename string) Action

	mu       sync.Mutex
	files    map[string]string // filename → sha256
	contents map[string][]byte
	uploads  []GitLabUpload
	requests []GitLabRequest
	posts    int
}

// GitLabUpload is one upload the registry accepted.
type GitLabUpload struct {
	// Filename and SHA256 identify the file.
	Filename, SHA256 string
	// Fields lists the form fields sent (attestations among them if sent;
	// the registry ignores it).
	Fields []string
}

// GitLabRequest is one request the registry received.
type GitLabRequest struct {
	// Method and Path are the request's.
	Method, Path string
	// User is the Basic auth user ("" without Basic auth).
	User string
	// Authorized says the credentials were the job token's.
	Authorized bool
}

// NewGitLabRegistry starts a registry for project id accepting jobToken;
// it stops when the test ends.
func NewGitLabRegistry(t testing.TB, id, jobToken string) *GitLabRegistry {
	t.Helper()
	g := &GitLabRegistry{ProjectID: id, JobToken: jobToken, files: map[string]string{}, contents: map[string][]byte{}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

// APIURL is what GitLab CI sets CI_API_V4_URL to.
func (g *GitLabRegistry) APIURL() string { return g.srv.URL + "/api/v4" }

// URL is the upload URL, ${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/pypi.
func (g *GitLabRegistry) URL() string {
	return g.APIURL() + "/projects/" + g.ProjectID + "/packages/pypi"
}

// SimpleURL is the registry's simple index.
func (g *GitLabRegistry) SimpleURL() string { return g.URL() + "/simple/" }

// Uploads returns the uploads accepted.
func (g *GitLabRegistry) Uploads() []GitLabUpload {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GitLabUpload(nil), g.uploads...)
}

// Requests returns every request received, in order.
func (g *GitLabRegistry) Requests() []GitLabRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GitLabRequest(nil), g.requests...)
}

// gitlabError answers with GitLab's JSON error shape.
func gitlabError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"message\":%q}\n", msg)
}

func (g *GitLabRegistry) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, hasAuth := r.BasicAuth()
	ok := hasAuth && user == "gitlab-ci-token" && subtle.ConstantTimeCompare([]byte(pass), []byte(g.JobToken)) == 1
	g.mu.Lock()
	g.requests = append(g.requests, GitLabRequest{Method: r.Method, Path: r.URL.Path, User: user, Authorized: ok})
	g.mu.Unlock()
	base := "/api/v4/projects/" + g.ProjectID + "/packages/pypi"
	rest, inProject := strings.CutPrefix(r.URL.Path, base)
	switch {
	case !inProject || !hasAuth:
		gitlabError(w, http.StatusNotFound, "404 Project Not Found")
		return
	case !ok:
		gitlabError(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	switch {
	case r.Method == http.MethodPost && (rest == "" || rest == "/"):
		g.upload(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/simple/"):
		g.simple(w, r, strings.Trim(strings.TrimPrefix(rest, "/simple/"), "/"))
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/files/"):
		g.file(w, strings.TrimPrefix(rest, "/files/"))
	default:
		gitlabError(w, http.StatusNotFound, "404 Not Found")
	}
}

// upload stores a legacy multipart upload.
func (g *GitLabRegistry) upload(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		gitlabError(w, http.StatusBadRequest, "400 Bad request - "+err.Error())
		return
	}
	var u GitLabUpload
	var content []byte
	form := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			gitlabError(w, http.StatusBadRequest, "400 Bad request - "+err.Error())
			return
		}
		u.Fields = append(u.Fields, p.FormName())
		data, err := io.ReadAll(p)
		if err != nil {
			gitlabError(w, http.StatusBadRequest, "400 Bad request - "+err.Error())
			return
		}
		if p.FormName() == "content" {
			u.Filename, content = p.FileName(), data
		} else {
			form[p.FormName()] = string(data)
		}
	}
	if content == nil || form["name"] == "" || form["version"] == "" {
		gitlabError(w, http.StatusBadRequest, "400 Bad request - content, name, version are missing")
		return
	}
	sum := sha256.Sum256(content)
	u.SHA256 = hex.EncodeToString(sum[:])
	if d := form["sha256_digest"]; d != "" && d != u.SHA256 {
		gitlabError(w, http.StatusBadRequest, "400 Bad request - sha256_digest does not match")
		return
	}
	g.mu.Lock()
	g.posts++
	n, respond := g.posts, g.Respond
	g.mu.Unlock()
	act := Accept
	if respond != nil {
		act = respond(n, u.Filename)
	}
	if act == ServerFail {
		gitlabError(w, http.StatusServiceUnavailable, "503 Service Unavailable")
		return
	}
	g.mu.Lock()
	_, exists := g.files[u.Filename]
	if !exists && act != Drop {
		g.files[u.Filename], g.contents[u.Filename] = u.SHA256, content
		g.uploads = append(g.uploads, u)
	}
	g.mu.Unlock()
	switch {
	case act == Drop || act == StoreDrop:
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	case exists:
		gitlabError(w, http.StatusBadRequest, "400 Bad request - Validation failed: File name has already been taken")
	default:
		gitlabError(w, http.StatusCreated, "201 Created")
	}
}

// simple serves a project's PEP 503 page, with absolute file URLs.
func (g *GitLabRegistry) simple(w http.ResponseWriter, r *http.Request, name string) {
	name = dists.CanonicalizeName(name)
	g.mu.Lock()
	var names []string
	for fn := range g.files {
		if p, err := dists.ParseFilename(fn); err == nil && p.CanonicalName() == name {
			names = append(names, fn)
		}
	}
	g.mu.Unlock()
	if len(names) == 0 {
		if g.Forward != "" {
			http.Redirect(w, r, strings.TrimRight(g.Forward, "/")+"/"+url.PathEscape(name)+"/", http.StatusFound)
			return
		}
		gitlabError(w, http.StatusNotFound, "404 Package Not Found")
		return
	}
	sort.Strings(names)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>Links for "+name+"</title></head><body><h1>Links for "+name+"</h1>\n")
	g.mu.Lock()
	for _, fn := range names {
		fmt.Fprintf(w, "<a href=\"%s/files/%s/%s#sha256=%s\">%s</a><br>\n", g.URL(), g.files[fn], url.PathEscape(fn), g.files[fn], fn)
	}
	g.mu.Unlock()
	io.WriteString(w, "</body></html>\n")
}

// file serves files/<sha256>/<filename>.
func (g *GitLabRegistry) file(w http.ResponseWriter, rest string) {
	sum, fn, _ := strings.Cut(rest, "/")
	g.mu.Lock()
	data, ok := g.contents[fn]
	ok = ok && g.files[fn] == sum
	g.mu.Unlock()
	if !ok {
		gitlabError(w, http.StatusNotFound, "404 Package Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(data)
}
