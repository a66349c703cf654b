// Package gitlabtest is an in-process stand-in for GitLab's generic
// package registry, for tests. It implements the documented contract of
// lib/api/generic_packages.rb and nothing more; it is not GitLab:
//
//   - PUT /api/v4/projects/:id/packages/generic/:name/:version/:file stores
//     the request body; a duplicate name is appended (GitLab's default),
//     or refused with 400 "Duplicate package is not allowed" when
//     NoDuplicates is set; the answer is 201 {"message":"201 Created"}, or
//     the package file JSON (file_name, size, file_sha256, …) with
//     ?select=package_file;
//   - GET on the same path serves the most recent file of that name as an
//     attachment, with X-Checksum-SHA256; 404 when there is none;
//   - names and versions follow GitLab's rules (400 otherwise);
//   - tokens: the JOB-TOKEN, PRIVATE-TOKEN and DEPLOY-TOKEN headers, or
//     Basic auth with any user name; PUT needs one (401 without, 403 for a
//     read-only token); GET needs one unless Public (404 without, as GitLab
//     answers for a private project).
//
// Failures can be injected per request (Fail), to test a registry that
// answers 4xx/5xx halfway.
package gitlabtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	namePattern    = regexp.MustCompile(`\A[A-Za-z0-9._+-]+\z`)
	versionPattern = regexp.MustCompile(`\A[A-Za-z0-9_+.-]+\z`)
)

// Request is one request the registry received.
type Request struct {
	// Method, Project, Package, Version and File name it.
	Method, Project, Package, Version, File string
	// Header and Token are the credential header used ("" for none) and
	// its value.
	Header, Token string
	// Status is the answer's status.
	Status int
}

// File is one stored file.
type File struct {
	// Project, Package, Version and Name locate it.
	Project, Package, Version, Name string
	// Data is its content; SHA256 its digest.
	Data   []byte
	SHA256 string
	// Created is when it was stored.
	Created time.Time
}

// Registry is the stand-in. Set the exported fields before requests start.
type Registry struct {
	// Tokens maps an accepted token value to its access: "write" (PUT and
	// GET) or "read" (GET only).
	Tokens map[string]string
	// Public lets GET through without a token.
	Public bool
	// NoDuplicates refuses a second file of the same name in a package.
	NoDuplicates bool
	// MaxFileSize refuses larger uploads with 400 File is too large (0:
	// 10 MiB).
	MaxFileSize int64
	// Fail, when set, picks an injected answer for request n (1-based,
	// counted per method): a status to answer instead of serving it, or 0
	// to serve it. StoreThenFail stores the file and then answers its
	// status.
	Fail func(method string, n int, file string) (status int, storeThenFail bool)

	mu       sync.Mutex
	files    []*File
	requests []Request
	count    map[string]int
	nextID   int
}

// New makes a registry accepting token for writing.
func New(token string) *Registry {
	return &Registry{Tokens: map[string]string{token: "write"}, count: map[string]int{}}
}

// Start serves r on a loopback httptest server that stops when the test
// ends, and returns its API root (…/api/v4).
func Start(t testing.TB, r *Registry) string {
	t.Helper()
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v4"
}

// PackageURL is the base URL of a package under api.
func PackageURL(api, project, name, version string) string {
	return fmt.Sprintf("%s/projects/%s/packages/generic/%s/%s", api, project, name, version)
}

// Files returns copies of the stored files, oldest first.
func (r *Registry) Files() []File {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]File, len(r.files))
	for i, f := range r.files {
		out[i] = *f
	}
	return out
}

// Requests returns the requests received so far.
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Put stores a file directly (a file left by an earlier run).
func (r *Registry) Put(project, pkg, version, name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.store(project, pkg, version, name, data)
}

func (r *Registry) store(project, pkg, version, name string, data []byte) *File {
	sum := sha256.Sum256(data)
	r.nextID++
	f := &File{Project: project, Package: pkg, Version: version, Name: name, Data: append([]byte(nil), data...), SHA256: hex.EncodeToString(sum[:]), Created: time.Now().UTC()}
	r.files = append(r.files, f)
	return f
}

// latest is the most recent file of that name, nil when none.
func (r *Registry) latest(project, pkg, version, name string) *File {
	for i := len(r.files) - 1; i >= 0; i-- {
		f := r.files[i]
		if f.Project == project && f.Package == pkg && f.Version == version && f.Name == name {
			return f
		}
	}
	return nil
}

// ServeHTTP implements the generic packages API.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	parts := strings.Split(strings.TrimPrefix(req.URL.EscapedPath(), "/api/v4/projects/"), "/")
	if !strings.HasPrefix(req.URL.Path, "/api/v4/projects/") || len(parts) != 6 || parts[1] != "packages" || parts[2] != "generic" {
		answer(w, http.StatusNotFound, "404 Not Found")
		return
	}
	project, pkg, version, name := parts[0], parts[3], parts[4], parts[5]
	header, token := credential(req)
	rec := Request{Method: req.Method, Project: project, Package: pkg, Version: version, File: name, Header: header, Token: token}
	status := r.serve(w, req, rec)
	rec.Status = status
	r.mu.Lock()
	r.requests = append(r.requests, rec)
	r.mu.Unlock()
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request, rec Request) int {
	if req.Method != http.MethodPut && req.Method != http.MethodGet {
		return answer(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
	}
	access := r.Tokens[rec.Token]
	if rec.Token == "" {
		access = ""
	}
	switch {
	case req.Method == http.MethodPut && rec.Token == "":
		return answer(w, http.StatusUnauthorized, "401 Unauthorized")
	case req.Method == http.MethodPut && access == "":
		return answer(w, http.StatusUnauthorized, "401 Unauthorized")
	case req.Method == http.MethodPut && access != "write":
		return answer(w, http.StatusForbidden, "403 Forbidden")
	case req.Method == http.MethodGet && access == "" && !r.Public:
		return answer(w, http.StatusNotFound, "404 Project Not Found")
	}
	if !namePattern.MatchString(rec.Package) || !namePattern.MatchString(rec.File) || !versionPattern.MatchString(rec.Version) || strings.Contains(rec.Version, "..") || rec.File == ".." || rec.File == "." {
		return answer(w, http.StatusBadRequest, "400 Bad request - package_name, package_version or file_name is invalid")
	}
	r.mu.Lock()
	if r.count == nil {
		r.count = map[string]int{}
	}
	r.count[req.Method]++
	n := r.count[req.Method]
	r.mu.Unlock()
	injected, storeFirst := 0, false
	if r.Fail != nil {
		injected, storeFirst = r.Fail(req.Method, n, rec.File)
	}
	if req.Method == http.MethodGet {
		if injected != 0 {
			return answer(w, injected, http.StatusText(injected))
		}
		r.mu.Lock()
		f := r.latest(rec.Project, rec.Package, rec.Version, rec.File)
		r.mu.Unlock()
		if f == nil {
			return answer(w, http.StatusNotFound, "404 Package Not Found")
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", f.Name))
		w.Header().Set("X-Checksum-SHA256", f.SHA256)
		w.WriteHeader(http.StatusOK)
		w.Write(f.Data)
		return http.StatusOK
	}
	limit := r.MaxFileSize
	if limit <= 0 {
		limit = 10 << 20
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return answer(w, http.StatusBadRequest, "400 Bad request - "+err.Error())
	}
	if int64(len(data)) > limit {
		return answer(w, http.StatusBadRequest, "400 Bad request - File is too large")
	}
	if injected != 0 && !storeFirst {
		return answer(w, injected, http.StatusText(injected))
	}
	r.mu.Lock()
	if r.NoDuplicates && r.latest(rec.Project, rec.Package, rec.Version, rec.File) != nil {
		r.mu.Unlock()
		return answer(w, http.StatusBadRequest, "400 Bad request - Duplicate package is not allowed")
	}
	f := r.store(rec.Project, rec.Package, rec.Version, rec.File, data)
	id := r.nextID
	r.mu.Unlock()
	if injected != 0 {
		return answer(w, injected, http.StatusText(injected))
	}
	if req.URL.Query().Get("select") != "package_file" {
		return answer(w, http.StatusCreated, "201 Created")
	}
	s1 := sha1.Sum(data)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"id": id, "package_id": 1, "created_at": f.Created.Format(time.RFC3339Nano), "updated_at": f.Created.Format(time.RFC3339Nano),
		"size": len(data), "file_store": 1, "file_md5": nil, "file_sha1": hex.EncodeToString(s1[:]),
		"file_name": f.Name, "file": map[string]any{"url": "/" + f.Name}, "file_sha256": f.SHA256,
		"verification_retry_at": nil, "verified_at": nil, "verification_failure": nil,
		"verification_retry_count": nil, "verification_checksum": nil, "verification_state": 0,
		"verification_started_at": nil, "new_file_path": nil,
	})
	return http.StatusCreated
}

// credential is the token the request carries and the header it came in.
func credential(req *http.Request) (header, token string) {
	for _, h := range []string{"JOB-TOKEN", "PRIVATE-TOKEN", "DEPLOY-TOKEN"} {
		if v := req.Header.Get(h); v != "" {
			return h, v
		}
	}
	if _, pass, ok := req.BasicAuth(); ok {
		return "Authorization", pass
	}
	return "", ""
}

// answer writes GitLab's {"message": …} error or status body.
func answer(w http.ResponseWriter, status int, msg string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
	return status
}
