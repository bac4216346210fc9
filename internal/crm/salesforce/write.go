package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/crm"
)

// maxCollection is the most records one sObject Collections request may
// carry: "The list can contain up to 200 objects."
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
const maxCollection = 200

// saveError is an Error of a SaveResult (also of MergeResult and
// UndeleteResult): {statusCode, message, fields}.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm (Error)
type saveError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func saveErrorsText(errs []saveError) string {
	if len(errs) == 0 {
		return "Salesforce reported a failure without an error"
	}
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = describeError(e.StatusCode, e.Message, e.Fields)
	}
	return strings.Join(parts, "; ")
}

// saveResult is one element of an sObject Collections answer.
type saveResult struct {
	ID      string      `json:"id"`
	Success bool        `json:"success"`
	Errors  []saveError `json:"errors"`
}

// CompareAndSet applies each request with compare-and-swap and reports one
// Result per request.
//
// For each object in the call it reads the current values with queryAll
// (about 250 records a call) and judges every request against them, in the
// embedded CRM's order: a record that does not exist, or was deleted
// (Recycle Bin), is Failed; a value that already equals After is
// AlreadyApplied (so a re-run after a crash is safe); a record merged away
// is Stale; a value other than Before is Stale with Observed set to it. The
// rest are written.
//
// Default mode writes with sObject Collections, PATCH
// /services/data/vXX.X/composite/sobjects {allOrNone: false, records: [...]},
// 200 records a call, all the fields of one record in one record entry, ""
// sent as null (which clears the field). Each SaveResult comes back in the
// order of the records: a success makes its requests Applied; an error
// makes them Failed with Salesforce's statusCode, message and fields, and
// fails only that record. When a record with several fields fails, the
// fields the error names fail and the others are tried again on their own,
// one field per call, so that one bad value does not fail its neighbours. A
// whole request Salesforce refuses (400) is split in halves, re-read and
// re-judged, until the offending record fails alone. A 5xx or lost answer
// is sent again as it was: setting the same values twice is harmless.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
//
// The race window of default mode: Salesforce has no conditional
// collections update, so a change made by someone else between the read
// and the write of a chunk (typically well under a second; longer when a
// write is retried) is overwritten, and its value is not what Observed
// reports. StrictCAS closes that window at about one API call per record
// (see compareAndSetStrict).
//
// Requests that set the same field of the same record are applied in order,
// each in its own read-then-write round. The error is for failures of the
// whole call (credentials, the API allowance, Salesforce unreachable, a
// cancelled context); the results are then nil, and a re-run finds the
// writes made so far AlreadyApplied.
func (c *Client) CompareAndSet(ctx context.Context, reqs []crm.SetRequest) ([]crm.Result, error) {
	results := make([]crm.Result, len(reqs))
	type key struct{ object, record, field string }
	round := make([]int, len(reqs))
	seen := map[key]int{}
	ids := make([]string, len(reqs)) // canonical
	rounds := 0
	for i, r := range reqs {
		id, msg := invalidSet(r)
		if msg != "" {
			results[i] = crm.Result{Status: crm.Failed, Error: msg}
			round[i] = -1
			continue
		}
		ids[i] = id
		k := key{strings.ToLower(r.Object), id, strings.ToLower(r.Field)}
		round[i] = seen[k]
		seen[k]++
		rounds = max(rounds, round[i]+1)
	}
	for rd := range rounds {
		var objects []string
		byObject := map[string][]int{}
		for i, r := range reqs {
			if round[i] != rd {
				continue
			}
			o := strings.ToLower(r.Object)
			if _, ok := byObject[o]; !ok {
				objects = append(objects, o)
			}
			byObject[o] = append(byObject[o], i)
		}
		for _, o := range objects {
			idxs := byObject[o]
			object := reqs[idxs[0]].Object
			var err error
			if c.strict {
				err = c.compareAndSetStrict(ctx, object, idxs, ids, reqs, results)
			} else {
				err = c.compareAndSet(ctx, object, idxs, ids, reqs, results)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return results, nil
}

// invalidSet returns the canonical record id, or why the request cannot be
// sent at all.
func invalidSet(r crm.SetRequest) (string, string) {
	switch {
	case r.Object == "" || r.Record == "":
		return "", "empty object or record id"
	case r.Field == "":
		return "", "empty field name"
	case !reName.MatchString(r.Object):
		return "", fmt.Sprintf("%q is not a Salesforce object API name (like Contact or Invoice__c)", r.Object)
	case !reName.MatchString(r.Field):
		return "", fmt.Sprintf("%q is not a Salesforce field API name (like Email or Region__c)", r.Field)
	case isSystemField(r.Field):
		return "", fmt.Sprintf("field %s is set by Salesforce and cannot be written", r.Field)
	}
	id, ok := canonicalID(strings.TrimSpace(r.Record))
	if !ok {
		return "", fmt.Sprintf("%q is not a Salesforce record Id (15 or 18 letters and digits)", r.Record)
	}
	return id, ""
}

// judge decides a request against the record as read: a result, or write.
func judge(r crm.SetRequest, rec *record) (res crm.Result, write bool) {
	if rec == nil {
		return crm.Result{Status: crm.Failed, Error: crm.ErrNotFound.Error()}, false
	}
	cur := rec.fields[r.Field]
	switch into := rec.mergedInto(); {
	case rec.deleted && into == "":
		return crm.Result{Status: crm.Failed, Observed: cur,
			Error: "record was deleted in Salesforce (it is in the Recycle Bin)"}, false
	case cur == r.After:
		return crm.Result{Status: crm.AlreadyApplied, Observed: cur}, false
	case into != "":
		return crm.Result{Status: crm.Stale, Observed: cur, Error: "record was merged into " + into}, false
	case cur != r.Before:
		return crm.Result{Status: crm.Stale, Observed: cur, Error: fmt.Sprintf("expected %q, found %q", r.Before, cur)}, false
	}
	return crm.Result{Observed: cur}, true
}

// readFor reads the records and fields the requests idxs need, and returns
// the requests still to judge. A field Salesforce does not know (400
// INVALID_FIELD for the whole query) fails only the requests that name it:
// the bad fields are found by halving the field list, and the rest are
// read again without them.
func (c *Client) readFor(ctx context.Context, object string, idxs []int, ids []string, reqs []crm.SetRequest, results []crm.Result, withModified bool) (map[string]*record, []int, error) {
	var recIDs, fields []string
	for _, i := range idxs {
		if !slices.Contains(recIDs, ids[i]) {
			recIDs = append(recIDs, ids[i])
		}
		if !slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(f, reqs[i].Field) }) {
			fields = append(fields, reqs[i].Field)
		}
	}
	recs, err := c.read(ctx, object, recIDs, fields, withModified)
	if ae, ok := invalidField(err); ok && len(fields) > 0 {
		bad, err := c.badFields(ctx, object, recIDs[0], fields)
		if err != nil {
			return nil, nil, err
		}
		if len(bad) == 0 {
			return nil, nil, ae // not a field of ours after all
		}
		var rest []int
		for _, i := range idxs {
			if slices.ContainsFunc(bad, func(f string) bool { return strings.EqualFold(f, reqs[i].Field) }) {
				results[i] = crm.Result{Status: crm.Failed,
					Error: fmt.Sprintf("Salesforce INVALID_FIELD: %s has no field %s (or the integration user cannot see it)", object, reqs[i].Field)}
			} else {
				rest = append(rest, i)
			}
		}
		if len(rest) == 0 {
			return map[string]*record{}, nil, nil
		}
		return c.readFor(ctx, object, rest, ids, reqs, results, withModified)
	}
	if err != nil {
		return nil, nil, err
	}
	// Requests may spell a field in another case than the first request did.
	for _, i := range idxs {
		if rec := recs[ids[i]]; rec != nil {
			if _, ok := rec.fields[reqs[i].Field]; !ok {
				rec.fields[reqs[i].Field] = rec.fields[matchField(rec.fields, reqs[i].Field)]
			}
		}
	}
	return recs, idxs, nil
}

func invalidField(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && ae.Code == "INVALID_FIELD" {
		return ae, true
	}
	return nil, false
}

// badFields finds the fields of a query Salesforce refused with
// INVALID_FIELD, by reading one record with halves of the list.
func (c *Client) badFields(ctx context.Context, object, id string, fields []string) ([]string, error) {
	if len(fields) == 1 {
		return fields, nil
	}
	var bad []string
	half := len(fields) / 2
	for _, part := range [][]string{fields[:half], fields[half:]} {
		_, err := c.read(ctx, object, []string{id}, part, false)
		if _, ok := invalidField(err); ok {
			more, err := c.badFields(ctx, object, id, part)
			if err != nil {
				return nil, err
			}
			bad = append(bad, more...)
		} else if err != nil {
			return nil, err
		}
	}
	return bad, nil
}

// entry is one record of a write, with the requests it carries.
type entry struct {
	object string
	id     string
	fields map[string]any // "" is sent as null
	idxs   []int
}

// MarshalJSON writes the record as sObject Collections takes it:
// {"attributes": {"type": "Contact"}, "Id": "003...", "Email": "..."}.
func (e *entry) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(e.fields)+2)
	for k, v := range e.fields {
		m[k] = v
	}
	m["attributes"] = map[string]string{"type": e.object}
	m["Id"] = e.id
	return json.Marshal(m)
}

func entries(object string, idxs []int, ids []string, reqs []crm.SetRequest) []*entry {
	var out []*entry
	byID := map[string]*entry{}
	for _, i := range idxs {
		e := byID[ids[i]]
		if e == nil {
			e = &entry{object: object, id: ids[i], fields: map[string]any{}}
			byID[ids[i]] = e
			out = append(out, e)
		}
		// Values are sent as JSON strings, as crmops holds them; "" is null,
		// which clears the field.
		// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm
		var v any = reqs[i].After
		if reqs[i].After == "" {
			v = nil
		}
		e.fields[reqs[i].Field] = v
		e.idxs = append(e.idxs, i)
	}
	return out
}

// compareAndSet is one read-judge-write pass of default mode over requests
// of one object that set distinct fields.
func (c *Client) compareAndSet(ctx context.Context, object string, idxs []int, ids []string, reqs []crm.SetRequest, results []crm.Result) error {
	recs, idxs, err := c.readFor(ctx, object, idxs, ids, reqs, results, false)
	if err != nil {
		return err
	}
	var writes []int
	for _, i := range idxs {
		res, write := judge(reqs[i], recs[ids[i]])
		results[i] = res
		if write {
			writes = append(writes, i)
		}
	}
	if len(writes) == 0 {
		return nil
	}
	all := entries(object, writes, ids, reqs)
	var again []int
	for start := 0; start < len(all); start += maxCollection {
		chunk := all[start:min(start+maxCollection, len(all))]
		out, err := c.collections(ctx, object, chunk)
		var e *APIError
		switch {
		case err == nil:
			for j, en := range chunk {
				if out[j].Success {
					for _, i := range en.idxs {
						results[i] = crm.Result{Status: crm.Applied, Observed: results[i].Observed}
					}
					continue
				}
				again = append(again, failEntry(en, out[j].Errors, reqs, results)...)
			}
		case errors.As(err, &e) && rejected(e):
			if len(chunk) == 1 {
				again = append(again, failEntry(chunk[0], []saveError{{e.Code, e.Message, e.Fields}}, reqs, results)...)
				continue
			}
			// Salesforce refused the whole request and named no record: split
			// it, re-read and re-judge each half.
			c.logf("updating %d %s records was refused (%s); splitting the request", len(chunk), object, e.detail())
			half := len(chunk) / 2
			for _, part := range [][]*entry{chunk[:half], chunk[half:]} {
				var sub []int
				for _, en := range part {
					sub = append(sub, en.idxs...)
				}
				if err := c.compareAndSet(ctx, object, sub, ids, reqs, results); err != nil {
					return err
				}
			}
		default:
			return err
		}
	}
	return c.retrySingly(ctx, object, again, ids, reqs, results, c.compareAndSet)
}

// failEntry records the failure of a record entry and returns the requests
// to try again on their own: when the entry carried several fields, those
// the errors name fail, and the others (all of them, if none is named) are
// tried again one field per call, so that one bad value fails only its own
// change.
func failEntry(e *entry, errs []saveError, reqs []crm.SetRequest, results []crm.Result) []int {
	text := saveErrorsText(errs)
	if len(e.idxs) == 1 {
		i := e.idxs[0]
		results[i] = crm.Result{Status: crm.Failed, Observed: results[i].Observed, Error: text}
		return nil
	}
	named := map[string]bool{}
	for _, se := range errs {
		for _, f := range se.Fields {
			named[strings.ToLower(f)] = true
		}
	}
	var again []int
	for _, i := range e.idxs {
		if named[strings.ToLower(reqs[i].Field)] {
			results[i] = crm.Result{Status: crm.Failed, Observed: results[i].Observed, Error: text}
		} else {
			again = append(again, i)
		}
	}
	return again
}

// retrySingly runs pass over the requests again, at most one per record per
// call of pass (each re-reads, re-judges and writes).
func (c *Client) retrySingly(ctx context.Context, object string, again []int, ids []string, reqs []crm.SetRequest, results []crm.Result,
	pass func(context.Context, string, []int, []string, []crm.SetRequest, []crm.Result) error) error {
	for len(again) > 0 {
		var now, later []int
		taken := map[string]bool{}
		for _, i := range again {
			if taken[ids[i]] {
				later = append(later, i)
				continue
			}
			taken[ids[i]] = true
			now = append(now, i)
		}
		if err := pass(ctx, object, now, ids, reqs, results); err != nil {
			return err
		}
		again = later
	}
	return nil
}

// rejected reports an error answer that refuses this request only: a 4xx
// other than 403 (a permission or the API allowance), 412 and 429, which
// would fail every request alike or mean something else.
func rejected(e *APIError) bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusForbidden &&
		e.Status != http.StatusPreconditionFailed && e.Status != http.StatusTooManyRequests
}

// collections writes up to 200 records with sObject Collections and returns
// their SaveResults, in the records' order. Sending the same values again
// is harmless, so a 5xx or a lost answer is retried (by do).
func (c *Client) collections(ctx context.Context, object string, chunk []*entry) ([]saveResult, error) {
	body, err := json.Marshal(struct {
		AllOrNone bool     `json:"allOrNone"`
		Records   []*entry `json:"records"`
	}{false, chunk})
	if err != nil {
		return nil, fmt.Errorf("salesforce: encoding %d %s records: %w", len(chunk), object, err)
	}
	req := request{kind: kindCollections, method: http.MethodPatch, path: c.dataPath("composite", "sobjects"),
		body: body, retry: true, what: fmt.Sprintf("writing %d %s records", len(chunk), object)}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var out []saveResult
	if err := json.Unmarshal(resp.body, &out); err != nil || len(out) != len(chunk) {
		return nil, fmt.Errorf("salesforce: %s: unreadable answer (%d results for %d records)", req, len(out), len(chunk))
	}
	for i := range out {
		for j := range out[i].Errors {
			out[i].Errors[j].Message = c.redact(out[i].Errors[j].Message)
		}
	}
	return out, nil
}

// compareAndSetStrict is StrictCAS mode: the current values are read with
// each record's LastModifiedDate (queryAll, as in default mode), and each
// record is then written on its own with
//
//	PATCH /services/data/vXX.X/sobjects/<Object>/<Id>
//	If-Unmodified-Since: <LastModifiedDate as an HTTP-date>
//
// which Salesforce refuses with 412 Precondition Failed, changing nothing,
// when the record was modified after that time. The precondition, not the
// age of the read, is what protects the write, so the read is batched.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_conditional_requests.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm
//
//   - 204 No Content: the requests are Applied.
//   - 412: the record is read again. A value now equal to After is
//     AlreadyApplied (someone else made the same change); one other than
//     Before is Stale; one still equal to Before (another field changed) is
//     written again with the new LastModifiedDate, up to MaxAttempts times.
//   - 400 with an error: Failed, as in default mode (fields the error names
//     fail, the record's other fields are tried alone).
//   - 5xx or a lost answer: the record is read back; After means the write
//     landed (Applied), Before means it did not and it is sent again.
//
// The validation is weak, as Salesforce calls it: HTTP-dates have whole
// seconds, and LastModifiedDate is kept to the second (.000), so the check
// is exact for Salesforce's own timestamps. It costs about one call per
// record instead of one per 200.
func (c *Client) compareAndSetStrict(ctx context.Context, object string, idxs []int, ids []string, reqs []crm.SetRequest, results []crm.Result) error {
	recs, idxs, err := c.readFor(ctx, object, idxs, ids, reqs, results, true)
	if err != nil {
		return err
	}
	var writes []int
	for _, i := range idxs {
		res, write := judge(reqs[i], recs[ids[i]])
		results[i] = res
		if write {
			writes = append(writes, i)
		}
	}
	var again []int
	for _, e := range entries(object, writes, ids, reqs) {
		more, err := c.patchStrict(ctx, object, e, recs[e.id], ids, reqs, results)
		if err != nil {
			return err
		}
		again = append(again, more...)
	}
	return c.retrySingly(ctx, object, again, ids, reqs, results, c.compareAndSetStrict)
}

// patchStrict writes one record conditionally until its requests have
// results; it returns requests to try again alone (see failEntry).
func (c *Client) patchStrict(ctx context.Context, object string, e *entry, rec *record, ids []string, reqs []crm.SetRequest, results []crm.Result) ([]int, error) {
	observed := map[int]string{} // the value each request replaces
	for _, i := range e.idxs {
		observed[i] = results[i].Observed
	}
	unconfirmed, refused := false, 0
	for attempt := 1; ; attempt++ {
		since, ok := parseModified(rec.modified)
		if !ok {
			for _, i := range e.idxs {
				results[i] = crm.Result{Status: crm.Failed, Observed: observed[i],
					Error: fmt.Sprintf("Salesforce gave no usable LastModifiedDate (%q) for a conditional write", rec.modified)}
			}
			return nil, nil
		}
		err := c.patchRecord(ctx, object, e, since)
		var ae *APIError
		var why string
		switch {
		case err == nil:
			for _, i := range e.idxs {
				results[i] = crm.Result{Status: crm.Applied, Observed: observed[i]}
			}
			return nil, nil
		case errors.As(err, &ae) && ae.Status == http.StatusPreconditionFailed:
			refused++
			why = "the record changed since it was read (412)"
		case isUnknownOutcome(err):
			unconfirmed = true
			why = err.Error()
			c.logf("%s/%s: %s; reading it back", object, e.id, why)
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			why = ae.detail() // deleted or merged meanwhile: the re-read tells
		case errors.As(err, &ae) && rejected(ae):
			return failEntry(e, []saveError{{ae.Code, ae.Message, ae.Fields}}, reqs, results), nil
		default:
			return nil, err
		}
		recs, left, err := c.readFor(ctx, object, e.idxs, ids, reqs, results, true)
		if err != nil {
			return nil, err
		}
		rec = recs[e.id]
		var still []int
		for _, i := range left {
			res, write := judge(reqs[i], rec)
			switch {
			case res.Status == crm.AlreadyApplied && unconfirmed:
				results[i] = crm.Result{Status: crm.Applied, Observed: observed[i]} // ours landed
			case !write:
				results[i] = res
			case attempt >= c.maxAttempts:
				results[i] = crm.Result{Status: crm.Stale, Observed: res.Observed,
					Error: fmt.Sprintf("not written after %d conditional attempts (%d refused because the record kept changing): %s", attempt, refused, why)}
			default:
				still = append(still, i)
			}
		}
		if len(still) == 0 {
			return nil, nil
		}
		e = entries(object, still, ids, reqs)[0]
	}
}

// patchRecord sends one conditional sObject Rows update; nil means 204.
// It is not retried by do: a lost answer is settled by reading back.
func (c *Client) patchRecord(ctx context.Context, object string, e *entry, since time.Time) error {
	body, err := json.Marshal(e.fields)
	if err != nil {
		return fmt.Errorf("salesforce: encoding %s/%s: %w", object, e.id, err)
	}
	req := request{kind: kindSinglePatch, method: http.MethodPatch, path: c.dataPath("sobjects", object, e.id),
		header: http.Header{"If-Unmodified-Since": {since.UTC().Format(http.TimeFormat)}},
		body:   body, what: fmt.Sprintf("writing %s %s", object, e.id)}
	_, err = c.do(ctx, req)
	return err
}

// parseModified reads a dateTime as Salesforce writes it
// (2024-01-31T12:00:00.000+0000).
func parseModified(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05.000Z0700", time.RFC3339Nano, "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
