package enrichment_test

import (
	"testing"

	"github.com/crmops/crmops/internal/batch"
)

// enrichAs is enrich at the default confidence.
func enrichAs(object, record, field, before, after, reason string) batch.Change {
	return enrich(object, record, field, before, after, 0.9, reason)
}

// Salesforce Contacts matched by their Email.
func TestEnrichmentOnSalesforceContacts(t *testing.T) {
	db := openCRM(t)
	seed(t, db, "Contact",
		rec("003Dn0000000001AAA", "Email", " Ann@Acme.com ", "LastName", "Lee", "MailingCity", "Oslo"),
		rec("003Dn0000000002AAA", "Email", "bo@beta.io", "LastName", "Ray", "Title", "Sales"),
	)
	res := run(t, mustDetector(t, "input: testdata/salesforce-contacts.csv\nobject: Contact\nemail_field: Email\nmatch_column: Email\nsource: clay"), db)
	checkChanges(t, res.Changes, []batch.Change{
		enrichAs("Contact", "003Dn0000000001AAA", "Title", "", "CTO",
			"testdata/salesforce-contacts.csv:2 (column Title) matched by email ann@acme.com; Title is empty in the CRM"),
		enrichAs("Contact", "003Dn0000000002AAA", "Title", "Sales", "Head of Sales",
			`testdata/salesforce-contacts.csv:3 (column Title) matched by email bo@beta.io; the CRM has Title "Sales", the row has "Head of Sales"`),
	})
	checkProblems(t, res.Skipped, nil)
}

// Salesforce Accounts matched by the domain of their Website, one row to
// one Account.
func TestEnrichmentOnSalesforceAccountsByWebsite(t *testing.T) {
	db := openCRM(t)
	seed(t, db, "Account",
		rec("001Dn0000000001AAA", "Name", "Acme", "Website", "https://www.acme.com/"),
		rec("001Dn0000000002AAA", "Name", "Beta", "Website", "beta.io", "Industry", "Retail"),
	)
	res := run(t, mustDetector(t, "input: testdata/salesforce-accounts.csv\nobject: Account\nmatch_on: domain\ndomain_field: Website\nsource: clay"), db)
	checkChanges(t, res.Changes, []batch.Change{
		enrichAs("Account", "001Dn0000000001AAA", "Industry", "", "Software",
			"testdata/salesforce-accounts.csv:2 (column Industry) matched by domain acme.com; Industry is empty in the CRM"),
		enrichAs("Account", "001Dn0000000001AAA", "NumberOfEmployees", "", "120",
			"testdata/salesforce-accounts.csv:2 (column NumberOfEmployees) matched by domain acme.com; NumberOfEmployees is empty in the CRM"),
	})
	checkProblems(t, res.Skipped, nil)
}

// Without a domain field, a domain reaches every Contact whose Email is
// at it.
func TestEnrichmentOnSalesforceContactsByEmailDomain(t *testing.T) {
	db := openCRM(t)
	seed(t, db, "Contact",
		rec("003Dn0000000001AAA", "Email", "ann@acme.com", "LastName", "Lee"),
		rec("003Dn0000000002AAA", "Email", "cy@acme.com", "LastName", "Cy"),
	)
	res := run(t, mustDetector(t, "input: testdata/salesforce-accounts.csv\nobject: Contact\nmatch_on: domain\nemail_field: Email\ncolumns: {Industry: Industry__c}\nsource: clay"), db)
	checkChanges(t, res.Changes, []batch.Change{
		enrichAs("Contact", "003Dn0000000001AAA", "Industry__c", "", "Software",
			"testdata/salesforce-accounts.csv:2 (column Industry) matched by email domain acme.com; Industry__c is empty in the CRM (2 Contact at acme.com)"),
		enrichAs("Contact", "003Dn0000000002AAA", "Industry__c", "", "Software",
			"testdata/salesforce-accounts.csv:2 (column Industry) matched by email domain acme.com; Industry__c is empty in the CRM (2 Contact at acme.com)"),
	})
	checkProblems(t, res.Skipped, []string{"testdata/salesforce-accounts.csv:3: no Contact record with domain beta.io"})
}

func TestEnrichmentMatchFields(t *testing.T) {
	for _, tc := range []struct{ settings, want string }{
		{"input: x.csv\nsource: clay\nobject: Contact\nemail_field: Email\ncolumns: {E: Email}", `crmops.yaml:9: detectors.enrichment.columns.E: "Email" is the field rows are matched on; enrichment does not rewrite it`},
		{"input: x.csv\nsource: clay\nobject: Account\nmatch_on: domain\ndomain_field: Website\ncolumns: {W: Website}", `crmops.yaml:10: detectors.enrichment.columns.W: "Website" is the field rows are matched on; enrichment does not rewrite it`},
		{"input: x.csv\nsource: clay\nemail_field: \"e mail\"", `crmops.yaml:7: detectors.enrichment.email_field: "e mail" is not a CRM field name (letters, digits, _ . -; not id)`},
		{"input: x.csv\nsource: clay\ndomain_field: Id", `crmops.yaml:7: detectors.enrichment.domain_field: "Id" is not a CRM field name (letters, digits, _ . -; not id)`},
		{"input: x.csv\nsource: clay\nobject: \"Account/1\"", `crmops.yaml:7: detectors.enrichment.object: "Account/1" is not an object name (letters, digits, _)`},
	} {
		if _, err := newDetector(t, tc.settings); err == nil || err.Error() != tc.want {
			t.Errorf("settings %q: error %v, want %q", tc.settings, err, tc.want)
		}
	}
}
