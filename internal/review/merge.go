package review

import (
	"maps"
	"slices"

	"github.com/crmops/crmops/internal/batch"
)

// A merge is shown as its two records side by side, field by field: the
// survivor (the change's record, its fields from survivor_snapshot) and the
// merged record (merge_from, its fields from snapshot). Both renderers,
// the pull-request body and the terminal, compare them here, so they mark
// the same fields.

// compared says how one field reads across a merge's two records.
type compared int

const (
	same         compared = iota // both records have it, with one value
	differs                      // both have it, with different values
	onlySurvivor                 // only the survivor has it
	onlyMerged                   // only the merged record has it
	unknown                      // one record's fields are not in the batch at all
)

// label is how a reviewer reads a comparison, in both renderers.
func (c compared) label() string {
	return [...]string{"same", "differs", "only survivor", "only merged", "not recorded"}[c]
}

// fieldPair is one field of a merge's side-by-side.
type fieldPair struct {
	field            string
	survivor, merged string
	inSurvivor       bool // the survivor's snapshot has the field
	inMerged         bool // the merged record's snapshot has the field
	compared         compared
}

// sideBySide lines up a merge's two records: the union of their fields, in
// field-name order. A field one record lacks is marked so; when the batch
// records no fields at all for one record (no survivor_snapshot, say),
// nothing can be compared and every field is marked as not recorded.
func sideBySide(c batch.Change) []fieldPair {
	names := slices.Sorted(maps.Keys(c.SurvivorSnapshot))
	for k := range c.Snapshot {
		if _, ok := c.SurvivorSnapshot[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	pairs := make([]fieldPair, len(names))
	for i, k := range names {
		p := fieldPair{field: k}
		p.survivor, p.inSurvivor = c.SurvivorSnapshot[k]
		p.merged, p.inMerged = c.Snapshot[k]
		switch {
		case len(c.SurvivorSnapshot) == 0 || len(c.Snapshot) == 0:
			p.compared = unknown
		case !p.inMerged:
			p.compared = onlySurvivor
		case !p.inSurvivor:
			p.compared = onlyMerged
		case p.survivor != p.merged:
			p.compared = differs
		}
		pairs[i] = p
	}
	return pairs
}

// followers returns the indexes of the changes that follow the merge with
// id (its survivorship sets), in batch order: batch.Batch.Followers, with
// each change's place for its verdict.
func followers(b *batch.Batch, id string) []int {
	var out []int
	for i, c := range b.Changes {
		if c.Follows == id {
			out = append(out, i)
		}
	}
	return out
}

// hasMerge reports whether the batch holds a merge a reviewer may drop.
func hasMerge(b *batch.Batch) bool {
	for _, c := range b.Changes {
		if c.Op == batch.OpMerge {
			return true
		}
	}
	return false
}
