package sftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rest routes /services/data/vXX.X/<rest>; any API version is accepted.
func (s *Server) rest(c *exchange, rest string) (hang bool) {
	segs := strings.Split(rest, "/")
	if rest == "" {
		segs = nil
	}
	pattern, allowed := restRoute(segs)
	c.route = "/services/data/{version}" + pattern
	s.count(c)
	// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm (401)
	if !s.authorized(c) {
		s.stats.Unauthorized++
		s.restError(c, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return false
	}
	// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
	if !s.admit(c) {
		c.w.Header().Set("Sforce-Limit-Info", s.limitInfo())
		s.restError(c, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return false
	}
	c.w.Header().Set("Sforce-Limit-Info", s.limitInfo())
	if st, ok := s.injected(); ok {
		code, msg := codeForStatus(st)
		s.restError(c, st, code, msg)
		return false
	}
	if allowed == "" {
		s.restError(c, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return false
	}
	if !slices.Contains(strings.Split(allowed, ","), c.r.Method) {
		s.restError(c, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
			fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", c.r.Method, allowed))
		return false
	}
	switch pattern {
	case "/query":
		s.stats.Query++
		s.query(c, false)
	case "/queryAll":
		s.stats.QueryAll++
		s.query(c, true)
	case "/query/{locator}", "/queryAll/{locator}":
		s.stats.QueryMore++
		s.queryMore(c, segs[1])
	case "/sobjects/{object}/describe":
		s.stats.Describe++
		s.describe(c, segs[1])
	case "/sobjects/{object}/{id}":
		if c.r.Method == http.MethodGet {
			s.stats.SingleGet++
			s.getRecord(c, segs[1], segs[2])
			return false
		}
		s.stats.SinglePatch++
		return s.patchRecord(c, segs[1], segs[2])
	case "/composite/sobjects":
		s.stats.Collections++
		return s.collections(c)
	case "/jobs/query":
		s.stats.BulkCreate++
		s.bulkCreate(c)
	case "/jobs/query/{id}":
		s.stats.BulkStatus++
		s.bulkStatus(c, segs[2])
	case "/jobs/query/{id}/results":
		s.stats.BulkResults++
		s.bulkResults(c, segs[2])
	case "/limits":
		s.stats.Limits++
		s.limits(c)
	}
	return false
}

// restRoute names the resource and the methods the double serves for it
// ("" if it serves none).
func restRoute(segs []string) (pattern, methods string) {
	switch {
	case len(segs) == 1 && segs[0] == "query":
		return "/query", "GET"
	case len(segs) == 1 && segs[0] == "queryAll":
		return "/queryAll", "GET"
	case len(segs) == 2 && segs[0] == "query":
		return "/query/{locator}", "GET"
	case len(segs) == 2 && segs[0] == "queryAll":
		return "/queryAll/{locator}", "GET"
	case len(segs) == 3 && segs[0] == "sobjects" && segs[2] == "describe":
		return "/sobjects/{object}/describe", "GET"
	case len(segs) == 3 && segs[0] == "sobjects":
		return "/sobjects/{object}/{id}", "GET,PATCH"
	case len(segs) == 2 && segs[0] == "composite" && segs[1] == "sobjects":
		return "/composite/sobjects", "PATCH"
	case len(segs) == 2 && segs[0] == "jobs" && segs[1] == "query":
		return "/jobs/query", "POST"
	case len(segs) == 3 && segs[0] == "jobs" && segs[1] == "query":
		return "/jobs/query/{id}", "GET"
	case len(segs) == 4 && segs[0] == "jobs" && segs[1] == "query" && segs[3] == "results":
		return "/jobs/query/{id}/results", "GET"
	case len(segs) == 1 && segs[0] == "limits":
		return "/limits", "GET"
	}
	return "/" + strings.Join(segs, "/"), ""
}

// ---- SOQL ----

type fieldKind int

const (
	kindAny fieldKind = iota
	kindID
	kindTime
	kindBool
)

func kindOf(field string) fieldKind {
	switch field {
	case "Id", "MasterRecordId":
		return kindID
	case "CreatedDate", "LastModifiedDate", "SystemModstamp":
		return kindTime
	case "IsDeleted":
		return kindBool
	}
	return kindAny
}

// resolve checks a parsed query against the schema and rewrites names to
// their canonical spelling and ID literals to 18 characters. The codes are
// those Salesforce documents for the problem: INVALID_TYPE for an unknown
// object, INVALID_FIELD for an unknown field, INVALID_QUERY_FILTER_OPERATOR
// for a bad ID in a filter.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm (ExceptionCode)
func (s *Server) resolve(q *soqlQuery) *soqlError {
	o := s.lookupObject(q.object)
	if o == nil {
		return &soqlError{"INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", q.object), q.objectPos}
	}
	q.object = o.name
	field := func(name string, pos int) (string, *soqlError) {
		if c, ok := o.fields[strings.ToLower(name)]; ok {
			return c, nil
		}
		return "", &soqlError{"INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", name, o.name), pos}
	}
	seen := map[string]bool{}
	for i, f := range q.fields {
		c, err := field(f, q.fieldPos[i])
		if err != nil {
			return err
		}
		if seen[c] {
			return &soqlError{"MALFORMED_QUERY", "duplicate field selected: " + c, q.fieldPos[i]}
		}
		seen[c] = true
		q.fields[i] = c
	}
	for i := range q.where {
		cd := &q.where[i]
		c, err := field(cd.field, cd.pos)
		if err != nil {
			return err
		}
		cd.field = c
		for j := range cd.values {
			lit := &cd.values[j]
			switch kindOf(c) {
			case kindID:
				if lit.kind == litNull && (cd.op == "=" || cd.op == "!=") {
					continue
				}
				id, ok := "", false
				if lit.kind == litString {
					id, ok = normalizeID(lit.s)
				}
				if !ok {
					return &soqlError{"INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: " + literalText(*lit), lit.pos}
				}
				lit.s = id
			case kindTime:
				if lit.kind != litTime && lit.kind != litNull {
					return &soqlError{"INVALID_FIELD", fmt.Sprintf("value of filter criterion for field '%s' must be of type dateTime and should not be enclosed in quotes", c), lit.pos}
				}
			case kindBool:
				if lit.kind != litBool && lit.kind != litNull {
					return &soqlError{"INVALID_FIELD", fmt.Sprintf("value of filter criterion for field '%s' must be of type boolean and should not be enclosed in quotes", c), lit.pos}
				}
			}
		}
	}
	for i := range q.order {
		c, err := field(q.order[i].field, q.order[i].pos)
		if err != nil {
			return err
		}
		q.order[i].field = c
	}
	return nil
}

func literalText(l literal) string {
	switch l.kind {
	case litString, litNumber, litTime:
		return l.s
	case litBool:
		return strconv.FormatBool(l.b)
	}
	return "null"
}

// run evaluates a resolved query: records in ID order unless ORDER BY says
// otherwise; records in the recycle bin only for queryAll.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_queryall.htm
func (s *Server) run(q *soqlQuery, includeDeleted bool) []*record {
	var out []*record
	for _, r := range s.sortedRecords(q.object) {
		if r.deleted && !includeDeleted {
			continue
		}
		if !slices.ContainsFunc(q.where, func(cd cond) bool { return !matches(r, cd) }) {
			out = append(out, r)
		}
	}
	if len(q.order) > 0 {
		slices.SortStableFunc(out, func(a, b *record) int {
			for _, o := range q.order {
				c := compareValues(kindOf(o.field), a.value(o.field), b.value(o.field))
				if o.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if q.limit >= 0 && len(out) > q.limit {
		out = out[:q.limit]
	}
	return out
}

// matches applies one condition. As in SOQL, a null value is "not equal"
// to any non-null literal, and only `= null` matches it.
// https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_comparisonoperators.htm
func matches(r *record, cd cond) bool {
	v := r.value(cd.field)
	k := kindOf(cd.field)
	switch cd.op {
	case "in", "notin":
		in := slices.ContainsFunc(cd.values, func(l literal) bool { return opHolds(k, v, "=", l) })
		return in == (cd.op == "in")
	}
	return opHolds(k, v, cd.op, cd.values[0])
}

func opHolds(k fieldKind, v any, op string, l literal) bool {
	if l.kind == litNull {
		switch op {
		case "=":
			return v == nil
		case "!=":
			return v != nil
		}
		return false
	}
	c, ok := compareLiteral(k, v, l)
	switch op {
	case "=":
		return ok && c == 0
	case "!=":
		return !ok || c != 0
	case "<":
		return ok && c < 0
	case "<=":
		return ok && c <= 0
	case ">":
		return ok && c > 0
	case ">=":
		return ok && c >= 0
	}
	return false
}

// compareLiteral compares a field value with a literal; ok is false when
// they cannot be compared (a null value, or a text field against a number).
// IDs compare by their case-sensitive 15 characters; text compares
// case-insensitively, as SOQL does.
func compareLiteral(k fieldKind, v any, l literal) (int, bool) {
	if v == nil {
		return 0, false
	}
	switch k {
	case kindID:
		sv, _ := v.(string)
		return strings.Compare(sv[:min(15, len(sv))], l.s[:15]), true
	case kindBool:
		b, _ := v.(bool)
		return compareBool(b, l.b), true
	}
	switch l.kind {
	case litNumber:
		f, ok := toFloat(v)
		if !ok {
			return 0, false
		}
		return compareFloat(f, l.n), true
	case litBool:
		b, ok := v.(bool)
		if !ok {
			return 0, false
		}
		return compareBool(b, l.b), true
	case litTime:
		sv, _ := v.(string)
		t, ok := parseDateTime(sv)
		if !ok {
			if d, err := time.Parse("2006-01-02", sv); err == nil {
				t, ok = d, true
			}
		}
		if !ok {
			return 0, false
		}
		return t.Compare(l.t), true
	}
	return strings.Compare(strings.ToLower(textOf(v)), strings.ToLower(l.s)), true
}

// compareValues orders two values of a field; nulls sort first, as
// Salesforce's default NULLS FIRST for ascending order.
func compareValues(k fieldKind, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch k {
	case kindID, kindTime:
		return strings.Compare(textOf(a), textOf(b))
	case kindBool:
		ab, _ := a.(bool)
		bb, _ := b.(bool)
		return compareBool(ab, bb)
	}
	af, aok := toFloat(a)
	bf, bok := toFloat(b)
	if aok && bok {
		return compareFloat(af, bf)
	}
	return strings.Compare(strings.ToLower(textOf(a)), strings.ToLower(textOf(b)))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// textOf is a value as text (CSV cells, comparisons).
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// ---- query and queryMore ----

// cursor is the server side of a query locator: the rows of the query as
// they were when it ran.
type cursor struct {
	object string
	fields []string
	ids    []string
	rows   [][]any
	batch  int
}

// query serves GET /query and /queryAll.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm
func (s *Server) query(c *exchange, includeDeleted bool) {
	qs := c.r.URL.Query().Get("q")
	if strings.TrimSpace(qs) == "" {
		s.restError(c, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
		return
	}
	q, err := parseSOQL(qs)
	if err == nil {
		err = s.resolve(q)
	}
	if err != nil {
		s.restError(c, http.StatusBadRequest, err.code, err.render(qs))
		return
	}
	cur := &cursor{object: q.object, fields: q.fields, batch: s.batchSize(c)}
	for _, r := range s.run(q, includeDeleted) {
		row := make([]any, len(q.fields))
		for i, f := range q.fields {
			row[i] = r.value(f)
		}
		cur.ids = append(cur.ids, r.id)
		cur.rows = append(cur.rows, row)
	}
	locator := s.newID("01g")
	s.cursors[locator] = cur
	s.page(c, locator, cur, 0)
}

// batchSize honours the Sforce-Query-Options header (batchSize between 200
// and 2000; there is no guarantee the batch is that size), capped by
// Options.QueryBatchSize.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
func (s *Server) batchSize(c *exchange) int {
	size := s.opts.QueryBatchSize
	for _, part := range strings.Split(c.r.Header.Get("Sforce-Query-Options"), ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			size = min(size, min(max(n, 200), DefaultQueryBatchSize))
		}
	}
	return size
}

// queryMore serves GET /query/<locator>-<offset>. An unknown locator is
// INVALID_QUERY_LOCATOR.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query_more_results.htm
func (s *Server) queryMore(c *exchange, seg string) {
	i := strings.LastIndexByte(seg, '-')
	var cur *cursor
	offset := -1
	if i > 0 {
		cur = s.cursors[seg[:i]]
		offset, _ = strconv.Atoi(seg[i+1:])
	}
	if cur == nil || offset < 0 || offset > len(cur.rows) || strconv.Itoa(offset) != seg[i+1:] {
		s.restError(c, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	s.page(c, seg[:i], cur, offset)
}

// page writes {totalSize, done, nextRecordsUrl, records}; nextRecordsUrl is
// there only while done is false, and always names /query even for
// queryAll, as the docs say. Locators stay valid, so a page can be fetched
// again.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm
func (s *Server) page(c *exchange, locator string, cur *cursor, offset int) {
	end := min(offset+cur.batch, len(cur.rows))
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"totalSize":%d,"done":%t,`, len(cur.rows), end >= len(cur.rows))
	if end < len(cur.rows) {
		next, _ := json.Marshal(fmt.Sprintf("/services/data/v%s/query/%s-%d", c.version, locator, end))
		fmt.Fprintf(&b, `"nextRecordsUrl":%s,`, next)
	}
	b.WriteString(`"records":[`)
	for i := offset; i < end; i++ {
		if i > offset {
			b.WriteByte(',')
		}
		writeRecordJSON(&b, c.version, cur.object, cur.ids[i], cur.fields, cur.rows[i])
	}
	b.WriteString("]}")
	s.writeRaw(c, http.StatusOK, b.Bytes())
}

// writeRecordJSON writes a record as the REST API does: an attributes
// object with type and url, then the fields in the order asked for.
func writeRecordJSON(b *bytes.Buffer, version, objectName, id string, fields []string, vals []any) {
	attrs, _ := json.Marshal(map[string]string{"type": objectName, "url": fmt.Sprintf("/services/data/v%s/sobjects/%s/%s", version, objectName, id)})
	b.WriteString(`{"attributes":`)
	b.Write(attrs)
	for i, f := range fields {
		k, _ := json.Marshal(f)
		v, err := json.Marshal(vals[i])
		if err != nil {
			v, _ = json.Marshal(textOf(vals[i]))
		}
		b.WriteByte(',')
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
}

// ---- sObject Rows ----

// rowTarget resolves /sobjects/<Obj>/<Id> to a live record, answering the
// documented 404s otherwise: NOT_FOUND for an unknown object or ID, and
// ENTITY_IS_DELETED for a record in the recycle bin.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm (404)
func (s *Server) rowTarget(c *exchange, objectName, rawID string) (*object, *record) {
	o := s.lookupObject(objectName)
	id, ok := normalizeID(rawID)
	var r *record
	if o != nil && ok && id[:3] == o.prefix {
		r = s.records[id]
	}
	if r == nil {
		s.restError(c, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return nil, nil
	}
	if r.deleted {
		s.restError(c, http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
		return nil, nil
	}
	return o, r
}

// getRecord serves GET /sobjects/<Obj>/<Id>[?fields=a,b], with a
// Last-Modified header. If-Modified-Since answers 304 for a record not
// modified since; If-Unmodified-Since 412 for one modified since.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_retrieve.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_conditional_requests.htm
func (s *Server) getRecord(c *exchange, objectName, rawID string) {
	o, r := s.rowTarget(c, objectName, rawID)
	if r == nil {
		return
	}
	if h := c.r.Header.Get("If-Modified-Since"); h != "" {
		if t, err := http.ParseTime(h); err == nil && !r.modified.After(t) {
			c.w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if !s.unmodifiedSince(c, r) {
		return
	}
	fields := o.order
	if list := c.r.URL.Query().Get("fields"); list != "" {
		fields = nil
		for _, f := range strings.Split(list, ",") {
			f = strings.TrimSpace(f)
			canon, ok := o.fields[strings.ToLower(f)]
			if !ok {
				s.restError(c, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", f, o.name))
				return
			}
			fields = append(fields, canon)
		}
	}
	vals := make([]any, len(fields))
	for i, f := range fields {
		vals[i] = r.value(f)
	}
	var b bytes.Buffer
	writeRecordJSON(&b, c.version, o.name, r.id, fields, vals)
	c.w.Header().Set("Last-Modified", r.modified.UTC().Format(http.TimeFormat))
	s.writeRaw(c, http.StatusOK, b.Bytes())
}

// saveError is an Error of a SaveResult.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm (Error)
type saveError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func newSaveError(code, message string, fields ...string) saveError {
	if fields == nil {
		fields = []string{}
	}
	return saveError{code, message, fields}
}

// checkWrite validates the fields a write would set on r: they must exist
// and be writable, pass the injected validation rules, and the record must
// not be set to fail. It returns the values by canonical name.
func (s *Server) checkWrite(o *object, r *record, in map[string]any) (map[string]any, []saveError) {
	vals := map[string]any{}
	var errs []saveError
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "attributes" || strings.EqualFold(k, "Id") {
			continue
		}
		canon, ok := o.fields[strings.ToLower(k)]
		switch {
		case !ok:
			errs = append(errs, newSaveError("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.name)))
			continue
		case isSystemField(canon):
			errs = append(errs, newSaveError("INVALID_FIELD_FOR_INSERT_UPDATE",
				fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", canon), canon))
			continue
		}
		v := normalizeValue(in[k])
		for _, rule := range s.rejects {
			if strings.EqualFold(rule.object, o.name) && strings.EqualFold(rule.field, canon) && v != nil && fmt.Sprint(v) == rule.value {
				errs = append(errs, newSaveError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message, canon))
			}
		}
		vals[canon] = v
	}
	if f, bad := s.failRecords[r.id]; bad {
		errs = append(errs, newSaveError(f.code, f.message, f.fields...))
	}
	return vals, errs
}

// apply sets the values on r and stamps it.
func apply(r *record, vals map[string]any, at time.Time) {
	for k, v := range vals {
		if v == nil {
			delete(r.fields, k)
		} else {
			r.fields[k] = v
		}
	}
	r.modified = at
}

// patchRecord serves PATCH /sobjects/<Obj>/<Id>: 204 on success. With
// If-Unmodified-Since, a record modified after that date is 412 and is not
// changed; an unparsable date is 400. LastModifiedDate is compared at the
// whole-second precision of HTTP dates.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_retrieve_patch.htm
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_conditional_requests.htm
func (s *Server) patchRecord(c *exchange, objectName, rawID string) (hang bool) {
	var in map[string]any
	if err := json.Unmarshal(c.body, &in); err != nil || in == nil {
		msg := "Unexpected end of input"
		if err != nil {
			msg = err.Error()
		}
		s.restError(c, http.StatusBadRequest, "JSON_PARSER_ERROR", msg)
		return false
	}
	o, r := s.rowTarget(c, objectName, rawID)
	if r == nil {
		return false
	}
	if !s.unmodifiedSince(c, r) {
		return false
	}
	vals, errs := s.checkWrite(o, r, in)
	if len(errs) > 0 {
		out := make([]apiError, len(errs))
		for i, e := range errs {
			out[i] = apiError{Message: e.Message, ErrorCode: e.StatusCode, Fields: e.Fields}
		}
		s.writeJSON(c, http.StatusBadRequest, out)
		return false
	}
	apply(r, vals, c.now.UTC().Truncate(time.Second))
	if s.commit(c, Write{Object: o.name, ID: r.id, Op: "patch", Fields: vals}) {
		s.cutConnection(c)
		return false
	}
	if hang, lost := s.lostAnswer(c); hang || lost {
		return hang
	}
	c.w.WriteHeader(http.StatusNoContent)
	return false
}

// unmodifiedSince checks an If-Unmodified-Since precondition, answering
// 412 if the record was modified after the date (the body of a 412 is not
// documented) and 400 if the date cannot be read.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_conditional_requests.htm
func (s *Server) unmodifiedSince(c *exchange, r *record) bool {
	h := c.r.Header.Get("If-Unmodified-Since")
	if h == "" {
		return true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		s.restError(c, http.StatusBadRequest, "BAD_REQUEST", "Invalid If-Unmodified-Since header value: "+h)
		return false
	}
	if r.modified.Truncate(time.Second).After(t) {
		s.restError(c, http.StatusPreconditionFailed, "PRECONDITION_FAILED", "The requested entity has been modified since "+h+".")
		return false
	}
	return true
}

// ---- sObject Collections ----

type saveResult struct {
	ID      string      `json:"id,omitempty"`
	Success bool        `json:"success"`
	Errors  []saveError `json:"errors"`
}

// collections serves PATCH /composite/sobjects: up to 200 records of any
// types, updated in order, one SaveResult per record in the same order. A
// request that is not well formed is 400; otherwise 200 with per-record
// errors. With allOrNone, any failure rolls everything back and the records
// that would have succeeded report ALL_OR_NONE_OPERATION_ROLLED_BACK.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_allornoneheader.htm
func (s *Server) collections(c *exchange) (hang bool) {
	var in struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		s.restError(c, http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
		return false
	}
	if len(in.Records) > MaxCollectionRecords {
		// The code is documented (EXCEEDED_ID_LIMIT); the message is the one
		// Salesforce is seen to send.
		s.restError(c, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return false
	}
	objs := make([]*object, len(in.Records))
	for i, rec := range in.Records {
		attrs, _ := rec["attributes"].(map[string]any)
		typ, _ := attrs["type"].(string)
		if typ == "" {
			s.restError(c, http.StatusBadRequest, "INVALID_TYPE", "Must send a concrete entity type.")
			return false
		}
		if objs[i] = s.lookupObject(typ); objs[i] == nil {
			s.restError(c, http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", typ))
			return false
		}
		if s.opts.InvalidFieldFailsRequest {
			for k := range rec {
				if _, ok := objs[i].fields[strings.ToLower(k)]; !ok && k != "attributes" {
					s.restError(c, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, objs[i].name))
					return false
				}
			}
		}
	}
	type plan struct {
		r    *record
		vals map[string]any
	}
	results := make([]saveResult, len(in.Records))
	plans := make([]plan, len(in.Records))
	seen := map[string]bool{}
	failed := false
	for i, rec := range in.Records {
		o := objs[i]
		res := &results[i]
		res.Errors = []saveError{}
		var rawID any
		for k, v := range rec {
			if strings.EqualFold(k, "Id") {
				rawID = v
			}
		}
		idStr, _ := rawID.(string)
		id, ok := normalizeID(idStr)
		switch {
		case rawID == nil || idStr == "":
			res.Errors = append(res.Errors, newSaveError("MISSING_ARGUMENT", "Id not specified in an update call"))
		case !ok || id[:3] != o.prefix:
			res.Errors = append(res.Errors, newSaveError("MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", o.name, idStr), "Id"))
		case seen[id]:
			res.ID = id
			res.Errors = append(res.Errors, newSaveError("DUPLICATE_VALUE", "Duplicate id in list: "+id))
		case s.records[id] == nil || s.records[id].deleted:
			res.ID = id
			res.Errors = append(res.Errors, newSaveError("ENTITY_IS_DELETED", "entity is deleted"))
		default:
			res.ID = id
			r := s.records[id]
			vals, errs := s.checkWrite(o, r, rec)
			res.Errors = append(res.Errors, errs...)
			plans[i] = plan{r, vals}
		}
		if ok {
			seen[id] = true
		}
		res.Success = len(res.Errors) == 0
		failed = failed || !res.Success
	}
	if in.AllOrNone && failed {
		for i := range results {
			if results[i].Success {
				results[i].Success = false
				results[i].Errors = []saveError{newSaveError("ALL_OR_NONE_OPERATION_ROLLED_BACK",
					"Record rolled back because not all records were valid and the request was using AllOrNone header")}
			}
		}
		s.writeJSON(c, http.StatusOK, results)
		return false
	}
	at := c.now.UTC().Truncate(time.Second)
	for i, p := range plans {
		if !results[i].Success {
			continue
		}
		apply(p.r, p.vals, at)
		if s.commit(c, Write{Object: objs[i].name, ID: p.r.id, Op: "update", Fields: p.vals}) && !in.AllOrNone {
			s.cutConnection(c)
			return false
		}
	}
	if c.cut {
		s.cutConnection(c)
		return false
	}
	if hang, lost := s.lostAnswer(c); hang || lost {
		return hang
	}
	s.writeJSON(c, http.StatusOK, results)
	return false
}

// limits serves GET /limits with the daily API allocation.
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
func (s *Server) limits(c *exchange) {
	used := s.usage(c.now)
	s.writeJSON(c, http.StatusOK, map[string]any{
		"DailyApiRequests": map[string]int{"Max": s.opts.DailyLimit, "Remaining": max(0, s.opts.DailyLimit-used)},
	})
}
