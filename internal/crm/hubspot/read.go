package hubspot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crmops/crmops/internal/crm"
)

// maxBatch is HubSpot's limit on inputs per batch request (read, update).
// The limit is stated for the CRM object batch endpoints in HubSpot's
// contacts guide (https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/guide,
// as quoted by HubSpot's community in Sept 2025); the pages of it we could
// retrieve do not show the sentence itself, so this is the one number here
// we could not read in HubSpot's own words. Larger batches are rejected
// with 400 VALIDATION_ERROR.
const maxBatch = 100

// pageSize is the list endpoint's largest page (its limit parameter).
const pageSize = 100

// mergedIDsProperty lists, on a record, the ids merged into it,
// separated by ";" (the "Merged [record] IDs" property).
// https://knowledge.hubspot.com/records/merge-records
const mergedIDsProperty = "hs_merged_object_ids"

// object is a CRM record as HubSpot returns it ("SimplePublicObject").
type hsObject struct {
	ID         string               `json:"id"`
	Properties map[string]propertyV `json:"properties"`
	Archived   bool                 `json:"archived"`
}

// propertyV is a property value: HubSpot sends strings, or null when a
// requested property is unset. Anything else is kept as its JSON text.
type propertyV string

func (p *propertyV) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = propertyV(s)
		return nil
	}
	*p = propertyV(b)
	return nil
}

// batchError is one entry of a batch answer's errors (207 Multi-Status).
// context usually holds the affected ids under "ids"; some entries carry an
// "id" instead. Entries have no correlationId of their own.
// https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects
type batchError struct {
	Status        string                     `json:"status"`
	Category      string                     `json:"category"`
	Message       string                     `json:"message"`
	ID            string                     `json:"id"`
	CorrelationID string                     `json:"correlationId"`
	Context       map[string]json.RawMessage `json:"context"`
}

// ids returns the record ids an error entry is about.
func (e batchError) ids() []string {
	var ids []string
	if e.ID != "" {
		ids = append(ids, e.ID)
	}
	if raw, ok := e.Context["ids"]; ok {
		var list []string
		if json.Unmarshal(raw, &list) == nil {
			ids = append(ids, list...)
		}
	}
	return ids
}

type batchResponse struct {
	Status  string       `json:"status"`
	Results []hsObject   `json:"results"`
	Errors  []batchError `json:"errors"`
}

func objectPath(object string, rest ...string) string {
	p := "/crm/v3/objects/" + url.PathEscape(object)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// batchRead reads up to maxBatch ids. Ids HubSpot does not have are
// reported in a 207 answer's errors with category OBJECT_NOT_FOUND; they
// are left out. Any other error entry fails the read.
func (c *Client) batchRead(ctx context.Context, object string, ids, props []string) ([]hsObject, error) {
	type input struct {
		ID string `json:"id"`
	}
	body := struct {
		Inputs     []input  `json:"inputs"`
		Properties []string `json:"properties"`
	}{Properties: props}
	for _, id := range ids {
		body.Inputs = append(body.Inputs, input{id})
	}
	req := request{method: http.MethodPost, path: objectPath(object, "batch", "read"), body: body}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var out batchResponse
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, fmt.Errorf("hubspot: %s: unreadable answer: %v", req, err)
	}
	for _, e := range out.Errors {
		if e.Category != "OBJECT_NOT_FOUND" {
			return nil, fmt.Errorf("hubspot: %s: %s", req,
				describe(e.Category, c.redact(e.Message), cmp.Or(e.CorrelationID, correlationHeader(resp.header))))
		}
	}
	return out.Results, nil
}

// fields turns HubSpot's properties into crm fields: unset (null) and empty
// values are absent; with want non-nil only those properties are kept.
func fields(props map[string]propertyV, want []string) map[string]string {
	out := make(map[string]string, len(props))
	if want == nil {
		for k, v := range props {
			if v != "" && k != mergedIDsProperty {
				out[k] = string(v)
			}
		}
		return out
	}
	for _, k := range want {
		if v := props[k]; v != "" {
			out[k] = string(v)
		}
	}
	return out
}

// Get reads records by id with batch read, 100 ids per request. Ids that
// do not exist are absent from the map.
//
// An id that was merged away is returned with MergedInto set to the record
// it now resolves to, and that record's fields. HubSpot resolves old ids to
// the merged record ("fetching any records using the original IDs will
// return the new merged record with the new ID"), and the merged record's
// hs_merged_object_ids lists the old ids, which is how an answer is matched
// to the id asked for.
// https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies
//
// fields nil means every property of the object, which costs one extra
// request per object (GET /crm/v3/properties/{object}, cached).
func (c *Client) Get(ctx context.Context, object string, ids []string, fieldNames []string) (map[string]crm.Record, error) {
	out := make(map[string]crm.Record, len(ids))
	uniq := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	if len(uniq) == 0 {
		return out, nil
	}
	props := fieldNames
	if props == nil {
		var err error
		if props, err = c.propertyNames(ctx, object); err != nil {
			return nil, err
		}
	}
	props = withProperty(props, mergedIDsProperty)
	for start := 0; start < len(uniq); start += maxBatch {
		chunk := uniq[start:min(start+maxBatch, len(uniq))]
		results, err := c.batchRead(ctx, object, chunk, props)
		if err != nil {
			return nil, err
		}
		// An answer stands for its own id and for every id merged into it.
		byID := map[string]*hsObject{}
		for i := range results {
			r := &results[i]
			for _, old := range splitIDs(string(r.Properties[mergedIDsProperty])) {
				if _, taken := byID[old]; !taken {
					byID[old] = r
				}
			}
		}
		for i := range results {
			byID[results[i].ID] = &results[i]
		}
		for _, id := range chunk {
			r, ok := byID[id]
			if !ok {
				continue
			}
			rec := crm.Record{ID: id, Fields: fields(r.Properties, fieldNames)}
			if r.ID != id {
				rec.MergedInto = r.ID
			}
			out[id] = rec
		}
	}
	return out, nil
}

func withProperty(props []string, p string) []string {
	if slices.Contains(props, p) {
		return props
	}
	return append(slices.Clip(props), p)
}

func splitIDs(s string) []string {
	var out []string
	for _, id := range strings.Split(s, ";") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// getOne reads one record with GET /crm/v3/objects/{object}/{id}, which
// follows merges; ok is false on 404.
func (c *Client) getOne(ctx context.Context, object, id string, props []string) (obj hsObject, ok bool, err error) {
	q := url.Values{}
	if len(props) > 0 {
		q.Set("properties", strings.Join(props, ","))
	}
	req := request{method: http.MethodGet, path: objectPath(object, url.PathEscape(id)), query: q}
	resp, err := c.do(ctx, req)
	if e := (*APIError)(nil); errors.As(err, &e) && e.Status == http.StatusNotFound {
		return hsObject{}, false, nil
	}
	if err != nil {
		return hsObject{}, false, err
	}
	if err := json.Unmarshal(resp.body, &obj); err != nil {
		return hsObject{}, false, fmt.Errorf("hubspot: %s: unreadable answer: %v", req, err)
	}
	return obj, true, nil
}

type page struct {
	Results []hsObject `json:"results"`
	Paging  struct {
		Next struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

// List calls fn for every record of object with GET
// /crm/v3/objects/{object}?limit=100&properties=...&after=..., following
// paging.next.after until there is none. Records come in the order HubSpot
// pages them (ascending id in practice; HubSpot does not document an
// order). Archived records are not listed, and merged-away ids are not
// records any more, so every record is live.
// https://developers.hubspot.com/docs/guides/crm/using-object-apis
//
// With fields nil, each page is listed without properties and read again
// with batch read: naming every property in the list URL could exceed the
// URL length HubSpot accepts (414).
// https://developers.hubspot.com/docs/api-reference/error-handling
func (c *Client) List(ctx context.Context, object string, fieldNames []string, fn func(crm.Record) error) error {
	q := url.Values{"limit": {strconv.Itoa(pageSize)}, "archived": {"false"}}
	if fieldNames != nil {
		q.Set("properties", strings.Join(fieldNames, ","))
	} else {
		q.Set("properties", "hs_object_id")
	}
	for {
		req := request{method: http.MethodGet, path: objectPath(object), query: q}
		resp, err := c.do(ctx, req)
		if err != nil {
			return err
		}
		var p page
		if err := json.Unmarshal(resp.body, &p); err != nil {
			return fmt.Errorf("hubspot: %s: unreadable answer: %v", req, err)
		}
		var full map[string]crm.Record
		if fieldNames == nil && len(p.Results) > 0 {
			ids := make([]string, len(p.Results))
			for i, r := range p.Results {
				ids[i] = r.ID
			}
			if full, err = c.Get(ctx, object, ids, nil); err != nil {
				return err
			}
		}
		for _, r := range p.Results {
			rec := crm.Record{ID: r.ID, Fields: fields(r.Properties, fieldNames)}
			if full != nil {
				got, ok := full[r.ID]
				if !ok || got.MergedInto != "" {
					continue // gone between the two reads
				}
				rec.Fields = got.Fields
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if p.Paging.Next.After == "" {
			return nil
		}
		q.Set("after", p.Paging.Next.After)
	}
}

// propertyNames returns every property name of object, read once from
// GET /crm/v3/properties/{object}.
func (c *Client) propertyNames(ctx context.Context, object string) ([]string, error) {
	c.mu.Lock()
	names, ok := c.properties[object]
	c.mu.Unlock()
	if ok {
		return names, nil
	}
	req := request{method: http.MethodGet, path: "/crm/v3/properties/" + url.PathEscape(object)}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []struct {
			Name string `json:"name"`
		} `json:"results"`
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, fmt.Errorf("hubspot: %s: unreadable answer: %v", req, err)
	}
	names = make([]string, 0, len(out.Results))
	for _, r := range out.Results {
		names = append(names, r.Name)
	}
	c.mu.Lock()
	c.properties[object] = names
	c.mu.Unlock()
	return names, nil
}

// Owner is a HubSpot user that records can be assigned to. ID is what the
// hubspot_owner_id property holds; UserID is the user's id in settings.
type Owner struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
	UserID    int64
	Archived  bool
}

// Owners lists the account's owners with GET /crm/v3/owners, following
// paging.next.after.
// https://developers.hubspot.com/docs/api-reference/crm-crm-owners-v3/guide
func (c *Client) Owners(ctx context.Context) ([]Owner, error) {
	q := url.Values{"limit": {"100"}}
	var owners []Owner
	for {
		req := request{method: http.MethodGet, path: "/crm/v3/owners", query: q}
		resp, err := c.do(ctx, req)
		if err != nil {
			return nil, err
		}
		var p struct {
			Results []struct {
				ID        string `json:"id"`
				Email     string `json:"email"`
				FirstName string `json:"firstName"`
				LastName  string `json:"lastName"`
				UserID    int64  `json:"userId"`
				Archived  bool   `json:"archived"`
			} `json:"results"`
			Paging struct {
				Next struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		if err := json.Unmarshal(resp.body, &p); err != nil {
			return nil, fmt.Errorf("hubspot: %s: unreadable answer: %v", req, err)
		}
		for _, o := range p.Results {
			owners = append(owners, Owner{ID: o.ID, Email: o.Email, FirstName: o.FirstName,
				LastName: o.LastName, UserID: o.UserID, Archived: o.Archived})
		}
		if p.Paging.Next.After == "" {
			return owners, nil
		}
		q.Set("after", p.Paging.Next.After)
	}
}
