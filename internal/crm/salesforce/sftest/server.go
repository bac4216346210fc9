// Package sftest is an in-process double of the parts of Salesforce's REST,
// Bulk API 2.0, SOAP and OAuth APIs that crmops' Salesforce connector uses,
// served over real HTTP by httptest. It keeps state (records by object API
// name with 18-character IDs, a recycle bin, merges, query cursors, bulk
// jobs), enforces Salesforce's documented limits and error shapes, and
// counts what it saw so tests and benchmarks can check the client's
// behaviour on the wire.
//
// What it follows (each handler cites the page it implements), and where
// Salesforce's documentation is silent and the double chose:
//
//   - Authentication: "Authorization: Bearer <token>" (the older "OAuth
//     <token>" scheme is accepted too); SOAP calls authenticate with the
//     SessionHeader's sessionId. A missing, wrong or expired token is 401
//     [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]
//     (a SOAP INVALID_SESSION_ID fault). Tokens come from the OAuth 2.0
//     client credentials flow at POST /services/oauth2/token; Options.Token
//     is valid from the start; ExpireSession invalidates every token issued
//     so far. 401s carry no Sforce-Limit-Info and are not counted against
//     the limit (not documented either way).
//   - Limits: every authenticated REST response carries
//     "Sforce-Limit-Info: api-usage=N/M", N the calls in the last 24 hours
//     (rolling) and M Options.DailyLimit; a call that would make N pass M is
//     403 [{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]
//     and is not counted. Salesforce also tolerates short bursts over the
//     allocation (api-bursts); the double does not. SOAP answers carry the
//     numbers in LimitInfoHeader. GET /limits reports DailyApiRequests
//     {Max, Remaining}; GET /services/data (versions) needs no token and is
//     not counted, as documented. Token requests are not API calls.
//   - Records: IDs are generated with the object's key prefix (001 Account,
//     003 Contact, 00Q Lead, 006 Opportunity, 0PK Individual; a00, a01, ...
//     for other objects) and the documented 18-character checksum, in an
//     order where ORDER BY Id is creation order; 15-character IDs are
//     accepted everywhere. Every write sets LastModifiedDate and
//     SystemModstamp, written as Salesforce writes them
//     (2024-01-31T12:00:00.000+0000, whole seconds). An object's fields are
//     the system fields (Id, IsDeleted, MasterRecordId, CreatedDate,
//     LastModifiedDate, SystemModstamp, none of them writable), Options.Fields,
//     and every field given to Seed or DefineObject; names are
//     case-insensitive and answered in their declared spelling.
//   - SOQL: the subset described in soql.go; valid SOQL beyond it is
//     answered MALFORMED_QUERY. Query cursors are snapshots and never expire.
//   - Recycle bin: merged-away records (and records removed with Delete)
//     stay visible to queryAll with IsDeleted true for 15 days, then are
//     purged; SOAP undelete() restores them until then (REST cannot).
//     Whether undelete() clears MasterRecordId is not documented: the double
//     keeps it unless Options.UndeleteClearsMasterRecordID.
//   - Bodies the docs do not show, chosen to match what Salesforce is seen
//     to send: 412 PRECONDITION_FAILED for If-Unmodified-Since; more than 200
//     collection records 400 EXCEEDED_ID_LIMIT "record limit reached. cannot
//     submit more than 200 records into this call"; a missing or deleted
//     record in a collection ENTITY_IS_DELETED "entity is deleted" (with its
//     id in the result; MALFORMED_ID and MISSING_ARGUMENT results have none,
//     as in the documented example); a repeated id DUPLICATE_VALUE; a field
//     that does not exist INVALID_FIELD for just that record
//     (Options.InvalidFieldFailsRequest makes it a whole-request 400). Bulk
//     results read before JobComplete are 412 JOB_NOT_COMPLETE, as an older
//     version of the page shows. Which SOAP merge() problems are faults and
//     which are per-request errors is listed in soap.go.
//   - Not modelled: ETags and If-Match/If-None-Match (documented for Account
//     records only), the 10-chunk rule of collections with mixed types,
//     bulk-job abort/delete, parallel results, and the 409 for reading
//     results with another API version.
//
// A Server is safe for concurrent use; requests are handled one at a time
// (after the optional per-request latency, which requests wait out in
// parallel).
package sftest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits Salesforce documents.
const (
	// MaxCollectionRecords is the most records one sObject Collections
	// request may carry.
	// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
	MaxCollectionRecords = 200
	// MaxMergeRequests is the most MergeRequests one SOAP merge() call may
	// carry, and MaxMergeVictims the most records merged into the master by
	// one request.
	// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm
	MaxMergeRequests = 200
	MaxMergeVictims  = 2
	// MaxUndeleteIDs is the most IDs one SOAP undelete() call may carry.
	MaxUndeleteIDs = 200
	// DefaultQueryBatchSize is the default and largest number of records a
	// query response holds.
	// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
	DefaultQueryBatchSize = 2000
	// RecycleBinRetention is how long deleted records stay restorable.
	// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm
	RecycleBinRetention = 15 * 24 * time.Hour
)

// Options configure a Server. The zero value is a double with the default
// objects, a daily limit of 100,000 calls and the token "test-token".
type Options struct {
	// Token is an access token valid from the start (default "test-token").
	Token string
	// ClientID and ClientSecret are the connected app's consumer key and
	// secret for the client credentials flow (defaults "test-client-id",
	// "test-client-secret").
	ClientID, ClientSecret string
	// DailyLimit is the org's API request allocation per rolling 24 hours
	// (default 100,000).
	DailyLimit int
	// QueryBatchSize caps records per query page (default and maximum
	// 2000; tests set it small to exercise paging).
	QueryBatchSize int
	// BulkPollsToComplete is how many GETs of a bulk query job it takes to
	// see JobComplete: earlier polls see InProgress (default 2).
	BulkPollsToComplete int
	// BulkPageSize is the records per results set when the client sends no
	// maxRecords (default 0: all records in one set).
	BulkPageSize int
	// Latency is added to every request before it is handled (for
	// benchmarks; default 0). SetLatency changes it later.
	Latency time.Duration
	// Now is the double's clock (default time.Now).
	Now func() time.Time
	// Objects adds object types: API name → 3-character key prefix.
	Objects map[string]string
	// Fields declares fields that exist, by object API name.
	Fields map[string][]string
	// InvalidFieldFailsRequest answers a collection naming a field that does
	// not exist with a whole-request 400 INVALID_FIELD instead of failing
	// only that record.
	InvalidFieldFailsRequest bool
	// UndeleteClearsMasterRecordID clears MasterRecordId when a merged-away
	// record is undeleted.
	UndeleteClearsMasterRecordID bool
}

// standard objects and their documented key prefixes.
// https://help.salesforce.com/s/articleView?id=000385203&type=1
var standardObjects = map[string]string{
	"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006",
	"User": "005", "Individual": "0PK",
}

// mergeable object types.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm
var mergeable = map[string]bool{"Lead": true, "Contact": true, "Account": true, "Individual": true}

// System fields every object has; none can be written by the API.
var systemFields = []string{"Id", "IsDeleted", "MasterRecordId", "CreatedDate", "LastModifiedDate", "SystemModstamp"}

// Write is one record change the double made for a client call.
type Write struct {
	Object, ID string
	// Op is "update" (sObject Collections), "patch" (sObject Rows),
	// "merge" (the master of a merge), "merged" (a record merged away),
	// "reparent" (a record whose reference was moved to the master) or
	// "undelete".
	Op string
	// Fields are the values set (nil for a cleared field).
	Fields map[string]any
	At     time.Time
}

// Record is a stored record as the double sees it.
type Record struct {
	Object, ID       string
	Fields           map[string]any // non-system fields
	IsDeleted        bool
	MasterRecordID   string
	CreatedDate      time.Time
	LastModifiedDate time.Time
	DeletedAt        time.Time
}

type object struct {
	name, prefix string
	fields       map[string]string // lower-case name → canonical
	order        []string          // canonical, declaration order (system fields first)
	types        map[string]string // canonical → describe type, when set with SetFieldType
}

type record struct {
	object         string
	id             string
	fields         map[string]any
	created        time.Time
	modified       time.Time
	deleted        bool
	deletedAt      time.Time
	masterRecordID string
}

type failure struct {
	code, message string
	fields        []string
}

type rejectRule struct {
	object, field string
	value         string
	message       string
}

// Server is a running double. Point a client at URL (the instance URL and
// the OAuth token endpoint's host).
type Server struct {
	URL string

	srv  *httptest.Server
	opts Options

	mu          sync.Mutex
	objects     map[string]*object // canonical name
	objectLower map[string]string
	prefixes    map[string]string // key prefix → object
	records     map[string]*record
	bin         map[string]bool // IDs of records in the recycle bin
	nextID      int64
	nextPrefix  int
	orgID       string
	tokens      map[string]bool
	tokenSeq    int
	arrivals    []time.Time
	stats       Stats
	writes      []Write
	cursors     map[string]*cursor
	jobs        map[string]*bulkJob
	latency     time.Duration

	failRecords   map[string]failure
	rejects       []rejectRule
	failNext      []int
	failNextToken []int
	failJobs      []string
	loseWrites    int
	hangWrites    int
	cutAfter      int // record writes left before the connection is cut; 0 = off
	afterWrite    func(Write)
}

// New starts a double. Close it when done (t.Cleanup(s.Close)).
func New(opts Options) *Server {
	opts.Token = cmp.Or(opts.Token, "test-token")
	opts.ClientID = cmp.Or(opts.ClientID, "test-client-id")
	opts.ClientSecret = cmp.Or(opts.ClientSecret, "test-client-secret")
	if opts.DailyLimit <= 0 {
		opts.DailyLimit = 100_000
	}
	if opts.QueryBatchSize <= 0 || opts.QueryBatchSize > DefaultQueryBatchSize {
		opts.QueryBatchSize = DefaultQueryBatchSize
	}
	if opts.BulkPollsToComplete <= 0 {
		opts.BulkPollsToComplete = 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:        opts,
		objects:     map[string]*object{},
		objectLower: map[string]string{},
		prefixes:    map[string]string{},
		records:     map[string]*record{},
		bin:         map[string]bool{},
		nextID:      4_000_000,
		tokens:      map[string]bool{opts.Token: true},
		cursors:     map[string]*cursor{},
		jobs:        map[string]*bulkJob{},
		failRecords: map[string]failure{},
		latency:     opts.Latency,
		stats:       newStats(),
	}
	s.orgID = makeID("00D", 1)
	for name, prefix := range standardObjects {
		s.addObject(name, prefix)
	}
	for name, prefix := range opts.Objects {
		s.addObject(name, prefix)
	}
	for name, fields := range opts.Fields {
		o := s.ensureObject(name)
		for _, f := range fields {
			s.ensureField(o, f)
		}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the double down.
func (s *Server) Close() { s.srv.Close() }

// ---- state: objects and records ----

func (s *Server) addObject(name, prefix string) *object {
	if o := s.lookupObject(name); o != nil {
		return o
	}
	o := &object{name: name, prefix: prefix, fields: map[string]string{}}
	for _, f := range systemFields {
		s.ensureField(o, f)
	}
	s.objects[name] = o
	s.objectLower[strings.ToLower(name)] = name
	s.prefixes[prefix] = name
	return o
}

func (s *Server) lookupObject(name string) *object {
	return s.objects[s.objectLower[strings.ToLower(name)]]
}

// ensureObject returns the object, creating it with the next custom key
// prefix (a00, a01, ...) if it does not exist.
func (s *Server) ensureObject(name string) *object {
	if o := s.lookupObject(name); o != nil {
		return o
	}
	for {
		prefix := fmt.Sprintf("a%c%c", base62[s.nextPrefix/62%62], base62[s.nextPrefix%62])
		s.nextPrefix++
		if _, used := s.prefixes[prefix]; !used {
			return s.addObject(name, prefix)
		}
	}
}

func (s *Server) ensureField(o *object, name string) string {
	if c, ok := o.fields[strings.ToLower(name)]; ok {
		return c
	}
	o.fields[strings.ToLower(name)] = name
	o.order = append(o.order, name)
	return name
}

func isSystemField(name string) bool {
	return slices.ContainsFunc(systemFields, func(f string) bool { return strings.EqualFold(f, name) })
}

// DefineObject makes an object type exist with these fields (creating it,
// with key prefix if non-empty or the next custom one, if needed).
func (s *Server) DefineObject(name, prefix string, fields ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var o *object
	if prefix != "" {
		o = s.addObject(name, prefix)
	} else {
		o = s.ensureObject(name)
	}
	for _, f := range fields {
		s.ensureField(o, f)
	}
}

// Seed stores a new record and returns its 18-character ID. The object is
// created if it does not exist and the fields become part of its schema
// (a nil value declares the field and leaves it unset).
// A field "Id" with a well-formed ID of the object's key prefix is used as
// the record's ID; other system fields are ignored.
func (s *Server) Seed(objectName string, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.ensureObject(objectName)
	now := s.stamp()
	r := &record{object: o.name, fields: map[string]any{}, created: now, modified: now}
	keys := slices.Sorted(maps.Keys(fields))
	for _, k := range keys {
		v := fields[k]
		if strings.EqualFold(k, "Id") {
			id, ok := normalizeID(fmt.Sprint(v))
			if !ok || id[:3] != o.prefix {
				panic(fmt.Sprintf("sftest: Seed %s with Id %v: not an ID of prefix %s", o.name, v, o.prefix))
			}
			r.id = id
			continue
		}
		if isSystemField(k) {
			continue
		}
		name := s.ensureField(o, k)
		if v != nil {
			r.fields[name] = normalizeValue(v)
		}
	}
	if r.id == "" {
		r.id = s.newID(o.prefix)
	}
	s.records[r.id] = r
	return r.id
}

// normalizeValue stores Go integers as the float64s JSON decoding gives.
func normalizeValue(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int32:
		return float64(n)
	case int64:
		return float64(n)
	case float32:
		return float64(n)
	}
	return v
}

func (s *Server) newID(prefix string) string {
	s.nextID++
	return makeID(prefix, s.nextID)
}

// stamp is the current time as Salesforce records it: UTC, whole seconds.
func (s *Server) stamp() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

// Get returns a copy of a record's non-system fields, whether it is in the
// recycle bin, and the ID it was merged into. ok is false if there is no such
// record (or it was purged from the recycle bin).
func (s *Server) Get(objectName, id string) (fields map[string]any, deleted bool, masterRecordID string, ok bool) {
	rec, ok := s.Record(objectName, id)
	if !ok {
		return nil, false, "", false
	}
	return rec.Fields, rec.IsDeleted, rec.MasterRecordID, true
}

// Record returns a copy of a record (ID in 15- or 18-character form).
func (s *Server) Record(objectName, id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge()
	r := s.find(id)
	if r == nil || !strings.EqualFold(r.object, objectName) {
		return Record{}, false
	}
	return Record{Object: r.object, ID: r.id, Fields: maps.Clone(r.fields), IsDeleted: r.deleted,
		MasterRecordID: r.masterRecordID, CreatedDate: r.created, LastModifiedDate: r.modified, DeletedAt: r.deletedAt}, true
}

// IDs returns the IDs of an object's records in ID order, live ones only
// unless includeDeleted.
func (s *Server) IDs(objectName string, includeDeleted bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge()
	var ids []string
	for _, r := range s.sortedRecords(objectName) {
		if includeDeleted || !r.deleted {
			ids = append(ids, r.id)
		}
	}
	return ids
}

// Delete moves a record to the recycle bin, as a user deleting it would.
func (s *Server) Delete(objectName, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.find(id)
	if r == nil || r.deleted || !strings.EqualFold(r.object, objectName) {
		return false
	}
	s.recycle(r, s.stamp())
	return true
}

// Writes returns every record change made for client calls, oldest first.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Write, len(s.writes))
	for i, w := range s.writes {
		w.Fields = maps.Clone(w.Fields)
		out[i] = w
	}
	return out
}

func (s *Server) find(id string) *record {
	id18, ok := normalizeID(id)
	if !ok {
		return nil
	}
	return s.records[id18]
}

// sortedRecords is an object's records (live and in the recycle bin) in ID
// order.
func (s *Server) sortedRecords(objectName string) []*record {
	var out []*record
	for _, r := range s.records {
		if strings.EqualFold(r.object, objectName) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *record) int { return strings.Compare(a.id, b.id) })
	return out
}

// purge removes records that have been in the recycle bin longer than the
// retention period: they are gone for queryAll and undelete alike.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm
func (s *Server) purge() {
	now := s.opts.Now()
	for id := range s.bin {
		r := s.records[id]
		if r == nil || !r.deleted {
			delete(s.bin, id)
			continue
		}
		if now.Sub(r.deletedAt) >= RecycleBinRetention {
			delete(s.records, id)
			delete(s.bin, id)
		}
	}
}

// recycle moves a record to the recycle bin.
func (s *Server) recycle(r *record, at time.Time) {
	r.deleted, r.deletedAt, r.modified = true, at, at
	s.bin[r.id] = true
}

// value reads a field (system or not) by canonical name.
func (r *record) value(field string) any {
	switch field {
	case "Id":
		return r.id
	case "IsDeleted":
		return r.deleted
	case "MasterRecordId":
		if r.masterRecordID == "" {
			return nil
		}
		return r.masterRecordID
	case "CreatedDate":
		return formatTime(r.created)
	case "LastModifiedDate", "SystemModstamp":
		return formatTime(r.modified)
	}
	return r.fields[field]
}

// formatTime writes a dateTime as Salesforce's REST API does.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm (example record)
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

// ---- fault injection ----

// FailRecord makes every write of this record (collections, PATCH, merge as
// master or victim) fail with this status code, message and fields, while
// the other records of the call go through. ClearFailures undoes it.
func (s *Server) FailRecord(id, statusCode, message string, fields ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id18, ok := normalizeID(id)
	if !ok {
		panic("sftest: FailRecord: malformed id " + id)
	}
	s.failRecords[id18] = failure{statusCode, message, fields}
}

// RejectValue makes writes that set object.field to value fail with
// FIELD_CUSTOM_VALIDATION_EXCEPTION and message, as a validation rule would.
// Values compare by their printed form.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm (StatusCode)
func (s *Server) RejectValue(objectName, field string, value any, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejects = append(s.rejects, rejectRule{objectName, field, fmt.Sprint(normalizeValue(value)), message})
}

// ClearFailures forgets FailRecord and RejectValue rules.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRecords = map[string]failure{}
	s.rejects = nil
}

// FailNext answers the next len(statuses) API requests (REST and SOAP, after
// authentication and the limit check, which count them) with these HTTP
// statuses and Salesforce's error shape, without doing anything.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, statuses...)
}

// FailNextToken answers the next len(statuses) token requests with these
// statuses.
func (s *Server) FailNextToken(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNextToken = append(s.failNextToken, statuses...)
}

// ExpireSession invalidates every access token issued so far (and
// Options.Token): requests answer 401 INVALID_SESSION_ID until the client
// gets a new token.
func (s *Server) ExpireSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]bool{}
}

// FailNextBulkJobs makes the next n bulk query jobs end in state Failed with
// this errorMessage instead of JobComplete.
func (s *Server) FailNextBulkJobs(n int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failJobs = append(s.failJobs, message)
	}
}

// AfterWrite calls fn after each record write takes effect and before the
// call is answered (under the double's lock, so fn must not call the
// double). A test can cancel its client's context there to simulate a crash
// mid-batch.
func (s *Server) AfterWrite(fn func(Write)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterWrite = fn
}

// CutAfterWrites closes the connection without an answer right after the
// next n record writes took effect (counting across calls): the records
// written so far stay written, the rest of that call is not processed. With
// allOrNone collections and merges, the whole call commits first.
func (s *Server) CutAfterWrites(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutAfter = n
}

// LoseNextWrites makes the next n write calls (collections, PATCH, merge,
// undelete) take effect and then answer 504, as when a gateway times out
// after the work was done.
func (s *Server) LoseNextWrites(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseWrites += n
}

// HangNextWrites makes the next n write calls take effect and then never
// answer until the client gives up.
func (s *Server) HangNextWrites(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangWrites += n
}

// SetLatency changes the delay added to every request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Burn counts n API calls now, as if another integration of the org had
// made them.
func (s *Server) Burn(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for range n {
		s.arrivals = append(s.arrivals, now)
	}
}

// APIUsage is the api-usage number now: calls in the last 24 hours.
func (s *Server) APIUsage() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage(s.opts.Now())
}

// Stats returns a copy of what the double has seen.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats.clone()
	st.APIUsage = s.usage(s.opts.Now())
	st.DailyLimit = s.opts.DailyLimit
	return st
}

// ResetStats forgets what the double has seen (not its records, nor the
// org's API usage).
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newStats()
}

// ---- request handling ----

type exchange struct {
	w       http.ResponseWriter
	r       *http.Request
	body    []byte
	now     time.Time
	version string // "62.0"
	route   string
	writes  int // record writes committed by this call
	cut     bool
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	hang := false
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		hang = s.handle(&exchange{w: w, r: r, body: body, now: s.opts.Now()})
	}()
	if hang {
		<-r.Context().Done()
	}
}

var (
	reDataPath = regexp.MustCompile(`^/services/data/v(\d+\.\d+)(/.*)?$`)
	reSoapPath = regexp.MustCompile(`^/services/Soap/u/(\d+\.\d+)/?$`)
)

func (s *Server) handle(c *exchange) (hang bool) {
	s.stats.Requests++
	s.purge()
	path := c.r.URL.Path
	switch {
	case path == "/services/oauth2/token":
		c.route = "/services/oauth2/token"
		s.count(c)
		s.token(c)
		return false
	case path == "/services/data" || path == "/services/data/":
		c.route = "/services/data"
		s.count(c)
		s.versions(c)
		return false
	case reSoapPath.MatchString(path):
		c.version = reSoapPath.FindStringSubmatch(path)[1]
		c.route = "/services/Soap/u/{version}"
		return s.soap(c)
	case reDataPath.MatchString(path):
		m := reDataPath.FindStringSubmatch(path)
		c.version = m[1]
		return s.rest(c, strings.Trim(m[2], "/"))
	}
	c.route = path
	s.count(c)
	s.restError(c, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	return false
}

func (s *Server) count(c *exchange) { s.stats.ByEndpoint[c.r.Method+" "+c.route]++ }

// authorized reports whether the request carries a valid access token.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm (401)
func (s *Server) authorized(c *exchange) bool {
	h := c.r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if tok, ok := strings.CutPrefix(h, scheme); ok {
			return s.tokens[strings.TrimSpace(tok)]
		}
	}
	return false
}

// usage is the number of counted calls in the 24 hours up to now.
func (s *Server) usage(now time.Time) int {
	cut := 0
	for cut < len(s.arrivals) && !s.arrivals[cut].After(now.Add(-24*time.Hour)) {
		cut++
	}
	s.arrivals = s.arrivals[cut:]
	return len(s.arrivals)
}

// admit counts an API call against the daily allocation, or refuses it when
// the allocation is used up.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm (403 REQUEST_LIMIT_EXCEEDED)
func (s *Server) admit(c *exchange) bool {
	n := s.usage(c.now)
	if n >= s.opts.DailyLimit {
		s.stats.LimitExceeded++
		return false
	}
	s.arrivals = append(s.arrivals, c.now)
	s.stats.APICalls++
	return true
}

func (s *Server) limitInfo() string {
	return fmt.Sprintf("api-usage=%d/%d", len(s.arrivals), s.opts.DailyLimit)
}

// injected pops the next FailNext status, if any.
func (s *Server) injected() (int, bool) {
	if len(s.failNext) == 0 {
		return 0, false
	}
	st := s.failNext[0]
	s.failNext = s.failNext[1:]
	return st, true
}

// codeForStatus is the errorCode the double sends with an injected status.
func codeForStatus(status int) (code, message string) {
	switch status {
	case http.StatusUnauthorized:
		return "INVALID_SESSION_ID", "Session expired or invalid"
	case http.StatusForbidden:
		return "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
	case http.StatusNotFound:
		return "NOT_FOUND", "The requested resource does not exist"
	case http.StatusServiceUnavailable:
		return "SERVER_UNAVAILABLE", "Server temporarily unavailable."
	case http.StatusBadRequest:
		return "BAD_REQUEST", "Bad request."
	}
	if status >= 500 {
		return "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)"
	}
	return "UNKNOWN_EXCEPTION", http.StatusText(status)
}

// commit records one record write: the log, the counters and the hooks.
// It reports whether the connection must now be cut.
func (s *Server) commit(c *exchange, w Write) bool {
	w.At = c.now
	s.writes = append(s.writes, w)
	s.stats.RecordsWritten++
	c.writes++
	if s.afterWrite != nil {
		s.afterWrite(w)
	}
	if s.cutAfter > 0 {
		s.cutAfter--
		if s.cutAfter == 0 {
			c.cut = true
		}
	}
	return c.cut
}

// cutConnection drops the connection without an answer.
func (s *Server) cutConnection(c *exchange) {
	if hj, ok := c.w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// lostAnswer applies LoseNextWrites and HangNextWrites to a write call that
// took effect.
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

// ---- REST responses ----

// apiError is one element of the REST error body, an array of
// {message, errorCode[, fields]}.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func (s *Server) restError(c *exchange, status int, code, message string, fields ...string) {
	s.writeJSON(c, status, []apiError{{Message: message, ErrorCode: code, Fields: fields}})
}

func (s *Server) writeJSON(c *exchange, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	s.writeRaw(c, status, data)
}

func (s *Server) writeRaw(c *exchange, status int, data []byte) {
	c.w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	c.w.WriteHeader(status)
	c.w.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		c.w.Write([]byte("\n"))
	}
}

// versions serves GET /services/data, which needs no authentication and is
// not counted against the limit.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_versions.htm
func (s *Server) versions(c *exchange) {
	type version struct {
		Label   string `json:"label"`
		URL     string `json:"url"`
		Version string `json:"version"`
	}
	var out []version
	seasons := []string{"Summer", "Winter", "Spring"} // 58.0 is Summer '23
	for v := 58; v <= 66; v++ {
		i := v - 58
		year := 23 + (i+2)/3
		out = append(out, version{Label: fmt.Sprintf("%s '%d", seasons[i%3], year),
			URL: "/services/data/v" + strconv.Itoa(v) + ".0", Version: strconv.Itoa(v) + ".0"})
	}
	s.writeJSON(c, http.StatusOK, out)
}
