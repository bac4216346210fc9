package emailverify_test

import (
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/detecttest"
	"github.com/crmops/crmops/internal/detect/emailverify"
)

// configHead is the crmops.yaml around the settings under test: the
// settings' first line is line 5 of the file.
var configHead = detecttest.ConfigHead(emailverify.Name)

func newDetector(t testing.TB, settings string) (detect.Detector, error) {
	t.Helper()
	return detecttest.NewDetector(t, emailverify.Name, emailverify.New, settings)
}

func mustDetector(t testing.TB, settings string) detect.Detector {
	t.Helper()
	return detecttest.MustDetector(t, emailverify.Name, emailverify.New, settings)
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

// status is a change this detector proposes, with the fields every one of
// them shares filled in.
func status(record, before, after, source, reason string) batch.Change {
	return batch.Change{Kind: "email_verification", Object: "contacts", Record: record, Op: batch.OpSet, Field: "email_status",
		Before: before, After: after, Source: source, Confidence: 0.95, Trigger: "import", Reason: reason}
}
