package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/crmops/crmops/internal/crm"
)

func TestUnmergeRestoresTheMergedRecordOnceAndOnlyFromItsSurvivor(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "crm.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs := []crm.Record{
		{ID: "1", Fields: map[string]string{"email": "a@x.com"}},
		{ID: "2", Fields: map[string]string{"email": "A@x.com", "jobtitle": "CTO"}},
		{ID: "3", Fields: map[string]string{"email": "c@x.com"}},
	}
	if _, _, err := db.Upsert(ctx, "contacts", recs, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Merge(ctx, []crm.MergeRequest{{Object: "contacts", Survivor: "1", Loser: "2", Source: "dedupe"}}); err != nil {
		t.Fatal(err)
	}
	req := crm.MergeRequest{Object: "contacts", Survivor: "1", Loser: "2", Source: "revert",
		Snapshot: map[string]string{"email": "A@x.com", "jobtitle": "Chief Technology Officer"}}
	tests := []struct {
		name string
		req  crm.MergeRequest
		want crm.Status
	}{
		{"an unmerge from the wrong survivor is stale", crm.MergeRequest{Object: "contacts", Survivor: "3", Loser: "2"}, crm.Stale},
		{"an unmerge from the survivor applies", req, crm.Applied},
		{"a second unmerge finds it already done", req, crm.AlreadyApplied},
		{"an unmerge of a record that does not exist fails", crm.MergeRequest{Object: "contacts", Survivor: "1", Loser: "9"}, crm.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := db.Unmerge(ctx, []crm.MergeRequest{tt.req})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Status != tt.want {
				t.Errorf("status %s (%s), want %s", res[0].Status, res[0].Error, tt.want)
			}
		})
	}
	got, err := db.Get(ctx, "contacts", []string{"2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := got["2"]; r.MergedInto != "" || r.Fields["jobtitle"] != "Chief Technology Officer" {
		t.Errorf("contacts/2 = %+v; want live again with its snapshot's jobtitle", r)
	}
	var live int
	if err := db.List(ctx, "contacts", nil, func(crm.Record) error { live++; return nil }); err != nil || live != 3 {
		t.Errorf("List sees %d live records (%v), want 3", live, err)
	}
}
