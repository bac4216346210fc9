package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/crmops/crmops/internal/crm"
)

// maxMergeRequests is the most MergeRequests one merge() call may carry,
// and maxMergeLosers the most records one request merges into its master
// ("Up to three records can be merged in a single request, including the
// master record").
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm
const (
	maxMergeRequests = 200
	maxMergeLosers   = 2
)

// maxUndelete is the most ids one undelete() call takes, like the other
// SOAP calls that take a list of records.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_undelete.htm
const maxUndelete = 200

// mergeCheck refuses a merge or unmerge request that cannot be sent, and
// returns the canonical survivor and loser ids.
func mergeCheck(r crm.MergeRequest) (survivor, loser, msg string) {
	switch {
	case r.Object == "" || r.Survivor == "" || r.Loser == "":
		return "", "", "empty object, survivor or loser id"
	case !isMergeable(r.Object):
		return "", "", fmt.Sprintf("Salesforce merges only Lead, Contact, Account (person accounts included) and Individual records (SOAP merge()); %s records cannot be merged", r.Object)
	}
	s, ok1 := canonicalID(strings.TrimSpace(r.Survivor))
	l, ok2 := canonicalID(strings.TrimSpace(r.Loser))
	switch {
	case !ok1:
		return "", "", fmt.Sprintf("survivor %q is not a Salesforce record Id", r.Survivor)
	case !ok2:
		return "", "", fmt.Sprintf("record to merge %q is not a Salesforce record Id", r.Loser)
	case s == l:
		return "", "", "cannot merge a record into itself"
	}
	return s, l, ""
}

// mergeSet is the requests of one call to Merge or Unmerge, with their
// canonical ids.
type mergeSet struct {
	reqs      []crm.MergeRequest
	survivors []string
	losers    []string
	results   []crm.Result
}

// waves cuts the valid requests idxs of one object into runs that can go
// into one call: a request starts a new run when it shares a record with a
// request of the current run other than as the same survivor (merging B
// into A and then A into C must happen in that order).
func (m *mergeSet) waves(idxs []int) [][]int {
	var out [][]int
	var cur []int
	roles := map[string]string{} // id -> "s" or "l" in the current run
	for _, i := range idxs {
		s, l := m.survivors[i], m.losers[i]
		if roles[l] != "" || roles[s] == "l" {
			out = append(out, cur)
			cur, roles = nil, map[string]string{}
		}
		cur = append(cur, i)
		roles[s], roles[l] = "s", "l"
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// byObject groups the requests without a result by object, in order.
func (m *mergeSet) byObject(check func(i int) string) (objects []string, groups map[string][]int) {
	groups = map[string][]int{}
	for i, r := range m.reqs {
		s, l, msg := mergeCheck(r)
		if msg == "" {
			msg = check(i)
		}
		if msg != "" {
			m.results[i] = crm.Result{Status: crm.Failed, Error: msg}
			continue
		}
		m.survivors[i], m.losers[i] = s, l
		o := strings.ToLower(r.Object)
		if _, ok := groups[o]; !ok {
			objects = append(objects, o)
		}
		groups[o] = append(groups[o], i)
	}
	return objects, groups
}

func newMergeSet(reqs []crm.MergeRequest) *mergeSet {
	return &mergeSet{reqs: reqs, survivors: make([]string, len(reqs)), losers: make([]string, len(reqs)),
		results: make([]crm.Result, len(reqs))}
}

// Merge merges each loser into its survivor with the SOAP API's merge():
// Salesforce keeps the survivor (the master record), moves the loser to the
// Recycle Bin with MasterRecordId set to the survivor, and reparents the
// loser's related records to the survivor. Only Lead, Contact, Account and
// Individual records can be merged; other objects are Failed without a
// call.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm
//
// Before merging, both records are read with queryAll: a loser already
// merged into this survivor is AlreadyApplied (Observed the survivor); a
// loser merged elsewhere, or a survivor merged away, is Stale; a missing or
// deleted record is Failed. Losers of the same survivor go two to a
// MergeRequest, up to 200 requests a call. Each request is its own
// transaction; a failed one (its MergeResult's errors) fails its requests,
// and a request of two that failed is tried again as two, so that one bad
// record does not fail its partner. A SOAP fault refuses the whole call
// (nothing is merged): a call of several requests is then tried again one
// request at a time, and a lone request is Failed with the fault
// (ENTITY_IS_DELETED, INVALID_ID_FIELD, ...). A merge is not sent again
// blindly: after a 5xx or a lost answer the records are read back, and a
// merge found done is Applied, one not done is tried again (up to
// MaxAttempts). Applied results have Observed "" (the loser was live).
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge_mergeresult.htm
func (c *Client) Merge(ctx context.Context, reqs []crm.MergeRequest) ([]crm.Result, error) {
	m := newMergeSet(reqs)
	objects, groups := m.byObject(func(int) string { return "" })
	for _, o := range objects {
		for _, wave := range m.waves(groups[o]) {
			if err := c.mergeWave(ctx, reqs[wave[0]].Object, wave, m, false); err != nil {
				return nil, err
			}
		}
	}
	return m.results, nil
}

// judgeMerge decides a merge against the records as read; proceed means
// merge now. tried marks a merge sent before whose outcome was not known.
func judgeMerge(r crm.MergeRequest, survivor, loser *record, tried bool) (res crm.Result, proceed bool) {
	switch {
	case loser == nil:
		return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("record %s to merge: %v", r.Loser, crm.ErrNotFound)}, false
	case survivor == nil:
		return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("survivor %s: %v", r.Survivor, crm.ErrNotFound)}, false
	case loser.mergedInto() == survivor.id && tried:
		return crm.Result{Status: crm.Applied}, false // our unconfirmed merge landed
	case loser.mergedInto() == survivor.id:
		return crm.Result{Status: crm.AlreadyApplied, Observed: survivor.id}, false
	case loser.mergedInto() != "":
		return crm.Result{Status: crm.Stale, Observed: loser.mergedInto(),
			Error: fmt.Sprintf("record %s was merged into %s", r.Loser, loser.mergedInto())}, false
	case loser.deleted:
		return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("record %s to merge was deleted in Salesforce (it is in the Recycle Bin)", r.Loser)}, false
	case survivor.mergedInto() != "":
		return crm.Result{Status: crm.Stale, Error: fmt.Sprintf("survivor %s was merged into %s", r.Survivor, survivor.mergedInto())}, false
	case survivor.deleted:
		return crm.Result{Status: crm.Failed, Error: fmt.Sprintf("survivor %s was deleted in Salesforce (it is in the Recycle Bin)", r.Survivor)}, false
	}
	return crm.Result{}, true
}

// mergeWave merges the requests idxs of one object, none of which depends
// on another. singly sends each loser in its own MergeRequest.
func (c *Client) mergeWave(ctx context.Context, object string, idxs []int, m *mergeSet, singly bool) error {
	tried := map[int]bool{}
	lastErr := ""
	for attempt := 0; ; attempt++ {
		var ids []string
		for _, i := range idxs {
			ids = append(ids, m.survivors[i], m.losers[i])
		}
		recs, err := c.read(ctx, object, dedupeIDs(ids), nil, false)
		if err != nil {
			return err
		}
		var todo []int
		for _, i := range idxs {
			res, proceed := judgeMerge(m.reqs[i], recs[m.survivors[i]], recs[m.losers[i]], tried[i])
			switch {
			case !proceed:
				m.results[i] = res
			case tried[i] && attempt >= c.maxAttempts:
				m.results[i] = crm.Result{Status: crm.Failed, Error: fmt.Sprintf("not merged after %d attempts: %s", attempt, lastErr)}
			default:
				todo = append(todo, i)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		// Group losers of the same survivor, two to a request.
		var groups [][]int
		open := map[string]int{} // survivor -> index in groups of a request with room
		for _, i := range todo {
			if g, ok := open[m.survivors[i]]; ok && !singly && len(groups[g]) < maxMergeLosers {
				groups[g] = append(groups[g], i)
				continue
			}
			groups = append(groups, []int{i})
			open[m.survivors[i]] = len(groups) - 1
		}
		var unknown, split, apart []int
		for start := 0; start < len(groups); start += maxMergeRequests {
			chunk := groups[start:min(start+maxMergeRequests, len(groups))]
			mreqs := make([]mergeRequest, len(chunk))
			for j, g := range chunk {
				mreqs[j] = mergeRequest{object: object, master: m.survivors[g[0]]}
				for _, i := range g {
					mreqs[j].losers = append(mreqs[j].losers, m.losers[i])
				}
			}
			results, err := c.soapMerge(ctx, mreqs)
			var fault *SOAPFault
			switch {
			case err == nil:
				for j, g := range chunk {
					res := results[j]
					switch {
					case res.Success:
						for _, i := range g {
							m.results[i] = crm.Result{Status: crm.Applied}
						}
						c.logf("merged %s %s into %s (%d related records moved)", object, strings.Join(mreqs[j].losers, ", "), mreqs[j].master, len(res.UpdatedRelatedIDs))
					case len(g) > 1:
						apart = append(apart, g...) // one of the two may be fine alone
					default:
						m.results[g[0]] = crm.Result{Status: crm.Failed, Error: res.errorText()}
					}
				}
			case errors.As(err, &fault):
				if len(chunk) == 1 && len(chunk[0]) == 1 {
					m.results[chunk[0][0]] = crm.Result{Status: crm.Failed, Error: fault.detail()}
					continue
				}
				c.logf("merge() of %d %s requests was refused (%s); merging them one at a time", len(chunk), object, fault.detail())
				for _, g := range chunk {
					split = append(split, g...)
				}
			case isUnknownOutcome(err):
				lastErr = err.Error()
				c.logf("merge of %d %s requests: %s; reading the records back", len(chunk), object, lastErr)
				for _, g := range chunk {
					for _, i := range g {
						tried[i] = true
						unknown = append(unknown, i)
					}
				}
			default:
				return err
			}
		}
		if len(apart) > 0 {
			if err := c.mergeWave(ctx, object, apart, m, true); err != nil {
				return err
			}
		}
		for _, i := range split {
			if err := c.mergeWave(ctx, object, []int{i}, m, true); err != nil {
				return err
			}
		}
		if len(unknown) == 0 {
			return nil
		}
		idxs = unknown
	}
}

func dedupeIDs(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// relatedNote is what an unmerge cannot undo, said in every Unmerge result.
// "You can undelete records that were deleted as the result of a merge, but
// the child objects are reparented, which can't be undone."
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_undelete.htm
func relatedNote(object, survivor string) string {
	return fmt.Sprintf("not undone: the related records the merge moved to %s %s (activities, opportunities, cases, campaign members, notes and attachments) stay there, since Salesforce cannot reparent them back on undelete; move them back by hand", object, survivor)
}

// Unmerge makes each merged-away loser a separate record again:
//
//  1. Both records are read with queryAll. A loser that is live already is
//     AlreadyApplied; one merged into another record is Stale; one that is
//     no longer in the Recycle Bin is Failed (see below).
//  2. The SOAP API's undelete() brings the loser back from the Recycle
//     Bin, where merged-away records stay for 15 days, up to 200 a call.
//     https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_undelete.htm
//  3. The snapshot's fields that differ from the loser's values are written
//     back with sObject Collections (the merge leaves the loser's own values
//     alone, so usually nothing differs and no call is made).
//
// The result is Applied, and its Error says plainly what was not undone:
// the related records (activities, opportunities, cases, campaign members)
// the merge reparented to the survivor stay with the survivor, and the
// survivor keeps any values the merge gave it. A snapshot field that could
// not be restored is named there too. A loser past the Recycle Bin (after
// 15 days, or emptied) cannot be undeleted: Failed, with the snapshot to
// recreate it from by hand. "The Recycle Bin lets you view and restore
// recently deleted records for 15 days before they're permanently deleted"
// (and an org's bin holds 5,000 records per license, the oldest going
// first when it is full).
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm
func (c *Client) Unmerge(ctx context.Context, reqs []crm.MergeRequest) ([]crm.Result, error) {
	m := newMergeSet(reqs)
	objects, groups := m.byObject(func(int) string { return "" })
	for _, o := range objects {
		for _, wave := range m.waves(groups[o]) {
			if err := c.unmergeWave(ctx, reqs[wave[0]].Object, wave, m); err != nil {
				return nil, err
			}
		}
	}
	return m.results, nil
}

// snapshotFields are the fields of a snapshot that can be written back.
func snapshotFields(snap map[string]string) []string {
	var out []string
	for k := range snap {
		if reName.MatchString(k) && !isSystemField(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func snapshotText(snap map[string]string) string {
	keys := make([]string, 0, len(snap))
	for k := range snap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + snap[k]
	}
	return strings.Join(parts, ", ")
}

func (c *Client) unmergeWave(ctx context.Context, object string, idxs []int, m *mergeSet) error {
	var ids, fields []string
	for _, i := range idxs {
		ids = append(ids, m.survivors[i], m.losers[i])
		for _, f := range snapshotFields(m.reqs[i].Snapshot) {
			if !slices.ContainsFunc(fields, func(g string) bool { return strings.EqualFold(f, g) }) {
				fields = append(fields, f)
			}
		}
	}
	ids = dedupeIDs(ids)
	recs, err := c.read(ctx, object, ids, fields, false)
	var ae *APIError
	compared := true
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && len(fields) > 0 {
		// A snapshot field the object does not have (any more): read without
		// them and write the whole snapshot back.
		compared = false
		recs, err = c.read(ctx, object, ids, nil, false)
	}
	if err != nil {
		return err
	}
	var todo []int
	for _, i := range idxs {
		r := m.reqs[i]
		loser := recs[m.losers[i]]
		switch {
		case loser == nil:
			m.results[i] = crm.Result{Status: crm.Failed, Error: fmt.Sprintf(
				"%s %s is no longer in the Recycle Bin (Salesforce keeps merged-away records 15 days, fewer if the bin is emptied), so it cannot be undeleted; recreate it by hand from its snapshot (%s) and move its related records back from %s",
				object, r.Loser, snapshotText(r.Snapshot), r.Survivor)}
		case !loser.deleted:
			m.results[i] = crm.Result{Status: crm.AlreadyApplied}
		case loser.master == "":
			m.results[i] = crm.Result{Status: crm.Failed, Error: fmt.Sprintf("%s %s was deleted, not merged; restore it from the Recycle Bin by hand if that is wanted", object, r.Loser)}
		case loser.master != m.survivors[i]:
			m.results[i] = crm.Result{Status: crm.Stale, Observed: loser.master,
				Error: fmt.Sprintf("record %s was merged into %s, not %s", r.Loser, loser.master, r.Survivor)}
		default:
			todo = append(todo, i)
		}
	}
	undeleted, err := c.undelete(ctx, object, todo, m)
	if err != nil {
		return err
	}
	// Write back the snapshot fields that differ.
	var writes []*entry
	restored := map[int][]string{}
	for _, i := range undeleted {
		loser := recs[m.losers[i]]
		e := &entry{object: object, id: m.losers[i], fields: map[string]any{}, idxs: []int{i}}
		for _, f := range snapshotFields(m.reqs[i].Snapshot) {
			want := m.reqs[i].Snapshot[f]
			if compared && loser.fields[matchField(loser.fields, f)] == want {
				continue
			}
			var v any = want
			if want == "" {
				v = nil
			}
			e.fields[f] = v
			restored[i] = append(restored[i], f)
		}
		m.results[i] = crm.Result{Status: crm.Applied, Error: "undeleted from the Recycle Bin; " + relatedNote(object, m.survivors[i])}
		if len(e.fields) > 0 {
			writes = append(writes, e)
		}
	}
	for start := 0; start < len(writes); start += maxCollection {
		chunk := writes[start:min(start+maxCollection, len(writes))]
		out, err := c.collections(ctx, object, chunk)
		for j, e := range chunk {
			i := e.idxs[0]
			note := relatedNote(object, m.survivors[i])
			switch {
			case err != nil:
				// The undelete stands: say what is left, and let the next call
				// stop the run if Salesforce is out of reach or the allowance
				// is used.
				m.results[i].Error = fmt.Sprintf("undeleted from the Recycle Bin, but its snapshot fields were not restored (%s): set %s by hand; %s",
					c.redact(err.Error()), restoreText(m.reqs[i].Snapshot, restored[i]), note)
			case !out[j].Success:
				m.results[i].Error = fmt.Sprintf("undeleted from the Recycle Bin, but restoring its snapshot fields failed (%s): set %s by hand; %s",
					saveErrorsText(out[j].Errors), restoreText(m.reqs[i].Snapshot, restored[i]), note)
			default:
				m.results[i].Error = fmt.Sprintf("undeleted from the Recycle Bin and restored %d snapshot fields (%s); %s",
					len(restored[i]), strings.Join(restored[i], ", "), note)
			}
		}
	}
	return nil
}

func matchField(fields map[string]string, f string) string {
	if _, ok := fields[f]; ok {
		return f
	}
	for k := range fields {
		if strings.EqualFold(k, f) {
			return k
		}
	}
	return f
}

func restoreText(snap map[string]string, fields []string) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f + "=" + snap[f]
	}
	return strings.Join(parts, ", ")
}

// undelete undeletes the losers of the requests idxs and returns those now
// live. Others get their result here.
func (c *Client) undelete(ctx context.Context, object string, idxs []int, m *mergeSet) ([]int, error) {
	var live []int
	todo := idxs
	lastErr := ""
	for attempt := 1; len(todo) > 0; attempt++ {
		var unknown []int
		for start := 0; start < len(todo); start += maxUndelete {
			chunk := todo[start:min(start+maxUndelete, len(todo))]
			ids := make([]string, len(chunk))
			for j, i := range chunk {
				ids[j] = m.losers[i]
			}
			results, err := c.soapUndelete(ctx, object, ids)
			var fault *SOAPFault
			switch {
			case err == nil:
				for j, i := range chunk {
					if results[j].Success {
						live = append(live, i)
						continue
					}
					m.results[i] = crm.Result{Status: crm.Failed, Error: fmt.Sprintf(
						"Salesforce could not undelete %s %s (%s); if it is no longer in the Recycle Bin, recreate it by hand from its snapshot (%s) and move its related records back from %s",
						object, m.reqs[i].Loser, results[j].errorText(), snapshotText(m.reqs[i].Snapshot), m.reqs[i].Survivor)}
				}
			case errors.As(err, &fault) && len(chunk) == 1:
				m.results[chunk[0]] = crm.Result{Status: crm.Failed, Error: "Salesforce refused to undelete: " + fault.detail()}
			case errors.As(err, &fault):
				c.logf("undelete() of %d %s records was refused (%s); undeleting them one at a time", len(chunk), object, fault.detail())
				for _, i := range chunk {
					more, err := c.undelete(ctx, object, []int{i}, m)
					if err != nil {
						return nil, err
					}
					live = append(live, more...)
				}
			case isUnknownOutcome(err):
				lastErr = err.Error()
				c.logf("undelete of %d %s records: %s; reading them back", len(chunk), object, lastErr)
				unknown = append(unknown, chunk...)
			default:
				return nil, err
			}
		}
		if len(unknown) == 0 {
			break
		}
		ids := make([]string, len(unknown))
		for j, i := range unknown {
			ids[j] = m.losers[i]
		}
		recs, err := c.read(ctx, object, ids, nil, false)
		if err != nil {
			return nil, err
		}
		todo = nil
		for _, i := range unknown {
			switch r := recs[m.losers[i]]; {
			case r != nil && !r.deleted:
				live = append(live, i)
			case r == nil:
				m.results[i] = crm.Result{Status: crm.Failed, Error: fmt.Sprintf("%s %s disappeared while its undelete was unconfirmed (%s)", object, m.reqs[i].Loser, lastErr)}
			case attempt >= c.maxAttempts:
				m.results[i] = crm.Result{Status: crm.Failed, Error: fmt.Sprintf("not undeleted after %d attempts: %s", attempt, lastErr)}
			default:
				todo = append(todo, i)
			}
		}
	}
	return live, nil
}
