package schema_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/detect/detectors"
	"github.com/crmops/crmops/internal/schema"
)

// salesforceConfig is what crmops init --crm salesforce writes: every
// detector, in Salesforce's names.
var salesforceConfig = config.ForSalesforce(config.Default, detectors.SalesforceSettings)

// hubspotDetectors has every detector's keys in HubSpot's names.
const hubspotDetectors = `version: 1
crm: {kind: hubspot, tier: professional}
detectors:
  enrichment:
    input: data/clay-export.csv
    object: companies
    match_on: domain
    match_column: Domain
    domain_field: domain
    columns: {Industry: industry}
    source: clay
    confidence: 0.95
  email_verification:
    input: data/kickbox.csv
    format: kickbox
    field: email_status
    source: kickbox
    confidence: 0.9
    columns: {email: Email}
  lifecycle:
    stages: [subscriber, lead, customer]
    events:
      input: data/events.jsonl
      map: {demo_booked: lead}
      source: events
      confidence: 1
    scores:
      input: data/lead-scores.csv
      thresholds: {lead: 70}
      source: lead-score-model
  owner:
    field: hubspot_owner_id
    owners:
      - {id: "12", name: Ann, email: ann@acme.com, active: true}
      - {id: "15", active: false}
    reassign_inactive_to: ["12"]
    territories:
      - {when: {country: [DE, AT, CH]}, owner: "12"}
      - {when: {}, owner: "12"}
  dedupe:
    objects: [contacts, companies, deals]
    min_confidence: 0.85
    source: dedupe
    contacts:
      identifiers: [ssn]
      fields: {address2: address}
    deals:
      as: companies
      standard: {name: dealname, created: [createdate, created], updated: hs_lastmodifieddate}
    survivorship:
      survivor: [{source: [salesforce, hubspot]}, most_complete]
      values: fill_empty
      fields: {jobtitle: most_recent}
      created_field: [created, createdate]
      companies:
        survivor: oldest
        values: survivor
`

// detectorTypos are mistakes in detectors: that crmops detect refuses and
// that the schema must refuse as they are typed.
var detectorTypos = []struct {
	name, base, old, new string
}{
	{"an unknown detector", salesforceConfig, "  enrichment:  ", "  enrichmnt:  "},
	{"a detector that is not a mapping", salesforceConfig, "  owner:                              # always reviewed\n", "  owner: on\n  ownerx:\n"},

	{"a misspelt dedupe key", salesforceConfig, "    min_confidence: 0.8\n", "    min_confidense: 0.8\n"},
	{"a dedupe min_confidence of 0", salesforceConfig, "    min_confidence: 0.8\n", "    min_confidence: 0\n"},
	{"a dedupe objects entry that is no object name", salesforceConfig, "objects: [Contact, Lead, Account]", "objects: [Contact, Lead, Account, My-Object]"},
	{"an unknown dedupe role", salesforceConfig, "      as: contacts                    # compared as people", "      as: people                      # compared as people"},
	{"a misspelt key of an object's section", salesforceConfig, "    Lead:\n      as: contacts\n      standard:", "    Lead:\n      as: contacts\n      standrad:"},
	{"a misspelt standard field", salesforceConfig, "        email: Email\n", "        emial: Email\n"},
	{"a company's standard field on a person", salesforceConfig, "        email: Email\n", "        domain: Email\n"},
	{"a standard field mapped to a list", salesforceConfig, "        email: Email\n", "        email: [Email, Email2]\n"},
	{"an unknown comparison type", hubspotDetectors, "fields: {address2: address}", "fields: {address2: street}"},
	{"an unknown tie-breaker", salesforceConfig, "survivor: [most_complete, oldest]", "survivor: [most_complete, eldest]"},
	{"a misspelt survivorship key", salesforceConfig, "      survivor: [most_complete, oldest]", "      survivors: [most_complete, oldest]"},
	{"an unknown value rule", hubspotDetectors, "values: fill_empty", "values: fill_blank"},
	{"a source tie-breaker without sources", hubspotDetectors, "{source: [salesforce, hubspot]}", "{source: []}"},
	{"a misspelt key of an object's survivorship", hubspotDetectors, "        values: survivor\n", "        value: survivor\n"},

	{"a misspelt lifecycle key", salesforceConfig, "    object: Lead\n    field: Status\n", "    objet: Lead\n    field: Status\n"},
	{"lifecycle events without a map", salesforceConfig, "      map: {email_replied:", "      mapping: {email_replied:"},
	{"lifecycle with neither events nor scores", hubspotDetectors, "    events:\n      input: data/events.jsonl\n      map: {demo_booked: lead}\n      source: events\n      confidence: 1\n    scores:\n      input: data/lead-scores.csv\n      thresholds: {lead: 70}\n      source: lead-score-model\n", ""},
	{"a lifecycle event confidence above 1", hubspotDetectors, "      confidence: 1\n", "      confidence: 1.5\n"},
	{"lifecycle scores without a source", hubspotDetectors, "      source: lead-score-model\n", ""},
	{"a single lifecycle stage", hubspotDetectors, "stages: [subscriber, lead, customer]", "stages: [lead]"},

	{"a misspelt owner key", salesforceConfig, "    owners: {input: data/owners.csv}", "    owner: {input: data/owners.csv}"},
	{"an owners file under another key", salesforceConfig, "owners: {input: data/owners.csv}", "owners: {file: data/owners.csv}"},
	{"an owner without active", hubspotDetectors, `{id: "15", active: false}`, `{id: "15"}`},
	{"a territory without an owner", hubspotDetectors, `{when: {country: [DE, AT, CH]}, owner: "12"}`, `{when: {country: [DE, AT, CH]}}`},
	{"a territory field that is no field name", hubspotDetectors, "{when: {country: [DE, AT, CH]}", "{when: {home country: [DE, AT, CH]}"},

	{"an unknown verification format", salesforceConfig, "    format: zerobounce  ", "    format: zerobouncer "},
	{"a misspelt email_field", salesforceConfig, "    email_field: Email                # the field records are matched on", "    emailfield: Email                 # the field records are matched on"},
	{"a verification without input", salesforceConfig, "    input: data/zerobounce.csv\n", ""},
	{"a status field that is no field name", salesforceConfig, "    field: Email_Status__c ", "    field: Email Status    "},

	{"an unknown match_on", salesforceConfig, "    match_on: email                   # email | id | domain", "    match_on: name                    # email | id | domain"},
	{"an enrichment without source", salesforceConfig, "    source: clay\n", ""},
	{"an enrichment confidence above 1", salesforceConfig, "    # confidence: 0.95  ", "    confidence: 1.5     "},
	{"a misspelt domain_field", hubspotDetectors, "    domain_field: domain\n", "    domain: domain\n"},
	{"an enrichment object that is no object name", hubspotDetectors, "    object: companies\n", "    object: com-panies\n"},
}

func TestDetectorSettingsTheDetectorsRefuseTheSchemaRefuses(t *testing.T) {
	schemas := compile(t)
	for name, base := range map[string]string{"salesforce": salesforceConfig, "hubspot": hubspotDetectors} {
		t.Run("the "+name+" base is valid for both", func(t *testing.T) {
			if err := decodeConfig("crmops.yaml", []byte(base)); err != nil {
				t.Fatal(err)
			}
			if err := schemas[schema.Config].Validate(instance(t, []byte(base))); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, c := range detectorTypos {
		t.Run(c.name+" is refused by both", func(t *testing.T) {
			if !strings.Contains(c.base, c.old) {
				t.Fatalf("the base lacks %q", c.old)
			}
			text := strings.Replace(c.base, c.old, c.new, 1)
			if err := decodeConfig("crmops.yaml", []byte(text)); err == nil {
				t.Fatalf("crmops accepts it:\n%s", text)
			}
			if err := schemas[schema.Config].Validate(instance(t, []byte(text))); err == nil {
				t.Errorf("config.schema.json accepts it:\n%s", text)
			}
		})
	}
}

// TestDetectorSettingsOnlyTheDetectorsRefuse documents what the schema
// cannot say about detectors:, so that a change to either shows up here.
func TestDetectorSettingsOnlyTheDetectorsRefuse(t *testing.T) {
	schemas := compile(t)
	for _, c := range []struct{ name, base, old, new string }{
		// An object's section is any key that is an object name; which
		// objects are listed in objects: is beyond the schema.
		{"a section for an object not deduplicated", salesforceConfig, "    Lead:\n", "    Leads:\n"},
		{"an object listed without a section", hubspotDetectors, "objects: [contacts, companies, deals]", "objects: [contacts, companies, deals, tickets]"},
		{"an object other than contacts and companies without as", hubspotDetectors, "      as: companies\n", ""},
		{"a field two standard fields stand for", salesforceConfig, "        firstname: FirstName\n", "        firstname: Email\n"},
		{"an object listed twice", salesforceConfig, "objects: [Contact, Lead, Account]", "objects: [Contact, Lead, Account, Lead]"},
		{"thresholds that do not rise with the stages", hubspotDetectors, "thresholds: {lead: 70}", "thresholds: {lead: 70, customer: 60}"},
		{"an owner listed twice", hubspotDetectors, `{id: "15", active: false}`, `{id: "12", active: false}`},
	} {
		t.Run("the detector alone refuses "+c.name, func(t *testing.T) {
			if !strings.Contains(c.base, c.old) {
				t.Fatalf("the base lacks %q", c.old)
			}
			text := strings.Replace(c.base, c.old, c.new, 1)
			if decodeConfig("crmops.yaml", []byte(text)) == nil {
				t.Error("crmops accepts it")
			}
			if err := schemas[schema.Config].Validate(instance(t, []byte(text))); err != nil {
				t.Errorf("the schema refuses it now (%v): move the case to detectorTypos", err)
			}
		})
	}
}

// TestTheDocumentsConfigurationExamplesAreValid holds the crmops.yaml
// examples of README.md and docs/ to crmops and to the schema: each YAML
// block that is a configuration, or a part of one (a detectors:, crm: or
// agents: section, or detectors indented under detectors:), completed to a
// whole file.
func TestTheDocumentsConfigurationExamplesAreValid(t *testing.T) {
	schemas := compile(t)
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	docs = append([]string{filepath.Join(root, "README.md")}, docs...)
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	checked := 0
	for _, doc := range docs {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllSubmatchIndex(data, -1) {
			text := string(data[m[2]:m[3]])
			line := 1 + strings.Count(string(data[:m[2]]), "\n")
			body := strings.TrimPrefix(text, "# crmops.yaml\n")
			var whole string
			switch {
			case strings.HasPrefix(body, "version: 1\ncrm:"):
				whole = body
			case strings.HasPrefix(body, "crm:"):
				whole = "version: 1\n" + body
			case strings.HasPrefix(body, "detectors:"), strings.HasPrefix(body, "agents:"):
				whole = "version: 1\ncrm: {kind: sqlite}\n" + body
			case regexp.MustCompile(`^  (dedupe|enrichment|email_verification|lifecycle|owner):`).MatchString(body):
				whole = "version: 1\ncrm: {kind: sqlite}\ndetectors:\n" + body
			default:
				continue
			}
			checked++
			rel, _ := filepath.Rel(root, doc)
			t.Run(filepath.ToSlash(rel)+" line "+strconv.Itoa(line), func(t *testing.T) {
				if err := decodeConfig("crmops.yaml", []byte(whole)); err != nil {
					t.Errorf("crmops refuses it: %v\n%s", err, whole)
				}
				if err := schemas[schema.Config].Validate(instance(t, []byte(whole))); err != nil {
					t.Errorf("config.schema.json refuses it: %v\n%s", err, whole)
				}
			})
		}
	}
	if checked < 5 {
		t.Errorf("found %d configuration examples in README.md and docs/, want at least 5", checked)
	}
}
