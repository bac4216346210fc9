package salesforce

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
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds what is read of one answer. The largest are Bulk API 2.0
// results pages (Config.BulkMaxRecords records of CSV).
const maxBody = 1 << 30

// kind is what a call is, for Stats and for messages.
type kind int

const (
	kindToken kind = iota
	kindDescribe
	kindQuery
	kindQueryAll
	kindQueryMore
	kindBulkCreate
	kindBulkStatus
	kindBulkResults
	kindCollections
	kindSinglePatch
	kindMerge
	kindUndelete
)

func (s *Stats) counter(k kind) *int {
	switch k {
	case kindToken:
		return &s.Token
	case kindDescribe:
		return &s.Describe
	case kindQuery:
		return &s.Query
	case kindQueryAll:
		return &s.QueryAll
	case kindQueryMore:
		return &s.QueryMore
	case kindBulkCreate:
		return &s.BulkCreate
	case kindBulkStatus:
		return &s.BulkStatus
	case kindBulkResults:
		return &s.BulkResults
	case kindCollections:
		return &s.Collections
	case kindSinglePatch:
		return &s.SinglePatch
	case kindMerge:
		return &s.SOAPMerge
	case kindUndelete:
		return &s.Undelete
	}
	panic("salesforce: unknown call kind")
}

// request is one call to Salesforce.
type request struct {
	kind   kind
	method string
	path   string // escaped, from the instance root: /services/data/v62.0/query
	query  url.Values
	header http.Header
	body   []byte // JSON (or a form for the token request)
	// soap builds a SOAP envelope around the session id; the request is then
	// a SOAP call to path.
	soap func(sessionID string) []byte
	// retry marks a call that may be sent again after a 5xx or a network
	// error: reads, and writes that set the same values again. Other writes
	// (a merge) have an unknown outcome then (unknownOutcomeError), which
	// the caller settles by reading the data back.
	retry bool
	// what the call does, for the message when the API allowance stops it:
	// "stopped before <what>".
	what string
}

func (r request) String() string { return r.method + " " + r.path }

type response struct {
	status int
	header http.Header
	body   []byte
	env    *xnode // the parsed SOAP envelope, for SOAP calls
}

// APIError is an error answer of the REST API: the HTTP status and the
// first {message, errorCode, fields} of its body.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
type APIError struct {
	Method, Path string
	Status       int
	Code         string // errorCode, e.g. MALFORMED_QUERY, INVALID_FIELD
	Message      string
	Fields       []string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("salesforce: %s %s: %d %s", e.Method, e.Path, e.Status, e.detail())
}

// detail is the part a receipt shows: "Salesforce CODE: message (fields: A)".
func (e *APIError) detail() string { return describeError(e.Code, e.Message, e.Fields) }

func describeError(code, message string, fields []string) string {
	var b strings.Builder
	b.WriteString("Salesforce ")
	b.WriteString(cmp.Or(code, "error"))
	if message != "" {
		b.WriteString(": ")
		b.WriteString(message)
	}
	if len(fields) > 0 {
		b.WriteString(" (fields: ")
		b.WriteString(strings.Join(fields, ", "))
		b.WriteString(")")
	}
	return b.String()
}

// restError is one element of a REST error body.
type restError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

func (c *Client) apiError(req request, resp *response) *APIError {
	e := &APIError{Method: req.method, Path: req.path, Status: resp.status}
	var list []restError
	var one restError
	switch {
	case json.Unmarshal(resp.body, &list) == nil && len(list) > 0:
		one = list[0]
	case json.Unmarshal(resp.body, &one) == nil:
	}
	e.Code, e.Message, e.Fields = one.ErrorCode, c.redact(one.Message), one.Fields
	if e.Code == "" && e.Message == "" {
		e.Message = http.StatusText(resp.status)
	}
	return e
}

// isStatus reports an APIError with this HTTP status.
func isStatus(err error, status int) (*APIError, bool) {
	var e *APIError
	if errors.As(err, &e) && e.Status == status {
		return e, true
	}
	return nil, false
}

// unknownOutcomeError is the failure of a write that may or may not have
// taken effect (5xx, timeout or broken connection on a call not retried).
type unknownOutcomeError struct{ cause string }

func (e *unknownOutcomeError) Error() string {
	return "Salesforce did not confirm the write: " + e.cause
}

func isUnknownOutcome(err error) bool {
	var u *unknownOutcomeError
	return errors.As(err, &u)
}

// ErrAPILimit is what the API allowance stops are reported with
// (errors.Is): the reserve reached, or Salesforce's 403
// REQUEST_LIMIT_EXCEEDED.
var ErrAPILimit = errors.New("Salesforce API allowance reached")

// LimitError stops a run before a call because the org's daily API
// allowance is (nearly) used: Salesforce counts calls over a rolling 24
// hours, every integration of the org draws on the same allowance, and once
// it is used "all users in the org can be temporarily blocked from making
// additional calls ... until usage for the preceding 24 hours drops below
// the limit". Keeping a reserve leaves the org's other integrations
// working, and stopping between calls leaves every change either done or
// not sent.
// https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm
// https://help.salesforce.com/s/articleView?id=xcloud.setup_system_overview_api.htm&type=5
type LimitError struct {
	Used, Limit, Reserve int
	// Before says what was not done: "reading 120 Contact records".
	Before string
	// Exceeded is set when Salesforce itself refused the call with 403
	// REQUEST_LIMIT_EXCEEDED; Message is its text.
	Exceeded bool
	Message  string
}

func (e *LimitError) Error() string {
	usage := "usage unknown"
	if e.Limit > 0 {
		usage = fmt.Sprintf("%d of %d calls in the last 24 hours", e.Used, e.Limit)
	}
	if e.Exceeded {
		return fmt.Sprintf("Salesforce API allowance used up (REQUEST_LIMIT_EXCEEDED: %s; %s): stopped at %s; run again when the allowance recovers",
			cmp.Or(e.Message, "TotalRequests Limit exceeded."), usage, e.Before)
	}
	return fmt.Sprintf("Salesforce API allowance nearly used (%s; crmops keeps %d in reserve): stopped before %s; run again when the allowance recovers",
		usage, e.Reserve, e.Before)
}

func (e *LimitError) Is(target error) bool { return target == ErrAPILimit }

// reserveFor is the calls kept in reserve of an allowance of limit.
func (c *Client) reserveFor(limit int) int {
	switch {
	case c.reserve < 0:
		return 0
	case c.reserve > 0:
		return c.reserve
	}
	return max(100, limit/100)
}

// checkReserve refuses a call when the last known usage leaves no more than
// the reserve, so that a run stops between calls, never inside one.
func (c *Client) checkReserve(req request) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.limitSeen {
		return nil
	}
	if r := c.reserveFor(c.max); c.max-c.used <= r {
		return &LimitError{Used: c.used, Limit: c.max, Reserve: r, Before: req.what}
	}
	return nil
}

// reAPIUsage reads the org's usage from Sforce-Limit-Info, e.g.
// "api-usage=18/5000" or "api-usage=10018/100000; api-bursts=1/750" (not
// per-app-api-usage, a connected app's quota).
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
var reAPIUsage = regexp.MustCompile(`(?:^|[;,\s])api-usage=(\d+)/(\d+)`)

// observe records the usage an answer reports: the Sforce-Limit-Info
// header of REST answers, or the LimitInfoHeader of SOAP answers.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_limitinfo.htm
func (c *Client) observe(resp *response) {
	used, limit, ok := 0, 0, false
	if m := reAPIUsage.FindStringSubmatch(resp.header.Get("Sforce-Limit-Info")); m != nil {
		u, err1 := strconv.Atoi(m[1])
		l, err2 := strconv.Atoi(m[2])
		used, limit, ok = u, l, err1 == nil && err2 == nil && l > 0
	}
	if !ok && resp.env != nil {
		for _, li := range resp.env.child("Header").child("LimitInfoHeader").all("limitInfo") {
			if li.child("type").value() != "API REQUESTS" {
				continue
			}
			u, err1 := strconv.Atoi(li.child("current").value())
			l, err2 := strconv.Atoi(li.child("limit").value())
			used, limit, ok = u, l, err1 == nil && err2 == nil && l > 0
		}
	}
	if !ok {
		return
	}
	c.mu.Lock()
	c.used, c.max, c.limitSeen = used, limit, true
	c.mu.Unlock()
}

// do sends req and retries what is safe to retry:
//
//   - 401 INVALID_SESSION_ID (a SOAP fault of that code too): with client
//     credentials, once, after getting a new token (Salesforce rejected the
//     call before doing anything). With a fixed token it is an error naming
//     TokenEnv.
//   - 5xx (503 SERVER_UNAVAILABLE among them) and network errors: calls
//     marked retry up to MaxAttempts times with jittered exponential
//     backoff; others are unknownOutcomeError.
//   - 403 REQUEST_LIMIT_EXCEEDED: never; it is a LimitError.
//   - other 4xx and SOAP faults: never; APIError and *SOAPFault.
//
// Before every attempt it checks the API reserve (checkReserve).
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	failures, renewed := 0, false
	for {
		if err := c.checkReserve(req); err != nil {
			return nil, err
		}
		token, err := c.session(ctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		*c.stats.counter(req.kind)++
		if failures > 0 || renewed {
			c.stats.Retries++
		}
		c.mu.Unlock()
		resp, err := c.send(ctx, req, token)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("salesforce: %s: %w", req, ctx.Err())
			}
			msg := c.redact(err.Error())
			if !req.retry {
				return nil, &unknownOutcomeError{cause: fmt.Sprintf("%s: %s", req, msg)}
			}
			failures++
			if failures >= c.maxAttempts {
				return nil, fmt.Errorf("salesforce: %s: giving up after %d attempts: %s", req, failures, msg)
			}
			if err := c.backoff(ctx, req, failures, msg); err != nil {
				return nil, err
			}
			continue
		}
		c.observe(resp)
		var fault *SOAPFault
		if req.soap != nil {
			fault = soapFault(resp)
		}
		switch {
		case resp.status == http.StatusUnauthorized || fault != nil && fault.Code == "INVALID_SESSION_ID":
			detail := "INVALID_SESSION_ID"
			if fault != nil {
				detail = fault.Code + ": " + c.redact(fault.Message)
			} else if e := c.apiError(req, resp); e.Message != "" {
				detail = cmp.Or(e.Code, "401") + ": " + e.Message
			}
			if c.clientID == "" {
				return nil, &unauthorizedError{tokenEnv: c.tokenEnv, detail: detail}
			}
			if renewed {
				return nil, &unauthorizedError{tokenEnv: c.tokenEnv, renewed: true, detail: detail}
			}
			c.logf("%s: the session expired (%s); getting a new token", req, detail)
			if err := c.renew(ctx, token); err != nil {
				return nil, err
			}
			renewed = true
			continue
		case fault != nil && fault.Code == "REQUEST_LIMIT_EXCEEDED":
			return nil, c.limitExceeded(req, fault.Message)
		case resp.status == http.StatusForbidden:
			e := c.apiError(req, resp)
			if e.Code == "REQUEST_LIMIT_EXCEEDED" {
				return nil, c.limitExceeded(req, e.Message)
			}
			return nil, e
		case fault != nil && !serverFault(fault.Code) && resp.status < 502:
			return nil, fault
		case resp.status >= 200 && resp.status < 300:
			return resp, nil
		case resp.status >= 500 || resp.status == http.StatusTooManyRequests || fault != nil:
			var why string
			if fault != nil {
				why = fmt.Sprintf("%d %s: %s", resp.status, fault.Code, c.redact(fault.Message))
			} else {
				why = fmt.Sprintf("%d %s", resp.status, c.apiError(req, resp).detail())
			}
			if !req.retry {
				return nil, &unknownOutcomeError{cause: fmt.Sprintf("%s: %s", req, why)}
			}
			failures++
			if failures >= c.maxAttempts {
				return nil, fmt.Errorf("salesforce: %s: giving up after %d attempts: %s", req, failures, why)
			}
			if err := c.backoff(ctx, req, failures, why); err != nil {
				return nil, err
			}
		default:
			return nil, c.apiError(req, resp)
		}
	}
}

// serverFault reports SOAP fault codes that mean Salesforce could not
// serve the call now (as 5xx does), rather than that it refused it.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm (ExceptionCode)
func serverFault(code string) bool {
	return code == "SERVER_UNAVAILABLE" || code == "UNKNOWN_EXCEPTION"
}

func (c *Client) limitExceeded(req request, message string) error {
	c.mu.Lock()
	used, limit := c.used, c.max
	c.mu.Unlock()
	return &LimitError{Used: used, Limit: limit, Reserve: c.reserveFor(limit), Before: req.what,
		Exceeded: true, Message: c.redact(message)}
}

func (c *Client) send(ctx context.Context, req request, token string) (*response, error) {
	u := c.instance + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	payload := req.body
	if req.soap != nil {
		payload = req.soap(token)
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("User-Agent", "crmops")
	switch {
	case req.soap != nil:
		// SOAP calls carry the session in the SessionHeader instead.
		// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_sessionheader.htm
		hr.Header.Set("Content-Type", "text/xml; charset=UTF-8")
		hr.Header.Set("SOAPAction", `""`)
	case req.kind == kindToken:
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		hr.Header.Set("Accept", "application/json")
	default:
		// REST calls authenticate with the access token as a bearer token.
		// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/quickstart_oauth.htm
		hr.Header.Set("Authorization", "Bearer "+token)
		hr.Header.Set("Accept", "application/json")
		if payload != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	hresp, err := c.http.Do(hr)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	resp := &response{status: hresp.StatusCode, header: hresp.Header, body: data}
	if req.soap != nil {
		resp.env, _ = parseXML(data) // nil if it is not XML (a proxy's error page)
	}
	return resp, nil
}

// backoff sleeps before retry number n: exponential from 500 ms, capped at
// 16 s, with jitter in [d/2, d).
func (c *Client) backoff(ctx context.Context, req request, n int, why string) error {
	d := 500 * time.Millisecond << min(n-1, 5)
	d = d/2 + time.Duration(c.rand()*float64(d/2))
	c.logf("%s: %s; retry %d in %v", req, why, n, d)
	if err := c.sleep(ctx, d); err != nil {
		return fmt.Errorf("salesforce: %s: %w", req, err)
	}
	return nil
}

// ---- OAuth ----

// session returns the access token, getting one with the client
// credentials flow if there is none yet.
func (c *Client) session(ctx context.Context) (string, error) {
	c.authMu.Lock()
	token := c.token
	c.authMu.Unlock()
	if token != "" {
		return token, nil
	}
	if err := c.renew(ctx, ""); err != nil {
		return "", err
	}
	c.authMu.Lock()
	defer c.authMu.Unlock()
	return c.token, nil
}

// renew gets a new access token with the OAuth 2.0 client credentials
// flow, unless another call already replaced stale: POST
// {InstanceURL}/services/oauth2/token with grant_type=client_credentials,
// client_id and client_secret as a form. The flow gives no refresh token;
// a new access token is simply requested again. The instance_url of the
// answer is not followed: calls stay on the configured My Domain URL.
// https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_client_credentials_flow.htm&type=5
func (c *Client) renew(ctx context.Context, stale string) error {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.token != stale {
		return nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.clientID}, "client_secret": {c.clientSecret}}
	req := request{kind: kindToken, method: http.MethodPost, path: "/services/oauth2/token", body: []byte(form.Encode())}
	for failures := 0; ; {
		c.mu.Lock()
		c.stats.Token++
		c.mu.Unlock()
		resp, err := c.send(ctx, req, "")
		var why string
		switch {
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("salesforce: getting an access token: %w", ctx.Err())
		case err != nil:
			why = c.redactLocked(err.Error())
		case resp.status == http.StatusOK:
			var out struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
			}
			if json.Unmarshal(resp.body, &out) != nil || out.AccessToken == "" {
				return errors.New("salesforce: the token endpoint's answer has no access_token")
			}
			c.token = out.AccessToken
			return nil
		case resp.status >= 500:
			why = fmt.Sprintf("%d %s", resp.status, http.StatusText(resp.status))
		default:
			// 400 {error, error_description}: invalid_client_id,
			// invalid_client, unsupported_grant_type, ...
			// https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_flow_errors.htm&type=5
			var out struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			_ = json.Unmarshal(resp.body, &out)
			return fmt.Errorf("salesforce: the token endpoint refused the connected app's client credentials (%d %s: %s); check the consumer key and secret, and that the app has the client credentials flow enabled with a run-as user",
				resp.status, cmp.Or(out.Error, http.StatusText(resp.status)), c.redactLocked(out.Description))
		}
		failures++
		if failures >= c.maxAttempts {
			return fmt.Errorf("salesforce: getting an access token: giving up after %d attempts: %s", failures, why)
		}
		d := 500 * time.Millisecond << min(failures-1, 5)
		if c.log != nil {
			fmt.Fprintf(c.log, "salesforce: token request: %s; retry %d in %v\n", why, failures, d)
		}
		if err := c.sleep(ctx, d); err != nil {
			return fmt.Errorf("salesforce: getting an access token: %w", err)
		}
		c.mu.Lock()
		c.stats.Retries++
		c.mu.Unlock()
	}
}

// redactLocked is redact for callers holding authMu.
func (c *Client) redactLocked(s string) string {
	for _, v := range []string{c.token, c.clientSecret} {
		if len(v) >= 8 && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

// dataPath is the REST path of a resource: /services/data/v62.0/<rest>.
func (c *Client) dataPath(rest ...string) string {
	return "/services/data/v" + c.version + "/" + strings.Join(rest, "/")
}
