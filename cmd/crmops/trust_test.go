package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
)

// Tests of the gate tried as an adversary would: each proposes or pushes
// what a hostile proposer could, and checks the CRM, the receipt and what
// crmops says.

const trustContacts = `id,email,firstname,lastname,jobtitle,owner,email_status
101,ann@acme.com,Ann,Lee,,o-1,
102,bob@acme.com,Bob,Ray,,o-2,
103,cy@acme.com,Cy,Dee,,o-2,
`

func newTrustHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.env["CRMOPS_LOGIN"] = ""
	h.initRepo()
	h.importCSV("contacts", trustContacts)
	return h
}

func TestALabelDoesNotMakeAChangeAuto(t *testing.T) {
	tests := []struct {
		name, change, field, want string
	}{
		{"a lifecycle change on an event that overwrites an email",
			`{"kind":"lifecycle","trigger":"event","object":"contacts","record":"102","op":"set","field":"email","before":"bob@acme.com","after":"attacker@evil.example","source":"x","confidence":0.01,"reason":"r"}`,
			"email", "bob@acme.com"},
		{"an email verification aimed at the owner field",
			`{"kind":"email_verification","trigger":"import","object":"contacts","record":"102","op":"set","field":"owner","before":"o-2","after":"valid","source":"x","confidence":1}`,
			"owner", "o-2"},
		{"an enrichment that fills nothing but claims to",
			`{"kind":"enrichment","trigger":"import","object":"contacts","record":"102","op":"set","field":"owner","before":"o-2","after":"o-9","source":"clay","confidence":1}`,
			"owner", "o-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is never applied without a person", func(t *testing.T) {
			h := newTrustHarness(t)
			r := h.run(tt.change+"\n", "propose", "--json")
			if r.code != 0 {
				t.Fatalf("propose: exit %d\n%s%s", r.code, r.out, r.err)
			}
			for _, p := range h.propose("") {
				if p.Decision == "auto" {
					t.Errorf("proposed as auto: %+v", p)
				}
			}
			h.ok("", "apply")
			if got := h.field("contacts", "102", tt.field); got != tt.want {
				t.Errorf("contacts/102 %s = %q after apply, want %q unchanged", tt.field, got, tt.want)
			}
		})
	}
	t.Run("a kind writing a field it may not write is refused with the policy key that says so", func(t *testing.T) {
		h := newTrustHarness(t)
		h.expect(0, tests[0].change+"\n", []string{"propose"}, "denied contacts/102.email", policy.RuleFieldKind, "fields.lifecycle")
	})
}

// proposeOne proposes one change for review and returns its batch id.
func proposeReview(t *testing.T, h *harness, change string) string {
	t.Helper()
	ps := h.propose(change + "\n")
	if len(ps) != 1 || ps[0].Decision != "review" || ps[0].State != "open" {
		t.Fatalf("proposed %+v, want one open review batch", ps)
	}
	return ps[0].Batch
}

const overwriteEmail = `{"kind":"enrichment","trigger":"import","object":"contacts","record":"101","op":"set","field":"jobtitle","before":"","after":"Founder","source":"clay","confidence":0.5}`

func TestWhoeverChangedABatchCannotApproveIt(t *testing.T) {
	h := newTrustHarness(t)
	id := proposeReview(t, h, overwriteEmail)
	path := batch.Path(id)
	// mallory, who can push, rewrites the change to a value of her own.
	content := strings.Replace(h.branchFile("crmops/"+id, path), "after: Founder", "after: Mallory was here", 1)
	h.pushBranch("crmops/"+id, "mallory", map[string]string{path: content})

	h.expectAs("mallory", exitError, []string{"review", "approve", id}, "cannot review")
	h.expectAs("mallory", exitError, []string{"merge", id}, "needs 1 approval")
	h.expectAs("crmops", exitError, []string{"review", "approve", id}, "cannot review")
	h.expectAs("bob", 0, []string{"review", "approve", id})
	h.expectAs("mallory", 0, []string{"merge", id})
	h.ok("", "apply")
	if got := h.field("contacts", "101", "jobtitle"); got != "Mallory was here" {
		t.Fatalf("jobtitle = %q, want the approved edit", got)
	}
	rc := h.receipt(id)
	if len(rc.Approval.Approvers) != 1 || rc.Approval.Approvers[0].Login != "bob" {
		t.Errorf("approvers = %+v, want only bob", rc.Approval.Approvers)
	}
}

func TestOnePersonIsOneApprovalWhateverTheCaseOfTheirLogin(t *testing.T) {
	h := newTrustHarness(t)
	h.pushToMain("two approvals\n", map[string]string{policy.Path: strings.Replace(policy.Default, "approvals: 1 ", "approvals: 2 ", 1)})
	id := proposeReview(t, h, overwriteEmail)
	h.expectAs("bob", 0, []string{"review", "approve", id})
	h.expectAs("BOB", 0, []string{"review", "approve", id})
	h.expectAs("alice", exitError, []string{"merge", id}, "needs 2 approval(s)", "has 1")
	h.expectAs("carol", 0, []string{"review", "approve", id})
	h.expectAs("alice", 0, []string{"merge", id})
}

func TestLimitsBindABatchPushedByHand(t *testing.T) {
	h := newTrustHarness(t)
	h.pushToMain("small limits\n", map[string]string{policy.Path: strings.NewReplacer(
		"max_changes_per_batch: 1000", "max_changes_per_batch: 4 ",
		"max_auto_changes_per_run: 500", "max_auto_changes_per_run: 2  ").Replace(policy.Default)})
	var changes strings.Builder
	for i := range 3 {
		fmt.Fprintf(&changes, "  - id: c%d\n    kind: enrichment\n    object: contacts\n    record: \"%d\"\n    op: set\n    field: jobtitle\n    before: \"\"\n    after: CEO\n    source: clay\n    confidence: 0.99\n", i+1, 101+i)
	}
	id := "hand-made-fills"
	path := batch.Path(id)
	content := batchFile(id, changes.String())
	h.pushBranch("crmops/"+id, "crmops", map[string]string{path: content})
	h.expect(exitError, "", []string{"merge", id}, "limits.max_auto_changes_per_run (2)")

	t.Run("apply refuses it too when it reaches main with an auto claim", func(t *testing.T) {
		head := h.branchHead("crmops/" + id)
		h.pushToMain("Merge batch "+id+"\n\nCrmops-Batch: "+id+"\nCrmops-Decision: auto\n", map[string]string{path: content}, head)
		h.expect(exitProblem, "", []string{"apply"}, "no approval evidence")
		if got := h.field("contacts", "101", "jobtitle"); got != "" {
			t.Errorf("jobtitle = %q, want nothing applied", got)
		}
	})
}

func TestABatchDatedInTheFutureNeitherHidesItsMergeNorPassesCheck(t *testing.T) {
	h := newTrustHarness(t)
	id := "from-the-future"
	path := batch.Path(id)
	content := strings.Replace(batchFile(id, fillChange), "created: 2026-11-24T06:00:00Z", "created: 2099-01-01T00:00:00Z", 1)
	content = strings.Replace(content, `record: "1004"`, `record: "101"`, 1)
	h.writeFile("future.yaml", content)
	h.pushBranch("crmops/"+id, "crmops", map[string]string{path: content})
	h.ok("", "merge", id)
	h.expect(0, "", []string{"apply"}, "1 applied")
	if got := h.field("contacts", "101", "phone"); got != "+1 555 0100" {
		t.Errorf("phone = %q: a future created time kept a merged batch from running", got)
	}
	h.expect(exitInvalid, "", []string{"check", filepath.Join(h.dir, path)}, path+":3: created:")
}

func TestUntrustedProposersNeitherLockRecordsNorSuppressProposals(t *testing.T) {
	h := newTrustHarness(t)
	// A policy whose auto rules trust only crmops, on the local forge.
	h.pushToMain("trust crmops\n", map[string]string{policy.Path: policy.DefaultFor([]string{"crmops"})})
	fill := `{"kind":"enrichment","trigger":"import","object":"contacts","record":"102","op":"set","field":"jobtitle","before":"","after":"CTO","source":"clay","confidence":0.99}`
	var mine []proposed
	h.jsonOut(&mine, fill+"\n", "propose", "--json", "--as", "mallory")
	if len(mine) != 1 || mine[0].Decision != "review" {
		t.Fatalf("mallory's fill: %+v, want one review batch (she is not a trusted proposer)", mine)
	}
	// Her open proposal does not keep the genuine one off the record.
	genuine := fill
	genuine = strings.Replace(genuine, `"record":"102"`, `"record":"102"`, 1)
	ps := h.propose(strings.Replace(genuine, "CTO", "Chief Technology Officer", 1) + "\n")
	if len(ps) != 1 || ps[0].State != "merged" {
		t.Fatalf("genuine fill: %+v, want it proposed and merged though mallory's proposal is open", ps)
	}
	// Rejecting hers records nothing that would suppress the same change.
	h.expectAs("bob", 0, []string{"review", "reject", mine[0].Batch, "--reason", "no"}, "not recorded as a rejection")
	if _, err := os.Stat(filepath.Join(h.dir, batch.RejectionPath(batch.Path(mine[0].Batch)))); err == nil {
		t.Error("a rejection of an untrusted proposal was recorded")
	}
}

func TestAFrozenRepositoryMergesNothingAutomatically(t *testing.T) {
	h := newTrustHarness(t)
	h.pushToMain("freeze\n", map[string]string{policy.Path: strings.Replace(policy.Default, "# freeze: true ", "freeze: true   ", 1)})
	ps := h.propose(`{"kind":"enrichment","trigger":"import","object":"contacts","record":"101","op":"set","field":"jobtitle","before":"","after":"CEO","source":"clay","confidence":0.99}` + "\n")
	if len(ps) != 1 || ps[0].Decision != "review" || ps[0].State != "open" {
		t.Fatalf("proposed %+v under a freeze, want one open review batch", ps)
	}
	h.expect(0, "", []string{"review", "list"}, "frozen")
}

// branchHead is the remote's tip of branch.
func (h *harness) branchHead(branch string) gitrepo.Hash {
	h.t.Helper()
	ws := h.workspace()
	if _, err := ws.Sync(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	head, err := ws.Git.Ref("refs/remotes/origin/" + branch)
	if err != nil {
		h.t.Fatal(err)
	}
	return head
}

// branchFile reads path at the remote's tip of branch.
func (h *harness) branchFile(branch, path string) string {
	h.t.Helper()
	data, err := h.workspace().Git.ReadFile(h.branchHead(branch), path)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(data)
}
