package salesforce

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/salesforce/sftest"
)

func TestCanonicalID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"003Dn00000ABCDE", "003Dn00000ABCDEIA5", true},    // 15 -> 18
		{"003Dn00000ABCDEIA5", "003Dn00000ABCDEIA5", true}, // 18 as is
		{"003dn00000abcdeia5", "003Dn00000ABCDEIA5", true}, // case lost, restored from the suffix
		// A suffix that says "all lower case" names the lower-case id: another
		// record, not an error.
		{"003Dn00000ABCDEAAA", "003dn00000abcdeAAA", true},
		{"003Dn00000ABCD1ZZZ", "", false}, // the suffix marks a digit upper case
		{"003Dn00000ABCD", "", false},     // too short
		{"003Dn00000ABCD'", "", false},    // not alphanumeric
	}
	for _, tt := range tests {
		got, ok := canonicalID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("canonicalID(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGet(t *testing.T) {
	e := newEnv(t, sftest.Options{})
	a := e.s.Seed("Contact", kv("Email", "a@x.com", "LastName", "Able", "NumberOfEmployees__c", 12, "DoNotCall", true, "Title", nil))
	b := e.s.Seed("Contact", kv("Email", "b@x.com", "LastName", "Baker"))
	gone := e.s.Seed("Contact", kv("Email", "gone@x.com", "LastName", "Gone"))
	e.s.Delete("Contact", gone)
	missing := "003Dn000009ZZZZAAA" // well formed, no such record
	if _, ok := canonicalID(missing); !ok {
		t.Fatal("bad test id")
	}
	short := a[:15]

	got, err := e.c.Get(t.Context(), "Contact", []string{a, short, b, gone, missing, "not-an-id"},
		[]string{"Email", "lastname", "NumberOfEmployees__c", "DoNotCall", "Title"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d records (%v), want a, its 15-character form and b", len(got), keys(got))
	}
	want := map[string]string{"Email": "a@x.com", "lastname": "Able", "NumberOfEmployees__c": "12", "DoNotCall": "true"}
	if r := got[a]; r.ID != a || !mapsEqual(r.Fields, want) || r.MergedInto != "" {
		t.Errorf("Get[a] = %+v, want fields %v (numbers and booleans as JSON text, null absent)", r, want)
	}
	if r := got[short]; r.ID != a {
		t.Errorf("the 15-character id is keyed as given with the 18-character Record.ID: %+v", r)
	}
	if _, ok := got[gone]; ok {
		t.Error("a record deleted without a merge (Recycle Bin) was returned")
	}
	if st := e.c.Stats(); st.QueryAll != 1 || st.APICalls() != 1 {
		t.Errorf("stats = %+v, want one queryAll", st)
	}

	t.Run("a merged-away record comes with its survivor", func(t *testing.T) {
		res, err := e.c.Merge(t.Context(), []crm.MergeRequest{{Object: "Contact", Survivor: a, Loser: b}})
		if err != nil || res[0].Status != crm.Applied {
			t.Fatalf("merge: %v %+v", err, res)
		}
		got, err := e.c.Get(t.Context(), "Contact", []string{b}, []string{"Email"})
		if err != nil {
			t.Fatal(err)
		}
		if r := got[b]; r.MergedInto != a || r.Fields["Email"] != "b@x.com" {
			t.Errorf("Get[b] = %+v, want MergedInto %s and its own fields", r, a)
		}
	})

	t.Run("no ids, no call", func(t *testing.T) {
		before := e.c.Stats().APICalls()
		got, err := e.c.Get(t.Context(), "Contact", []string{"", "x"}, []string{"Email"})
		if err != nil || len(got) != 0 || e.c.Stats().APICalls() != before {
			t.Errorf("Get of no valid ids = %v, %v, calls %d -> %d", got, err, before, e.c.Stats().APICalls())
		}
	})

	t.Run("names that are not API names are refused before any call", func(t *testing.T) {
		for _, tc := range []struct{ object, field string }{{"Contact; DELETE", "Email"}, {"Contact", "Email) OR (Id"}} {
			if _, err := e.c.Get(t.Context(), tc.object, []string{a}, []string{tc.field}); err == nil {
				t.Errorf("Get(%q, %q) was accepted", tc.object, tc.field)
			}
		}
	})

	t.Run("an unknown field fails the whole call with Salesforce's error", func(t *testing.T) {
		_, err := e.c.Get(t.Context(), "Contact", []string{a}, []string{"Nope__c"})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "INVALID_FIELD" {
			t.Errorf("err = %v, want INVALID_FIELD", err)
		}
	})
}

func TestGetChunksKeepTheURLShort(t *testing.T) {
	e := newEnv(t, sftest.Options{})
	ids := seedContacts(e.s, 700, func(i int) map[string]any { return kv("Email", fmt.Sprintf("c%d@x.com", i)) })
	got, err := e.c.Get(t.Context(), "Contact", ids, []string{"Email"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 700 || got[ids[699]].Fields["Email"] != "c699@x.com" {
		t.Fatalf("got %d records", len(got))
	}
	n := e.c.Stats().QueryAll
	if n < 3 || n > 4 {
		t.Errorf("700 ids took %d queryAll calls, want 3 (about 250 ids each)", n)
	}
}

func TestListPagingAndBulkGiveTheSameRecords(t *testing.T) {
	const n = 130
	seed := func(s *sftest.Server) []string {
		ids := seedContacts(s, n, func(i int) map[string]any {
			return kv("Email", fmt.Sprintf("c%03d@x.com", i), "LastName", `O"Neil, "Jr"`+"\n"+fmt.Sprint(i), "Score__c", i%7, "DoNotCall", i%2 == 0)
		})
		s.Delete("Contact", ids[5]) // not live: listed by neither
		return slices.Delete(ids, 5, 6)
	}
	list := func(t *testing.T, threshold int) ([]crm.Record, Stats) {
		e := newEnv(t, sftest.Options{QueryBatchSize: 50, BulkPollsToComplete: 3}, func(c *Config) {
			c.BulkThreshold = threshold
			c.BulkMaxRecords = 40
		})
		want := seed(e.s)
		var got []crm.Record
		err := e.c.List(t.Context(), "Contact", []string{"Email", "LastName", "Score__c", "DoNotCall"}, func(r crm.Record) error {
			got = append(got, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(got))
		for i, r := range got {
			ids[i] = r.ID
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("listed %d ids, want the %d live ones in Id order", len(ids), len(want))
		}
		return got, e.c.Stats()
	}
	paged, pst := list(t, -1)
	bulk, bst := list(t, 60)
	if pst.Query != 1 || pst.QueryMore != 2 || pst.BulkCreate != 0 {
		t.Errorf("paging stats = %+v, want 1 query and 2 pages more", pst)
	}
	// The first REST page (50) is kept; the other 79 come from the job in
	// pages of 40.
	if bst.Query != 1 || bst.QueryMore != 0 || bst.BulkCreate != 1 || bst.BulkStatus != 3 || bst.BulkResults != 2 {
		t.Errorf("bulk stats = %+v, want 1 query, 1 job, 3 polls, 2 results pages", bst)
	}
	for i := range paged {
		if paged[i].ID != bulk[i].ID || !mapsEqual(paged[i].Fields, bulk[i].Fields) {
			t.Fatalf("record %d: paging %+v, bulk %+v", i, paged[i], bulk[i])
		}
	}
	if r := paged[0]; r.Fields["Score__c"] != "0" || r.Fields["DoNotCall"] != "true" || !strings.Contains(r.Fields["LastName"], `"Jr"`+"\n") {
		t.Errorf("values = %v", r.Fields)
	}
}

func TestListBulkFromTheStart(t *testing.T) {
	// A query too long for a URL goes to Bulk API 2.0 straight away.
	var fields []string
	for i := range 400 {
		fields = append(fields, fmt.Sprintf("A_Rather_Long_Custom_Field_Name_%03d__c", i))
	}
	e := newEnv(t, sftest.Options{Fields: map[string][]string{"Contact": fields}})
	ids := seedContacts(e.s, 3, func(i int) map[string]any { return kv(fields[399], fmt.Sprint(i)) })
	var got []crm.Record
	if err := e.c.List(t.Context(), "Contact", fields, func(r crm.Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].ID != ids[2] || got[2].Fields[fields[399]] != "2" {
		t.Fatalf("got %+v", got)
	}
	if st := e.c.Stats(); st.Query != 0 || st.BulkCreate != 1 {
		t.Errorf("stats = %+v, want the job only", st)
	}
}

func TestListBulkJobFailure(t *testing.T) {
	e := newEnv(t, sftest.Options{QueryBatchSize: 10}, func(c *Config) { c.BulkThreshold = 5 })
	seedContacts(e.s, 30, func(int) map[string]any { return kv("Email", "x@x.com") })
	e.s.FailNextBulkJobs(1, "Query timed out")
	n := 0
	err := e.c.List(t.Context(), "Contact", []string{"Email"}, func(crm.Record) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), "ended Failed: Query timed out") {
		t.Fatalf("err = %v", err)
	}
	if n != 10 {
		t.Errorf("%d records passed on before the failure, want the first page's 10", n)
	}
}

func TestListStopsWhenFnFails(t *testing.T) {
	e := newEnv(t, sftest.Options{QueryBatchSize: 10})
	seedContacts(e.s, 30, func(int) map[string]any { return kv("Email", "x@x.com") })
	stop := errors.New("enough")
	n := 0
	err := e.c.List(t.Context(), "Contact", []string{"Email"}, func(crm.Record) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || e.c.Stats().QueryMore != 0 {
		t.Errorf("err = %v, stats %+v", err, e.c.Stats())
	}
}

func keys(m map[string]crm.Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestAllFieldsFromDescribe(t *testing.T) {
	e := newEnv(t, sftest.Options{})
	e.s.SetFieldType("Contact", "MailingAddress", "address")
	e.s.SetFieldType("Contact", "Photo__c", "base64")
	e.s.SetFieldType("Contact", "Where__c", "location")
	id := e.s.Seed("Contact", kv("Email", "a@x.com", "Title", "CEO"))
	got, err := e.c.Get(t.Context(), "Contact", []string{id}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := got[id]
	if r.Fields["Email"] != "a@x.com" || r.Fields["Title"] != "CEO" || r.Fields["IsDeleted"] != "false" || r.Fields["LastModifiedDate"] == "" {
		t.Errorf("fields = %v", r.Fields)
	}
	for _, f := range []string{"Id", "MailingAddress", "Photo__c", "Where__c"} {
		if _, ok := r.Fields[f]; ok {
			t.Errorf("field %s returned", f)
		}
	}
	var listed []crm.Record
	if err := e.c.List(t.Context(), "Contact", nil, func(r crm.Record) error { listed = append(listed, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || !mapsEqual(listed[0].Fields, r.Fields) {
		t.Errorf("List = %+v, want the same fields as Get: %v", listed, r.Fields)
	}
	if st := e.c.Stats(); st.Describe != 1 {
		t.Errorf("%d describe calls, want 1 (cached per object)", st.Describe)
	}
	fields, err := e.c.Fields(t.Context(), "Contact")
	if err != nil || slices.Contains(fields, "MailingAddress") || !slices.Contains(fields, "Email") {
		t.Errorf("Fields = %v, %v", fields, err)
	}
	if _, err := e.c.Get(t.Context(), "Nope__c", []string{id}, nil); err == nil || !strings.Contains(err.Error(), "the org has no Nope__c object") {
		t.Errorf("Get of an unknown object = %v", err)
	}
}
