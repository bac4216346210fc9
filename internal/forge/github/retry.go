package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryTransport waits out GitHub's rate limits instead of failing the run.
// GitHub documents the protocol in "Rate limits for the REST API" and
// "Troubleshooting the REST API" (docs.github.com/en/rest/using-the-rest-api):
// a rate-limited request gets 403 or 429; if retry-after is present, wait
// that many seconds; else if x-ratelimit-remaining is 0, wait until
// x-ratelimit-reset (UTC epoch seconds); otherwise wait at least a minute.
// A request refused for its rate is not processed, so retrying it is safe
// even for POST. Server errors (5xx) are retried only for GET and HEAD,
// which cannot create anything twice.
type retryTransport struct {
	base http.RoundTripper
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	// maxWait is the longest single wait; a longer one fails the request
	// with the reason rather than hanging a CI job for an hour.
	maxWait  time.Duration
	attempts int
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	for attempt := 1; ; attempt++ {
		r := req.Clone(req.Context())
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		wait, why := t.backoff(resp, req.Method, attempt)
		if wait < 0 || attempt >= t.attempts {
			return resp, nil
		}
		if wait > t.maxWait {
			return resp, nil // go-github turns it into a RateLimitError with the reset time
		}
		// The body is drained so the connection can be reused.
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, fmt.Errorf("waiting %s for GitHub (%s): %w", wait, why, err)
		}
	}
}

// backoff returns how long to wait before retrying, or -1 for "do not".
func (t *retryTransport) backoff(resp *http.Response, method string, attempt int) (time.Duration, string) {
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || (resp.StatusCode == http.StatusForbidden && rateLimited(resp)):
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, err := strconv.Atoi(s); err == nil {
				return time.Duration(secs) * time.Second, "retry-after"
			}
		}
		if resp.Header.Get("X-Ratelimit-Remaining") == "0" {
			if reset, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
				return max(time.Until(time.Unix(reset, 0))+time.Second, time.Second), "primary rate limit"
			}
		}
		return time.Minute, "secondary rate limit"
	case resp.StatusCode >= 500 && (method == http.MethodGet || method == http.MethodHead):
		return time.Duration(attempt*attempt) * time.Second, "server error"
	}
	return -1, ""
}

// rateLimited tells a rate-limit 403 from a permission 403 without
// consuming the body go-github still needs.
func rateLimited(resp *http.Response) bool {
	if resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-Ratelimit-Remaining") == "0" {
		return true
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return err == nil && strings.Contains(strings.ToLower(string(data)), "rate limit")
}
