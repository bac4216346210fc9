package sqlite

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
)

func TestGet(t *testing.T) {
	db, _ := openTemp(t)
	seed(t, db, "contacts",
		rec("1", "email", "a@x.com", "firstname", "Ann"),
		rec("2", "email", "b@x.com"),
		rec("3", "email", "c@x.com"))
	seed(t, db, "companies", rec("1", "domain", "x.com"))
	merged(t, db, "contacts", "2", "3")

	tests := []struct {
		name   string
		ids    []string
		fields []string
		want   map[string]crm.Record
	}{
		{"ids that do not exist are absent from the result", []string{"1", "404"}, nil,
			map[string]crm.Record{"1": rec("1", "email", "a@x.com", "firstname", "Ann")}},
		{"a merged record is returned with the survivor it was merged into", []string{"3"}, nil,
			map[string]crm.Record{"3": {ID: "3", Fields: map[string]string{"email": "c@x.com"}, MergedInto: "2"}}},
		{"a field list returns only those fields", []string{"1", "2"}, []string{"firstname"},
			map[string]crm.Record{"1": rec("1", "firstname", "Ann"), "2": rec("2")}},
		{"an empty field list returns ids only", []string{"1"}, []string{},
			map[string]crm.Record{"1": rec("1")}},
		{"no ids returns an empty map", nil, nil, map[string]crm.Record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Get(t.Context(), "contacts", tt.ids, tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(got, tt.want, func(a, b crm.Record) bool {
				return a.ID == b.ID && a.MergedInto == b.MergedInto && maps.Equal(a.Fields, b.Fields)
			}) {
				t.Errorf("Get = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("a batch larger than SQLite's variable limit is read in one call", func(t *testing.T) {
		ids := make([]string, 40000)
		for i := range ids {
			ids[i] = fmt.Sprintf("x%d", i)
		}
		ids[39999] = "1"
		got, err := db.Get(t.Context(), "contacts", ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got["1"].Fields["email"] != "a@x.com" {
			t.Errorf("Get = %v, want only record 1", got)
		}
	})
}

func TestList(t *testing.T) {
	t.Run("live records are visited in id order and merged ones are skipped", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("c"), rec("a"), rec("d"), rec("b"))
		seed(t, db, "companies", rec("0"))
		merged(t, db, "contacts", "a", "c")
		if got, want := listIDs(t, db, "contacts"), []string{"a", "b", "d"}; !slices.Equal(got, want) {
			t.Errorf("List = %v, want %v", got, want)
		}
	})

	t.Run("every record is visited once across many pages", func(t *testing.T) {
		db, _ := openTemp(t)
		n := 2*listPage + 7
		recs := make([]crm.Record, n)
		want := make([]string, n)
		for i := range recs {
			recs[i] = rec(fmt.Sprintf("%06d", n-i), "i", fmt.Sprint(i))
			want[i] = fmt.Sprintf("%06d", i+1)
		}
		seed(t, db, "contacts", recs...)
		if got := listIDs(t, db, "contacts"); !slices.Equal(got, want) {
			t.Errorf("List visited %d records, want %d in order (first %v, last %v)",
				len(got), n, got[:min(3, len(got))], got[max(0, len(got)-3):])
		}
	})

	t.Run("a field list limits the fields each record carries", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1", "email", "a@x.com", "phone", "555"))
		var got []map[string]string
		if err := db.List(t.Context(), "contacts", []string{"email"}, func(r crm.Record) error {
			got = append(got, r.Fields)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !maps.Equal(got[0], map[string]string{"email": "a@x.com"}) {
			t.Errorf("fields = %v, want only email", got)
		}
	})

	t.Run("an error from the callback stops the listing and is returned", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1"), rec("2"), rec("3"))
		stop := errors.New("enough")
		calls := 0
		err := db.List(t.Context(), "contacts", nil, func(crm.Record) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) {
			t.Errorf("err = %v, want the callback's error", err)
		}
		if calls != 2 {
			t.Errorf("callback ran %d times, want 2", calls)
		}
	})

	t.Run("the callback may write to the CRM without deadlocking", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1", "lifecycle", "lead"), rec("2", "lifecycle", "lead"))
		done := make(chan error, 1)
		go func() {
			done <- db.List(t.Context(), "contacts", nil, func(r crm.Record) error {
				res, err := db.CompareAndSet(t.Context(), []crm.SetRequest{{Object: "contacts", Record: r.ID, Field: "lifecycle", Before: "lead", After: "customer"}})
				if err == nil && res[0].Status != crm.Applied {
					err = fmt.Errorf("%s: %+v", r.ID, res[0])
				}
				return err
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("List with a writing callback did not finish: deadlock")
		}
		if n, _ := db.Count(t.Context(), "contacts"); n != 2 {
			t.Errorf("Count = %d, want 2", n)
		}
	})
}

func TestHistory(t *testing.T) {
	t.Run("history lists every change oldest first with its source and time", func(t *testing.T) {
		db, _ := openTemp(t) // clock: t0 for the import, then one tick per write
		seed(t, db, "contacts", rec("1", "lifecycle", "lead"))
		for _, step := range []struct{ before, after, source string }{
			{"lead", "mql", "score"}, {"mql", "customer", "rule"},
		} {
			if _, err := db.CompareAndSet(t.Context(), []crm.SetRequest{{Object: "contacts", Record: "1", Field: "lifecycle", Before: step.before, After: step.after, Source: step.source}}); err != nil {
				t.Fatal(err)
			}
		}
		got := mustHistory(t, db, "contacts", "1")
		want := []crm.HistoryEntry{
			{Object: "contacts", Record: "1", Field: "lifecycle", Old: "", New: "lead", Source: "seed", At: t0},
			{Object: "contacts", Record: "1", Field: "lifecycle", Old: "lead", New: "mql", Source: "score", At: t0.Add(time.Second)},
			{Object: "contacts", Record: "1", Field: "lifecycle", Old: "mql", New: "customer", Source: "rule", At: t0.Add(2 * time.Second)},
		}
		if !slices.EqualFunc(got, want, sameEntry) {
			t.Errorf("History =\n%+v\nwant\n%+v", got, want)
		}
	})

	t.Run("a record without changes has no history", func(t *testing.T) {
		db, _ := openTemp(t)
		if got := mustHistory(t, db, "contacts", "nobody"); len(got) != 0 {
			t.Errorf("History = %+v, want none", got)
		}
	})
}

func TestObjectsAndCount(t *testing.T) {
	db, _ := openTemp(t)
	seed(t, db, "deals", rec("1"))
	seed(t, db, "contacts", rec("1"), rec("2"), rec("3"))
	merged(t, db, "contacts", "1", "2")

	t.Run("objects are the names that have records, sorted", func(t *testing.T) {
		got, err := db.Objects(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"contacts", "deals"}; !slices.Equal(got, want) {
			t.Errorf("Objects = %v, want %v", got, want)
		}
	})

	t.Run("count leaves out merged records", func(t *testing.T) {
		for object, want := range map[string]int{"contacts": 2, "deals": 1, "companies": 0} {
			got, err := db.Count(t.Context(), object)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Count(%s) = %d, want %d", object, got, want)
			}
		}
	})
}

// sameEntry compares history entries, times by instant rather than location.
func sameEntry(a, b crm.HistoryEntry) bool {
	at := a.At.Equal(b.At)
	a.At, b.At = time.Time{}, time.Time{}
	return at && a == b
}
