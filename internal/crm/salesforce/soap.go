package salesforce

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// The SOAP API is used for the two calls REST does not have: merge() and
// undelete(). They go to the partner endpoint POST
// {InstanceURL}/services/Soap/u/XX.X with the OAuth access token as the
// SessionHeader's sessionId, which Salesforce accepts in place of a
// login() session.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_header_sessionheader.htm
// https://developer.salesforce.com/blogs/developer-relations/2011/03/oauth-and-the-soap-api

const (
	nsSoapEnv = "http://schemas.xmlsoap.org/soap/envelope/"
	nsPartner = "urn:partner.soap.sforce.com"
	nsSObject = "urn:sobject.partner.soap.sforce.com"
)

// SOAPFault is a SOAP API fault: the whole call was refused, nothing done.
// Code is the ExceptionCode (faultcode without its "sf:" prefix).
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm (API Fault Element)
type SOAPFault struct {
	Call    string // merge, undelete
	Status  int
	Code    string // e.g. INVALID_ID_FIELD, MALFORMED_ID, INVALID_TYPE_FOR_OPERATION
	Message string
}

func (f *SOAPFault) Error() string {
	return fmt.Sprintf("salesforce: SOAP %s(): %s", f.Call, f.detail())
}

func (f *SOAPFault) detail() string {
	msg := f.Message
	// faultstring repeats the code: "INVALID_ID_FIELD: invalid record id".
	msg = strings.TrimPrefix(msg, f.Code+": ")
	return describeError(f.Code, msg, nil)
}

// soapFault finds a Fault in a SOAP answer.
func soapFault(resp *response) *SOAPFault {
	f := resp.env.child("Body").child("Fault")
	if f == nil {
		return nil
	}
	code := f.child("faultcode").value()
	if i := strings.LastIndexByte(code, ':'); i >= 0 {
		code = code[i+1:]
	}
	// The detail's exceptionCode is the more precise one when present.
	for _, d := range f.child("detail").children {
		if ec := d.child("exceptionCode").value(); ec != "" {
			code = ec
		}
	}
	return &SOAPFault{Status: resp.status, Code: code, Message: f.child("faultstring").value()}
}

// envelope wraps a partner API call in a SOAP envelope with the session.
func envelope(sessionID string, body string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintf(&b, `<soapenv:Envelope xmlns:soapenv="%s" xmlns:urn="%s" xmlns:urn1="%s">`, nsSoapEnv, nsPartner, nsSObject)
	b.WriteString(`<soapenv:Header><urn:SessionHeader><urn:sessionId>`)
	b.WriteString(xmlEscape(sessionID))
	b.WriteString(`</urn:sessionId></urn:SessionHeader></soapenv:Header><soapenv:Body>`)
	b.WriteString(body)
	b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
	return []byte(b.String())
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// soapResult is one result of merge() or undelete(): MergeResult or
// UndeleteResult.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge_mergeresult.htm
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_undelete_undeleteresult.htm
type soapResult struct {
	ID                string
	Success           bool
	Errors            []saveError
	MergedRecordIDs   []string
	UpdatedRelatedIDs []string
}

// errorText is the result's errors as a receipt shows them.
func (r soapResult) errorText() string {
	return saveErrorsText(r.Errors)
}

// soapCall sends a partner API call and returns its results, in request
// order. A fault is a *SOAPFault; retry says whether the call may be sent
// again after a 5xx or a lost answer.
func (c *Client) soapCall(ctx context.Context, k kind, call, body, what string, retry bool) ([]soapResult, error) {
	req := request{kind: k, method: http.MethodPost, path: "/services/Soap/u/" + c.version,
		soap: func(sid string) []byte { return envelope(sid, body) }, retry: retry, what: what}
	resp, err := c.do(ctx, req)
	if f, ok := err.(*SOAPFault); ok {
		f.Call = call
		return nil, f
	}
	if err != nil {
		return nil, err
	}
	out := resp.env.child("Body").child(call + "Response")
	if out == nil {
		// A 2xx we cannot read: the call may well have been done.
		return nil, &unknownOutcomeError{cause: fmt.Sprintf("SOAP %s(): unreadable answer", call)}
	}
	var results []soapResult
	for _, r := range out.all("result") {
		res := soapResult{ID: r.child("id").value(), Success: r.child("success").value() == "true"}
		for _, e := range r.all("errors") {
			se := saveError{StatusCode: e.child("statusCode").value(), Message: c.redact(e.child("message").value())}
			for _, f := range e.all("fields") {
				se.Fields = append(se.Fields, f.value())
			}
			res.Errors = append(res.Errors, se)
		}
		for _, m := range r.all("mergedRecordIds") {
			res.MergedRecordIDs = append(res.MergedRecordIDs, m.value())
		}
		for _, m := range r.all("updatedRelatedIds") {
			res.UpdatedRelatedIDs = append(res.UpdatedRelatedIDs, m.value())
		}
		results = append(results, res)
	}
	return results, nil
}

// mergeRequest is one MergeRequest: up to two records merged into a master.
type mergeRequest struct {
	object string
	master string
	losers []string
}

// soapMerge calls merge() with up to 200 MergeRequests, each merging up to
// two records into its master ("Up to 200 merge requests can be made in a
// single SOAP call"; "Up to three records can be merged in a single
// request, including the master record"). Each request is its own
// transaction. The masterRecord carries only type and Id: no field of the
// master is changed. A merge is not idempotent, so it is never sent again
// blindly: a lost answer is an unknownOutcomeError, settled by reading the
// records back.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_merge.htm
func (c *Client) soapMerge(ctx context.Context, reqs []mergeRequest) ([]soapResult, error) {
	var b strings.Builder
	n := 0
	b.WriteString("<urn:merge>")
	for _, r := range reqs {
		b.WriteString("<urn:request><urn:masterRecord>")
		fmt.Fprintf(&b, "<urn1:type>%s</urn1:type><urn1:Id>%s</urn1:Id>", xmlEscape(r.object), xmlEscape(r.master))
		b.WriteString("</urn:masterRecord>")
		for _, l := range r.losers {
			fmt.Fprintf(&b, "<urn:recordToMergeIds>%s</urn:recordToMergeIds>", xmlEscape(l))
			n++
		}
		b.WriteString("</urn:request>")
	}
	b.WriteString("</urn:merge>")
	what := fmt.Sprintf("merging %d %s records", n, reqs[0].object)
	results, err := c.soapCall(ctx, kindMerge, "merge", b.String(), what, false)
	if err == nil && len(results) != len(reqs) {
		return nil, &unknownOutcomeError{cause: fmt.Sprintf("SOAP merge(): %d results for %d requests", len(results), len(reqs))}
	}
	return results, err
}

// soapUndelete calls undelete() for up to 200 records in the Recycle Bin.
// Undeleting twice changes nothing more (the second is refused with
// UNDELETE_FAILED), but its answer would then not tell the first's, so a
// lost answer is settled by reading the records back, like a merge.
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_undelete.htm
func (c *Client) soapUndelete(ctx context.Context, object string, ids []string) ([]soapResult, error) {
	var b strings.Builder
	b.WriteString("<urn:undelete>")
	for _, id := range ids {
		fmt.Fprintf(&b, "<urn:ids>%s</urn:ids>", xmlEscape(id))
	}
	b.WriteString("</urn:undelete>")
	what := fmt.Sprintf("undeleting %d %s records", len(ids), object)
	results, err := c.soapCall(ctx, kindUndelete, "undelete", b.String(), what, false)
	if err == nil && len(results) != len(ids) {
		return nil, &unknownOutcomeError{cause: fmt.Sprintf("SOAP undelete(): %d results for %d ids", len(results), len(ids))}
	}
	return results, err
}

// xnode is a parsed XML element. Lookups go by local name: Salesforce's
// answers bind the partner namespace as the default or to a prefix.
type xnode struct {
	name     xml.Name
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
			n := &xnode{name: t.Name}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
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
