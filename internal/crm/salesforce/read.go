package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/crmops/crmops/internal/crm"
)

// maxQueryLen bounds the encoded q parameter of a GET query. Salesforce
// allows 16,384 bytes for the URI and headers together (431 or 414 past
// that) and recommends keeping the URI short because the query is expanded
// on the server, so reads by id are cut into chunks whose URL stays near
// 8 KB, about 250 ids each.
// https://help.salesforce.com/s/articleView?id=000386264&type=1
const maxQueryLen = 8000

// encodedIDLen is what one more id costs in an IN list once URL-encoded:
// 'xxxxxxxxxxxxxxxxxx', is 18 characters, two quotes and a comma, each of
// those three encoded as 3 bytes.
const encodedIDLen = 18 + 3*3

// mergeable are the objects merge() supports, which are also the ones with
// a MasterRecordId field: "The supported object types are Lead, Contact,
// Account, Person Account, and Individual" (person accounts are Accounts).
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm
var mergeable = []string{"Account", "Contact", "Individual", "Lead"}

func isMergeable(object string) bool {
	return slices.ContainsFunc(mergeable, func(m string) bool { return strings.EqualFold(m, object) })
}

// systemFields are always read by the connector itself; they are not
// written.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm
var systemFields = []string{"Id", "IsDeleted", "MasterRecordId", "CreatedDate", "CreatedById",
	"LastModifiedDate", "LastModifiedById", "SystemModstamp"}

func isSystemField(f string) bool {
	return slices.ContainsFunc(systemFields, func(s string) bool { return strings.EqualFold(s, f) })
}

// record is a record as read, with the system fields the connector needs.
type record struct {
	id       string            // 18 characters
	fields   map[string]string // by the name asked for; "" for null
	deleted  bool              // in the Recycle Bin (deleted or merged away)
	master   string            // MasterRecordId: the survivor of a merge
	modified string            // LastModifiedDate, when asked for
}

// mergedInto is the survivor when the record was merged away. A record
// brought back from the Recycle Bin is live whatever MasterRecordId still
// says: whether undelete() clears it is not documented.
func (r *record) mergedInto() string {
	if r.deleted {
		return r.master
	}
	return ""
}

// value turns a JSON field value into crmops' string: strings as they are,
// numbers and booleans as their JSON text, null as "", anything else
// (compound fields, relationships) as compact JSON.
func value(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0, string(raw) == "null":
		return ""
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case raw[0] == '{' || raw[0] == '[':
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil {
			return b.String()
		}
	}
	return string(raw)
}

// queryPage is one page of a query answer.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
type queryPage struct {
	TotalSize      int                          `json:"totalSize"`
	Done           bool                         `json:"done"`
	NextRecordsURL string                       `json:"nextRecordsUrl"`
	Records        []map[string]json.RawMessage `json:"records"`
}

// getPage runs a query (k is kindQuery or kindQueryAll) or, with next set,
// fetches the page a nextRecordsUrl names.
func (c *Client) getPage(ctx context.Context, k kind, soql, next, what string) (*queryPage, error) {
	req := request{kind: k, method: http.MethodGet, retry: true, what: what}
	if next != "" {
		// The locator URL Salesforce gave; it stays on the instance.
		if !strings.HasPrefix(next, "/services/data/") || strings.ContainsAny(next, "?#") {
			return nil, fmt.Errorf("salesforce: unexpected nextRecordsUrl %q", next)
		}
		req.kind, req.path = kindQueryMore, next
	} else {
		resource := "query"
		if k == kindQueryAll {
			resource = "queryAll"
		}
		req.path, req.query = c.dataPath(resource), url.Values{"q": {soql}}
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var p queryPage
	if err := json.Unmarshal(resp.body, &p); err != nil {
		return nil, fmt.Errorf("salesforce: %s: unreadable answer: %v", req, err)
	}
	return &p, nil
}

// fieldValues picks the wanted fields out of a JSON record, matching names
// case-insensitively (Salesforce answers with each field's own spelling),
// and keys them by the names asked for.
func fieldValues(raw map[string]json.RawMessage, want []string) map[string]string {
	out := make(map[string]string, len(want))
	if len(want) == 0 {
		return out
	}
	lower := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		lower[strings.ToLower(k)] = v
	}
	for _, f := range want {
		out[f] = value(lower[strings.ToLower(f)])
	}
	return out
}

// liveFields drops empty values: for crmops an absent field and "" are the
// same.
func liveFields(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// checkNames refuses object and field names that are not API names (they
// go into SOQL).
func checkNames(object string, fields []string) error {
	if !reName.MatchString(object) {
		return fmt.Errorf("salesforce: %q is not a Salesforce object API name (like Contact or Invoice__c)", object)
	}
	for _, f := range fields {
		if !reName.MatchString(f) {
			return fmt.Errorf("salesforce: %q is not a field API name of %s (like Email or Region__c)", f, object)
		}
	}
	return nil
}

// dedupeFields removes repeats (case-insensitively, as SOQL refuses a field
// selected twice) and the fields in skip.
func dedupeFields(fields []string, skip ...string) []string {
	seen := map[string]bool{}
	for _, s := range skip {
		seen[strings.ToLower(s)] = true
	}
	var out []string
	for _, f := range fields {
		if l := strings.ToLower(f); !seen[l] {
			seen[l] = true
			out = append(out, f)
		}
	}
	return out
}

// read reads records by canonical id with queryAll, so that records in the
// Recycle Bin (deleted, or merged away with MasterRecordId naming the
// survivor) are found too:
//
//	SELECT Id, IsDeleted[, MasterRecordId][, LastModifiedDate], <fields> FROM <Object> WHERE Id IN ('...', ...)
//
// in chunks that keep the URL under maxQueryLen; a field list too long for
// one URL is split, each part read for the same ids. Missing ids are absent.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm
func (c *Client) read(ctx context.Context, object string, ids, fields []string, withModified bool) (map[string]*record, error) {
	out := make(map[string]*record, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	system := []string{"Id", "IsDeleted"}
	if isMergeable(object) {
		system = append(system, "MasterRecordId")
	}
	if withModified {
		system = append(system, "LastModifiedDate")
	}
	user := dedupeFields(fields, system...)
	// System fields asked for are read with the system part.
	var askedSystem []string
	for _, f := range fields {
		if slices.ContainsFunc(system, func(s string) bool { return strings.EqualFold(s, f) }) {
			askedSystem = append(askedSystem, f)
		}
	}
	// Split the fields into groups whose select list takes at most half the
	// budget, leaving the other half for ids.
	var groups [][]string
	var cur []string
	curLen := 0
	for _, f := range user {
		n := len(url.QueryEscape(", " + f))
		if len(cur) > 0 && curLen+n > maxQueryLen/2 {
			groups = append(groups, cur)
			cur, curLen = nil, 0
		}
		cur = append(cur, f)
		curLen += n
	}
	groups = append(groups, cur) // possibly empty: the system fields alone
	for gi, group := range groups {
		sel := slices.Concat(system, group)
		prefix := "SELECT " + strings.Join(sel, ", ") + " FROM " + object + " WHERE Id IN ("
		perChunk := max(1, (maxQueryLen-len(url.QueryEscape(prefix+")")))/encodedIDLen)
		for start := 0; start < len(ids); start += perChunk {
			chunk := ids[start:min(start+perChunk, len(ids))]
			soql := prefix + "'" + strings.Join(chunk, "','") + "')"
			what := fmt.Sprintf("reading %d %s records", len(chunk), object)
			p, err := c.getPage(ctx, kindQueryAll, soql, "", what)
			for err == nil {
				for _, raw := range p.Records {
					id, _ := canonicalID(value(raw["Id"]))
					r := out[id]
					if r == nil {
						r = &record{id: id, fields: map[string]string{}}
						out[id] = r
					}
					if gi == 0 {
						r.deleted = value(raw["IsDeleted"]) == "true"
						if m := value(raw["MasterRecordId"]); m != "" {
							r.master, _ = canonicalID(m)
						}
						r.modified = value(raw["LastModifiedDate"])
						for k, v := range fieldValues(raw, askedSystem) {
							r.fields[k] = v
						}
					}
					for k, v := range fieldValues(raw, group) {
						r.fields[k] = v
					}
				}
				if p.Done || p.NextRecordsURL == "" {
					break
				}
				p, err = c.getPage(ctx, kindQueryAll, "", p.NextRecordsURL, what)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// canonicalIDs converts ids to their 18-character form, dropping repeats;
// byGiven maps each well-formed id as given to its canonical form.
func canonicalIDs(ids []string) (canon []string, byGiven map[string]string) {
	byGiven = map[string]string{}
	seen := map[string]bool{}
	for _, id := range ids {
		c, ok := canonicalID(strings.TrimSpace(id))
		if !ok {
			continue
		}
		byGiven[id] = c
		if !seen[c] {
			seen[c] = true
			canon = append(canon, c)
		}
	}
	return canon, byGiven
}

// Get reads records by id with queryAll (see read), in chunks of about 250
// ids. The map is keyed by the ids as given (15- or 18-character); each
// Record.ID is the 18-character form. A record merged away is returned with
// its own fields and MergedInto its MasterRecordId. Ids that do not exist,
// are not Ids, or name a record deleted without a merge (in the Recycle
// Bin) are absent.
//
// fields nil means every field the API can query, listed once per object
// with the describe call (see Fields).
func (c *Client) Get(ctx context.Context, object string, ids []string, fieldNames []string) (map[string]crm.Record, error) {
	if err := checkNames(object, fieldNames); err != nil {
		return nil, err
	}
	out := make(map[string]crm.Record, len(ids))
	canon, byGiven := canonicalIDs(ids)
	if len(canon) == 0 {
		return out, nil
	}
	want := fieldNames
	if want == nil {
		var err error
		if want, err = c.Fields(ctx, object); err != nil {
			return nil, err
		}
	}
	recs, err := c.read(ctx, object, canon, want, false)
	if err != nil {
		return nil, err
	}
	for given, id := range byGiven {
		r, ok := recs[id]
		if !ok || r.deleted && r.master == "" {
			continue
		}
		fields := make(map[string]string, len(r.fields))
		for _, f := range want {
			if !strings.EqualFold(f, "Id") {
				fields[f] = r.fields[f]
			}
		}
		out[given] = crm.Record{ID: id, Fields: liveFields(fields), MergedInto: r.mergedInto()}
	}
	return out, nil
}

// List calls fn for every live record of object in Id order:
//
//	SELECT Id, <fields> FROM <Object> ORDER BY Id
//
// through the REST query resource, following nextRecordsUrl (2,000 records
// a page at most). The query resource leaves out deleted and merged-away
// records, so every record listed is live.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm
//
// When the first page's totalSize is above Config.BulkThreshold, that page
// is passed on and the rest (WHERE Id > the page's last Id) comes from a
// Bulk API 2.0 query job (see bulkQuery), which costs a handful of calls
// however many records there are. A query too long for a URL (fields nil
// on an object with hundreds of fields) goes to Bulk API 2.0 at once, since
// a job's query is sent in the request body.
func (c *Client) List(ctx context.Context, object string, fieldNames []string, fn func(crm.Record) error) error {
	if err := checkNames(object, fieldNames); err != nil {
		return err
	}
	want := fieldNames
	if want == nil {
		var err error
		if want, err = c.Fields(ctx, object); err != nil {
			return err
		}
	}
	want = dedupeFields(want, "Id")
	sel := strings.Join(slices.Concat([]string{"Id"}, want), ", ")
	soql := "SELECT " + sel + " FROM " + object + " ORDER BY Id"
	if len(url.QueryEscape(soql)) > maxQueryLen {
		c.logf("the query of %d %s fields is too long for a URL; using Bulk API 2.0", len(want), object)
		return c.bulkList(ctx, object, "SELECT "+sel+" FROM "+object, want, fn)
	}
	what := "listing " + object + " records"
	p, err := c.getPage(ctx, kindQuery, soql, "", what)
	if err != nil {
		return err
	}
	bulk := c.bulkAbove >= 0 && p.TotalSize > c.bulkAbove && !p.Done
	for {
		last := ""
		for _, raw := range p.Records {
			id, _ := canonicalID(value(raw["Id"]))
			last = id
			if err := fn(crm.Record{ID: id, Fields: liveFields(fieldValues(raw, want))}); err != nil {
				return err
			}
		}
		if p.Done || p.NextRecordsURL == "" {
			return nil
		}
		if bulk && last != "" {
			c.logf("%s has %d records (more than %d); listing the rest with Bulk API 2.0", object, p.TotalSize, c.bulkAbove)
			return c.bulkList(ctx, object, "SELECT "+sel+" FROM "+object+" WHERE Id > '"+last+"'", want, fn)
		}
		if p, err = c.getPage(ctx, kindQuery, "", p.NextRecordsURL, what); err != nil {
			return err
		}
	}
}

// Fields returns the fields of object the API can query, from the describe
// call GET /services/data/vXX.X/sobjects/<Object>/describe, read once per
// object. Left out: compound address and geolocation fields (their parts
// are listed separately, and Bulk API 2.0 cannot query them), base64 fields
// (one record at a time only) and fields marked deprecatedAndHidden.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/compound_fields.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
func (c *Client) Fields(ctx context.Context, object string) ([]string, error) {
	if err := checkNames(object, nil); err != nil {
		return nil, err
	}
	key := strings.ToLower(object)
	c.mu.Lock()
	names, ok := c.describes[key]
	c.mu.Unlock()
	if ok {
		return names, nil
	}
	req := request{kind: kindDescribe, method: http.MethodGet, path: c.dataPath("sobjects", object, "describe"),
		retry: true, what: "describing " + object}
	resp, err := c.do(ctx, req)
	if _, ok := isStatus(err, http.StatusNotFound); ok {
		return nil, fmt.Errorf("salesforce: the org has no %s object, or the integration user cannot see it (describe: 404 NOT_FOUND)", object)
	}
	if err != nil {
		return nil, err
	}
	var d struct {
		Name      string `json:"name"`
		Queryable *bool  `json:"queryable"`
		Fields    []struct {
			Name                string `json:"name"`
			Type                string `json:"type"`
			DeprecatedAndHidden bool   `json:"deprecatedAndHidden"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(resp.body, &d); err != nil {
		return nil, fmt.Errorf("salesforce: %s: unreadable answer: %v", req, err)
	}
	if d.Queryable != nil && !*d.Queryable {
		return nil, fmt.Errorf("salesforce: the %s object cannot be queried", object)
	}
	names = []string{}
	for _, f := range d.Fields {
		switch strings.ToLower(f.Type) {
		case "address", "location", "base64":
			continue
		}
		if !f.DeprecatedAndHidden && reName.MatchString(f.Name) {
			names = append(names, f.Name)
		}
	}
	c.mu.Lock()
	c.describes[key] = names
	c.mu.Unlock()
	return names, nil
}
