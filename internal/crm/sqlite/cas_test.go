package sqlite

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/crmops/crmops/internal/crm"
)

func TestCompareAndSet(t *testing.T) {
	tests := []struct {
		name string
		req  crm.SetRequest
		want crm.Result
		// wantFields is the record afterwards; nil skips the check (no record).
		wantFields map[string]string
		// wantHistory is how many history rows the request adds to the record.
		wantHistory int
	}{
		{
			name:        "an empty field is filled when before is empty",
			req:         crm.SetRequest{Object: "contacts", Record: "1001", Field: "jobtitle", Before: "", After: "VP Sales", Source: "clay"},
			want:        crm.Result{Status: crm.Applied, Observed: ""},
			wantFields:  map[string]string{"email": "a@x.com", "lifecycle": "lead", "jobtitle": "VP Sales"},
			wantHistory: 1,
		},
		{
			name:        "a value still equal to before is overwritten",
			req:         crm.SetRequest{Object: "contacts", Record: "1001", Field: "lifecycle", Before: "lead", After: "customer", Source: "rule"},
			want:        crm.Result{Status: crm.Applied, Observed: "lead"},
			wantFields:  map[string]string{"email": "a@x.com", "lifecycle": "customer"},
			wantHistory: 1,
		},
		{
			name:        "an empty after clears the field",
			req:         crm.SetRequest{Object: "contacts", Record: "1001", Field: "lifecycle", Before: "lead", After: "", Source: "rule"},
			want:        crm.Result{Status: crm.Applied, Observed: "lead"},
			wantFields:  map[string]string{"email": "a@x.com"},
			wantHistory: 1,
		},
		{
			name:       "a value changed since detection is stale and left alone",
			req:        crm.SetRequest{Object: "contacts", Record: "1001", Field: "lifecycle", Before: "subscriber", After: "customer"},
			want:       crm.Result{Status: crm.Stale, Observed: "lead", Error: `expected "subscriber", found "lead"`},
			wantFields: map[string]string{"email": "a@x.com", "lifecycle": "lead"},
		},
		{
			name:       "a field filled since detection is stale",
			req:        crm.SetRequest{Object: "contacts", Record: "1001", Field: "email", Before: "", After: "b@x.com"},
			want:       crm.Result{Status: crm.Stale, Observed: "a@x.com", Error: `expected "", found "a@x.com"`},
			wantFields: map[string]string{"email": "a@x.com", "lifecycle": "lead"},
		},
		{
			name:       "a value already equal to after is already applied even if before differs",
			req:        crm.SetRequest{Object: "contacts", Record: "1001", Field: "lifecycle", Before: "subscriber", After: "lead"},
			want:       crm.Result{Status: crm.AlreadyApplied, Observed: "lead"},
			wantFields: map[string]string{"email": "a@x.com", "lifecycle": "lead"},
		},
		{
			name: "a record that does not exist fails",
			req:  crm.SetRequest{Object: "contacts", Record: "9999", Field: "jobtitle", After: "CEO"},
			want: crm.Result{Status: crm.Failed, Error: "record not found"},
		},
		{
			name: "a record of another object does not count as existing",
			req:  crm.SetRequest{Object: "companies", Record: "1001", Field: "jobtitle", After: "CEO"},
			want: crm.Result{Status: crm.Failed, Error: "record not found"},
		},
		{
			name:       "a record merged into another is stale",
			req:        crm.SetRequest{Object: "contacts", Record: "1002", Field: "jobtitle", Before: "", After: "CEO"},
			want:       crm.Result{Status: crm.Stale, Observed: "", Error: "record was merged into 1001"},
			wantFields: map[string]string{"email": "dup@x.com"},
		},
		{
			name:       "an empty field name fails",
			req:        crm.SetRequest{Object: "contacts", Record: "1001", Field: "", After: "x"},
			want:       crm.Result{Status: crm.Failed, Error: "empty field name"},
			wantFields: map[string]string{"email": "a@x.com", "lifecycle": "lead"},
		},
		{
			name:       "the id cannot be written as a field",
			req:        crm.SetRequest{Object: "contacts", Record: "1001", Field: "id", After: "2000"},
			want:       crm.Result{Status: crm.Failed, Error: `field "id" is the record id and cannot be written as a field`},
			wantFields: map[string]string{"email": "a@x.com", "lifecycle": "lead"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTemp(t)
			seed(t, db, "contacts",
				rec("1001", "email", "a@x.com", "lifecycle", "lead"),
				rec("1002", "email", "dup@x.com"))
			merged(t, db, "contacts", "1001", "1002")
			historyBefore := len(mustHistory(t, db, tt.req.Object, tt.req.Record))

			got, err := db.CompareAndSet(t.Context(), []crm.SetRequest{tt.req})
			if err != nil {
				t.Fatalf("CompareAndSet: %v", err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("results = %+v, want [%+v]", got, tt.want)
			}
			if tt.wantFields != nil {
				if r := mustGet(t, db, tt.req.Object, tt.req.Record); !maps.Equal(r.Fields, tt.wantFields) {
					t.Errorf("record fields = %v, want %v", r.Fields, tt.wantFields)
				}
			}
			h := mustHistory(t, db, tt.req.Object, tt.req.Record)
			if added := len(h) - historyBefore; added != tt.wantHistory {
				t.Fatalf("history rows added = %d, want %d: %+v", added, tt.wantHistory, h)
			}
			if tt.wantHistory == 1 {
				last := h[len(h)-1]
				want := crm.HistoryEntry{Object: tt.req.Object, Record: tt.req.Record, Field: tt.req.Field,
					Old: tt.want.Observed, New: tt.req.After, Source: tt.req.Source, At: last.At}
				if last != want {
					t.Errorf("history row = %+v, want %+v", last, want)
				}
				if !last.At.After(t0) {
					t.Errorf("history time %v is not from the clock after seeding", last.At)
				}
			}
		})
	}
}

func TestCompareAndSetBatch(t *testing.T) {
	t.Run("results line up with requests and one failure does not stop the rest", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1", "a", "x"), rec("2", "a", "x"))
		reqs := []crm.SetRequest{
			{Object: "contacts", Record: "1", Field: "a", Before: "x", After: "y"},
			{Object: "contacts", Record: "missing", Field: "a", Before: "x", After: "y"},
			{Object: "contacts", Record: "2", Field: "a", Before: "stale", After: "y"},
			{Object: "contacts", Record: "2", Field: "b", Before: "", After: "new"},
		}
		got, err := db.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		want := []crm.Status{crm.Applied, crm.Failed, crm.Stale, crm.Applied}
		if len(got) != len(want) {
			t.Fatalf("got %d results for %d requests", len(got), len(reqs))
		}
		for i := range want {
			if got[i].Status != want[i] {
				t.Errorf("request %d: status %s, want %s (%+v)", i, got[i].Status, want[i], got[i])
			}
		}
		if v := mustGet(t, db, "contacts", "2").Fields["b"]; v != "new" {
			t.Errorf("record 2 field b = %q after a later request in the batch, want %q", v, "new")
		}
	})

	t.Run("running the same batch again reports already applied and writes no second history row", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1001", "email", "a@x.com"))
		reqs := []crm.SetRequest{{Object: "contacts", Record: "1001", Field: "jobtitle", Before: "", After: "VP Sales", Source: "clay"}}
		first, err := db.CompareAndSet(t.Context(), reqs)
		if err != nil || first[0].Status != crm.Applied {
			t.Fatalf("first run: %v %+v", err, first)
		}
		historyAfterFirst := len(mustHistory(t, db, "contacts", "1001"))

		second, err := db.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		if want := (crm.Result{Status: crm.AlreadyApplied, Observed: "VP Sales"}); second[0] != want {
			t.Errorf("second run = %+v, want %+v", second[0], want)
		}
		if n := len(mustHistory(t, db, "contacts", "1001")); n != historyAfterFirst {
			t.Errorf("history has %d rows after the re-run, want %d", n, historyAfterFirst)
		}
	})

	t.Run("a change to a record merged after it was applied is still already applied on a re-run", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1001"), rec("1002"))
		reqs := []crm.SetRequest{{Object: "contacts", Record: "1002", Field: "phone", After: "555"}}
		if _, err := db.CompareAndSet(t.Context(), reqs); err != nil {
			t.Fatal(err)
		}
		merged(t, db, "contacts", "1001", "1002")
		got, err := db.CompareAndSet(t.Context(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Status != crm.AlreadyApplied {
			t.Errorf("re-run = %+v, want already_applied", got[0])
		}
	})

	t.Run("a cancelled context stops before writing anything", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		got, err := db.CompareAndSet(ctx, []crm.SetRequest{{Object: "contacts", Record: "1", Field: "a", After: "b"}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if len(got) != 0 {
			t.Errorf("results = %+v, want none", got)
		}
		if v := mustGet(t, db, "contacts", "1").Fields["a"]; v != "" {
			t.Errorf("field written despite cancellation: %q", v)
		}
	})
}
