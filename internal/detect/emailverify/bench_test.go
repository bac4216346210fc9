package emailverify_test

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

// BenchmarkEmailVerification runs the detector over a CRM of N contacts
// with a ZeroBounce results file holding a row for every one of them (a
// full-list verification): a fifth of the rows confirm the status the CRM
// has, the rest propose one.
func BenchmarkEmailVerification(b *testing.B) {
	n := detecttest.BenchRecords(b)
	db := openCRM(b)
	detecttest.SeedMany(b, db, "contacts", n, func(i int) crm.Record {
		return rec(strconv.Itoa(100000+i), "email", fmt.Sprintf("person%d@company%d.com", i, i%5000),
			"firstname", "Ann", "lastname", "Lee", "jobtitle", "Engineer", "city", "Oslo", "email_status", "valid")
	})
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "zb.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, `"Email Address","ZB Status","ZB Sub Status","ZB Free Email"`)
	statuses := []string{`"valid",""`, `"invalid","mailbox_not_found"`, `"catch-all",""`, `"do_not_mail","role_based"`, `"unknown","greylisted"`}
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "\"Person%d@Company%d.com\",%s,\"False\"\n", i, i%5000, statuses[i%5])
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	d := mustDetector(b, "{input: zb.csv, format: zerobounce}")
	env := detect.Env{CRM: db, Dir: dir, Progress: detect.NoProgress{}}
	var changes int
	for b.Loop() {
		res, err := d.Detect(b.Context(), env)
		if err != nil {
			b.Fatal(err)
		}
		changes = len(res.Changes)
	}
	if want := n - (n+4)/5; changes != want {
		b.Errorf("%d changes, want %d", changes, want)
	}
	b.ReportMetric(float64(n), "records")
	b.ReportMetric(float64(changes), "changes")
}
