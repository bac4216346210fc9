package emailverify_test

import (
	"testing"

	"github.com/crmops/crmops/internal/batch"
)

// A Salesforce Contact's Email, the status written to a custom field.
func TestEmailVerificationOnSalesforceContacts(t *testing.T) {
	db := openCRM(t)
	seed(t, db, "Contact",
		rec("003Dn0000000001AAA", "Email", "Ann@Acme.com", "LastName", "Lee"),
		rec("003Dn0000000002AAA", "Email", "bo@beta.io", "LastName", "Ray", "Email_Status__c", "valid"),
		// A field called email is not the Contact's Email: not matched.
		rec("003Dn0000000003AAA", "email", "bo@beta.io", "LastName", "Bo"),
	)
	d := mustDetector(t, "input: testdata/salesforce.csv\nformat: generic\nobject: Contact\nemail_field: Email\nfield: Email_Status__c\ncolumns: {email: Email, status: Status}")
	res := run(t, d, db)
	set := func(record, before, after, reason string) batch.Change {
		return batch.Change{Kind: "email_verification", Object: "Contact", Record: record, Op: batch.OpSet, Field: "Email_Status__c",
			Before: before, After: after, Source: "generic", Confidence: 0.95, Trigger: "import", Reason: reason}
	}
	checkChanges(t, res.Changes, []batch.Change{
		set("003Dn0000000001AAA", "", "valid", `testdata/salesforce.csv:2: generic says ann@acme.com is "valid", which is valid; Email_Status__c is empty in the CRM`),
		set("003Dn0000000002AAA", "valid", "invalid", `testdata/salesforce.csv:3: generic says bo@beta.io is "invalid", which is invalid; the CRM has Email_Status__c "valid"`),
	})
	checkProblems(t, res.Skipped, nil)
}

func TestEmailVerificationEmailField(t *testing.T) {
	for _, tc := range []struct{ settings, want string }{
		{"input: x.csv\nformat: generic\nobject: Contact\nemail_field: Email\nfield: Email", `crmops.yaml:9: detectors.email_verification.field: "Email" cannot hold the status (a field name other than id and Email)`},
		{"input: x.csv\nformat: generic\nemail_field: \"e mail\"", `crmops.yaml:7: detectors.email_verification.email_field: "e mail" is not a CRM field name`},
		{"input: x.csv\nformat: generic\nemail_field: Id", `crmops.yaml:7: detectors.email_verification.email_field: "Id" is not a CRM field name`},
		{"input: x.csv\nformat: generic\nfield: Id", `crmops.yaml:7: detectors.email_verification.field: "Id" cannot hold the status (a field name other than id and email)`},
		{"input: x.csv\nformat: generic\nobject: \"Contact!\"", `crmops.yaml:7: detectors.email_verification.object: "Contact!" is not an object name (letters, digits, _)`},
	} {
		if _, err := newDetector(t, tc.settings); err == nil || err.Error() != tc.want {
			t.Errorf("settings %q: error %v, want %q", tc.settings, err, tc.want)
		}
	}
}
