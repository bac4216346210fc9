// Package revert plans the inverse of an executed batch, to be proposed and
// reviewed like any other: a set becomes a set back to the old value (with
// compare-and-swap on the new one, so a field someone changed since is left
// alone), and a merge becomes an unmerge that restores the merged-away
// record from its snapshot.
package revert

import (
	"fmt"

	"github.com/crmops/crmops/internal/batch"
)

// Source and detector name of revert proposals.
const Source = "revert"

// Skip is a change of the original batch that is not reverted, and why.
type Skip struct {
	Change string
	Why    string
}

// Plan returns the changes that undo what rc says b did. only, when not
// empty, limits it to those change ids (each must exist).
func Plan(b *batch.Batch, rc *batch.Receipt, only []string) ([]batch.Change, []Skip, error) {
	want := map[string]bool{}
	for _, id := range only {
		want[id] = true
	}
	found := map[string]bool{}
	var out []batch.Change
	var skipped []Skip
	for _, c := range b.Changes {
		if len(want) > 0 && !want[c.ID] {
			continue
		}
		found[c.ID] = true
		res, ok := rc.Result(c.ID)
		if !ok || (res.Status != batch.StatusApplied && res.Status != batch.StatusAlreadyApplied) {
			status := "no result"
			if ok {
				status = res.Status
			}
			skipped = append(skipped, Skip{c.ID, fmt.Sprintf("it was not applied (%s): nothing to undo", status)})
			continue
		}
		out = append(out, inverse(b.ID, c, res))
	}
	for _, id := range only {
		if !found[id] {
			return nil, nil, fmt.Errorf("revert %s: the batch has no change %q", b.ID, id)
		}
	}
	return out, skipped, nil
}

func inverse(batchID string, c batch.Change, res batch.ChangeResult) batch.Change {
	at := res.At.UTC().Format("2006-01-02 15:04Z")
	if c.TwoRecords() {
		return batch.Change{
			Kind: "dedupe", Object: c.Object, Record: c.Record, Op: batch.OpUnmerge, MergeFrom: c.MergeFrom,
			Source: Source, Confidence: 1, Trigger: "manual", Snapshot: c.Snapshot,
			Reason: fmt.Sprintf("undoes %s %s (merged %s): makes %s/%s a separate record again with its fields as detected; "+
				"values the merge copied into %s stay there and need a person's check, and a CRM that cannot undo merges "+
				"(HubSpot) fails this change with what to recreate by hand", batchID, c.ID, at, c.Object, c.MergeFrom, c.Record),
		}
	}
	return batch.Change{
		Kind: c.Kind, Object: c.Object, Record: c.Record, Op: batch.OpSet, Field: c.Field,
		Before: c.After, After: c.Before, Source: Source, Confidence: 1, Trigger: "manual",
		Reason: fmt.Sprintf("undoes %s %s (applied %s): puts %s back to %q; skipped as stale if the field changed since",
			batchID, c.ID, at, c.Field, c.Before),
	}
}
