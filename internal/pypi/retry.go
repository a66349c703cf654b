package pypi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// ErrLanded is wrapped by RetryPolicy.Do's error when a failed attempt's
// upload turned out to have reached the index: the file is live, though the
// client never saw the index's answer.
var ErrLanded = errors.New("an earlier attempt's upload reached the index")

// RetryPolicy retries transient failures of uploads and index reads
// (connection resets and refusals, timeouts, truncated responses, HTTP 429
// and 5xx) with exponential backoff. Whether the index already has the file
// after a failed upload is for the caller to decide, through Do's landed
// function.
type RetryPolicy struct {
	// Attempts is the total number of attempts (default 4).
	Attempts int
	// Initial is the wait before the first retry (default 1 s); it doubles
	// on every retry.
	Initial time.Duration
	// Max caps the wait (default 30 s).
	Max time.Duration
	// Sleep waits (default: a timer that stops early when ctx is done).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Backoff returns the wait before retry number n (1 for the first retry).
func (p RetryPolicy) Backoff(n int) time.Duration {
	initial, maxWait := p.Initial, p.Max
	if initial <= 0 {
		initial = time.Second
	}
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	d := initial
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}

// Wait waits d with the policy's Sleep (default: a timer that stops early
// when ctx is done, returning its error).
func (p RetryPolicy) Wait(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retryable reports whether err is worth another attempt: a transport
// failure or an index answer of the 5xx or 429 kind (an *UploadError or an
// *IndexError), never a refusal (another 4xx), a changed file, an existing
// file, or a cancelled context.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var mismatch *DigestMismatchError
	if errors.As(err, &mismatch) || errors.Is(err, ErrExists) {
		return false
	}
	var ue *UploadError
	if errors.As(err, &ue) {
		return transientStatus(ue.Status)
	}
	var ie *IndexError
	if errors.As(err, &ie) {
		return transientStatus(ie.Status)
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	// Any other failure to dial, read or write on the connection.
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transientStatus reports whether an index's HTTP status is worth another
// attempt: 5xx, or 429 Too Many Requests.
func transientStatus(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests
}

// Do runs op until it succeeds, fails for good, or the attempts run out.
// Before each retry it waits, then calls landed (when not nil) to ask
// whether the index already has the file; if it does, Do stops and returns
// an error wrapping ErrLanded and the last failure, which the caller may
// count as success.
func (p RetryPolicy) Do(ctx context.Context, op func(ctx context.Context) error, landed func(ctx context.Context) (bool, error)) error {
	attempts := p.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	var err error
	for n := 1; ; n++ {
		if err = op(ctx); err == nil {
			return nil
		}
		if !Retryable(err) || ctx.Err() != nil {
			return err
		}
		if n == attempts {
			return fmt.Errorf("giving up after %d attempts: %w", n, err)
		}
		if serr := p.Wait(ctx, p.Backoff(n)); serr != nil {
			return fmt.Errorf("%w (retry cancelled: %v)", err, serr)
		}
		if landed != nil {
			ok, lerr := landed(ctx)
			if lerr != nil {
				return fmt.Errorf("%w; not retrying, because checking whether the index already has the file failed: %v", err, lerr)
			}
			if ok {
				return fmt.Errorf("%w (attempt %d failed: %v)", ErrLanded, n, err)
			}
		}
	}
}
