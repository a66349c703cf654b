package leakscan

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"testing"
	"time"
)

// Secret names the canary tests use (Carriers match them by prefix):
//
//	oidc-request-token               ACTIONS_ID_TOKEN_REQUEST_TOKEN
//	oidc-id-token[aud=A]#N           a minted ID token (IDTokens)
//	pypi-api-token@RECORDER#N        an index's minted API token (APITokens)
//	github-token                     GITHUB_TOKEN / the github-token input
//	pypiserver-password              password mode's password
//
// Recorder names: "oidc" (the token endpoint), "fulcio…", "rekor…",
// "tsa…" (RewriteSigningConfig), "index-…" (a trusted-publishing index),
// "pypiserver-…" (password mode), "github-api".

// Carrier is the part of an exchange meant to carry a kind of secret: the
// request of its protocol that sends it (or the response that issues it).
type Carrier struct {
	Recorder string // recorder name prefix
	Method   string
	Path     string // URL path prefix
	Part     string // as in Hit.Where: "[request header Authorization]", "[request body]", "[response body]"
	Secret   string // secret name prefix
}

func (c Carrier) String() string {
	return fmt.Sprintf("%s in %s %s %s… %s", c.Secret, c.Recorder, c.Method, c.Path, c.Part)
}

// Carriers are the only places a secret may appear in an exchange.
var Carriers = []Carrier{
	// The runner's token endpoint: the request token in, an ID token out.
	{"oidc", "GET", "/token", "[request header Authorization]", "oidc-request-token"},
	{"oidc", "GET", "/token", "[response body]", "oidc-id-token[aud=sigstore]"},
	{"oidc", "GET", "/token", "[response body]", "oidc-id-token[aud=pypi]"},
	// Fulcio gets the sigstore token; Rekor and the TSA get nothing.
	{"fulcio", "POST", "/api/v2/signingCert", "[request header Authorization]", "oidc-id-token[aud=sigstore]"},
	// PyPI's exchange: the pypi token in, an API token out; uploads carry it.
	{"index", "POST", "/_/oidc/mint-token", "[request body]", "oidc-id-token[aud=pypi]"},
	{"index", "POST", "/_/oidc/mint-token", "[response body]", "pypi-api-token"},
	{"index", "POST", "/legacy/", "[request header Authorization]", "pypi-api-token"},
	// Password mode: pypiserver's uploads.
	{"pypiserver", "POST", "/", "[request header Authorization]", "pypiserver-password"},
	// attest-to-github: the attestations API.
	{"github-api", "POST", "/repos/", "[request header Authorization]", "github-token"},
}

// Meant returns the carrier h (a hit in exchange ex of recorder rec) is,
// if any. A pypi-api-token@R may only travel through recorder R.
func Meant(rec string, ex Exchange, h Hit) (Carrier, bool) {
	u, err := url.Parse(ex.URL)
	if err != nil {
		return Carrier{}, false
	}
	if at := strings.Index(h.name, "@"); at >= 0 {
		if owner, _, _ := strings.Cut(h.name[at+1:], "#"); owner != rec {
			return Carrier{}, false
		}
	}
	for _, c := range Carriers {
		if strings.HasPrefix(rec, c.Recorder) && ex.Method == c.Method && strings.HasPrefix(u.Path, c.Path) &&
			strings.HasSuffix(h.Where, " "+c.Part) && strings.HasPrefix(h.name, c.Secret) {
			return c, true
		}
	}
	return Carrier{}, false
}

// ScanRecorders scans every exchange of every recorder. It returns the
// hits that are not a carrier (leaks), how often each carrier was seen, and
// how many exchanges there were.
func (s *Scanner) ScanRecorders(rs map[string]*Recorder) (leaks []Hit, carried map[Carrier]int, exchanges int) {
	carried = map[Carrier]int{}
	names := make([]string, 0, len(rs))
	for name := range rs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, ex := range rs[name].Exchanges() {
			exchanges++
			for _, h := range s.ScanExchange(name, ex) {
				if c, ok := Meant(name, ex, h); ok {
					carried[c]++
				} else {
					leaks = append(leaks, h)
				}
			}
		}
	}
	return leaks, carried, exchanges
}

// IDTokens returns the ID tokens a token endpoint's recorder saw issued,
// named oidc-id-token[aud=A]#N (N counts from first).
func IDTokens(exs []Exchange, first int) ([]Secret, error) {
	var out []Secret
	for i, ex := range exs {
		var body struct{ Value string }
		if ex.Status != http.StatusOK || json.Unmarshal(ex.RespBody, &body) != nil || body.Value == "" {
			return nil, fmt.Errorf("token request %d (%s): status %d, no token", i+1, ex.URL, ex.Status)
		}
		tok, err := idtoken.Parse(body.Value)
		if err != nil {
			return nil, fmt.Errorf("token request %d: %w", i+1, err)
		}
		out = append(out, Secret{
			Name:  fmt.Sprintf("oidc-id-token[aud=%s]#%d", strings.Join(tok.Claims.Audience(), ","), first+len(out)),
			Value: body.Value,
		})
	}
	return out, nil
}

// APITokens returns the API tokens an index's recorder (named rec) saw
// minted, named pypi-api-token@rec#N (N counts from first).
func APITokens(rec string, exs []Exchange, first int) ([]Secret, error) {
	var out []Secret
	for _, ex := range exs {
		if u, err := url.Parse(ex.URL); err != nil || u.Path != "/_/oidc/mint-token" {
			continue
		}
		var body struct{ Token string }
		if ex.Status != http.StatusOK || json.Unmarshal(ex.RespBody, &body) != nil || body.Token == "" {
			return nil, fmt.Errorf("%s mint-token: status %d, no token", rec, ex.Status)
		}
		out = append(out, Secret{Name: fmt.Sprintf("pypi-api-token@%s#%d", rec, first+len(out)), Value: body.Token})
	}
	return out, nil
}

// RewriteSigningConfig returns a Sigstore signing config whose CA, Rekor
// and TSA URLs go through proxies: proxy(name, origin) starts one for
// scheme://host and returns its URL; names are fulcio0, rekor0, tsa0, ….
func RewriteSigningConfig(data []byte, proxy func(name, origin string) (string, error)) ([]byte, error) {
	var sc struct {
		CA   []struct{ URL string } `json:"caUrls"`
		Logs []struct{ URL string } `json:"rekorTlogUrls"`
		TSAs []struct{ URL string } `json:"tsaUrls"`
	}
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, fmt.Errorf("signing config: %w", err)
	}
	text := string(data)
	for _, svc := range []struct {
		name string
		urls []struct{ URL string }
	}{{"fulcio", sc.CA}, {"rekor", sc.Logs}, {"tsa", sc.TSAs}} {
		for i, s := range svc.urls {
			u, err := url.Parse(s.URL)
			if err != nil {
				return nil, err
			}
			origin := u.Scheme + "://" + u.Host
			to, err := proxy(fmt.Sprintf("%s%d", svc.name, i), origin)
			if err != nil {
				return nil, err
			}
			text = strings.ReplaceAll(text, `"`+origin, `"`+to)
		}
	}
	return []byte(text), nil
}

// TokenGate is a Recorder gate for a token endpoint: it accepts only
// "Bearer <canary>" and forwards the request with "Bearer <real>", so the
// client under test holds a value the test chose.
func TokenGate(canary, real string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "bearer") || tok != canary {
			http.Error(w, `{"message":"canary: not the canary request token"}`, http.StatusUnauthorized)
			return false
		}
		r.Header.Set("Authorization", "Bearer "+real)
		return true
	}
}

// Conclude ends a canary test: it scans the stack's directory (service
// logs, configs, state) and every exchange the recorders saw, then fails t
// for every leak — those found before (leaks) and these — and for every
// carrier never seen carrying its secret (the canary was not used as
// intended), except those unused says the run had no part for.
func (s *Scanner) Conclude(t testing.TB, leaks []Hit, stackDir string, rs map[string]*Recorder, unused func(Carrier) bool) {
	t.Helper()
	start := time.Now()
	hits, st, err := s.ScanDir(stackDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaks = append(leaks, hits...)
	t.Logf("scanned %s: %s", stackDir, st)
	hits, carried, exchanges := s.ScanRecorders(rs)
	leaks = append(leaks, hits...)
	t.Logf("scanned the stack and %d exchanges through %d recorders in %s", exchanges, len(rs), time.Since(start).Round(time.Millisecond))
	Sort(leaks)
	for _, l := range leaks {
		t.Errorf("LEAK: %s", l)
	}
	for _, c := range Carriers {
		if carried[c] == 0 && (unused == nil || !unused(c)) {
			t.Errorf("never seen: %s (the canary was not used as intended)", c)
		}
	}
}
