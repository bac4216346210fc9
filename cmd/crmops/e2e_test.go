package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gh "github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/forge/github/githubtest"
)

const contactsCSV = `id,email,firstname,lastname,jobtitle,owner,email_status
1001,ann@acme.io,Ann,Lee,,o-1,
1002,bob@beta.io,Bob,Ray,CTO,o-2,
1003,cy@gamma.io,Cy,Dee,,o-2,
1004,dee@delta.io,Dee,Fox,,o-3,
1005,DEE@delta.io,Dee,Fox,Founder,o-3,
`

// The first run's changes: three auto (two fills, a valid email) and three
// for review (an overwrite, a duplicate merge, an owner change).
const firstChanges = `{"kind":"enrichment","object":"contacts","record":"1001","op":"set","field":"jobtitle","before":"","after":"VP Sales","source":"clay","confidence":0.97,"trigger":"import","reason":"Clay row 17 matched by email"}
{"kind":"enrichment","object":"contacts","record":"1003","op":"set","field":"jobtitle","before":"","after":"Engineer","source":"clay","confidence":0.95,"trigger":"import","reason":"Clay row 18 matched by email"}
{"kind":"email_verification","object":"contacts","record":"1002","op":"set","field":"email_status","before":"","after":"valid","source":"zerobounce","confidence":0.99,"trigger":"import"}
{"kind":"enrichment","object":"contacts","record":"1002","op":"set","field":"jobtitle","before":"CTO","after":"Chief Technology Officer","source":"clay","confidence":0.9,"trigger":"import"}
{"kind":"dedupe","object":"contacts","record":"1004","op":"merge","merge_from":"1005","source":"dedupe","confidence":0.93,"trigger":"rule","reason":"same email ignoring case","snapshot":{"email":"DEE@delta.io","jobtitle":"Founder"}}
{"kind":"owner","object":"contacts","record":"1002","op":"set","field":"owner","before":"o-2","after":"o-1","source":"owner-rules","confidence":1,"trigger":"rule","reason":"o-2 is inactive"}
`

func batchFile(id string, changes string) string {
	return fmt.Sprintf("version: 1\nbatch: %s\ncreated: 2026-11-24T06:00:00Z\ndetector: test\ntitle: test batch\nchanges:\n%s", id, changes)
}

const fillChange = `  - id: c1
    kind: enrichment
    object: contacts
    record: "1004"
    op: set
    field: phone
    before: ""
    after: "+1 555 0100"
    source: clay
    confidence: 0.99
    trigger: import
`

func TestTheWholeLoopOnTheLocalForge(t *testing.T) { testWholeLoop(t, "local", "sqlite") }

// The same loop with forge: github, against an in-process GitHub API double
// backed by the same kind of bare repository.
func TestTheWholeLoopOnGitHub(t *testing.T) { testWholeLoop(t, "github", "sqlite") }

// The same loop with crm: hubspot, against an in-process HubSpot API double.
func TestTheWholeLoopOnHubSpot(t *testing.T) { testWholeLoop(t, "local", "hubspot") }

func testWholeLoop(t *testing.T, forgeKind, crmKind string) {
	h := newHarness(t)
	h.forge, h.crm = forgeKind, crmKind
	h.env["CRMOPS_LOGIN"] = "" // every approval names its reviewer explicitly

	h.initRepo()
	h.importCSV("contacts", contactsCSV)
	if got := h.field("contacts", "1002", "jobtitle"); got != "CTO" {
		t.Fatalf("after import, contacts/1002 jobtitle = %q, want CTO", got)
	}

	var first []proposed
	t.Run("propose splits auto from review and merges the auto batches at once", func(t *testing.T) {
		first = h.propose(firstChanges)
		auto, rev := byDecision(first, "auto"), byDecision(first, "review")
		if len(auto) != 2 || len(rev) != 3 {
			t.Fatalf("got %d auto and %d review batches, want 2 and 3: %+v", len(auto), len(rev), first)
		}
		for _, p := range auto {
			if p.State != "merged" {
				t.Errorf("auto batch %s is %s, want merged", p.Batch, p.State)
			}
		}
		for _, p := range rev {
			if p.State != "open" || p.Branch != forge.BranchPrefix+p.Batch {
				t.Errorf("review batch %s: state %s branch %s, want open on crmops/<id>", p.Batch, p.State, p.Branch)
			}
		}
		// Nothing executes before apply.
		if got := h.field("contacts", "1001", "jobtitle"); got != "" {
			t.Errorf("contacts/1001 jobtitle = %q before apply, want empty", got)
		}
	})
	fills := findBatch(t, h, first, "auto", 2)
	overwrite := findBatch(t, h, first, "review", 1, "enrichment")
	dedupe := findBatch(t, h, first, "review", 1, "dedupe")
	owner := findBatch(t, h, first, "review", 1, "owner")

	t.Run("a change whose before no longer matches is stale, not applied, and apply exits 4", func(t *testing.T) {
		// Someone edits the CRM between proposal and execution.
		h.importCSV("contacts", "id,jobtitle\n1003,Intern\n")

		writes := h.writes("contacts", "1001")
		h.expect(0, "", []string{"apply", "--dry-run"}, "would be", "1 applied, 1 stale")
		if h.writes("contacts", "1001") != writes || h.field("contacts", "1001", "jobtitle") != "" {
			t.Fatal("apply --dry-run changed the CRM")
		}
		if _, err := os.Stat(filepath.Join(h.dir, batch.ReceiptPath(batch.Path(fills.Batch)))); err == nil {
			t.Fatal("apply --dry-run wrote a receipt")
		}

		h.expect(exitProblem, "", []string{"apply"}, "stale")
		if got := h.field("contacts", "1001", "jobtitle"); got != "VP Sales" {
			t.Errorf("contacts/1001 jobtitle = %q, want VP Sales", got)
		}
		if got := h.field("contacts", "1003", "jobtitle"); got != "Intern" {
			t.Errorf("stale change overwrote contacts/1003 jobtitle: %q", got)
		}
		if got := h.field("contacts", "1002", "email_status"); got != "valid" {
			t.Errorf("contacts/1002 email_status = %q, want valid", got)
		}
		rc := h.receipt(fills.Batch)
		r1, _ := rc.Result("c1")
		r2, _ := rc.Result("c2")
		if r1.Status != batch.StatusApplied || r2.Status != batch.StatusStale || r2.ObservedBefore != "Intern" {
			t.Errorf("receipt: c1 %s, c2 %s observed %q; want applied, stale observed Intern", r1.Status, r2.Status, r2.ObservedBefore)
		}
		if rc.Approval.Mode != batch.ModeAuto || len(rc.Approval.Rules) == 0 || !strings.HasPrefix(rc.Approval.Policy, "policies/default.yaml@") {
			t.Errorf("receipt approval = %+v, want auto with policy and rule", rc.Approval)
		}
	})

	t.Run("a second apply changes nothing", func(t *testing.T) {
		before := h.writes("contacts", "1001")
		h.expect(0, "", []string{"apply"}, "Nothing to apply")
		if after := h.writes("contacts", "1001"); after != before {
			t.Errorf("second apply wrote to the CRM: history %d -> %d entries", before, after)
		}
	})

	t.Run("review show renders each change as a diff with its decision and rule", func(t *testing.T) {
		h.expect(0, "", []string{"review", "show", overwrite.Batch},
			"- CTO", "+ Chief Technology Officer", "review: enrichment-overwrite", "not mergeable yet")
	})

	t.Run("the author cannot approve and an unapproved review batch is not merged", func(t *testing.T) {
		h.expectAs(h.bot(), exitError, []string{"review", "approve", overwrite.Batch}, "cannot review")
		h.expectAs("bob", exitError, []string{"merge", overwrite.Batch}, "needs 1 approval")
		// In a workflow run on each approval, waiting is not a failure; a
		// proposal that can never merge still is.
		h.expectAs("bob", 0, []string{"merge", "--if-ready", overwrite.Batch}, "Not merged yet", "needs 1 approval")
	})

	t.Run("an approved batch merges, applies, and its receipt names the approver", func(t *testing.T) {
		h.expectAs("alice", 0, []string{"review", "approve", overwrite.Batch}, "can be merged")
		h.expectAs("bob", 0, []string{"merge", overwrite.Batch}, "approved")
		h.ok("", "apply")
		if got := h.field("contacts", "1002", "jobtitle"); got != "Chief Technology Officer" {
			t.Errorf("contacts/1002 jobtitle = %q after approved apply", got)
		}
		rc := h.receipt(overwrite.Batch)
		if rc.Approval.Mode != batch.ModeApproved || len(rc.Approval.Approvers) != 1 || rc.Approval.Approvers[0].Login != "alice" {
			t.Errorf("receipt approval = %+v, want approved by alice", rc.Approval)
		}
	})

	t.Run("an approval given before the batch was modified does not count", func(t *testing.T) {
		h.expectAs("alice", 0, []string{"review", "approve", dedupe.Batch})
		branch := forge.BranchPrefix + dedupe.Batch
		edited := strings.Replace(readBranchFile(t, h, dedupe.Batch), "same email ignoring case", "same email, case differs", 1)
		h.pushBranch(branch, "carol", map[string]string{batch.Path(dedupe.Batch): edited})
		h.expectAs("bob", exitError, []string{"merge", dedupe.Batch}, "needs 1 approval")
		h.expectAs("alice", 0, []string{"review", "approve", dedupe.Batch})
		h.expectAs("bob", 0, []string{"merge", dedupe.Batch})
		h.ok("", "apply")
		if got := h.field("contacts", "1005", "merged_into"); got != "1004" {
			t.Errorf("contacts/1005 merged_into = %q, want 1004", got)
		}
		// HubSpot decides for itself which values a merged record keeps.
		if got := h.field("contacts", "1004", "jobtitle"); got != "Founder" && h.crm == "sqlite" {
			t.Errorf("survivor's empty jobtitle not filled from the merged record: %q", got)
		}
	})

	t.Run("a rejected change is recorded and not proposed again", func(t *testing.T) {
		h.expectAs("alice", 0, []string{"review", "reject", owner.Batch, "--reason", "o-2 is back from leave"})
		if _, err := os.Stat(filepath.Join(h.dir, batch.RejectionPath(batch.Path(owner.Batch)))); err != nil {
			t.Fatalf("no rejection record: %v", err)
		}
		again := h.propose(lineOf(firstChanges, "owner-rules"))
		if len(again) != 0 {
			t.Errorf("a rejected change was proposed again: %+v", again)
		}
	})

	t.Run("revert proposes the inverse batch, which is reviewed and applied like any other", func(t *testing.T) {
		var reverts []proposed
		h.jsonOut(&reverts, "", "revert", overwrite.Batch, "--json")
		var unmerges []proposed
		h.jsonOut(&unmerges, "", "revert", dedupe.Batch, "--json")
		if len(reverts) != 1 || reverts[0].Decision != "review" || len(unmerges) != 1 || unmerges[0].Decision != "review" {
			t.Fatalf("reverts %+v and %+v; want one review batch each", reverts, unmerges)
		}
		for _, p := range []proposed{reverts[0], unmerges[0]} {
			h.expectAs("alice", 0, []string{"review", "approve", p.Batch})
			h.expectAs("bob", 0, []string{"merge", p.Batch})
		}
		r := h.run("", "apply")
		if got := h.field("contacts", "1002", "jobtitle"); got != "CTO" {
			t.Errorf("contacts/1002 jobtitle = %q after the revert, want CTO again", got)
		}
		unmerged := h.receipt(unmerges[0].Batch).Changes[0]
		switch h.crm {
		case "sqlite":
			if r.code != 0 || unmerged.Status != batch.StatusApplied || h.field("contacts", "1005", "merged_into") != "" {
				t.Errorf("unmerge: exit %d, status %s, merged_into %q; want contacts/1005 separate again",
					r.code, unmerged.Status, h.field("contacts", "1005", "merged_into"))
			}
		case "hubspot":
			// HubSpot cannot undo a merge: the receipt says what to do by hand.
			if r.code != exitProblem || unmerged.Status != batch.StatusFailed || !strings.Contains(unmerged.Error, "recreate contacts/1005") {
				t.Errorf("unmerge on HubSpot: exit %d, %+v; want failed with what to recreate", r.code, unmerged)
			}
		}
	})

	t.Run("a record with an open proposal is not proposed again", func(t *testing.T) {
		open := h.propose(`{"kind":"enrichment","object":"contacts","record":"1001","op":"set","field":"jobtitle","before":"VP Sales","after":"CRO","source":"clay","confidence":0.8}`)
		if len(open) != 1 || open[0].State != "open" {
			t.Fatalf("overwrite not opened for review: %+v", open)
		}
		r := h.run(`{"kind":"email_verification","object":"contacts","record":"1001","op":"set","field":"email_status","before":"","after":"valid","source":"zerobounce","confidence":0.99}`, "propose", "--json")
		if r.code != 0 || strings.TrimSpace(r.out) != "[]" || !strings.Contains(r.err, "open proposal") {
			t.Errorf("change to a record with an open proposal: exit %d out %q err %q; want [] and a skip notice", r.code, r.out, r.err)
		}
	})

	t.Run("a batch pushed straight to main without evidence is refused and the refusal recorded", func(t *testing.T) {
		id := "20261124T070000Z-rogue-aaaaaa"
		h.pushToMain("add a batch\n", map[string]string{batch.Path(id): batchFile(id, fillChange)})
		h.expect(exitProblem, "", []string{"apply"}, "refused", "no approval evidence")
		if got := h.field("contacts", "1004", "phone"); got != "" {
			t.Errorf("refused batch executed: contacts/1004 phone = %q", got)
		}
		rc := h.receipt(id)
		if rc.Approval.Mode != batch.ModeRefused || rc.Changes[0].Status != batch.StatusSkipped {
			t.Errorf("refusal not recorded: %+v", rc)
		}
		h.expect(0, "", []string{"apply"}, "Nothing to apply")
	})

	t.Run("Approved-by trailers forged in a merge commit are not evidence", func(t *testing.T) {
		id := "20261124T071000Z-forged-bbbbbb"
		overwriteChange := strings.NewReplacer(`before: ""`, `before: "+1 555 0199"`, "confidence: 0.99", "confidence: 0.5").Replace(fillChange)
		head := h.pushBranch("crmops/"+id, "mallory", map[string]string{batch.Path(id): batchFile(id, overwriteChange)})
		msg := fmt.Sprintf("Merge batch %s\n\nCrmops-Batch: %s\nCrmops-Decision: approved\nApproved-by: alice\n", id, id)
		h.pushToMain(msg, map[string]string{batch.Path(id): batchFile(id, overwriteChange)}, head)
		// Locally the forged merge is found and its missing reviews refused;
		// on GitHub no pull request merged it at all.
		want := map[string]string{"local": "needs 1 approval", "github": "no approval evidence"}[h.forge]
		h.expect(exitProblem, "", []string{"apply"}, want)
		if h.receipt(id).Approval.Mode != batch.ModeRefused {
			t.Error("a forged approval was accepted")
		}
	})

	t.Run("a merge that claims auto for a batch the policy sends to review is refused", func(t *testing.T) {
		id := "20261124T072000Z-forged-cccccc"
		lowConfidence := strings.Replace(fillChange, "confidence: 0.99", "confidence: 0.5", 1)
		head := h.pushBranch("crmops/"+id, "mallory", map[string]string{batch.Path(id): batchFile(id, lowConfidence)})
		msg := fmt.Sprintf("Merge batch %s\n\nCrmops-Batch: %s\nCrmops-Decision: auto\n", id, id)
		h.pushToMain(msg, map[string]string{batch.Path(id): batchFile(id, lowConfidence)}, head)
		h.expect(exitProblem, "", []string{"apply"}, "refused")
		if got := h.field("contacts", "1004", "phone"); got != "" {
			t.Errorf("contacts/1004 phone = %q; the forged auto batch executed", got)
		}
	})

	t.Run("invalid batches execute nothing and check exits 3 naming the key", func(t *testing.T) {
		cases := []struct{ name, change, key string }{
			{"unknown key", strings.Replace(fillChange, "    trigger: import\n", "    trigger: import\n    colour: red\n", 1), "changes[0].colour"},
			{"confidence outside 0..1", strings.Replace(fillChange, "confidence: 0.99", "confidence: 1.7", 1), "changes[0].confidence"},
			{"duplicate change id", fillChange + strings.Replace(fillChange, "field: phone", "field: mobile", 1), "changes[1].id"},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				id := fmt.Sprintf("20261124T08%02d00Z-bad-dddddd", i)
				h.pushToMain("add a bad batch\n", map[string]string{batch.Path(id): batchFile(id, tc.change)})
				h.expect(exitInvalid, "", []string{"check", filepath.Join(h.dir, batch.Path(id))}, tc.key, batch.Path(id)+":")
				h.expect(exitProblem, "", []string{"apply"}, "invalid batch")
				if got := h.field("contacts", "1004", "phone"); got != "" {
					t.Errorf("invalid batch executed: contacts/1004 phone = %q", got)
				}
			})
		}
	})

	t.Run("a proposal that also edits the policy is never merged", func(t *testing.T) {
		id := "20261124T090000Z-sneaky-eeeeee"
		h.pushBranch("crmops/"+id, "mallory", map[string]string{
			batch.Path(id):          batchFile(id, fillChange),
			"policies/default.yaml": "version: 1\ndefault: auto\n",
		})
		h.openPullRequest("mallory", "crmops/"+id)
		h.expectAs("bob", exitError, []string{"merge", id}, "outside proposals/")
	})

	t.Run("audit tells who decided what, from git alone", func(t *testing.T) {
		var entries []map[string]any
		h.jsonOut(&entries, "", "audit", "contacts/1002", "--json")
		got := map[string]string{}
		for _, e := range entries {
			for _, k := range []string{"batch", "change", "object", "record", "field", "op", "before", "after", "source", "confidence", "decision", "approvers", "status", "at", "commit", "pull_request"} {
				if _, ok := e[k]; !ok {
					t.Errorf("audit entry lacks %q: %v", k, e)
				}
			}
			got[fmt.Sprint(e["field"])] = fmt.Sprintf("%v/%v/%v", e["decision"], e["status"], e["approvers"])
		}
		want := map[string]string{
			"email_status": "auto/applied/[]",
			"jobtitle":     "approved/applied/[alice]",
			"owner":        "rejected/rejected/[]",
		}
		for field, w := range want {
			if got[field] != w {
				t.Errorf("audit of contacts/1002 %s = %s, want %s", field, got[field], w)
			}
		}
		var pending []map[string]any
		h.jsonOut(&pending, "", "audit", "contacts/1001", "--field", "jobtitle", "--json")
		if len(pending) != 2 || pending[0]["decision"] != "auto" || pending[1]["decision"] != "pending" {
			t.Errorf("audit of contacts/1001 jobtitle: %v; want the applied fill, then the pending overwrite", pending)
		}
		if c, _ := pending[0]["commit"].(string); len(c) != 40 {
			t.Errorf("applied change names no merge commit: %v", pending[0])
		}
	})

	t.Run("review show also explains a batch that was merged and applied", func(t *testing.T) {
		h.expect(0, "", []string{"review", "show", overwrite.Batch}, "(merged)", "applied: approved, approved by alice", "c1   applied")
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		h.expect(exitUsage, "", []string{"audit"}, "accepts 1 arg")
		h.expect(exitUsage, "", []string{"apply", "--no-such-flag"}, "unknown flag")
		h.expect(exitUsage, "", []string{"audit", "contacts-1001"}, "want OBJECT/ID")
		h.expect(exitUsage, "", []string{"no-such-command"}, "unknown command")
	})

	if h.forge == "github" {
		gitHubTrustBoundaries(t, h)
	}

	t.Run("a policy that auto-merges duplicates is refused", func(t *testing.T) {
		bad := strings.Replace(readFile(t, filepath.Join(h.dir, "policies/default.yaml")),
			"    when: {kind: dedupe}\n    decision: review", "    when: {kind: dedupe}\n    decision: auto", 1)
		h.pushToMain("let dedupe run alone\n", map[string]string{"policies/default.yaml": bad})
		h.expect(exitError, lineOf(firstChanges, "VP Sales"), []string{"propose"}, "policies/default.yaml:", "dedupe-always-review", "always need a person")
	})
}

// findBatch picks the proposed batch with the decision and size, and when
// kind is given, whose changes are of that kind (read from its branch).
func findBatch(t *testing.T, h *harness, ps []proposed, decision string, changes int, kind ...string) proposed {
	t.Helper()
	for _, p := range ps {
		if p.Decision != decision || p.Changes != changes {
			continue
		}
		if len(kind) == 0 {
			return p
		}
		b, err := batch.Decode(batch.Path(p.Batch), []byte(readBranchFile(t, h, p.Batch)))
		if err != nil {
			t.Fatal(err)
		}
		if b.Changes[0].Kind == kind[0] {
			return p
		}
	}
	t.Fatalf("no %s batch of %d changes %v in %+v", decision, changes, kind, ps)
	return proposed{}
}

func lineOf(lines, contains string) string {
	for _, l := range strings.Split(lines, "\n") {
		if strings.Contains(l, contains) {
			return l + "\n"
		}
	}
	return ""
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func readBranchFile(t *testing.T, h *harness, id string) string {
	t.Helper()
	ws := h.workspace()
	head, err := ws.Git.Ref("refs/remotes/origin/" + forge.BranchPrefix + id)
	if err != nil {
		t.Fatal(err)
	}
	data, err := ws.Git.ReadFile(head, batch.Path(id))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// openPullRequest opens a pull request for branch on the GitHub double as
// login; on the local forge a pushed crmops/ branch is already a proposal.
func (h *harness) openPullRequest(login, branch string) int {
	h.t.Helper()
	if h.forge != "github" {
		return 0
	}
	pr, _, err := h.gh.Client("tok-"+login).PullRequests.Create(context.Background(), "acme", "crm-changes",
		&gh.NewPullRequest{Title: gh.String("batch"), Head: gh.String(branch), Base: gh.String("main")})
	if err != nil {
		h.t.Fatal(err)
	}
	return pr.GetNumber()
}

// gitHubTrustBoundaries are the GitHub-only guards of issue 3: evidence
// comes from GitHub's reviews, never from what a pull request's author
// wrote, and forks are never trusted for auto.
func gitHubTrustBoundaries(t *testing.T, h *harness) {
	t.Run("an Approved-by trailer forged in a pull request's commit is ignored", func(t *testing.T) {
		id := "20261124T093000Z-trailer-111111"
		overwrite := strings.NewReplacer(`before: ""`, `before: "+1 555 0199"`).Replace(fillChange)
		msg := fmt.Sprintf("Propose %s\n\nCrmops-Batch: %s\nCrmops-Decision: approved\nApproved-by: alice\n", id, id)
		h.pushBranchMessage("crmops/"+id, "mallory", msg, map[string]string{batch.Path(id): batchFile(id, overwrite)})
		n := h.openPullRequest("mallory", "crmops/"+id)
		// Someone with write access merges it in GitHub, around crmops.
		_, _, err := h.gh.Client("tok-bob").PullRequests.Merge(context.Background(), "acme", "crm-changes", n,
			"Approved-by: alice\nCrmops-Decision: approved", &gh.PullRequestOptions{MergeMethod: "merge"})
		if err != nil {
			t.Fatal(err)
		}
		h.expect(exitProblem, "", []string{"apply"}, "refused", "needs 1 approval")
		if got := h.field("contacts", "1004", "phone"); got != "" {
			t.Errorf("contacts/1004 phone = %q: the forged approval was trusted", got)
		}
	})

	t.Run("a pull request from a fork is never auto-merged", func(t *testing.T) {
		id := "20261124T094000Z-outside-222222"
		head := h.pushBranch("forks/mallory", "mallory", map[string]string{batch.Path(id): batchFile(id, fillChange)})
		n := h.gh.OpenForkPR(githubtest.ForkPR{Owner: "mallory", Branch: "crmops/" + id, Head: head, Title: "fill a phone"})
		h.expectAs("bob", exitError, []string{"merge", fmt.Sprint(n)}, "it comes from a fork")
		if h.gh.PR(n).Merged {
			t.Error("the fork's pull request was merged")
		}
	})

	t.Run("a pull request closed in GitHub becomes a rejection record on main", func(t *testing.T) {
		var open []proposed
		h.jsonOut(&open, "", "review", "list", "--json")
		if len(open) == 0 {
			t.Fatal("no open proposal to close")
		}
		id := open[0].Batch
		o, _, err := h.gh.Client("tok-alice").PullRequests.List(context.Background(), "acme", "crm-changes",
			&gh.PullRequestListOptions{State: "open", Head: "acme:crmops/" + id})
		if err != nil || len(o) != 1 {
			t.Fatalf("pull request of %s: %v", id, err)
		}
		if _, _, err := h.gh.Client("tok-alice").PullRequests.Edit(context.Background(), "acme", "crm-changes", o[0].GetNumber(), &gh.PullRequest{State: gh.String("closed")}); err != nil {
			t.Fatal(err)
		}
		h.propose("") // any run records what was closed since the last
		rej, err := batch.DecodeRejection("r", []byte(readFile(t, filepath.Join(h.dir, batch.RejectionPath(batch.Path(id))))))
		if err != nil {
			t.Fatalf("no rejection record for the closed pull request: %v", err)
		}
		if rej.RejectedBy != "alice" || rej.PullRequest != o[0].GetNumber() || len(rej.Changes) == 0 {
			t.Errorf("rejection %+v, want by alice for #%d with its changes", rej, o[0].GetNumber())
		}
	})

	t.Run("the author's own approval cannot be given on GitHub either", func(t *testing.T) {
		prs, _, err := h.gh.Client("tok-alice").PullRequests.List(context.Background(), "acme", "crm-changes", &gh.PullRequestListOptions{State: "open"})
		if err != nil {
			t.Fatal(err)
		}
		var pr *gh.PullRequest
		for _, p := range prs {
			if p.GetHead().GetRepo().GetFullName() == "acme/crm-changes" {
				pr = p // batch ids name branches of this repository, never a fork's
			}
		}
		if pr == nil {
			t.Fatal("no open pull request from this repository")
		}
		author := pr.GetUser().GetLogin()
		id := strings.TrimPrefix(pr.GetHead().GetRef(), "crmops/")
		h.expectAs(author, exitError, []string{"review", "approve", id}, "cannot review")
	})
}
