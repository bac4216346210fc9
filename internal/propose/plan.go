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
	// Review, when set, is why every batch of the run needs a person even
	// where the policy would let it through (an agent that may never be
	// auto): it becomes the batches' review key.
	Review string
}

// Build plans batches for changes proposed by detector. Changes must be
// valid (see batch.Change.Validate); their ids are reassigned per batch.
//
// A merge and the sets that follow it (batch.Change.Follows names the
// merge's id in changes) are one unit: skipped together when the merge is
// (an open proposal, a rejection, a record another change of the run
// holds), decided together (the strictest decision of its changes; one of
// them denied denies the unit), and never split across batches. A set
// that follows a merge is the one change that may set the merge's
// survivor in the same run. A follower whose merge is not in changes, or
// keeps another record, is skipped: a plan never holds a follows that
// names nothing.
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
		units    [][]batch.Change
	}
	groups := map[string]*group{}
	var order []string
	autoCount := 0
	units, orphans := unitsOf(changes)
	plan.Skipped = append(plan.Skipped, orphans...)
	for _, u := range units {
		head := u[0]
		// Why the unit's head cannot be proposed; its followers go with it.
		why := ""
		if id := firstBusy(busy, head); id != "" {
			why = "record has an open proposal in batch " + id
		} else if pc.Rejected[head.RejectionKey()] {
			why = "the same change was rejected before"
		} else if claimedBy(claimed, head) {
			why = "another change in this run already touches the record"
		}
		if why != "" {
			plan.Skipped = append(plan.Skipped, Skip{head, why})
			for _, f := range u[1:] {
				plan.Skipped = append(plan.Skipped, Skip{f, fmt.Sprintf("the merge it follows (%s) was skipped: %s", head.Target(), why)})
			}
			continue
		}
		// Followers are checked one by one: a rejected value or a field
		// set twice drops that set alone, the merge goes on without it.
		// (A follower's record is its merge's survivor: not busy, since
		// the merge is not.)
		kept := []batch.Change{head}
		fields := map[string]bool{}
		for _, f := range u[1:] {
			switch {
			case pc.Rejected[f.RejectionKey()]:
				plan.Skipped = append(plan.Skipped, Skip{f, "the same change was rejected before"})
			case fields[f.Field] || claimedByFollower(claimed, f):
				plan.Skipped = append(plan.Skipped, Skip{f, "another change in this run already sets " + f.Target()})
			default:
				fields[f.Field] = true
				kept = append(kept, f)
			}
		}
		u = kept
		verdicts := make([]policy.Verdict, len(u))
		decision := policy.Auto
		for i, c := range u {
			verdicts[i] = pc.Policy.Evaluate(c, pc.Proposer)
			if strictness(verdicts[i].Decision) > strictness(decision) {
				decision = verdicts[i].Decision
			}
		}
		if decision == policy.Deny {
			plan.denyUnit(u, verdicts)
			continue
		}
		review := ""
		if decision == policy.Auto {
			if pc.Review != "" {
				review = pc.Review
			} else if autoCount+len(u) > pc.Policy.Limits.MaxAutoChangesPerRun {
				review = fmt.Sprintf("this run's auto changes passed limits.max_auto_changes_per_run (%d)", pc.Policy.Limits.MaxAutoChangesPerRun)
			} else {
				autoCount += len(u)
			}
		}
		for _, c := range u {
			claim(claimed, c)
		}
		key := string(decision) + "\x00" + head.Kind + "\x00" + review
		g := groups[key]
		if g == nil {
			g = &group{decision: decision, kind: head.Kind, review: review}
			groups[key] = g
			order = append(order, key)
		}
		g.units = append(g.units, u)
	}
	// Auto batches first: they are merged and applied at once.
	sort.SliceStable(order, func(i, j int) bool {
		gi, gj := groups[order[i]], groups[order[j]]
		return rank(gi.decision, gi.review) < rank(gj.decision, gj.review)
	})
	size := pc.Policy.Limits.MaxChangesPerBatch
	for _, key := range order {
		g := groups[key]
		for _, chunk := range chunks(g.units, size) {
			b := &batch.Batch{
				Version:  batch.Version,
				ID:       batch.NewID(pc.Now, detector, chunk),
				Created:  pc.Now.UTC().Truncate(time.Second),
				Detector: detector,
				Title:    Title(g.kind, chunk, g.review != ""),
				Review:   g.review,
				Agent:    pc.Proposer.Agent,
				Changes:  chunk,
			}
			plan.Batches = append(plan.Batches, Planned{Batch: b, Verdict: pc.Policy.EvaluateBatch(b, pc.Proposer)})
		}
	}
	return plan
}

// unitsOf groups changes into units, in the order of the merges and
// single changes of changes: a merge with the sets that follow it
// (wherever they stand in changes), or one change alone. A follower that
// names no merge of changes, names an id two merges share, or sets another
// record than its merge keeps is returned as skipped.
func unitsOf(changes []batch.Change) (units [][]batch.Change, orphans []Skip) {
	merges := map[string][]int{}
	for i, c := range changes {
		if c.Op == batch.OpMerge && c.ID != "" {
			merges[c.ID] = append(merges[c.ID], i)
		}
	}
	unitOf := map[int]int{} // index of a merge in changes -> its unit
	for i, c := range changes {
		if c.Follows != "" {
			continue
		}
		if c.Op == batch.OpMerge {
			unitOf[i] = len(units)
		}
		units = append(units, []batch.Change{c})
	}
	for _, c := range changes {
		if c.Follows == "" {
			continue
		}
		at := merges[c.Follows]
		switch {
		case len(at) == 0:
			orphans = append(orphans, Skip{c, fmt.Sprintf("follows %q, which names no merge proposed with it (a follower is proposed together with its merge, follows naming the merge's id)", c.Follows)})
		case len(at) > 1:
			orphans = append(orphans, Skip{c, fmt.Sprintf("follows %q, an id %d merges proposed with it share", c.Follows, len(at))})
		case c.Op != batch.OpSet:
			orphans = append(orphans, Skip{c, "only a set follows a merge"})
		case changes[at[0]].Object != c.Object || changes[at[0]].Record != c.Record:
			m := changes[at[0]]
			orphans = append(orphans, Skip{c, fmt.Sprintf("follows merge %q, which keeps %s/%s, not %s/%s", c.Follows, m.Object, m.Record, c.Object, c.Record)})
		default:
			u := unitOf[at[0]]
			units[u] = append(units[u], c)
		}
	}
	return units, orphans
}

// denyUnit reports a unit one of whose changes the policy denies: those
// changes are denied, the rest of the unit skipped with it.
func (plan *Plan) denyUnit(u []batch.Change, verdicts []policy.Verdict) {
	because := ""
	for i, c := range u {
		if verdicts[i].Decision != policy.Deny {
			continue
		}
		why := "denied by rule " + verdicts[i].Rule
		if verdicts[i].Why != "" {
			why += ": " + verdicts[i].Why
		}
		plan.Denied = append(plan.Denied, Skip{c, why})
		if because == "" {
			because = fmt.Sprintf("%s is %s", c.Target(), why)
		}
	}
	for i, c := range u {
		if verdicts[i].Decision == policy.Deny {
			continue
		}
		what := "a set that follows the same merge"
		switch {
		case i == 0:
			what = "a set that follows it"
		case verdicts[0].Decision == policy.Deny:
			what = "the merge it follows"
		}
		plan.Skipped = append(plan.Skipped, Skip{c, fmt.Sprintf("%s was denied with it: %s", what, because)})
	}
}

// chunks packs units into batches of at most size changes, in order. A
// unit is never split: a batch ends before a unit that would not fit, and
// only a unit larger than size makes a batch larger than size. Ids run
// c1, c2, … in every batch, and each follower's follows names its merge's
// new id.
func chunks(units [][]batch.Change, size int) [][]batch.Change {
	var out [][]batch.Change
	var cur []batch.Change
	for _, u := range units {
		if len(cur) > 0 && len(cur)+len(u) > size {
			out = append(out, cur)
			cur = nil
		}
		head := len(cur)
		for k, c := range u {
			c.ID = fmt.Sprintf("c%d", len(cur)+1)
			if k > 0 {
				c.Follows = cur[head].ID
			}
			// Positions in the input file mean nothing in the batch file.
			c.Pos = strictyaml.Pos{}
			cur = append(cur, c)
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// strictness orders decisions: a unit takes the strictest of its changes'.
func strictness(d policy.Decision) int {
	switch d {
	case policy.Deny:
		return 2
	case policy.Review:
		return 1
	}
	return 0
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
// merge fills them — except by the sets that follow its merges, which say
// how (see claimedByFollower); and the same field is never set twice.
func claimedBy(claimed map[string]bool, c batch.Change) bool {
	if c.TwoRecords() {
		loser, survivor := c.Object+"/"+c.MergeFrom, c.Object+"/"+c.Record
		return claimed[loser] || claimed[loser+"#survivor"] || claimed[loser+"#fields"] ||
			claimed[survivor] || claimed[survivor+"#fields"]
	}
	rec := c.Object + "/" + c.Record
	return claimed[rec] || claimed[rec+"#survivor"] || claimed[rec+"."+c.Field]
}

// claimedByFollower is claimedBy for a set that follows a merge whose
// claims already passed: its record is that merge's survivor, so only a
// record merged away or a field already set stops it.
func claimedByFollower(claimed map[string]bool, c batch.Change) bool {
	rec := c.Object + "/" + c.Record
	return claimed[rec] || claimed[rec+"."+c.Field]
}

func claim(claimed map[string]bool, c batch.Change) {
	if c.TwoRecords() {
		claimed[c.Object+"/"+c.MergeFrom] = true
		claimed[c.Object+"/"+c.Record+"#survivor"] = true
		return
	}
	rec := c.Object + "/" + c.Record
	claimed[rec+"."+c.Field] = true
	// A follower does not hold the survivor's fields: another merge into
	// the same survivor may still come, with followers of its own.
	if c.Follows == "" {
		claimed[rec+"#fields"] = true
	}
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
