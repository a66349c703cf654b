package localstack

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestShellQuote(t *testing.T) {
	tests := map[string]string{
		"plain":                  "'plain'",
		"http://x/token?a=1&b=2": "'http://x/token?a=1&b=2'",
		"it's":                   `'it'\''s'`,
	}
	for in, want := range tests {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(in)).Output()
		if err != nil || string(out) != in {
			t.Errorf("sh read back %q (%v), want %q", out, err, in)
		}
	}
}

func TestFulcioConfigIsJSON(t *testing.T) {
	data, err := fulcioConfig()
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		OIDCIssuers map[string]struct{ Type, CIProvider string }
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.OIDCIssuers[OIDCIssuerURL]; got.Type != "ci-provider" || got.CIProvider != "github-workflow" {
		t.Errorf("github issuer = %+v", got)
	}
}

func TestLogIDs(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := derKeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := checkpointKeyID(RekorV2URL)(pub)
	if err != nil {
		t.Fatal(err)
	}
	if len(v1) != 32 || len(v2) != 32 || string(v1) == string(v2) {
		t.Errorf("log ids: v1 %x, v2 %x", v1, v2)
	}
}

func TestProcessIdentity(t *testing.T) {
	c, err := startProcess("sleep", "sleep", []string{"30"}, t.TempDir(), t.TempDir()+"/sleep.log")
	if err != nil {
		t.Fatal(err)
	}
	if !c.alive() {
		t.Fatal("fresh process not alive")
	}
	other := c.Process
	other.StartTime++
	if other.alive() {
		t.Error("process with another start time counted as ours")
	}
	if err := other.stop(time.Second); err != nil || !c.alive() {
		t.Fatalf("stop of a foreign process signalled it (err %v)", err)
	}
	if err := c.stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	<-c.done
	if c.alive() {
		t.Error("process still alive after stop")
	}
}

func TestLogTail(t *testing.T) {
	path := t.TempDir() + "/x.log"
	if err := os.WriteFile(path, []byte("1\n2\n3\n4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := logTail(path, 2); got != strings.Join([]string{"3", "4"}, "\n") {
		t.Errorf("logTail = %q", got)
	}
}
