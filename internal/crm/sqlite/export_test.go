package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/csvio"
)

// oldExport is `crm export` as it was before Export: every live record read
// with encoding/json, once for the header and once more to write the rows
// through csvio.Writer. Export must write the same bytes.
func oldExport(t *testing.T, db *DB, object string) string {
	t.Helper()
	var recs []crm.Record
	rows, err := db.sql.QueryContext(t.Context(),
		`SELECT id, fields FROM records WHERE object = ? AND merged_into = '' ORDER BY id`, object)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			t.Fatal(err)
		}
		fields := map[string]string{}
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &fields); err != nil {
				t.Fatalf("record %s: %v", id, err)
			}
		}
		recs = append(recs, crm.Record{ID: id, Fields: fields})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		for k := range r.Fields {
			seen[k] = true
		}
	}
	fields := make([]string, 0, len(seen))
	for k := range seen {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	var buf bytes.Buffer
	cw := csvio.NewWriter(&buf, fields)
	for _, r := range recs {
		if err := cw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// newExport is Export with a spill threshold, written to a string.
func newExport(t *testing.T, db *DB, object string, spill int) (string, *Export) {
	t.Helper()
	x, err := db.export(t.Context(), object, spill)
	if err != nil {
		t.Fatalf("Export %s: %v", object, err)
	}
	t.Cleanup(func() { x.Close() })
	var buf bytes.Buffer
	if err := x.WriteCSV(&buf); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	return buf.String(), x
}

// seedOdd fills a CRM with what export must get right: odd values, fields
// only some records have, merged-away records (one with a field no live
// record has), and JSON in layouts crmops does not write itself.
func seedOdd(t *testing.T, db *DB) {
	t.Helper()
	var recs []crm.Record
	for i, v := range oddValues {
		r := rec(fmt.Sprintf("%03d", i), "email", fmt.Sprintf("p%d@x.com", i), "note", v)
		if i%3 == 0 {
			r.Fields["only_some"] = v + "!"
		}
		if i%4 == 0 {
			r.Fields["Ünïcode field, \"quoted\""] = "x"
		}
		recs = append(recs, r)
	}
	recs = append(recs,
		rec("9", "email", "nine@x.com"), rec("10", "email", "ten@x.com"), rec("100"),
		rec("loser", "email", "l@x.com", "only_on_loser", "gone"),
		rec("survivor", "email", "s@x.com"))
	seed(t, db, "contacts", recs...)
	merged(t, db, "contacts", "survivor", "loser")
	seed(t, db, "companies", rec("c1", "company_only", "yes"))
	// Merging fills the survivor's empty fields from the loser; this one
	// was merged with its field left to itself.
	if _, err := db.sql.ExecContext(t.Context(),
		`INSERT INTO records (object, id, fields, merged_into, created_at, updated_at)
		 VALUES ('contacts', 'merged-away', '{"only_merged":"x"}', 'survivor', '', '')`); err != nil {
		t.Fatal(err)
	}
	for id, raw := range map[string]string{
		"raw-space":    "{ \"email\" : \"sp@x.com\" ,\n \"spaced\":\"a b\" }",
		"raw-dup":      `{"email":"first","email":"second"}`,
		"raw-null":     `{"email":null,"nulled":null}`,
		"raw-escapes":  `{"email":"\u00e9\ud83d\ude00\/x","tab\tkey":"v"}`,
		"raw-id":       `{"id":"shadow","email":"id@x.com"}`,
		"raw-empty":    ``,
		"raw-emptyobj": `{}`,
	} {
		_, err := db.sql.ExecContext(t.Context(),
			`INSERT INTO records (object, id, fields, created_at, updated_at) VALUES ('contacts', ?, ?, '', '')`, id, raw)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestExportWritesWhatTheOldExportWrote(t *testing.T) {
	db, _ := openTemp(t)
	seedOdd(t, db)
	want := oldExport(t, db, "contacts")
	for _, tt := range []struct {
		name  string
		spill int
	}{
		{"a snapshot held in memory", exportSpill},
		{"a snapshot spilled to a temporary file", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, x := newExport(t, db, "contacts", tt.spill)
			if got != want {
				t.Errorf("export differs from the old export\n got: %q\nwant: %q", got, want)
			}
			if n, _ := db.Count(t.Context(), "contacts"); x.Len() != n {
				t.Errorf("Len = %d, want the %d live records", x.Len(), n)
			}
		})
	}
	t.Run("the header has no field only a merged-away record has", func(t *testing.T) {
		got, _ := newExport(t, db, "contacts", exportSpill)
		header, _, _ := strings.Cut(got, "\n")
		if strings.Contains(header, "only_merged") || strings.Contains(got, "\nloser,") || strings.Contains(got, "\nmerged-away,") {
			t.Errorf("merged-away record in export: header %q", header)
		}
		if !strings.Contains(header, "only_some") || strings.Contains(header, "company_only") {
			t.Errorf("header %q: want contacts' fields only, those some records have included", header)
		}
	})
}

func TestExportOfAnObjectWithoutRecordsIsAHeader(t *testing.T) {
	db, _ := openTemp(t)
	got, x := newExport(t, db, "contacts", exportSpill)
	if got != "id\n" || x.Len() != 0 {
		t.Errorf("export = %q (%d records), want just the header", got, x.Len())
	}
}

func TestExportOfASeededCRMMatchesTheOldExport(t *testing.T) {
	db, _ := openTemp(t)
	var recs []crm.Record
	for i := range 5000 {
		r := rec(fmt.Sprintf("%d", 100000+i), "email", fmt.Sprintf("e%d@x.com", i), "firstname", oddValues[i%len(oddValues)])
		if i%7 == 0 {
			r.Fields[fmt.Sprintf("rare_%d", i%5)] = "r"
		}
		recs = append(recs, r)
	}
	seed(t, db, "contacts", recs...)
	// A spill below one chunk sends most records to the file, and a run of
	// chunks through the pipeline.
	got, _ := newExport(t, db, "contacts", 1000)
	if want := oldExport(t, db, "contacts"); got != want {
		t.Errorf("export of %d records differs from the old export (%d bytes vs %d)", len(recs), len(got), len(want))
	}
}

func TestExportFailsOnARecordItCannotRead(t *testing.T) {
	db, _ := openTemp(t)
	seed(t, db, "contacts", rec("1", "email", "a@x.com"))
	if _, err := db.sql.ExecContext(t.Context(),
		`INSERT INTO records (object, id, fields, created_at, updated_at) VALUES ('contacts', '2', '{"email":', '', '')`); err != nil {
		t.Fatal(err)
	}
	x, err := db.Export(t.Context(), "contacts")
	if err == nil {
		x.Close()
		t.Fatal("Export of a record with broken JSON succeeded")
	}
	if !strings.Contains(err.Error(), "record 2") {
		t.Errorf("error %q does not name record 2", err)
	}
}

func TestExportLeavesNoTemporaryFile(t *testing.T) {
	db, _ := openTemp(t)
	seedOdd(t, db)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, x := newExport(t, db, "contacts", 0)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "*"))
	if len(left) != 0 {
		t.Errorf("temporary files left after Close: %v", left)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal(err)
	}
}

// TestListReadsWhatEncodingJSONReads checks List's and Get's one-pass
// decoding, whole and projected, against encoding/json on the odd CRM.
func TestListReadsWhatEncodingJSONReads(t *testing.T) {
	db, _ := openTemp(t)
	seedOdd(t, db)
	raw := map[string]string{}
	rows, err := db.sql.QueryContext(t.Context(), `SELECT id, fields FROM records WHERE object = 'contacts'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, f string
		if err := rows.Scan(&id, &f); err != nil {
			t.Fatal(err)
		}
		raw[id] = f
	}
	rows.Close()
	for _, want := range [][]string{nil, {"email", "note", "nulled"}, {}} {
		n := 0
		err := db.List(t.Context(), "contacts", want, func(r crm.Record) error {
			n++
			exp, err := wantFields(raw[r.ID], want)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(r.Fields) != fmt.Sprint(exp) {
				t.Errorf("List(%q) %s = %q, encoding/json gives %q", want, r.ID, r.Fields, exp)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if live, _ := db.Count(t.Context(), "contacts"); n != live {
			t.Errorf("List visited %d records, want %d", n, live)
		}
		ids := make([]string, 0, len(raw))
		for id := range raw {
			ids = append(ids, id)
		}
		got, err := db.Get(t.Context(), "contacts", ids, want)
		if err != nil {
			t.Fatal(err)
		}
		for id, r := range got {
			exp, _ := wantFields(raw[id], want)
			if fmt.Sprint(r.Fields) != fmt.Sprint(exp) {
				t.Errorf("Get(%q) %s = %q, encoding/json gives %q", want, id, r.Fields, exp)
			}
		}
	}
}
