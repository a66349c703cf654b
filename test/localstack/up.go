package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// selfPackage is the stack command, built when Options.Self is empty.
const selfPackage = "github.com/attest-publish/attest-publish/test/localstack/cmd/stack"

// Up installs the binaries if needed, starts the whole stack on 127.0.0.1,
// waits until every server is healthy and writes the trust files, stack.env
// and stack.json into opts.Dir. The servers keep running after the caller
// exits; stop them with Down. On failure everything already started is
// stopped and the error carries the tail of the failing server's log.
func Up(ctx context.Context, opts Options) (*Stack, error) {
	opts, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if prev, err := Load(opts.Dir); err == nil {
		if running := prev.Running(); len(running) > 0 {
			if !opts.Restart {
				return nil, fmt.Errorf("a stack is already running in %s (%d processes, e.g. %s pid %d): run stack down or use --restart",
					opts.Dir, len(running), running[0].Name, running[0].PID)
			}
			opts.Progress("stopping the stack already running in %s", opts.Dir)
			if err := prev.Down(); err != nil {
				return nil, fmt.Errorf("stopping previous stack: %w", err)
			}
		}
	}
	if err := Install(ctx, opts.Cache, opts.Progress); err != nil {
		return nil, err
	}
	if opts.Self == "" {
		if opts.Self, err = buildSelf(ctx, opts.Cache); err != nil {
			return nil, err
		}
	}
	if err := checkPortsFree(); err != nil {
		return nil, err
	}
	s := &Stack{
		Dir: opts.Dir, Bin: filepath.Join(opts.Cache, "bin"), StartedAt: time.Now().UTC().Truncate(time.Second),
		OIDCIssuer: OIDCIssuerURL, OIDCIssuerGitLab: OIDCIssuerURL + "/gitlab", TokenURL: TokenURL,
		FulcioURL: FulcioURL, TSAURL: TSAURL, RekorV1URL: RekorV1URL, RekorV2URL: RekorV2URL, CTURL: CTURL,
	}
	if s.RequestToken, err = randomToken(); err != nil {
		return nil, err
	}
	if err := s.boot(ctx, opts); err != nil {
		if derr := s.Down(); derr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", derr))
		}
		return nil, err
	}
	return s, nil
}

// boot prepares Dir, starts the servers in dependency order and writes the
// output files.
func (s *Stack) boot(ctx context.Context, opts Options) error {
	keys, run := filepath.Join(s.Dir, "keys"), filepath.Join(s.Dir, "run")
	for _, d := range []string{run, filepath.Join(s.Dir, "logs"), filepath.Join(s.Dir, "trust")} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("clearing %s: %w", d, err)
		}
	}
	for _, d := range []string{keys, run, filepath.Join(s.Dir, "logs"), filepath.Join(s.Dir, "trust")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	ctKey, ctPub := filepath.Join(keys, "ct.key"), filepath.Join(keys, "ct.pub")
	if _, err := ensureKeyPair(ctKey, ctPub, newECDSAKey); err != nil {
		return fmt.Errorf("CT log key: %w", err)
	}
	rekorKey, rekorPub := filepath.Join(keys, "rekor2.key"), filepath.Join(keys, "rekor2.pub")
	if _, err := ensureKeyPair(rekorKey, rekorPub, newEd25519Key); err != nil {
		return fmt.Errorf("rekor v2 key: %w", err)
	}
	var ctTree, rekorTree int64
	steps := []struct {
		name string
		run  func() error
	}{
		{"timestamp-server", func() error { return s.startTSA(ctx) }},
		{"oidc issuer", func() error { return s.startOIDC(ctx, opts.Self, filepath.Join(keys, "oidc.key")) }},
		{"fulcio", func() error { return s.startFulcio(ctx, run, ctPub) }},
		{"mariadb", func() error { return s.startMariaDB(ctx, run) }},
		{"trillian", func() error { return s.startTrillian(ctx) }},
		{"trillian trees", func() (err error) {
			if ctTree, err = s.createTree(ctx); err != nil {
				return err
			}
			rekorTree, err = s.createTree(ctx)
			return err
		}},
		{"ct_server", func() error { return s.startCT(ctx, run, ctKey, ctTree) }},
		{"rekor v1", func() error { return s.startRekorV1(ctx, rekorTree) }},
		{"rekor v2", func() error { return s.startRekorV2(ctx, run, rekorKey) }},
		{"trust files", func() error {
			in, err := fetchTrustInputs(ctPub, rekorPub, s.StartedAt.Add(-time.Minute))
			if err != nil {
				return err
			}
			return s.writeTrust(in)
		}},
		{"stack.env", func() error {
			if err := s.save(); err != nil {
				return err
			}
			return s.writeEnv()
		}},
	}
	for _, st := range steps {
		t := time.Now()
		if err := st.run(); err != nil {
			return err
		}
		opts.Progress("  %-17s ok (%s)", st.name, time.Since(t).Round(time.Millisecond))
	}
	return nil
}

// resolve fills in defaults and makes paths absolute.
func (o Options) resolve() (Options, error) {
	if o.Dir == "" {
		o.Dir = ".stack"
	}
	if o.Cache == "" {
		o.Cache = DefaultCache()
	}
	if o.Progress == nil {
		o.Progress = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	var err error
	if o.Dir, err = filepath.Abs(o.Dir); err != nil {
		return o, fmt.Errorf("resolving dir: %w", err)
	}
	if o.Cache, err = filepath.Abs(o.Cache); err != nil {
		return o, fmt.Errorf("resolving cache: %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return o, fmt.Errorf("creating %s: %w", o.Dir, err)
	}
	return o, nil
}

// buildSelf builds the stack command into cache/bin/stack.
func buildSelf(ctx context.Context, cache string) (string, error) {
	out := filepath.Join(cache, "bin", "stack")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, selfPackage)
	cmd.Dir = RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", selfPackage, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

// randomToken returns a fresh ACTIONS_ID_TOKEN_REQUEST_TOKEN value.
func randomToken() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating request token: %w", err)
	}
	return "ghs_" + hex.EncodeToString(b), nil
}
