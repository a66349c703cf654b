// Package localstack runs a real Sigstore stack (OIDC issuer, Fulcio with a
// CT log, timestamp authority, Rekor v1 on Trillian/MariaDB and Rekor v2) on
// 127.0.0.1 for tests, and writes the trusted root, signing configs and an
// environment file that point clients at it.
package localstack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Loopback endpoints of the stack. The TSA's and Fulcio's metrics listeners
// (2112, 2113) bind all interfaces; neither server can be told otherwise.
const (
	host          = "127.0.0.1"
	OIDCIssuerURL = "http://127.0.0.1:8090"                  // OIDCIssuerURL is the local issuer (GitHub-shaped tokens).
	TokenURL      = OIDCIssuerURL + "/token?api-version=2.0" // TokenURL mimics ACTIONS_ID_TOKEN_REQUEST_URL.
	FulcioURL     = "http://127.0.0.1:5555"                  // FulcioURL is Fulcio's HTTP API.
	TSAURL        = "http://127.0.0.1:3005/api/v1/timestamp" // TSAURL is the RFC 3161 timestamp endpoint.
	RekorV1URL    = "http://127.0.0.1:3010"                  // RekorV1URL is Rekor v1 (Trillian-backed).
	RekorV2URL    = "http://127.0.0.1:3003"                  // RekorV2URL is Rekor v2 (rekor-tiles, POSIX storage).
	CTURL         = "http://127.0.0.1:6962/test"             // CTURL is the CT log Fulcio submits to.
	// FulcioMetricsURL serves Fulcio's Prometheus metrics.
	FulcioMetricsURL = "http://127.0.0.1:2113/metrics"
)

// Ports used by the stack, checked for being free before anything starts.
var ports = map[string]int{
	"timestamp-server": 3005, "timestamp-server metrics": 2112,
	"oidc":        8090,
	"fulcio http": 5555, "fulcio grpc": 5554, "fulcio metrics": 2113,
	"mariadb":                 3306,
	"trillian_log_server rpc": 8091, "trillian_log_server http": 8092,
	"trillian_log_signer rpc": 8093, "trillian_log_signer http": 8094,
	"ct_server": 6962, "rekor-server": 3010,
	"rekor v2 http": 3003, "rekor v2 grpc": 3004, "rekor v2 metrics": 2114,
}

// Options configures Up.
type Options struct {
	// Dir holds keys, logs, state and trust files. Default ".stack".
	Dir string
	// Cache is where the server binaries are installed (Cache/bin).
	// Default: .cache/stack below the repository root.
	Cache string
	// Self is the stack binary, re-executed as "stack oidc" to run the
	// issuer. When empty, Up builds it into Cache/bin/stack.
	Self string
	// Restart stops a stack already running in Dir instead of failing.
	Restart bool
	// Progress receives progress lines; nil means os.Stderr.
	Progress func(format string, args ...any)
}

// Stack describes a running stack. It is stored in Dir/stack.json.
type Stack struct {
	Dir                 string    `json:"dir"`
	Bin                 string    `json:"bin"`
	StartedAt           time.Time `json:"started_at"`
	OIDCIssuer          string    `json:"oidc_issuer"`
	OIDCIssuerGitLab    string    `json:"oidc_issuer_gitlab"`
	TokenURL            string    `json:"token_url"`
	RequestToken        string    `json:"request_token"`
	FulcioURL           string    `json:"fulcio_url"`
	TSAURL              string    `json:"tsa_url"`
	RekorV1URL          string    `json:"rekor_v1_url"`
	RekorV2URL          string    `json:"rekor_v2_url"`
	CTURL               string    `json:"ct_url"`
	TrustedRoot         string    `json:"trusted_root"`
	SigningConfig       string    `json:"signing_config"`
	SigningConfigRekor2 string    `json:"signing_config_rekor2"`
	Processes           []Process `json:"processes"`
}

// Process is one server started by Up.
type Process struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// StartTime is the kernel start time of PID (clock ticks since boot);
	// Down only signals a PID whose start time still matches.
	StartTime uint64 `json:"start_time"`
	Log       string `json:"log"`
}

// stateFile is the name of the JSON state file in Dir.
const stateFile = "stack.json"

// Load reads the state of the stack started in dir.
func Load(dir string) (*Stack, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("loading stack state: %w", err)
	}
	var s Stack
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", stateFile, err)
	}
	return &s, nil
}

// save writes s to Dir/stack.json.
func (s *Stack) save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding stack state: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, stateFile), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing stack state: %w", err)
	}
	return nil
}

// Running reports the recorded processes that are still alive.
func (s *Stack) Running() []Process {
	var out []Process
	for _, p := range s.Processes {
		if p.alive() {
			out = append(out, p)
		}
	}
	return out
}
