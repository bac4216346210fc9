package hubspot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/hubspot/hubspottest"
)

func TestCompareAndSet(t *testing.T) {
	tests := []struct {
		name string
		req  crm.SetRequest
		want crm.Result
		// wantValue is the property afterwards; wantWrites how many times it
		// was written.
		wantValue  string
		wantWrites int
	}{
		{"an empty field is filled when before is empty",
			set("1001", "jobtitle", "", "VP Sales"), crm.Result{Status: crm.Applied}, "VP Sales", 1},
		{"a value still equal to before is overwritten",
			set("1001", "lifecyclestage", "lead", "customer"), crm.Result{Status: crm.Applied, Observed: "lead"}, "customer", 1},
		{"an empty after clears the field",
			set("1001", "lifecyclestage", "lead", ""), crm.Result{Status: crm.Applied, Observed: "lead"}, "", 1},
		{"a value changed since detection is stale and left alone",
			set("1001", "lifecyclestage", "subscriber", "customer"),
			crm.Result{Status: crm.Stale, Observed: "lead", Error: `expected "subscriber", found "lead"`}, "lead", 0},
		{"a field filled since detection is stale",
			set("1001", "email", "", "b@x.com"),
			crm.Result{Status: crm.Stale, Observed: "a@x.com", Error: `expected "", found "a@x.com"`}, "a@x.com", 0},
		{"a value already equal to after is already applied even if before differs",
			set("1001", "lifecyclestage", "subscriber", "lead"), crm.Result{Status: crm.AlreadyApplied, Observed: "lead"}, "lead", 0},
		{"a record that does not exist fails",
			set("9999", "jobtitle", "", "CEO"), crm.Result{Status: crm.Failed, Error: "record not found"}, "", 0},
		{"an empty field name fails without a request",
			set("1001", "", "", "x"), crm.Result{Status: crm.Failed, Error: "empty field name"}, "", 0},
		{"the id cannot be written as a field",
			set("1001", "hs_object_id", "", "2"), crm.Result{Status: crm.Failed,
				Error: `field "hs_object_id" is the record id and cannot be written as a field`}, "1001", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, hubspottest.Options{})
			e.s.Seed("contacts", "1001", kv("email", "a@x.com", "lifecyclestage", "lead", "hs_object_id", "1001"))
			got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{tt.req})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("results = %+v, want [%+v]", got, tt.want)
			}
			if tt.req.Record != "1001" || tt.req.Field == "" {
				return
			}
			if v := prop(t, e.s, "contacts", "1001", tt.req.Field); v != tt.wantValue {
				t.Errorf("%s = %q afterwards, want %q", tt.req.Field, v, tt.wantValue)
			}
			if n := writesOf(e.s, "contacts", "1001", tt.req.Field); n != tt.wantWrites {
				t.Errorf("%s written %d times, want %d", tt.req.Field, n, tt.wantWrites)
			}
		})
	}

	t.Run("a change to a record merged away is stale, like in the embedded CRM", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		seedContacts(e.s, 1, 2, func(int) map[string]string { return kv("email", "a@x.com") })
		mustMerge(t, e, "1", "2")
		merged, _ := e.s.Resolve("contacts", "1")
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set("2", "jobtitle", "", "CEO")})
		if err != nil {
			t.Fatal(err)
		}
		if want := (crm.Result{Status: crm.Stale, Error: "record was merged into " + merged}); got[0] != want {
			t.Errorf("result = %+v, want %+v", got[0], want)
		}
	})
}

func mustMerge(t *testing.T, e *env, survivor, loser string) {
	t.Helper()
	res, err := e.c.Merge(t.Context(), []crm.MergeRequest{{Object: "contacts", Survivor: survivor, Loser: loser}})
	if err != nil || res[0].Status != crm.Applied {
		t.Fatalf("merge %s into %s: %v %+v", loser, survivor, err, res)
	}
}

func TestCompareAndSetBatching(t *testing.T) {
	t.Run("250 changes take 3 reads and 3 updates, and every result lines up with its request", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		ids := seedContacts(e.s, 1, 250, func(int) map[string]string { return kv("jobtitle", "old") })
		reqs := make([]crm.SetRequest, len(ids))
		for i, id := range ids {
			reqs[i] = set(id, "jobtitle", "old", "new "+id)
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
		st := e.s.Stats().ByEndpoint
		if st["POST /crm/v3/objects/{object}/batch/read"] != 3 || st["POST /crm/v3/objects/{object}/batch/update"] != 3 {
			t.Errorf("requests = %v, want 3 batch reads and 3 batch updates", st)
		}
		if v := prop(t, e.s, "contacts", "250", "jobtitle"); v != "new 250" {
			t.Errorf("record 250 jobtitle = %q", v)
		}
	})

	t.Run("several fields of one record go in one input", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		e.s.Seed("contacts", "1", nil)
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
			set("1", "jobtitle", "", "CTO"), set("1", "phone", "", "555"), set("1", "city", "", "Oslo"),
		})
		if err != nil || !slices.Equal(statuses(got), []crm.Status{crm.Applied, crm.Applied, crm.Applied}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if n := e.s.Stats().ByEndpoint["POST /crm/v3/objects/{object}/batch/update"]; n != 1 {
			t.Errorf("batch updates = %d, want 1 (HubSpot refuses a repeated id in one batch)", n)
		}
	})

	t.Run("two changes to the same field apply in order, each judged against the one before", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		e.s.Seed("contacts", "1", kv("lifecyclestage", "lead"))
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
			set("1", "lifecyclestage", "lead", "marketingqualifiedlead"),
			set("1", "lifecyclestage", "marketingqualifiedlead", "customer"),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []crm.Result{{Status: crm.Applied, Observed: "lead"}, {Status: crm.Applied, Observed: "marketingqualifiedlead"}}
		if !slices.Equal(got, want) {
			t.Errorf("results = %+v, want %+v", got, want)
		}
		if v := prop(t, e.s, "contacts", "1", "lifecyclestage"); v != "customer" {
			t.Errorf("lifecyclestage = %q, want customer", v)
		}
	})

	t.Run("changes to several objects in one call each go to their object", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		e.s.Seed("contacts", "1", nil)
		e.s.Seed("companies", "1", nil)
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
			set("1", "jobtitle", "", "CTO"),
			{Object: "companies", Record: "1", Field: "domain", After: "x.com"},
		})
		if err != nil || got[0].Status != crm.Applied || got[1].Status != crm.Applied {
			t.Fatalf("results %+v, %v", got, err)
		}
		if prop(t, e.s, "companies", "1", "domain") != "x.com" || prop(t, e.s, "contacts", "1", "jobtitle") != "CTO" {
			t.Error("a change went to the wrong object")
		}
	})
}

var correlationID = regexp.MustCompile(`correlationId [0-9a-f]{8}-0000-4000-8000-[0-9a-f]{12}`)

func TestPartialFailure(t *testing.T) {
	t.Run("a 207 fails only the affected change, with HubSpot's category and correlation id", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		ids := seedContacts(e.s, 1, 5, func(int) map[string]string { return nil })
		e.s.FailUpdates("contacts", "VALIDATION_ERROR", "Property values were not valid", "3")
		reqs := make([]crm.SetRequest, len(ids))
		for i, id := range ids {
			reqs[i] = set(id, "jobtitle", "", "CTO")
		}
		got, err := e.c.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		want := []crm.Status{crm.Applied, crm.Applied, crm.Failed, crm.Applied, crm.Applied}
		if !slices.Equal(statuses(got), want) {
			t.Fatalf("statuses = %v, want %v", statuses(got), want)
		}
		if msg := got[2].Error; !strings.HasPrefix(msg, "HubSpot VALIDATION_ERROR: Property values were not valid") || !correlationID.MatchString(msg) {
			t.Errorf("error = %q, want HubSpot's category, message and correlationId", msg)
		}
		if v := prop(t, e.s, "contacts", "3", "jobtitle"); v != "" {
			t.Errorf("the failed change was written: %q", v)
		}
		if prop(t, e.s, "contacts", "4", "jobtitle") != "CTO" {
			t.Error("a change next to the failed one was not written")
		}
	})

	t.Run("a batch HubSpot rejects whole is split until the bad input fails alone", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		ids := seedContacts(e.s, 1, 40, func(int) map[string]string { return kv("lifecyclestage", "lead") })
		e.s.RejectValue("lifecyclestage", "bogus")
		reqs := make([]crm.SetRequest, len(ids))
		for i, id := range ids {
			reqs[i] = set(id, "lifecyclestage", "lead", "customer")
		}
		reqs[25].After = "bogus"
		got, err := e.c.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			switch {
			case i == 25 && (r.Status != crm.Failed || !strings.Contains(r.Error, "HubSpot VALIDATION_ERROR: Property values were not valid") || !correlationID.MatchString(r.Error)):
				t.Errorf("the bad change: %+v, want failed with HubSpot's error", r)
			case i != 25 && r != (crm.Result{Status: crm.Applied, Observed: "lead"}):
				t.Errorf("change %d: %+v, want applied", i, r)
			}
		}
		for _, id := range ids {
			if id != "26" && writesOf(e.s, "contacts", id, "lifecyclestage") != 1 {
				t.Errorf("record %s written %d times, want once", id, writesOf(e.s, "contacts", id, "lifecyclestage"))
			}
		}
	})
}

func TestRateLimit(t *testing.T) {
	for _, omit := range []bool{false, true} {
		name := "a 429 burst is waited out after Retry-After and nothing is lost or applied twice"
		if omit {
			name = "without Retry-After a 429 burst is waited out with backoff"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, hubspottest.Options{RequestsPer10s: 10, OmitRetryAfter: omit},
				func(c *Config) { c.RequestsPer10s = 10 })
			ids := seedContacts(e.s, 1, 300, func(int) map[string]string { return nil })
			e.s.Burn(10) // another integration used the whole window
			var reqs []crm.SetRequest
			for _, id := range ids {
				reqs = append(reqs, set(id, "jobtitle", "", "T"+id))
			}
			got, err := e.c.CompareAndSet(t.Context(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range got {
				if r.Status != crm.Applied {
					t.Fatalf("change %d: %+v", i, r)
				}
			}
			for _, id := range ids {
				if n := writesOf(e.s, "contacts", id, "jobtitle"); n != 1 {
					t.Fatalf("record %s written %d times", id, n)
				}
			}
			st := e.s.Stats()
			if len(st.RateLimited) == 0 {
				t.Error("the burst produced no 429: the test tests nothing")
			}
			if elapsed := e.clock.Now().Sub(t0); elapsed < 10*time.Second {
				t.Errorf("only %v passed: the 429 was not waited out", elapsed)
			}
			if !strings.Contains(e.log.String(), "429 TEN_SECONDLY_ROLLING") {
				t.Errorf("log does not mention the wait:\n%s", e.log)
			}
		})
	}

	t.Run("a stricter limit in HubSpot's headers is adopted and then respected", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{RequestsPer10s: 20}) // the client starts at 190
		ids := seedContacts(e.s, 1, 1000, func(int) map[string]string { return nil })
		for start := 0; start < len(ids); start += 100 {
			var reqs []crm.SetRequest
			for _, id := range ids[start : start+100] {
				reqs = append(reqs, set(id, "jobtitle", "", "x"))
			}
			if _, err := e.c.CompareAndSet(t.Context(), reqs); err != nil {
				t.Fatal(err)
			}
		}
		if limit, window := e.c.Limit(); limit != 20 || window != 10*time.Second {
			t.Errorf("client limit = %d per %v, want HubSpot's 20 per 10s", limit, window)
		}
		st := e.s.Stats()
		if len(st.RateLimited) != 0 || st.MaxInRollingWindow(10*time.Second) > 20 {
			t.Errorf("%d 429s, at most %d requests in a window; want none over 20", len(st.RateLimited), st.MaxInRollingWindow(10*time.Second))
		}
	})

	t.Run("the daily limit is reported, not waited for", func(t *testing.T) {
		srv := newFakeHubSpot(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"c033cdaa-2c40-4a64-ae48-b4cec88dad24","policyName":"DAILY"}`)
		})
		c, _ := New(Config{BaseURL: srv, Token: testToken})
		_, err := c.Get(t.Context(), "contacts", []string{"1"}, nil)
		if err == nil || !strings.Contains(err.Error(), "daily") || !strings.Contains(err.Error(), "c033cdaa") {
			t.Errorf("Get = %v, want the daily limit error with its correlation id", err)
		}
	})
}

func TestRetries(t *testing.T) {
	t.Run("a read that meets 5xx is retried with backoff", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		e.s.Seed("contacts", "1", kv("email", "a@x.com"))
		e.s.FailNext(503, 502, 500)
		got, err := e.c.Get(t.Context(), "contacts", []string{"1"}, []string{"email"})
		if err != nil || got["1"].Fields["email"] != "a@x.com" {
			t.Fatalf("Get = %v, %v", got, err)
		}
		// Backoff with jitter 0.5: 375ms + 750ms + 1.5s.
		if waited := e.clock.Now().Sub(t0); waited < 2*time.Second {
			t.Errorf("waited %v between retries, want exponential backoff", waited)
		}
	})

	t.Run("a read that keeps failing gives up after MaxAttempts", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{}, func(c *Config) { c.MaxAttempts = 3 })
		e.s.FailNext(500, 500, 500, 500)
		_, err := e.c.Get(t.Context(), "contacts", []string{"1"}, []string{"email"})
		if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") {
			t.Errorf("Get = %v, want it to give up after 3 attempts", err)
		}
	})

	t.Run("a write that meets 5xx is not resent blindly: the values are read back first", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		ids := seedContacts(e.s, 1, 3, func(int) map[string]string { return nil })
		e.s.LoseNextWrites(1) // done, then 504
		var reqs []crm.SetRequest
		for _, id := range ids {
			reqs = append(reqs, set(id, "jobtitle", "", "CTO"))
		}
		got, err := e.c.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if r != (crm.Result{Status: crm.Applied}) {
				t.Errorf("change %d: %+v, want applied", i, r)
			}
		}
		if n := e.s.Stats().ByEndpoint["POST /crm/v3/objects/{object}/batch/update"]; n != 1 {
			t.Errorf("batch updates = %d, want 1: the lost answer must not cause a second write", n)
		}
	})

	t.Run("a write that was refused with 5xx before it happened is written again", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		e.s.Seed("contacts", "1", nil)
		// The read succeeds; the update is answered 503 without effect.
		reqs := []crm.SetRequest{set("1", "jobtitle", "", "CTO")}
		e.c.http.Transport = &writeFailer{n: 1}
		got, err := e.c.CompareAndSet(t.Context(), reqs)
		if err != nil || got[0] != (crm.Result{Status: crm.Applied}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if n := writesOf(e.s, "contacts", "1", "jobtitle"); n != 1 {
			t.Errorf("written %d times, want once", n)
		}
	})

	t.Run("a write whose answer times out is read back and counted once", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{}, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond} })
		ids := seedContacts(e.s, 1, 2, func(int) map[string]string { return kv("lifecyclestage", "lead") })
		e.s.HangNextWrites(1)
		got, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{
			set(ids[0], "lifecyclestage", "lead", "customer"), set(ids[1], "lifecyclestage", "lead", "customer"),
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if r != (crm.Result{Status: crm.Applied, Observed: "lead"}) {
				t.Errorf("change %d: %+v", i, r)
			}
		}
		for _, id := range ids {
			if n := writesOf(e.s, "contacts", id, "lifecyclestage"); n != 1 {
				t.Errorf("record %s written %d times", id, n)
			}
		}
	})
}

// writeFailer answers the first n batch updates 503 without passing them
// on: a write refused before it happened.
type writeFailer struct{ n int }

func (w *writeFailer) RoundTrip(r *http.Request) (*http.Response, error) {
	if w.n > 0 && strings.HasSuffix(r.URL.Path, "/batch/update") {
		w.n--
		return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestCrashSafety(t *testing.T) {
	t.Run("a re-run after an interrupt finds the written values already applied", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		ids := seedContacts(e.s, 1, 250, func(int) map[string]string { return kv("lifecyclestage", "lead") })
		var reqs []crm.SetRequest
		for _, id := range ids {
			reqs = append(reqs, set(id, "lifecyclestage", "lead", "customer"))
		}
		// The process dies right after HubSpot made the second batch of
		// changes, before it could learn of it.
		ctx, cancel := context.WithCancel(t.Context())
		writes := 0
		e.s.AfterWrite(func() {
			if writes++; writes == 2 {
				cancel()
			}
		})
		if _, err := e.c.CompareAndSet(ctx, reqs); err == nil {
			t.Fatal("the interrupted run reported success")
		}
		e.s.AfterWrite(nil)
		// The batches run side by side, so which ones landed before the
		// interrupt varies: at least the two that triggered it (of 100, 100
		// and 50 records), and maybe the third, already on its way.
		landed := map[string]bool{}
		for _, w := range e.s.Writes() {
			landed[w.ID] = true
		}
		if len(landed) < 150 {
			t.Fatalf("%d records written before the interrupt, want at least 150", len(landed))
		}

		rerun := newClientFor(t, e)
		got, err := rerun.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[crm.Status]int{}
		for i, r := range got {
			counts[r.Status]++
			want := crm.Result{Status: crm.Applied, Observed: "lead"}
			if landed[reqs[i].Record] {
				want = crm.Result{Status: crm.AlreadyApplied, Observed: "customer"}
			}
			if r != want {
				t.Fatalf("change %d on re-run: %+v, want %+v", i, r, want)
			}
		}
		if counts[crm.AlreadyApplied] != len(landed) || counts[crm.Applied] != 250-len(landed) {
			t.Errorf("re-run = %v, want %d already applied and the rest applied", counts, len(landed))
		}
		for _, id := range ids {
			if n := writesOf(e.s, "contacts", id, "lifecyclestage"); n != 1 {
				t.Fatalf("record %s written %d times, want exactly once", id, n)
			}
		}
	})
}

func newClientFor(t *testing.T, e *env) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: e.s.URL, Token: testToken, Now: e.clock.Now, Sleep: e.clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMerge(t *testing.T) {
	merge := func(survivor, loser string) crm.MergeRequest {
		return crm.MergeRequest{Object: "contacts", Survivor: survivor, Loser: loser, Source: "dedupe"}
	}
	for _, opts := range []hubspottest.Options{{}, {LegacyMerge: true}, {BatchReadHidesMerged: true}} {
		name := "merges create a new record"
		switch {
		case opts.LegacyMerge:
			name = "merges keep the primary's id (HubSpot before the change)"
		case opts.BatchReadHidesMerged:
			name = "batch read does not resolve merged ids (fallback to GET by id)"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, opts)
			seedContacts(e.s, 1, 4, func(i int) map[string]string { return kv("email", fmt.Sprintf("p%d@x.com", i)) })

			got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("1", "2")})
			if err != nil || got[0] != (crm.Result{Status: crm.Applied}) {
				t.Fatalf("first merge: %+v, %v", got, err)
			}
			into, _ := e.s.Resolve("contacts", "2")
			if s, _ := e.s.Resolve("contacts", "1"); s != into {
				t.Fatalf("survivor resolves to %s, loser to %s", s, into)
			}

			got, err = e.c.Merge(t.Context(), []crm.MergeRequest{
				merge("1", "2"), // again: already applied
				merge("3", "2"), // the loser is gone elsewhere: stale
				merge("3", "1"), // the survivor of the first merge, merged away: stale
				merge("3", "9"), // no such loser
				merge("9", "3"), // no such survivor
				merge("3", "3"),
				merge("3", "4"), // a fresh pair still merges
			})
			if err != nil {
				t.Fatal(err)
			}
			want := []crm.Result{
				{Status: crm.AlreadyApplied, Observed: into},
				{Status: crm.Stale, Observed: into, Error: "record 2 was merged into " + into},
				{Status: crm.Stale, Observed: into, Error: "record 1 was merged into " + into},
				{Status: crm.Failed, Error: "record 9 to merge: record not found"},
				{Status: crm.Failed, Error: "survivor 9: record not found"},
				{Status: crm.Failed, Error: "cannot merge a record into itself"},
				{Status: crm.Applied},
			}
			if opts.LegacyMerge {
				// The survivor kept its id, so record 1 is the live survivor.
				want[2] = crm.Result{Status: crm.Applied}
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("merge %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}

	t.Run("a merge whose answer is lost is read back and not sent again", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		seedContacts(e.s, 1, 2, func(int) map[string]string { return nil })
		e.s.LoseNextWrites(1)
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("1", "2")})
		if err != nil || got[0] != (crm.Result{Status: crm.Applied}) {
			t.Fatalf("merge = %+v, %v", got, err)
		}
		if n := e.s.Stats().ByEndpoint["POST /crm/v3/objects/{object}/merge"]; n != 1 {
			t.Errorf("merge requests = %d, want 1", n)
		}
	})

	t.Run("a merge HubSpot refuses fails with its category and correlation id", func(t *testing.T) {
		e := newEnv(t, hubspottest.Options{})
		seedContacts(e.s, 1, 2, func(int) map[string]string { return nil })
		e.c.http.Transport = refuseMerges{}
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("1", "2")})
		if err != nil || got[0].Status != crm.Failed ||
			got[0].Error != "HubSpot VALIDATION_ERROR: Cannot have more than 250 identities on a profile (correlationId 11111111-2222)" {
			t.Errorf("merge = %+v, %v", got, err)
		}
	})
}

type refuseMerges struct{}

func (refuseMerges) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/merge") {
		body := `{"status":"error","message":"Cannot have more than 250 identities on a profile","correlationId":"11111111-2222","category":"VALIDATION_ERROR"}`
		return &http.Response{StatusCode: 400, Header: http.Header{}, Request: r,
			Body: io.NopCloser(strings.NewReader(body))}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestUnauthorized(t *testing.T) {
	e := newEnv(t, hubspottest.Options{Token: "the-right-token"})
	_, err := e.c.Get(t.Context(), "contacts", []string{"1"}, []string{"email"})
	if err == nil || err.Error() != "HubSpot rejected the token (401): check HUBSPOT_TOKEN" {
		t.Fatalf("Get = %v, want the 401 message", err)
	}
	if n := e.s.Stats().Requests; n != 1 {
		t.Errorf("%d requests, want 1: a 401 is not retried", n)
	}
	if _, err := e.c.CompareAndSet(t.Context(), []crm.SetRequest{set("1", "jobtitle", "", "x")}); err == nil {
		t.Error("CompareAndSet with a bad token reported no error")
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	// The double quotes the Authorization header in every error message.
	e := newEnv(t, hubspottest.Options{EchoAuthInErrors: true}, func(c *Config) { c.MaxAttempts = 2 })
	e.s.Seed("contacts", "1", nil)
	e.s.RejectValue("jobtitle", "bad")
	e.s.FailUpdates("contacts", "VALIDATION_ERROR", "nope "+testToken, "1")
	var texts []string
	collect := func(results []crm.Result, err error) {
		for _, r := range results {
			texts = append(texts, r.Error)
		}
		if err != nil {
			texts = append(texts, err.Error())
		}
	}
	collect(e.c.CompareAndSet(t.Context(), []crm.SetRequest{set("1", "jobtitle", "", "bad")}))
	collect(e.c.CompareAndSet(t.Context(), []crm.SetRequest{set("1", "phone", "", "555")}))
	_, err := e.c.Get(t.Context(), "unicorns", []string{"1"}, nil)
	collect(nil, err)
	e.s.FailNext(500, 500)
	_, err = e.c.Get(t.Context(), "contacts", []string{"1"}, nil)
	collect(nil, err)
	wrong := newEnv(t, hubspottest.Options{Token: "other", EchoAuthInErrors: true})
	_, err = wrong.c.Get(t.Context(), "contacts", []string{"1"}, nil)
	collect(nil, err)
	dead := newEnv(t, hubspottest.Options{}, func(c *Config) { c.MaxAttempts = 2 })
	dead.s.Close()
	_, err = dead.c.Get(t.Context(), "contacts", []string{"1"}, []string{"x"})
	collect(nil, err)

	if len(texts) < 6 {
		t.Fatalf("collected %d error texts", len(texts))
	}
	for _, text := range texts {
		if strings.Contains(text, testToken) {
			t.Errorf("token in an error: %s", text)
		}
	}
	for _, l := range []string{e.log.String(), wrong.log.String(), dead.log.String()} {
		if strings.Contains(l, testToken) {
			t.Errorf("token in the log:\n%s", l)
		}
	}
	if !strings.Contains(strings.Join(texts, "\n"), "[redacted]") {
		t.Errorf("no error quoted the echoed header, so redaction went untested:\n%s", strings.Join(texts, "\n"))
	}
}

// newFakeHubSpot serves h and returns its URL.
func newFakeHubSpot(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
