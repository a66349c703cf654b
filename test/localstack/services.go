package localstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// healthTimeout bounds the wait for one server to become healthy.
const healthTimeout = time.Minute

// start launches a server and records it in stack.json right away, so that
// Down can stop it even if Up fails later.
func (s *Stack) start(name, bin string, args []string) (*child, error) {
	c, err := startProcess(name, bin, args, s.Dir, filepath.Join(s.Dir, "logs", name+".log"))
	if err != nil {
		return nil, err
	}
	s.Processes = append(s.Processes, c.Process)
	if err := s.save(); err != nil {
		return nil, err
	}
	return c, nil
}

// startHTTP starts a server and waits until healthURL answers 2xx.
func (s *Stack) startHTTP(ctx context.Context, name, bin string, args []string, healthURL string) error {
	c, err := s.start(name, bin, args)
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, c, healthURL, healthTimeout); err != nil {
		return s.failed(c, err)
	}
	return nil
}

// failed wraps err with the tail of c's log.
func (s *Stack) failed(c *child, err error) error {
	return fmt.Errorf("starting %s: %w\n--- last lines of %s ---\n%s", c.Name, err, c.Log, logTail(c.Log, 30))
}

// bin returns the path of an installed server binary.
func (s *Stack) bin(name string) string { return filepath.Join(s.Bin, name) }

// startTSA starts the timestamp authority with an in-memory signer. It must
// come first: its metrics listener is hard-wired to :2112.
func (s *Stack) startTSA(ctx context.Context) error {
	return s.startHTTP(ctx, "timestamp-server", s.bin("timestamp-server"), []string{"serve",
		"--host", host, "--port", "3005", "--timestamp-signer", "memory", "--disable-ntp-monitoring",
	}, TSAURL+"/certchain")
}

// startOIDC re-executes the stack binary as "stack oidc".
func (s *Stack) startOIDC(ctx context.Context, self, keyPath string) error {
	return s.startHTTP(ctx, "oidc", self, []string{"oidc",
		"--addr", "127.0.0.1:8090", "--issuer", OIDCIssuerURL, "--key", keyPath,
		"--request-token", s.RequestToken,
	}, OIDCIssuerURL+"/.well-known/openid-configuration")
}

// startFulcio starts Fulcio with an ephemeral CA, submitting to the CT log.
func (s *Stack) startFulcio(ctx context.Context, run, ctPub string) error {
	cfg, err := fulcioConfig()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(run, "fulcio.json")
	if err := writeFile(cfgPath, cfg); err != nil {
		return err
	}
	return s.startHTTP(ctx, "fulcio", s.bin("fulcio"), []string{"serve",
		"--ca", "ephemeralca", "--config-path", cfgPath,
		"--ct-log-url", CTURL, "--ct-log-public-key-path", ctPub,
		"--host", host, "--port", "5555", "--grpc-host", host, "--grpc-port", "5554",
		"--metrics-port", "2113", "--legacy-unix-domain-socket", "@attest-publish-stack-fulcio-legacy",
	}, FulcioURL+"/api/v2/trustBundle")
}

// startTrillian starts the Trillian log server and signer on MariaDB.
func (s *Stack) startTrillian(ctx context.Context) error {
	common := []string{"--storage_system=mysql", "--quota_system=mysql", "--mysql_uri=" + trillianDSN}
	if err := s.startHTTP(ctx, "trillian_log_server", s.bin("trillian_log_server"), append(common,
		"--rpc_endpoint=127.0.0.1:8091", "--http_endpoint=127.0.0.1:8092",
	), "http://127.0.0.1:8092/healthz"); err != nil {
		return err
	}
	return s.startHTTP(ctx, "trillian_log_signer", s.bin("trillian_log_signer"), append(common,
		"--rpc_endpoint=127.0.0.1:8093", "--http_endpoint=127.0.0.1:8094",
		"--force_master", "--election_system=noop", "--sequencer_interval=100ms",
	), "http://127.0.0.1:8094/healthz")
}

// createTree creates a Trillian log tree and returns its id.
func (s *Stack) createTree(ctx context.Context) (int64, error) {
	out, err := runTool(ctx, s.bin("createtree"), []string{"--admin_server=127.0.0.1:8091"}, nil)
	if err != nil {
		return 0, fmt.Errorf("creating trillian tree: %w: %s", err, out)
	}
	lines := strings.Split(out, "\n")
	id, err := strconv.ParseInt(strings.TrimSpace(lines[len(lines)-1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing tree id from %q: %w", out, err)
	}
	return id, nil
}

// startCT starts the CT log front end for tree, accepting Fulcio's chain.
// The signing key is embedded as DER (ct_server refuses unencrypted PEM
// files), so the config file is private.
func (s *Stack) startCT(ctx context.Context, run, ctKey string, tree int64) error {
	chain, err := fetchFulcioChain()
	if err != nil {
		return err
	}
	keyDER, err := readPrivateKeyDER(ctKey)
	if err != nil {
		return err
	}
	roots := filepath.Join(run, "fulcio_chain.pem")
	if err := writeFile(roots, chain); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`config {
  log_id: %d
  prefix: "test"
  roots_pem_file: %q
  private_key: {
    [type.googleapis.com/keyspb.PrivateKey] { der: "%s" }
  }
  ext_key_usages: [ "CodeSigning" ]
}
`, tree, roots, textprotoBytes(keyDER))
	cfgPath := filepath.Join(run, "ct_server.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("writing CT config: %w", err)
	}
	return s.startHTTP(ctx, "ct_server", s.bin("ct_server"), []string{
		"--log_config", cfgPath, "--log_rpc_server", "127.0.0.1:8091", "--http_endpoint", "127.0.0.1:6962",
	}, CTURL+"/ct/v1/get-sth")
}

// startRekorV1 starts Rekor v1 on tree with an in-memory signer and the
// MariaDB search index. It starts after the TSA, which owns :2112.
func (s *Stack) startRekorV1(ctx context.Context, tree int64) error {
	return s.startHTTP(ctx, "rekor-server", s.bin("rekor-server"), []string{"serve",
		"--trillian_log_server.address=127.0.0.1", "--trillian_log_server.port=8091",
		"--trillian_log_server.tlog_id=" + strconv.FormatInt(tree, 10),
		"--rekor_server.address=127.0.0.1", "--port=3010", "--rekor_server.hostname=127.0.0.1",
		"--rekor_server.signer=memory",
		"--search_index.storage_provider=mysql", "--search_index.mysql.dsn=" + rekorDSN,
		"--enable_attestation_storage=false",
	}, RekorV1URL+"/api/v1/log/publicKey")
}

// startRekorV2 starts rekor-tiles with POSIX storage under run. Its
// --hostname must be the host of its baseUrl in the trusted root.
func (s *Stack) startRekorV2(ctx context.Context, run, key string) error {
	storage := filepath.Join(run, "rekor2-storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return fmt.Errorf("creating rekor v2 storage: %w", err)
	}
	return s.startHTTP(ctx, "rekor-server-posix", s.bin("rekor-server-posix"), []string{"serve",
		"--hostname", host, "--http-address", host, "--http-port", "3003",
		"--grpc-address", host, "--grpc-port", "3004", "--http-metrics-port", "2114",
		"--storage-dir", storage, "--signer-filepath", key, "--checkpoint-interval", "1s",
	}, RekorV2URL+"/healthz")
}
