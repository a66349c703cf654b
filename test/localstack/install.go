package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Binary is a server (or judge) the stack installs with go install.
type Binary struct {
	// Name is the file name in Cache/bin.
	Name string
	// Package is the main package path.
	Package string
	// Version is the pinned module version (the newest release; see the README's
	// dependency section for why each one).
	Version string
	// Built is the name go install produces, when it differs from Name.
	Built string
}

// Binaries lists every pinned binary the stack needs.
var Binaries = []Binary{
	{Name: "timestamp-server", Package: "github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server", Version: "v2.1.5"},
	{Name: "fulcio", Package: "github.com/sigstore/fulcio", Version: "v1.8.8"},
	{Name: "rekor-server-posix", Package: "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix", Version: "v2.3.0", Built: "posix"},
	{Name: "trillian_log_server", Package: "github.com/google/trillian/cmd/trillian_log_server", Version: "v1.8.0"},
	{Name: "trillian_log_signer", Package: "github.com/google/trillian/cmd/trillian_log_signer", Version: "v1.8.0"},
	{Name: "createtree", Package: "github.com/google/trillian/cmd/createtree", Version: "v1.8.0"},
	{Name: "ct_server", Package: "github.com/google/certificate-transparency-go/trillian/ctfe/ct_server", Version: "v1.4.0"},
	{Name: "rekor-server", Package: "github.com/sigstore/rekor/cmd/rekor-server", Version: "v1.6.1"},
	{Name: "cosign", Package: "github.com/sigstore/cosign/v3/cmd/cosign", Version: "v3.1.3"},
	// Toxiproxy puts faults between the tool and the stack in the e2e
	// fault matrix (test/e2e/faults_test.go); it listens on 127.0.0.1 only.
	{Name: "toxiproxy-server", Package: "github.com/Shopify/toxiproxy/v2/cmd/server", Version: "v2.12.0", Built: "server"},
}

// mariadbHint tells how to get the database Trillian needs.
const mariadbHint = "mariadbd not found: run apt-get install -y --no-install-recommends mariadb-server"

// DefaultCache returns .cache/stack below the repository root (see
// RepoRoot).
func DefaultCache() string { return filepath.Join(RepoRoot(), ".cache", "stack") }

// RepoRoot returns the nearest directory at or above the working directory
// that holds go.mod, or the working directory when there is none.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// CheckMariaDB fails with an installation hint when the MariaDB server is
// not installed.
func CheckMariaDB() error {
	if _, err := mariadbTool("mariadbd"); err != nil {
		return errors.New(mariadbHint)
	}
	return nil
}

// mariadbTool finds a MariaDB program in PATH or /usr/sbin.
func mariadbTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found", name)
	}
	return p, nil
}

// Install go-installs every binary of Binaries into cache/bin, skipping those
// whose version stamp already matches. progress gets one line per binary.
func Install(ctx context.Context, cache string, progress func(string, ...any)) error {
	if err := CheckMariaDB(); err != nil {
		return err
	}
	bin, err := filepath.Abs(filepath.Join(cache, "bin"))
	if err != nil {
		return fmt.Errorf("resolving cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(bin, ".stamps"), 0o755); err != nil {
		return fmt.Errorf("creating cache: %w", err)
	}
	for i, b := range Binaries {
		if b.installed(bin) {
			progress("[%d/%d] %s %s: already installed", i+1, len(Binaries), b.Name, b.Version)
			continue
		}
		progress("[%d/%d] %s %s: go install %s@%s ...", i+1, len(Binaries), b.Name, b.Version, b.Package, b.Version)
		start := time.Now()
		if err := b.install(ctx, bin); err != nil {
			return err
		}
		progress("[%d/%d] %s %s: built in %s", i+1, len(Binaries), b.Name, b.Version, time.Since(start).Round(time.Second))
	}
	return nil
}

// stamp is the content of the version stamp of b.
func (b Binary) stamp() string { return b.Package + "@" + b.Version + "\n" }

// stampPath is where the version stamp of b lives.
func (b Binary) stampPath(bin string) string { return filepath.Join(bin, ".stamps", b.Name) }

// installed reports whether bin holds b at the pinned version.
func (b Binary) installed(bin string) bool {
	if _, err := os.Stat(filepath.Join(bin, b.Name)); err != nil {
		return false
	}
	got, err := os.ReadFile(b.stampPath(bin))
	return err == nil && string(got) == b.stamp()
}

// install runs go install for b and renames and stamps the result.
func (b Binary) install(ctx context.Context, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "install", b.Package+"@"+b.Version)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOTOOLCHAIN=auto", "GOFLAGS=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("installing %s: %w\n%s", b.Name, err, strings.TrimSpace(out.String()))
	}
	if b.Built != "" {
		if err := os.Rename(filepath.Join(bin, b.Built), filepath.Join(bin, b.Name)); err != nil {
			return fmt.Errorf("renaming %s: %w", b.Built, err)
		}
	}
	if err := os.WriteFile(b.stampPath(bin), []byte(b.stamp()), 0o644); err != nil {
		return fmt.Errorf("stamping %s: %w", b.Name, err)
	}
	return nil
}
