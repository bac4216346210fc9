package sftest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Bulk API 2.0 query jobs.
// https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm

type bulkJob struct {
	id, operation, object string
	query                 *soqlQuery
	version               string
	created, modified     time.Time
	state                 string
	polls                 int
	lineEnding, delimiter string
	errorMessage          string
	header                []string
	rows                  [][]string
}

var bulkDelimiters = map[string]string{
	"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`",
}

// jobInfo is the job as the create and get calls return it.
type jobInfo struct {
	ID                     string      `json:"id"`
	Operation              string      `json:"operation"`
	Object                 string      `json:"object"`
	CreatedByID            string      `json:"createdById"`
	CreatedDate            string      `json:"createdDate"`
	SystemModstamp         string      `json:"systemModstamp"`
	State                  string      `json:"state"`
	ConcurrencyMode        string      `json:"concurrencyMode"`
	ContentType            string      `json:"contentType"`
	APIVersion             json.Number `json:"apiVersion"`
	JobType                string      `json:"jobType,omitempty"`
	LineEnding             string      `json:"lineEnding"`
	ColumnDelimiter        string      `json:"columnDelimiter"`
	NumberRecordsProcessed *int        `json:"numberRecordsProcessed,omitempty"`
	Retries                *int        `json:"retries,omitempty"`
	TotalProcessingTime    *int        `json:"totalProcessingTime,omitempty"`
	IsPkChunkingSupported  *bool       `json:"isPkChunkingSupported,omitempty"`
	ErrorMessage           string      `json:"errorMessage,omitempty"`
}

func (s *Server) jobJSON(j *bulkJob, full bool) jobInfo {
	info := jobInfo{ID: j.id, Operation: j.operation, Object: j.object, CreatedByID: makeID("005", 1),
		CreatedDate: formatTime(j.created), SystemModstamp: formatTime(j.modified), State: j.state,
		ConcurrencyMode: "Parallel", ContentType: "CSV", APIVersion: json.Number(j.version),
		LineEnding: j.lineEnding, ColumnDelimiter: j.delimiter}
	if full {
		n, zero, pk := len(j.rows), 0, true
		ms := int(j.modified.Sub(j.created).Milliseconds())
		info.JobType = "V2Query"
		info.NumberRecordsProcessed, info.Retries, info.TotalProcessingTime, info.IsPkChunkingSupported = &n, &zero, &ms, &pk
		info.ErrorMessage = j.errorMessage
	}
	return info
}

// bulkCreate serves POST /jobs/query {operation: query|queryAll, query,
// contentType, columnDelimiter, lineEnding}; the job starts UploadComplete.
// A query the double cannot run is refused at once with the REST query
// error codes (Salesforce's own answer for a bad query here is not
// documented); a bad operation or option is 400 InvalidJob, a code from
// the Bulk API 2.0 error list.
// https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/bulk_api_2_0_errors.htm
func (s *Server) bulkCreate(c *exchange) {
	var in struct {
		Operation       string `json:"operation"`
		Query           string `json:"query"`
		ContentType     string `json:"contentType"`
		ColumnDelimiter string `json:"columnDelimiter"`
		LineEnding      string `json:"lineEnding"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		s.restError(c, http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
		return
	}
	delim := cmpOr(in.ColumnDelimiter, "COMMA")
	ending := cmpOr(in.LineEnding, "LF")
	switch {
	case in.Operation != "query" && in.Operation != "queryAll":
		s.restError(c, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Invalid operation: "+in.Operation)
		return
	case in.ContentType != "" && in.ContentType != "CSV":
		s.restError(c, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Invalid contentType: "+in.ContentType)
		return
	case bulkDelimiters[delim] == "":
		s.restError(c, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Invalid columnDelimiter: "+delim)
		return
	case ending != "LF" && ending != "CRLF":
		s.restError(c, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : Invalid lineEnding: "+ending)
		return
	}
	if strings.TrimSpace(in.Query) == "" {
		s.restError(c, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
		return
	}
	q, err := parseSOQL(in.Query)
	if err == nil {
		err = s.resolve(q)
	}
	if err != nil {
		s.restError(c, http.StatusBadRequest, err.code, err.render(in.Query))
		return
	}
	now := c.now.UTC().Truncate(time.Second)
	j := &bulkJob{id: s.newID("750"), operation: in.Operation, object: q.object, query: q, version: c.version,
		created: now, modified: now, state: "UploadComplete", lineEnding: ending, delimiter: delim}
	s.jobs[j.id] = j
	s.writeJSON(c, http.StatusOK, s.jobJSON(j, false))
}

func (s *Server) findJob(c *exchange, rawID string) *bulkJob {
	id, _ := normalizeID(rawID)
	j := s.jobs[id]
	if j == nil {
		// https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm (404 body)
		s.restError(c, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
	return j
}

// bulkStatus serves GET /jobs/query/<id>. The job is InProgress until the
// Options.BulkPollsToComplete-th poll, which finds it JobComplete (or
// Failed, after FailNextBulkJobs); its results are the query's rows at that
// moment.
func (s *Server) bulkStatus(c *exchange, rawID string) {
	j := s.findJob(c, rawID)
	if j == nil {
		return
	}
	if j.state == "UploadComplete" || j.state == "InProgress" {
		j.polls++
		now := c.now.UTC().Truncate(time.Second)
		switch {
		case j.polls < s.opts.BulkPollsToComplete:
			if j.state != "InProgress" {
				j.state, j.modified = "InProgress", now
			}
		case len(s.failJobs) > 0:
			j.state, j.modified, j.errorMessage = "Failed", now, s.failJobs[0]
			s.failJobs = s.failJobs[1:]
		default:
			j.header = j.query.fields
			for _, r := range s.run(j.query, j.operation == "queryAll") {
				row := make([]string, len(j.query.fields))
				for i, f := range j.query.fields {
					row[i] = textOf(r.value(f))
				}
				j.rows = append(j.rows, row)
			}
			j.state, j.modified = "JobComplete", now
		}
	}
	s.writeJSON(c, http.StatusOK, s.jobJSON(j, true))
}

// bulkResults serves GET /jobs/query/<id>/results?maxRecords=N&locator=L:
// CSV (every value quoted, nulls empty), the header row on every set, with
// Sforce-NumberOfRecords and Sforce-Locator ("null" on the last set). The
// locator is an opaque string the client must only echo back. Before
// JobComplete the answer is 412 JOB_NOT_COMPLETE, as an older version of
// the page shows (the current one shows no error body).
// https://developer.salesforce.com/docs/atlas.ja-jp.222.0.api_bulk_v2.meta/api_bulk_v2/query_get_job_results.htm
func (s *Server) bulkResults(c *exchange, rawID string) {
	j := s.findJob(c, rawID)
	if j == nil {
		return
	}
	if j.state != "JobComplete" {
		status := map[string]string{"UploadComplete": "UPLOAD_COMPLETE", "InProgress": "IN_PROGRESS", "Failed": "FAILED"}[j.state]
		s.restError(c, http.StatusPreconditionFailed, "JOB_NOT_COMPLETE",
			"can only download query results of successfully completed bulk job with status: JOB_COMPLETE. Current status: "+status)
		return
	}
	q := c.r.URL.Query()
	size := len(j.rows)
	if s.opts.BulkPageSize > 0 {
		size = s.opts.BulkPageSize
	}
	if v := q.Get("maxRecords"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			size = n
		}
	}
	offset := 0
	if loc := q.Get("locator"); loc != "" {
		raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(loc, "="))
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 || n > len(j.rows) {
			s.restError(c, http.StatusBadRequest, "INVALID_LOCATOR", "The locator is invalid.")
			return
		}
		offset = n
	}
	end := min(offset+max(size, 1), len(j.rows))
	sep, eol := bulkDelimiters[j.delimiter], "\n"
	if j.lineEnding == "CRLF" {
		eol = "\r\n"
	}
	var b strings.Builder
	writeCSVRow(&b, j.header, sep, eol)
	for _, row := range j.rows[offset:end] {
		writeCSVRow(&b, row, sep, eol)
	}
	next := "null"
	if end < len(j.rows) {
		next = base64.RawStdEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/csv")
	h.Set("Sforce-Locator", next)
	h.Set("Sforce-NumberOfRecords", strconv.Itoa(end-offset))
	c.w.WriteHeader(http.StatusOK)
	c.w.Write([]byte(b.String()))
}

func writeCSVRow(b *strings.Builder, cells []string, sep, eol string) {
	for i, cell := range cells {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(cell, `"`, `""`))
		b.WriteByte('"')
	}
	b.WriteString(eol)
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
