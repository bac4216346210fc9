package lifecycle_test

import (
	"testing"

	"github.com/crmops/crmops/internal/batch"
)

// A Salesforce Lead's Status, with Salesforce's default Lead statuses as
// the stages.
func TestLifecycleOnSalesforceLeads(t *testing.T) {
	db := openCRM(t)
	seed(t, db, "Lead",
		rec("00QDn0000000001AAA", "LastName", "Kim", "Company", "Beta", "Status", "Open - Not Contacted"),
		rec("00QDn0000000002AAA", "LastName", "Ray", "Company", "Gamma", "Status", "Working - Contacted"),
		rec("00QDn0000000003AAA", "LastName", "Bo", "Company", "Delta", "Status", "Closed - Converted"),
	)
	d := mustDetector(t, `object: Lead
field: Status
stages: [Open - Not Contacted, Working - Contacted, Closed - Not Converted, Closed - Converted]
events:
  input: testdata/salesforce-events.jsonl
  map: {email_replied: Working - Contacted, disqualified: Closed - Not Converted}`)
	res := run(t, d, db)
	lead := func(record, before, after string, confidence float64, trigger, reason string) batch.Change {
		return batch.Change{Kind: "lifecycle", Object: "Lead", Record: record, Op: batch.OpSet, Field: "Status",
			Before: before, After: after, Source: "events", Confidence: confidence, Trigger: trigger, Reason: reason}
	}
	checkChanges(t, res.Changes, []batch.Change{
		lead("00QDn0000000001AAA", "Open - Not Contacted", "Working - Contacted", 1, "event",
			"event email_replied at 2026-11-20T10:00:00Z (testdata/salesforce-events.jsonl:1) maps to Working - Contacted; the CRM has Open - Not Contacted"),
		lead("00QDn0000000002AAA", "Working - Contacted", "Closed - Not Converted", 1, "event",
			"event disqualified at 2026-11-20T11:00:00Z (testdata/salesforce-events.jsonl:2) maps to Closed - Not Converted; the CRM has Working - Contacted"),
		lead("00QDn0000000003AAA", "Closed - Converted", "Working - Contacted", 0.5, "rule",
			"moves backwards: Closed - Converted → Working - Contacted; event email_replied at 2026-11-20T12:00:00Z (testdata/salesforce-events.jsonl:3) maps to Working - Contacted, and the latest event decides"),
	})
	checkProblems(t, res.Skipped, nil)
}

func TestLifecycleSalesforceNames(t *testing.T) {
	for _, tc := range []struct{ settings, want string }{
		{"object: Invoice__c\nfield: Stage__c\nevents: {input: e.jsonl, map: {paid: customer}}", ""},
		{"object: \"Lead-1\"\nevents: {input: e.jsonl, map: {paid: customer}}", `crmops.yaml:5: detectors.lifecycle.object: "Lead-1" is not an object name (letters, digits, _)`},
		{"object: Lead\nfield: Id\nevents: {input: e.jsonl, map: {paid: customer}}", `crmops.yaml:6: detectors.lifecycle.field: "Id" is not a CRM field name`},
	} {
		_, err := newDetector(t, tc.settings)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("settings %q: error %q, want %q", tc.settings, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("settings %q: no error, want %q", tc.settings, tc.want)
		}
	}
}
