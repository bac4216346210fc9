package apply

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
)

// The progress saved after each chunk is built by appending the chunk's
// results to what was saved before; it is, byte for byte, the receipt so
// far as batch.Encode writes it, and holds every result up to that chunk,
// errors with tabs and line breaks included.
func TestSavedProgressIsTheReceiptSoFar(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.crm.put("contacts", "1003", map[string]string{"jobtitle": "changed\n\tby hand"}, "")
	m := fx.merge(idA, pathA, encode(t, idA,
		set("c1", "1001", "jobtitle", "", "A: yes"),
		set("c2", "1002", "jobtitle", "", "1001"),
		set("c3", "1003", "jobtitle", "", "C"),
		mergeOf("c4", batch.OpMerge, "1001", "1004"),
		set("c5", "1005", "jobtitle", "", "\ttabbed\nvalue"),
	))
	m.Decision, m.Approvals = batch.ModeApproved, []forge.Approval{bob}
	r := fx.runner()
	r.ChunkSize = 2
	var saved []int
	r.AfterChunk = func(id string, done int) {
		p := r.partialPath(id)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("after %d results: %v", done, err)
		}
		rc, err := batch.DecodeReceipt(p, data)
		if err != nil {
			t.Fatalf("after %d results the saved progress does not decode: %v\n%s", done, err, data)
		}
		if len(rc.Changes) != done {
			t.Errorf("after %d results the saved progress holds %d", done, len(rc.Changes))
		}
		want, err := batch.Encode(rc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("after %d results the saved progress is not batch.Encode's receipt:\n%s\nwant\n%s", done, data, want)
		}
		saved = append(saved, done)
	}
	if _, err := r.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	if len(saved) != 4 {
		t.Errorf("progress saved after %v results, want 4 chunks", saved)
	}
	rc := fx.receipt(pathA)
	if got := rc.Changes[2]; got.Status != batch.StatusStale || got.ObservedBefore != "changed\n\tby hand" {
		t.Errorf("c3's result %+v, want stale, observed as the CRM held it", got)
	}
}
