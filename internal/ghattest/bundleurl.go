package ghattest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/klauspost/compress/snappy"
)

// maxBundleSize bounds a bundle fetched from a bundle_url, compressed and
// decompressed (GitHub's own limit on a predicate is 16 MB).
const maxBundleSize = 32 << 20

// fetchBundleURL downloads a snappy-compressed bundle from the immutable
// URL an attestation listing gives. The API token is not sent: the URL is
// already authorised, and may be on another host.
func (c *Client) fetchBundleURL(ctx context.Context, raw string) (json.RawMessage, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("bundle_url %q is not an http(s) URL", raw)
	}
	var lastErr error
	for attempt := 0; attempt < c.attemptsOr(4); attempt++ {
		if attempt > 0 {
			if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
				return nil, err
			}
		}
		data, retry, err := getBundleURL(ctx, c.hc, u.String())
		if err == nil {
			return data, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return nil, fmt.Errorf("fetching bundle_url: %w", lastErr)
}

// getBundleURL makes one request; retry says whether another could help.
func getBundleURL(ctx context.Context, hc *http.Client, u string) (json.RawMessage, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, fmt.Errorf("%s answered %s", req.URL.Host, resp.Status)
	}
	compressed, err := io.ReadAll(io.LimitReader(resp.Body, maxBundleSize+1))
	if err != nil {
		return nil, true, err
	}
	if len(compressed) > maxBundleSize {
		return nil, false, fmt.Errorf("compressed bundle larger than %d bytes", maxBundleSize)
	}
	if n, err := snappy.DecodedLen(compressed); err != nil {
		return nil, false, fmt.Errorf("decompressing (snappy): %w", err)
	} else if n > maxBundleSize {
		return nil, false, fmt.Errorf("bundle larger than %d bytes", maxBundleSize)
	}
	data, err := snappy.Decode(nil, compressed)
	if err != nil {
		return nil, false, fmt.Errorf("decompressing (snappy): %w", err)
	}
	if !json.Valid(data) {
		return nil, false, errors.New("decompressed bundle is not JSON")
	}
	return data, false, nil
}
