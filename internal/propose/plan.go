// Package propose turns proposed changes, from a detector or from any outside
// source, into batches: it drops changes that would fight an open proposal or
// repeat a rejected one, classifies the rest under the policy, and groups them
// so that an auto batch never waits behind a change that needs review.
package propose

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Skip is a change left out of the plan and why.
type Skip struct {
	Change batch.Change
	Why    string
}

// Planned is one batch ready to be proposed.
type Planned struct {
	Batch   *batch.Batch
	Verdict policy.BatchVerdict
}

// Plan is what a run will propose.
type Plan struct {
	Batches []Planned
	Skipped []Skip
	Denied  []Skip
}

// Context is what the planner must know of the repository.
type Context struct {
	Policy *policy.Policy
	// Proposer is who the batches will be proposed as.
	Proposer policy.Proposer
	// Open holds the batches of open proposals; records they touch are busy.
	Open []*batch.Batch
	// Rejected holds batch.RejectedChange keys of rejected changes.
	Rejected map[string]bool
	Now      time.Time
}

// Build plans batches for changes proposed by detector. Changes must be
// valid (see batch.Change.Validate); their ids are reassigned per batch.
func Build(pc Context, detector string, changes []batch.Change) Plan {
	var plan Plan
	busy := map[string]string{}
	for _, b := range pc.Open {
		for _, c := range b.Changes {
			for _, key := range recordKeys(c) {
				busy[key] = b.ID
			}
		}
	}
	claimed := map[string]bool{}
	type group struct {
		decision policy.Decision
		kind     string
		review   string
		changes  []batch.Change
	}
	groups := map[string]*group{}
	var order []string
	autoCount := 0
	for _, c := range changes {
		if id := firstBusy(busy, c); id != "" {
			plan.Skipped = append(plan.Skipped, Skip{c, "record has an open proposal in batch " + id})
			continue
		}
		if pc.Rejected[c.RejectionKey()] {
			plan.Skipped = append(plan.Skipped, Skip{c, "the same change was rejected before"})
			continue
		}
		if claimedBy(claimed, c) {
			plan.Skipped = append(plan.Skipped, Skip{c, "another change in this run already touches the record"})
			continue
		}
		v := pc.Policy.Evaluate(c, pc.Proposer)
		if v.Decision == policy.Deny {
			why := "denied by rule " + v.Rule
			if v.Why != "" {
				why += ": " + v.Why
			}
			plan.Denied = append(plan.Denied, Skip{c, why})
			continue
		}
		review := ""
		if v.Decision == policy.Auto {
			if autoCount >= pc.Policy.Limits.MaxAutoChangesPerRun {
				review = fmt.Sprintf("this run's auto changes passed limits.max_auto_changes_per_run (%d)", pc.Policy.Limits.MaxAutoChangesPerRun)
			} else {
				autoCount++
			}
		}
		claim(claimed, c)
		key := string(v.Decision) + "\x00" + c.Kind + "\x00" + review
		g := groups[key]
		if g == nil {
			g = &group{decision: v.Decision, kind: c.Kind, review: review}
			groups[key] = g
			order = append(order, key)
		}
		g.changes = append(g.changes, c)
	}
	// Auto batches first: they are merged and applied at once.
	sort.SliceStable(order, func(i, j int) bool {
		gi, gj := groups[order[i]], groups[order[j]]
		return rank(gi.decision, gi.review) < rank(gj.decision, gj.review)
	})
	size := pc.Policy.Limits.MaxChangesPerBatch
	for _, key := range order {
		g := groups[key]
		for start := 0; start < len(g.changes); start += size {
			chunk := append([]batch.Change(nil), g.changes[start:min(start+size, len(g.changes))]...)
			for i := range chunk {
				chunk[i].ID = fmt.Sprintf("c%d", i+1)
				// Positions in the input file mean nothing in the batch file.
				chunk[i].Pos = strictyaml.Pos{}
			}
			b := &batch.Batch{
				Version:  batch.Version,
				ID:       batch.NewID(pc.Now, detector, chunk),
				Created:  pc.Now.UTC().Truncate(time.Second),
				Detector: detector,
				Title:    Title(g.kind, chunk, g.review != ""),
				Review:   g.review,
				Changes:  chunk,
			}
			plan.Batches = append(plan.Batches, Planned{Batch: b, Verdict: pc.Policy.EvaluateBatch(b, pc.Proposer)})
		}
	}
	return plan
}

func rank(d policy.Decision, review string) int {
	if d == policy.Auto && review == "" {
		return 0
	}
	return 1
}

// recordKeys names the records a change touches.
func recordKeys(c batch.Change) []string {
	keys := []string{c.Object + "/" + c.Record}
	if c.TwoRecords() {
		keys = append(keys, c.Object+"/"+c.MergeFrom)
	}
	return keys
}

func firstBusy(busy map[string]string, c batch.Change) string {
	for _, k := range recordKeys(c) {
		if id, ok := busy[k]; ok {
			return id
		}
	}
	return ""
}

// Within one run: a record merged away is gone, so nothing else may touch
// it; a survivor may absorb several records (a duplicate group of three is
// two merges into one survivor) but its fields are not also set, since a
// merge fills them; and the same field is never set twice.
func claimedBy(claimed map[string]bool, c batch.Change) bool {
	if c.TwoRecords() {
		loser, survivor := c.Object+"/"+c.MergeFrom, c.Object+"/"+c.Record
		return claimed[loser] || claimed[loser+"#survivor"] || claimed[loser+"#fields"] ||
			claimed[survivor] || claimed[survivor+"#fields"]
	}
	rec := c.Object + "/" + c.Record
	return claimed[rec] || claimed[rec+"#survivor"] || claimed[rec+"."+c.Field]
}

func claim(claimed map[string]bool, c batch.Change) {
	if c.TwoRecords() {
		claimed[c.Object+"/"+c.MergeFrom] = true
		claimed[c.Object+"/"+c.Record+"#survivor"] = true
		return
	}
	rec := c.Object + "/" + c.Record
	claimed[rec+"."+c.Field] = true
	claimed[rec+"#fields"] = true
}

// Title describes a batch in one line for people scanning a list.
func Title(kind string, changes []batch.Change, limited bool) string {
	fields := map[string]int{}
	for _, c := range changes {
		if c.TwoRecords() {
			fields[c.Op+" "+c.Object]++
		} else {
			fields[c.Field]++
		}
	}
	var names []string
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	noun := "changes"
	if len(changes) == 1 {
		noun = "change"
	}
	t := fmt.Sprintf("%s: %d %s (%s)", kind, len(changes), noun, strings.Join(names, ", "))
	if limited {
		t += " [over the auto limit]"
	}
	return t
}
