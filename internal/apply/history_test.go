package apply

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
)

// A batch runs once: a receipt removed from the base branch, or damaged,
// is put back from history instead of running the batch again, however
// often it is removed.
func TestABatchWhoseReceiptWasRemovedDoesNotRunAgain(t *testing.T) {
	t.Parallel()
	for _, damage := range []struct {
		name string
		data []byte
	}{{"removed", nil}, {"damaged", []byte("nonsense\n")}} {
		t.Run(damage.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			fx.merge(idA, pathA, encode(t, idA, auto))
			fx.run(Options{})
			receipt := fx.read(batch.ReceiptPath(pathA))
			fx.crm.calls = nil
			for round := 1; round <= 2; round++ {
				// Another batch merged meanwhile runs as usual.
				id := []string{idB, "20261124T080000Z-enrichment-cccccc"}[round-1]
				fx.merge(id, batch.Path(id), encode(t, id, set("c1", "100"+string(rune('1'+round)), "jobtitle", "", "X")))
				fx.rewrite(map[string][]byte{batch.ReceiptPath(pathA): damage.data})
				fx.log.Reset()
				rep := fx.run(Options{})
				if len(rep.Batches) != 1 || rep.Batches[0].Batch != id {
					t.Fatalf("round %d: report %+v, want only %s", round, rep.Batches, id)
				}
				if !bytes.Equal(fx.read(batch.ReceiptPath(pathA)), receipt) {
					t.Fatalf("round %d: the receipt was not restored", round)
				}
				if !strings.Contains(fx.log.String(), idA+": already ran (receipt committed in ") {
					t.Errorf("round %d: log %q", round, fx.log.String())
				}
			}
			if got := fx.crm.writes(); !slices.Equal(got, []string{"set 1002.jobtitle", "set 1003.jobtitle"}) {
				t.Errorf("CRM calls %v: the first batch ran again", got)
			}
		})
	}
}

func TestTheRestoredReceiptIsCommittedAsSuch(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, auto))
	fx.run(Options{})
	receiptCommit := fx.base()
	fx.rewrite(map[string][]byte{batch.ReceiptPath(pathA): nil})
	fx.run(Options{})
	tip := fx.tip()
	if !strings.HasPrefix(tip.Message, "Restore the receipt of batch "+idA+"\n\nIt ran in "+receiptCommit.String()+"; a batch runs once.\n\n[skip actions]\n") ||
		!slices.Equal(tip.TrailerValues("Crmops-Batch"), []string{idA}) || len(tip.TrailerValues("Crmops-Receipt")) != 0 || tip.Author.Name != "crmops" {
		t.Errorf("restore commit %q by %s", tip.Message, tip.Author.Name)
	}
}

// A dry run says nothing would run, and restores nothing.
func TestADryRunDoesNotRestoreAReceipt(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, auto))
	fx.run(Options{})
	fx.rewrite(map[string][]byte{batch.ReceiptPath(pathA): nil})
	before := fx.base()
	if rep := fx.run(Options{DryRun: true}); len(rep.Batches) != 0 {
		t.Errorf("dry run %+v", rep.Batches)
	}
	if fx.base() != before {
		t.Error("a dry run committed")
	}
	if rep := fx.run(Options{Batch: idA}); len(rep.Batches) != 0 || !fx.hasReceipt(pathA) {
		t.Errorf("run of the batch %+v", rep.Batches)
	}
}

// A batch merged after another one ran is pending: the walk for receipts
// stops at its merge.
func TestABatchMergedAfterAnotherBatchsReceiptRuns(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, auto))
	fx.run(Options{})
	fx.merge(idB, pathB, encode(t, idB, set("c1", "1002", "jobtitle", "", "X")))
	if rep := fx.run(Options{}); len(rep.Batches) != 1 || rep.Batches[0].Batch != idB {
		t.Errorf("report %+v", rep.Batches)
	}
}

// Machine state committed to the branch is trusted by nobody.
func TestApplyRefusesToRunWithCommittedState(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, auto))
	fx.toBase(map[string][]byte{".crmops/partial/" + idA + batch.ReceiptSuffix: []byte("x")}, "oops\n")
	_, err := fx.runner().Run(context.Background(), Options{})
	if err == nil || !strings.Contains(err.Error(), ".crmops/ is tracked by git on main (.crmops/partial/"+idA+batch.ReceiptSuffix+")") {
		t.Fatalf("err = %v", err)
	}
	if len(fx.crm.writes()) != 0 || fx.hasReceipt(pathA) {
		t.Error("apply ran with committed state")
	}
}

// Saved progress of another version of the batch is not this batch's.
func TestApplyIgnoresProgressOfAnotherVersion(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, set("c1", "1001", "jobtitle", "", "A"), set("c2", "1002", "jobtitle", "", "B")))
	partial := fx.ws.Path(".crmops/partial/" + idA + batch.ReceiptSuffix)
	data, err := batch.Encode(&batch.Receipt{Version: 1, Batch: idA, Approval: batch.Approval{Mode: batch.ModeAuto}, ExecutedBy: "x",
		BatchBlob: strings.Repeat("0", 40), Changes: []batch.ChangeResult{{ID: "c1", Status: batch.StatusApplied}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(partial), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(partial, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fx.run(Options{})
	if got := fx.crm.writes(); !slices.Equal(got, []string{"set 1001.jobtitle,1002.jobtitle"}) {
		t.Errorf("CRM calls %v, want both changes", got)
	}
	if !strings.Contains(fx.log.String(), idA+": ignoring saved progress") {
		t.Errorf("log %q", fx.log.String())
	}
	if rc := fx.receipt(pathA); rc.BatchBlob != fx.blob(pathA) {
		t.Errorf("receipt names blob %s", rc.BatchBlob)
	}
}

// The receipt lists the commits that changed the batch after it was
// proposed, oldest first, with who made them and which changes they
// touched.
func TestTheReceiptNamesWhoChangedTheBatchBeforeItsMerge(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	c := func(id, after string) batch.Change { return set(id, "100"+id[1:], "jobtitle", "", after) }
	v0 := encode(t, idA, c("c1", "A"), c("c2", "B"), c("c3", "C"), c("c5", "E"))
	v1 := encode(t, idA, c("c1", "A2"), c("c3", "C"), c("c4", "D"))
	b2, err := batch.Decode(pathA, v1)
	if err != nil {
		t.Fatal(err)
	}
	b2.Title = "retitled"
	v2, err := batch.Encode(b2)
	if err != nil {
		t.Fatal(err)
	}
	// An earlier file at the batch's path, since removed from the base
	// branch, is no change of this proposal.
	fx.toBase(map[string][]byte{pathA: []byte("old\n")}, "an old file\n")
	fx.rewrite(map[string][]byte{pathA: nil})
	m, commits := fx.mergeBranch(idA, pathA,
		edit{data: v0, author: "crmops", committer: "crmops"},
		edit{data: v1, author: "alice", committer: "bob"},
		edit{author: "dave", committer: "dave", other: true},
		edit{data: v2, author: "carol", committer: "carol"},
	)
	m.Decision, m.Approvals = batch.ModeApproved, []forge.Approval{approval("erin", t0)}
	fx.run(Options{})
	rc := fx.receipt(pathA)
	if len(rc.Modified) != 2 {
		t.Fatalf("modified %+v, want two edits", rc.Modified)
	}
	want := []batch.Modification{
		{Commit: commits[1].String(), By: "alice (committed by bob)", Changes: []string{"c1", "c4", "c2", "c5"}},
		{Commit: commits[3].String(), By: "carol"},
	}
	for i, w := range want {
		if g := rc.Modified[i]; g.Commit != w.Commit || g.By != w.By || !slices.Equal(g.Changes, w.Changes) {
			t.Errorf("modified[%d] = %+v, want %+v", i, g, w)
		}
	}
	if rc.Approval.Proposer != "crmops" {
		t.Errorf("proposer %q", rc.Approval.Proposer)
	}
}

func TestAnUneditedBatchListsNoModifications(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.mergeBranch(idA, pathA, edit{data: encode(t, idA, auto), author: "crmops", committer: "crmops"})
	fx.run(Options{})
	if rc := fx.receipt(pathA); len(rc.Modified) != 0 {
		t.Errorf("modified %+v", rc.Modified)
	}
}

func TestChangedIDsOfUndecodableVersions(t *testing.T) {
	t.Parallel()
	good, bad := encode(t, idA, auto), []byte("nonsense")
	if got := changedIDs(pathA, bad, good); got != nil {
		t.Errorf("changedIDs from an undecodable version = %v", got)
	}
	if got := changedIDs(pathA, good, bad); got != nil {
		t.Errorf("changedIDs to an undecodable version = %v", got)
	}
	if got := changedIDs(pathA, good, good); len(got) != 0 {
		t.Errorf("changedIDs of equal versions = %v", got)
	}
}
