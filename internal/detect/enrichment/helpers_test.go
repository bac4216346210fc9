package enrichment_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/enrichment"
	"github.com/crmops/crmops/internal/policy"
)

// configHead is the crmops.yaml around the settings under test: the
// settings' first line is line 5 of the file.
const configHead = "version: 1\ncrm: {kind: sqlite}\ndetectors:\n  enrichment:\n"

// newDetector builds the detector from settings written as they would be
// in crmops.yaml under detectors.enrichment (without the indentation).
func newDetector(t testing.TB, settings string) (detect.Detector, error) {
	t.Helper()
	var b strings.Builder
	b.WriteString(configHead)
	for _, line := range strings.Split(strings.TrimRight(settings, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	cfg, err := config.Parse("crmops.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	node := cfg.Detectors[enrichment.Name]
	return enrichment.New("crmops.yaml", &node)
}

func mustDetector(t testing.TB, settings string) detect.Detector {
	t.Helper()
	d, err := newDetector(t, settings)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// openCRM is an empty embedded CRM in a temporary directory.
func openCRM(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "crm.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func seed(t testing.TB, db *sqlite.DB, object string, recs ...crm.Record) {
	t.Helper()
	if _, _, err := db.Upsert(t.Context(), object, recs, "seed"); err != nil {
		t.Fatal(err)
	}
}

// rec builds a record from id and field/value pairs.
func rec(id string, kv ...string) crm.Record {
	r := crm.Record{ID: id, Fields: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Fields[kv[i]] = kv[i+1]
	}
	return r
}

func run(t *testing.T, d detect.Detector, db crm.Connector) *detect.Result {
	t.Helper()
	res, err := d.Detect(t.Context(), detect.Env{CRM: db, Dir: ".", Progress: detect.NoProgress{}})
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	mustBeValid(t, res.Changes)
	return res
}

// mustBeValid holds every change to the batch format, as crmops detect does.
func mustBeValid(t *testing.T, changes []batch.Change) {
	t.Helper()
	for _, c := range changes {
		c.ID = "c1"
		if err := c.Validate(""); err != nil {
			t.Errorf("invalid change %s: %v", describe(c), err)
		}
	}
}

// describe writes every field of a change a reviewer sees.
func describe(c batch.Change) string {
	return fmt.Sprintf("%s %s %s/%s.%s %q -> %q source=%s confidence=%v trigger=%s reason=%q",
		c.Kind, c.Op, c.Object, c.Record, c.Field, c.Before, c.After, c.Source, c.Confidence, c.Trigger, c.Reason)
}

func checkChanges(t *testing.T, got []batch.Change, want []batch.Change) {
	t.Helper()
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		switch {
		case i >= len(got):
			t.Errorf("change %d missing:\n want %s", i, describe(want[i]))
		case i >= len(want):
			t.Errorf("change %d unexpected:\n  got %s", i, describe(got[i]))
		case describe(got[i]) != describe(want[i]):
			t.Errorf("change %d:\n  got %s\n want %s", i, describe(got[i]), describe(want[i]))
		}
	}
}

func checkProblems(t *testing.T, got []detect.Problem, want []string) {
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

func defaultPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load(policy.Path, []byte(policy.Default))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// enrich is a change this detector proposes, with the fields every one of
// them shares filled in.
func enrich(object, record, field, before, after string, confidence float64, reason string) batch.Change {
	return batch.Change{Kind: "enrichment", Object: object, Record: record, Op: batch.OpSet, Field: field,
		Before: before, After: after, Source: "clay", Confidence: confidence, Trigger: "import", Reason: reason}
}

func envFor(db crm.Connector) detect.Env {
	return detect.Env{CRM: db, Dir: ".", Progress: detect.NoProgress{}}
}
