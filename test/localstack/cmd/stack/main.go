// Command stack installs, starts and stops the local Sigstore stack used by
// attest-publish's tests, and runs its OIDC issuer.
//
//	stack install [--cache DIR]
//	stack up [--dir .stack] [--cache DIR] [--restart]
//	stack down [--dir .stack]
//	stack status [--dir .stack]
//	stack fulcio-certs
//	stack oidc --addr 127.0.0.1:8090 --issuer URL --key FILE [--request-token T]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/attest-publish/attest-publish/test/localstack"
	"github.com/attest-publish/attest-publish/test/oidcissuer"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmds := map[string]func(context.Context, []string) error{
		"install": install, "up": up, "down": down, "status": status,
		"fulcio-certs": fulcioCerts, "oidc": oidc,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		usage()
	}
	if err := run(ctx, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "stack %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// usage prints the synopsis and exits with status 2.
func usage() {
	fmt.Fprintln(os.Stderr, "usage: stack install|up|down|status|fulcio-certs|oidc [flags] (see -h of each)")
	os.Exit(2)
}

// progress prints a progress line to stderr.
func progress(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// parse parses args into fs, exiting on -h or bad flags.
func parse(fs *flag.FlagSet, args []string) {
	_ = fs.Parse(args) // ExitOnError
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %v\n", fs.Args())
		os.Exit(2)
	}
}

func install(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("install", flag.ExitOnError)
	cache := fs.String("cache", localstack.DefaultCache(), "binary cache (binaries go to CACHE/bin)")
	parse(fs, args)
	start := time.Now()
	if err := localstack.Install(ctx, *cache, progress); err != nil {
		return err
	}
	progress("install done in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

func up(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	dir := fs.String("dir", ".stack", "state directory")
	cache := fs.String("cache", localstack.DefaultCache(), "binary cache (binaries in CACHE/bin)")
	restart := fs.Bool("restart", false, "stop a stack already running in --dir first")
	parse(fs, args)
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating own binary: %w", err)
	}
	start := time.Now()
	s, err := localstack.Up(ctx, localstack.Options{
		Dir: *dir, Cache: *cache, Self: self, Restart: *restart, Progress: progress,
	})
	if err != nil {
		return err
	}
	progress("stack up in %s; source %s/%s", time.Since(start).Round(time.Millisecond), s.Dir, localstack.EnvFile)
	return nil
}

func down(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("down", flag.ExitOnError)
	dir := fs.String("dir", ".stack", "state directory")
	parse(fs, args)
	start := time.Now()
	if err := localstack.Down(*dir); err != nil {
		return err
	}
	progress("stack down in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

func status(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("status", flag.ExitOnError)
	dir := fs.String("dir", ".stack", "state directory")
	parse(fs, args)
	s, err := localstack.Load(*dir)
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("no stack in " + *dir)
	}
	if err != nil {
		return err
	}
	running := map[int]bool{}
	for _, p := range s.Running() {
		running[p.PID] = true
	}
	for _, p := range s.Processes {
		state := "stopped"
		if running[p.PID] {
			state = "running"
		}
		fmt.Printf("%-20s pid %-8d %s\n", p.Name, p.PID, state)
	}
	if len(s.Processes) == 0 {
		return errors.New("stack in " + s.Dir + " is not running")
	}
	if len(running) != len(s.Processes) {
		return fmt.Errorf("%d of %d processes running", len(running), len(s.Processes))
	}
	fmt.Printf("stack running since %s in %s\n", s.StartedAt.Format(time.RFC3339), s.Dir)
	return nil
}

func fulcioCerts(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("fulcio-certs", flag.ExitOnError)
	parse(fs, args)
	n, err := localstack.FulcioCerts()
	if err != nil {
		return err
	}
	fmt.Println(n)
	return nil
}

func oidc(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("oidc", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	issuerURL := fs.String("issuer", localstack.OIDCIssuerURL, "issuer URL (iss claim)")
	keyPath := fs.String("key", "oidc.key", "RSA signing key, created when missing")
	requestToken := fs.String("request-token", "", "bearer token /token requires (empty: none)")
	parse(fs, args)
	key, err := oidcissuer.LoadOrCreateKey(*keyPath)
	if err != nil {
		return err
	}
	iss, err := oidcissuer.New(oidcissuer.Options{Issuer: *issuerURL, Key: key, RequestToken: *requestToken})
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: iss, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	progress("oidc issuer %s listening on %s (kid %s)", *issuerURL, *addr, iss.KeyID())
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
