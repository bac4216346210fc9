package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
)

// On a history of hundreds of applied batches, revert finds the batch,
// proposes the exact inverse of each applied change for review, and audit
// shows the revert pending beside the original.
func TestRevertOnAHistoryOfHundredsOfBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a history of 300 batches")
	}
	h := newHarness(t)
	if err := seedHistory(h, 300); err != nil {
		t.Fatal(err)
	}
	var merged []struct {
		Batch string `json:"batch"`
		State string `json:"state"`
	}
	h.jsonOut(&merged, "", "review", "list", "--all", "--json")
	if len(merged) != 300 {
		t.Fatalf("review list --all shows %d batches, want 300", len(merged))
	}
	target := merged[150].Batch
	original, err := batch.Decode(batch.Path(target), []byte(readFile(t, h.dir+"/"+batch.Path(target))))
	if err != nil {
		t.Fatal(err)
	}

	var reverts []proposed
	h.jsonOut(&reverts, "", "revert", target, "--json")
	if len(reverts) != 1 || reverts[0].Decision != "review" || reverts[0].Changes != len(original.Changes) {
		t.Fatalf("revert of %s: %+v; want one review batch of %d changes", target, reverts, len(original.Changes))
	}
	inverse, err := batch.Decode(batch.Path(reverts[0].Batch), []byte(readBranchFile(t, h, reverts[0].Batch)))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range inverse.Changes {
		o := original.Changes[i]
		if c.Record != o.Record || c.Field != o.Field || c.Before != o.After || c.After != o.Before || c.Trigger != "manual" {
			t.Errorf("change %d: %s %s %q->%q; want the inverse of %s %s %q->%q", i, c.Record, c.Field, c.Before, c.After, o.Record, o.Field, o.Before, o.After)
		}
		if !strings.Contains(c.Reason, target) {
			t.Errorf("change %d's reason does not name the reverted batch: %q", i, c.Reason)
		}
	}

	out := h.ok("", "audit", "contacts/"+original.Changes[0].Record, "--field", original.Changes[0].Field, "--json")
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last["batch"] != reverts[0].Batch || last["decision"] != "pending" {
		t.Errorf("audit's newest entry %v; want the pending revert", last)
	}
}
