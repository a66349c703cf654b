package publish

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

// action is how the fake index answers one upload.
type action int

const (
	accept     action = iota // store the file and answer 200
	drop                     // read the request, then close the connection
	storeDrop                // store the file, then close the connection
	serverFail               // answer 503
)

// received is one complete upload the fake index received.
type received struct {
	filename     string
	sha256       string
	user, pass   string
	attestations []json.RawMessage
}

// fakeIndex is an httptest package index: trusted-publishing audience and
// mint-token, the legacy upload API and PEP 503 simple pages.
type fakeIndex struct {
	srv *httptest.Server

	mu       sync.Mutex
	files    map[string]string // filename → sha256
	uploads  []received
	requests int
	mints    int
	// respond picks the answer to upload request n (1-based); nil accepts.
	respond func(n int, filename string) action
	// onUpload runs after an upload request is read.
	onUpload func(n int, filename string)
	// mintRefusal, when set, is the 422 body of mint-token.
	mintRefusal any
	// password is the one Basic auth password accepted ("" accepts minted
	// tokens only).
	password string
}

func newFakeIndex(t *testing.T) *fakeIndex {
	t.Helper()
	f := &fakeIndex{files: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_/oidc/audience", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"audience":"pypi"}`)
	})
	mux.HandleFunc("POST /_/oidc/mint-token", f.mint)
	mux.HandleFunc("POST /legacy/", f.upload)
	mux.HandleFunc("GET /simple/{name}/", f.simple)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIndex) url() string { return f.srv.URL + "/legacy/" }

func (f *fakeIndex) mint(w http.ResponseWriter, r *http.Request) {
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
	if f.mintRefusal != nil {
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(f.mintRefusal)
		return
	}
	f.mints++
	fmt.Fprintf(w, `{"success":true,"token":"pypi-minted-%d","expires":4102444800}`, f.mints)
}

func (f *fakeIndex) upload(w http.ResponseWriter, r *http.Request) {
	var u received
	u.user, u.pass, _ = r.BasicAuth()
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
			u.filename = p.FileName()
			h := sha256.New()
			if _, err := io.Copy(h, p); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			u.sha256 = hex.EncodeToString(h.Sum(nil))
		case "attestations":
			data, _ := io.ReadAll(p)
			if err := json.Unmarshal(data, &u.attestations); err != nil {
				http.Error(w, "Invalid attestations: "+err.Error(), 400)
				return
			}
		}
	}
	f.mu.Lock()
	f.requests++
	n := f.requests
	respond, onUpload := f.respond, f.onUpload
	f.mu.Unlock()
	if onUpload != nil {
		onUpload(n, u.filename)
	}
	act := accept
	if respond != nil {
		act = respond(n, u.filename)
	}
	f.mu.Lock()
	authorized := u.user == "__token__" && strings.HasPrefix(u.pass, "pypi-minted-") || f.password != "" && u.pass == f.password
	_, exists := f.files[u.filename]
	f.mu.Unlock()
	switch {
	case act == serverFail:
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	case !authorized:
		http.Error(w, "Invalid or non-existent authentication information.", http.StatusForbidden)
		return
	case exists:
		http.Error(w, "File already exists. See https://pypi.org/help/#file-name-reuse for more information.", 400)
		return
	}
	if act == accept || act == storeDrop {
		f.mu.Lock()
		f.files[u.filename] = u.sha256
		f.uploads = append(f.uploads, u)
		f.mu.Unlock()
	}
	if act == drop || act == storeDrop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	io.WriteString(w, "OK")
}

func (f *fakeIndex) simple(w http.ResponseWriter, r *http.Request) {
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

// stored returns the uploads the index kept.
func (f *fakeIndex) stored() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.uploads...)
}

func (f *fakeIndex) uploadRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}
