package apply

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
)

// Another apply, in another clone, recorded the batch while this run
// applied it: compare-and-swap let each change be written once, so each
// run saw the other's writes as already_applied. The first receipt stays
// the record and learns which of its already_applied changes this run
// applied; with nothing to learn it is left alone. A file there that is
// no receipt of the batch records nothing, and this run's receipt
// replaces it.
func TestAReceiptCommittedMeanwhileIsKept(t *testing.T) {
	t.Parallel()
	theirs := func(statuses ...string) []byte {
		rc := &batch.Receipt{Version: 1, Batch: idA, Approval: batch.Approval{Mode: batch.ModeAuto}, ExecutedBy: "crmops/other"}
		for i, s := range statuses {
			rc.Changes = append(rc.Changes, batch.ChangeResult{ID: []string{"c1", "c2"}[i], Status: s, After: "X", At: t0})
		}
		data, err := batch.Encode(rc)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name     string
		theirs   []byte
		want     []string // the receipt's statuses afterwards; nil: theirs unchanged
		recorded bool     // a commit records the merge of the two
	}{
		{"theirs lacks what ours applied", theirs(batch.StatusAlreadyApplied, batch.StatusApplied), []string{"c1:applied:crmops/other", "c2:applied:crmops/other"}, true},
		{"theirs has it all", theirs(batch.StatusApplied, batch.StatusApplied), nil, false},
		{"theirs is no receipt", []byte("nonsense\n"), []string{"c1:applied:crmops/test", "c2:already_applied:crmops/test"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			fx.crm.put("contacts", "1002", map[string]string{"jobtitle": "X"}, "")
			fx.merge(idA, pathA, encode(t, idA, set("c1", "1001", "jobtitle", "", "X"), set("c2", "1002", "jobtitle", "", "X")))
			r := fx.runner()
			r.AfterChunk = func(string, int) {
				fx.toBase(map[string][]byte{batch.ReceiptPath(pathA): tt.theirs}, "Apply batch "+idA+"\n\nCrmops-Batch: "+idA+"\nCrmops-Receipt: auto\n")
			}
			rep, err := r.Run(context.Background(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c := rep.Batches[0].Counts; c[batch.StatusApplied] != 1 || c[batch.StatusAlreadyApplied] != 1 {
				t.Errorf("this run's counts %v", c)
			}
			got := fx.read(batch.ReceiptPath(pathA))
			tip := fx.tip()
			if tt.want == nil {
				if string(got) != string(tt.theirs) {
					t.Errorf("the receipt committed first was replaced:\n%s", got)
				}
				if !strings.HasPrefix(tip.Message, "Apply batch "+idA+"\n") {
					t.Errorf("a commit followed the first receipt: %q", tip.Message)
				}
				if !strings.Contains(fx.log.String(), idA+": another apply recorded its receipt first; keeping that one") {
					t.Errorf("log %q", fx.log.String())
				}
				return
			}
			rc, err := batch.DecodeReceipt(batch.ReceiptPath(pathA), got)
			if err != nil {
				t.Fatal(err)
			}
			var statuses []string
			for _, c := range rc.Changes {
				statuses = append(statuses, c.ID+":"+c.Status+":"+rc.ExecutedBy)
			}
			if !slices.Equal(statuses, tt.want) {
				t.Errorf("receipt %v, want %v", statuses, tt.want)
			}
			wantSubject, wantReceiptTrailer := "Record batch "+idA+": two applies ran it at once\n", []string(nil)
			if !tt.recorded {
				wantSubject, wantReceiptTrailer = "Apply batch "+idA+": ", []string{batch.ModeAuto}
			}
			if !strings.HasPrefix(tip.Message, wantSubject) ||
				!slices.Equal(tip.TrailerValues("Crmops-Batch"), []string{idA}) || !slices.Equal(tip.TrailerValues("Crmops-Receipt"), wantReceiptTrailer) {
				t.Errorf("commit %q", tip.Message)
			}
		})
	}
}
