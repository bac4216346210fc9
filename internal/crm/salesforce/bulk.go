package salesforce

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/crm"
)

// bulkList lists records with a Bulk API 2.0 query job and calls fn for
// each in Id order:
//
//  1. POST /services/data/vXX.X/jobs/query {operation: query, query,
//     contentType: CSV}: the job starts (state UploadComplete).
//     https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
//  2. GET /jobs/query/<id> until the state is JobComplete, waiting 1 s, 2 s,
//     4 s ... (at most 30 s) between polls, for at most Config.BulkTimeout;
//     Failed or Aborted ends the listing with the job's errorMessage.
//     https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm
//  3. GET /jobs/query/<id>/results?maxRecords=N, then again with
//     &locator=<Sforce-Locator> until Sforce-Locator is "null". Each page is
//     CSV with a header row, read with encoding/csv; empty cells are "" (Bulk
//     API 2.0 writes null as an empty value).
//     https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
//
// The query has no ORDER BY: Salesforce advises against ORDER BY and LIMIT
// in bulk queries, which disable PK chunking and risk time-outs. The records
// are sorted by Id here instead, which means they are all held in memory
// before the first is passed on.
func (c *Client) bulkList(ctx context.Context, object, soql string, want []string, fn func(crm.Record) error) error {
	body, _ := json.Marshal(map[string]string{
		"operation": "query", "query": soql, "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF",
	})
	what := "starting a Bulk API 2.0 query of " + object
	resp, err := c.do(ctx, request{kind: kindBulkCreate, method: http.MethodPost, path: c.dataPath("jobs", "query"),
		// A job whose answer was lost is only a wasted job: nothing is written.
		body: body, retry: true, what: what})
	if err != nil {
		return err
	}
	var job struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := json.Unmarshal(resp.body, &job); err != nil || !isID(job.ID) {
		return fmt.Errorf("salesforce: POST %s: unreadable answer", c.dataPath("jobs", "query"))
	}
	if err := c.waitForJob(ctx, object, job.ID); err != nil {
		return err
	}
	var records []crm.Record
	locator := ""
	for page := 1; ; page++ {
		q := url.Values{"maxRecords": {strconv.Itoa(c.bulkPage)}}
		if locator != "" {
			q.Set("locator", locator)
		}
		req := request{kind: kindBulkResults, method: http.MethodGet, path: c.dataPath("jobs", "query", job.ID, "results"),
			query: q, header: http.Header{"Accept": {"text/csv"}}, retry: true,
			what: fmt.Sprintf("reading page %d of the Bulk API 2.0 results for %s", page, object)}
		resp, err := c.do(ctx, req)
		if err != nil {
			return err
		}
		recs, err := parseBulkCSV(resp.body, want)
		if err != nil {
			return fmt.Errorf("salesforce: %s: %v", req, err)
		}
		records = append(records, recs...)
		locator = strings.TrimSpace(resp.header.Get("Sforce-Locator"))
		if locator == "" || locator == "null" {
			break
		}
	}
	slices.SortFunc(records, func(a, b crm.Record) int { return strings.Compare(a.ID, b.ID) })
	for _, r := range records {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// waitForJob polls a query job until it is JobComplete.
func (c *Client) waitForJob(ctx context.Context, object, id string) error {
	deadline := c.now().Add(c.bulkTimeout)
	wait := time.Second
	for {
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("salesforce: waiting for Bulk API 2.0 job %s: %w", id, err)
		}
		req := request{kind: kindBulkStatus, method: http.MethodGet, path: c.dataPath("jobs", "query", id), retry: true,
			what: fmt.Sprintf("checking Bulk API 2.0 job %s (a query of %s)", id, object)}
		resp, err := c.do(ctx, req)
		if err != nil {
			return err
		}
		var st struct {
			State        string `json:"state"`
			ErrorMessage string `json:"errorMessage"`
		}
		if err := json.Unmarshal(resp.body, &st); err != nil {
			return fmt.Errorf("salesforce: %s: unreadable answer: %v", req, err)
		}
		// Job states: UploadComplete, InProgress, Aborted, JobComplete, Failed.
		// https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm
		switch st.State {
		case "JobComplete":
			return nil
		case "Failed", "Aborted":
			return fmt.Errorf("salesforce: Bulk API 2.0 query job %s of %s ended %s: %s", id, object, st.State, cmp.Or(c.redact(st.ErrorMessage), "no reason given"))
		}
		if !c.now().Before(deadline) {
			return fmt.Errorf("salesforce: Bulk API 2.0 query job %s of %s still %s after %v; it keeps running in Salesforce (Setup > Bulk Data Load Jobs)",
				id, object, st.State, c.bulkTimeout)
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// parseBulkCSV reads one results page: a header row naming the fields,
// then one row per record.
func parseBulkCSV(data []byte, want []string) ([]crm.Record, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = false
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("unreadable CSV: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	idCol, ok := col["id"]
	if !ok {
		return nil, errors.New("the CSV has no Id column")
	}
	var out []crm.Record
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("unreadable CSV: %v", err)
		}
		id, ok := canonicalID(row[idCol])
		if !ok {
			return nil, fmt.Errorf("the CSV has a row whose Id is %q", row[idCol])
		}
		fields := make(map[string]string, len(want))
		for _, f := range want {
			if i, ok := col[strings.ToLower(f)]; ok && i < len(row) {
				fields[f] = row[i]
			}
		}
		out = append(out, crm.Record{ID: id, Fields: liveFields(fields)})
	}
}
