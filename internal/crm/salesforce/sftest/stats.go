package sftest

import "maps"

// Stats is what the double saw, for tests and the benchmark ("API calls
// used" is APICalls, or APIUsage for the org's rolling 24-hour number).
type Stats struct {
	// Requests counts every HTTP request that reached the double, including
	// rejected ones and token requests.
	Requests int
	// APICalls counts the calls counted against the daily allocation (REST
	// and SOAP calls that passed authentication and the limit).
	APICalls int
	// APIUsage is the api-usage number when Stats was taken: counted calls
	// in the last 24 hours, including Burn. DailyLimit is its maximum.
	APIUsage, DailyLimit int
	// Unauthorized counts 401 answers (and SOAP INVALID_SESSION_ID faults);
	// LimitExceeded counts REQUEST_LIMIT_EXCEEDED answers.
	Unauthorized, LimitExceeded int

	// Calls by kind. Token counts token requests (not API calls).
	Token       int
	Query       int // GET /query
	QueryAll    int // GET /queryAll
	QueryMore   int // GET /query/<locator> and /queryAll/<locator>
	BulkCreate  int // POST /jobs/query
	BulkStatus  int // GET /jobs/query/<id>
	BulkResults int // GET /jobs/query/<id>/results
	Collections int // PATCH /composite/sobjects
	SingleGet   int // GET /sobjects/<Obj>/<Id>
	SinglePatch int // PATCH /sobjects/<Obj>/<Id>
	SOAPMerge   int // merge() calls
	Undelete    int // undelete() calls
	Limits      int // GET /limits
	Describe    int // GET /sobjects/<Obj>/describe

	// RecordsWritten counts record changes made for client calls (each
	// collection record, PATCH, merge master, merged record, reparented
	// record and undeleted record).
	RecordsWritten int
	// ByEndpoint counts requests per "METHOD route", e.g.
	// "PATCH /services/data/{version}/composite/sobjects".
	ByEndpoint map[string]int
}

// Bulk is every Bulk API 2.0 call.
func (s Stats) Bulk() int { return s.BulkCreate + s.BulkStatus + s.BulkResults }

func newStats() Stats { return Stats{ByEndpoint: map[string]int{}} }

func (s Stats) clone() Stats {
	s.ByEndpoint = maps.Clone(s.ByEndpoint)
	return s
}
