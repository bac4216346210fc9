package survivorship_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/detect/dedupe/survivorship"
)

// contactNames is how a Salesforce Contact names the standard fields.
var contactNames = map[string]survivorship.Standard{
	"Contact": {
		Fields:  map[string]string{"email": "Email", "phone": "Phone", "firstname": "FirstName"},
		Created: []string{"CreatedDate"},
		Updated: []string{"LastModifiedDate"},
	},
}

func salesforceRules(t *testing.T, section string) *survivorship.Rules {
	t.Helper()
	n := node(t, section)
	if section == "" {
		n = nil
	}
	r, err := survivorship.NewFor("crmops.yaml", n, contactNames)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSalesforceNames(t *testing.T) {
	// Salesforce writes times as 2024-01-31T12:00:00.000+0000.
	group := []survivorship.Record{
		rec("003B", "Email", "ann@acme.io", "Phone", "555 0100", "CreatedDate", "2025-01-31T12:00:00.000+0000", "LastModifiedDate", "2025-02-01T00:00:00.000+0000",
			"SystemModstamp", "2025-02-01T00:00:00.000+0000", "MasterRecordId", "", "LastModifiedById", "005B", "CreatedById", "005B", "IsDeleted", "false"),
		rec("003A", "Email", "ann@acme.io", "Phone", "+1 415 555 0100", "Title", "CTO", "CreatedDate", "2023-01-31T12:00:00.000+0000", "LastModifiedDate", "2023-02-01T00:00:00.000+0000",
			"SystemModstamp", "2024-02-01T00:00:00.000+0000", "LastModifiedById", "005A", "IsDeleted", "false"),
	}
	t.Run("the defaults read the Contact's created time", func(t *testing.T) {
		r := salesforceRules(t, "")
		if got := r.For("Contact").Fields("Contact"); !slices.Equal(got, []string{"CreatedDate", "created", "createdate"}) {
			t.Errorf("Fields(Contact) = %q", got)
		}
		if got := r.Fields("contacts"); !slices.Equal(got, []string{"created", "createdate"}) {
			t.Errorf("Fields(contacts) = %q: the default changed", got)
		}
		// Salesforce's system fields do not count as data: 003A, with a
		// Title, is the more complete, although 003B has more fields.
		if s := r.For("Contact").Survivor(group); group[s].ID != "003A" {
			t.Errorf("survivor %s, want 003A", group[s].ID)
		}
	})
	t.Run("the oldest survives by CreatedDate", func(t *testing.T) {
		c := salesforceRules(t, "survivor: [oldest]").For("Contact")
		g := []survivorship.Record{
			rec("003A", "Email", "ann@acme.io", "CreatedDate", "2025-01-31T12:00:00.000+0000"),
			rec("003B", "Email", "ann@acme.io", "CreatedDate", "2023-01-31T12:00:00.000-0500"),
		}
		if s := c.Survivor(g); g[s].ID != "003B" {
			t.Errorf("survivor %s, want 003B (created 2023; the lower id only on a tie)", g[s].ID)
		}
		if got := c.Explain(g, 1); !strings.Contains(got, "003B survives over 003A by oldest (created 2023-01-31T17:00:00Z, 2025-01-31T12:00:00Z)") {
			t.Errorf("explain %q", got)
		}
	})
	t.Run("values: timestamps and Salesforce's system fields are never set", func(t *testing.T) {
		c := salesforceRules(t, "values: most_recent").For("Contact")
		// 003B survives, though 003A's values are older: nothing but its
		// own values or fills, and never CreatedDate, LastModifiedDate,
		// SystemModstamp, the ids of who created and changed it, IsDeleted.
		got := values(c.Values(group, 0))
		if want := []string{`Title: "" -> "CTO" (003A, most_recent)`}; !slices.Equal(got, want) {
			t.Errorf("values %q, want %q", got, want)
		}
		got = values(c.Values(group, 1))
		if want := []string{`Phone: "+1 415 555 0100" -> "555 0100" (003B, most_recent)`}; !slices.Equal(got, want) {
			t.Errorf("values %q, want %q", got, want)
		}
	})
	t.Run("a top-level rule for a standard field applies to the Contact's", func(t *testing.T) {
		r := salesforceRules(t, "fields: {phone: most_complete}")
		if got := values(r.For("Contact").Values(group, 0)); !slices.Equal(got, []string{`Phone: "555 0100" -> "+1 415 555 0100" (003A, most_complete)`, `Title: "" -> "CTO" (003A, fill_empty)`}) {
			t.Errorf("Contact values %q", got)
		}
		// HubSpot's contacts keep the rule on phone alone.
		if got := values(r.For("contacts").Values(group, 0)); !slices.Equal(got, []string{`Title: "" -> "CTO" (003A, fill_empty)`}) {
			t.Errorf("contacts values %q", got)
		}
	})
	t.Run("the top level naming the Contact's field decides over the standard one", func(t *testing.T) {
		r := salesforceRules(t, "fields: {phone: most_complete, Phone: survivor}")
		if got := values(r.For("Contact").Values(group, 0)); !slices.Equal(got, []string{`Title: "" -> "CTO" (003A, fill_empty)`}) {
			t.Errorf("values %q", got)
		}
	})
	t.Run("the Contact's own section decides over both", func(t *testing.T) {
		r := salesforceRules(t, "fields: {phone: survivor}\nContact:\n  fields: {Phone: most_complete}\n  created_field: Signed_Up__c")
		c := r.For("Contact")
		if got := values(c.Values(group, 0)); !slices.Equal(got, []string{`Phone: "555 0100" -> "+1 415 555 0100" (003A, most_complete)`, `Title: "" -> "CTO" (003A, fill_empty)`}) {
			t.Errorf("values %q", got)
		}
		if got := c.Fields("Contact"); !slices.Equal(got, []string{"Signed_Up__c"}) {
			t.Errorf("Fields(Contact) = %q: created_field replaces the names", got)
		}
		if got := r.Objects(); !slices.Equal(got, []string{"Contact"}) {
			t.Errorf("Objects() = %q", got)
		}
	})
	t.Run("a rule may not set the Contact's created time", func(t *testing.T) {
		_, err := survivorship.NewFor("crmops.yaml", node(t, "Contact:\n  fields: {CreatedDate: most_recent}"), contactNames)
		if err == nil || !strings.Contains(err.Error(), "crmops.yaml:6: detectors.dedupe.survivorship.Contact.fields.CreatedDate: CreatedDate describes the record") {
			t.Errorf("err = %v", err)
		}
	})
}
