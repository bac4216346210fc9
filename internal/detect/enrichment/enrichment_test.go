package enrichment_test

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/policy"
)

const claySettings = `input: testdata/clay.csv
match_on: email
match_column: Email
columns: {Job Title: jobtitle, City: city}
source: clay
confidence: 0.9
confidence_column: Score
`

func seedContacts(t *testing.T) crm.Connector {
	db := openCRM(t)
	seed(t, db, "contacts",
		rec("1001", "email", "ann@acme.com", "city", "Oslo"),
		rec("1002", "email", "bob@acme.com", "jobtitle", "Sales", "city", "Berlin"),
		rec("1003", "email", "cy@beta.io", "jobtitle", "CTO "),
		rec("1004", "email", "dup@gamma.com"),
		rec("1005", "email", "Dup@Gamma.com"),
		rec("1006", "email", " Dee@Delta.COM "),
	)
	return db
}

func TestEnrichmentByEmail(t *testing.T) {
	res := run(t, mustDetector(t, claySettings), seedContacts(t))

	t.Run("every change fills an empty field or overwrites a different value, with the CRM's value as before", func(t *testing.T) {
		checkChanges(t, res.Changes, []batch.Change{
			// Line 2: jobtitle empty -> fill; city equal -> nothing.
			enrich("contacts", "1001", "jobtitle", "", "VP Sales", 0.97,
				"testdata/clay.csv:2 (column Job Title) matched by email ann@acme.com; jobtitle is empty in the CRM"),
			// Line 3: the email is matched trimmed and in lower case; the empty City cell proposes nothing.
			enrich("contacts", "1002", "jobtitle", "Sales", "Head of Sales", 0.95,
				`testdata/clay.csv:3 (column Job Title) matched by email bob@acme.com; the CRM has jobtitle "Sales", the row has "Head of Sales"`),
			// Line 4: "CTO " equals "CTO" after trimming -> nothing; empty Score -> the default confidence.
			enrich("contacts", "1003", "city", "", "Paris", 0.9,
				"testdata/clay.csv:4 (column City) matched by email cy@beta.io; city is empty in the CRM"),
			// Line 11: the CRM's " Dee@Delta.COM " matches; line 8 was skipped, so this row is the first.
			enrich("contacts", "1006", "jobtitle", "", "COO", 0.8,
				"testdata/clay.csv:11 (column Job Title) matched by email dee@delta.com; jobtitle is empty in the CRM"),
		})
	})

	t.Run("bad rows are skipped with their line and the rest of the file still counts", func(t *testing.T) {
		checkProblems(t, res.Skipped, []string{
			`testdata/clay.csv:5: malformed email "not-an-email"`,
			`testdata/clay.csv:6: no contacts record with email zed@nowhere.com`,
			`testdata/clay.csv:7: email dup@gamma.com matches 2 records (1004, 1005); not guessing`,
			`testdata/clay.csv:8: confidence "1.5" in column "Score" is not a number from 0 to 1`,
			`testdata/clay.csv:9: no email in column "Email"`,
			`testdata/clay.csv:10: same email ann@acme.com as line 2; only line 2 is used`,
			`testdata/clay.csv:12: row has 2 cells, the header has 4`,
		})
	})

	t.Run("the default policy fills empty fields automatically and sends overwrites to review", func(t *testing.T) {
		p := defaultPolicy(t)
		want := []policy.Decision{policy.Auto, policy.Review, policy.Auto, policy.Review}
		for i, c := range res.Changes {
			if v := p.Evaluate(c, policy.Proposer{}); v.Decision != want[i] {
				t.Errorf("%s: decision %s (%s), want %s", describe(c), v.Decision, v.Rule, want[i])
			}
		}
	})
}

func TestEnrichmentByID(t *testing.T) {
	db := openCRM(t)
	seed(t, db, "contacts",
		rec("1001", "email", "ann@acme.com"),
		rec("1002", "email", "bob@acme.com", "city", "Berlin"),
		rec("1005", "email", "cfo@acme.com"),
		rec("1006", "email", "cfo@acme.com"),
	)
	if _, err := db.Merge(t.Context(), []crm.MergeRequest{{Object: "contacts", Survivor: "1006", Loser: "1005"}}); err != nil {
		t.Fatal(err)
	}
	// No columns: every column but the match column fills the field of its name.
	res := run(t, mustDetector(t, "{input: testdata/by-id.csv, match_on: id, source: clay, confidence: 0.95}"), db)

	t.Run("a row naming a record by id fills its empty fields", func(t *testing.T) {
		checkChanges(t, res.Changes, []batch.Change{
			enrich("contacts", "1001", "jobtitle", "", "VP Sales", 0.95,
				"testdata/by-id.csv:2 (column jobtitle) matched by id 1001; jobtitle is empty in the CRM"),
		})
	})
	t.Run("unknown and merged records are reported, equal values propose nothing", func(t *testing.T) {
		checkProblems(t, res.Skipped, []string{
			"testdata/by-id.csv:3: no contacts record with id 9999",
			"testdata/by-id.csv:4: contacts record 1005 was merged into 1006; match the survivor instead",
		})
	})
}

func TestEnrichmentByDomain(t *testing.T) {
	t.Run("companies match their domain field, normalized, and a domain two companies share is not guessed", func(t *testing.T) {
		db := openCRM(t)
		seed(t, db, "companies",
			rec("1", "domain", "acme.com", "industry", "Software"),
			rec("2", "domain", "https://www.beta.io/"),
			rec("3", "domain", "gamma.com"),
			rec("4", "domain", "GAMMA.com"),
		)
		d := mustDetector(t, `input: testdata/companies.csv
object: companies
match_on: domain
match_column: Website
columns: {Industry: industry, Employees: numberofemployees}
source: clay
confidence: 0.92`)
		res := run(t, d, db)
		checkChanges(t, res.Changes, []batch.Change{
			enrich("companies", "1", "numberofemployees", "", "120", 0.92,
				"testdata/companies.csv:2 (column Employees) matched by domain acme.com; numberofemployees is empty in the CRM"),
			enrich("companies", "2", "industry", "", "Retail", 0.92,
				"testdata/companies.csv:3 (column Industry) matched by domain beta.io; industry is empty in the CRM"),
		})
		checkProblems(t, res.Skipped, []string{
			"testdata/companies.csv:4: domain gamma.com matches 2 records (3, 4); not guessing",
			"testdata/companies.csv:5: no companies record with domain gmail.com",
			`testdata/companies.csv:6: malformed domain "not a domain"`,
		})
	})

	t.Run("contacts match by their email's domain and every contact at it gets the row's values", func(t *testing.T) {
		db := openCRM(t)
		seed(t, db, "contacts",
			rec("1001", "email", "ann@acme.com"),
			rec("1002", "email", "bob@ACME.com", "industry", "Hardware"),
			rec("1003", "email", "cy@gmail.com"),
			rec("1004", "email", "dee@beta.io", "industry", "Retail"),
		)
		res := run(t, mustDetector(t, "{input: testdata/contacts-by-domain.csv, match_on: domain, source: clay}"), db)
		checkChanges(t, res.Changes, []batch.Change{
			enrich("contacts", "1001", "industry", "", "Software", 0.9,
				"testdata/contacts-by-domain.csv:2 (column industry) matched by email domain acme.com; industry is empty in the CRM (2 contacts at acme.com)"),
			enrich("contacts", "1002", "industry", "Hardware", "Software", 0.9,
				`testdata/contacts-by-domain.csv:2 (column industry) matched by email domain acme.com; the CRM has industry "Hardware", the row has "Software" (2 contacts at acme.com)`),
		})
		checkProblems(t, res.Skipped, []string{
			"testdata/contacts-by-domain.csv:3: gmail.com is a free email provider; matching contacts by it would reach unrelated people",
		})
	})
}

func TestEnrichmentInputErrors(t *testing.T) {
	db := seedContacts(t)
	tests := []struct {
		name     string
		settings string
		want     string
	}{
		{"a missing match column is an error for the whole file naming the file and the column",
			"{input: testdata/clay.csv, match_column: E-mail, source: clay}",
			`testdata/clay.csv: no column "E-mail" (the header has: Email, Job Title, City, Score); set detectors.enrichment.match_column to the column holding the email`},
		{"a mapped column the file lacks is an error naming it",
			"{input: testdata/clay.csv, match_column: Email, columns: {Title: jobtitle}, source: clay}",
			`testdata/clay.csv: no column "Title" (the header has: Email, Job Title, City, Score); detectors.enrichment.columns names it`},
		{"a missing confidence column is an error naming it",
			"{input: testdata/clay.csv, match_column: Email, columns: {City: city}, confidence_column: Conf, source: clay}",
			`testdata/clay.csv: no column "Conf"`},
		{"without columns, a header that is no field name asks for a mapping",
			"{input: testdata/clay.csv, match_column: Email, source: clay}",
			`testdata/clay.csv: column "Job Title" is not a CRM field name; map the columns to fields under detectors.enrichment.columns`},
		{"a CSV syntax error stops the file at its line",
			"{input: testdata/broken.csv, match_column: Email, columns: {Job Title: jobtitle}, source: clay}",
			`testdata/broken.csv:2: extraneous or missing " in quoted-field (the row starting here, at line 3 column 18)`},
		{"a missing input file is an error naming it",
			"{input: testdata/nope.csv, source: clay}",
			`testdata/nope.csv: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mustDetector(t, tt.settings).Detect(t.Context(), envFor(db))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEnrichmentSettings(t *testing.T) {
	t.Run("the spec's example configuration is accepted", func(t *testing.T) {
		if _, err := newDetector(t, "{input: data/enrichment.csv, match_on: email, source: clay}"); err != nil {
			t.Fatal(err)
		}
	})
	tests := []struct {
		name     string
		settings string
		want     string
	}{
		{"an unknown match is refused at its line",
			"input: a.csv\nsource: clay\nmatch_on: phone",
			`crmops.yaml:7: detectors.enrichment.match_on: unknown match "phone" (email, id or domain)`},
		{"a source is required",
			"input: a.csv",
			"crmops.yaml:5: detectors.enrichment.source: missing required key"},
		{"a confidence outside 0..1 is refused",
			"input: a.csv\nsource: clay\nconfidence: 1.2",
			"crmops.yaml:7: detectors.enrichment.confidence: 1.2 is outside 0..1"},
		{"an unknown key is refused",
			"input: a.csv\nsource: clay\nmatch: email",
			"crmops.yaml:7: detectors.enrichment.match: unknown key"},
		{"a column mapped to something that is no field name is refused",
			"input: a.csv\nsource: clay\ncolumns:\n  Title: job title",
			`crmops.yaml:7: detectors.enrichment.columns.Title: "job title" is not a CRM field name`},
		{"two columns filling one field are refused",
			"input: a.csv\nsource: clay\ncolumns: {A: jobtitle, B: jobtitle}",
			`crmops.yaml:7: detectors.enrichment.columns.B: column "A" already fills "jobtitle"`},
		{"rewriting the field rows are matched on is refused",
			"input: a.csv\nsource: clay\ncolumns: {Work Email: email}",
			`crmops.yaml:7: detectors.enrichment.columns.Work Email: "email" is the field rows are matched on`},
		{"settings must be a mapping",
			"",
			"crmops.yaml:4: detectors.enrichment: want a mapping of keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newDetector(t, tt.settings)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
