package salesforce

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/salesforce/sftest"
)

func merge(object, survivor, loser string) crm.MergeRequest {
	return crm.MergeRequest{Object: object, Survivor: survivor, Loser: loser, Source: "test"}
}

// writesOf counts the double's writes of one op.
func writesOf(s *sftest.Server, op string) int {
	n := 0
	for _, w := range s.Writes() {
		if w.Op == op {
			n++
		}
	}
	return n
}

func TestMerge(t *testing.T) {
	t.Run("merges in one SOAP call, two losers of a survivor to a request", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 5, func(int) map[string]any { return kv("Email", "a@x.com") })
		opp := e.s.Seed("Opportunity", kv("Name", "Deal", "ContactId__c", ids[1]))
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{
			merge("Contact", ids[0], ids[1]), merge("Contact", ids[0], ids[2]), merge("Contact", ids[3], ids[4]),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []crm.Result{{Status: crm.Applied}, {Status: crm.Applied}, {Status: crm.Applied}}
		if !slices.Equal(got, want) {
			t.Fatalf("results = %+v", got)
		}
		for _, pair := range [][2]string{{ids[1], ids[0]}, {ids[2], ids[0]}, {ids[4], ids[3]}} {
			if _, deleted, master, _ := e.s.Get("Contact", pair[0]); !deleted || master != pair[1] {
				t.Errorf("%s: deleted %v, MasterRecordId %q; want merged into %s", pair[0], deleted, master, pair[1])
			}
		}
		if st := e.c.Stats(); st.SOAPMerge != 1 || st.QueryAll != 1 {
			t.Errorf("stats = %+v, want one read and one merge() call", st)
		}
		if n := writesOf(e.s, "merge"); n != 2 {
			t.Errorf("%d MergeRequests, want 2 (the first two losers share one)", n)
		}
		if field(t, e.s, "Opportunity", opp, "ContactId__c") != ids[0] {
			t.Error("the double did not reparent the loser's opportunity (test assumption)")
		}
	})

	t.Run("judged before merging, no call when nothing is to merge", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 6, func(int) map[string]any { return nil })
		mustMerge(t, e, ids[0], ids[1])
		e.s.Delete("Contact", ids[5])
		e.s.ResetStats()
		before := e.c.Stats()
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{
			merge("Contact", ids[0], ids[1]),               // done before
			merge("Contact", ids[2], ids[1]),               // loser merged elsewhere
			merge("Contact", ids[1], ids[3]),               // survivor merged away
			merge("Contact", ids[2], "003Dn000009ZZZZAAA"), // missing loser
			merge("Contact", ids[5], ids[4]),               // survivor deleted
			merge("Opportunity", ids[2], ids[3]),           // cannot be merged
			merge("Contact", ids[2], ids[2]),               // itself
			merge("Contact", "not-an-id", ids[2]),          // malformed
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []crm.Result{
			{Status: crm.AlreadyApplied, Observed: ids[0]},
			{Status: crm.Stale, Observed: ids[0], Error: "record " + ids[1] + " was merged into " + ids[0]},
			{Status: crm.Stale, Error: "survivor " + ids[1] + " was merged into " + ids[0]},
			{Status: crm.Failed, Error: "record 003Dn000009ZZZZAAA to merge: record not found"},
			{Status: crm.Failed, Error: "survivor " + ids[5] + " was deleted in Salesforce (it is in the Recycle Bin)"},
			{Status: crm.Failed, Error: "Salesforce merges only Lead, Contact, Account (person accounts included) and Individual records (SOAP merge()); Opportunity records cannot be merged"},
			{Status: crm.Failed, Error: "cannot merge a record into itself"},
			{Status: crm.Failed, Error: `survivor "not-an-id" is not a Salesforce record Id`},
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("request %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		if st := e.c.Stats(); st.SOAPMerge != before.SOAPMerge {
			t.Errorf("merge() was called: %+v", st)
		}
	})

	t.Run("an unsupported object makes no call at all", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		a, b := e.s.Seed("Opportunity", nil), e.s.Seed("Opportunity", nil)
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Opportunity", a, b)})
		if err != nil || got[0].Status != crm.Failed || e.s.Stats().Requests != 0 {
			t.Errorf("results %+v, %v, %d requests", got, err, e.s.Stats().Requests)
		}
	})

	t.Run("a failed MergeResult fails its request; its partner is merged alone", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 3, func(int) map[string]any { return nil })
		e.s.FailRecord(ids[2], "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", ids[0], ids[1]), merge("Contact", ids[0], ids[2])})
		if err != nil {
			t.Fatal(err)
		}
		want := []crm.Result{{Status: crm.Applied},
			{Status: crm.Failed, Error: "Salesforce UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record"}}
		if !slices.Equal(got, want) {
			t.Errorf("results = %+v, want %+v", got, want)
		}
	})

	t.Run("a record deleted between the read and the merge fails with ENTITY_IS_DELETED", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 2, func(int) map[string]any { return nil })
		beforeMerge(e, func() { e.s.Delete("Contact", ids[1]) })
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", ids[0], ids[1])})
		if err != nil || got[0] != (crm.Result{Status: crm.Failed, Error: "Salesforce ENTITY_IS_DELETED: entity is deleted"}) {
			t.Errorf("results %+v, %v", got, err)
		}
	})

	t.Run("a SOAP fault fails a lone request with the fault's code", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 2, func(int) map[string]any { return nil })
		beforeMerge(e, func() { e.s.FailNext(http.StatusBadRequest) })
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", ids[0], ids[1])})
		if err != nil || got[0] != (crm.Result{Status: crm.Failed, Error: "Salesforce BAD_REQUEST: Bad request."}) {
			t.Errorf("results %+v, %v", got, err)
		}
	})

	t.Run("a SOAP fault on several requests: each is tried alone", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 4, func(int) map[string]any { return nil })
		first := true
		beforeMerge(e, func() {
			if first {
				first = false
				e.s.FailNext(http.StatusBadRequest)
			}
		})
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", ids[0], ids[1]), merge("Contact", ids[2], ids[3])})
		if err != nil || !slices.Equal(statuses(got), []crm.Status{crm.Applied, crm.Applied}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if st := e.c.Stats(); st.SOAPMerge != 3 {
			t.Errorf("%d merge() calls, want the refused one and one per request", st.SOAPMerge)
		}
	})

	t.Run("a lost answer is read back, not merged again", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 2, func(int) map[string]any { return nil })
		e.s.LoseNextWrites(1)
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", ids[0], ids[1])})
		if err != nil || got[0] != (crm.Result{Status: crm.Applied}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if st := e.c.Stats(); st.SOAPMerge != 1 || st.QueryAll != 2 {
			t.Errorf("stats = %+v, want one merge() and two reads", st)
		}
	})

	t.Run("a 503 is not retried blindly: read back, then merged once", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 2, func(int) map[string]any { return nil })
		first := true
		beforeMerge(e, func() {
			if first {
				first = false
				e.s.FailNext(http.StatusServiceUnavailable)
			}
		})
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", ids[0], ids[1])})
		if err != nil || got[0] != (crm.Result{Status: crm.Applied}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if n := writesOf(e.s, "merged"); n != 1 {
			t.Errorf("%d merges, want 1", n)
		}
		if st := e.c.Stats(); st.SOAPMerge != 2 || st.QueryAll != 2 {
			t.Errorf("stats = %+v, want read, merge (503), read back, merge", st)
		}
	})

	t.Run("chained merges run in order", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 3, func(int) map[string]any { return nil })
		// B into A, then A into C: the second must see the first done.
		got, err := e.c.Merge(t.Context(), []crm.MergeRequest{merge("Contact", ids[0], ids[1]), merge("Contact", ids[2], ids[0])})
		if err != nil || !slices.Equal(statuses(got), []crm.Status{crm.Applied, crm.Applied}) {
			t.Fatalf("results %+v, %v", got, err)
		}
		if st := e.c.Stats(); st.SOAPMerge != 2 {
			t.Errorf("%d merge() calls, want 2 (one per wave)", st.SOAPMerge)
		}
	})
}

// beforeMerge calls fn before each merge() call reaches the double.
func beforeMerge(e *env, fn func()) {
	e.c.http.Transport = hookTransport{before: func(r *http.Request) {
		if strings.Contains(r.URL.Path, "/services/Soap/") {
			fn()
		}
	}}
}

func TestUnmerge(t *testing.T) {
	t.Run("undeletes the loser, restores its snapshot and says what is not undone", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		a := e.s.Seed("Contact", kv("Email", "a@x.com", "Title", "CEO"))
		b := e.s.Seed("Contact", kv("Email", "b@x.com", "Title", "New title"))
		opp := e.s.Seed("Opportunity", kv("Name", "Deal", "ContactId__c", b))
		mustMerge(t, e, a, b)
		snapshot := map[string]string{"Email": "b@x.com", "Title": "Old title", "Id": b, "LastModifiedDate": "x"}
		got, err := e.c.Unmerge(t.Context(), []crm.MergeRequest{{Object: "Contact", Survivor: a, Loser: b, Snapshot: snapshot}})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Status != crm.Applied {
			t.Fatalf("result = %+v", got[0])
		}
		for _, want := range []string{"undeleted from the Recycle Bin and restored 1 snapshot fields (Title)",
			"related records the merge moved to Contact " + a, "activities, opportunities, cases, campaign members", "move them back by hand"} {
			if !strings.Contains(got[0].Error, want) {
				t.Errorf("message %q lacks %q", got[0].Error, want)
			}
		}
		if _, deleted, _, _ := e.s.Get("Contact", b); deleted {
			t.Error("the loser is still in the Recycle Bin")
		}
		if v := field(t, e.s, "Contact", b, "Title"); v != "Old title" {
			t.Errorf("Title = %q, want the snapshot's", v)
		}
		if field(t, e.s, "Opportunity", opp, "ContactId__c") != a {
			t.Error("the opportunity moved back: the message would be wrong")
		}
		recs, err := e.c.Get(t.Context(), "Contact", []string{b}, []string{"Email"})
		if err != nil || recs[b].MergedInto != "" {
			t.Errorf("after unmerge Get = %+v, %v; want a live record (MasterRecordId may stay set)", recs[b], err)
		}
		if st := e.c.Stats(); st.Undelete != 1 || st.Collections != 1 {
			t.Errorf("stats = %+v", st)
		}

		t.Run("again: already applied", func(t *testing.T) {
			got, err := e.c.Unmerge(t.Context(), []crm.MergeRequest{{Object: "Contact", Survivor: a, Loser: b, Snapshot: snapshot}})
			if err != nil || got[0] != (crm.Result{Status: crm.AlreadyApplied}) {
				t.Errorf("results %+v, %v", got, err)
			}
		})
	})

	t.Run("nothing to restore: no PATCH", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 2, func(int) map[string]any { return kv("Email", "same@x.com") })
		mustMerge(t, e, ids[0], ids[1])
		got, err := e.c.Unmerge(t.Context(), []crm.MergeRequest{{Object: "Contact", Survivor: ids[0], Loser: ids[1], Snapshot: map[string]string{"Email": "same@x.com"}}})
		if err != nil || got[0].Status != crm.Applied || !strings.HasPrefix(got[0].Error, "undeleted from the Recycle Bin; not undone: the related records") {
			t.Fatalf("results %+v, %v", got, err)
		}
		if st := e.c.Stats(); st.Collections != 0 {
			t.Errorf("stats = %+v", st)
		}
	})

	t.Run("after 15 days the loser is gone: failed with what to do by hand", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 2, func(int) map[string]any { return nil })
		mustMerge(t, e, ids[0], ids[1])
		e.clock.Advance(16 * 24 * time.Hour)
		got, err := e.c.Unmerge(t.Context(), []crm.MergeRequest{{Object: "Contact", Survivor: ids[0], Loser: ids[1],
			Snapshot: map[string]string{"Email": "b@x.com", "LastName": "Baker"}}})
		if err != nil || got[0].Status != crm.Failed {
			t.Fatalf("results %+v, %v", got, err)
		}
		for _, want := range []string{"no longer in the Recycle Bin", "15 days", "recreate it by hand from its snapshot (Email=b@x.com, LastName=Baker)",
			"move its related records back from " + ids[0]} {
			if !strings.Contains(got[0].Error, want) {
				t.Errorf("message %q lacks %q", got[0].Error, want)
			}
		}
		if e.c.Stats().Undelete != 0 {
			t.Error("undelete() was called")
		}
	})

	t.Run("a loser merged into another record is stale; an undelete error fails", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 4, func(int) map[string]any { return nil })
		mustMerge(t, e, ids[0], ids[1])
		mustMerge(t, e, ids[2], ids[3])
		e.s.FailRecord(ids[3], "UNDELETE_FAILED", "Entity is not in the recycle bin")
		got, err := e.c.Unmerge(t.Context(), []crm.MergeRequest{merge("Contact", ids[2], ids[1]), merge("Contact", ids[2], ids[3])})
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != (crm.Result{Status: crm.Stale, Observed: ids[0], Error: "record " + ids[1] + " was merged into " + ids[0] + ", not " + ids[2]}) {
			t.Errorf("result 0 = %+v", got[0])
		}
		if got[1].Status != crm.Failed || !strings.Contains(got[1].Error, "Salesforce could not undelete Contact "+ids[3]+" (Salesforce UNDELETE_FAILED: Entity is not in the recycle bin)") {
			t.Errorf("result 1 = %+v", got[1])
		}
	})

	t.Run("a lost undelete answer is read back", func(t *testing.T) {
		e := newEnv(t, sftest.Options{})
		ids := seedContacts(e.s, 2, func(int) map[string]any { return nil })
		mustMerge(t, e, ids[0], ids[1])
		e.s.LoseNextWrites(1)
		got, err := e.c.Unmerge(t.Context(), []crm.MergeRequest{merge("Contact", ids[0], ids[1])})
		if err != nil || got[0].Status != crm.Applied || e.c.Stats().Undelete != 1 {
			t.Errorf("results %+v, %v, stats %+v", got, err, e.c.Stats())
		}
	})
}
