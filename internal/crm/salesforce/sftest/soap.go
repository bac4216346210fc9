package sftest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// SOAP API (partner endpoint POST /services/Soap/u/XX.X): merge() and
// undelete(). Requests authenticate with the SessionHeader's sessionId (the
// access token). Errors that affect the whole call are SOAP faults (HTTP
// 500, faultcode sf:<ExceptionCode>, an ApiFault in the detail); errors of
// one record are Error elements in its result, as the docs describe.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_sessionheader.htm
//
// Which merge() problems are faults and which are errors is not documented;
// the double faults for a bad session, the limit, an sObject without a type
// (INVALID_TYPE, "Missing entity type information. sObject requires a
// separate 'type' field be sent."), a type that cannot be merged
// (INVALID_TYPE_FOR_OPERATION "entity type does not support merge", as
// Salesforce is seen to answer for Opportunity), a malformed ID
// (InvalidIdFault MALFORMED_ID) and more than 200 requests
// (EXCEEDED_ID_LIMIT); per-request errors are INVALID_ID_FIELD (an ID of
// another object type), ENTITY_IS_DELETED (a record that is merged,
// deleted or does not exist), LIMIT_EXCEEDED (more than two
// recordToMergeIds), MISSING_ARGUMENT (none), INVALID_MERGE_RECORD (the
// master among them, or one twice), and the field errors of an update.

const (
	nsSoapEnv = "http://schemas.xmlsoap.org/soap/envelope/"
	nsPartner = "urn:partner.soap.sforce.com"
	nsFault   = "urn:fault.partner.soap.sforce.com"
	nsXSI     = "http://www.w3.org/2001/XMLSchema-instance"
)

// xnode is a parsed XML element; lookups go by local name, so any
// namespace prefixes the client uses are fine.
type xnode struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*xnode
	text     string
}

func parseXML(data []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.Token()
		if err != nil {
			if root != nil && len(stack) == 0 {
				return root, nil
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name, attrs: t.Attr}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
}

func (n *xnode) child(local string) *xnode {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.name.Local == local {
			return c
		}
	}
	return nil
}

func (n *xnode) all(local string) []*xnode {
	if n == nil {
		return nil
	}
	var out []*xnode
	for _, c := range n.children {
		if c.name.Local == local {
			out = append(out, c)
		}
	}
	return out
}

func (n *xnode) value() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text)
}

func (n *xnode) isNil() bool {
	for _, a := range n.attrs {
		if a.Name.Local == "nil" && a.Value == "true" {
			return true
		}
	}
	return false
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// fault answers a SOAP fault. faultType names the ApiFault element of the
// detail (UnexpectedErrorFault, InvalidIdFault, InvalidSObjectFault); ""
// sends a plain soapenv:Client fault without detail.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm (API Fault Element)
func (s *Server) fault(c *exchange, status int, faultType, code, message string) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintf(&b, `<soapenv:Envelope xmlns:soapenv="%s" xmlns:sf="%s" xmlns:xsi="%s"><soapenv:Body><soapenv:Fault>`, nsSoapEnv, nsFault, nsXSI)
	if faultType == "" {
		fmt.Fprintf(&b, `<faultcode>soapenv:Client</faultcode><faultstring>%s</faultstring>`, esc(message))
	} else {
		fmt.Fprintf(&b, `<faultcode>sf:%s</faultcode><faultstring>%s: %s</faultstring>`, code, code, esc(message))
		fmt.Fprintf(&b, `<detail><sf:%s xsi:type="sf:%s"><sf:exceptionCode>%s</sf:exceptionCode><sf:exceptionMessage>%s</sf:exceptionMessage></sf:%s></detail>`,
			faultType, faultType, code, esc(message), faultType)
	}
	b.WriteString(`</soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	c.w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	c.w.WriteHeader(status)
	c.w.Write([]byte(b.String()))
}

// soapOK answers a response element, with the LimitInfoHeader SOAP API
// returns on every call.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_limitinfo.htm
func (s *Server) soapOK(c *exchange, body string) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintf(&b, `<soapenv:Envelope xmlns:soapenv="%s" xmlns="%s" xmlns:xsi="%s">`, nsSoapEnv, nsPartner, nsXSI)
	fmt.Fprintf(&b, `<soapenv:Header><LimitInfoHeader><limitInfo><current>%d</current><limit>%d</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header>`,
		len(s.arrivals), s.opts.DailyLimit)
	b.WriteString(`<soapenv:Body>`)
	b.WriteString(body)
	b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
	c.w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	c.w.WriteHeader(http.StatusOK)
	c.w.Write([]byte(b.String()))
}

func (s *Server) soap(c *exchange) (hang bool) {
	root, err := parseXML(c.body)
	body := root.child("Body")
	var op *xnode
	if body != nil && len(body.children) > 0 {
		op = body.children[0]
	}
	name := "?"
	if op != nil {
		name = op.name.Local
	}
	c.route += " " + name
	s.count(c)
	if c.r.Method != http.MethodPost || err != nil || root.name.Local != "Envelope" || op == nil {
		s.fault(c, http.StatusInternalServerError, "", "", "Unable to parse the SOAP request")
		return false
	}
	header := root.child("Header")
	if !s.tokens[header.child("SessionHeader").child("sessionId").value()] {
		s.stats.Unauthorized++
		s.fault(c, http.StatusInternalServerError, "UnexpectedErrorFault", "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
		return false
	}
	if !s.admit(c) {
		s.fault(c, http.StatusInternalServerError, "UnexpectedErrorFault", "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return false
	}
	if st, ok := s.injected(); ok {
		code, msg := codeForStatus(st)
		s.fault(c, st, "UnexpectedErrorFault", code, msg)
		return false
	}
	switch name {
	case "merge":
		s.stats.SOAPMerge++
		return s.merge(c, op)
	case "undelete":
		s.stats.Undelete++
		return s.undelete(c, op, header)
	}
	s.fault(c, http.StatusInternalServerError, "", "", fmt.Sprintf("No operation available for request {%s}%s", nsPartner, name))
	return false
}

type mergeReq struct {
	object  *object
	master  string // 18-character
	victims []string
	fields  map[string]any
}

type resultXML struct {
	id      string
	success bool
	errors  []saveError
	merged  []string
	related []string
}

func errorsXML(b *strings.Builder, errs []saveError) {
	for _, e := range errs {
		b.WriteString("<errors>")
		for _, f := range e.Fields {
			fmt.Fprintf(b, "<fields>%s</fields>", esc(f))
		}
		fmt.Fprintf(b, "<message>%s</message><statusCode>%s</statusCode></errors>", esc(e.Message), e.StatusCode)
	}
}

// merge serves merge(MergeRequest[]): each request merges up to two records
// into its master, in its own transaction. The master takes the field
// values given in masterRecord; the others go to the recycle bin with
// IsDeleted true and MasterRecordId set to the master; records of any
// object referring to them (an ID in a field) are reparented to the master
// and listed in updatedRelatedIds.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge_mergeresult.htm
func (s *Server) merge(c *exchange, op *xnode) (hang bool) {
	if len(op.children) > MaxMergeRequests {
		s.fault(c, http.StatusInternalServerError, "UnexpectedErrorFault", "EXCEEDED_ID_LIMIT",
			fmt.Sprintf("too many merge requests: %d, the limit is %d", len(op.children), MaxMergeRequests))
		return false
	}
	var reqs []mergeReq
	for _, rn := range op.children {
		mr := rn.child("masterRecord")
		typ := mr.child("type").value()
		if typ == "" {
			s.fault(c, http.StatusInternalServerError, "InvalidSObjectFault", "INVALID_TYPE", "Missing entity type information. sObject requires a separate 'type' field be sent.")
			return false
		}
		o := s.lookupObject(typ)
		if o == nil {
			s.fault(c, http.StatusInternalServerError, "InvalidSObjectFault", "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", typ))
			return false
		}
		if !mergeable[o.name] {
			s.fault(c, http.StatusInternalServerError, "UnexpectedErrorFault", "INVALID_TYPE_FOR_OPERATION", "entity type does not support merge")
			return false
		}
		req := mergeReq{object: o, fields: map[string]any{}}
		raw := []string{mr.child("Id").value()}
		for _, v := range rn.all("recordToMergeIds") {
			raw = append(raw, v.value())
		}
		for i, r := range raw {
			id, ok := normalizeID(r)
			if !ok {
				s.fault(c, http.StatusInternalServerError, "InvalidIdFault", "MALFORMED_ID", "malformed id "+r)
				return false
			}
			if i == 0 {
				req.master = id
			} else {
				req.victims = append(req.victims, id)
			}
		}
		for _, f := range mr.children {
			switch f.name.Local {
			case "type", "Id":
			case "fieldsToNull":
				req.fields[f.value()] = nil
			default:
				if f.isNil() {
					req.fields[f.name.Local] = nil
				} else {
					req.fields[f.name.Local] = f.value()
				}
			}
		}
		reqs = append(reqs, req)
	}
	var results []resultXML
	for _, req := range reqs {
		res := s.mergeOne(c, req)
		results = append(results, res)
		if c.cut {
			s.cutConnection(c)
			return false
		}
	}
	if hang, lost := s.lostAnswer(c); hang || lost {
		return hang
	}
	var b strings.Builder
	b.WriteString("<mergeResponse>")
	for _, r := range results {
		b.WriteString("<result>")
		errorsXML(&b, r.errors)
		fmt.Fprintf(&b, "<id>%s</id>", r.id)
		for _, id := range r.merged {
			fmt.Fprintf(&b, "<mergedRecordIds>%s</mergedRecordIds>", id)
		}
		fmt.Fprintf(&b, "<success>%t</success>", r.success)
		for _, id := range r.related {
			fmt.Fprintf(&b, "<updatedRelatedIds>%s</updatedRelatedIds>", id)
		}
		b.WriteString("</result>")
	}
	b.WriteString("</mergeResponse>")
	s.soapOK(c, b.String())
	return false
}

func (s *Server) mergeOne(c *exchange, req mergeReq) resultXML {
	o := req.object
	res := resultXML{id: req.master}
	fail := func(e saveError) resultXML {
		res.errors = append(res.errors, e)
		return res
	}
	switch n := len(req.victims); {
	case n == 0:
		return fail(newSaveError("MISSING_ARGUMENT", "recordToMergeIds not specified"))
	case n > MaxMergeVictims:
		return fail(newSaveError("LIMIT_EXCEEDED", fmt.Sprintf("A merge request can merge at most %d records into the master record", MaxMergeVictims)))
	}
	all := append([]string{req.master}, req.victims...)
	for i, id := range all {
		if id[:3] != o.prefix {
			return fail(newSaveError("INVALID_ID_FIELD", fmt.Sprintf("invalid record id %s for type %s", id, o.name)))
		}
		if slices.Contains(all[:i], id) {
			return fail(newSaveError("INVALID_MERGE_RECORD", "The same record can't be merged twice: "+id))
		}
		if r := s.records[id]; r == nil || r.deleted {
			return fail(newSaveError("ENTITY_IS_DELETED", "entity is deleted"))
		}
	}
	master := s.records[req.master]
	vals, errs := s.checkWrite(o, master, req.fields)
	for _, v := range req.victims {
		if f, bad := s.failRecords[v]; bad {
			errs = append(errs, newSaveError(f.code, f.message, f.fields...))
		}
	}
	if len(errs) > 0 {
		res.errors = errs
		return res
	}
	at := c.now.UTC().Truncate(time.Second)
	apply(master, vals, at)
	victims := map[string]bool{}
	for _, id := range req.victims {
		victims[id] = true
		r := s.records[id]
		s.recycle(r, at)
		r.masterRecordID = master.id
	}
	type reparent struct {
		r      *record
		fields map[string]any
	}
	var moved []reparent
	ids := make([]string, 0, len(s.records))
	for id := range s.records {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		r := s.records[id]
		if r.deleted || victims[id] || r == master {
			continue
		}
		changed := map[string]any{}
		for k, v := range r.fields {
			if str, ok := v.(string); ok {
				if ref, ok := normalizeID(str); ok && victims[ref] {
					r.fields[k] = master.id
					changed[k] = master.id
				}
			}
		}
		if len(changed) > 0 {
			r.modified = at
			moved = append(moved, reparent{r, changed})
		}
	}
	s.commit(c, Write{Object: o.name, ID: master.id, Op: "merge", Fields: vals})
	for _, id := range req.victims {
		s.commit(c, Write{Object: o.name, ID: id, Op: "merged", Fields: map[string]any{"MasterRecordId": master.id}})
	}
	for _, m := range moved {
		s.commit(c, Write{Object: m.r.object, ID: m.r.id, Op: "reparent", Fields: m.fields})
		res.related = append(res.related, m.r.id)
	}
	res.success = true
	res.merged = req.victims
	return res
}

// undelete serves undelete(ID[]): records in the recycle bin (deleted or
// merged away, for 15 days) come back with IsDeleted false. A record that
// is not in the recycle bin is UNDELETE_FAILED. The AllOrNoneHeader rolls
// everything back on any failure, the others reporting
// ALL_OR_NONE_OPERATION_ROLLED_BACK.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_undelete.htm
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_undelete_undeleteresult.htm
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_allornoneheader.htm
func (s *Server) undelete(c *exchange, op, header *xnode) (hang bool) {
	idNodes := op.all("ids")
	if len(idNodes) > MaxUndeleteIDs {
		s.fault(c, http.StatusInternalServerError, "UnexpectedErrorFault", "EXCEEDED_ID_LIMIT",
			fmt.Sprintf("too many ids: %d, the limit is %d", len(idNodes), MaxUndeleteIDs))
		return false
	}
	allOrNone := header.child("AllOrNoneHeader").child("allOrNone").value() == "true"
	results := make([]resultXML, len(idNodes))
	targets := make([]*record, len(idNodes))
	failed := false
	for i, n := range idNodes {
		raw := n.value()
		id, ok := normalizeID(raw)
		res := &results[i]
		res.id = raw
		switch {
		case !ok:
			res.errors = append(res.errors, newSaveError("MALFORMED_ID", "malformed id "+raw))
		case s.records[id] == nil || !s.records[id].deleted || slices.Contains(targets[:i], s.records[id]):
			res.id = id
			res.errors = append(res.errors, newSaveError("UNDELETE_FAILED", "Entity is not in the recycle bin"))
		default:
			res.id = id
			if f, bad := s.failRecords[id]; bad {
				res.errors = append(res.errors, newSaveError(f.code, f.message, f.fields...))
			} else {
				targets[i] = s.records[id]
			}
		}
		res.success = len(res.errors) == 0
		failed = failed || !res.success
	}
	if allOrNone && failed {
		for i := range results {
			if results[i].success {
				results[i].success = false
				results[i].errors = []saveError{newSaveError("ALL_OR_NONE_OPERATION_ROLLED_BACK",
					"Record rolled back because not all records were valid and the request was using AllOrNone header")}
			}
		}
	} else {
		at := c.now.UTC().Truncate(time.Second)
		for _, r := range targets {
			if r == nil {
				continue
			}
			r.deleted, r.deletedAt, r.modified = false, time.Time{}, at
			if s.opts.UndeleteClearsMasterRecordID {
				r.masterRecordID = ""
			}
			if s.commit(c, Write{Object: r.object, ID: r.id, Op: "undelete"}) && !allOrNone {
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
	}
	var b strings.Builder
	b.WriteString("<undeleteResponse>")
	for _, r := range results {
		b.WriteString("<result>")
		errorsXML(&b, r.errors)
		fmt.Fprintf(&b, "<id>%s</id><success>%t</success></result>", esc(r.id), r.success)
	}
	b.WriteString("</undeleteResponse>")
	s.soapOK(c, b.String())
	return false
}
