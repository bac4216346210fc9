package enrichment_test

import (
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/detecttest"
	"github.com/crmops/crmops/internal/detect/enrichment"
)

// configHead is the crmops.yaml around the settings under test: the
// settings' first line is line 5 of the file.
var configHead = detecttest.ConfigHead(enrichment.Name)

func newDetector(t testing.TB, settings string) (detect.Detector, error) {
	t.Helper()
	return detecttest.NewDetector(t, enrichment.Name, enrichment.New, settings)
}

func mustDetector(t testing.TB, settings string) detect.Detector {
	t.Helper()
	return detecttest.MustDetector(t, enrichment.Name, enrichment.New, settings)
}

// The shared helpers, under the names these tests use.
var (
	openCRM       = detecttest.OpenCRM
	seed          = detecttest.Seed
	rec           = detecttest.Rec
	run           = detecttest.Run
	mustBeValid   = detecttest.MustBeValid
	describe      = detecttest.Describe
	checkChanges  = detecttest.CheckChanges
	checkProblems = detecttest.CheckProblems
	defaultPolicy = detecttest.DefaultPolicy
	envFor        = detecttest.EnvFor
)

// enrich is a change this detector proposes, with the fields every one of
// them shares filled in.
func enrich(object, record, field, before, after string, confidence float64, reason string) batch.Change {
	return batch.Change{Kind: "enrichment", Object: object, Record: record, Op: batch.OpSet, Field: field,
		Before: before, After: after, Source: "clay", Confidence: confidence, Trigger: "import", Reason: reason}
}
