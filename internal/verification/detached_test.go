package verification

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDetached(t *testing.T) {
	b64 := func(s string) []byte { return []byte(base64.StdEncoding.EncodeToString([]byte(s))) }
	// A self-signed P-256 certificate (openssl req -x509): only its
	// parsing matters here.
	pemData, err := os.ReadFile(filepath.Join("testdata", "detached", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	testCertPEM := string(pemData)
	sigTests := []struct {
		name, in, want, err string
	}{
		{name: "base64", in: string(b64("\x30\x45sig")), want: "\x30\x45sig"},
		{name: "base64 with newline", in: string(b64("\x30\x45sig")) + "\n", want: "\x30\x45sig"},
		{name: "raw", in: "\x30\x45\x02\x20\xff", want: "\x30\x45\x02\x20\xff"},
		{name: "empty", in: " \n", err: "empty"},
		{name: "huge", in: strings.Repeat("A", 70<<10), err: "larger than"},
	}
	for _, tt := range sigTests {
		t.Run("signature "+tt.name, func(t *testing.T) {
			got, err := ParseDetachedSignature([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	crtTests := []struct {
		name, in, err string
	}{
		{name: "base64 of PEM (cosign's default)", in: string(b64(testCertPEM))},
		{name: "PEM", in: testCertPEM},
		{name: "two certificates", in: testCertPEM + testCertPEM, err: "2 certificates"},
		{name: "base64 of two", in: string(b64(testCertPEM + testCertPEM)), err: "2 certificates"},
		{name: "not a certificate", in: "hello", err: "not a PEM certificate"},
		{name: "huge", in: strings.Repeat("A", 70<<10), err: "larger than"},
	}
	for _, tt := range crtTests {
		t.Run("certificate "+tt.name, func(t *testing.T) {
			der, err := ParseDetachedCertificate([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || len(der) == 0 || der[0] != 0x30 {
				t.Fatalf("got %x, %v", der, err)
			}
		})
	}
	if _, err := LoadDetached("x.sig", "x.crt", ""); err == nil {
		t.Error("LoadDetached of missing files succeeded")
	}
}
