package detectors_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/detectors"
	"github.com/crmops/crmops/internal/detect/detecttest"
)

// SalesforceSettings is a crmops.yaml detectors: section whose every
// detector builds.
func TestSalesforceSettingsBuildEveryDetector(t *testing.T) {
	s := detectors.SalesforceSettings
	if !strings.HasPrefix(s, "detectors:\n") || !strings.HasSuffix(s, "\n") {
		t.Fatalf("SalesforceSettings is not a top-level detectors: block ending in a newline:\n%s", s)
	}
	text := "version: 1\ncrm: {kind: sqlite}\n" + s
	cfg, err := config.Parse("crmops.yaml", []byte(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	var names []string
	for name := range cfg.Detectors {
		names = append(names, name)
	}
	slices.Sort(names)
	if !slices.Equal(names, detectors.Names()) {
		t.Errorf("detectors %v, want every one: %v", names, detectors.Names())
	}
	for _, name := range names {
		n := cfg.Detectors[name]
		d, err := detectors.New("crmops.yaml", name, &n)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if d.Name() != name {
			t.Errorf("detector %s calls itself %s", name, d.Name())
		}
	}
}

// Every detector of SalesforceSettings runs on a CRM holding Salesforce's
// objects and fields, and proposes changes in those names.
func TestSalesforceSettingsRunOnSalesforceRecords(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("data/events.jsonl", `{"record": "00QDn0000000001AAA", "event": "email_replied", "time": "2026-11-20T10:00:00Z"}`+"\n")
	write("data/owners.csv", "id,name,email,active\n005Dn0000000001AAA,Dana Fox,dana@acme.com,true\n005Dn0000000002AAA,Sam Lee,sam@acme.com,false\n")
	write("data/zerobounce.csv", "\"Email Address\",\"ZB Status\",\"ZB Sub Status\"\n\"ann.lee@acme.io\",\"valid\",\"\"\n")
	write("data/clay-export.csv", "Email,Title\nperson3@firm3.com,CTO\n")

	db := detecttest.OpenCRM(t)
	var contacts, accounts []crm.Record
	for i := range 40 {
		contacts = append(contacts, detecttest.Rec(fmt.Sprintf("003Dn00000000%02dAAA", 10+i), "Email", fmt.Sprintf("person%d@firm%d.com", i, i),
			"FirstName", fmt.Sprintf("First%c%c", 'a'+i/26, 'a'+i%26), "LastName", fmt.Sprintf("Last%c%c", 'a'+i%26, 'a'+i/26),
			"OwnerId", "005Dn0000000001AAA", "CreatedDate", "2024-01-01T00:00:00.000+0000"))
		accounts = append(accounts, detecttest.Rec(fmt.Sprintf("001Dn00000000%02dAAA", 10+i), "Name", fmt.Sprintf("Company %c%c Holdings", 'a'+i/26, 'a'+i%26),
			"Website", fmt.Sprintf("https://www.company%d.com/", i), "BillingCountry", "US"))
	}
	contacts = append(contacts,
		detecttest.Rec("003Dn0000000001AAA", "Email", "ann.lee@acme.io", "FirstName", "Ann", "LastName", "Lee", "MailingCity", "Oslo",
			"OwnerId", "005Dn0000000002AAA", "CreatedDate", "2023-01-01T00:00:00.000+0000"),
		detecttest.Rec("003Dn0000000002AAA", "Email", "Ann.Lee@ACME.io", "FirstName", "ann", "LastName", "lee", "Phone", "+47 22 33 44 55",
			"OwnerId", "005Dn0000000001AAA", "CreatedDate", "2025-01-01T00:00:00.000+0000"))
	accounts = append(accounts,
		detecttest.Rec("001Dn0000000001AAA", "Name", "Acme, Inc.", "Website", "https://www.acme.com/", "Phone", "+1 415 555 0100"),
		detecttest.Rec("001Dn0000000002AAA", "Name", "ACME", "Website", "acme.com", "Phone", "(415) 555-0100"))
	detecttest.Seed(t, db, "Contact", contacts...)
	detecttest.Seed(t, db, "Account", accounts...)
	detecttest.Seed(t, db, "Lead", detecttest.Rec("00QDn0000000001AAA", "Email", "kim@beta.io", "LastName", "Kim", "Company", "Beta", "Status", "Open - Not Contacted"))

	cfg, err := config.Parse("crmops.yaml", []byte("version: 1\ncrm: {kind: sqlite}\n"+detectors.SalesforceSettings))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"dedupe": {
			"merge Contact/003Dn0000000001AAA <- 003Dn0000000002AAA",
			"set Contact/003Dn0000000001AAA.Phone -> +47 22 33 44 55",
			"merge Account/001Dn0000000001AAA <- 001Dn0000000002AAA",
		},
		"lifecycle": {"set Lead/00QDn0000000001AAA.Status -> Working - Contacted"},
		// Without reassign_inactive_to (the settings cannot know the
		// org's users), an inactive owner's records are reported.
		"owner": nil,
		// The status belongs to the mailbox: both records holding it.
		"email_verification": {"set Contact/003Dn0000000001AAA.Email_Status__c -> valid", "set Contact/003Dn0000000002AAA.Email_Status__c -> valid"},
		"enrichment":         {"set Contact/003Dn0000000013AAA.Title -> CTO"},
	}
	wantSkipped := map[string][]string{
		"owner": {"owner 005Dn0000000002AAA (Sam Lee) is inactive and reassign_inactive_to names no active owner; 1 Contact left with them"},
	}
	for _, name := range detectors.Names() {
		n := cfg.Detectors[name]
		d, err := detectors.New("crmops.yaml", name, &n)
		if err != nil {
			t.Fatal(err)
		}
		res, err := d.Detect(t.Context(), detect.Env{CRM: db, Dir: dir, Progress: detect.NoProgress{}})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		detecttest.MustBeValid(t, res.Changes)
		var got []string
		for _, c := range res.Changes {
			if c.Op == batch.OpMerge {
				got = append(got, fmt.Sprintf("merge %s/%s <- %s", c.Object, c.Record, c.MergeFrom))
			} else {
				got = append(got, fmt.Sprintf("set %s/%s.%s -> %s", c.Object, c.Record, c.Field, c.After))
			}
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("%s proposes\n  %s\nwant\n  %s", name, strings.Join(got, "\n  "), strings.Join(want[name], "\n  "))
			for _, c := range res.Changes {
				t.Logf("  %s", detecttest.Describe(c))
			}
		}
		var skipped []string
		for _, p := range res.Skipped {
			skipped = append(skipped, p.Reason)
		}
		if !slices.Equal(skipped, wantSkipped[name]) {
			t.Errorf("%s skips %q, want %q", name, skipped, wantSkipped[name])
		}
	}
}
