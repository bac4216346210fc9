// Package modify is the modify path of a review: a reviewer narrows a
// proposal by dropping changes from it before approving, in a commit on the
// proposal's own branch, and the dropped changes are recorded as rejected.
//
// The four-eyes rule lets whoever only dropped changes still approve the new
// head: such a commit narrows what the proposer proposed and adds nothing
// of its author's. PureDrop is the one place that decides what "only
// dropped" means; both forges' evidence code asks it, reading the two
// versions of the batch file from git, never a commit's message.
package modify

import (
	"reflect"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/strictyaml"
)

// PureDrop reports whether the batch file after, at path, is the batch file
// before with one or more changes dropped and nothing else: both decode
// strictly and validly, their headers (version, id, created, detector,
// title, review) are equal, and the changes of after are a proper
// subsequence of the changes of before, each equal to its original as a
// decoded struct, in the same order. Anything else (an edited value, an
// added or reordered change, a changed header, a file that does not decode)
// is not a pure drop. Formatting and comments are not compared: only what
// crmops reads from the file.
func PureDrop(path string, before, after []byte) bool {
	old, err := batch.Decode(path, before)
	if err != nil {
		return false
	}
	cur, err := batch.Decode(path, after)
	if err != nil {
		return false
	}
	if len(cur.Changes) >= len(old.Changes) || !sameHeader(old, cur) {
		return false
	}
	i := 0
	for _, c := range cur.Changes {
		for i < len(old.Changes) && !sameChange(old.Changes[i], c) {
			i++
		}
		if i == len(old.Changes) {
			return false
		}
		i++
	}
	return true
}

// sameHeader compares everything of two batches but their changes and
// where they stood in their files. A time is equal only with the same
// instant written with the same offset.
func sameHeader(a, b *batch.Batch) bool {
	if !a.Created.Equal(b.Created) || a.Created.Format(time.RFC3339Nano) != b.Created.Format(time.RFC3339Nano) {
		return false
	}
	x, y := *a, *b
	x.Changes, y.Changes = nil, nil
	x.Pos, y.Pos = strictyaml.Pos{}, strictyaml.Pos{}
	x.Created, y.Created = time.Time{}, time.Time{}
	return reflect.DeepEqual(x, y)
}

// sameChange compares two changes as decoded, every field, ignoring where
// they stood in their files. An empty map and a missing one read alike
// (crmops writes neither).
func sameChange(a, b batch.Change) bool {
	norm := func(c batch.Change) batch.Change {
		c.Pos = strictyaml.Pos{}
		if len(c.Snapshot) == 0 {
			c.Snapshot = nil
		}
		if len(c.SurvivorSnapshot) == 0 {
			c.SurvivorSnapshot = nil
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Dropped returns the ids of the changes of the batch file before that the
// batch file after no longer has, in before's order, when after is a pure
// drop of before; nil otherwise.
func Dropped(path string, before, after []byte) []string {
	if !PureDrop(path, before, after) {
		return nil
	}
	old, _ := batch.Decode(path, before)
	cur, _ := batch.Decode(path, after)
	kept := map[string]bool{}
	for _, c := range cur.Changes {
		kept[c.ID] = true
	}
	var out []string
	for _, c := range old.Changes {
		if !kept[c.ID] {
			out = append(out, c.ID)
		}
	}
	return out
}
