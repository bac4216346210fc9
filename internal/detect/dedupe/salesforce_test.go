package dedupe

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/detect/detecttest"
)

// salesforceSettings deduplicates Salesforce's Contact, Lead and Account,
// as detectors.SalesforceSettings does.
const salesforceSettings = `objects: [Contact, Lead, Account]
Contact:
  as: contacts
  standard: {email: Email, firstname: FirstName, lastname: LastName, phone: Phone, mobilephone: MobilePhone,
    address: MailingStreet, city: MailingCity, state: MailingState, zip: MailingPostalCode, country: MailingCountry,
    date_of_birth: Birthdate, created: CreatedDate, updated: LastModifiedDate}
Lead:
  as: contacts
  standard: {email: Email, firstname: FirstName, lastname: LastName, company: Company, phone: Phone,
    address: Street, city: City, state: State, zip: PostalCode, country: Country, created: CreatedDate}
Account:
  as: companies
  standard: {name: Name, domain: Website, phone: Phone, address: BillingStreet, city: BillingCity,
    state: BillingState, zip: BillingPostalCode, country: BillingCountry, created: CreatedDate}`

// salesforceNames are the Salesforce Contact's names of the fields
// background gives.
var salesforceNames = map[string]string{"firstname": "FirstName", "lastname": "LastName", "email": "Email", "phone": "Phone",
	"address": "MailingStreet", "zip": "MailingPostalCode", "date_of_birth": "Birthdate"}

// salesforceBackground is background in a Salesforce Contact's names (its
// company and ssn left out: a Contact has neither).
func salesforceBackground(n int) []crm.Record {
	var out []crm.Record
	for _, r := range background(n, true) {
		f := map[string]string{}
		for k, v := range r.Fields {
			if name, ok := salesforceNames[k]; ok {
				f[name] = v
			}
		}
		out = append(out, crm.Record{ID: "003" + r.ID, Fields: f})
	}
	return out
}

// fieldsRead records the fields every List asks for, by object.
type fieldsRead struct {
	crm.Connector
	lists map[string][]string
}

func (f *fieldsRead) List(ctx context.Context, object string, fields []string, fn func(crm.Record) error) error {
	f.lists[object] = slices.Clone(fields)
	return f.Connector.List(ctx, object, fields, fn)
}

func TestSalesforceContactsAreMergedInTheirOwnNames(t *testing.T) {
	db := detecttest.OpenCRM(t)
	detecttest.Seed(t, db, "Contact", append(salesforceBackground(300),
		// One person twice: the newer record (a lower id) is as complete
		// as the older, which survives (oldest, by CreatedDate).
		rec("003Dn0000000002AAA", "Email", "Ann.Lee@ACME.io", "FirstName", "ann", "LastName", "lee", "Phone", "+47 22 33 44 55",
			"CreatedDate", "2025-01-01T00:00:00.000+0000", "LastModifiedDate", "2025-02-01T00:00:00.000+0000", "SystemModstamp", "2025-02-01T00:00:00.000+0000"),
		rec("003Dn0000000009AAA", "Email", "ann.lee@acme.io", "FirstName", "Ann", "LastName", "Lee", "MailingCity", "Oslo",
			"CreatedDate", "2023-01-01T00:00:00.000+0000", "LastModifiedDate", "2023-02-01T00:00:00.000+0000"),
	)...)
	read := &fieldsRead{Connector: db, lists: map[string][]string{}}
	d := detecttest.MustDetector(t, Name, New, salesforceSettings+"\nsurvivorship:\n  survivor: [oldest]\n  values: most_recent")
	res := detecttest.Run(t, d, read)
	wantMerges(t, res, "Contact 003Dn0000000009AAA <- 003Dn0000000002AAA")
	if len(res.Changes) == 0 {
		t.FailNow()
	}
	m := res.Changes[0]
	if m.Object != "Contact" || m.Op != batch.OpMerge || m.Kind != "dedupe" {
		t.Errorf("merge %s", detecttest.Describe(m))
	}
	for _, want := range []string{"Email exact (+", "FirstName exact (+", "LastName exact (+", ": match weight "} {
		if !strings.Contains(m.Reason, want) {
			t.Errorf("reason %q lacks %q", m.Reason, want)
		}
	}
	if m.Snapshot["Email"] != "Ann.Lee@ACME.io" || m.Snapshot["Phone"] != "+47 22 33 44 55" || m.SurvivorSnapshot["MailingCity"] != "Oslo" {
		t.Errorf("snapshot %v, survivor snapshot %v", m.Snapshot, m.SurvivorSnapshot)
	}
	// most_recent by LastModifiedDate, in the Contact's names: the newer
	// record's values win; its created and updated times and Salesforce's
	// system fields are never set.
	var sets []string
	for _, c := range res.Changes[1:] {
		if c.Object != "Contact" || c.Follows != m.ID {
			t.Errorf("set %s follows %q", detecttest.Describe(c), c.Follows)
		}
		sets = append(sets, fmt.Sprintf("%s %q -> %q", c.Field, c.Before, c.After))
	}
	if want := []string{`Email "ann.lee@acme.io" -> "Ann.Lee@ACME.io"`, `FirstName "Ann" -> "ann"`, `LastName "Lee" -> "lee"`, `Phone "" -> "+47 22 33 44 55"`}; !slices.Equal(sets, want) {
		t.Errorf("sets %q, want %q", sets, want)
	}
	// Only the Contact's own fields are read: no standard name it lacks.
	want := []string{"Email", "FirstName", "LastName", "Phone", "MobilePhone", "MailingStreet", "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry", "Birthdate"}
	if got := read.lists["Contact"]; !slices.Equal(got, want) {
		t.Errorf("Contact read with %q, want %q", got, want)
	}
}

func TestSalesforceLeadsAndAccounts(t *testing.T) {
	db := detecttest.OpenCRM(t)
	var leads, accounts []crm.Record
	for _, r := range salesforceBackground(200) {
		f := map[string]string{"Email": r.Fields["Email"], "FirstName": r.Fields["FirstName"], "LastName": r.Fields["LastName"], "Phone": r.Fields["Phone"]}
		leads = append(leads, crm.Record{ID: "00Q" + r.ID, Fields: f})
	}
	for i := range 200 {
		accounts = append(accounts, rec(fmt.Sprintf("001b%d", i), "Name", fmt.Sprintf("Sunrise %d Learning Center", i), "Phone", fmt.Sprintf("%07d", 2000000+i*37),
			"Website", fmt.Sprintf("http://sunrise%d.org", i), "BillingStreet", fmt.Sprintf("%d W %dth St", 100+i, i%90+1), "BillingCountry", "US"))
	}
	leads = append(leads,
		rec("00Qx1", "Email", "kim.park@beta.io", "FirstName", "Kim", "LastName", "Park", "Company", "Beta Corp"),
		rec("00Qx2", "Email", "KIM.PARK@beta.io", "FirstName", "Kim", "LastName", "Park", "Company", "Beta"))
	// A Website is compared as a domain: scheme, www. and path aside.
	accounts = append(accounts,
		rec("001a1", "Name", "Acme, Inc.", "Website", "https://www.acme.com/", "Phone", "+1 415 555 0100", "BillingCountry", "US"),
		rec("001a2", "Name", "ACME", "Website", "acme.com", "Phone", "(415) 555-0100", "BillingCountry", "US"))
	detecttest.Seed(t, db, "Lead", leads...)
	detecttest.Seed(t, db, "Account", accounts...)
	d := detecttest.MustDetector(t, Name, New, salesforceSettings).(*Detector)
	res, rep, err := d.Run(t.Context(), detecttest.EnvFor(db))
	if err != nil {
		t.Fatal(err)
	}
	detecttest.MustBeValid(t, res.Changes)
	wantMerges(t, res, "Lead 00Qx1 <- 00Qx2", "Account 001a1 <- 001a2")
	for _, c := range res.Changes {
		if c.Object == "Account" && c.Op == batch.OpMerge && !strings.Contains(c.Reason, "Website exact (+") {
			t.Errorf("the Websites do not agree as domains: %s", c.Reason)
		}
		if c.Object == "Lead" && c.Op == batch.OpMerge && !strings.Contains(c.Reason, "Company ") {
			t.Errorf("the Lead's Company is not compared: %s", c.Reason)
		}
	}
	var rules, models []string
	for _, r := range rep.Rules {
		rules = append(rules, r.Object+": "+r.Rule)
	}
	for _, m := range rep.Models {
		models = append(models, m.Object)
		for _, w := range m.Weights {
			if name, _, _ := strings.Cut(w, ":"); strings.ToLower(name) == name {
				t.Errorf("%s model: a comparison in standard names: %s", m.Object, w)
			}
		}
	}
	for _, want := range []string{"Lead: email", "Lead: name", "Account: domain", "Account: name words"} {
		if !slices.Contains(rules, want) {
			t.Errorf("no blocking rule %q in %q", want, rules)
		}
	}
	if !slices.Equal(models, []string{"Contact", "Lead", "Account"}) {
		t.Errorf("models %q", models)
	}
}

func TestSalesforceOversizedBlocksAreSplitByTheObjectsFields(t *testing.T) {
	// 60 colleagues named Lee on one switchboard: split by FirstName.
	var recs []crm.Record
	for i := range 60 {
		recs = append(recs, rec(fmt.Sprint(2000+i), "FirstName", fmt.Sprintf("Person%c%c", 'a'+i/26, 'a'+i%26), "LastName", "Lee", "Phone", "+1 (415) 555-0000"))
	}
	db := detecttest.OpenCRM(t)
	detecttest.Seed(t, db, "Contact", recs...)
	d := detecttest.MustDetector(t, Name, New, "objects: [Contact]\nContact:\n  as: contacts\n  standard: {firstname: FirstName, lastname: LastName, phone: Phone}").(*Detector)
	res, rep, err := d.Run(t.Context(), detecttest.EnvFor(db))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rules {
		if r.Rule == "phone" && !slices.Equal(r.Split, []string{"LastName", "FirstName"}) {
			t.Errorf("phone blocks split by %q", r.Split)
		}
	}
	if len(res.Skipped) == 0 || !strings.Contains(res.Skipped[0].String(), "Contact blocking by phone (1 blocks, largest 60 records like 2000): blocks of more than 50 records: compared only within equal LastName or FirstName") {
		t.Errorf("skipped %v", res.Skipped)
	}
}

func TestSalesforceIdentifiersAndFields(t *testing.T) {
	d := detecttest.MustDetector(t, Name, New, "objects: [Contact]\nContact:\n  as: contacts\n  standard: {email: Email, lastname: LastName}\n  identifiers: [National_Id__c]\n  fields: {Nickname__c: name, Email: exact}").(*Detector)
	cfg := d.config["Contact"]
	want := []fieldSpec{{"Email", kindExact}, {"LastName", kindName}, {"National_Id__c", kindID}, {"Nickname__c", kindName}}
	if !slices.Equal(cfg.fields, want) || cfg.role != roleContacts || !slices.Equal(cfg.idents, []string{"National_Id__c"}) {
		t.Errorf("config %+v", cfg)
	}
	// contacts and companies keep HubSpot's names whatever else is set.
	if c := d.config["contacts"]; !slices.Equal(c.fields, defaultFields["contacts"]) || c.standard != nil {
		t.Errorf("contacts %+v", c)
	}
}

func TestSalesforceSettingsErrors(t *testing.T) {
	for _, tc := range []struct{ settings, want string }{
		{"objects: [Lead]", `crmops.yaml: detectors.dedupe.objects: "Lead" is not supported (contacts, companies; or give it a section detectors.dedupe.Lead saying as: contacts or as: companies)`},
		{"objects: [Lead]\nLead:\n  standard: {email: Email}", "crmops.yaml:7: detectors.dedupe.Lead.as: missing: say whether Lead is compared as people (as: contacts) or as organisations (as: companies)"},
		{"objects: [Lead]\nLead:", "crmops.yaml:6: detectors.dedupe.Lead.as: missing"},
		{"objects: [Lead]\nLead:\n  as: people", `crmops.yaml:7: detectors.dedupe.Lead.as: "people" is not a role (contacts`},
		{"objects: [Contact]\nContacts:\n  as: contacts", `crmops.yaml:6: detectors.dedupe.Contacts: unknown key (known keys: min_confidence, objects, source, survivorship; or the name of an object in objects:, for its own settings); did you mean "contacts"?`},
		{"objects: [Contact]\nContact:\n  as: contacts\nAccount:\n  as: companies", `crmops.yaml:8: detectors.dedupe.Account: unknown key`},
		{"Contact:\n  as: contacts", `crmops.yaml:5: detectors.dedupe.Contact: unknown key`},
		{"objects: [Contact]\nContact:\n  as: contacts\n  standrad: {email: Email}", `crmops.yaml:8: detectors.dedupe.Contact.standrad: unknown key (known keys: as, fields, identifiers, standard)`},
		{"objects: [Contact]\nContact:\n  as: contacts\n  standard:\n    email: Email\n    emial: Email2", `crmops.yaml:10: detectors.dedupe.Contact.standard.emial: not a standard field of contacts (email, firstname, lastname, phone, mobilephone, company, address, city, state, zip, country, date_of_birth, created, updated, source); did you mean "email"?`},
		{"objects: [Account]\nAccount:\n  as: companies\n  standard: {firstname: FirstName}", `crmops.yaml:8: detectors.dedupe.Account.standard.firstname: not a standard field of companies`},
		{"objects: [Contact]\nContact:\n  as: contacts\n  standard:\n    phone: Phone\n    mobilephone: Phone", `crmops.yaml:10: detectors.dedupe.Contact.standard.mobilephone: Phone already stands for phone`},
		{"objects: [Contact]\nContact:\n  as: contacts\n  standard: {email: [Email, Email2]}", `crmops.yaml:8: detectors.dedupe.Contact.standard.email: want the object's field standing for email`},
		{"objects: [Contact]\nContact:\n  as: contacts\n  standard: {email: \"E mail\"}", `crmops.yaml:8: detectors.dedupe.Contact.standard.email: "E mail" is not a field name`},
		{"objects: [Contact]\nContact:\n  as: contacts\n  standard: {updated: []}", `crmops.yaml:8: detectors.dedupe.Contact.standard.updated: empty list`},
		{"objects: [Contact]\nContact:\n  as: contacts\n  standard: [Email]", `crmops.yaml:8: detectors.dedupe.Contact.standard: want a map of standard field: the object's field`},
		{"objects: [Contact]\nContact: {as: contacts}\nContact: {as: contacts}", `crmops.yaml:7: detectors.dedupe.Contact: duplicate key`},
		{"objects: [Contact]\nContact:\n  as: contacts\n  standard:\n    email: Email\n    email: Email2", `crmops.yaml:10: detectors.dedupe.Contact.standard.email: duplicate key`},
		{"objects: [Contact, Contact]\nContact: {as: contacts}", `detectors.dedupe.objects: "Contact" is listed twice`},
		{"objects: [\"Contact-2\"]", `detectors.dedupe.objects: "Contact-2" is not an object name`},
	} {
		if _, err := detecttest.NewDetector(t, Name, New, tc.settings); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("settings %q:\n error %v\n want it to contain %q", tc.settings, err, tc.want)
		}
	}
	// Survivorship has the Contact's names: CreatedDate is its created
	// time, so no rule may set it.
	_, err := detecttest.NewDetector(t, Name, New, "objects: [Contact]\nContact:\n  as: contacts\n  standard: {email: Email, created: CreatedDate}\nsurvivorship:\n  Contact:\n    fields: {CreatedDate: most_recent}")
	if err == nil || !strings.Contains(err.Error(), "crmops.yaml:11: detectors.dedupe.survivorship.Contact.fields.CreatedDate: CreatedDate describes the record") {
		t.Errorf("a rule setting CreatedDate: %v", err)
	}
}
