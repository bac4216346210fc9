package sample

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Inputs are the files the quickstart's detectors read, made from the same
// sample as the CRM so that every detector finds real work in it: a Clay
// export (enrichment), a ZeroBounce result file (email verification), form
// and deal events plus lead scores (lifecycle), and the owner list (owner).
// Dedupe needs no input: it finds the planted duplicates in the CRM.
type Inputs struct {
	Files map[string][]byte
	// Detectors is the detectors: section of crmops.yaml that reads them.
	Detectors string
}

// eventFor names the event that moves a contact to a stage.
var eventFor = map[string]string{
	"lead":                   "form_submitted",
	"marketingqualifiedlead": "content_downloaded",
	"salesqualifiedlead":     "demo_booked",
	"opportunity":            "deal_created",
	"customer":               "deal_closed_won",
}

// zeroBounce maps crmops' verification vocabulary to ZeroBounce's status
// and sub-status columns.
var zeroBounce = map[string][2]string{
	"valid": {"valid", ""}, "invalid": {"invalid", ""}, "catch_all": {"catch-all", ""},
	"unknown": {"unknown", ""}, "disposable": {"do_not_mail", "disposable"}, "role": {"do_not_mail", "role_based"},
	"spamtrap": {"spamtrap", ""}, "abuse": {"abuse", ""}, "do_not_mail": {"do_not_mail", ""},
}

// Score thresholds the sample's lead-score model uses.
var thresholds = map[string]float64{"marketingqualifiedlead": 70, "salesqualifiedlead": 85, "opportunity": 95}

// Inputs writes the detector inputs for d.
func (d Data) Inputs() (Inputs, error) {
	email := map[string]string{}
	for _, c := range d.Contacts {
		email[c.ID] = c.Fields["email"]
	}
	var clay, zb, scores bytes.Buffer
	clayW, zbW, scoreW := csv.NewWriter(&clay), csv.NewWriter(&zb), csv.NewWriter(&scores)
	clayW.Write([]string{"email", "jobtitle", "phone", "confidence"})
	zbW.Write([]string{"Email Address", "ZB Status", "ZB Sub Status"})
	scoreW.Write([]string{"record", "score"})
	var events bytes.Buffer
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, c := range d.Changes {
		switch c.Kind {
		case "enrichment":
			row := []string{email[c.Record], "", "", fmt.Sprintf("%.2f", c.Confidence)}
			if c.Field == "jobtitle" {
				row[1] = c.After
			} else {
				row[2] = c.After
			}
			clayW.Write(row)
		case "email_verification":
			s := zeroBounce[c.After]
			zbW.Write([]string{email[c.Record], s[0], s[1]})
		case "lifecycle":
			if c.Trigger == "score" {
				scoreW.Write([]string{c.Record, fmt.Sprint(thresholds[c.After] + 3)})
				continue
			}
			line, err := json.Marshal(map[string]string{"record": c.Record, "event": eventFor[c.After], "time": at.Format(time.RFC3339)})
			if err != nil {
				return Inputs{}, err
			}
			events.Write(append(line, '\n'))
		}
	}
	for _, w := range []*csv.Writer{clayW, zbW, scoreW} {
		w.Flush()
		if err := w.Error(); err != nil {
			return Inputs{}, err
		}
	}
	var owners bytes.Buffer
	ownerW := csv.NewWriter(&owners)
	ownerW.Write([]string{"id", "name", "email", "active"})
	var active []string
	for _, o := range d.Owners {
		ownerW.Write([]string{o.ID, o.Name, o.Email, fmt.Sprint(o.Active)})
		if o.Active {
			active = append(active, o.ID)
		}
	}
	ownerW.Flush()
	sort.Strings(active)
	detectors := fmt.Sprintf(`detectors:
  enrichment:
    input: data/clay-export.csv
    match_on: email
    source: clay
    confidence_column: confidence
  email_verification:
    input: data/zerobounce.csv
    format: zerobounce
  lifecycle:
    events:
      input: data/events.jsonl
      map: {form_submitted: lead, content_downloaded: marketingqualifiedlead, demo_booked: salesqualifiedlead, deal_created: opportunity, deal_closed_won: customer}
    scores:
      input: data/lead-scores.csv
      thresholds: {marketingqualifiedlead: 70, salesqualifiedlead: 85, opportunity: 95}
      source: lead-score-model
  owner:
    owners: {input: data/owners.csv}
    reassign_inactive_to: [%s]
  dedupe: {}
`, joinIDs(active))
	return Inputs{
		Files: map[string][]byte{
			"data/clay-export.csv": clay.Bytes(), "data/zerobounce.csv": zb.Bytes(),
			"data/events.jsonl": events.Bytes(), "data/lead-scores.csv": scores.Bytes(),
			"data/owners.csv": owners.Bytes(),
		},
		Detectors: detectors,
	}, nil
}

func joinIDs(ids []string) string {
	var b bytes.Buffer
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(id)
	}
	return b.String()
}
