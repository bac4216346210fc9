package owner_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/policy"
)

// rules is the settings' body; its lines in crmops.yaml are 5 onwards, so
// the territories start at lines 8, 10 and 12.
const rules = `owners: {input: testdata/owners.csv}
reassign_inactive_to: ["15", "16", "99", "17"]
territories:
  - when: {country: [DE, AT]}
    owner: "12"
  - when: {country: US, state: ca}
    owner: "17"
  - when: {country: US}
    owner: "16"
`

func seedOwners(t *testing.T) crm.Connector {
	db := openCRM(t)
	c := func(id, owner, country, state string) crm.Record {
		return rec(id, "email", id+"@x.com", "owner", owner, "country", country, "state", state)
	}
	seed(t, db, "contacts",
		c("1", "14", "DE", ""),
		c("2", "14", "FR", ""),
		c("3", "12", "de", ""),
		c("4", "15", "AT", ""),
		c("5", "", "DE", ""),
		c("6", "14", "US", "CA"),
		c("7", "12", "US", "NY"),
		c("8", "17", "SE", ""),
		c("9", "99", "SE", ""),
		c("10", "14", "", ""),
		c("11", "", "SE", ""),
		c("100", "17", "NO", ""),
	)
	return db
}

func TestOwner(t *testing.T) {
	res := run(t, mustDetector(t, rules), seedOwners(t))

	t.Run("territories decide first and inactive owners' other records go round robin in id order", func(t *testing.T) {
		rr := "is inactive and no territory rule matches; round robin over reassign_inactive_to gives "
		checkChanges(t, res.Changes, []batch.Change{
			reassign("1", "14", "12", "owner 14 (Sam Lee) is inactive; territory rule 1 at crmops.yaml:8 (country is DE or AT) gives it to 12 (Dana Fox)"),
			reassign("2", "14", "15", "owner 14 (Sam Lee) "+rr+"15 (Kim Park) (1 of 4 reassigned, in id order)"),
			// 3: "de" matches DE ignoring case, and 12 owns it already.
			reassign("4", "15", "12", "owned by 15 (Kim Park); territory rule 1 at crmops.yaml:8 (country is DE or AT) gives it to 12 (Dana Fox)"),
			reassign("5", "", "12", "unowned; territory rule 1 at crmops.yaml:8 (country is DE or AT) gives it to 12 (Dana Fox)"),
			// 6: rule 2 matches first and names an inactive owner: reported, left alone.
			reassign("7", "12", "16", "owned by 12 (Dana Fox); territory rule 3 at crmops.yaml:12 (country is US) gives it to 16 (Lou Chen)"),
			reassign("8", "17", "16", "owner 17 (Ray Diaz) "+rr+"16 (Lou Chen) (2 of 4 reassigned, in id order)"),
			// 9: owned by someone not in the owners file: reported. 11: unowned, no territory: left.
			reassign("10", "14", "15", "owner 14 (Sam Lee) "+rr+"15 (Kim Park) (3 of 4 reassigned, in id order)"),
			reassign("100", "17", "16", "owner 17 (Ray Diaz) "+rr+"16 (Lou Chen) (4 of 4 reassigned, in id order)"),
		})
	})

	t.Run("no change assigns an inactive or unknown owner; those cases are problems", func(t *testing.T) {
		checkProblems(t, res.Skipped, []string{
			`testdata/owners.csv:7: active is "maybe" for owner 18, not true or false`,
			`testdata/owners.csv:8: owner 12 is already on line 2; only line 2 is used`,
			"crmops.yaml:6: reassign_inactive_to names owner 99, who is not in testdata/owners.csv; left out of the rotation",
			"crmops.yaml:6: reassign_inactive_to names owner 17 (Ray Diaz), who is inactive; left out of the rotation",
			"crmops.yaml:10: territory rule 2 names owner 17 (Ray Diaz), who is inactive; 1 contacts it matches were left alone (6)",
			"testdata/owners.csv: owner 99 is not in testdata/owners.csv; 1 contacts they own were left alone (9)",
		})
	})

	t.Run("every owner change needs a person's approval under the default policy", func(t *testing.T) {
		p := defaultPolicy(t)
		for _, c := range res.Changes {
			if v := p.Evaluate(c, policy.Proposer{}); v.Decision != policy.Review || v.Rule != "owner-always-review" {
				t.Errorf("%s: %s by %s, want review by owner-always-review", describe(c), v.Decision, v.Rule)
			}
		}
	})
}

// reversed lists records in reverse id order, as another CRM might.
type reversed struct{ crm.Connector }

func (r reversed) List(ctx context.Context, object string, fields []string, fn func(crm.Record) error) error {
	var all []crm.Record
	if err := r.Connector.List(ctx, object, fields, func(rec crm.Record) error { all = append(all, rec); return nil }); err != nil {
		return err
	}
	for _, rec := range slices.Backward(all) {
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

func TestOwnerRoundRobinIsDeterministic(t *testing.T) {
	db := seedOwners(t)
	d := mustDetector(t, rules)
	first := run(t, d, db)
	t.Run("a second run proposes exactly the same changes", func(t *testing.T) {
		checkChanges(t, run(t, d, db).Changes, first.Changes)
	})
	t.Run("a CRM listing records in another order gets the same assignments", func(t *testing.T) {
		checkChanges(t, run(t, d, reversed{db}).Changes, first.Changes)
	})
}

func TestOwnerInlineList(t *testing.T) {
	db := openCRM(t)
	seed(t, db, "contacts",
		rec("1", "hubspot_owner_id", "7"), rec("2", "hubspot_owner_id", "7"), rec("3", "hubspot_owner_id", "8"))
	d := mustDetector(t, `field: hubspot_owner_id
owners:
  - {id: 7, name: Old Timer, active: false}
  - {id: 8, active: true}
  - {id: 9, name: New Hire, email: new@acme.com, active: true}
reassign_inactive_to: ["9", "8"]`)
	res := run(t, d, db)
	t.Run("owners listed in crmops.yaml work like the file, round robin in the listed order", func(t *testing.T) {
		c := func(record, after, label string, i int) batch.Change {
			ch := reassign(record, "7", after, "owner 7 (Old Timer) is inactive and no territory rule matches; round robin over reassign_inactive_to gives "+
				label+" ("+string(rune('0'+i))+" of 2 reassigned, in id order)")
			ch.Field = "hubspot_owner_id"
			return ch
		}
		checkChanges(t, res.Changes, []batch.Change{c("1", "9", "9 (New Hire)", 1), c("2", "8", "8", 2)})
		checkProblems(t, res.Skipped, nil)
	})
}

func TestOwnerWithoutRotation(t *testing.T) {
	db := seedOwners(t)
	res := run(t, mustDetector(t, "owners: {input: testdata/owners.csv}"), db)
	t.Run("inactive owners' records stay put and are reported when nobody can take them", func(t *testing.T) {
		checkChanges(t, res.Changes, nil)
		checkProblems(t, res.Skipped, []string{
			`testdata/owners.csv:7: active is "maybe" for owner 18, not true or false`,
			`testdata/owners.csv:8: owner 12 is already on line 2; only line 2 is used`,
			"crmops.yaml:5: owner 14 (Sam Lee) is inactive and reassign_inactive_to names no active owner; 4 contacts left with them",
			"crmops.yaml:5: owner 17 (Ray Diaz) is inactive and reassign_inactive_to names no active owner; 2 contacts left with them",
			"testdata/owners.csv: owner 99 is not in testdata/owners.csv; 1 contacts they own were left alone (9)",
		})
	})
}

func TestOwnerErrors(t *testing.T) {
	db := seedOwners(t)
	t.Run("an owners file without the active column is an error naming the file and the column", func(t *testing.T) {
		_, err := mustDetector(t, "owners: {input: testdata/owners-no-active.csv}").Detect(t.Context(), envFor(db))
		want := `testdata/owners-no-active.csv: no column "active" (the header has: id, name, email)`
		if err == nil || err.Error() != want {
			t.Errorf("error %v\nwant %s", err, want)
		}
	})
	tests := []struct {
		name     string
		settings string
		want     string
	}{
		{"owners are required",
			"field: owner",
			"crmops.yaml:5: detectors.owner.owners: missing required key"},
		{"owners must be a file or a list",
			"owners: data/owners.csv",
			"crmops.yaml:5: detectors.owner.owners: want {input: FILE} or a list of owners"},
		{"an inline owner needs active",
			"owners:\n  - {id: 7}",
			"crmops.yaml:6: detectors.owner.owners[0].active: missing required key"},
		{"an inline owner listed twice is refused",
			"owners:\n  - {id: 7, active: true}\n  - {id: 7, active: false}",
			"crmops.yaml:7: detectors.owner.owners[1].id: owner 7 is listed twice"},
		{"an owner listed twice in the rotation is refused",
			"owners: {input: o.csv}\nreassign_inactive_to: [\"7\", \"7\"]",
			`crmops.yaml:6: detectors.owner.reassign_inactive_to[1]: owner "7" is empty or listed twice`},
		{"a territory needs an owner",
			"owners: {input: o.csv}\nterritories:\n  - when: {country: DE}",
			"crmops.yaml:7: detectors.owner.territories[0].owner: missing required key"},
		{"a territory value must be a value or a list of values",
			"owners: {input: o.csv}\nterritories:\n  - when: {country: {is: DE}}\n    owner: \"7\"",
			"crmops.yaml:7: detectors.owner.territories[0].when.country: want a value or a list of values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newDetector(t, tt.settings)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}
