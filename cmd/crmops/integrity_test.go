package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
)

// Tests of the repository's integrity tried as an adversary, or ordinary
// use, would: merged history that cannot be rewritten or replayed, state
// that cannot be faked, ids that cannot pose as other files.

// fillJobtitle proposes an auto fill of contacts/record's job title and
// returns its merged batch id.
func fillJobtitle(t *testing.T, h *harness, record, title string) string {
	t.Helper()
	ps := h.propose(`{"kind":"enrichment","trigger":"import","object":"contacts","record":"` + record + `","op":"set","field":"jobtitle","before":"","after":"` + title + `","source":"clay","confidence":0.99}` + "\n")
	if len(ps) != 1 || ps[0].State != "merged" {
		t.Fatalf("proposed %+v, want one merged auto batch", ps)
	}
	return ps[0].Batch
}

func TestBatchIDsCannotPoseAsAnotherFilesRole(t *testing.T) {
	for _, id := range []string{"b1.receipt", "b1.rejected", "b1.lock", "b1.RECEIPT", "b1."} {
		t.Run(id+" is not a batch id", func(t *testing.T) {
			h := newTrustHarness(t)
			content := strings.Replace(batchFile(id, fillChange), `record: "1004"`, `record: "101"`, 1)
			file := h.writeFile("hand/"+id+".yaml", content)
			h.expect(exitInvalid, "", []string{"check", file}, "not a valid batch id")
		})
	}
	t.Run("a batch named like another batch's receipt does not make that batch look applied", func(t *testing.T) {
		h := newTrustHarness(t)
		id := proposeReview(t, h, overwriteEmail)
		h.expectAs("bob", 0, []string{"review", "approve", id})
		h.expectAs("alice", 0, []string{"merge", id})
		// A writer pushes a "batch" named <id>.receipt straight to main.
		fake := strings.Replace(batchFile(id+".receipt", fillChange), `record: "1004"`, `record: "102"`, 1)
		h.pushToMain("sneak\n", map[string]string{batch.ReceiptPath(batch.Path(id)): fake})
		h.expect(0, "", []string{"apply"}, "1 applied")
		if got := h.field("contacts", "101", "jobtitle"); got != "Founder" {
			t.Errorf("jobtitle = %q: the approved batch did not run", got)
		}
	})
	t.Run("a file posing as a rejection stops no later proposal", func(t *testing.T) {
		h := newTrustHarness(t)
		h.pushToMain("sneak\n", map[string]string{"proposals/x.rejected.yaml": batchFile("x.rejected", fillChange)})
		fillJobtitle(t, h, "101", "CEO")
	})
}

func TestAMergedBatchNeverChanges(t *testing.T) {
	h := newTrustHarness(t)
	id := fillJobtitle(t, h, "101", "CEO")
	h.ok("", "apply")
	path := batch.Path(id)
	merged := readFile(t, filepath.Join(h.dir, path))
	edited := strings.Replace(merged, "after: CEO", "after: Intern", 1)
	h.pushToMain("rewrite history\n", map[string]string{path: edited})
	h.ok("", "review", "list") // the checkout follows main

	t.Run("check names the file and its merge", func(t *testing.T) {
		rc := h.receipt(id)
		h.expect(exitInvalid, "", []string{"check"}, path+": changed after its merge "+rc.MergeCommit[:10])
	})
	t.Run("audit reports what ran, not the edit", func(t *testing.T) {
		var entries []struct {
			After, Status string
		}
		h.jsonOut(&entries, "", "audit", "contacts/101", "--json")
		if len(entries) != 1 || entries[0].After != "CEO" || entries[0].Status != "applied" {
			t.Errorf("audit = %+v, want the applied CEO", entries)
		}
	})
	t.Run("review show reports what ran and says the file was edited", func(t *testing.T) {
		out := h.ok("", "review", "show", id)
		if !strings.Contains(out, "CEO") || strings.Contains(out, "Intern") || !strings.Contains(out, "edited after its merge") {
			t.Errorf("review show:\n%s", out)
		}
	})
	t.Run("apply does not run it again", func(t *testing.T) {
		h.expect(0, "", []string{"apply"}, "Nothing to apply")
		if got := h.field("contacts", "101", "jobtitle"); got != "CEO" {
			t.Errorf("jobtitle = %q", got)
		}
	})
}

func TestADeletedReceiptDoesNotReplayAnOldApproval(t *testing.T) {
	h := newTrustHarness(t)
	a := fillJobtitle(t, h, "101", "CEO")
	h.ok("", "apply")
	// A later batch sets the field back.
	back := h.propose(`{"kind":"custom","trigger":"manual","object":"contacts","record":"101","op":"set","field":"jobtitle","before":"CEO","after":"","source":"ops","confidence":1}` + "\n")
	h.expectAs("bob", 0, []string{"review", "approve", back[0].Batch})
	h.expectAs("alice", 0, []string{"merge", back[0].Batch})
	h.ok("", "apply")
	if got := h.field("contacts", "101", "jobtitle"); got != "" {
		t.Fatalf("jobtitle = %q after the approved undo", got)
	}
	writes := h.writes("contacts", "101")
	receipt := batch.ReceiptPath(batch.Path(a))
	h.removeFromMain("git rm "+receipt+"\n", receipt)

	h.expect(0, "", []string{"apply"}, a+": already ran", "propose them again")
	if got := h.field("contacts", "101", "jobtitle"); got != "" {
		t.Errorf("jobtitle = %q: the old batch ran again and undid the approved change", got)
	}
	if h.writes("contacts", "101") != writes {
		t.Error("apply wrote to the CRM")
	}
	if _, err := os.Stat(filepath.Join(h.dir, receipt)); err != nil {
		t.Errorf("the receipt was not restored from history: %v", err)
	}
}

func TestSavedProgressCannotBeFaked(t *testing.T) {
	t.Run("a tracked .crmops/ is refused", func(t *testing.T) {
		h := newTrustHarness(t)
		id := proposeReview(t, h, overwriteEmail)
		fake := "version: 1\nbatch: " + id + "\napproval: {mode: auto}\nexecuted_by: x\nchanges:\n  - {id: c1, status: applied}\n"
		h.pushToMain("progress\n", map[string]string{".crmops/partial/" + id + batch.ReceiptSuffix: fake})
		h.expectAs("bob", 0, []string{"review", "approve", id})
		h.expectAs("alice", 0, []string{"merge", id})
		h.expect(exitError, "", []string{"apply"}, ".crmops/ is tracked by git")
		if got := h.field("contacts", "101", "jobtitle"); got != "" {
			t.Errorf("jobtitle = %q", got)
		}
	})
	t.Run("progress saved for another version of the batch is ignored", func(t *testing.T) {
		h := newTrustHarness(t)
		id := proposeReview(t, h, overwriteEmail)
		fake := "version: 1\nbatch: " + id + "\napproval: {mode: auto}\nexecuted_by: x\nbatch_blob: 0123456789012345678901234567890123456789\nchanges:\n  - {id: c1, status: applied}\n"
		h.writeFile(".crmops/partial/"+id+batch.ReceiptSuffix, fake)
		h.expectAs("bob", 0, []string{"review", "approve", id})
		h.expectAs("alice", 0, []string{"merge", id})
		h.expect(0, "", []string{"apply"}, "1 applied")
		if got := h.field("contacts", "101", "jobtitle"); got != "Founder" {
			t.Errorf("jobtitle = %q: faked progress skipped the change", got)
		}
	})
}

func TestAChangeMergedButNotAppliedIsNotProposedAgain(t *testing.T) {
	h := newTrustHarness(t)
	fill := `{"kind":"enrichment","trigger":"import","object":"contacts","record":"101","op":"set","field":"jobtitle","before":"","after":"CEO","source":"clay","confidence":0.99}` + "\n"
	first := h.propose(fill)
	if len(first) != 1 || first[0].State != "merged" {
		t.Fatalf("first: %+v", first)
	}
	h.expect(0, fill, []string{"propose"}, "skipped", "open proposal")
	before := h.writes("contacts", "101")
	h.ok("", "apply")
	if n := h.writes("contacts", "101") - before; n != 1 {
		t.Errorf("%d writes to contacts/101, want 1", n)
	}
}

func TestReviewersChangesAreInTheReceiptAndTheAudit(t *testing.T) {
	h := newTrustHarness(t)
	id := proposeReview(t, h, overwriteEmail)
	path := batch.Path(id)
	edited := strings.Replace(h.branchFile("crmops/"+id, path), "after: Founder", "after: Co-founder", 1)
	h.pushBranch("crmops/"+id, "carol", map[string]string{path: edited})
	h.expectAs("bob", 0, []string{"review", "approve", id})
	h.expectAs("alice", 0, []string{"merge", id})
	h.ok("", "apply")
	rc := h.receipt(id)
	if len(rc.Modified) != 1 || !strings.HasPrefix(rc.Modified[0].By, "carol") || len(rc.Modified[0].Changes) != 1 || rc.Modified[0].Changes[0] != "c1" {
		t.Fatalf("receipt modified = %+v, want carol's edit of c1", rc.Modified)
	}
	h.expect(0, "", []string{"audit", "contacts/101"}, "modified before the merge by carol")
}

// removeFromMain commits the removal of paths straight onto the remote's
// main branch, as git rm and a push by someone without review would.
func (h *harness) removeFromMain(message string, paths ...string) {
	h.t.Helper()
	ws := h.workspace()
	who := gitrepo.Identity{Name: "mallory", Email: "mallory@example.com", When: h.clock}
	_, err := ws.UpdateBase(context.Background(), func(base gitrepo.Hash) (gitrepo.Hash, error) {
		return ws.Git.CommitTree(gitrepo.CommitOptions{Base: base, Parents: []gitrepo.Hash{base}, Delete: paths, Message: message, Author: who, Committer: who})
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func TestBatchIDsStayUniqueWithinOneSecond(t *testing.T) {
	h := newTrustHarness(t)
	fill := `{"kind":"enrichment","trigger":"import","object":"contacts","record":"101","op":"set","field":"jobtitle","before":"","after":"CEO","source":"clay","confidence":0.99}` + "\n"
	clock := h.clock
	first := h.propose(fill)
	h.ok("", "apply")
	h.clock = clock // the same second again, as a run beside the first would see
	second := h.propose(fill)
	if len(second) != 1 || second[0].Batch == first[0].Batch || second[0].State != "merged" {
		t.Fatalf("second run proposed %+v, want its own batch (the first was %s), merged", second, first[0].Batch)
	}
	h.expect(0, "", []string{"apply"}, second[0].Batch, "already_applied")
}
