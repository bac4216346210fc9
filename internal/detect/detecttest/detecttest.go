// Package detecttest holds what the detectors' tests share: building a
// detector from settings as crmops.yaml holds them, a real embedded CRM to
// run it on, and comparisons that print changes the way a reviewer reads
// them.
package detecttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/policy"
)

// ConfigHead is the crmops.yaml around the settings under test, for a
// detector called name: the settings' first line is line 5 of the file.
func ConfigHead(name string) string {
	return "version: 1\ncrm: {kind: sqlite}\ndetectors:\n  " + name + ":\n"
}

// Constructor builds a detector from its settings in crmops.yaml.
type Constructor func(file string, settings *yaml.Node) (detect.Detector, error)

// NewDetector builds detector name from settings written as they would be
// in crmops.yaml under detectors.<name> (without the indentation).
func NewDetector(t testing.TB, name string, build Constructor, settings string) (detect.Detector, error) {
	t.Helper()
	var b strings.Builder
	b.WriteString(ConfigHead(name))
	for _, line := range strings.Split(strings.TrimRight(settings, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	cfg, err := config.Parse("crmops.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	node := cfg.Detectors[name]
	return build("crmops.yaml", &node)
}

// MustDetector is NewDetector that fails the test on error.
func MustDetector(t testing.TB, name string, build Constructor, settings string) detect.Detector {
	t.Helper()
	d, err := NewDetector(t, name, build, settings)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// OpenCRM is an empty embedded CRM in a temporary directory.
func OpenCRM(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "crm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Seed upserts records into the CRM.
func Seed(t testing.TB, db *sqlite.DB, object string, recs ...crm.Record) {
	t.Helper()
	if _, _, err := db.Upsert(t.Context(), object, recs, "seed"); err != nil {
		t.Fatal(err)
	}
}

// Rec builds a record from id and field/value pairs.
func Rec(id string, kv ...string) crm.Record {
	r := crm.Record{ID: id, Fields: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Fields[kv[i]] = kv[i+1]
	}
	return r
}

// Run detects with d over db and checks every change against the batch format.
func Run(t *testing.T, d detect.Detector, db crm.Connector) *detect.Result {
	t.Helper()
	res, err := d.Detect(t.Context(), detect.Env{CRM: db, Dir: ".", Progress: detect.NoProgress{}})
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	MustBeValid(t, res.Changes)
	return res
}

// MustBeValid holds every change to the batch format, as crmops detect does.
func MustBeValid(t *testing.T, changes []batch.Change) {
	t.Helper()
	for _, c := range changes {
		c.ID = "c1"
		if err := c.Validate(""); err != nil {
			t.Errorf("invalid change %s: %v", Describe(c), err)
		}
	}
}

// Describe writes every field of a change a reviewer sees.
func Describe(c batch.Change) string {
	return fmt.Sprintf("%s %s %s/%s.%s %q -> %q source=%s confidence=%v trigger=%s reason=%q",
		c.Kind, c.Op, c.Object, c.Record, c.Field, c.Before, c.After, c.Source, c.Confidence, c.Trigger, c.Reason)
}

// CheckChanges compares changes field by field, as a reviewer reads them.
func CheckChanges(t *testing.T, got []batch.Change, want []batch.Change) {
	t.Helper()
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		switch {
		case i >= len(got):
			t.Errorf("change %d missing:\n want %s", i, Describe(want[i]))
		case i >= len(want):
			t.Errorf("change %d unexpected:\n  got %s", i, Describe(got[i]))
		case Describe(got[i]) != Describe(want[i]):
			t.Errorf("change %d:\n  got %s\n want %s", i, Describe(got[i]), Describe(want[i]))
		}
	}
}

// CheckProblems compares skipped input rows with their messages.
func CheckProblems(t *testing.T, got []detect.Problem, want []string) {
	t.Helper()
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		switch {
		case i >= len(got):
			t.Errorf("problem %d missing: %s", i, want[i])
		case i >= len(want):
			t.Errorf("problem %d unexpected: %s", i, got[i])
		case got[i].String() != want[i]:
			t.Errorf("problem %d:\n  got %s\n want %s", i, got[i], want[i])
		}
	}
}

// DefaultPolicy is the policy crmops init writes.
func DefaultPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load(policy.Path, []byte(policy.Default))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// EnvFor is a detector environment over db, with no progress output.
func EnvFor(db crm.Connector) detect.Env {
	return detect.Env{CRM: db, Dir: ".", Progress: detect.NoProgress{}}
}

// BenchRecords is the CRM size detector benchmarks seed: 100,000 by
// default, or CRMOPS_BENCH_RECORDS (1000000 for the 1M-record target).
func BenchRecords(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("CRMOPS_BENCH_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("CRMOPS_BENCH_RECORDS=%q is not a positive number", s)
		}
		n = v
	}
	return n
}

// SeedMany upserts n generated records, 10,000 per transaction.
func SeedMany(b *testing.B, db *sqlite.DB, object string, n int, gen func(i int) crm.Record) {
	recs := make([]crm.Record, 0, 10_000)
	for i := 0; i < n; i++ {
		recs = append(recs, gen(i))
		if len(recs) == cap(recs) || i == n-1 {
			Seed(b, db, object, recs...)
			recs = recs[:0]
		}
	}
}

// BenchDetect times d over env and reports the CRM's size and the changes
// found per run.
func BenchDetect(b *testing.B, d detect.Detector, env detect.Env, records int) {
	var changes int
	for b.Loop() {
		res, err := d.Detect(b.Context(), env)
		if err != nil {
			b.Fatal(err)
		}
		changes = len(res.Changes)
	}
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(float64(changes), "changes")
}
