package leakscan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"sync"
)

// Exchange is one request a Recorder forwarded, as the client sent it,
// and the response it got.
type Exchange struct {
	Method, URL string
	ReqHeader   http.Header
	ReqBody     []byte
	Status      int
	RespHeader  http.Header
	RespBody    []byte
}

// Recorder is a reverse proxy on 127.0.0.1 that records every exchange
// in full, so a test knows exactly what a client sent where (and learns the
// tokens a server handed out).
type Recorder struct {
	*httptest.Server
	mu        sync.Mutex
	exchanges []Exchange
}

// NewRecorder proxies to upstream (scheme://host[:port]; request paths are
// kept). gate, when not nil, sees each request as the client sent it and
// may answer it itself (returning false: the request is recorded but not
// forwarded) or change what is forwarded (e.g. swap a credential).
func NewRecorder(upstream string, gate func(w http.ResponseWriter, r *http.Request) bool) (*Recorder, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	rec := &Recorder{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			i, _ := resp.Request.Context().Value(exchangeKey{}).(int)
			rec.mu.Lock()
			rec.exchanges[i].Status = resp.StatusCode
			rec.exchanges[i].RespHeader = resp.Header.Clone()
			rec.exchanges[i].RespBody = body
			rec.mu.Unlock()
			return nil
		},
	}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		i := len(rec.exchanges)
		rec.exchanges = append(rec.exchanges, Exchange{Method: r.Method, URL: r.URL.String(), ReqHeader: r.Header.Clone(), ReqBody: body})
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if gate != nil {
			cw := &captureWriter{ResponseWriter: w}
			if !gate(cw, r) {
				rec.mu.Lock()
				rec.exchanges[i].Status, rec.exchanges[i].RespHeader, rec.exchanges[i].RespBody = cw.status, w.Header().Clone(), cw.body.Bytes()
				rec.mu.Unlock()
				return
			}
		}
		proxy.ServeHTTP(w, r.WithContext(withExchange(r, i)))
	}))
	return rec, nil
}

type exchangeKey struct{}

// withExchange tags r's context with the index of its exchange, which
// ModifyResponse finds on the outgoing request.
func withExchange(r *http.Request, i int) context.Context {
	return context.WithValue(r.Context(), exchangeKey{}, i)
}

// Exchanges returns a copy of the exchanges so far, in arrival order.
func (rec *Recorder) Exchanges() []Exchange {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Exchange(nil), rec.exchanges...)
}

// ScanExchange returns the hits in every part of ex; a hit's Where is
// label, the request line and the part ("request header Authorization",
// "request body", "response header …", "response body").
func (s *Scanner) ScanExchange(label string, ex Exchange) []Hit {
	line := fmt.Sprintf("%s %s %s", label, ex.Method, ex.URL)
	var hits []Hit
	hits = append(hits, s.ScanBytes(line+" [request line]", []byte(ex.Method+" "+ex.URL))...)
	hits = append(hits, s.scanHeader(line+" [request header ", ex.ReqHeader)...)
	hits = append(hits, s.ScanBytes(line+" [request body]", ex.ReqBody)...)
	hits = append(hits, s.scanHeader(line+" [response header ", ex.RespHeader)...)
	hits = append(hits, s.ScanBytes(line+" [response body]", ex.RespBody)...)
	return hits
}

func (s *Scanner) scanHeader(prefix string, h http.Header) []Hit {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var hits []Hit
	for _, k := range keys {
		for _, v := range h[k] {
			hits = append(hits, s.ScanBytes(prefix+k+"]", []byte(k+": "+v))...)
		}
	}
	return hits
}

// captureWriter keeps what a gate answered.
type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *captureWriter) WriteHeader(status int) {
	c.status = status
	c.ResponseWriter.WriteHeader(status)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}
