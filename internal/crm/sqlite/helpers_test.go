package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/crm"
)

// t0 is when every test's clock starts.
var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// tickingClock returns t0, t0+1s, t0+2s, ... so that history rows written
// by different calls have distinguishable, predictable times.
func tickingClock() func() time.Time {
	n := 0
	return func() time.Time {
		t := t0.Add(time.Duration(n) * time.Second)
		n++
		return t
	}
}

// openTemp opens a fresh CRM in the test's temporary directory.
func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crm", "crm.db")
	db, err := Open(path, Options{Now: tickingClock()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// seed imports recs into object and fails the test on error.
func seed(t *testing.T, db *DB, object string, recs ...crm.Record) {
	t.Helper()
	if _, _, err := db.Upsert(t.Context(), object, recs, "seed"); err != nil {
		t.Fatalf("seed %s: %v", object, err)
	}
}

// merged marks loser merged into survivor, failing the test unless applied.
func merged(t *testing.T, db *DB, object, survivor, loser string) {
	t.Helper()
	res, err := db.Merge(t.Context(), []crm.MergeRequest{{Object: object, Survivor: survivor, Loser: loser, Source: "seed"}})
	if err != nil || res[0].Status != crm.Applied {
		t.Fatalf("seed merge %s into %s: %v %+v", loser, survivor, err, res)
	}
}

func rec(id string, kv ...string) crm.Record {
	r := crm.Record{ID: id, Fields: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Fields[kv[i]] = kv[i+1]
	}
	return r
}

// mustGet reads one record, failing the test when it does not exist.
func mustGet(t *testing.T, db *DB, object, id string) crm.Record {
	t.Helper()
	got, err := db.Get(t.Context(), object, []string{id}, nil)
	if err != nil {
		t.Fatalf("Get %s/%s: %v", object, id, err)
	}
	r, ok := got[id]
	if !ok {
		t.Fatalf("Get %s/%s: record missing", object, id)
	}
	return r
}

func mustHistory(t *testing.T, db *DB, object, id string) []crm.HistoryEntry {
	t.Helper()
	h, err := db.History(t.Context(), object, id)
	if err != nil {
		t.Fatalf("History %s/%s: %v", object, id, err)
	}
	return h
}

// listIDs returns the ids List visits, in order.
func listIDs(t *testing.T, db *DB, object string) []string {
	t.Helper()
	var ids []string
	err := db.List(t.Context(), object, nil, func(r crm.Record) error {
		ids = append(ids, r.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("List %s: %v", object, err)
	}
	return ids
}
