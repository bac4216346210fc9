package enrichment_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/detect"
)

// steps records every progress report.
type steps []string

func (s *steps) Step(stage string, done, total int) {
	*s = append(*s, fmt.Sprintf("%s %d/%d", stage, done, total))
}

func TestProgressEveryTenThousand(t *testing.T) {
	const n = 25_000
	db := openCRM(t)
	recs := make([]crm.Record, n)
	for i := range recs {
		recs[i] = rec(strconv.Itoa(i), "email", fmt.Sprintf("p%d@acme.com", i))
	}
	seed(t, db, "contacts", recs...)
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "in.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "email,jobtitle")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "p%d@acme.com,Engineer\n", i)
	}
	w.Flush()
	f.Close()
	var got steps
	res, err := mustDetector(t, "{input: in.csv, source: clay}").Detect(t.Context(), detect.Env{CRM: db, Dir: dir, Progress: &got})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != n {
		t.Errorf("%d changes, want %d", len(res.Changes), n)
	}
	want := steps{"enrichment: in.csv 10000/0", "enrichment: in.csv 20000/0", "enrichment: contacts 10000/0", "enrichment: contacts 20000/0"}
	if !slices.Equal(got, want) {
		t.Errorf("progress %v, want %v", got, want)
	}
}
