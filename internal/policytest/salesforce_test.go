package policytest_test

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/policytest"
)

// The policy and tests crmops init writes for Salesforce pass together,
// cover every rule, and name no HubSpot field.
func TestTheSalesforceDefaultPolicyAndItsTests(t *testing.T) {
	for name, trusted := range map[string][]string{"local": nil, "github": {"github-actions[bot]"}} {
		t.Run(name, func(t *testing.T) {
			text := policy.ForSalesforce(policy.DefaultFor(trusted))
			pol, err := policy.Load(policy.Path, []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			for _, hubspot := range []string{"lifecyclestage", "hubspot_owner_id", "jobtitle", "email_status"} {
				if strings.Contains(text, hubspot) {
					t.Errorf("the Salesforce policy still names %s", hubspot)
				}
			}
			var cases []policytest.Case
			for path, data := range policytest.DefaultTestsFor(trusted) {
				cs, err := policytest.Decode(path, []byte(policy.ForSalesforce(string(data))))
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, cs...)
			}
			results := policytest.Run(pol, cases)
			for _, r := range results {
				if !r.Pass {
					t.Errorf("%s: %s", r.Case.Name, r.Diff())
				}
				if strings.Contains(r.Case.Change.Field, "_owner_") || r.Case.Change.Object == "contacts" {
					t.Errorf("%s: still HubSpot's names: %s.%s", r.Case.Name, r.Case.Change.Object, r.Case.Change.Field)
				}
			}
			if missing := policytest.Uncovered(pol, results); len(missing) > 0 {
				t.Errorf("uncovered: %v", missing)
			}
			// The invariants hold in Salesforce's names too.
			owner := batch.Change{ID: "c1", Kind: "enrichment", Object: "Contact", Record: "003000000000001AAA", Op: batch.OpSet,
				Field: "OwnerId", After: "005000000000001AAA", Source: "x", Confidence: 1, Trigger: "event"}
			v := pol.Evaluate(owner, policy.Proposer{Login: "github-actions[bot]"})
			if v.Decision == policy.Auto {
				t.Errorf("an OwnerId write is auto: %+v", v)
			}
		})
	}
}
