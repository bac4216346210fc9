package owner_test

import (
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/detecttest"
	"github.com/crmops/crmops/internal/detect/owner"
)

// configHead is the crmops.yaml around the settings under test: the
// settings' first line is line 5 of the file.
var configHead = detecttest.ConfigHead(owner.Name)

func newDetector(t testing.TB, settings string) (detect.Detector, error) {
	t.Helper()
	return detecttest.NewDetector(t, owner.Name, owner.New, settings)
}

func mustDetector(t testing.TB, settings string) detect.Detector {
	t.Helper()
	return detecttest.MustDetector(t, owner.Name, owner.New, settings)
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

// reassign is an owner change, with the fields every one of them shares
// filled in.
func reassign(record, before, after, reason string) batch.Change {
	return batch.Change{Kind: "owner", Object: "contacts", Record: record, Op: batch.OpSet, Field: "owner",
		Before: before, After: after, Source: "owner-rules", Confidence: 1, Trigger: "rule", Reason: reason}
}
