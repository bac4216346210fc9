package hubspot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/crmops/crmops/internal/crm"
)

// CompareAndSet applies each request with compare-and-swap, as strongly as
// HubSpot allows, and reports one Result per request.
//
// For each object in the call it reads the current values in one batch
// read (100 records per request) and judges every request against them,
// in the embedded CRM's order: a value that already equals After is
// AlreadyApplied (so a re-run after a crash is safe); a record merged into
// another is Stale; a value other than Before is Stale, with Observed set
// to it; a missing record is Failed. The rest are written right away with
// batch update, several fields of one record in one input, 100 inputs per
// request, "" clearing a property.
// https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/batch/update-contacts
//
// Outcomes of the write:
//
//   - 200: every input is Applied.
//   - 207 Multi-Status: the inputs named in errors (context.ids or id) are
//     Failed with HubSpot's category, message and correlation id; the
//     inputs in results are Applied. HubSpot documents 207 for batch create
//     with objectWriteTraceId; it is handled here too in case batch update
//     answers that way.
//     https://developers.hubspot.com/docs/api-reference/error-handling
//   - 4xx for the whole batch (e.g. 400 VALIDATION_ERROR for one invalid
//     option): HubSpot rejects the batch and names the property but not the
//     record, so the batch is split in halves, each re-read and re-judged,
//     until the offending input fails alone.
//   - 5xx, a timeout or a broken connection: the outcome is unknown and the
//     request is not sent again. The values are read back: one that now
//     equals After is Applied, one still equal to Before is written again
//     (up to MaxAttempts writes), anything else is Stale.
//
// The records are taken 100 at a time, each group read, judged and written
// on its own; up to Config.MaxInFlight groups are in progress at once (so
// that the rate limit, not the network's latency, bounds the throughput),
// every request still admitted by the client's one rate limiter. Results are
// in the order of reqs whatever order the groups finish in.
//
// Requests that set the same field of the same record are applied in order,
// each in its own read-then-write round, so each is judged against the
// value the previous one left.
//
// The remaining race: HubSpot has no conditional update, so a change made
// by someone else between the read and the write of a round (typically
// well under a second) is overwritten, and its value is not what Observed
// reports. The error is for failures of the whole call (authentication,
// scopes, the rate limit not clearing, a cancelled context); the results
// are then nil, and a re-run finds the writes made so far AlreadyApplied.
func (c *Client) CompareAndSet(ctx context.Context, reqs []crm.SetRequest) ([]crm.Result, error) {
	results := make([]crm.Result, len(reqs))
	type key struct{ object, record, field string }
	round := make([]int, len(reqs))
	seen := map[key]int{}
	rounds := 0
	for i, r := range reqs {
		if msg := invalidSet(r); msg != "" {
			results[i] = crm.Result{Status: crm.Failed, Error: msg}
			round[i] = -1
			continue
		}
		k := key{r.Object, r.Record, r.Field}
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
			if _, ok := byObject[r.Object]; !ok {
				objects = append(objects, r.Object)
			}
			byObject[r.Object] = append(byObject[r.Object], i)
		}
		// Each chunk (at most 100 records of one object) is its own
		// read-judge-write round; chunks touch disjoint records and result
		// slots, so they run side by side, every request still passing the
		// one rate limiter.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(c.inFlight)
		for _, o := range objects {
			for _, idxs := range chunkByRecord(byObject[o], reqs) {
				g.Go(func() error { return c.compareAndSet(gctx, o, idxs, reqs, results) })
			}
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// chunkByRecord splits the requests idxs into groups that cover at most
// maxBatch records each (one batch read, one batch update), keeping the
// records in order of first appearance and each record's requests together.
func chunkByRecord(idxs []int, reqs []crm.SetRequest) [][]int {
	var records []string
	byRecord := map[string][]int{}
	for _, i := range idxs {
		id := reqs[i].Record
		if _, ok := byRecord[id]; !ok {
			records = append(records, id)
		}
		byRecord[id] = append(byRecord[id], i)
	}
	var chunks [][]int
	for start := 0; start < len(records); start += maxBatch {
		var chunk []int
		for _, id := range records[start:min(start+maxBatch, len(records))] {
			chunk = append(chunk, byRecord[id]...)
		}
		chunks = append(chunks, chunk)
	}
	return chunks
}

func invalidSet(r crm.SetRequest) string {
	switch {
	case r.Object == "" || r.Record == "":
		return "empty object or record id"
	case r.Field == "":
		return "empty field name"
	case r.Field == "id" || r.Field == "hs_object_id":
		return fmt.Sprintf("field %q is the record id and cannot be written as a field", r.Field)
	case r.Field == mergedIDsProperty:
		return fmt.Sprintf("field %q is read-only in HubSpot", r.Field)
	}
	return ""
}

// compareAndSet runs read-judge-write rounds for the requests idxs of one
// object (no two of them set the same field of the same record) until every
// one has a result.
func (c *Client) compareAndSet(ctx context.Context, object string, idxs []int, reqs []crm.SetRequest, results []crm.Result) error {
	// tried holds the value each written request replaced, for requests whose
	// write HubSpot has not confirmed yet.
	tried := map[int]string{}
	lastErr := ""
	todo := idxs
	for attempt := 0; ; attempt++ {
		var ids, props []string
		seenID, seenProp := map[string]bool{}, map[string]bool{}
		for _, i := range todo {
			if r := reqs[i]; !seenID[r.Record] {
				seenID[r.Record] = true
				ids = append(ids, r.Record)
			}
			if f := reqs[i].Field; !seenProp[f] {
				seenProp[f] = true
				props = append(props, f)
			}
		}
		current, err := c.Get(ctx, object, ids, props)
		if err != nil {
			return err
		}
		var writes []int
		for _, i := range todo {
			r := reqs[i]
			rec, found := current[r.Record]
			cur := rec.Fields[r.Field]
			before, wasTried := tried[i]
			switch {
			case wasTried && found && cur == r.After:
				// Our unconfirmed write landed.
				results[i] = crm.Result{Status: crm.Applied, Observed: before}
			case wasTried && !found:
				results[i] = crm.Result{Status: crm.Failed, Observed: before,
					Error: fmt.Sprintf("record disappeared while HubSpot had not confirmed the write (%s)", lastErr)}
			case wasTried && cur != before:
				results[i] = crm.Result{Status: crm.Stale, Observed: cur,
					Error: fmt.Sprintf("expected %q, found %q after an unconfirmed write (%s)", before, cur, lastErr)}
			case wasTried && attempt >= c.maxAttempts:
				results[i] = crm.Result{Status: crm.Failed, Observed: before,
					Error: fmt.Sprintf("not written after %d attempts: %s", attempt, lastErr)}
			case wasTried:
				writes = append(writes, i) // still the old value: the write did not land
			case !found:
				results[i] = crm.Result{Status: crm.Failed, Error: crm.ErrNotFound.Error()}
			case cur == r.After:
				results[i] = crm.Result{Status: crm.AlreadyApplied, Observed: cur}
			case rec.MergedInto != "":
				results[i] = crm.Result{Status: crm.Stale, Observed: cur,
					Error: fmt.Sprintf("record was merged into %s", rec.MergedInto)}
			case cur != r.Before:
				results[i] = crm.Result{Status: crm.Stale, Observed: cur,
					Error: fmt.Sprintf("expected %q, found %q", r.Before, cur)}
			default:
				tried[i] = cur
				writes = append(writes, i)
			}
		}
		if len(writes) == 0 {
			return nil
		}
		unknown, why, err := c.update(ctx, object, writes, reqs, tried, results)
		if err != nil {
			return err
		}
		if len(unknown) == 0 {
			return nil
		}
		todo, lastErr = unknown, why
	}
}

type updateInput struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	idxs       []int
}

// update writes the requests writes with batch update and records the
// result of every request whose outcome the answer settles. It returns the
// requests whose outcome is unknown, and why.
func (c *Client) update(ctx context.Context, object string, writes []int, reqs []crm.SetRequest, tried map[int]string, results []crm.Result) (unknown []int, why string, err error) {
	var inputs []*updateInput
	byRecord := map[string]*updateInput{}
	for _, i := range writes {
		r := reqs[i]
		in := byRecord[r.Record]
		if in == nil {
			in = &updateInput{ID: r.Record, Properties: map[string]string{}}
			byRecord[r.Record] = in
			inputs = append(inputs, in)
		}
		in.Properties[r.Field] = r.After
		in.idxs = append(in.idxs, i)
	}
	for start := 0; start < len(inputs); start += maxBatch {
		chunk := inputs[start:min(start+maxBatch, len(inputs))]
		out, header, err := c.batchUpdate(ctx, object, chunk)
		switch {
		case err == nil:
			confirmed := map[string]bool{}
			for _, r := range out.Results {
				confirmed[r.ID] = true
			}
			failed := map[string]string{}
			unmapped := ""
			for _, e := range out.Errors {
				text := describe(e.Category, c.redact(e.Message), cmp.Or(e.CorrelationID, correlationHeader(header)))
				ids := e.ids()
				if len(ids) == 0 {
					unmapped = text
				}
				for _, id := range ids {
					failed[id] = text
				}
			}
			for _, in := range chunk {
				switch text, bad := failed[in.ID]; {
				case bad:
					for _, i := range in.idxs {
						results[i] = crm.Result{Status: crm.Failed, Observed: tried[i], Error: text}
					}
				case confirmed[in.ID]:
					for _, i := range in.idxs {
						results[i] = crm.Result{Status: crm.Applied, Observed: tried[i]}
					}
				default:
					// Neither confirmed nor named in an error: read it back.
					unknown = append(unknown, in.idxs...)
					why = cmp.Or(unmapped, fmt.Sprintf("HubSpot's answer did not mention record %s", in.ID))
				}
			}
		case isUnknownOutcome(err):
			for _, in := range chunk {
				unknown = append(unknown, in.idxs...)
			}
			why = err.Error()
			c.logf("batch update of %d %s: %s; reading the values back", len(chunk), object, why)
		case rejected(err):
			var e *APIError
			errors.As(err, &e)
			if len(chunk) == 1 {
				for _, i := range chunk[0].idxs {
					results[i] = crm.Result{Status: crm.Failed, Observed: tried[i], Error: e.detail()}
				}
				continue
			}
			// Find the input HubSpot objects to: split, re-read, re-judge.
			c.logf("batch update of %d %s rejected (%s); splitting it", len(chunk), object, e.detail())
			half := len(chunk) / 2
			for _, part := range [][]*updateInput{chunk[:half], chunk[half:]} {
				var idxs []int
				for _, in := range part {
					idxs = append(idxs, in.idxs...)
				}
				if err := c.compareAndSet(ctx, object, idxs, reqs, results); err != nil {
					return nil, "", err
				}
			}
		default:
			return nil, "", err
		}
	}
	return unknown, why, nil
}

// rejected reports an error answer that refuses this request only: a 4xx
// other than 401 (bad token), 403 (missing scope) and 429 (rate limit,
// already waited out), which would fail every request alike.
func rejected(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	return e.Status >= 400 && e.Status < 500 &&
		e.Status != http.StatusForbidden && e.Status != http.StatusTooManyRequests
}

func (c *Client) batchUpdate(ctx context.Context, object string, inputs []*updateInput) (*batchResponse, http.Header, error) {
	req := request{method: http.MethodPost, path: objectPath(object, "batch", "update"),
		body: struct {
			Inputs []*updateInput `json:"inputs"`
		}{inputs}, write: true}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	var out batchResponse
	if err := json.Unmarshal(resp.body, &out); err != nil {
		// A 2xx we cannot read: the change may well have been made.
		return nil, nil, &unknownOutcomeError{cause: fmt.Sprintf("%s: unreadable answer: %v", req, err)}
	}
	return &out, resp.header, nil
}

// Merge merges each loser into its survivor with POST
// /crm/v3/objects/{object}/merge {primaryObjectId, objectIdToMerge}, one
// request at a time.
// https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/merge-contacts
//
// Before merging it reads both ids (batch read, falling back to GET by id
// for an id batch read does not return, since HubSpot documents that
// fetching an old id returns the merged record). An id that now resolves to
// another record was merged away: a loser that resolves to the same record
// as the survivor means the merge already happened and is AlreadyApplied,
// with Observed the id both now resolve to. Detecting this relies on HubSpot
// resolving old ids and listing them in hs_merged_object_ids on the merged
// record.
// https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies
//
// Since that change, merging contacts or companies creates a new record with
// a new id that both old ids resolve to; the survivor's old id then stands
// for a merged record, so later set changes addressed to it are Stale
// ("record was merged into <new id>"), like any change to a merged record.
//
// A loser merged into something else, or a survivor merged away, is Stale; a
// missing id is Failed; a merge HubSpot refuses (4xx) is Failed with its
// category and correlation id. Applied results have Observed "" (the loser
// was live). A merge whose answer is lost (5xx, timeout) is read back: done
// is Applied, not done is tried again (up to MaxAttempts).
func (c *Client) Merge(ctx context.Context, reqs []crm.MergeRequest) ([]crm.Result, error) {
	results := make([]crm.Result, len(reqs))
	for i, r := range reqs {
		res, err := c.merge(ctx, r)
		if err != nil {
			return nil, err
		}
		results[i] = res
	}
	return results, nil
}

// side is what one id of a merge resolves to.
type side struct {
	id      string
	into    string // the record it was merged into, "" if live
	missing bool
}

func (s side) resolved() string { return cmp.Or(s.into, s.id) }

func (c *Client) merge(ctx context.Context, r crm.MergeRequest) (crm.Result, error) {
	switch {
	case r.Object == "" || r.Survivor == "" || r.Loser == "":
		return crm.Result{Status: crm.Failed, Error: "empty object, survivor or loser id"}, nil
	case r.Survivor == r.Loser:
		return crm.Result{Status: crm.Failed, Error: "cannot merge a record into itself"}, nil
	}
	tried, lastErr := false, ""
	for attempt := 0; ; attempt++ {
		survivor, loser, err := c.resolvePair(ctx, r)
		if err != nil {
			return crm.Result{}, err
		}
		switch {
		case loser.missing:
			return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("record %s to merge: %v", r.Loser, crm.ErrNotFound)}, nil
		case survivor.missing:
			return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("survivor %s: %v", r.Survivor, crm.ErrNotFound)}, nil
		case loser.into != "" && loser.into == survivor.resolved():
			if tried {
				return crm.Result{Status: crm.Applied}, nil // our unconfirmed merge landed
			}
			return crm.Result{Status: crm.AlreadyApplied, Observed: loser.into}, nil
		case loser.into != "":
			return crm.Result{Status: crm.Stale, Observed: loser.into,
				Error: fmt.Sprintf("record %s was merged into %s", r.Loser, loser.into)}, nil
		case survivor.into != "":
			return crm.Result{Status: crm.Stale,
				Error: fmt.Sprintf("survivor %s was merged into %s", r.Survivor, survivor.into)}, nil
		case tried && attempt >= c.maxAttempts:
			return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("not merged after %d attempts: %s", attempt, lastErr)}, nil
		}
		tried = true
		merged, err := c.postMerge(ctx, r)
		switch {
		case err == nil:
			c.logf("merged %s/%s into %s: the merged record is %s", r.Object, r.Loser, r.Survivor, merged)
			return crm.Result{Status: crm.Applied}, nil
		case isUnknownOutcome(err):
			lastErr = err.Error()
			c.logf("merge %s/%s into %s: %s; reading it back", r.Object, r.Loser, r.Survivor, lastErr)
		case rejected(err):
			var e *APIError
			errors.As(err, &e)
			return crm.Result{Status: crm.Failed, Error: e.detail()}, nil
		default:
			return crm.Result{}, err
		}
	}
}

// resolvePair finds what the survivor and loser ids stand for now.
func (c *Client) resolvePair(ctx context.Context, r crm.MergeRequest) (survivor, loser side, err error) {
	recs, err := c.Get(ctx, r.Object, []string{r.Survivor, r.Loser}, []string{})
	if err != nil {
		return side{}, side{}, err
	}
	resolve := func(id string) (side, error) {
		if rec, ok := recs[id]; ok {
			return side{id: id, into: rec.MergedInto}, nil
		}
		obj, ok, err := c.getOne(ctx, r.Object, id, []string{mergedIDsProperty})
		switch {
		case err != nil:
			return side{}, err
		case !ok:
			return side{id: id, missing: true}, nil
		case obj.ID != id:
			return side{id: id, into: obj.ID}, nil
		}
		return side{id: id}, nil
	}
	if survivor, err = resolve(r.Survivor); err != nil {
		return side{}, side{}, err
	}
	if loser, err = resolve(r.Loser); err != nil {
		return side{}, side{}, err
	}
	return survivor, loser, nil
}

// postMerge merges and returns the id of the merged record.
func (c *Client) postMerge(ctx context.Context, r crm.MergeRequest) (string, error) {
	req := request{method: http.MethodPost, path: objectPath(r.Object, "merge"),
		body: struct {
			PrimaryObjectID string `json:"primaryObjectId"`
			ObjectIDToMerge string `json:"objectIdToMerge"`
		}{r.Survivor, r.Loser}, write: true}
	resp, err := c.do(ctx, req)
	if err != nil {
		return "", err
	}
	var obj hsObject
	_ = json.Unmarshal(resp.body, &obj) // the id is only logged
	return obj.ID, nil
}
