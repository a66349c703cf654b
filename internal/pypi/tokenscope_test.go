package pypi

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/netguard"
)

// rawJWT returns a compact JWS carrying claims (GitHub's, with aud set to
// aud). Its signature is junk: the client only reads claims.
func rawJWT(t *testing.T, aud any) string {
	t.Helper()
	claims := map[string]any{}
	for k, v := range githubClaims() {
		claims[k] = v
	}
	claims["aud"] = aud
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(payload) + "." + enc([]byte("sig"))
}

// exchangeIndex is an index whose audience endpoint answers audience and
// whose mint endpoint counts the tokens it receives.
func exchangeIndex(t *testing.T, audience string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var mints atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/_/oidc/audience":
			fmt.Fprintf(w, `{"audience":%q}`, audience)
		case "/_/oidc/mint-token":
			mints.Add(1)
			fmt.Fprintf(w, `{"success":true,"token":"pypi-MINTED","expires":%d}`, time.Now().Add(TokenLifetime).Unix())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &mints
}

// TestTokenSourceSendsOnlyTheIndexAudience (security review, finding 4):
// an OIDC token reaches the index's mint endpoint only when its aud claim
// is exactly the audience the index asked for. A Sigstore token (from
// SIGSTORE_ID_TOKEN, --identity-token, or handed over by the caller), a
// token for several audiences, and an index asking for "sigstore" are
// refused, with an error that says what to do, before anything is sent.
func TestTokenSourceSendsOnlyTheIndexAudience(t *testing.T) {
	sigstoreToken := rawJWT(t, "sigstore")
	pypiToken := rawJWT(t, "pypi")
	multiToken := rawJWT(t, []string{"pypi", "sigstore"})
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	given := func(raw string) func(context.Context, string) (*idtoken.Token, error) {
		return func(context.Context, string) (*idtoken.Token, error) { return idtoken.Parse(raw) }
	}
	// found reads the token for the audience asked as the CLI does.
	found := func(opts idtoken.Options) func(context.Context, string) (*idtoken.Token, error) {
		return func(ctx context.Context, audience string) (*idtoken.Token, error) {
			return idtoken.Get(ctx, audience, opts)
		}
	}
	cases := []struct {
		name          string
		indexAudience string
		oidc          func(context.Context, string) (*idtoken.Token, error)
		wantErr       []string // empty: the exchange succeeds
	}{
		{name: "a token for exactly the index's audience is exchanged", indexAudience: "pypi", oidc: given(pypiToken)},
		{name: "PYPI_ID_TOKEN is read for audience pypi", indexAudience: "pypi",
			oidc: found(idtoken.Options{Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": sigstoreToken, "PYPI_ID_TOKEN": pypiToken})})},
		{name: "SIGSTORE_ID_TOKEN is never sent to the index", indexAudience: "pypi",
			oidc:    found(idtoken.Options{Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": sigstoreToken})}),
			wantErr: []string{`no identity token for audience "pypi"`, "id_tokens: PYPI_ID_TOKEN: aud: pypi"}},
		{name: "--identity-token for Sigstore is passed over", indexAudience: "pypi",
			oidc:    found(idtoken.Options{Explicit: sigstoreToken, Getenv: env(nil)}),
			wantErr: []string{"--identity-token", `its audience is ["sigstore"], not "pypi"`}},
		{name: "a Sigstore token handed over is refused", indexAudience: "pypi", oidc: given(sigstoreToken),
			wantErr: []string{`refusing to send the identity token to 127.0.0.1:`, `asked for audience "pypi"`, `audience is ["sigstore"]`, "id_tokens: PYPI_ID_TOKEN: aud: pypi"}},
		{name: "a token for several audiences is refused", indexAudience: "pypi", oidc: given(multiToken),
			wantErr: []string{"refusing to send the identity token", `2 audiences ["pypi", "sigstore"]`, `want a token for "pypi" alone`}},
		{name: "an index asking for the Sigstore audience is refused", indexAudience: "sigstore", oidc: given(sigstoreToken),
			wantErr: []string{`asks for an OIDC token with audience "sigstore"`, "never sent to an index"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, mints := exchangeIndex(t, tc.indexAudience)
			ts := &TokenSource{Client: &Client{}, IndexURL: srv.URL + "/legacy/", OIDC: tc.oidc}
			tok, err := ts.Token(context.Background())
			if len(tc.wantErr) == 0 {
				if err != nil || tok.Value != "pypi-MINTED" || mints.Load() != 1 {
					t.Fatalf("token %v, err %v, mints %d", tok, err, mints.Load())
				}
				return
			}
			if err == nil {
				t.Fatalf("the exchange succeeded (%d token(s) sent to the mint endpoint)", mints.Load())
			}
			if n := mints.Load(); n != 0 {
				t.Errorf("the mint endpoint received %d token(s)", n)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q:\n%v", s, err)
				}
			}
			if strings.Contains(err.Error(), sigstoreToken) || strings.Contains(err.Error(), multiToken) {
				t.Errorf("the error shows a raw token")
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestTrustedPublishingRefusesRedirectsAndPlainHTTP (security review,
// finding 5): the audience and mint requests never follow a redirect to
// another host, so the OIDC token cannot be re-POSTed elsewhere, and a
// plain-http index that is not on loopback is refused before any request.
// A redirect within the index's own origin is still followed.
func TestTrustedPublishingRefusesRedirectsAndPlainHTTP(t *testing.T) {
	var mu sync.Mutex
	var elsewhere []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		elsewhere = append(elsewhere, r.Method+" "+r.URL.Path+" "+string(body))
		mu.Unlock()
		switch r.URL.Path {
		case "/audience":
			io.WriteString(w, `{"audience":"pypi"}`)
		default:
			io.WriteString(w, `{"success":true,"token":"pypi-FROM-ELSEWHERE"}`)
		}
	}))
	defer other.Close()
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)

	cases := []struct {
		name     string
		audience func(w http.ResponseWriter, r *http.Request)
		mint     func(w http.ResponseWriter, r *http.Request)
		indexURL func(srv *httptest.Server) string
		wantErr  []string // empty: the exchange succeeds
	}{
		{
			name: "mint-token redirects (307) to another host",
			mint: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, otherURL+"/collect", http.StatusTemporaryRedirect)
			},
			wantErr: []string{"minting an API token", "refusing to follow the redirect", "/collect"},
		},
		{
			name: "mint-token redirects (308) to the same host on another port",
			mint: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/collect", http.StatusPermanentRedirect)
			},
			wantErr: []string{"refusing to follow the redirect"},
		},
		{
			name: "audience redirects (302) to another host",
			audience: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, otherURL+"/audience", http.StatusFound)
			},
			wantErr: []string{"trusted-publishing audience", "refusing to follow the redirect"},
		},
		{
			name:     "plain http to a host that is not loopback",
			indexURL: func(*httptest.Server) string { return "http://pypi.example.test/legacy/" },
			wantErr:  []string{`"http://pypi.example.test/legacy/"`, "plain http", `"https://pypi.example.test/legacy/"`},
		},
		{
			name: "a redirect within the index's origin is followed",
			audience: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("moved") == "" {
					http.Redirect(w, r, "/_/oidc/audience?moved=1", http.StatusMovedPermanently)
					return
				}
				io.WriteString(w, `{"audience":"pypi"}`)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			elsewhere = nil
			mu.Unlock()
			var atIndex atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				atIndex.Add(1)
				switch {
				case r.URL.Path == "/_/oidc/audience" && tc.audience != nil:
					tc.audience(w, r)
				case r.URL.Path == "/_/oidc/audience":
					io.WriteString(w, `{"audience":"pypi"}`)
				case r.URL.Path == "/_/oidc/mint-token" && tc.mint != nil:
					tc.mint(w, r)
				case r.URL.Path == "/_/oidc/mint-token":
					io.WriteString(w, `{"success":true,"token":"pypi-MINTED"}`)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			indexURL := srv.URL + "/legacy/"
			client := &Client{}
			if tc.indexURL != nil {
				// Every request, whatever its host, reaches srv: a refusal
				// must come before the request is made.
				indexURL = tc.indexURL(srv)
				client.HTTP = &http.Client{Transport: redirectTo{srv}}
			}
			ts := &TokenSource{Client: client, IndexURL: indexURL, OIDC: func(context.Context, string) (*idtoken.Token, error) {
				return tokenWith(nil), nil
			}}
			tok, err := ts.Token(context.Background())
			mu.Lock()
			seen := append([]string(nil), elsewhere...)
			mu.Unlock()
			if len(tc.wantErr) == 0 {
				if err != nil || tok.Value != "pypi-MINTED" {
					t.Fatalf("token %v, err %v", tok, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("the exchange succeeded with %q; the other host saw %q", tok.Value, seen)
			}
			if len(seen) != 0 {
				t.Errorf("another host received: %q", seen)
			}
			if tc.indexURL != nil && atIndex.Load() != 0 {
				t.Errorf("%d request(s) were sent over plain http", atIndex.Load())
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q:\n%v", s, err)
				}
			}
			if strings.Contains(err.Error(), fakeJWT) {
				t.Errorf("the error shows the OIDC token")
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestUploadGivesUpOnStalledIndex (security review, hardening notes): an
// upload with the default client fails once the connection has been idle
// for the idle timeout, whether the index stops reading the file halfway
// or reads it all and never answers, instead of holding the job forever.
func TestUploadGivesUpOnStalledIndex(t *testing.T) {
	const idle = 300 * time.Millisecond
	saved := uploadTransport
	uploadTransport = netguard.IdleTimeoutTransport(idle)
	defer func() { uploadTransport = saved }()

	cases := []struct {
		name string
		size int64
		// stall handles the hijacked connection, which it never answers.
		stall func(conn net.Conn, rw *bufio.ReadWriter)
	}{
		{"the index stops reading halfway through the file", 64 << 20, func(net.Conn, *bufio.ReadWriter) {}},
		{"the index reads the whole request and never answers", 256 << 10, func(conn net.Conn, rw *bufio.ReadWriter) {
			io.Copy(io.Discard, rw)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sample_project-1.2.0-py3-none-any.whl")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(tc.size); err != nil {
				t.Fatal(err)
			}
			f.Close()
			d := hashedDist(t, path)
			m, _ := ParseMetadata(readFixture(t, "METADATA"))
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, rw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					panic(err)
				}
				defer conn.Close()
				go tc.stall(conn, rw)
				<-release
			}))
			defer srv.Close()
			defer close(release)

			// The context only keeps a regression from hanging the test run.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			err = (&Client{}).Upload(ctx, srv.URL+"/legacy/", d, m, nil, BasicAuth{"__token__", "x"})
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("the upload to a stalled index succeeded")
			}
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
				t.Fatalf("the upload hung until the test's own deadline (%s): %v", elapsed.Round(time.Second), err)
			}
			if elapsed > 10*time.Second {
				t.Errorf("gave up after %s, want about %s", elapsed.Round(time.Millisecond), idle)
			}
			if !Retryable(err) {
				t.Errorf("a stalled upload is not retryable: %v", err)
			}
			t.Logf("gave up after %s: %v", elapsed.Round(time.Millisecond), err)
		})
	}
}
