// Package release is attest-publish's pipeline: audit → sign → verify →
// attest to GitHub → publish → read back, each stage a typed function
// taking and returning values (dists with their digests, the trusted root,
// the signer's identity, verdicts, upload reports). The CLI's commands and
// the GitHub Action run it; what it does is reported to a Handler (text,
// JSON, or the Actions runner's groups, annotations, outputs and summary).
package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/signing"
	"github.com/attest-publish/attest-publish/internal/verification"
)

// ErrNotVerified is returned when some artifact failed verification; the
// verdicts have been reported.
var ErrNotVerified = errors.New("verification failed")

// Run runs the stages of o.Mode, reporting to h, and returns what it did
// (never nil) and its error. h.Done is called last, with both; its error is
// returned when the run itself succeeded.
func Run(ctx context.Context, o Options, h Handler) (*Result, error) {
	p := &pipeline{o: o, h: h, res: &Result{Mode: o.Mode, PackagesDir: o.PackagesDir, Warnings: []Warning{}}}
	err := p.run(ctx)
	if derr := h.Done(p.res, err); err == nil {
		err = derr
	}
	return p.res, err
}

// pipeline is one run: its options, its handler and what it found so far.
type pipeline struct {
	o   Options
	h   Handler
	res *Result
	mu  sync.Mutex // warnings may come from concurrent verifications

	// trust is the Sigstore trust signing used: publish verifies against
	// its trusted root.
	trust *signing.Trust
	// signer is the CI system whose token signed.
	signer idtoken.Provider
}

func (p *pipeline) run(ctx context.Context) error {
	if p.o.Mode != ModeVerify && p.o.Audit != nil {
		if err := p.stage(StageAudit, func() error { return p.audit(*p.o.Audit) }); err != nil {
			return err
		}
	}
	switch p.o.Mode {
	case ModeRelease:
		if err := p.stage(StageSign, func() error { return p.sign(ctx) }); err != nil {
			return fmt.Errorf("signing failed, nothing published: %w", err)
		}
		if err := p.stage(StageVerify, func() error { return p.verifySigned(ctx) }); err != nil {
			return err
		}
		if err := p.stage(StageGitHub, func() error { return p.attestToGitHub(ctx) }); err != nil {
			return err
		}
		if err := p.stage(StagePublish, func() error { return p.publishAndReadBack(ctx) }); err != nil {
			return err
		}
		return p.gitlabStage(ctx, "published")
	case ModeSign:
		if err := p.stage(StageSign, func() error { return p.sign(ctx) }); err != nil {
			return fmt.Errorf("signing failed: %w", err)
		}
		if err := p.stage(StageGitHub, func() error { return p.attestToGitHub(ctx) }); err != nil {
			return err
		}
		return p.gitlabStage(ctx, "signed (the outputs are kept)")
	case ModePublish:
		return p.stage(StagePublish, func() error { return p.publishAndReadBack(ctx) })
	case ModeVerify:
		if err := p.stage(StageVerify, func() error { return p.verify(ctx) }); err != nil {
			return err
		}
		return p.gitlabStage(ctx, "verified")
	}
	return fmt.Errorf("unknown mode %q", p.o.Mode)
}

// gitlabStage runs the GitLab generic package stage when it is asked for;
// done says what the run did before it, for its error.
func (p *pipeline) gitlabStage(ctx context.Context, done string) error {
	if p.o.GitLabGeneric == nil {
		return nil
	}
	if err := p.stage(StageGitLabGeneric, func() error { return p.storeOnGitLab(ctx) }); err != nil {
		return fmt.Errorf("%s, but storing the signature material on GitLab failed: %w%s", done, err, p.finishHint())
	}
	return nil
}

// stage runs fn between the handler's StageStarted and StageEnded.
func (p *pipeline) stage(s Stage, fn func() error) error {

	p.h.StageStarted(s)
	err := fn()
	p.h.StageEnded(s, err)
	return err
}

// warn sends a warning to the one warnings channel: the handler, and the
// result.
func (p *pipeline) warn(w Warning) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.Warnings = append(p.res.Warnings, w)
	p.h.Warning(w)
}

// warnFunc returns a func(string) that warns from stage s.
func (p *pipeline) warnFunc(s Stage) func(string) {
	return func(msg string) { p.warn(Warning{Stage: s, Message: msg}) }
}

// progress returns a writer whose lines become the handler's Progress.
func (p *pipeline) progress() io.Writer { return &lineWriter{fn: p.h.Progress} }

// lineWriter calls fn with each complete line written to it (a partial
// last line waits for its newline).
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := strings.TrimRight(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		w.fn(line)
	}
}

// verdictsFailed reports whether any verdict failed.
func verdictsFailed(rs []verification.Result) bool {
	for _, r := range rs {
		if !r.Verified {
			return true
		}
	}
	return false
}
