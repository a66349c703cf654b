package idtoken

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fuzz targets feed arbitrary input to Parse, which decodes an identity
// token's claims without verifying it: errors are fine, panics are not.
// FuzzParse mutates whole compact JWTs; FuzzClaims mutates the claims JSON
// of an otherwise well-formed token, which random bytes rarely reach. Seeds
// are in testdata/fuzz/<FuzzName>/ (tokens and claim sets shaped like
// GitHub's, GitLab's and the test OIDC issuer's, as this package's tests
// mint them). Run one with
//
//	go test ./internal/idtoken -run '^$' -fuzz '^FuzzClaims$' -fuzztime 60s
//
// or every target with `make fuzz`.

// FuzzParse checks that a parsed token keeps the trimmed input as Raw, that
// its claims are what its payload segment says (decoded by encoding/json
// with UseNumber), and that the claim accessors agree with them.
func FuzzParse(f *testing.F) {
	f.Add("")
	f.Add("not-a-jwt")
	f.Add(compact(`{"alg":"RS256"}`, []byte(`{"iss":"https://token.actions.githubusercontent.com","aud":"sigstore"}`)))
	f.Fuzz(func(t *testing.T, raw string) {
		checkParse(t, raw)
	})
}

// FuzzClaims builds a compact JWS from a protected header and a claims
// payload (with a dummy signature: Parse does not verify) and checks Parse
// as FuzzParse does.
func FuzzClaims(f *testing.F) {
	f.Add([]byte(`{"alg":"RS256","typ":"JWT"}`), []byte(`{"iss":"https://gitlab.com","aud":["pypi","sigstore"],"exp":1.8e9,"ci_config_ref_uri":"gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main","project_path":"g/p"}`))
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		checkParse(t, compact(string(header), payload))
	})
}

func compact(header string, payload []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString([]byte("signature"))
}

func checkParse(t *testing.T, raw string) {
	t.Helper()
	tok, err := Parse(raw)
	if err != nil {
		if tok != nil {
			t.Fatal("Parse returned a token and an error")
		}
		return
	}
	if tok == nil || tok.Claims == nil {
		t.Fatal("Parse returned neither a token with claims nor an error")
	}
	if tok.Raw != strings.TrimSpace(raw) {
		t.Fatalf("Raw = %q, want the trimmed input %q", tok.Raw, strings.TrimSpace(raw))
	}
	parts := strings.Split(tok.Raw, ".")
	if len(parts) != 3 {
		t.Fatalf("Parse accepted %q, which is not three dot-separated segments", tok.Raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("Parse accepted a payload segment that is not base64url: %v", err)
	}
	var want map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("Parse accepted claims encoding/json refuses (%v): %q", err, payload)
	}
	if want == nil { // a JSON null payload: no claims
		want = map[string]any{}
	}
	if got := map[string]any(tok.Claims); !reflect.DeepEqual(got, want) {
		t.Fatalf("claims differ from the payload:\n got  %#v\n want %#v", got, want)
	}
	for k, v := range tok.Claims {
		s := tok.Claims.String(k)
		switch v := v.(type) {
		case string:
			if s != v {
				t.Fatalf("String(%q) = %q, claim is %q", k, s, v)
			}
		case json.Number:
			if s != v.String() {
				t.Fatalf("String(%q) = %q, claim is the number %s", k, s, v)
			}
		case bool:
			if s != strconv.FormatBool(v) {
				t.Fatalf("String(%q) = %q, claim is %v", k, s, v)
			}
		default:
			if s != "" {
				t.Fatalf("String(%q) = %q for a %T claim", k, s, v)
			}
		}
	}
	var aud []string
	switch v := tok.Claims["aud"].(type) {
	case string:
		aud = []string{v}
	case []any:
		for _, a := range v {
			if s, ok := a.(string); ok {
				aud = append(aud, s)
			}
		}
	}
	if got := tok.Claims.Audience(); !reflect.DeepEqual(got, aud) {
		t.Fatalf("Audience() = %q for aud %#v", got, tok.Claims["aud"])
	}
	for _, name := range []string{"exp", "iat", "nbf"} {
		when, ok := tok.Claims.Time(name)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(tok.Claims.String(name), 64)
		if err != nil {
			t.Fatalf("Time(%q) ok for %q, which is not a number", name, tok.Claims.String(name))
		}
		if math.Abs(f) < 1e15 && when.Unix() != int64(f) {
			t.Fatalf("Time(%q) = %v for %v", name, when, f)
		}
	}
	_ = tok.Issuer()
	if tok.Provider() == GitLabCI && !tok.FromGitLab() {
		t.Fatal("a GitLabCI token is not FromGitLab")
	}
	switch tok.Provider() {
	case GitHubActions, GitLabCI, Other:
	default:
		t.Fatalf("Provider() = %q", tok.Provider())
	}
	for _, now := range []time.Time{time.Unix(0, 0), time.Unix(1_800_000_000, 0), time.Unix(math.MaxInt32*4, 0)} {
		_ = tok.ExpiryHint(now)
	}
}
