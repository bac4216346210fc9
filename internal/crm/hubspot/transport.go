package hubspot

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds what is read of one response.
const maxBody = 64 << 20

// maxRateLimited bounds how many 429 answers one request waits out.
const maxRateLimited = 10

// request is one call to HubSpot.
type request struct {
	method string
	path   string // escaped, starting with "/"
	query  url.Values
	body   any
	// write marks a request that changes data. Its outcome is unknown when
	// it fails with 5xx or a network error, and it is then not sent again:
	// the caller reads the data back to find out (unknownOutcomeError).
	write bool
}

func (r request) String() string { return r.method + " " + r.path }

type response struct {
	status int
	header http.Header
	body   []byte
}

// APIError is an error answer from HubSpot in its standard shape.
// https://developers.hubspot.com/docs/api-reference/error-handling
type APIError struct {
	Method, Path  string
	Status        int
	Category      string // e.g. VALIDATION_ERROR, OBJECT_NOT_FOUND, RATE_LIMIT
	Message       string
	CorrelationID string
	// PolicyName is set on 429: TEN_SECONDLY_ROLLING, SECONDLY or DAILY.
	PolicyName string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("hubspot: %s %s: %d %s", e.Method, e.Path, e.Status, e.detail())
}

// detail is the part of the error a receipt shows: HubSpot's category,
// message and correlation id, which HubSpot support asks for.
func (e *APIError) detail() string {
	return describe(e.Category, e.Message, e.CorrelationID)
}

func describe(category, message, correlationID string) string {
	var b strings.Builder
	b.WriteString("HubSpot ")
	b.WriteString(cmp.Or(category, "error"))
	if message != "" {
		b.WriteString(": ")
		b.WriteString(message)
	}
	if correlationID != "" {
		b.WriteString(" (correlationId ")
		b.WriteString(correlationID)
		b.WriteString(")")
	}
	return b.String()
}

// unknownOutcomeError is the failure of a write that may or may not have
// taken effect.
type unknownOutcomeError struct{ cause string }

func (e *unknownOutcomeError) Error() string {
	return "HubSpot did not confirm the write: " + e.cause
}

func isUnknownOutcome(err error) bool {
	var u *unknownOutcomeError
	return errors.As(err, &u)
}

// errorBody is the union of HubSpot's error bodies (4xx/5xx and 429).
type errorBody struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
	Category      string `json:"category"`
	ErrorType     string `json:"errorType"`
	PolicyName    string `json:"policyName"`
}

func (c *Client) apiError(req request, resp *response) *APIError {
	var b errorBody
	_ = json.Unmarshal(resp.body, &b) // the fields are optional; so is the body
	e := &APIError{
		Method: req.method, Path: req.path, Status: resp.status,
		Category:      cmp.Or(b.Category, b.ErrorType),
		Message:       c.redact(b.Message),
		CorrelationID: cmp.Or(b.CorrelationID, correlationHeader(resp.header)),
		PolicyName:    b.PolicyName,
	}
	if e.Message == "" && b.Status == "" {
		e.Message = http.StatusText(resp.status)
	}
	return e
}

// correlationHeader is the id HubSpot puts on every answer; batch error
// entries have no correlationId of their own, so this is the one to quote.
func correlationHeader(h http.Header) string { return h.Get("X-HubSpot-Correlation-Id") }

// do sends req, waiting for the rate limiter first, and retries what is
// safe to retry:
//
//   - 429: always (HubSpot rejected the request before doing it), after
//     Retry-After when given, otherwise after a backoff; at most
//     maxRateLimited times. A 429 for the daily limit is not retried: it
//     resets at midnight in the account's time zone.
//   - 5xx and network errors (timeouts included): reads up to MaxAttempts
//     with jittered exponential backoff; writes not at all
//     (unknownOutcomeError), since the change may have been made.
//   - 401, other 4xx: never.
//
// A 2xx answer is returned; anything else is an error.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	var payload []byte
	if req.body != nil {
		var err error
		if payload, err = json.Marshal(req.body); err != nil {
			return nil, fmt.Errorf("hubspot: %s: %w", req, err)
		}
	}
	failures, limited := 0, 0
	for {
		if err := c.sleep(ctx, c.lim.reserve()); err != nil {
			return nil, fmt.Errorf("hubspot: %s: %w", req, err)
		}
		sent := c.now()
		c.outstanding.Add(1)
		resp, err := c.send(ctx, req, payload)
		if err == nil {
			c.observe(resp.header, sent)
		}
		c.outstanding.Add(-1)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("hubspot: %s: %w", req, ctx.Err())
			}
			msg := c.redact(err.Error())
			if req.write {
				return nil, &unknownOutcomeError{cause: msg}
			}
			failures++
			if failures >= c.maxAttempts {
				return nil, fmt.Errorf("hubspot: %s: giving up after %d attempts: %s", req, failures, msg)
			}
			if err := c.backoff(ctx, req, failures, msg); err != nil {
				return nil, err
			}
			continue
		}
		switch s := resp.status; {
		case s >= 200 && s < 300:
			return resp, nil
		case s == http.StatusUnauthorized:
			return nil, &unauthorizedError{tokenEnv: c.tokenEnv}
		case s == http.StatusTooManyRequests:
			e := c.apiError(req, resp)
			if e.PolicyName == "DAILY" {
				return nil, fmt.Errorf("%w; HubSpot's daily API limit resets at midnight in the account's time zone", e)
			}
			limited++
			if limited > maxRateLimited {
				return nil, fmt.Errorf("%w (still rate limited after %d waits)", e, maxRateLimited)
			}
			wait, why := c.rateLimitWait(resp.header, limited)
			c.logf("%s: 429 %s; waiting %v (%s)", req, cmp.Or(e.PolicyName, e.Category), wait, why)
			c.lim.pause(c.now().Add(wait))
		case s >= 500:
			e := c.apiError(req, resp)
			if req.write {
				return nil, &unknownOutcomeError{cause: e.Error()}
			}
			failures++
			if failures >= c.maxAttempts {
				return nil, fmt.Errorf("%w (giving up after %d attempts)", e, failures)
			}
			if err := c.backoff(ctx, req, failures, fmt.Sprintf("%d %s", s, e.detail())); err != nil {
				return nil, err
			}
		default:
			return nil, c.apiError(req, resp)
		}
	}
}

func (c *Client) send(ctx context.Context, req request, payload []byte) (*response, error) {
	u := c.base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, err
	}
	// Private apps authenticate with their access token as a bearer token.
	// https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects
	hr.Header.Set("Authorization", "Bearer "+c.token)
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "crmops")
	if payload != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hresp, err := c.http.Do(hr)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	return &response{status: hresp.StatusCode, header: hresp.Header, body: data}, nil
}

// backoff sleeps before retry number n: exponential from 500 ms, capped at
// 16 s, with jitter in [d/2, d) so that clients do not retry in step.
func (c *Client) backoff(ctx context.Context, req request, n int, why string) error {
	d := 500 * time.Millisecond << min(n-1, 5)
	d = d/2 + time.Duration(c.rand()*float64(d/2))
	c.logf("%s: %s; retry %d in %v", req, why, n, d)
	if err := c.sleep(ctx, d); err != nil {
		return fmt.Errorf("hubspot: %s: %w", req, err)
	}
	return nil
}

// rateLimitWait is how long to wait after the n-th 429 of a request: the
// Retry-After header when HubSpot sends one (seconds or an HTTP date),
// otherwise an exponential backoff from one request interval up to the
// whole window. HubSpot's usage page documents the 429 body and the
// X-HubSpot-RateLimit-* headers but not Retry-After, so both are handled.
func (c *Client) rateLimitWait(h http.Header, n int) (time.Duration, string) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, "Retry-After"
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, t.Sub(c.now())), "Retry-After"
		}
	}
	limit, window := c.lim.current()
	d := window / time.Duration(max(1, limit)) << min(n-1, 10)
	d = min(d, window)
	d = d/2 + time.Duration(c.rand()*float64(d/2))
	return d, "backoff"
}

// observe applies HubSpot's rate-limit headers to the limiter.
// https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines
//
//   - A stricter X-HubSpot-RateLimit-Max per
//     X-HubSpot-RateLimit-Interval-Milliseconds is adopted for good.
//   - X-HubSpot-RateLimit-Remaining: 0 empties the bucket.
//   - Remaining is the whole app's: every process on the token draws on
//     it. The client knows when it sent its own requests, so Max minus
//     Remaining minus its own requests of the last window is what others
//     used. When others use the window, the client paces itself to its
//     share of it (its own count over everyone's, times Max), which keeps
//     the processes' sum at Max whatever their split; and when Remaining
//     is no more than the requests it still has in flight, it holds back
//     one interval per such request.
//
// (X-HubSpot-RateLimit-Daily and -Daily-Remaining exist too; the daily
// limit is left to the 429 answer.) sent is when the request went out.
func (c *Client) observe(h http.Header, sent time.Time) {
	maxReq, err1 := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Max"))
	ms, err2 := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
	window := time.Duration(ms) * time.Millisecond
	if err1 == nil && err2 == nil {
		if c.lim.lower(maxReq, window) {
			c.logf("HubSpot reports a limit of %d requests per %v; slowing down to it", maxReq, window)
		}
	}
	remaining, err3 := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Remaining"))
	if err3 != nil {
		return
	}
	if remaining == 0 {
		c.lim.drain()
	}
	if err1 == nil && err2 == nil && maxReq > 0 && window > 0 {
		// The other requests this client has out will count too.
		c.lim.share(maxReq, window, remaining, int(c.outstanding.Load())-1, sent)
	}
}
