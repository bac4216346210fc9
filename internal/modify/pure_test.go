package modify_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/modify"
)

const dropID = "20261124T060000Z-dedupe-d40p00"

const dropPath = "proposals/2026-11/" + dropID + ".yaml"

// original is a batch of two merges, the first with a survivorship set
// that follows it, and a plain set.
const original = `version: 1
batch: ` + dropID + `
created: 2026-11-24T06:00:00Z
detector: dedupe
title: Merge 2 duplicates
changes:
  - id: c1
    kind: dedupe
    object: contacts
    record: "1004"
    op: merge
    merge_from: "1005"
    source: dedupe
    confidence: 0.93
    snapshot: {email: DEE@delta.io, jobtitle: Founder}
  - id: c2
    kind: dedupe
    object: contacts
    record: "1004"
    op: set
    field: jobtitle
    before: ""
    after: Founder
    source: dedupe
    confidence: 0.93
    follows: c1
  - id: c3
    kind: dedupe
    object: contacts
    record: "1001"
    op: merge
    merge_from: "1002"
    source: dedupe
    confidence: 0.9
  - id: c4
    kind: enrichment
    object: contacts
    record: "1003"
    op: set
    field: phone
    before: ""
    after: "+1 555 0100"
    source: clay
    confidence: 0.99
`

// blocks splits a batch file written like original into what precedes its
// changes and one block per change (each starting "  - id: <id>").
func blocks(file string) (head string, changes []string) {
	head, body, _ := strings.Cut(file, "changes:\n")
	for _, line := range strings.SplitAfter(body, "\n") {
		if strings.HasPrefix(line, "  - id: ") || len(changes) == 0 {
			changes = append(changes, "")
		}
		changes[len(changes)-1] += line
	}
	return head + "changes:\n", changes
}

// without removes the changes with the given ids.
func without(file string, ids ...string) string {
	head, changes := blocks(file)
	for _, c := range changes {
		id, _, _ := strings.Cut(strings.TrimPrefix(c, "  - id: "), "\n")
		if !slices.Contains(ids, id) {
			head += c
		}
	}
	return head
}

// reorder swaps the last two changes.
func reorder(file string) string {
	head, changes := blocks(file)
	n := len(changes)
	changes[n-2], changes[n-1] = changes[n-1], changes[n-2]
	return head + strings.Join(changes, "")
}

func TestPureDrop(t *testing.T) {
	tests := []struct {
		name   string
		after  string
		pure   bool
		reason string
	}{
		{"dropping a merge with its follower is a pure drop", without(original, "c1", "c2"), true, ""},
		{"dropping a plain set is a pure drop", without(original, "c4"), true, ""},
		{"dropping a follower alone is a pure drop", without(original, "c2"), true, ""},
		{"dropping all but one is a pure drop", without(original, "c1", "c2", "c3"), true, ""},
		{"reformatting the rest is still a pure drop", strings.Replace(without(original, "c4"), `confidence: 0.9
`, "confidence: 0.90   # checked\n", 1), true, ""},
		{"dropping nothing is not a drop", original, false, "the same changes"},
		{"dropping a merge but keeping its follower does not decode", without(original, "c1"), false, "follows names no change"},
		{"dropping everything does not decode", without(original, "c1", "c2", "c3", "c4"), false, "empty"},
		{"an edited value is not a drop", strings.Replace(without(original, "c4"), "after: Founder", "after: CEO", 1), false, "edit"},
		{"an edited reason is not a drop", strings.Replace(without(original, "c3"), "    follows: c1\n", "    reason: mine\n    follows: c1\n", 1), false, "edit"},
		{"an edited snapshot is not a drop", strings.Replace(without(original, "c4"), "jobtitle: Founder}", "jobtitle: Boss}", 1), false, "edit"},
		{"an added change is not a drop", without(original, "c3") + `  - id: c9
    kind: enrichment
    object: contacts
    record: "1009"
    op: set
    field: phone
    before: ""
    after: "1"
    source: clay
    confidence: 0.99
`, false, "addition"},
		{"a renamed change is not a drop", strings.Replace(without(original, "c3"), "id: c4", "id: c9", 1), false, "rename"},
		{"a reordered change is not a drop", reorder(without(original, "c2")), false, "reorder"},
		{"a changed title is not a drop", strings.Replace(without(original, "c4"), "title: Merge 2 duplicates", "title: Merge 1 duplicate", 1), false, "header"},
		{"a changed detector is not a drop", strings.Replace(without(original, "c4"), "detector: dedupe", "detector: manual", 1), false, "header"},
		{"a created time with another offset is not a drop", strings.Replace(without(original, "c4"), "2026-11-24T06:00:00Z", "2026-11-24T07:00:00+01:00", 1), false, "header"},
		{"a review note added is not a drop", strings.Replace(without(original, "c4"), "title: Merge 2 duplicates\n", "title: Merge 2 duplicates\nreview: because\n", 1), false, "header"},
		{"an unreadable file is not a drop", "version: 1\nbatch: [\n", false, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := modify.PureDrop(dropPath, []byte(original), []byte(tt.after)); got != tt.pure {
				t.Fatalf("PureDrop = %v, want %v (%s)\n%s", got, tt.pure, tt.reason, tt.after)
			}
			// A refusal is the rule's, not a typo's: the file decodes,
			// unless the case is about one that does not.
			_, err := batch.Decode(dropPath, []byte(tt.after))
			if wantErr := tt.reason == "empty" || tt.reason == "invalid" || strings.HasPrefix(tt.reason, "follows"); (err != nil) != wantErr {
				t.Fatalf("decoding the new version: %v", err)
			}
		})
	}
}

func TestAPureDropOfAFileWithOtherNameIsNot(t *testing.T) {
	if modify.PureDrop("proposals/2026-11/other.yaml", []byte(original), []byte(without(original, "c4"))) {
		t.Fatal("a batch whose id differs from its file name decoded")
	}
}

func TestDroppedNamesWhatWent(t *testing.T) {
	if got := modify.Dropped(dropPath, []byte(original), []byte(without(original, "c1", "c2"))); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Fatalf("Dropped = %v, want [c1 c2]", got)
	}
	if got := modify.Dropped(dropPath, []byte(original), []byte(strings.Replace(original, "CEO", "x", 1))); got != nil {
		t.Fatalf("Dropped of no drop = %v, want nil", got)
	}
}
