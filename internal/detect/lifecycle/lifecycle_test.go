package lifecycle_test

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/policy"
)

const bothSignals = `events:
  input: testdata/events.jsonl
  map: {demo_booked: salesqualifiedlead, contract_signed: customer, unsubscribed: subscriber, form_filled: lead}
  source: segment
scores:
  input: testdata/scores.csv
  thresholds: {marketingqualifiedlead: 60, salesqualifiedlead: 80, opportunity: 90}
  source: lead-model-v3
`

func seedStages(t *testing.T) crm.Connector {
	db := openCRM(t)
	stage := func(id, st string) crm.Record { return rec(id, "email", id+"@acme.com", "lifecyclestage", st) }
	seed(t, db, "contacts",
		stage("1001", "lead"), stage("1002", "opportunity"), stage("1003", "customer"),
		stage("1004", "salesqualifiedlead"), stage("1005", "lead"), stage("1006", "lead"),
		stage("1007", ""), stage("1008", "Prospect"), stage("1009", "lead"), stage("1010", "Lead"),
		stage("1011", "lead"), stage("1012", "customer"), stage("1013", "lead"), stage("1014", ""),
		stage("1015", "lead"),
	)
	if _, err := db.Merge(t.Context(), []crm.MergeRequest{{Object: "contacts", Survivor: "1001", Loser: "1015"}}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestLifecycle(t *testing.T) {
	res := run(t, mustDetector(t, bothSignals), seedStages(t))
	const ev, sc = "testdata/events.jsonl", "testdata/scores.csv"

	t.Run("events move records forward, backward moves go to rule, scores only move forward", func(t *testing.T) {
		checkChanges(t, res.Changes, []batch.Change{
			move("1001", "lead", "salesqualifiedlead", "segment", 1, "event",
				"event demo_booked at 2026-11-20T10:00:00Z ("+ev+":1) maps to salesqualifiedlead; the CRM has lead"),
			// A numeric record id; line 3 is an earlier event and loses to line 2.
			move("1002", "opportunity", "customer", "segment", 1, "event",
				"event contract_signed at 2026-11-19T09:00:00Z ("+ev+":2) maps to customer; the CRM has opportunity"),
			// Backwards: still proposed, as a rule, confidence capped; its score (99) is ignored because the event decides.
			move("1003", "customer", "subscriber", "segment", 0.5, "rule",
				"moves backwards: customer → subscriber; event unsubscribed at 2026-11-21T08:00:00Z ("+ev+":4) maps to subscriber, and the latest event decides"),
			// The event says the stage it holds; the score takes it further.
			move("1004", "salesqualifiedlead", "opportunity", "lead-model-v3", 0.75, "score",
				"score 95 ("+sc+":2) reaches opportunity (threshold 90); the CRM has salesqualifiedlead"),
			move("1007", "", "lead", "segment", 1, "event",
				"event form_filled at 2026-11-20T10:00:00+01:00 ("+ev+":13) maps to lead; lifecyclestage is empty in the CRM"),
			// 1009: two events at the same time, the later line (form_filled -> lead) wins: its stage already.
			// 1010: "Lead" is lead, ignoring case; 65 is 5 past 60 of 40 left: 0.5625, rounded.
			move("1010", "Lead", "marketingqualifiedlead", "lead-model-v3", 0.56, "score",
				"score 65 ("+sc+":3) reaches marketingqualifiedlead (threshold 60); the CRM has Lead"),
			// 1011 (30) reaches no threshold; 1012 is a customer whose 70 would move it back: nothing.
			move("1014", "", "opportunity", "lead-model-v3", 1, "score",
				"score 100 ("+sc+":11) reaches opportunity (threshold 90); lifecyclestage is empty in the CRM"),
		})
	})

	t.Run("bad lines and unknown records are skipped with their line", func(t *testing.T) {
		checkProblems(t, res.Skipped, []string{
			ev + `:6: event "page_view" is not in events.map; 2 line(s) with it ignored`,
			ev + ":8: not a JSON object: invalid character 'h' in literal true (expecting 'r')",
			ev + `:9: time "yesterday" is not RFC 3339 (like 2026-11-20T10:00:00Z)`,
			ev + ":10: no contacts record 9999",
			ev + ":11: no record",
			ev + `:14: contacts/1008 has lifecyclestage "Prospect", which is not one of the stages; cannot tell forward from backward`,
			ev + ":17: contacts record 1015 was merged into 1001; use the survivor's id",
			sc + `:7: score "abc" is not a number from 0 to 100`,
			sc + `:8: score "120" is not a number from 0 to 100`,
			sc + ":9: record 1010 already has a score on line 3; only line 3 is used",
			sc + ":10: no record",
		})
	})

	t.Run("the default policy applies forward events and sends backward moves and scores to review", func(t *testing.T) {
		p := defaultPolicy(t)
		want := map[string]string{
			"1001": "auto lifecycle-single-event",
			"1002": "auto lifecycle-single-event",
			"1003": "review default",
			"1004": "review lifecycle-ai-score",
			"1007": "auto lifecycle-single-event",
			"1010": "review lifecycle-ai-score",
			"1014": "review lifecycle-ai-score",
		}
		for _, c := range res.Changes {
			v := p.Evaluate(c, policy.Proposer{})
			if got := string(v.Decision) + " " + v.Rule; got != want[c.Record] {
				t.Errorf("%s: %s, want %s", describe(c), got, want[c.Record])
			}
		}
	})
}

func TestLifecycleBackwardMovesNeedReview(t *testing.T) {
	db := openCRM(t)
	seed(t, db, "contacts", rec("1", "lifecyclestage", "customer"), rec("2", "lifecyclestage", "evangelist"))
	d := mustDetector(t, "events: {input: testdata/backward.jsonl, map: {signup: subscriber, referral: evangelist}, confidence: 1}")
	res := run(t, d, db)
	if len(res.Changes) != 1 || len(res.Skipped) != 0 {
		t.Fatalf("changes %v, problems %v; want one change", res.Changes, res.Skipped)
	}
	c := res.Changes[0]
	t.Run("a backward move keeps its event in the reason but is triggered by the rule, at confidence 0.5", func(t *testing.T) {
		checkChanges(t, res.Changes, []batch.Change{
			move("1", "customer", "subscriber", "events", 0.5, "rule",
				"moves backwards: customer → subscriber; event signup at 2026-11-22T00:00:00Z (testdata/backward.jsonl:1) maps to subscriber, and the latest event decides"),
		})
	})
	t.Run("policy.Default sends it to review though a forward event would be auto", func(t *testing.T) {
		p := defaultPolicy(t)
		if v := p.Evaluate(c, policy.Proposer{}); v.Decision != policy.Review {
			t.Errorf("backward move: %s by %s, want review", v.Decision, v.Rule)
		}
		forward := c
		forward.Trigger, forward.Before, forward.After = "event", "subscriber", "customer"
		if v := p.Evaluate(forward, policy.Proposer{}); v.Decision != policy.Auto {
			t.Errorf("the same change forward as an event: %s by %s, want auto", v.Decision, v.Rule)
		}
	})
}

func TestLifecycleErrors(t *testing.T) {
	db := seedStages(t)
	t.Run("a scores file without the score column is an error naming the file and the column", func(t *testing.T) {
		d := mustDetector(t, "scores: {input: testdata/no-score-column.csv, thresholds: {lead: 10}, source: m}")
		_, err := d.Detect(t.Context(), envFor(db))
		want := `testdata/no-score-column.csv: no column "score" (the header has: record, probability)`
		if err == nil || err.Error() != want {
			t.Errorf("error %v\nwant %s", err, want)
		}
	})
	tests := []struct {
		name     string
		settings string
		want     string
	}{
		{"an event mapped to an unknown stage is refused",
			"events:\n  input: e.jsonl\n  map: {demo: sql}",
			`crmops.yaml:7: detectors.lifecycle.events.map.demo: "sql" is not one of the stages (subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other)`},
		{"thresholds must rise with the stages",
			"scores:\n  input: s.csv\n  source: m\n  thresholds: {lead: 50, customer: 40}",
			"crmops.yaml:8: detectors.lifecycle.scores.thresholds: customer (40) comes after lead in the stages but does not need a higher score than its 50"},
		{"a threshold outside 0..100 is refused",
			"scores:\n  input: s.csv\n  source: m\n  thresholds: {lead: 0.5, customer: 150}",
			"crmops.yaml:8: detectors.lifecycle.scores.thresholds.customer: 150 is outside 0..100 (scores are 0..100)"},
		{"a score model must be named",
			"scores:\n  input: s.csv\n  thresholds: {lead: 50}",
			"crmops.yaml:6: detectors.lifecycle.scores.source: missing required key"},
		{"one signal at least is required",
			"field: lifecyclestage",
			"crmops.yaml:5: detectors.lifecycle: configure events, scores or both"},
		{"a stage listed twice is refused",
			"stages: [lead, customer, Lead]\nevents: {input: e.jsonl, map: {x: lead}}",
			`crmops.yaml:5: detectors.lifecycle.stages: stage "Lead" is listed twice`},
		{"an event confidence outside 0..1 is refused",
			"events: {input: e.jsonl, map: {x: lead}, confidence: 2}",
			"crmops.yaml:5: detectors.lifecycle.events.confidence: 2 is outside 0..1"},
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
