// Package hubspottest is an in-process double of the parts of HubSpot's CRM
// API that crmops uses, served over real HTTP by httptest. It keeps state
// (records with properties, merges, owners), enforces HubSpot's documented
// limits and error shapes, and counts what it saw so tests and benchmarks can
// check the client's behaviour on the wire.
//
// What it follows, and where HubSpot's documentation is silent:
//
//   - Authentication: private app tokens are sent as "Authorization: Bearer";
//     anything else is 401 with HubSpot's error body.
//   - Rate limit: a rolling window (HubSpot's policy is named
//     TEN_SECONDLY_ROLLING), answered with 429, the documented body
//     {status, message, errorType: RATE_LIMIT, correlationId, policyName} and
//     the X-HubSpot-RateLimit-* headers. Whether HubSpot counts rejected
//     requests against the window is not documented; the double does not.
//     HubSpot's usage page does not list Retry-After; the double sends it
//     unless Options.OmitRetryAfter, so the client is tested both ways.
//     https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines
//   - Batch read/update take at most 100 inputs; more is 400
//     VALIDATION_ERROR. Missing ids in a batch read are a 207 with an
//     OBJECT_NOT_FOUND entry listing them in context.ids (HubSpot's wording
//     of that message is not documented; ours is modelled on answers seen in
//     the wild).
//   - Merges follow HubSpot's current contact/company behaviour: a new record
//     with a new id is created and both old ids resolve to it; its
//     hs_merged_object_ids lists the ids merged into it. Options.LegacyMerge
//     gives the older behaviour, where the primary keeps its id.
//     https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies
//
// A Server is safe for concurrent use; requests are handled one at a time
// (Options.Latency is spent outside that, so requests overlap on the wire).
package hubspottest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxBatchInputs is HubSpot's limit on inputs per batch request.
const MaxBatchInputs = 100

// MergedIDsProperty lists, on a record, the ids merged into it (";"-separated).
const MergedIDsProperty = "hs_merged_object_ids"

// Options configure a Server. The zero value is a double without a rate
// limit that accepts the token "test-token".
type Options struct {
	// Token is the private app token the double accepts.
	Token string
	// RequestsPer10s is the rate limit per Window; 0 means unlimited.
	RequestsPer10s int
	// Window is the rolling rate-limit window (default 10s; tests and the
	// benchmark shrink it with a real clock).
	Window time.Duration
	// Now is the double's clock (default time.Now).
	Now func() time.Time
	// OmitRetryAfter leaves Retry-After off 429 answers.
	OmitRetryAfter bool
	// OmitRateLimitHeaders leaves the X-HubSpot-RateLimit-* headers off.
	OmitRateLimitHeaders bool
	// LegacyMerge keeps the primary's id on merge (HubSpot's old behaviour).
	LegacyMerge bool
	// BatchReadHidesMerged makes batch read report merged-away ids as
	// missing instead of resolving them, for clients that must cope with
	// either (HubSpot documents that "fetching" an old id returns the merged
	// record, but not batch read specifically).
	BatchReadHidesMerged bool
	// EchoAuthInErrors makes error messages quote the Authorization header,
	// to test that clients keep the token out of their own errors.
	EchoAuthInErrors bool
	// Objects are the object types that exist (default contacts, companies,
	// deals, tickets); others are 404.
	Objects []string
	// Latency, when set, gives each request's round-trip time (real time,
	// for benchmarks with the wall clock): half of it passes before the
	// request reaches the double (and is counted against the rate limit),
	// the other half before its answer leaves. It is called once per
	// request, from many goroutines at once, so it must be safe for that.
	Latency func() time.Duration
}

// Owner is a HubSpot user records can be assigned to.
type Owner struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
	UserID    int64
}

// Write is one property value the double stored through batch update.
type Write struct {
	Object, ID, Property, Value string
	At                          time.Time
}

type record struct {
	id         string
	props      map[string]string
	mergedInto string // set when merged away
	created    time.Time
	updated    time.Time
}

type failure struct{ category, message string }

// Server is a running double. Point a client at URL.
type Server struct {
	URL string

	srv    *httptest.Server
	opts   Options
	window time.Duration

	mu       sync.Mutex
	objects  map[string]map[string]*record
	nextID   int64
	owners   []Owner
	arrivals []time.Time // counted requests inside the current window
	stats    Stats
	writes   []Write
	corr     int

	failIDs       map[string]failure // object/id -> 207 failure on update
	rejectValues  map[string]bool    // property=value -> whole-batch 400
	failNext      []int              // statuses for the next requests
	loseWrites    int                // apply, then answer 504
	hangWrites    int                // apply, then hold the answer until the client gives up
	afterWrite    func()
	hideFromReads map[string]bool
}

// New starts a double. Close it when done (t.Cleanup(s.Close)).
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = "test-token"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Objects) == 0 {
		opts.Objects = []string{"contacts", "companies", "deals", "tickets"}
	}
	s := &Server{
		opts:          opts,
		window:        cmp.Or(opts.Window, 10*time.Second),
		objects:       map[string]map[string]*record{},
		nextID:        1_000_000,
		failIDs:       map[string]failure{},
		rejectValues:  map[string]bool{},
		hideFromReads: map[string]bool{},
		stats:         Stats{ByEndpoint: map[string]int{}},
	}
	for _, o := range opts.Objects {
		s.objects[o] = map[string]*record{}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the double down.
func (s *Server) Close() { s.srv.Close() }

// Seed stores a record with the given id and properties (empty values are
// left out: HubSpot has no empty strings, only unset properties).
func (s *Server) Seed(object, id string, props map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.objects[object]
	if recs == nil {
		panic(fmt.Sprintf("hubspottest: unknown object %q", object))
	}
	now := s.opts.Now()
	r := &record{id: id, props: map[string]string{}, created: now, updated: now}
	for k, v := range props {
		if v != "" {
			r.props[k] = v
		}
	}
	recs[id] = r
	if n, err := strconv.ParseInt(id, 10, 64); err == nil && n >= s.nextID {
		s.nextID = n + 1
	}
}

// Get returns a copy of object/id's properties as stored, and the id it was
// merged into ("" if live). ok is false if there is no such record.
func (s *Server) Get(object, id string) (props map[string]string, mergedInto string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.objects[object][id]
	if r == nil {
		return nil, "", false
	}
	props = make(map[string]string, len(r.props))
	for k, v := range r.props {
		props[k] = v
	}
	return props, r.mergedInto, true
}

// Resolve returns the live record id that object/id now stands for,
// following merges.
func (s *Server) Resolve(object, id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.resolve(object, id)
	if r == nil {
		return "", false
	}
	return r.id, true
}

// Writes returns every property value stored through batch update, oldest
// first.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

// AddOwner adds an owner to GET /crm/v3/owners.
func (s *Server) AddOwner(o Owner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners = append(s.owners, o)
}

// FailUpdates makes batch updates of these ids fail with a 207 entry of the
// given category and message; the other inputs of the batch succeed.
func (s *Server) FailUpdates(object, category, message string, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.failIDs[object+"/"+id] = failure{category, message}
	}
}

// RejectValue makes any batch update that sets property to value fail as a
// whole with 400 VALIDATION_ERROR, as HubSpot does for an invalid option.
func (s *Server) RejectValue(property, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectValues[property+"="+value] = true
}

// FailNext answers the next len(statuses) requests (after authentication)
// with these statuses and HubSpot's error body, without doing anything.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, statuses...)
}

// LoseNextWrites makes the next n writes (batch update or merge) take effect
// and then answer 504, as when a gateway times out after the work was done.
func (s *Server) LoseNextWrites(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseWrites += n
}

// HangNextWrites makes the next n writes take effect and then never answer
// until the client gives up (its timeout or context).
func (s *Server) HangNextWrites(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangWrites += n
}

// AfterWrite calls fn (under the double's lock, so fn must not call the
// double) after each write took effect and before it is answered.
func (s *Server) AfterWrite(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterWrite = fn
}

// HideFromBatchRead makes batch read report these ids as missing.
func (s *Server) HideFromBatchRead(object string, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.hideFromReads[object+"/"+id] = true
	}
}

// Burn counts n requests against the rate limit now, as if another
// integration using the same app had made them.
func (s *Server) Burn(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for range n {
		s.arrivals = append(s.arrivals, now)
	}
}

// Stats returns a copy of what the double has seen.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

// ResetStats forgets what the double has seen (not its records).
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByEndpoint: map[string]int{}}
}

// ---- request handling ----

// hsError is HubSpot's standard error body.
// https://developers.hubspot.com/docs/api-reference/error-handling
type hsError struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	CorrelationID string              `json:"correlationId"`
	Category      string              `json:"category,omitempty"`
	ErrorType     string              `json:"errorType,omitempty"`
	PolicyName    string              `json:"policyName,omitempty"`
	GroupName     string              `json:"groupName,omitempty"`
	Context       map[string][]string `json:"context,omitempty"`
}

// batchError is one entry of a batch response's errors.
type batchError struct {
	Status   string              `json:"status"`
	Category string              `json:"category"`
	Message  string              `json:"message"`
	Context  map[string][]string `json:"context,omitempty"`
}

type object struct {
	ID         string             `json:"id"`
	Properties map[string]*string `json:"properties"`
	CreatedAt  string             `json:"createdAt"`
	UpdatedAt  string             `json:"updatedAt"`
	Archived   bool               `json:"archived"`
}

type batchResponse struct {
	Status      string       `json:"status"`
	Results     []object     `json:"results"`
	Errors      []batchError `json:"errors,omitempty"`
	NumErrors   int          `json:"numErrors,omitempty"`
	StartedAt   string       `json:"startedAt"`
	CompletedAt string       `json:"completedAt"`
}

type exchange struct {
	w      http.ResponseWriter
	r      *http.Request
	now    time.Time
	corrID string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.opts.Latency != nil {
		s.serveLate(w, r, s.opts.Latency())
		return
	}
	hang := false
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		hang = s.handle(w, r)
	}()
	if hang {
		// The write took effect; the answer never comes.
		<-r.Context().Done()
	}
}

// serveLate serves r with the round trip d: the request travels d/2, the
// answer is built and held for the other d/2.
func (s *Server) serveLate(w http.ResponseWriter, r *http.Request, d time.Duration) {
	if !sleepCtx(r, d/2) {
		return
	}
	rec := httptest.NewRecorder()
	hang := false
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		hang = s.handle(rec, r)
	}()
	if hang {
		<-r.Context().Done()
		return
	}
	if !sleepCtx(r, d-d/2) {
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// sleepCtx waits d unless the client gives up first.
func sleepCtx(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) (hang bool) {
	s.corr++
	c := &exchange{w: w, r: r, now: s.opts.Now(),
		corrID: fmt.Sprintf("%08x-0000-4000-8000-%012x", s.corr, s.corr)}
	s.stats.Requests++
	route := routeOf(r)
	s.stats.ByEndpoint[r.Method+" "+route]++
	w.Header().Set("X-HubSpot-Correlation-Id", c.corrID)

	// https://developers.hubspot.com/docs/api-reference/error-handling (401)
	if r.Header.Get("Authorization") != "Bearer "+s.opts.Token {
		s.fail(c, http.StatusUnauthorized, "INVALID_AUTHENTICATION",
			"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")
		return false
	}
	if !s.admit(c) {
		return false
	}
	if len(s.failNext) > 0 {
		status := s.failNext[0]
		s.failNext = s.failNext[1:]
		s.fail(c, status, "INTERNAL_ERROR", "internal error")
		return false
	}
	return s.route(c, route)
}

// admit applies the rolling-window rate limit and sets its headers.
// https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines
func (s *Server) admit(c *exchange) bool {
	limit := s.opts.RequestsPer10s
	if limit <= 0 {
		s.stats.Accepted = append(s.stats.Accepted, c.now)
		return true
	}
	cut := 0
	for cut < len(s.arrivals) && !s.arrivals[cut].After(c.now.Add(-s.window)) {
		cut++
	}
	s.arrivals = s.arrivals[cut:]
	h := c.w.Header()
	if !s.opts.OmitRateLimitHeaders {
		h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(limit))
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(s.window.Milliseconds(), 10))
		h.Set("X-HubSpot-RateLimit-Daily", "1000000")
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", "999999")
	}
	if len(s.arrivals) >= limit {
		s.stats.RateLimited = append(s.stats.RateLimited, c.now)
		if !s.opts.OmitRateLimitHeaders {
			h.Set("X-HubSpot-RateLimit-Remaining", "0")
		}
		if !s.opts.OmitRetryAfter {
			free := s.arrivals[len(s.arrivals)-limit].Add(s.window).Sub(c.now)
			h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(free.Seconds())))))
		}
		s.writeJSON(c, http.StatusTooManyRequests, hsError{
			Status: "error", Message: "You have reached your ten_secondly_rolling limit.",
			ErrorType: "RATE_LIMIT", CorrelationID: c.corrID, PolicyName: "TEN_SECONDLY_ROLLING",
			GroupName: "publicapi:private-app-api-calls-ten-secondly:0",
		})
		return false
	}
	s.arrivals = append(s.arrivals, c.now)
	s.stats.Accepted = append(s.stats.Accepted, c.now)
	if !s.opts.OmitRateLimitHeaders {
		h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(limit-len(s.arrivals)))
	}
	return true
}

// routeOf names the endpoint a request is for, with the variable parts as
// {placeholders}.
func routeOf(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 3 && parts[0] == "crm" && parts[1] == "v3" && parts[2] == "owners":
		return "/crm/v3/owners"
	case len(parts) == 4 && parts[0] == "crm" && parts[1] == "v3" && parts[2] == "properties":
		return "/crm/v3/properties/{object}"
	case len(parts) < 4 || parts[0] != "crm" || parts[1] != "v3" || parts[2] != "objects":
		return r.URL.Path
	case len(parts) == 4:
		return "/crm/v3/objects/{object}"
	case len(parts) == 6 && parts[4] == "batch":
		return "/crm/v3/objects/{object}/batch/" + parts[5]
	case len(parts) == 5 && parts[4] == "merge" && r.Method == http.MethodPost:
		return "/crm/v3/objects/{object}/merge"
	case len(parts) == 5:
		return "/crm/v3/objects/{object}/{id}"
	}
	return r.URL.Path
}

func (s *Server) route(c *exchange, route string) (hang bool) {
	parts := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	key := c.r.Method + " " + route
	if key == "GET /crm/v3/owners" {
		s.listOwners(c)
		return false
	}
	if len(parts) < 4 {
		s.fail(c, http.StatusNotFound, "OBJECT_NOT_FOUND", "Not found: "+c.r.URL.Path)
		return false
	}
	objName := parts[3]
	recs, known := s.objects[objName]
	if !known {
		// HubSpot's status for an unknown object type is not documented in
		// the pages we found; the double answers 404.
		s.fail(c, http.StatusNotFound, "OBJECT_NOT_FOUND", "Unable to infer object type from: "+objName)
		return false
	}
	switch key {
	case "GET /crm/v3/properties/{object}":
		s.listProperties(c, objName, recs)
	case "GET /crm/v3/objects/{object}":
		s.list(c, objName, recs)
	case "GET /crm/v3/objects/{object}/{id}":
		s.getOne(c, objName, parts[4])
	case "POST /crm/v3/objects/{object}/batch/read":
		s.batchRead(c, objName)
	case "POST /crm/v3/objects/{object}/batch/update":
		return s.batchUpdate(c, objName)
	case "POST /crm/v3/objects/{object}/merge":
		return s.merge(c, objName)
	default:
		s.fail(c, http.StatusNotFound, "OBJECT_NOT_FOUND", "Not found: "+c.r.Method+" "+c.r.URL.Path)
	}
	return false
}

func (s *Server) fail(c *exchange, status int, category, message string) {
	if s.opts.EchoAuthInErrors {
		message += " (Authorization: " + c.r.Header.Get("Authorization") + ")"
	}
	s.writeJSON(c, status, hsError{Status: "error", Message: message, CorrelationID: c.corrID, Category: category})
}

func (s *Server) writeJSON(c *exchange, status int, v any) {
	c.w.Header().Set("Content-Type", "application/json;charset=utf-8")
	c.w.WriteHeader(status)
	_ = json.NewEncoder(c.w).Encode(v)
}

func (s *Server) decode(c *exchange, v any) bool {
	if err := json.NewDecoder(c.r.Body).Decode(v); err != nil {
		s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON on line 1: "+err.Error())
		return false
	}
	return true
}

// resolve follows merges from id to the live record, nil if unknown.
func (s *Server) resolve(objName, id string) *record {
	r := s.objects[objName][id]
	for r != nil && r.mergedInto != "" {
		r = s.objects[objName][r.mergedInto]
	}
	return r
}

// view renders a record with the requested properties; unset requested
// properties are null, as HubSpot returns them. hs_object_id, createdate and
// lastmodifieddate are always included.
func (s *Server) view(r *record, props []string) object {
	o := object{ID: r.id, Properties: map[string]*string{},
		CreatedAt: r.created.UTC().Format(time.RFC3339Nano), UpdatedAt: r.updated.UTC().Format(time.RFC3339Nano)}
	str := func(v string) *string { return &v }
	o.Properties["hs_object_id"] = str(r.id)
	o.Properties["createdate"] = str(o.CreatedAt)
	o.Properties["lastmodifieddate"] = str(o.UpdatedAt)
	for _, p := range props {
		if v, ok := r.props[p]; ok {
			o.Properties[p] = str(v)
		} else if _, fixed := o.Properties[p]; !fixed {
			o.Properties[p] = nil
		}
	}
	return o
}

func idLess(a, b string) int {
	na, ea := strconv.ParseInt(a, 10, 64)
	nb, eb := strconv.ParseInt(b, 10, 64)
	if ea == nil && eb == nil {
		return cmp.Compare(na, nb)
	}
	return strings.Compare(a, b)
}

func (s *Server) liveIDs(recs map[string]*record) []string {
	var ids []string
	for id, r := range recs {
		if r.mergedInto == "" {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, idLess)
	return ids
}

func splitProps(q string) []string {
	var out []string
	for _, p := range strings.Split(q, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// list serves GET /crm/v3/objects/{object}: a page of live records in id
// order, at most 100 per page, continued with the opaque paging.next.after.
// https://developers.hubspot.com/docs/guides/crm/using-object-apis
func (s *Server) list(c *exchange, objName string, recs map[string]*record) {
	q := c.r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR", "limit must be between 1 and 100")
			return
		}
		limit = n
	}
	var props []string
	for _, v := range q["properties"] {
		props = append(props, splitProps(v)...)
	}
	ids := s.liveIDs(recs)
	start := 0
	if after := q.Get("after"); after != "" {
		start = sort.Search(len(ids), func(i int) bool { return idLess(ids[i], after) >= 0 })
	}
	end := min(start+limit, len(ids))
	type paging struct {
		Next struct {
			After string `json:"after"`
			Link  string `json:"link"`
		} `json:"next"`
	}
	resp := struct {
		Results []object `json:"results"`
		Paging  *paging  `json:"paging,omitempty"`
	}{Results: []object{}}
	for _, id := range ids[start:end] {
		resp.Results = append(resp.Results, s.view(recs[id], props))
	}
	if end < len(ids) {
		p := &paging{}
		p.Next.After = ids[end]
		next := *c.r.URL
		nq := next.Query()
		nq.Set("after", ids[end])
		next.RawQuery = nq.Encode()
		p.Next.Link = s.URL + next.RequestURI()
		resp.Paging = p
	}
	s.writeJSON(c, http.StatusOK, resp)
}

// getOne serves GET /crm/v3/objects/{object}/{id}; an id that was merged
// away returns the record it now resolves to, with that record's id.
func (s *Server) getOne(c *exchange, objName, id string) {
	r := s.resolve(objName, id)
	if r == nil {
		s.fail(c, http.StatusNotFound, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
		return
	}
	s.writeJSON(c, http.StatusOK, s.view(r, splitProps(c.r.URL.Query().Get("properties"))))
}

type idInput struct {
	ID string `json:"id"`
}

func (s *Server) tooMany(c *exchange, n int) bool {
	if n > MaxBatchInputs {
		s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR",
			fmt.Sprintf("Too many inputs: %d. The maximum number of inputs supported in a batch request is %d.", n, MaxBatchInputs))
		return true
	}
	return false
}

func (s *Server) stamp(c *exchange) (string, string) {
	t := c.now.UTC().Format(time.RFC3339Nano)
	return t, t
}

// batchRead serves POST /crm/v3/objects/{object}/batch/read.
// https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects
func (s *Server) batchRead(c *exchange, objName string) {
	var in struct {
		Inputs     []idInput `json:"inputs"`
		Properties []string  `json:"properties"`
		IDProperty string    `json:"idProperty"`
	}
	if !s.decode(c, &in) || s.tooMany(c, len(in.Inputs)) {
		return
	}
	resp := batchResponse{Status: "COMPLETE", Results: []object{}}
	resp.StartedAt, resp.CompletedAt = s.stamp(c)
	seen := map[string]bool{}
	var missing []string
	for _, input := range in.Inputs {
		r := s.resolve(objName, input.ID)
		hidden := s.hideFromReads[objName+"/"+input.ID] ||
			(s.opts.BatchReadHidesMerged && r != nil && r.id != input.ID)
		if r == nil || hidden {
			missing = append(missing, input.ID)
			continue
		}
		if !seen[r.id] {
			seen[r.id] = true
			resp.Results = append(resp.Results, s.view(r, in.Properties))
		}
	}
	status := http.StatusOK
	if len(missing) > 0 {
		status = http.StatusMultiStatus
		resp.Errors = []batchError{{Status: "error", Category: "OBJECT_NOT_FOUND",
			Message: fmt.Sprintf("Could not get some %s objects, they may be deleted or not exist. Check that ids are valid.", strings.ToUpper(strings.TrimSuffix(objName, "s"))),
			Context: map[string][]string{"ids": missing}}}
		resp.NumErrors = 1
	}
	s.writeJSON(c, status, resp)
}

// batchUpdate serves POST /crm/v3/objects/{object}/batch/update. Values
// overwrite; "" clears a property.
// https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/batch/update-contacts
func (s *Server) batchUpdate(c *exchange, objName string) (hang bool) {
	var in struct {
		Inputs []struct {
			ID         string            `json:"id"`
			Properties map[string]string `json:"properties"`
		} `json:"inputs"`
	}
	if !s.decode(c, &in) || s.tooMany(c, len(in.Inputs)) {
		return false
	}
	seen := map[string]bool{}
	for _, input := range in.Inputs {
		if seen[input.ID] {
			s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR",
				fmt.Sprintf("Duplicate IDs found in batch input: [%s]. IDs must be unique", input.ID))
			return false
		}
		seen[input.ID] = true
		for p, v := range input.Properties {
			if s.rejectValues[p+"="+v] {
				s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR",
					fmt.Sprintf(`Property values were not valid: [{"isValid":false,"message":"%s was not one of the allowed options","error":"INVALID_OPTION","name":"%s"}]`, v, p))
				return false
			}
			if p == "hs_object_id" || p == MergedIDsProperty {
				s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR",
					fmt.Sprintf(`Property values were not valid: [{"isValid":false,"message":"%s is a read only property","error":"READ_ONLY_VALUE","name":"%s"}]`, p, p))
				return false
			}
		}
	}
	resp := batchResponse{Status: "COMPLETE", Results: []object{}}
	resp.StartedAt, resp.CompletedAt = s.stamp(c)
	for _, input := range in.Inputs {
		if f, bad := s.failIDs[objName+"/"+input.ID]; bad {
			resp.Errors = append(resp.Errors, batchError{Status: "error", Category: f.category, Message: f.message,
				Context: map[string][]string{"ids": {input.ID}}})
			continue
		}
		r := s.resolve(objName, input.ID)
		if r == nil {
			resp.Errors = append(resp.Errors, batchError{Status: "error", Category: "OBJECT_NOT_FOUND",
				Message: "Object not found.", Context: map[string][]string{"ids": {input.ID}}})
			continue
		}
		names := make([]string, 0, len(input.Properties))
		for p, v := range input.Properties {
			names = append(names, p)
			if v == "" {
				delete(r.props, p)
			} else {
				r.props[p] = v
			}
			s.writes = append(s.writes, Write{Object: objName, ID: r.id, Property: p, Value: v, At: c.now})
		}
		r.updated = c.now
		resp.Results = append(resp.Results, s.view(r, names))
	}
	if s.afterWrite != nil {
		s.afterWrite()
	}
	if hang, lost := s.lostAnswer(c); hang || lost {
		return hang
	}
	status := http.StatusOK
	if len(resp.Errors) > 0 {
		status = http.StatusMultiStatus
		resp.NumErrors = len(resp.Errors)
	}
	s.writeJSON(c, status, resp)
	return false
}

// lostAnswer applies the LoseNextWrites and HangNextWrites hooks to a write
// that took effect.
func (s *Server) lostAnswer(c *exchange) (hang, lost bool) {
	if s.hangWrites > 0 {
		s.hangWrites--
		return true, true
	}
	if s.loseWrites > 0 {
		s.loseWrites--
		c.w.Header().Set("Content-Type", "text/html")
		c.w.WriteHeader(http.StatusGatewayTimeout)
		fmt.Fprint(c.w, "<html><body>504 Gateway Time-out</body></html>")
		return false, true
	}
	return false, false
}

// merge serves POST /crm/v3/objects/{object}/merge.
// https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/merge-contacts
// https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies
func (s *Server) merge(c *exchange, objName string) (hang bool) {
	var in struct {
		PrimaryObjectID string `json:"primaryObjectId"`
		ObjectIDToMerge string `json:"objectIdToMerge"`
	}
	if !s.decode(c, &in) {
		return false
	}
	if in.PrimaryObjectID == "" || in.ObjectIDToMerge == "" {
		s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR", "primaryObjectId and objectIdToMerge are required")
		return false
	}
	primary, loser := s.resolve(objName, in.PrimaryObjectID), s.resolve(objName, in.ObjectIDToMerge)
	if primary == nil || loser == nil {
		s.fail(c, http.StatusNotFound, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
		return false
	}
	if primary == loser {
		s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR",
			fmt.Sprintf("Object %s and %s are already merged", in.PrimaryObjectID, in.ObjectIDToMerge))
		return false
	}
	merged := mergedIDs(primary, loser)
	var result *record
	if s.opts.LegacyMerge {
		for k, v := range loser.props {
			if _, ok := primary.props[k]; !ok && k != MergedIDsProperty {
				primary.props[k] = v
			}
		}
		merged = slices.DeleteFunc(merged, func(id string) bool { return id == primary.id })
		primary.props[MergedIDsProperty] = strings.Join(merged, ";")
		primary.updated = c.now
		loser.mergedInto = primary.id
		result = primary
	} else {
		// The primary's values win; the secondary fills the rest.
		id := strconv.FormatInt(s.nextID, 10)
		s.nextID++
		r := &record{id: id, props: map[string]string{}, created: primary.created, updated: c.now}
		for k, v := range loser.props {
			r.props[k] = v
		}
		for k, v := range primary.props {
			r.props[k] = v
		}
		r.props[MergedIDsProperty] = strings.Join(merged, ";")
		s.objects[objName][id] = r
		primary.mergedInto, loser.mergedInto = id, id
		result = r
	}
	if s.afterWrite != nil {
		s.afterWrite()
	}
	if hang, lost := s.lostAnswer(c); hang || lost {
		return hang
	}
	names := make([]string, 0, len(result.props))
	for k := range result.props {
		names = append(names, k)
	}
	s.writeJSON(c, http.StatusOK, s.view(result, names))
	return false
}

// mergedIDs is every id that will resolve to the merged record.
func mergedIDs(a, b *record) []string {
	set := map[string]bool{a.id: true, b.id: true}
	for _, r := range []*record{a, b} {
		for _, id := range strings.Split(r.props[MergedIDsProperty], ";") {
			if id != "" {
				set[id] = true
			}
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, idLess)
	return ids
}

// listProperties serves GET /crm/v3/properties/{object}: every property any
// record of the object has, plus HubSpot's fixed ones.
func (s *Server) listProperties(c *exchange, objName string, recs map[string]*record) {
	names := map[string]bool{"hs_object_id": true, "createdate": true, "lastmodifieddate": true, MergedIDsProperty: true}
	for _, r := range recs {
		for k := range r.props {
			names[k] = true
		}
	}
	type prop struct {
		Name      string `json:"name"`
		Label     string `json:"label"`
		Type      string `json:"type"`
		FieldType string `json:"fieldType"`
	}
	resp := struct {
		Results []prop `json:"results"`
	}{}
	for n := range names {
		resp.Results = append(resp.Results, prop{Name: n, Label: n, Type: "string", FieldType: "text"})
	}
	slices.SortFunc(resp.Results, func(a, b prop) int { return strings.Compare(a.Name, b.Name) })
	s.writeJSON(c, http.StatusOK, resp)
}

// listOwners serves GET /crm/v3/owners with limit/after paging.
// https://developers.hubspot.com/docs/api-reference/crm-crm-owners-v3/guide
func (s *Server) listOwners(c *exchange) {
	q := c.r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR", "limit must be between 1 and 500")
			return
		}
		limit = n
	}
	start := 0
	if after := q.Get("after"); after != "" {
		n, err := strconv.Atoi(after)
		if err != nil || n < 0 || n > len(s.owners) {
			s.fail(c, http.StatusBadRequest, "VALIDATION_ERROR", "invalid after")
			return
		}
		start = n
	}
	end := min(start+limit, len(s.owners))
	type owner struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		Type      string `json:"type"`
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
		UserID    int64  `json:"userId"`
		CreatedAt string `json:"createdAt"`
		UpdatedAt string `json:"updatedAt"`
		Archived  bool   `json:"archived"`
	}
	resp := struct {
		Results []owner `json:"results"`
		Paging  any     `json:"paging,omitempty"`
	}{Results: []owner{}}
	at, _ := s.stamp(c)
	for _, o := range s.owners[start:end] {
		resp.Results = append(resp.Results, owner{ID: o.ID, Email: o.Email, Type: "PERSON",
			FirstName: o.FirstName, LastName: o.LastName, UserID: o.UserID, CreatedAt: at, UpdatedAt: at})
	}
	if end < len(s.owners) {
		next := url.Values{"after": {strconv.Itoa(end)}, "limit": {strconv.Itoa(limit)}}
		resp.Paging = map[string]any{"next": map[string]string{
			"after": strconv.Itoa(end), "link": s.URL + "/crm/v3/owners?" + next.Encode()}}
	}
	s.writeJSON(c, http.StatusOK, resp)
}
