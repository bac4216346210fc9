// Package hubspot is the crm.Connector for HubSpot's CRM API (v3 object
// endpoints), authenticated with a private app access token.
//
//	crm: {kind: hubspot, base_url: https://api.hubapi.com, token_env: HUBSPOT_TOKEN, tier: professional}
//
// Reads use batch read (100 ids per request) and the paged list endpoint.
// CompareAndSet reads the current values in one batch right before writing
// them in one batch update, so the compare-and-swap is as strong as two
// requests can make it: HubSpot has no conditional update, and a change
// made by someone else between the read and the write is overwritten (see
// CompareAndSet). Batches of 100 records go out several at a time
// (Config.MaxInFlight), so that at HubSpot's real latency the rate limit,
// not the round trip, bounds throughput. Every request passes one
// client-side token bucket sized from HubSpot's published limits and slowed
// to this process's share when the rate-limit headers show other processes
// on the token; 429, 5xx and timeouts are retried where that is
// safe, and a write whose outcome is unknown is settled by reading it back,
// never by sending it again blindly.
//
// The token is sent only in the Authorization header and never appears in
// errors or logs.
package hubspot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmops/crmops/internal/clock"
	"github.com/crmops/crmops/internal/crm"
)

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// Window is the period HubSpot's burst limit is counted over.
const Window = 10 * time.Second

// Config configures a Client.
type Config struct {
	// BaseURL is the API root (default https://api.hubapi.com).
	BaseURL string
	// Token is the private app access token. It is never printed, logged or
	// put in an error.
	Token string
	// TokenEnv names the variable the token came from, for error messages
	// (default HUBSPOT_TOKEN).
	TokenEnv string
	// Tier is the account's subscription tier (free, starter, professional,
	// enterprise); it picks the default request rate. Empty means the most
	// restrictive (free).
	Tier string
	// RequestsPer10s overrides the tier's burst limit, e.g. 250 with
	// HubSpot's API limit increase.
	RequestsPer10s int
	// HTTPClient sends the requests (default: a client with a 60s timeout).
	HTTPClient *http.Client
	// Sleep waits for d or until ctx is done (default: a timer). Tests pass
	// a fake clock's Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand returns a number in [0, 1) for backoff jitter (default
	// math/rand/v2).
	Rand func() float64
	// Log receives one line per retry or wait; nil discards.
	Log io.Writer
	// MaxInFlight bounds how many requests CompareAndSet has outstanding at
	// once (default 8): at HubSpot's 100-300 ms latency one request at a
	// time reaches only about a quarter of a 190-per-10s limit, and the
	// limiter, not this, is what keeps the rate.
	MaxInFlight int
	// MaxAttempts bounds the tries of a read that fails with 5xx or a
	// network error, and of a write whose outcome stays unknown (default 5).
	MaxAttempts int
}

// tierLimits are HubSpot's burst limits for apps, requests per 10 seconds,
// by subscription tier of the account the app is installed in: Free and
// Starter 100, Professional and Enterprise 190 (250 with the API limit
// increase, which is not a tier: set RequestsPer10s).
// https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines
// (table "Rate limits"; the changelog entry that raised Professional and
// Enterprise from 150 to 190: https://developers.hubspot.com/changelog/increasing-our-api-limits)
var tierLimits = map[string]int{
	"free":         100,
	"starter":      100,
	"professional": 190,
	"enterprise":   190,
}

// TierLimit returns HubSpot's published burst limit (requests per 10 s) for
// a private app in an account of the given tier; "" is free.
func TierLimit(tier string) (int, error) {
	tier = strings.ToLower(strings.TrimSpace(tier))
	if tier == "" {
		tier = "free"
	}
	n, ok := tierLimits[tier]
	if !ok {
		return 0, fmt.Errorf("hubspot: unknown tier %q (free, starter, professional or enterprise)", tier)
	}
	return n, nil
}

// Client is a HubSpot CRM connector. It is safe for concurrent use.
type Client struct {
	base        string
	token       string
	tokenEnv    string
	http        *http.Client
	sleep       func(context.Context, time.Duration) error
	now         func() time.Time
	rand        func() float64
	log         io.Writer
	maxAttempts int
	inFlight    int
	lim         *limiter
	outstanding atomic.Int64 // requests sent and not yet answered

	mu         sync.Mutex
	properties map[string][]string // object -> every property name
}

var _ crm.Connector = (*Client)(nil)

// New returns a client for cfg. It does not contact HubSpot.
func New(cfg Config) (*Client, error) {
	tokenEnv := cmp.Or(cfg.TokenEnv, "HUBSPOT_TOKEN")
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, fmt.Errorf("hubspot: no access token: set %s to a private app token", tokenEnv)
	}
	base := strings.TrimRight(cmp.Or(cfg.BaseURL, DefaultBaseURL), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("hubspot: base_url %q is not an http(s) URL", base)
	}
	limit := cfg.RequestsPer10s
	if limit < 0 {
		return nil, fmt.Errorf("hubspot: requests_per_10s must be positive, got %d", limit)
	}
	if limit == 0 {
		if limit, err = TierLimit(cfg.Tier); err != nil {
			return nil, err
		}
	}
	c := &Client{
		base:        base,
		token:       cfg.Token,
		tokenEnv:    tokenEnv,
		http:        cfg.HTTPClient,
		sleep:       cfg.Sleep,
		now:         cfg.Now,
		rand:        cfg.Rand,
		log:         cfg.Log,
		maxAttempts: cmp.Or(cfg.MaxAttempts, 5),
		inFlight:    cmp.Or(cfg.MaxInFlight, defaultInFlight),
		properties:  map[string][]string{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.http == nil {
		// Keep a connection per request in flight instead of net/http's
		// default two idle ones per host.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 2 * c.inFlight
		c.http = &http.Client{Timeout: 60 * time.Second, Transport: t}
	}
	if c.sleep == nil {
		c.sleep = clock.Sleep
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	c.lim = newLimiter(limit, Window, c.now)
	return c, nil
}

// Limit returns the request rate the client currently keeps to: at most
// limit requests in any window. It starts at the configured rate and only
// ever goes down, when HubSpot's rate-limit headers announce less.
func (c *Client) Limit() (limit int, window time.Duration) { return c.lim.current() }

// defaultInFlight is Config.MaxInFlight's default: enough to keep 190
// requests per 10 s going at 300 ms a round trip (19/s × 0.3 s ≈ 6), few
// enough that a full window answers at most a handful of requests 429.
const defaultInFlight = 8

// ApplyChunk is how many changes apply hands CompareAndSet at once. One
// call works on up to MaxInFlight batches of 100 side by side; between
// calls apply saves its receipt and the pipeline drains, so a call should
// carry many batches. A crash loses nothing: the rerun reads the values back
// and finds what was written AlreadyApplied.
func (c *Client) ApplyChunk() int { return 5000 }

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

func (c *Client) logf(format string, args ...any) {
	if c.log != nil {
		fmt.Fprintf(c.log, "hubspot: %s\n", c.redact(fmt.Sprintf(format, args...)))
	}
}

// redact removes the token from text that came from elsewhere (HubSpot's
// error messages, network errors), so that it can go into errors and logs.
func (c *Client) redact(s string) string {
	if c.token == "" || !strings.Contains(s, c.token) {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[redacted]")
}

// ErrUnauthorized is the error HubSpot's 401 answers are reported with.
var ErrUnauthorized = errors.New("HubSpot rejected the token (401)")

type unauthorizedError struct{ tokenEnv string }

func (e *unauthorizedError) Error() string {
	return fmt.Sprintf("HubSpot rejected the token (401): check %s", e.tokenEnv)
}

func (e *unauthorizedError) Is(target error) bool { return target == ErrUnauthorized }
