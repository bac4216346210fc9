package lifecycle_test

import (
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/detecttest"
	"github.com/crmops/crmops/internal/detect/lifecycle"
)

// configHead is the crmops.yaml around the settings under test: the
// settings' first line is line 5 of the file.
var configHead = detecttest.ConfigHead(lifecycle.Name)

func newDetector(t testing.TB, settings string) (detect.Detector, error) {
	t.Helper()
	return detecttest.NewDetector(t, lifecycle.Name, lifecycle.New, settings)
}

func mustDetector(t testing.TB, settings string) detect.Detector {
	t.Helper()
	return detecttest.MustDetector(t, lifecycle.Name, lifecycle.New, settings)
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

// move is a lifecycle change, with the fields every one of them shares
// filled in.
func move(record, before, after, source string, confidence float64, trigger, reason string) batch.Change {
	return batch.Change{Kind: "lifecycle", Object: "contacts", Record: record, Op: batch.OpSet, Field: "lifecyclestage",
		Before: before, After: after, Source: source, Confidence: confidence, Trigger: trigger, Reason: reason}
}
