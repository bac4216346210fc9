package sqlite

import (
	"maps"
	"slices"
	"testing"

	"github.com/crmops/crmops/internal/crm"
)

func TestMerge(t *testing.T) {
	t.Run("the survivor's empty fields are filled from the loser and its own values are kept", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts",
			rec("1001", "email", "a@x.com", "firstname", "Ann"),
			rec("1002", "email", "ann@other.com", "phone", "555", "jobtitle", "CTO"))

		got, err := db.Merge(t.Context(), []crm.MergeRequest{{Object: "contacts", Survivor: "1001", Loser: "1002", Source: "dedupe"}})
		if err != nil {
			t.Fatal(err)
		}
		if want := (crm.Result{Status: crm.Applied, Observed: ""}); got[0] != want {
			t.Fatalf("result = %+v, want %+v", got[0], want)
		}
		survivor := mustGet(t, db, "contacts", "1001")
		wantSurvivor := map[string]string{"email": "a@x.com", "firstname": "Ann", "phone": "555", "jobtitle": "CTO"}
		if !maps.Equal(survivor.Fields, wantSurvivor) || survivor.MergedInto != "" {
			t.Errorf("survivor = %+v, want fields %v and live", survivor, wantSurvivor)
		}
		loser := mustGet(t, db, "contacts", "1002")
		wantLoser := map[string]string{"email": "ann@other.com", "phone": "555", "jobtitle": "CTO"}
		if !maps.Equal(loser.Fields, wantLoser) || loser.MergedInto != "1001" {
			t.Errorf("loser = %+v, want its own fields %v and merged into 1001", loser, wantLoser)
		}

		var fills []string
		for _, h := range mustHistory(t, db, "contacts", "1001") {
			if h.Source == "dedupe" {
				fills = append(fills, h.Field+"="+h.Old+">"+h.New)
			}
		}
		if want := []string{"jobtitle=>CTO", "phone=>555"}; !slices.Equal(fills, want) {
			t.Errorf("survivor history from the merge = %v, want %v", fills, want)
		}
		lh := mustHistory(t, db, "contacts", "1002")
		last := lh[len(lh)-1]
		if last.Field != "merged_into" || last.Old != "" || last.New != "1001" || last.Source != "dedupe" {
			t.Errorf("loser's last history row = %+v, want merged_into \"\" -> 1001 from dedupe", last)
		}
	})

	t.Run("merging again is already applied and changes nothing", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1001"), rec("1002", "phone", "555"))
		req := []crm.MergeRequest{{Object: "contacts", Survivor: "1001", Loser: "1002", Source: "dedupe"}}
		if _, err := db.Merge(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		// A field the survivor lost after the merge must not be refilled by a re-run.
		if _, err := db.CompareAndSet(t.Context(), []crm.SetRequest{{Object: "contacts", Record: "1001", Field: "phone", Before: "555", After: ""}}); err != nil {
			t.Fatal(err)
		}
		before := len(mustHistory(t, db, "contacts", "1001")) + len(mustHistory(t, db, "contacts", "1002"))

		got, err := db.Merge(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if want := (crm.Result{Status: crm.AlreadyApplied, Observed: "1001"}); got[0] != want {
			t.Errorf("re-run = %+v, want %+v", got[0], want)
		}
		after := len(mustHistory(t, db, "contacts", "1001")) + len(mustHistory(t, db, "contacts", "1002"))
		if after != before {
			t.Errorf("history rows went from %d to %d on a re-run", before, after)
		}
		if v := mustGet(t, db, "contacts", "1001").Fields["phone"]; v != "" {
			t.Errorf("re-run refilled the survivor's phone with %q", v)
		}
	})

	t.Run("a loser already merged into this survivor is already applied even after the survivor was merged on", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1000"), rec("1001"), rec("1002"))
		merged(t, db, "contacts", "1001", "1002")
		merged(t, db, "contacts", "1000", "1001")
		got, err := db.Merge(t.Context(), []crm.MergeRequest{{Object: "contacts", Survivor: "1001", Loser: "1002"}})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Status != crm.AlreadyApplied {
			t.Errorf("result = %+v, want already_applied", got[0])
		}
	})

	refusals := []struct {
		name     string
		survivor string
		loser    string
		want     crm.Result
	}{
		{"a loser merged into someone else is stale", "1001", "1003",
			crm.Result{Status: crm.Stale, Observed: "1004", Error: "record 1003 was merged into 1004"}},
		{"a loser that does not exist fails", "1001", "9999",
			crm.Result{Status: crm.Failed, Error: "record 9999 to merge: record not found"}},
		{"a survivor that does not exist fails", "9999", "1002",
			crm.Result{Status: crm.Failed, Error: "survivor 9999: record not found"}},
		{"a survivor that was merged away is stale", "1003", "1002",
			crm.Result{Status: crm.Stale, Error: "survivor 1003 was merged into 1004"}},
		{"a record cannot be merged into itself", "1001", "1001",
			crm.Result{Status: crm.Failed, Error: "cannot merge a record into itself"}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTemp(t)
			seed(t, db, "contacts", rec("1001", "a", "1"), rec("1002", "b", "2"), rec("1003", "c", "3"), rec("1004"))
			merged(t, db, "contacts", "1004", "1003")
			snapshot := func() map[string]crm.Record {
				m, err := db.Get(t.Context(), "contacts", []string{"1001", "1002", "1003", "1004"}, nil)
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			before := snapshot()

			got, err := db.Merge(t.Context(), []crm.MergeRequest{{Object: "contacts", Survivor: tt.survivor, Loser: tt.loser}})
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != tt.want {
				t.Errorf("result = %+v, want %+v", got[0], tt.want)
			}
			if after := snapshot(); !maps.EqualFunc(before, after, func(a, b crm.Record) bool {
				return a.MergedInto == b.MergedInto && maps.Equal(a.Fields, b.Fields)
			}) {
				t.Errorf("records changed by a refused merge:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}
