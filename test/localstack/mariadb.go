package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Database settings for Trillian and Rekor v1's search index.
const (
	dbUser = "trillian"
	dbPass = "trillian"
	// trillianDSN is Trillian's MySQL DSN.
	trillianDSN = dbUser + ":" + dbPass + "@tcp(127.0.0.1:3306)/trillian"
	// rekorDSN is Rekor v1's search index DSN.
	rekorDSN = dbUser + ":" + dbPass + "@tcp(127.0.0.1:3306)/rekor"
	// trillianModule holds Trillian's MySQL schema.
	trillianModule = "github.com/google/trillian@v1.8.0"
)

// startMariaDB initialises a private datadir under run/mysql, starts mariadbd
// on 127.0.0.1:3306 and creates the trillian and rekor databases.
func (s *Stack) startMariaDB(ctx context.Context, run string) error {
	base := filepath.Join(run, "mysql")
	data := filepath.Join(base, "data")
	sock := filepath.Join(base, "mysqld.sock")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("creating mariadb datadir: %w", err)
	}
	var asRoot []string
	if os.Geteuid() == 0 {
		asRoot = []string{"--user=root"}
	}
	installDB, err := mariadbTool("mariadb-install-db")
	if err != nil {
		return fmt.Errorf("initialising mariadb: %w", err)
	}
	args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
		"--skip-test-db"}, asRoot...)
	if out, err := runTool(ctx, installDB, args, nil); err != nil {
		return fmt.Errorf("initialising mariadb datadir: %w\n%s", err, out)
	}
	mariadbd, err := mariadbTool("mariadbd")
	if err != nil {
		return fmt.Errorf("starting mariadb: %w", err)
	}
	args = append([]string{"--no-defaults", "--datadir=" + data, "--socket=" + sock,
		"--pid-file=" + filepath.Join(base, "mysqld.pid"), "--bind-address=127.0.0.1", "--port=3306",
		"--skip-name-resolve", "--innodb-buffer-pool-size=64M"}, asRoot...)
	c, err := s.start("mariadb", mariadbd, args)
	if err != nil {
		return err
	}
	client, err := mariadbTool("mariadb")
	if err != nil {
		return fmt.Errorf("mariadb client: %w", err)
	}
	sql := func(db string, stdin []byte) error {
		args := []string{"--no-defaults", "--socket=" + sock, "-uroot"}
		if db != "" {
			args = append(args, db)
		}
		out, err := runTool(ctx, client, args, stdin)
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	if err := waitFor(ctx, c, time.Minute, func() error { return sql("", []byte("SELECT 1;")) }); err != nil {
		return s.failed(c, err)
	}
	setup := fmt.Sprintf(`CREATE DATABASE trillian; CREATE DATABASE rekor;
CREATE USER '%[1]s'@'127.0.0.1' IDENTIFIED BY '%[2]s';
GRANT ALL ON trillian.* TO '%[1]s'@'127.0.0.1'; GRANT ALL ON rekor.* TO '%[1]s'@'127.0.0.1';`, dbUser, dbPass)
	if err := sql("", []byte(setup)); err != nil {
		return fmt.Errorf("creating databases: %w", err)
	}
	schema, err := trillianSchema(ctx)
	if err != nil {
		return err
	}
	if err := sql("trillian", schema); err != nil {
		return fmt.Errorf("loading trillian schema: %w", err)
	}
	return nil
}

// trillianSchema returns storage/mysql/schema/storage.sql of the pinned
// Trillian module from the module cache.
func trillianSchema(ctx context.Context) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", trillianModule)
	cmd.Dir = os.TempDir() // outside any module: do not touch go.mod/go.sum
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=auto")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("locating %s: %w", trillianModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, fmt.Errorf("parsing go mod download output: %w", err)
	}
	schema, err := os.ReadFile(filepath.Join(mod.Dir, "storage", "mysql", "schema", "storage.sql"))
	if err != nil {
		return nil, fmt.Errorf("reading trillian schema: %w", err)
	}
	return schema, nil
}

// runTool runs a short-lived program and returns its combined output.
func runTool(ctx context.Context, bin string, args []string, stdin []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
