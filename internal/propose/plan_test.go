package propose_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/propose"
)

var now = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

func loadPolicy(t *testing.T, text string) *policy.Policy {
	t.Helper()
	p, err := policy.Load(policy.Path, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fill is auto under the default policy; overwrite, owner and dedupe are review.
func fill(record, field, after string) batch.Change {
	return batch.Change{Kind: "enrichment", Object: "contacts", Record: record, Op: batch.OpSet,
		Field: field, Before: "", After: after, Source: "clay", Confidence: 0.95, Trigger: "import"}
}

func overwrite(record, field string) batch.Change {
	c := fill(record, field, "new")
	c.Before = "old"
	return c
}

func owner(record string) batch.Change {
	return batch.Change{Kind: "owner", Object: "contacts", Record: record, Op: batch.OpSet,
		Field: "hubspot_owner_id", Before: "alice", After: "bob", Source: "territory", Confidence: 1, Trigger: "rule"}
}

func dedupe(survivor, loser string) batch.Change {
	return batch.Change{Kind: "dedupe", Object: "contacts", Record: survivor, Op: batch.OpMerge,
		MergeFrom: loser, Source: "dedupe", Confidence: 0.97, Trigger: "rule"}
}

func fills(n int) []batch.Change {
	var out []batch.Change
	for i := range n {
		out = append(out, fill(fmt.Sprint(2000+i), "jobtitle", "VP Sales"))
	}
	return out
}

// planned returns the records of every change in the plan's batches.
func planned(p propose.Plan) map[string]bool {
	out := map[string]bool{}
	for _, pb := range p.Batches {
		for _, c := range pb.Batch.Changes {
			out[c.Target()] = true
		}
	}
	return out
}

func openBatch(id string, changes ...batch.Change) *batch.Batch {
	for i := range changes {
		changes[i].ID = fmt.Sprintf("c%d", i+1)
	}
	return &batch.Batch{Version: 1, ID: id, Created: now, Detector: "earlier", Changes: changes}
}

func TestBuildSkipsRecordsWithAnOpenProposal(t *testing.T) {
	tests := []struct {
		name    string
		open    *batch.Batch
		change  batch.Change
		skipped bool
	}{
		{"another field of a record with an open set is skipped", openBatch("open-1", fill("1", "jobtitle", "CTO")), fill("1", "phone", "555"), true},
		{"the loser of an open merge is skipped", openBatch("open-1", dedupe("1", "2")), fill("2", "jobtitle", "CTO"), true},
		{"the survivor of an open merge is skipped", openBatch("open-1", dedupe("1", "2")), fill("1", "jobtitle", "CTO"), true},
		{"a merge whose loser has an open set is skipped", openBatch("open-1", fill("3", "jobtitle", "CTO")), dedupe("4", "3"), true},
		{"a merge whose survivor has an open set is skipped", openBatch("open-1", fill("3", "jobtitle", "CTO")), dedupe("3", "5"), true},
		{"a merge touching an open merge's loser is skipped", openBatch("open-1", dedupe("1", "2")), dedupe("2", "9"), true},
		{"a record of another object is not busy", openBatch("open-1", func() batch.Change { c := fill("1", "name", "Acme"); c.Object = "companies"; return c }()), fill("1", "jobtitle", "CTO"), false},
		{"another record is not busy", openBatch("open-1", fill("1", "jobtitle", "CTO")), fill("11", "jobtitle", "CTO"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadPolicy(t, policy.Default)
			plan := propose.Build(propose.Context{Policy: p, Open: []*batch.Batch{tt.open}, Now: now}, "test", []batch.Change{tt.change})
			if tt.skipped {
				if len(plan.Skipped) != 1 || len(plan.Batches) != 0 {
					t.Fatalf("plan has %d batches and %d skips, want the change skipped", len(plan.Batches), len(plan.Skipped))
				}
				if why := plan.Skipped[0].Why; !strings.Contains(why, "open proposal") || !strings.Contains(why, tt.open.ID) {
					t.Errorf("skip reason %q does not name the open proposal %s", why, tt.open.ID)
				}
				return
			}
			if len(plan.Skipped) != 0 || len(plan.Batches) != 1 {
				t.Errorf("plan has %d batches and skips %v, want the change planned", len(plan.Batches), plan.Skipped)
			}
		})
	}
}

func TestBuildSkipsRejectedChanges(t *testing.T) {
	rejected := fill("1", "jobtitle", "VP Sales")
	rejected.ID = "c4"
	keys := map[string]bool{batch.Rejected(rejected).Key(): true}
	tests := []struct {
		name    string
		change  batch.Change
		skipped bool
	}{
		{"the same change is skipped", fill("1", "jobtitle", "VP Sales"), true},
		{"the same change from another source with another confidence is skipped", func() batch.Change {
			c := fill("1", "jobtitle", "VP Sales")
			c.Source, c.Confidence = "zoominfo", 0.99
			return c
		}(), true},
		{"the same change with another value is proposed", fill("1", "jobtitle", "CTO"), false},
		{"the same value for another field is proposed", fill("1", "title2", "VP Sales"), false},
		{"the same value for another record is proposed", fill("2", "jobtitle", "VP Sales"), false},
		{"the same value for another object is proposed", func() batch.Change { c := fill("1", "jobtitle", "VP Sales"); c.Object = "leads"; return c }(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := propose.Build(propose.Context{Policy: loadPolicy(t, policy.Default), Rejected: keys, Now: now}, "test", []batch.Change{tt.change})
			if got := len(plan.Skipped) == 1 && len(plan.Batches) == 0; got != tt.skipped {
				t.Fatalf("skipped = %v (plan %d batches, skips %v), want %v", got, len(plan.Batches), plan.Skipped, tt.skipped)
			}
			if tt.skipped && !strings.Contains(plan.Skipped[0].Why, "rejected") {
				t.Errorf("skip reason %q does not say it was rejected", plan.Skipped[0].Why)
			}
		})
	}
	t.Run("a rejected merge is not proposed again", func(t *testing.T) {
		m := dedupe("1", "2")
		plan := propose.Build(propose.Context{Policy: loadPolicy(t, policy.Default), Rejected: map[string]bool{m.RejectionKey(): true}, Now: now}, "test", []batch.Change{m, dedupe("1", "3")})
		if len(plan.Skipped) != 1 || plan.Skipped[0].Change.MergeFrom != "2" {
			t.Errorf("skipped %v, want only the rejected merge of 2", plan.Skipped)
		}
	})
}

func TestBuildNeverMixesAutoAndReview(t *testing.T) {
	changes := []batch.Change{
		fill("1", "jobtitle", "CTO"),
		overwrite("2", "jobtitle"),
		fill("3", "jobtitle", "CEO"),
		owner("4"),
		dedupe("5", "6"),
		{Kind: "lifecycle", Object: "contacts", Record: "7", Op: batch.OpSet, Field: "lifecyclestage", Before: "lead", After: "customer", Source: "stripe", Confidence: 1, Trigger: "event"},
		fill("8", "jobtitle", "CFO"),
	}
	plan := propose.Build(propose.Context{Policy: loadPolicy(t, policy.Default), Now: now}, "test", changes)

	t.Run("every change is planned once", func(t *testing.T) {
		n := 0
		for _, pb := range plan.Batches {
			n += len(pb.Batch.Changes)
		}
		if n != len(changes) || len(plan.Skipped) != 0 || len(plan.Denied) != 0 {
			t.Errorf("%d changes planned, %d skipped, %d denied; want all %d planned", n, len(plan.Skipped), len(plan.Denied), len(changes))
		}
	})
	t.Run("no batch holds both an auto change and a change needing review", func(t *testing.T) {
		for _, pb := range plan.Batches {
			for i, v := range pb.Verdict.Changes {
				if v.Decision != pb.Verdict.Decision {
					t.Errorf("batch %s is %s but its change %s is %s (%s)", pb.Batch.ID, pb.Verdict.Decision, pb.Batch.Changes[i].ID, v.Decision, v.Rule)
				}
			}
		}
	})
	t.Run("auto batches come before review batches", func(t *testing.T) {
		seenReview := false
		for _, pb := range plan.Batches {
			switch pb.Verdict.Decision {
			case policy.Review:
				seenReview = true
			case policy.Auto:
				if seenReview {
					t.Errorf("auto batch %s comes after a review batch", pb.Batch.ID)
				}
			}
		}
	})
	t.Run("the auto changes are all proposed in auto batches", func(t *testing.T) {
		auto := 0
		for _, pb := range plan.Batches {
			if pb.Verdict.Decision == policy.Auto {
				auto += len(pb.Batch.Changes)
			}
		}
		if auto != 4 {
			t.Errorf("%d changes in auto batches, want 4", auto)
		}
	})
	t.Run("every planned batch is a valid batch file under its own name", func(t *testing.T) {
		for _, pb := range plan.Batches {
			data, err := batch.Encode(pb.Batch)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := batch.Decode(batch.Path(pb.Batch.ID), data); err != nil {
				t.Errorf("batch %s does not decode: %v\n%s", pb.Batch.ID, err, data)
			}
		}
	})
	t.Run("a batch's verdict is the policy's verdict on it", func(t *testing.T) {
		p := loadPolicy(t, policy.Default)
		for _, pb := range plan.Batches {
			if got := p.EvaluateBatch(pb.Batch, policy.Proposer{}); got.Decision != pb.Verdict.Decision {
				t.Errorf("batch %s planned as %s, evaluates to %s", pb.Batch.ID, pb.Verdict.Decision, got.Decision)
			}
		}
	})
}

func TestBuildLimits(t *testing.T) {
	limited := func(perBatch, perRun int) string {
		return strings.Replace(strings.Replace(policy.Default,
			"max_changes_per_batch: 1000", fmt.Sprintf("max_changes_per_batch: %d", perBatch), 1),
			"max_auto_changes_per_run: 500", fmt.Sprintf("max_auto_changes_per_run: %d", perRun), 1)
	}
	type shape struct {
		decision policy.Decision
		size     int
		review   bool
	}
	tests := []struct {
		name    string
		policy  string
		changes []batch.Change
		want    []shape
	}{
		{"changes past max_changes_per_batch are split into several batches", limited(3, 500), fills(7),
			[]shape{{policy.Auto, 3, false}, {policy.Auto, 3, false}, {policy.Auto, 1, false}}},
		{"exactly max_changes_per_batch changes fit in one batch", limited(3, 500), fills(3),
			[]shape{{policy.Auto, 3, false}}},
		{"auto changes past max_auto_changes_per_run go to a review batch", limited(1000, 2), fills(5),
			[]shape{{policy.Auto, 2, false}, {policy.Review, 3, true}}},
		{"exactly max_auto_changes_per_run auto changes stay auto", limited(1000, 2), fills(2),
			[]shape{{policy.Auto, 2, false}}},
		{"review changes do not count against the auto limit", limited(1000, 2), append([]batch.Change{overwrite("1", "jobtitle"), overwrite("2", "jobtitle"), overwrite("3", "jobtitle")}, fills(2)...),
			[]shape{{policy.Auto, 2, false}, {policy.Review, 3, false}}},
		{"demoted changes are split too", limited(2, 1), fills(4),
			[]shape{{policy.Auto, 1, false}, {policy.Review, 2, true}, {policy.Review, 1, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := propose.Build(propose.Context{Policy: loadPolicy(t, tt.policy), Now: now}, "test", tt.changes)
			var got []shape
			for _, pb := range plan.Batches {
				got = append(got, shape{pb.Verdict.Decision, len(pb.Batch.Changes), pb.Batch.Review != ""})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("batches (decision size review) = %v, want %v", got, tt.want)
			}
			for _, pb := range plan.Batches {
				if pb.Batch.Review == "" {
					continue
				}
				if !strings.Contains(pb.Batch.Review, "max_auto_changes_per_run") {
					t.Errorf("review reason %q does not name the limit", pb.Batch.Review)
				}
				if !strings.Contains(pb.Batch.Title, "over the auto limit") {
					t.Errorf("title %q does not say the batch is over the auto limit", pb.Batch.Title)
				}
				if !contains(pb.Verdict.Rules, policy.RuleBatchReview) {
					t.Errorf("rules %v do not include %s", pb.Verdict.Rules, policy.RuleBatchReview)
				}
			}
		})
	}
	t.Run("the first auto changes of the input stay auto", func(t *testing.T) {
		plan := propose.Build(propose.Context{Policy: loadPolicy(t, limited(1000, 2)), Now: now}, "test", fills(4))
		var records []string
		for _, c := range plan.Batches[0].Batch.Changes {
			records = append(records, c.Record)
		}
		if strings.Join(records, ",") != "2000,2001" {
			t.Errorf("auto batch holds %v, want the first two changes", records)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestBuildReportsDeniedChanges(t *testing.T) {
	p := loadPolicy(t, "version: 1\ndefault: review\nrules:\n  - {name: no-phones, when: {field: phone}, decision: deny}\n  - {name: fill, when: {kind: enrichment, before: empty}, decision: auto}\n")
	plan := propose.Build(propose.Context{Policy: p, Now: now}, "test", []batch.Change{fill("1", "jobtitle", "CTO"), fill("2", "phone", "555"), fill("3", "jobtitle", "CEO")})
	t.Run("a denied change is reported with its rule", func(t *testing.T) {
		if len(plan.Denied) != 1 || plan.Denied[0].Change.Record != "2" || !strings.Contains(plan.Denied[0].Why, "no-phones") {
			t.Errorf("Denied = %+v, want change on record 2 denied by no-phones", plan.Denied)
		}
	})
	t.Run("a denied change is in no batch", func(t *testing.T) {
		if planned(plan)["contacts/2.phone"] {
			t.Error("the denied change was planned")
		}
	})
	t.Run("the other changes are still proposed", func(t *testing.T) {
		got := planned(plan)
		if !got["contacts/1.jobtitle"] || !got["contacts/3.jobtitle"] {
			t.Errorf("planned %v, want records 1 and 3", got)
		}
	})
}

func TestBuildNamesBatchesAndChanges(t *testing.T) {
	p := loadPolicy(t, strings.Replace(policy.Default, "max_changes_per_batch: 1000", "max_changes_per_batch: 4", 1))
	changes := append(fills(10), overwrite("1", "jobtitle"), owner("2"), dedupe("3", "4"))
	plan := propose.Build(propose.Context{Policy: p, Now: now}, "enrichment", changes)
	if len(plan.Batches) < 4 {
		t.Fatalf("%d batches, want at least 4", len(plan.Batches))
	}
	t.Run("change ids run c1..cN within every batch", func(t *testing.T) {
		for _, pb := range plan.Batches {
			for i, c := range pb.Batch.Changes {
				if want := fmt.Sprintf("c%d", i+1); c.ID != want {
					t.Errorf("batch %s change %d has id %q, want %q", pb.Batch.ID, i, c.ID, want)
				}
			}
		}
	})
	t.Run("batch ids are unique and valid", func(t *testing.T) {
		seen := map[string]bool{}
		for _, pb := range plan.Batches {
			if seen[pb.Batch.ID] {
				t.Errorf("batch id %s used twice", pb.Batch.ID)
			}
			seen[pb.Batch.ID] = true
			if !batch.ValidID(pb.Batch.ID) || !strings.HasPrefix(pb.Batch.ID, "20261124T060000Z-enrichment-") {
				t.Errorf("batch id %q", pb.Batch.ID)
			}
		}
	})
	t.Run("batches carry the run's time and detector", func(t *testing.T) {
		for _, pb := range plan.Batches {
			if !pb.Batch.Created.Equal(now) || pb.Batch.Detector != "enrichment" || pb.Batch.Version != batch.Version {
				t.Errorf("batch %s: created %v, detector %q, version %d", pb.Batch.ID, pb.Batch.Created, pb.Batch.Detector, pb.Batch.Version)
			}
		}
	})
	t.Run("planning twice gives the same batch ids", func(t *testing.T) {
		again := propose.Build(propose.Context{Policy: p, Now: now}, "enrichment", changes)
		for i := range plan.Batches {
			if again.Batches[i].Batch.ID != plan.Batches[i].Batch.ID {
				t.Errorf("batch %d: %s then %s", i, plan.Batches[i].Batch.ID, again.Batches[i].Batch.ID)
			}
		}
	})
}

func TestBuildClaimsRecordsWithinARun(t *testing.T) {
	tests := []struct {
		name    string
		changes []batch.Change
		skipped int
	}{
		{"two fields of one record are both proposed", []batch.Change{fill("1", "jobtitle", "CTO"), fill("1", "phone", "555")}, 0},
		{"the same field of one record is proposed once", []batch.Change{fill("1", "jobtitle", "CTO"), fill("1", "jobtitle", "CEO")}, 1},
		{"a set on a record merged in the same run is skipped", []batch.Change{dedupe("1", "2"), fill("2", "jobtitle", "CTO")}, 1},
		{"a merge of a record set in the same run is skipped", []batch.Change{fill("2", "jobtitle", "CTO"), dedupe("1", "2")}, 1},
		{"two merges of one record into different survivors: the second is skipped", []batch.Change{dedupe("1", "2"), dedupe("3", "2")}, 1},
		{"a duplicate group of three is two merges into one survivor", []batch.Change{dedupe("1", "2"), dedupe("1", "3")}, 0},
		{"a record merged away cannot be a survivor in the same run", []batch.Change{dedupe("1", "2"), dedupe("2", "3")}, 1},
		{"a survivor cannot be merged away in the same run", []batch.Change{dedupe("1", "2"), dedupe("3", "1")}, 1},
		{"a set on a survivor of the same run is skipped", []batch.Change{dedupe("1", "2"), fill("1", "jobtitle", "CTO")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := propose.Build(propose.Context{Policy: loadPolicy(t, policy.Default), Now: now}, "test", tt.changes)
			if len(plan.Skipped) != tt.skipped {
				t.Errorf("skipped %+v, want %d", plan.Skipped, tt.skipped)
			}
		})
	}
}
