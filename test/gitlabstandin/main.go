// Command gitlabstandin serves internal/gitlabtest's stand-in for GitLab's
// generic package registry on loopback, for end-to-end runs and
// gitlab-ci-local. It implements GitLab's documented generic packages API
// (PUT and GET of /api/v4/projects/:id/packages/generic/:name/:version/:file
// with the JOB-TOKEN, PRIVATE-TOKEN or DEPLOY-TOKEN header); it is not
// GitLab.
//
//	go run ./test/gitlabstandin -job-token "$CI_JOB_TOKEN" -url-file api.url
//
// prints the API root (use it as CI_API_V4_URL) and serves until
// interrupted. -fail-put-from N answers -fail-status to the Nth PUT and
// every later one, to rehearse a registry failing halfway.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/attest-publish/attest-publish/internal/gitlabtest"
	"github.com/attest-publish/attest-publish/internal/netguard"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gitlabstandin:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gitlabstandin", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
	token := fs.String("job-token", os.Getenv("GITLAB_STANDIN_TOKEN"), "token accepted for uploads and downloads (default $GITLAB_STANDIN_TOKEN)")
	public := fs.Bool("public", false, "serve downloads without a token (a public project)")
	noDup := fs.Bool("no-duplicates", false, "refuse a second file of the same name (the group setting)")
	failFrom := fs.Int("fail-put-from", 0, "answer -fail-status to this PUT (1-based) and every later one (0: never)")
	failStatus := fs.Int("fail-status", http.StatusServiceUnavailable, "status of the injected failures")
	urlFile := fs.String("url-file", "", "also write the API root to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		return errors.New("give -job-token (or $GITLAB_STANDIN_TOKEN)")
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil || !netguard.IsLoopback(host) {
		return fmt.Errorf("-listen %q: a loopback address only (this is a test stand-in)", *listen)
	}
	reg := gitlabtest.New(*token)
	reg.Public, reg.NoDuplicates = *public, *noDup
	if *failFrom > 0 {
		reg.Fail = func(method string, n int, _ string) (int, bool) {
			if method == http.MethodPut && n >= *failFrom {
				return *failStatus, false
			}
			return 0, false
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	api := "http://" + ln.Addr().String() + "/api/v4"
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(api+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "GitLab generic packages stand-in (not GitLab): API at %s\n", api)
	srv := &http.Server{Handler: reg, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
