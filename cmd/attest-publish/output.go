package main

import (
	"fmt"
	"io"

	"github.com/attest-publish/attest-publish/internal/actionio"
	"github.com/attest-publish/attest-publish/internal/release"
)

// newHandler is the CLI's output for --format: text (results on stdout,
// progress and warnings on stderr) or one JSON document on stdout.
// Under a GitHub Actions runner the text has a log group per stage.
func newHandler(format string, stdout, stderr io.Writer, getenv func(string) string) (release.Handler, error) {
	switch format {
	case "text":
		h := &release.TextHandler{Out: stdout, Log: stderr}
		if getenv("GITHUB_ACTIONS") == "true" {
			h.Groups = actionio.CommandWriter(stdout)
		}
		return h, nil
	case "json":
		return &release.JSONHandler{Out: stdout, Log: stderr}, nil
	}
	return nil, usageError{fmt.Sprintf("--format must be text or json, not %q", format)}
}

// commandsTo is where publish writes workflow commands (the minted token's
// ::add-mask::) and hashes: stdout, or stderr when stdout carries the JSON
// report (a runner processes commands on both).
func commandsTo(format string, stdout, stderr io.Writer) io.Writer {
	if format == "json" {
		return stderr
	}
	return stdout
}
