// Package salesforce is the crm.Connector for Salesforce: the REST API for
// reads and field writes, Bulk API 2.0 for large listings, and the SOAP API
// for merge() and undelete(), which REST does not offer.
//
//	crm: {kind: salesforce, instance_url: https://acme.my.salesforce.com, api_version: "62.0", token_env: SF_ACCESS_TOKEN}
//
// Objects and fields are Salesforce API names (Contact, Lead, Account,
// Invoice__c; Email, OwnerId, Region__c). Record ids are Salesforce Ids; the
// 18-character form the API returns is canonical, and a 15-character id
// given by a person is accepted and converted.
//
// Authentication is an OAuth 2.0 access token, either given (Config.Token,
// from the environment variable Config.TokenEnv names) or obtained with the
// client credentials flow of a connected app (Config.ClientID and
// ClientSecret), in which case an expired session is renewed once per
// request. The token and the client secret are sent only in the
// Authorization header, the token request body and the SOAP SessionHeader;
// they never appear in errors or logs.
//
// Reads go through queryAll, so merged-away and deleted records are seen
// (MasterRecordId tells the survivor). CompareAndSet reads the current
// values and writes with sObject Collections (200 records a call), or, with
// Config.StrictCAS, writes each record with a conditional PATCH
// (If-Unmodified-Since) that Salesforce refuses when the record changed
// since it was read. Every response's Sforce-Limit-Info is watched, and the
// client stops between calls, with a clear error, when the org's daily API
// allowance is down to Config.APIReserve.
package salesforce

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/crmops/crmops/internal/clock"
	"github.com/crmops/crmops/internal/crm"
)

// DefaultAPIVersion is the REST/SOAP API version used when Config.APIVersion
// is empty: Winter '25. Every Salesforce org serves it and the calls used
// here have not changed since; a version is retired only years later.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_versions.htm
const DefaultAPIVersion = "62.0"

// DefaultBulkThreshold is the number of records above which List uses a
// Bulk API 2.0 query job instead of paging through the REST query resource.
// Salesforce positions Bulk API 2.0 query for "queries that return large
// amounts of data (10,000 records or more)"; below a few thousand records
// REST paging (2,000 records a page) costs fewer calls and no polling.
// https://releasenotes.docs.salesforce.com/en-us/winter20/release-notes/rn_api_bulk_2_query.htm
const DefaultBulkThreshold = 5000

// Config configures a Client.
type Config struct {
	// InstanceURL is the org's My Domain URL, e.g.
	// https://acme.my.salesforce.com. Every call, the token request
	// included, goes there.
	InstanceURL string
	// APIVersion is the API version without "v", e.g. "62.0" (default
	// DefaultAPIVersion).
	APIVersion string
	// Token is an OAuth access token (session id). It is never printed,
	// logged or put in an error.
	Token string
	// TokenEnv names the variable the token came from, for error messages
	// (default SF_ACCESS_TOKEN).
	TokenEnv string
	// ClientID and ClientSecret are the consumer key and secret of a
	// connected app with the client credentials flow enabled. With them the
	// client gets its own token and renews it when the session expires.
	ClientID, ClientSecret string
	// StrictCAS makes CompareAndSet write each record with its own
	// conditional PATCH, which Salesforce refuses if the record changed
	// since it was read, instead of 200 records a call with a short race
	// window (see CompareAndSet). It costs about one API call per record.
	StrictCAS bool
	// HTTPClient sends the requests (default: a client with a 2 minute
	// timeout).
	HTTPClient *http.Client
	// Log receives one line per retry, wait or token renewal; nil discards.
	Log io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits for d or until ctx is done (default: a timer). Tests pass a
	// fake clock's Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// APIReserve is how many calls of the org's daily API allowance crmops
	// leaves to the org's other integrations: no call is made once fewer
	// than that remain. 0 means max(100, 1% of the allowance); negative
	// keeps no reserve.
	APIReserve int
	// BulkThreshold is the record count above which List uses Bulk API 2.0
	// (default DefaultBulkThreshold; negative: never).
	BulkThreshold int
	// BulkMaxRecords is the number of records asked for per Bulk API 2.0
	// results page (its maxRecords parameter; default 50,000).
	BulkMaxRecords int
	// BulkTimeout bounds the wait for a Bulk API 2.0 query job (default 30
	// minutes).
	BulkTimeout time.Duration
	// MaxAttempts bounds the tries of a call that fails with 5xx or a
	// network error, where retrying is safe (default 5).
	MaxAttempts int
}

// ApplyChunk is how many changes apply hands CompareAndSet at once: five
// Collections calls of 200 records and the reads for them, so a run uses
// close to the fewest calls the API allows (changes/200 writes plus the
// reads) instead of one write call per 100 changes.
func (c *Client) ApplyChunk() int { return 1000 }

// Client is a Salesforce connector. It is safe for concurrent use.
type Client struct {
	instance     string // no trailing slash
	version      string // "62.0"
	tokenEnv     string
	clientID     string
	clientSecret string
	strict       bool
	http         *http.Client
	log          io.Writer
	now          func() time.Time
	sleep        func(context.Context, time.Duration) error
	rand         func() float64
	reserve      int // configured; 0 = default
	bulkAbove    int
	bulkPage     int
	bulkTimeout  time.Duration
	maxAttempts  int

	authMu sync.Mutex
	token  string

	mu        sync.Mutex
	used, max int  // the last Sforce-Limit-Info api-usage=used/max
	limitSeen bool // used/max are known
	stats     Stats
	describes map[string][]string // object (lower case) -> queryable fields
}

var _ crm.Connector = (*Client)(nil)

var (
	reVersion = regexp.MustCompile(`^[0-9]{2,3}\.[0-9]$`)
	// reName is an object or field API name: letters, digits and
	// underscores, starting with a letter (Contact, Region__c,
	// ns__Score__c). Names are put into SOQL, so nothing else is allowed.
	// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_custom_objects.htm
	reName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
)

// New returns a client for cfg. It does not contact Salesforce.
func New(cfg Config) (*Client, error) {
	tokenEnv := cmp.Or(cfg.TokenEnv, "SF_ACCESS_TOKEN")
	token := strings.TrimSpace(cfg.Token)
	clientID, secret := strings.TrimSpace(cfg.ClientID), strings.TrimSpace(cfg.ClientSecret)
	switch {
	case token == "" && clientID == "" && secret == "":
		return nil, fmt.Errorf("salesforce: no credentials: set %s to an access token, or give the consumer key and secret of a connected app with the client credentials flow enabled", tokenEnv)
	case (clientID == "") != (secret == ""):
		return nil, errors.New("salesforce: the client credentials flow needs both the connected app's consumer key and its consumer secret")
	}
	instance := strings.TrimRight(strings.TrimSpace(cfg.InstanceURL), "/")
	u, err := url.Parse(instance)
	if instance == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("salesforce: instance_url %q is not the org's URL (like https://acme.my.salesforce.com)", cfg.InstanceURL)
	}
	version := strings.TrimPrefix(cmp.Or(strings.TrimSpace(cfg.APIVersion), DefaultAPIVersion), "v")
	if !reVersion.MatchString(version) {
		return nil, fmt.Errorf("salesforce: api_version %q is not an API version like %q", cfg.APIVersion, DefaultAPIVersion)
	}
	c := &Client{
		instance: instance, version: version, tokenEnv: tokenEnv,
		clientID: clientID, clientSecret: secret, token: token,
		strict: cfg.StrictCAS, http: cfg.HTTPClient, log: cfg.Log,
		now: cfg.Now, sleep: cfg.Sleep, rand: rand.Float64,
		reserve:     cfg.APIReserve,
		bulkAbove:   cmp.Or(cfg.BulkThreshold, DefaultBulkThreshold),
		bulkPage:    cmp.Or(cfg.BulkMaxRecords, 50_000),
		bulkTimeout: cmp.Or(cfg.BulkTimeout, 30*time.Minute),
		maxAttempts: max(1, cmp.Or(cfg.MaxAttempts, 5)),
		describes:   map[string][]string{},
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 2 * time.Minute}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = clock.Sleep
	}
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Stats counts the calls a Client made, by kind, so that crmops can report
// the API calls a run used. Calls are counted as sent, a call sent again
// after a 5xx or an expired session counting each time. Token requests are
// counted apart: Salesforce does not count them against the API allowance.
type Stats struct {
	Token       int // POST /services/oauth2/token
	Describe    int // GET /sobjects/<Object>/describe
	Query       int // GET /query
	QueryAll    int // GET /queryAll
	QueryMore   int // GET of a nextRecordsUrl
	BulkCreate  int // POST /jobs/query
	BulkStatus  int // GET /jobs/query/<id>
	BulkResults int // GET /jobs/query/<id>/results
	Collections int // PATCH /composite/sobjects
	SinglePatch int // PATCH /sobjects/<Object>/<Id>
	SOAPMerge   int // SOAP merge()
	Undelete    int // SOAP undelete()
	// Retries counts calls sent again after a 5xx, a network error or an
	// expired session (each is also counted above).
	Retries int
	// APIUsage and APILimit are the org's numbers from the last answer
	// (Sforce-Limit-Info api-usage=APIUsage/APILimit): calls in the last 24
	// hours, every integration's, and the allowance. 0 if none was seen.
	APIUsage, APILimit int
}

// APICalls is the number of calls counted against the org's allowance.
func (s Stats) APICalls() int {
	return s.Describe + s.Query + s.QueryAll + s.QueryMore + s.BulkCreate + s.BulkStatus + s.BulkResults +
		s.Collections + s.SinglePatch + s.SOAPMerge + s.Undelete
}

// String is the summary crmops prints: "API calls used: 12 (queryAll 3, ...)".
func (s Stats) String() string {
	var parts []string
	for _, k := range []struct {
		name string
		n    int
	}{
		{"describe", s.Describe}, {"query", s.Query}, {"queryAll", s.QueryAll}, {"queryMore", s.QueryMore},
		{"bulk create", s.BulkCreate}, {"bulk status", s.BulkStatus}, {"bulk results", s.BulkResults},
		{"collections", s.Collections}, {"record patch", s.SinglePatch},
		{"merge", s.SOAPMerge}, {"undelete", s.Undelete}, {"retries", s.Retries}, {"token", s.Token},
	} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k.name, k.n))
		}
	}
	out := fmt.Sprintf("API calls used: %d", s.APICalls())
	if len(parts) > 0 {
		out += " (" + strings.Join(parts, ", ") + ")"
	}
	if s.APILimit > 0 {
		out += fmt.Sprintf("; org usage %d of %d in the last 24 hours", s.APIUsage, s.APILimit)
	}
	return out
}

// Stats returns the calls made so far.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	if c.limitSeen {
		st.APIUsage, st.APILimit = c.used, c.max
	}
	return st
}

func (c *Client) logf(format string, args ...any) {
	if c.log != nil {
		fmt.Fprintf(c.log, "salesforce: %s\n", c.redact(fmt.Sprintf(format, args...)))
	}
}

// redact removes the token and the client secret from text that came from
// elsewhere (Salesforce's messages, network errors) so that it can go into
// errors and logs.
func (c *Client) redact(s string) string {
	c.authMu.Lock()
	secrets := []string{c.token, c.clientSecret}
	c.authMu.Unlock()
	for _, v := range secrets {
		if len(v) >= 8 && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// ErrUnauthorized is what Salesforce's 401 INVALID_SESSION_ID answers are
// reported with (errors.Is).
var ErrUnauthorized = errors.New("Salesforce rejected the session (401 INVALID_SESSION_ID)")

type unauthorizedError struct {
	tokenEnv string
	renewed  bool // the token came from the client credentials flow
	detail   string
}

func (e *unauthorizedError) Error() string {
	if e.renewed {
		return fmt.Sprintf("salesforce: Salesforce rejected a new session from the client credentials flow (%s); check that the connected app's integration user is active and has API access", e.detail)
	}
	return fmt.Sprintf("salesforce: the Salesforce session in $%s expired or is invalid (%s); get a new access token (e.g. with `sf org display --target-org <org>`) and set %s, or configure a connected app's client credentials so that crmops renews the session itself",
		e.tokenEnv, e.detail, e.tokenEnv)
}

func (e *unauthorizedError) Is(target error) bool { return target == ErrUnauthorized }
