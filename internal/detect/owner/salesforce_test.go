package owner_test

import (
	"testing"

	"github.com/crmops/crmops/internal/batch"
)

// A Salesforce Contact's OwnerId, owners being Users (005...).
func TestOwnerOnSalesforceContacts(t *testing.T) {
	db := openCRM(t)
	seed(t, db, "Contact",
		rec("003Dn0000000001AAA", "LastName", "Kim", "OwnerId", "005Dn0000000002AAA", "MailingCountry", "US"),
		rec("003Dn0000000002AAA", "LastName", "Ray", "OwnerId", "005Dn0000000002AAA", "MailingCountry", "DE"),
		rec("003Dn0000000003AAA", "LastName", "Bo", "OwnerId", "005Dn0000000001AAA", "MailingCountry", "US"),
	)
	d := mustDetector(t, `object: Contact
field: OwnerId
owners:
  - {id: 005Dn0000000001AAA, name: Dana Fox, active: true}
  - {id: 005Dn0000000002AAA, name: Sam Lee, active: false}
  - {id: 005Dn0000000003AAA, name: Uma Berg, active: true}
reassign_inactive_to: [005Dn0000000001AAA]
territories:
  - {when: {MailingCountry: [DE, AT, CH]}, owner: 005Dn0000000003AAA}`)
	res := run(t, d, db)
	change := func(record, before, after, reason string) batch.Change {
		return batch.Change{Kind: "owner", Object: "Contact", Record: record, Op: batch.OpSet, Field: "OwnerId",
			Before: before, After: after, Source: "owner-rules", Confidence: 1, Trigger: "rule", Reason: reason}
	}
	checkChanges(t, res.Changes, []batch.Change{
		change("003Dn0000000001AAA", "005Dn0000000002AAA", "005Dn0000000001AAA",
			"owner 005Dn0000000002AAA (Sam Lee) is inactive and no territory rule matches; round robin over reassign_inactive_to gives 005Dn0000000001AAA (Dana Fox) (1 of 1 reassigned, in id order)"),
		change("003Dn0000000002AAA", "005Dn0000000002AAA", "005Dn0000000003AAA",
			"owner 005Dn0000000002AAA (Sam Lee) is inactive; territory rule 1 at crmops.yaml:13 (MailingCountry is DE or AT or CH) gives it to 005Dn0000000003AAA (Uma Berg)"),
	})
	checkProblems(t, res.Skipped, nil)
}

func TestOwnerSalesforceNames(t *testing.T) {
	for _, tc := range []struct{ settings, want string }{
		{"object: \"Contact.x\"\nowners: [{id: a, active: true}]", `crmops.yaml:5: detectors.owner.object: "Contact.x" is not an object name (letters, digits, _)`},
		{"object: Contact\nfield: Id\nowners: [{id: a, active: true}]", `crmops.yaml:6: detectors.owner.field: "Id" is not a CRM field name`},
	} {
		if _, err := newDetector(t, tc.settings); err == nil || err.Error() != tc.want {
			t.Errorf("settings %q: error %v, want %q", tc.settings, err, tc.want)
		}
	}
}
