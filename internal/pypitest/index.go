// Package pypitest is a fake package index for tests: PyPI's trusted
// publishing audience and mint-token endpoints, the legacy upload API and
// PEP 503 simple pages, with ways to make uploads fail; a stand-in for a
// GitLab project's PyPI registry (GitLabRegistry); and a tiny real release
// (a wheel and an sdist with core metadata) to publish.
package pypitest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/attest-publish/attest-publish/internal/idtoken"
)

// Action is how the fake index answers one upload.
type Action int

const (
	Accept     Action = iota // store the file and answer 200
	Drop                     // read the request, then close the connection
	StoreDrop                // store the file, then close the connection
	ServerFail               // answer 503
)

// Upload is one complete upload the fake index received.
type Upload struct {
	// Filename and SHA256 identify the file.
	Filename, SHA256 string
	// User and Pass are the Basic auth credentials.
	User, Pass string
	// Attestations is the attestations field, parsed.
	Attestations []json.RawMessage
}

// Index is an httptest package index: trusted-publishing audience and
// mint-token, the legacy upload API and PEP 503 simple pages.
type Index struct {
	srv *httptest.Server

	mu       sync.Mutex
	files    map[string]string // filename → sha256
	uploads  []Upload
	requests int
	mints    int
	// Respond picks the answer to upload request n (1-based); nil accepts.
	Respond func(n int, filename string) Action
	// OnUpload runs after an upload request is read.
	OnUpload func(n int, filename string)
	// MintRefusal, when set, is the 422 body of mint-token.
	MintRefusal any
	// Password is the one Basic auth password accepted ("" accepts minted
	// tokens only).
	Password string
	// NoIntegrity turns the Integrity API off (every provenance is 404).
	NoIntegrity bool
	// Provenance, when set, picks the attestations the Integrity API serves
	// for a file (ok false: 404) from those uploaded with it.
	Provenance func(filename string, uploaded []json.RawMessage) (served []json.RawMessage, ok bool)
}

// NewIndex starts an index; it stops when the test ends. Set the exported
// fields before uploads start or between runs.
func NewIndex(t testing.TB) *Index {
	t.Helper()
	f := &Index{files: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_/oidc/audience", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"audience":"pypi"}`)
	})
	mux.HandleFunc("POST /_/oidc/mint-token", f.mint)
	mux.HandleFunc("POST /legacy/", f.upload)
	mux.HandleFunc("GET /simple/{name}/", f.simple)
	mux.HandleFunc("GET /integrity/{project}/{version}/{filename}/provenance", f.integrity)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the legacy upload URL.
func (f *Index) URL() string { return f.srv.URL + "/legacy/" }

// ServerURL is the index root.
func (f *Index) ServerURL() string { return f.srv.URL }

// Mints counts the API tokens minted.
func (f *Index) Mints() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mints
}

// mint answers mint-token.
func (f *Index) mint(w http.ResponseWriter, r *http.Request) {
	var body struct{ Token string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	tok, err := idtoken.Parse(body.Token)
	if err != nil || tok.Claims.String("aud") != "pypi" {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, `{"message":"Token request failed","errors":[{"code":"invalid-token","description":"bad token: %v"}]}`, err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.MintRefusal != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(f.MintRefusal)
		return
	}
	f.mints++
	fmt.Fprintf(w, `{"success":true,"token":"pypi-minted-%d","expires":4102444800}`, f.mints)
}

// upload answers the legacy upload API.
func (f *Index) upload(w http.ResponseWriter, r *http.Request) {
	var u Upload
	u.User, u.Pass, _ = r.BasicAuth()
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		switch p.FormName() {
		case "content":
			u.Filename = p.FileName()
			h := sha256.New()
			if _, err := io.Copy(h, p); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			u.SHA256 = hex.EncodeToString(h.Sum(nil))
		case "attestations":
			data, _ := io.ReadAll(p)
			if err := json.Unmarshal(data, &u.Attestations); err != nil {
				http.Error(w, "Invalid attestations: "+err.Error(), 400)
				return
			}
		}
	}
	f.mu.Lock()
	f.requests++
	n := f.requests
	respond, onUpload := f.Respond, f.OnUpload
	f.mu.Unlock()
	if onUpload != nil {
		onUpload(n, u.Filename)
	}
	act := Accept
	if respond != nil {
		act = respond(n, u.Filename)
	}
	f.mu.Lock()
	authorized := u.User == "__token__" && strings.HasPrefix(u.Pass, "pypi-minted-") || f.Password != "" && u.Pass == f.Password
	_, exists := f.files[u.Filename]
	f.mu.Unlock()
	switch {
	case act == ServerFail:
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	case !authorized:
		http.Error(w, "Invalid or non-existent authentication information.", http.StatusForbidden)
		return
	case exists:
		http.Error(w, "File already exists. See https://pypi.org/help/#file-name-reuse for more information.", 400)
		return
	}
	if act == Accept || act == StoreDrop {
		f.mu.Lock()
		f.files[u.Filename] = u.SHA256
		f.uploads = append(f.uploads, u)
		f.mu.Unlock()
	}
	if act == Drop || act == StoreDrop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	io.WriteString(w, "OK")
}

// simple serves a PEP 503 project page.
func (f *Index) simple(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for fn := range f.files {
		if strings.HasPrefix(fn, name+"-") {
			names = append(names, fn)
		}
	}
	if len(names) == 0 {
		http.NotFound(w, r)
		return
	}
	sort.Strings(names)
	io.WriteString(w, "<!DOCTYPE html><html><body>\n")
	for _, fn := range names {
		fmt.Fprintf(w, "<a href=\"../../packages/%s#sha256=%s\">%s</a><br>\n", fn, f.files[fn], fn)
	}
	io.WriteString(w, "</body></html>\n")
}

// integrity serves a file's PEP 740 provenance object, as PyPI's Integrity
// API does: the attestations uploaded with it, 404 when there are none.
func (f *Index) integrity(w http.ResponseWriter, r *http.Request) {
	filename := r.PathValue("filename")
	f.mu.Lock()
	var uploaded []json.RawMessage
	for _, u := range f.uploads {
		if u.Filename == filename {
			uploaded = u.Attestations
		}
	}
	off, pick := f.NoIntegrity, f.Provenance
	f.mu.Unlock()
	served, ok := uploaded, len(uploaded) > 0
	if pick != nil {
		served, ok = pick(filename, uploaded)
	}
	if off || !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message": "No provenance available for `+filename+`"}`)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.pypi.integrity.v1+json")
	json.NewEncoder(w).Encode(map[string]any{
		"version": 1,
		"attestation_bundles": []any{map[string]any{
			"publisher":    map[string]any{"kind": "GitHub", "repository": "octo-org/octo-repo", "workflow": "release.yml"},
			"attestations": served,
		}},
	})
}

// Stored returns the uploads the index kept.
func (f *Index) Stored() []Upload {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Upload(nil), f.uploads...)
}

// UploadRequests counts upload requests, answered or not.
func (f *Index) UploadRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}
