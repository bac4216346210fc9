package lifecycle_test

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

// BenchmarkLifecycle runs the detector over a CRM of N contacts with an
// event for every one of them and a score for every one of them (the worst
// case: both files name the whole CRM). A third of the events move their
// record forward, a third backward, a third name the stage it has; the
// scores then move a third of those forward.
func BenchmarkLifecycle(b *testing.B) {
	n := detecttest.BenchRecords(b)
	db := openCRM(b)
	detecttest.SeedMany(b, db, "contacts", n, func(i int) crm.Record {
		return rec(strconv.Itoa(100000+i), "email", fmt.Sprintf("person%d@company%d.com", i, i%5000),
			"firstname", "Ann", "lastname", "Lee", "jobtitle", "Engineer", "city", "Oslo", "lifecyclestage", "marketingqualifiedlead")
	})
	dir := b.TempDir()
	write := func(name string, fill func(w *bufio.Writer)) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		fill(w)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	events := []string{"demo_booked", "form_filled", "mql_reached"}
	write("events.jsonl", func(w *bufio.Writer) {
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, "{\"record\": \"%d\", \"event\": \"%s\", \"time\": \"2026-11-20T10:%02d:00Z\"}\n", 100000+i, events[i%3], i%60)
		}
	})
	write("scores.csv", func(w *bufio.Writer) {
		fmt.Fprintln(w, "record,score")
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, "%d,%d\n", 100000+i, 50+i%50)
		}
	})
	d := mustDetector(b, `events:
  input: events.jsonl
  map: {demo_booked: salesqualifiedlead, form_filled: lead, mql_reached: marketingqualifiedlead}
scores:
  input: scores.csv
  thresholds: {marketingqualifiedlead: 60, salesqualifiedlead: 80, opportunity: 90}
  source: lead-model-v3`)
	env := detect.Env{CRM: db, Dir: dir, Progress: detect.NoProgress{}}
	detecttest.BenchDetect(b, d, env, n)
}
