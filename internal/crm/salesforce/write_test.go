package salesforce

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/salesforce/sftest"
)

func TestCompareAndSet(t *testing.T) {
	tests := []struct {
		name string
		req  func(id string) crm.SetRequest
		want crm.Result
		// wantValue is the field afterwards; wantWrites how many times the
		// record was written.
		wantValue  string
		wantWrites int
	}{
		{"an empty field is filled when before is empty",
			func(id string) crm.SetRequest { return set(id, "Title", "", "VP Sales") },
			crm.Result{Status: crm.Applied}, "VP Sales", 1},
		{"a value still equal to before is overwritten",
			func(id string) crm.SetRequest { return set(id, "LeadSource", "Web", "Partner") },
			crm.Result{Status: crm.Applied, Observed: "Web"}, "Partner", 1},
		{"an empty after clears the field (null)",
			func(id string) crm.SetRequest { return set(id, "LeadSource", "Web", "") },
			crm.Result{Status: crm.Applied, Observed: "Web"}, "", 1},
		{"a value changed since detection is stale and left alone",
			func(id string) crm.SetRequest { return set(id, "LeadSource", "Phone", "Partner") },
			crm.Result{Status: crm.Stale, Observed: "Web", Error: `expected "Phone", found "Web"`}, "Web", 0},
		{"a field filled since detection is stale",
			func(id string) crm.SetRequest { return set(id, "Email", "", "b@x.com") },
			crm.Result{Status: crm.Stale, Observed: "a@x.com", Error: `expected "", found "a@x.com"`}, "a@x.com", 0},
		{"a value already equal to after is already applied even if before differs",
			func(id string) crm.SetRequest { return set(id, "LeadSource", "Phone", "Web") },
			crm.Result{Status: crm.AlreadyApplied, Observed: "Web"}, "Web", 0},
		{"a number compares as its JSON text",
			func(id string) crm.SetRequest { return set(id, "Score__c", "12", "13") },
			crm.Result{Status: crm.Applied, Observed: "12"}, "13", 1},
		{"a record that does not exist fails",
			func(string) crm.SetRequest { return set("003Dn000009ZZZZAAA", "Title", "", "CEO") },
			crm.Result{Status: crm.Failed, Error: "record not found"}, "", 0},
		{"a malformed id fails without a call",
			func(string) crm.SetRequest { return set("1001", "Title", "", "CEO") },
			crm.Result{Status: crm.Failed, Error: `"1001" is not a Salesforce record Id (15 or 18 letters and digits)`}, "", 0},
		{"an empty field name fails without a call",
			func(id string) crm.SetRequest { return set(id, "", "", "x") },
			crm.Result{Status: crm.Failed, Error: "empty field name"}, "", 0},
		{"a system field cannot be written",
			func(id string) crm.SetRequest { return set(id, "LastModifiedDate", "", "2020-01-01") },
			crm.Result{Status: crm.Failed, Error: "field LastModifiedDate is set by Salesforce and cannot be written"}, "", 0},
	}
	both(t, func(t *testing.T, mode func(*Config)) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, sftest.Options{}, mode)
				id := e.s.Seed("Contact", kv("Email", "a@x.com", "LeadSource", "Web", "Score__c", 12, "Title", nil))
				req := tt.req(id)
				got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{req})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0] != tt.want {
					t.Fatalf("results = %+v, want [%+v]", got, tt.want)
				}
				if req.Record != id || req.Field == "" || strings.HasPrefix(tt.want.Error, "field") {
					if n := e.c.Stats().APICalls(); tt.want.Status == crm.Failed && tt.want.Error != "record not found" && n != 0 {
						t.Errorf("%d calls for a request refused locally", n)
					}
					return
				}
				if v := field(t, e.s, "Contact", id, req.Field); v != tt.wantValue {
					t.Errorf("%s = %q afterwards, want %q", req.Field, v, tt.wantValue)
				}
				if n := len(e.s.Writes()); n != tt.wantWrites {
					t.Errorf("%d writes, want %d", n, tt.wantWrites)
				}
			})
		}

		t.Run("a record merged away is stale, one deleted fails", func(t *testing.T) {
			e := newEnv(t, sftest.Options{}, mode)
			ids := seedContacts(e.s, 3, func(int) map[string]any { return kv("Email", "a@x.com") })
			mustMerge(t, e, ids[0], ids[1])
			e.s.Delete("Contact", ids[2])
			got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
				set(ids[1], "Title", "", "CEO"), set(ids[2], "Title", "", "CEO"),
			})
			if err != nil {
				t.Fatal(err)
			}
			want := []crm.Result{
				{Status: crm.Stale, Error: "record was merged into " + ids[0]},
				{Status: crm.Failed, Error: "record was deleted in Salesforce (it is in the Recycle Bin)"},
			}
			if !slices.Equal(got, want) {
				t.Errorf("results = %+v, want %+v", got, want)
			}
		})

		t.Run("a 15-character id is accepted", func(t *testing.T) {
			e := newEnv(t, sftest.Options{}, mode)
			id := e.s.Seed("Contact", nil)
			got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set(id[:15], "Title", "", "CEO")})
			if err != nil || got[0].Status != crm.Applied || field(t, e.s, "Contact", id, "Title") != "CEO" {
				t.Errorf("results %+v, %v", got, err)
			}
		})

		t.Run("two changes to the same field apply in order, each judged against the one before", func(t *testing.T) {
			e := newEnv(t, sftest.Options{}, mode)
			id := e.s.Seed("Contact", kv("LeadSource", "Web"))
			got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
				set(id, "LeadSource", "Web", "Phone"), set(id, "LeadSource", "Phone", "Partner"),
			})
			want := []crm.Result{{Status: crm.Applied, Observed: "Web"}, {Status: crm.Applied, Observed: "Phone"}}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("results = %+v, %v; want %+v", got, err, want)
			}
		})

		t.Run("changes to several objects in one call each go to their object", func(t *testing.T) {
			e := newEnv(t, sftest.Options{}, mode)
			contact := e.s.Seed("Contact", nil)
			account := e.s.Seed("Account", kv("Name", "Acme"))
			got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
				set(contact, "Title", "", "CTO"),
				{Object: "Account", Record: account, Field: "Industry", After: "Energy"},
			})
			if err != nil || got[0].Status != crm.Applied || got[1].Status != crm.Applied {
				t.Fatalf("results %+v, %v", got, err)
			}
			if field(t, e.s, "Account", account, "Industry") != "Energy" || field(t, e.s, "Contact", contact, "Title") != "CTO" {
				t.Error("a change went to the wrong object")
			}
		})

		t.Run("a validation rule fails only its own change, even on the same record", func(t *testing.T) {
			e := newEnv(t, sftest.Options{}, mode)
			ids := seedContacts(e.s, 3, func(int) map[string]any { return nil })
			e.s.RejectValue("Contact", "Title", "Boss", "Title may not be Boss")
			got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
				set(ids[0], "Title", "", "CTO"),
				set(ids[1], "Title", "", "Boss"),
				set(ids[1], "Department", "", "Sales"),
				set(ids[2], "Title", "", "CFO"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []crm.Status{crm.Applied, crm.Failed, crm.Applied, crm.Applied}; !slices.Equal(statuses(got), want) {
				t.Fatalf("statuses = %v, want %v (%+v)", statuses(got), want, got)
			}
			if want := "Salesforce FIELD_CUSTOM_VALIDATION_EXCEPTION: Title may not be Boss (fields: Title)"; got[1].Error != want {
				t.Errorf("error = %q, want %q", got[1].Error, want)
			}
			if field(t, e.s, "Contact", ids[1], "Department") != "Sales" || field(t, e.s, "Contact", ids[1], "Title") != "" {
				t.Error("the record's good field was not written, or its bad one was")
			}
		})

		t.Run("a record error that names no field fails that record's changes only", func(t *testing.T) {
			e := newEnv(t, sftest.Options{}, mode)
			ids := seedContacts(e.s, 3, func(int) map[string]any { return nil })
			e.s.FailRecord(ids[1], "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
			got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
				set(ids[0], "Title", "", "CTO"), set(ids[1], "Title", "", "CEO"), set(ids[1], "Department", "", "Sales"), set(ids[2], "Title", "", "CFO"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := []crm.Status{crm.Applied, crm.Failed, crm.Failed, crm.Applied}; !slices.Equal(statuses(got), want) {
				t.Fatalf("statuses = %v, want %v", statuses(got), want)
			}
			if !strings.Contains(got[2].Error, "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access") {
				t.Errorf("error = %q", got[2].Error)
			}
		})
	})
}

func mustMerge(t *testing.T, e *env, survivor, loser string) {
	t.Helper()
	res, err := e.c.Merge(t.Context(), []crm.MergeRequest{{Object: "Contact", Survivor: survivor, Loser: loser}})
	if err != nil || res[0].Status != crm.Applied {
		t.Fatalf("merge %s into %s: %v %+v", loser, survivor, err, res)
	}
}

func TestCompareAndSetCollections(t *testing.T) {
	t.Run("450 changes take 2 reads and 3 collections of at most 200, and results line up", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 450, func(int) map[string]any { return kv("Title", "old") })
		reqs := make([]crm.SetRequest, len(ids))
		for i, id := range ids {
			reqs[i] = set(id, "Title", "old", "new "+id)
		}
		reqs[7].Before = "something else" // one stale in the middle
		got, err := e.c.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			want := crm.Applied
			if i == 7 {
				want = crm.Stale
			}
			if r.Status != want {
				t.Fatalf("request %d: %+v, want %s", i, r, want)
			}
		}
		st := e.c.Stats()
		if st.QueryAll != 2 || st.Collections != 3 {
			t.Errorf("stats = %+v, want 2 queryAll and 3 collections", st)
		}
		if ds := e.s.Stats(); ds.Collections != 3 || ds.RecordsWritten != 449 {
			t.Errorf("double saw %d collections and %d writes", ds.Collections, ds.RecordsWritten)
		}
		if v := field(t, e.s, "Contact", ids[449], "Title"); v != "new "+ids[449] {
			t.Errorf("last record Title = %q", v)
		}
	})

	t.Run("several fields of one record go in one record entry", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		id := e.s.Seed("Contact", nil)
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
			set(id, "Title", "", "CTO"), set(id, "Phone", "", "555"), set(id, "MailingCity", "", "Oslo"),
		})
		if err != nil || !slices.Equal(statuses(got), []crm.Status{crm.Applied, crm.Applied, crm.Applied}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if w := e.s.Writes(); len(w) != 1 || len(w[0].Fields) != 3 {
			t.Errorf("writes = %+v, want one update of three fields (a repeated id is refused)", w)
		}
	})

	t.Run("a field Salesforce does not know fails only the changes that name it", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 3, func(int) map[string]any { return nil })
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
			set(ids[0], "Title", "", "CTO"), set(ids[1], "Nope__c", "", "x"), set(ids[1], "Title", "", "CEO"),
			set(ids[2], "Tilte", "", "CFO"), set(ids[2], "Department", "", "Ops"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []crm.Status{crm.Applied, crm.Failed, crm.Applied, crm.Failed, crm.Applied}; !slices.Equal(statuses(got), want) {
			t.Fatalf("statuses = %v, want %v (%+v)", statuses(got), want, got)
		}
		if want := "Salesforce INVALID_FIELD: Contact has no field Nope__c (or the integration user cannot see it)"; got[1].Error != want {
			t.Errorf("error = %q, want %q", got[1].Error, want)
		}
	})

	t.Run("a whole request refused (400) is split until the bad record fails alone", func(t *testing.T) {
		var e *env
		refusals := 0
		e = newEnv(t, sftest.Options{}, func(c *Config) {
			c.HTTPClient = &http.Client{Transport: hookTransport{before: func(r *http.Request) {
				// Refuse every collection that carries the sixth record.
				if r.Method == http.MethodPatch && r.Body != nil {
					body, _ := io.ReadAll(r.Body)
					r.Body = io.NopCloser(bytes.NewReader(body))
					if bytes.Contains(body, []byte(e.s.IDs("Contact", false)[5])) {
						refusals++
						e.s.FailNext(http.StatusBadRequest)
					}
				}
			}}}
		})
		ids := seedContacts(e.s, 8, func(int) map[string]any { return nil })
		reqs := make([]crm.SetRequest, len(ids))
		for i, id := range ids {
			reqs[i] = set(id, "Title", "", "CTO")
		}
		got, err := e.c.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if want := map[bool]crm.Status{true: crm.Failed, false: crm.Applied}[i == 5]; r.Status != want {
				t.Errorf("request %d: %+v, want %s", i, r, want)
			}
		}
		if got[5].Error != "Salesforce BAD_REQUEST: Bad request." || refusals != 4 {
			t.Errorf("error = %q after %d refusals (8, 4, 2, 1 records)", got[5].Error, refusals)
		}
	})

	t.Run("a lost answer is sent again as it was and reported applied", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 3, func(int) map[string]any { return kv("Title", "old") })
		e.s.LoseNextWrites(1)
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
			set(ids[0], "Title", "old", "new"), set(ids[1], "Title", "old", "new"), set(ids[2], "Title", "old", "new"),
		})
		want := []crm.Result{{Status: crm.Applied, Observed: "old"}, {Status: crm.Applied, Observed: "old"}, {Status: crm.Applied, Observed: "old"}}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if st := e.c.Stats(); st.Collections != 2 || st.Retries != 1 {
			t.Errorf("stats = %+v, want the collection sent twice", st)
		}
	})

	t.Run("a broken connection mid-call is retried: the same values again", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 4, func(int) map[string]any { return nil })
		e.s.CutAfterWrites(2)
		reqs := make([]crm.SetRequest, len(ids))
		for i, id := range ids {
			reqs[i] = set(id, "Title", "", "T")
		}
		got, err := e.c.CompareAndSet(t.Context(), reqs)
		if err != nil || !slices.Equal(statuses(got), []crm.Status{crm.Applied, crm.Applied, crm.Applied, crm.Applied}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		for _, id := range ids {
			if field(t, e.s, "Contact", id, "Title") != "T" {
				t.Errorf("%s not written", id)
			}
		}
	})

	t.Run("an answer that never comes is given up on and the same values sent again", func(t *testing.T) {
		e := newEnv(t, sftest.Options{}, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond} })
		id := e.s.Seed("Contact", kv("Title", "old"))
		e.s.HangNextWrites(1)
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set(id, "Title", "old", "new")})
		if err != nil || got[0] != (crm.Result{Status: crm.Applied, Observed: "old"}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if st := e.c.Stats(); st.Collections != 2 || !strings.Contains(e.log.String(), "retry 1") {
			t.Errorf("stats = %+v, log %q", st, e.log.String())
		}
	})

	t.Run("default mode has a race window: a change between read and write is overwritten", func(t *testing.T) {
		var e *env
		var once sync.Once
		e = newEnv(t, sftest.Options{}, func(c *Config) {
			c.HTTPClient = &http.Client{Transport: hookTransport{before: func(r *http.Request) {
				if r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/composite/sobjects") {
					once.Do(func() { interfere(t, e, "Contact", e.s.IDs("Contact", false)[0], map[string]any{"Title": "theirs"}) })
				}
			}}}
		})
		id := e.s.Seed("Contact", kv("Title", "old"))
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set(id, "Title", "old", "ours")})
		if err != nil || got[0].Status != crm.Applied || field(t, e.s, "Contact", id, "Title") != "ours" {
			t.Fatalf("results %+v, %v: the documented race did not happen as documented", got, err)
		}
	})
}

func TestStrictCAS(t *testing.T) {
	// strictEnv makes the first conditional PATCH of the test meet a change
	// made by someone else after the read.
	strictEnv := func(t *testing.T, theirs map[string]any) *env {
		var e *env
		var once sync.Once
		e = newEnv(t, sftest.Options{}, strict, func(c *Config) {
			c.HTTPClient = &http.Client{Transport: hookTransport{before: func(r *http.Request) {
				if r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/sobjects/Contact/") && r.Header.Get("If-Unmodified-Since") != "" {
					once.Do(func() { interfere(t, e, "Contact", e.s.IDs("Contact", false)[0], theirs) })
				}
			}}}
		})
		return e
	}

	t.Run("each record is one conditional PATCH; the reads are batched", func(t *testing.T) {
		e := newEnv(t, sftest.Options{}, strict)
		ids := seedContacts(e.s, 5, func(int) map[string]any { return kv("Title", "old") })
		var reqs []crm.SetRequest
		for _, id := range ids {
			reqs = append(reqs, set(id, "Title", "old", "new"), set(id, "Department", "", "Sales"))
		}
		got, err := e.c.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if r.Status != crm.Applied {
				t.Errorf("request %d: %+v", i, r)
			}
		}
		if st := e.c.Stats(); st.SinglePatch != 5 || st.QueryAll != 1 || st.Collections != 0 {
			t.Errorf("stats = %+v, want 1 queryAll and 5 conditional PATCHes", st)
		}
	})

	t.Run("412: another field changed, so it is written again with the new date", func(t *testing.T) {
		e := strictEnv(t, map[string]any{"Department": "Ops"})
		id := e.s.Seed("Contact", kv("Title", "old"))
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set(id, "Title", "old", "new")})
		if err != nil || got[0] != (crm.Result{Status: crm.Applied, Observed: "old"}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if field(t, e.s, "Contact", id, "Department") != "Ops" || field(t, e.s, "Contact", id, "Title") != "new" {
			t.Error("their change or ours was lost")
		}
		if st := e.c.Stats(); st.SinglePatch != 2 || st.QueryAll != 2 {
			t.Errorf("stats = %+v, want a refused PATCH, a re-read and a second PATCH", st)
		}
	})

	t.Run("412: the field itself changed, so it is stale and theirs is kept", func(t *testing.T) {
		e := strictEnv(t, map[string]any{"Title": "theirs"})
		id := e.s.Seed("Contact", kv("Title", "old"))
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set(id, "Title", "old", "ours")})
		want := crm.Result{Status: crm.Stale, Observed: "theirs", Error: `expected "old", found "theirs"`}
		if err != nil || got[0] != want {
			t.Fatalf("results %+v, %v; want %+v", got, err, want)
		}
		if v := field(t, e.s, "Contact", id, "Title"); v != "theirs" {
			t.Errorf("Title = %q: the strict write overwrote a concurrent change", v)
		}
	})

	t.Run("412: someone else made the same change, so it is already applied", func(t *testing.T) {
		e := strictEnv(t, map[string]any{"Title": "new"})
		id := e.s.Seed("Contact", kv("Title", "old"))
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set(id, "Title", "old", "new")})
		if err != nil || got[0] != (crm.Result{Status: crm.AlreadyApplied, Observed: "new"}) {
			t.Fatalf("results %+v, %v", got, err)
		}
	})

	t.Run("a lost answer is read back: the value landed, so it is applied", func(t *testing.T) {
		e := newEnv(t, sftest.Options{}, strict)
		id := e.s.Seed("Contact", kv("Title", "old"))
		e.s.LoseNextWrites(1)
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set(id, "Title", "old", "new")})
		if err != nil || got[0] != (crm.Result{Status: crm.Applied, Observed: "old"}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if st := e.c.Stats(); st.SinglePatch != 1 {
			t.Errorf("stats = %+v, want the PATCH sent once", st)
		}
	})

	t.Run("a record that keeps changing is stale after MaxAttempts", func(t *testing.T) {
		var e *env
		e = newEnv(t, sftest.Options{}, strict, func(c *Config) {
			c.MaxAttempts = 3
			c.HTTPClient = &http.Client{Transport: hookTransport{before: func(r *http.Request) {
				if r.Header.Get("If-Unmodified-Since") != "" {
					interfere(t, e, "Contact", e.s.IDs("Contact", false)[0], map[string]any{"Department": fmt.Sprint(e.clock.Now().Unix())})
				}
			}}}
		})
		id := e.s.Seed("Contact", kv("Title", "old"))
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set(id, "Title", "old", "new")})
		if err != nil || got[0].Status != crm.Stale || !strings.Contains(got[0].Error, "3 refused because the record kept changing") {
			t.Fatalf("results %+v, %v", got, err)
		}
	})
}
