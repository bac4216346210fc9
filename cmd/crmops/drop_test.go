package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
)

// Two pairs of duplicates the dedupe detector merges, and one record
// without a twin.
const duplicatesCSV = `id,email,firstname,lastname,jobtitle,phone,company
3001,ann.lee@acme.io,Ann,Lee,,+1 555 0101,c-1
3002,ANN.LEE@acme.io,Ann,Lee,Founder,+1 555 0101,c-1
3003,bo.ray@beta.io,Bo,Ray,,+1 555 0202,c-2
3004,bo.ray@beta.io,Bo,Ray,CTO,+1 555 0202,c-2
3005,cy.dee@gamma.io,Cy,Dee,Engineer,,c-3
`

func TestDroppingAMergeOnTheLocalForge(t *testing.T) { testDroppingAMerge(t, "local") }

// The same on GitHub: the drop is a push to the pull request's branch, and
// the pull request follows it.
func TestDroppingAMergeOnGitHub(t *testing.T) { testDroppingAMerge(t, "github") }

// A reviewer drops one merge of a detected batch (with the sets that keep
// its survivor's values, if the detector wrote any), approves what is left
// as the same person, and it merges and applies: the dropped merge never
// runs, the receipt and audit say who dropped it, and detect does not
// propose it again.
func testDroppingAMerge(t *testing.T, forgeKind string) {
	h := newHarness(t)
	h.forge = forgeKind
	h.env["CRMOPS_LOGIN"] = ""
	h.initRepo()
	cfg := readFile(t, filepath.Join(h.dir, "crmops.yaml"))
	if !strings.Contains(cfg, "detectors: {}") {
		t.Fatalf("crmops.yaml configures detectors already:\n%s", cfg)
	}
	h.pushToMain("detect duplicates\n", map[string]string{"crmops.yaml": strings.Replace(cfg, "detectors: {}", "detectors:\n  dedupe: {}\n", 1)})
	h.ok("", "review", "list")
	h.importCSV("contacts", duplicatesCSV)

	var found []proposed
	h.jsonOut(&found, "", "detect", "--detector", "dedupe", "--json")
	if len(found) != 1 || found[0].Decision != "review" {
		t.Fatalf("detect proposed %+v, want one dedupe batch for review", found)
	}
	id := found[0].Batch
	proposedBatch, err := batch.Decode(batch.Path(id), []byte(readBranchFile(t, h, id)))
	if err != nil {
		t.Fatal(err)
	}
	var merges []batch.Change
	for _, c := range proposedBatch.Changes {
		if c.Op == batch.OpMerge {
			merges = append(merges, c)
		}
	}
	if len(merges) != 2 {
		t.Fatalf("the batch has %d merges, want 2:\n%s", len(merges), readBranchFile(t, h, id))
	}
	dropped, kept := merges[0], merges[1]
	gone := append([]string{dropped.ID}, proposedBatch.Followers(dropped.ID)...)

	t.Run("what cannot be dropped is refused and changes nothing", func(t *testing.T) {
		before := readBranchFile(t, h, id)
		h.expectAs("alice", exitError, []string{"review", "drop", id, dropped.ID, "c99"}, "c99", "no such change")
		var all []string
		for _, c := range proposedBatch.Changes {
			all = append(all, c.ID)
		}
		h.expectAs("alice", exitError, append([]string{"review", "drop", id}, all...), "reject the proposal instead")
		h.expectAs("alice", exitUsage, []string{"review", "drop", id})
		if readBranchFile(t, h, id) != before {
			t.Fatal("a refused drop changed the proposal")
		}
	})

	t.Run("the reviewer drops a merge and its followers go with it", func(t *testing.T) {
		h.expectAs("alice", 0, []string{"review", "drop", id, dropped.ID, "--reason", "not the same person"},
			"Dropped "+strings.Join(gone, ", "), "Recorded as rejected", "you may approve the new one")
		now, err := batch.Decode(batch.Path(id), []byte(readBranchFile(t, h, id)))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range now.Changes {
			if slices.Contains(gone, c.ID) {
				t.Errorf("change %s is still proposed", c.ID)
			}
		}
		if len(now.Changes) != len(proposedBatch.Changes)-len(gone) {
			t.Errorf("%d changes left of %d, want all but %v", len(now.Changes), len(proposedBatch.Changes), gone)
		}
		if h.forge == "github" {
			head, err := h.workspace().Git.Ref("refs/remotes/origin/crmops/" + id)
			if err != nil {
				t.Fatal(err)
			}
			if pr := h.gh.PR(found[0].PullRequest); pr.HeadSHA != head.String() {
				t.Errorf("the pull request is at %s, the branch at %s", pr.HeadSHA, head)
			}
		}
	})

	t.Run("the dropper approves the new head, and it merges and applies without the dropped merge", func(t *testing.T) {
		h.expectAs("alice", 0, []string{"review", "approve", id}, "1 approval(s)", "It can be merged now")
		h.expectAs("bob", 0, []string{"merge", id}, "(approved)")
		h.ok("", "apply")
		if got := h.field("contacts", dropped.MergeFrom, "merged_into"); got != "" {
			t.Errorf("contacts/%s was merged into %s: the dropped merge ran", dropped.MergeFrom, got)
		}
		if got := h.field("contacts", kept.MergeFrom, "merged_into"); got != kept.Record {
			t.Errorf("contacts/%s merged_into = %q, want %s", kept.MergeFrom, got, kept.Record)
		}
		rc := h.receipt(id)
		for _, c := range gone {
			if _, ok := rc.Result(c); ok {
				t.Errorf("the receipt has a result for the dropped change %s", c)
			}
		}
		if st, _ := rc.Result(kept.ID); st.Status != batch.StatusApplied {
			t.Errorf("kept merge %s is %q, want applied", kept.ID, st.Status)
		}
		if rc.Approval.Mode != batch.ModeApproved || len(rc.Approval.Approvers) != 1 || rc.Approval.Approvers[0].Login != "alice" {
			t.Errorf("receipt approval %+v, want approved by alice, who dropped", rc.Approval)
		}
		if len(rc.Modified) != 1 || rc.Modified[0].By != "alice" || !slices.Equal(rc.Modified[0].Changes, sorted(gone)) {
			t.Errorf("receipt modified %+v, want alice dropping %v", rc.Modified, gone)
		}
		h.expect(0, "", []string{"review", "show", id}, "by alice before the merge")
	})

	t.Run("audit shows the dropped merge as rejected, by whom and why", func(t *testing.T) {
		var entries []map[string]any
		h.jsonOut(&entries, "", "audit", "contacts/"+dropped.Record, "--json")
		var hit bool
		for _, e := range entries {
			if e["change"] == dropped.ID && e["op"] == "merge" && e["merge_from"] == dropped.MergeFrom {
				hit = true
				reason := fmt.Sprint(e["reason"])
				if e["decision"] != "rejected" || !strings.Contains(reason, "alice") || !strings.Contains(reason, "not the same person") || !strings.Contains(reason, id) {
					t.Errorf("audit entry %v, want rejected, naming alice, the batch and the reason", e)
				}
			}
		}
		if !hit {
			out, _ := json.MarshalIndent(entries, "", "  ")
			t.Errorf("audit of contacts/%s has no entry for the dropped merge:\n%s", dropped.Record, out)
		}
	})

	t.Run("the dropped merge is not proposed again", func(t *testing.T) {
		var again []proposed
		h.jsonOut(&again, "", "detect", "--detector", "dedupe", "--json")
		for _, p := range again {
			b, err := batch.Decode(batch.Path(p.Batch), []byte(readBranchFile(t, h, p.Batch)))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range b.Changes {
				if c.Touches("contacts", dropped.Record) && c.Touches("contacts", dropped.MergeFrom) {
					t.Errorf("detect proposed the dropped merge again in %s: %+v", p.Batch, c)
				}
			}
		}
		line := fmt.Sprintf(`{"kind":"dedupe","object":"contacts","record":%q,"op":"merge","merge_from":%q,"source":"dedupe","confidence":0.99,"trigger":"rule"}`+"\n",
			dropped.Record, dropped.MergeFrom)
		if got := h.propose(line); len(got) != 0 {
			t.Errorf("propose proposed the dropped merge again: %+v", got)
		}
	})
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
