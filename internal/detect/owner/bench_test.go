package owner_test

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

// BenchmarkOwner runs the detector over a CRM of N contacts spread over 50
// owners, 5 of them inactive (a tenth of the records), with three territory
// rules on country and state: three tenths of the records are in a territory
// owned by someone else, and a tenth go round robin.
func BenchmarkOwner(b *testing.B) {
	n := detecttest.BenchRecords(b)
	db := openCRM(b)
	countries := []string{"DE", "FR", "US", "SE", "NO", "ES", "IT", "NL", "PL", "GB"}
	detecttest.SeedMany(b, db, "contacts", n, func(i int) crm.Record {
		return rec(strconv.Itoa(100000+i), "email", fmt.Sprintf("person%d@company%d.com", i, i%5000),
			"firstname", "Ann", "lastname", "Lee", "jobtitle", "Engineer", "city", "Oslo",
			"owner", strconv.Itoa(1+i%50), "country", countries[i%len(countries)], "state", "CA")
	})
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, "owners.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,name,email,active")
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(w, "%d,Owner %d,owner%d@acme.com,%v\n", i, i, i, i%10 != 0)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	d := mustDetector(b, `owners: {input: owners.csv}
reassign_inactive_to: ["1", "2", "3"]
territories:
  - when: {country: [DE, AT, CH]}
    owner: "4"
  - when: {country: US, state: [CA, WA]}
    owner: "5"
  - when: {country: NO}
    owner: "6"`)
	env := detect.Env{CRM: db, Dir: dir, Progress: detect.NoProgress{}}
	detecttest.BenchDetect(b, d, env, n)
}
