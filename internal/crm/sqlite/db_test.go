package sqlite

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/crmops/crmops/internal/crm"
)

func TestOpen(t *testing.T) {
	t.Run("a missing file and its parent directories are created", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), ".crmops", "nested", "crm.db")
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("database file not created: %v", err)
		}
	})

	t.Run("data survives closing and reopening the file", func(t *testing.T) {
		db, path := openTemp(t)
		seed(t, db, "contacts", rec("1", "email", "a@x.com"))
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if v := mustGet(t, again, "contacts", "1").Fields["email"]; v != "a@x.com" {
			t.Errorf("email after reopening = %q", v)
		}
	})

	t.Run("a path with URI characters opens exactly that file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "odd?name#1 %41.db")
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("file %q not created: %v", path, err)
		}
	})

	t.Run("the database is in WAL mode so another process can read while one writes", func(t *testing.T) {
		db, _ := openTemp(t)
		var mode string
		if err := db.sql.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(mode, "wal") {
			t.Errorf("journal_mode = %q, want wal", mode)
		}
	})

	t.Run("a file written by a newer schema is refused", func(t *testing.T) {
		db, path := openTemp(t)
		if _, err := db.sql.ExecContext(t.Context(), "PRAGMA user_version = 99"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := Open(path, Options{})
		if err == nil || !strings.Contains(err.Error(), "upgrade crmops") {
			t.Errorf("err = %v, want a refusal naming the upgrade", err)
		}
	})
}

func TestUpsert(t *testing.T) {
	t.Run("new records are inserted with non-empty fields only", func(t *testing.T) {
		db, _ := openTemp(t)
		ins, upd, err := db.Upsert(t.Context(), "contacts", []crm.Record{
			rec("1", "email", "a@x.com", "phone", ""), rec("2"),
		}, "import")
		if err != nil {
			t.Fatal(err)
		}
		if ins != 2 || upd != 0 {
			t.Errorf("inserted, updated = %d, %d, want 2, 0", ins, upd)
		}
		if got := mustGet(t, db, "contacts", "1").Fields; !maps.Equal(got, map[string]string{"email": "a@x.com"}) {
			t.Errorf("record 1 = %v, want only email", got)
		}
		h := mustHistory(t, db, "contacts", "1")
		if len(h) != 1 || h[0].Field != "email" || h[0].Old != "" || h[0].New != "a@x.com" || h[0].Source != "import" {
			t.Errorf("history = %+v, want one import row for email", h)
		}
	})

	t.Run("importing the same file again changes nothing", func(t *testing.T) {
		db, _ := openTemp(t)
		recs := []crm.Record{rec("1", "email", "a@x.com"), rec("2", "email", "b@x.com")}
		seed(t, db, "contacts", recs...)
		ins, upd, err := db.Upsert(t.Context(), "contacts", recs, "import")
		if err != nil {
			t.Fatal(err)
		}
		if ins != 0 || upd != 0 {
			t.Errorf("inserted, updated = %d, %d, want 0, 0", ins, upd)
		}
		if h := mustHistory(t, db, "contacts", "1"); len(h) != 1 {
			t.Errorf("history has %d rows, want only the first import's", len(h))
		}
	})

	t.Run("named fields are replaced, emptied ones deleted and unnamed ones kept", func(t *testing.T) {
		db, _ := openTemp(t)
		seed(t, db, "contacts", rec("1", "email", "a@x.com", "phone", "555", "city", "Oslo"), rec("2", "email", "b@x.com"))
		ins, upd, err := db.Upsert(t.Context(), "contacts", []crm.Record{
			rec("1", "email", "new@x.com", "phone", ""),
			rec("2", "email", "b@x.com"),
			rec("3", "email", "c@x.com"),
		}, "import")
		if err != nil {
			t.Fatal(err)
		}
		if ins != 1 || upd != 1 {
			t.Errorf("inserted, updated = %d, %d, want 1, 1", ins, upd)
		}
		if got, want := mustGet(t, db, "contacts", "1").Fields, map[string]string{"email": "new@x.com", "city": "Oslo"}; !maps.Equal(got, want) {
			t.Errorf("record 1 = %v, want %v", got, want)
		}
		var changes []string
		for _, h := range mustHistory(t, db, "contacts", "1") {
			if h.Source == "import" {
				changes = append(changes, fmt.Sprintf("%s:%s>%s", h.Field, h.Old, h.New))
			}
		}
		if want := "email:a@x.com>new@x.com phone:555>"; strings.Join(changes, " ") != want {
			t.Errorf("import history = %v, want %s", changes, want)
		}
	})

	bad := []struct {
		name    string
		recs    []crm.Record
		wantErr string
	}{
		{"a record without an id writes nothing and names its position",
			[]crm.Record{rec("1", "email", "a@x.com"), rec("", "email", "b@x.com")}, "upsert contacts: record 2: empty id"},
		{"a field named id writes nothing",
			[]crm.Record{rec("1", "email", "a@x.com"), rec("2", "id", "3")}, `upsert contacts/2: field "id"`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTemp(t)
			_, _, err := db.Upsert(t.Context(), "contacts", tt.recs, "import")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if n, _ := db.Count(t.Context(), "contacts"); n != 0 {
				t.Errorf("%d records written by a failed import, want 0", n)
			}
			if h := mustHistory(t, db, "contacts", "1"); len(h) != 0 {
				t.Errorf("history written by a failed import: %+v", h)
			}
		})
	}
}

func TestTwoHandles(t *testing.T) {
	t.Run("two handles on one file see each other's writes", func(t *testing.T) {
		a, path := openTemp(t)
		b, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()

		seed(t, a, "contacts", rec("1", "email", "a@x.com"))
		if v := mustGet(t, b, "contacts", "1").Fields["email"]; v != "a@x.com" {
			t.Fatalf("second handle reads email %q, want the first handle's import", v)
		}
		res, err := b.CompareAndSet(t.Context(), []crm.SetRequest{{Object: "contacts", Record: "1", Field: "jobtitle", After: "CTO"}})
		if err != nil || res[0].Status != crm.Applied {
			t.Fatalf("CAS through second handle: %v %+v", err, res)
		}
		if v := mustGet(t, a, "contacts", "1").Fields["jobtitle"]; v != "CTO" {
			t.Errorf("first handle reads jobtitle %q, want the second handle's write", v)
		}
	})

	t.Run("racing compare-and-swaps from separate handles apply exactly once", func(t *testing.T) {
		first, path := openTemp(t)
		seed(t, first, "contacts", rec("1", "owner", "nobody"))
		const n = 8
		results := make([]crm.Result, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			db, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			wg.Go(func() {
				res, err := db.CompareAndSet(t.Context(), []crm.SetRequest{{Object: "contacts", Record: "1", Field: "owner", Before: "nobody", After: fmt.Sprintf("rep%d", i)}})
				errs[i] = err
				if err == nil {
					results[i] = res[0]
				}
			})
		}
		wg.Wait()
		applied := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("handle %d: %v", i, errs[i])
			}
			switch results[i].Status {
			case crm.Applied:
				applied++
			case crm.Stale:
			default:
				t.Errorf("handle %d: %+v, want applied or stale", i, results[i])
			}
		}
		if applied != 1 {
			t.Errorf("%d handles applied the change, want exactly 1", applied)
		}
		if h := mustHistory(t, first, "contacts", "1"); len(h) != 2 {
			t.Errorf("history has %d rows, want the import and one write: %+v", len(h), h)
		}
	})
}

// BenchmarkUpsert imports 100,000 five-field records into a fresh database,
// the size the spec promises imports in seconds.
func BenchmarkUpsert(b *testing.B) {
	recs := make([]crm.Record, 100_000)
	for i := range recs {
		recs[i] = rec(fmt.Sprint(i), "email", fmt.Sprintf("p%d@x.com", i), "firstname", "Ann",
			"lastname", "Lee", "jobtitle", "VP Sales", "city", "Oslo")
	}
	for b.Loop() {
		db, err := Open(filepath.Join(b.TempDir(), "crm.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if ins, _, err := db.Upsert(b.Context(), "contacts", recs, "import"); err != nil || ins != len(recs) {
			b.Fatalf("Upsert: %d, %v", ins, err)
		}
		db.Close()
	}
}
