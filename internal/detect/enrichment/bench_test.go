package enrichment_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/detecttest"
)

// BenchmarkEnrichment runs the detector over a CRM of N contacts with an
// enrichment file holding a row for every one of them (the worst case: a
// full-list refresh), two mapped columns each: a quarter of the rows fill
// an empty title, a quarter overwrite one, the rest hold what the CRM has.
func BenchmarkEnrichment(b *testing.B) {
	n := detecttest.BenchRecords(b)
	db := openCRM(b)
	detecttest.SeedMany(b, db, "contacts", n, func(i int) crm.Record {
		title := "Engineer"
		if i%4 == 0 {
			title = ""
		}
		return rec(strconv.Itoa(100000+i), "email", fmt.Sprintf("person%d@company%d.com", i, i%5000),
			"firstname", "Ann", "lastname", "Lee", "jobtitle", title, "city", "Oslo", "lifecyclestage", "lead")
	})
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "clay.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "Email,Job Title,City")
	for i := 0; i < n; i++ {
		title := "Engineer"
		if i%4 == 1 {
			title = "Staff Engineer"
		}
		fmt.Fprintf(w, "Person%d@Company%d.com,%s,Oslo\n", i, i%5000, title)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	d := mustDetector(b, "{input: clay.csv, match_column: Email, columns: {Job Title: jobtitle, City: city}, source: clay}")
	env := detect.Env{CRM: db, Dir: dir, Progress: detect.NoProgress{}}
	var changes int
	for b.Loop() {
		res, err := d.Detect(b.Context(), env)
		if err != nil {
			b.Fatal(err)
		}
		changes = len(res.Changes)
	}
	if want := n/4 + (n+2)/4; changes != want {
		b.Errorf("%d changes, want %d", changes, want)
	}
	b.ReportMetric(float64(n), "records")
	b.ReportMetric(float64(changes), "changes")
}
