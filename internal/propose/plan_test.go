package propose_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
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

// merge is a dedupe merge with the temporary id the detector gives it so
// that its followers can name it.
func merge(id, survivor, loser string) batch.Change {
	c := dedupe(survivor, loser)
	c.ID = id
	return c
}

// follower sets field of survivor, following the merge with id mergeID.
func follower(mergeID, survivor, field, before, after string) batch.Change {
	return batch.Change{Kind: "dedupe", Object: "contacts", Record: survivor, Op: batch.OpSet, Field: field,
		Before: before, After: after, Source: "dedupe", Confidence: 0.97, Trigger: "rule", Follows: mergeID}
}

// valid fails the test unless every planned batch validates and survives
// encoding under its own name, as the proposal file will.
func valid(t *testing.T, plan propose.Plan) {
	t.Helper()
	for _, pb := range plan.Batches {
		if err := pb.Batch.Validate(""); err != nil {
			t.Errorf("batch %s is invalid: %v", pb.Batch.ID, err)
			continue
		}
		data, err := batch.Encode(pb.Batch)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := batch.Decode(batch.Path(pb.Batch.ID), data); err != nil {
			t.Errorf("batch %s does not decode: %v\n%s", pb.Batch.ID, err, data)
		}
	}
}

// layout describes the plan's batches for people: one string per batch,
// each change as id:what[>follows].
func layout(plan propose.Plan) []string {
	var out []string
	for _, pb := range plan.Batches {
		var parts []string
		for _, c := range pb.Batch.Changes {
			what := c.Record + "." + c.Field
			if c.Op == batch.OpMerge {
				what = c.MergeFrom + ">" + c.Record
			}
			if c.Follows != "" {
				what += "^" + c.Follows
			}
			parts = append(parts, c.ID+":"+what)
		}
		out = append(out, string(pb.Verdict.Decision)+" "+strings.Join(parts, " "))
	}
	return out
}

func skipped(plan propose.Plan) []string {
	var out []string
	for _, s := range plan.Skipped {
		out = append(out, s.Change.Target()+": "+s.Why)
	}
	return out
}

func TestBuildKeepsAMergeAndItsFollowersTogether(t *testing.T) {
	tests := []struct {
		name    string
		changes []batch.Change
		want    []string
	}{
		{"a merge and its followers are one batch, each follows naming the merge's new id", []batch.Change{
			merge("m1", "1", "2"), follower("m1", "1", "jobtitle", "", "CTO"), follower("m1", "1", "phone", "555", "+1 555"),
		}, []string{"review c1:2>1 c2:1.jobtitle^c1 c3:1.phone^c1"}},
		{"followers listed apart from their merge join it", []batch.Change{
			merge("m1", "1", "2"), merge("m2", "5", "6"), follower("m2", "5", "jobtitle", "", "CEO"), follower("m1", "1", "jobtitle", "", "CTO"),
		}, []string{"review c1:2>1 c2:1.jobtitle^c1 c3:6>5 c4:5.jobtitle^c3"}},
		{"a follower listed before its merge still comes after it", []batch.Change{
			follower("m1", "1", "jobtitle", "", "CTO"), merge("m1", "1", "2"),
		}, []string{"review c1:2>1 c2:1.jobtitle^c1"}},
		{"two merges into one survivor each keep their followers", []batch.Change{
			merge("m1", "1", "2"), follower("m1", "1", "jobtitle", "", "CTO"), merge("m2", "1", "3"), follower("m2", "1", "phone", "", "555"),
		}, []string{"review c1:2>1 c2:1.jobtitle^c1 c3:3>1 c4:1.phone^c3"}},
		{"a merge without followers is planned as before", []batch.Change{merge("m1", "1", "2")}, []string{"review c1:2>1"}},
		{"an auto change that follows a merge is reviewed with it", []batch.Change{
			fill("9", "jobtitle", "CFO"), merge("m1", "1", "2"), func() batch.Change { c := fill("1", "jobtitle", "CTO"); c.Follows = "m1"; return c }(),
		}, []string{"auto c1:9.jobtitle", "review c1:2>1 c2:1.jobtitle^c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := propose.Build(propose.Context{Policy: loadPolicy(t, policy.Default), Now: now}, "dedupe", tt.changes)
			valid(t, plan)
			if got := layout(plan); !slices.Equal(got, tt.want) {
				t.Errorf("batches\n %q\nwant\n %q\nskipped %q", got, tt.want, skipped(plan))
			}
			if len(plan.Skipped) != 0 || len(plan.Denied) != 0 {
				t.Errorf("skipped %q, denied %v; want everything planned", skipped(plan), plan.Denied)
			}
		})
	}
}

func TestBuildSkipsAMergesFollowersWithIt(t *testing.T) {
	m, f1, f2 := merge("m1", "1", "2"), follower("m1", "1", "jobtitle", "", "CTO"), follower("m1", "1", "phone", "", "555")
	tests := []struct {
		name    string
		ctx     propose.Context
		changes []batch.Change
		planned []string
		skipped []string
	}{
		{"an open proposal on the merged record skips the merge and its followers",
			propose.Context{Open: []*batch.Batch{openBatch("open-1", fill("2", "jobtitle", "CTO"))}},
			[]batch.Change{m, f1, f2}, nil, []string{
				"contacts/2 -> 1: record has an open proposal in batch open-1",
				"contacts/1.jobtitle: the merge it follows (contacts/2 -> 1) was skipped: record has an open proposal in batch open-1",
				"contacts/1.phone: the merge it follows (contacts/2 -> 1) was skipped: record has an open proposal in batch open-1",
			}},
		{"an open proposal on the survivor skips the merge and its followers",
			propose.Context{Open: []*batch.Batch{openBatch("open-2", fill("1", "city", "Berlin"))}},
			[]batch.Change{m, f1}, nil, []string{
				"contacts/2 -> 1: record has an open proposal in batch open-2",
				"contacts/1.jobtitle: the merge it follows (contacts/2 -> 1) was skipped: record has an open proposal in batch open-2",
			}},
		{"a rejected merge skips its followers",
			propose.Context{Rejected: map[string]bool{m.RejectionKey(): true}},
			[]batch.Change{m, f1}, nil, []string{
				"contacts/2 -> 1: the same change was rejected before",
				"contacts/1.jobtitle: the merge it follows (contacts/2 -> 1) was skipped: the same change was rejected before",
			}},
		{"a merge of a record merged earlier in the run skips its followers",
			propose.Context{},
			[]batch.Change{merge("m0", "2", "7"), m, f1}, []string{"review c1:7>2"}, []string{
				"contacts/2 -> 1: another change in this run already touches the record",
				"contacts/1.jobtitle: the merge it follows (contacts/2 -> 1) was skipped: another change in this run already touches the record",
			}},
		{"a rejected follower is skipped alone: the merge is proposed without it",
			propose.Context{Rejected: map[string]bool{f1.RejectionKey(): true}},
			[]batch.Change{m, f1, f2}, []string{"review c1:2>1 c2:1.phone^c1"}, []string{
				"contacts/1.jobtitle: the same change was rejected before",
			}},
		{"a second follower of the same field is skipped",
			propose.Context{},
			[]batch.Change{m, f1, follower("m1", "1", "jobtitle", "", "CEO")}, []string{"review c1:2>1 c2:1.jobtitle^c1"}, []string{
				"contacts/1.jobtitle: another change in this run already sets contacts/1.jobtitle",
			}},
		{"followers of two merges into one survivor do not both set a field",
			propose.Context{},
			[]batch.Change{m, f1, merge("m2", "1", "3"), follower("m2", "1", "jobtitle", "", "CEO")}, []string{"review c1:2>1 c2:1.jobtitle^c1 c3:3>1"}, []string{
				"contacts/1.jobtitle: another change in this run already sets contacts/1.jobtitle",
			}},
		{"a set on the survivor that follows no merge is still skipped",
			propose.Context{},
			[]batch.Change{m, f1, fill("1", "city", "Berlin")}, []string{"review c1:2>1 c2:1.jobtitle^c1"}, []string{
				"contacts/1.city: another change in this run already touches the record",
			}},
		{"a set on the survivor before the merge skips the merge and its followers",
			propose.Context{},
			[]batch.Change{fill("1", "city", "Berlin"), m, f1}, []string{"auto c1:1.city"}, []string{
				"contacts/2 -> 1: another change in this run already touches the record",
				"contacts/1.jobtitle: the merge it follows (contacts/2 -> 1) was skipped: another change in this run already touches the record",
			}},
		{"a follower naming no merge of the run is skipped",
			propose.Context{},
			[]batch.Change{m, follower("m9", "1", "jobtitle", "", "CTO")}, []string{"review c1:2>1"}, []string{
				`contacts/1.jobtitle: follows "m9", which names no merge proposed with it (a follower is proposed together with its merge, follows naming the merge's id)`,
			}},
		{"a follower naming a set is skipped",
			propose.Context{},
			[]batch.Change{func() batch.Change { c := fill("1", "city", "Berlin"); c.ID = "s1"; return c }(), follower("s1", "1", "jobtitle", "", "CTO")}, []string{"auto c1:1.city"}, []string{
				`contacts/1.jobtitle: follows "s1", which names no merge proposed with it (a follower is proposed together with its merge, follows naming the merge's id)`,
			}},
		{"a follower naming an id two merges share is skipped",
			propose.Context{},
			[]batch.Change{m, merge("m1", "5", "6"), f1}, []string{"review c1:2>1 c2:6>5"}, []string{
				`contacts/1.jobtitle: follows "m1", an id 2 merges proposed with it share`,
			}},
		{"a follower of another record than its merge keeps is skipped",
			propose.Context{},
			[]batch.Change{m, follower("m1", "2", "jobtitle", "", "CTO")}, []string{"review c1:2>1"}, []string{
				`contacts/2.jobtitle: follows merge "m1", which keeps contacts/1, not contacts/2`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ctx.Policy, tt.ctx.Now = loadPolicy(t, policy.Default), now
			plan := propose.Build(tt.ctx, "dedupe", tt.changes)
			valid(t, plan)
			if got := layout(plan); !slices.Equal(got, tt.planned) {
				t.Errorf("batches\n %q\nwant\n %q", got, tt.planned)
			}
			if got := skipped(plan); !slices.Equal(got, tt.skipped) {
				t.Errorf("skipped\n %q\nwant\n %q", got, tt.skipped)
			}
		})
	}
}

func TestBuildDecidesAMergeAndItsFollowersTogether(t *testing.T) {
	p := loadPolicy(t, strings.Join([]string{
		"version: 1",
		"default: review",
		"rules:",
		"  - {name: no-phones, when: {field: phone}, decision: deny}",
		"  - {name: no-company-merges, when: {op: merge, object: companies}, decision: deny}",
		"  - {name: dedupe, when: {kind: dedupe}, decision: review}",
	}, "\n")+"\n")
	company := func(c batch.Change) batch.Change { c.Object = "companies"; return c }
	tests := []struct {
		name    string
		changes []batch.Change
		planned []string
		denied  []string
		skipped []string
	}{
		{"a denied follower denies its merge and the merge's other followers",
			[]batch.Change{merge("m1", "1", "2"), follower("m1", "1", "jobtitle", "", "CTO"), follower("m1", "1", "phone", "", "555"), merge("m2", "5", "6")},
			[]string{"review c1:6>5"},
			[]string{"contacts/1.phone: denied by rule no-phones"},
			[]string{
				"contacts/2 -> 1: a set that follows it was denied with it: contacts/1.phone is denied by rule no-phones",
				"contacts/1.jobtitle: a set that follows the same merge was denied with it: contacts/1.phone is denied by rule no-phones",
			}},
		{"a denied merge skips its followers",
			[]batch.Change{company(merge("m1", "1", "2")), company(follower("m1", "1", "name", "", "Acme"))},
			nil,
			[]string{"companies/2 -> 1: denied by rule no-company-merges"},
			[]string{"companies/1.name: the merge it follows was denied with it: companies/2 -> 1 is denied by rule no-company-merges"}},
		{"a unit denied claims nothing: a later change of its records is proposed",
			[]batch.Change{merge("m1", "1", "2"), follower("m1", "1", "phone", "", "555"), merge("m2", "1", "3")},
			[]string{"review c1:3>1"},
			[]string{"contacts/1.phone: denied by rule no-phones"},
			[]string{"contacts/2 -> 1: a set that follows it was denied with it: contacts/1.phone is denied by rule no-phones"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := propose.Build(propose.Context{Policy: p, Now: now}, "dedupe", tt.changes)
			valid(t, plan)
			if got := layout(plan); !slices.Equal(got, tt.planned) {
				t.Errorf("batches\n %q\nwant\n %q", got, tt.planned)
			}
			var denied []string
			for _, d := range plan.Denied {
				denied = append(denied, d.Change.Target()+": "+d.Why)
			}
			if !slices.Equal(denied, tt.denied) {
				t.Errorf("denied\n %q\nwant\n %q", denied, tt.denied)
			}
			if got := skipped(plan); !slices.Equal(got, tt.skipped) {
				t.Errorf("skipped\n %q\nwant\n %q", got, tt.skipped)
			}
		})
	}
	t.Run("a unit's decision is the strictest of its changes", func(t *testing.T) {
		auto := loadPolicy(t, "version: 1\ndefault: review\nrules:\n  - {name: fill, when: {kind: enrichment, before: empty}, decision: auto}\n")
		f := fill("1", "jobtitle", "CTO")
		f.Follows = "m1"
		plan := propose.Build(propose.Context{Policy: auto, Now: now}, "dedupe", []batch.Change{merge("m1", "1", "2"), f})
		valid(t, plan)
		if len(plan.Batches) != 1 || plan.Batches[0].Verdict.Decision != policy.Review {
			t.Fatalf("batches %q, want one review batch", layout(plan))
		}
		if v := plan.Batches[0].Verdict.Changes[1]; v.Decision != policy.Auto {
			t.Errorf("the follower alone is %s, want auto (the unit is review because of its merge)", v.Decision)
		}
	})
}

func TestBuildNeverSplitsAMergeFromItsFollowers(t *testing.T) {
	limited := func(perBatch int) *policy.Policy {
		return loadPolicy(t, strings.Replace(policy.Default, "max_changes_per_batch: 1000", fmt.Sprintf("max_changes_per_batch: %d", perBatch), 1))
	}
	// unit is a merge of survivor n with k followers.
	unit := func(n, k int) []batch.Change {
		s, id := fmt.Sprint(n), fmt.Sprintf("m%d", n)
		out := []batch.Change{merge(id, s, fmt.Sprint(n+1))}
		for i := range k {
			out = append(out, follower(id, s, fmt.Sprintf("f%d", i), "", "x"))
		}
		return out
	}
	cat := func(units ...[]batch.Change) []batch.Change { return slices.Concat(units...) }
	tests := []struct {
		name    string
		limit   int
		changes []batch.Change
		sizes   []int
	}{
		{"units that fill batches exactly", 3, cat(unit(10, 2), unit(20, 2), unit(30, 2)), []int{3, 3, 3}},
		{"a batch ends before a unit that would not fit", 3, cat(unit(10, 1), unit(20, 1)), []int{2, 2}},
		{"a small unit still fills the rest of a batch", 3, cat(unit(10, 1), unit(20, 0), unit(30, 2)), []int{3, 3}},
		{"a unit larger than the limit is one batch of its own", 3, cat(unit(10, 0), unit(20, 4), unit(30, 0)), []int{1, 5, 1}},
		{"single changes still split at the limit", 2, cat(unit(10, 0), unit(20, 0), unit(30, 0)), []int{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := propose.Build(propose.Context{Policy: limited(tt.limit), Now: now}, "dedupe", tt.changes)
			valid(t, plan)
			var sizes []int
			n := 0
			for _, pb := range plan.Batches {
				sizes = append(sizes, len(pb.Batch.Changes))
				n += len(pb.Batch.Changes)
				// Every follower's merge is in its batch (valid checks
				// that follows names an earlier merge there).
				for _, c := range pb.Batch.Changes {
					if c.Follows != "" && len(pb.Batch.Followers(c.Follows)) == 0 {
						t.Errorf("batch %s: %s follows %s, which has no followers", pb.Batch.ID, c.ID, c.Follows)
					}
				}
			}
			if !slices.Equal(sizes, tt.sizes) {
				t.Errorf("batch sizes %v, want %v\n%q", sizes, tt.sizes, layout(plan))
			}
			if n != len(tt.changes) {
				t.Errorf("%d changes planned, want all %d (skipped %q)", n, len(tt.changes), skipped(plan))
			}
		})
	}
}

// Changes from `crmops propose` carry their proposer's follows, with the
// ids ReadChanges numbers them by (c1 for the first change read).
func TestBuildOfProposedChangesWithFollows(t *testing.T) {
	input := strings.Join([]string{
		`{"kind": "dedupe", "object": "contacts", "record": "1", "op": "merge", "merge_from": "2", "source": "agent", "confidence": 0.9}`,
		`{"kind": "enrichment", "object": "contacts", "record": "7", "op": "set", "field": "jobtitle", "before": "", "after": "CFO", "source": "agent", "confidence": 0.95}`,
		`{"kind": "dedupe", "object": "contacts", "record": "1", "op": "set", "field": "jobtitle", "before": "", "after": "CTO", "source": "agent", "confidence": 0.9, "follows": "c1"}`,
		`{"kind": "dedupe", "object": "contacts", "record": "1", "op": "set", "field": "phone", "before": "", "after": "555", "source": "agent", "confidence": 0.9, "follows": "c2"}`,
	}, "\n")
	changes, err := propose.ReadChanges("in.jsonl", strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	plan := propose.Build(propose.Context{Policy: loadPolicy(t, policy.Default), Now: now}, "propose", changes)
	valid(t, plan)
	if got, want := layout(plan), []string{"auto c1:7.jobtitle", "review c1:2>1 c2:1.jobtitle^c1"}; !slices.Equal(got, want) {
		t.Errorf("batches %q, want %q", got, want)
	}
	if got, want := skipped(plan), []string{`contacts/1.phone: follows "c2", which names no merge proposed with it (a follower is proposed together with its merge, follows naming the merge's id)`}; !slices.Equal(got, want) {
		t.Errorf("skipped %q, want %q", got, want)
	}
}

// Whatever the input, a plan's batches are valid batch files.
func TestBuildNeverPlansAnInvalidBatch(t *testing.T) {
	p := loadPolicy(t, strings.Replace(policy.Default, "max_changes_per_batch: 1000", "max_changes_per_batch: 4", 1))
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var changes []batch.Change
		for i := range 1 + rng.IntN(12) {
			rec := func() string { return fmt.Sprint(1 + rng.IntN(6)) }
			switch rng.IntN(4) {
			case 0:
				s, l := rec(), rec()
				if s == l {
					continue
				}
				changes = append(changes, merge(fmt.Sprintf("m%d", rng.IntN(5)), s, l))
			case 1, 2:
				changes = append(changes, follower(fmt.Sprintf("m%d", rng.IntN(5)), rec(), []string{"jobtitle", "phone"}[rng.IntN(2)], "", fmt.Sprint(i)))
			default:
				changes = append(changes, fill(rec(), "city", fmt.Sprint(i)))
			}
		}
		plan := propose.Build(propose.Context{Policy: p, Now: now}, "dedupe", changes)
		n := len(plan.Skipped) + len(plan.Denied)
		for _, pb := range plan.Batches {
			n += len(pb.Batch.Changes)
			if err := pb.Batch.Validate(""); err != nil {
				t.Fatalf("round %d: batch invalid: %v\ninput %+v\nplan %q", round, err, changes, layout(plan))
			}
		}
		if n != len(changes) {
			t.Fatalf("round %d: %d changes in, %d accounted for", round, len(changes), n)
		}
	}
}
