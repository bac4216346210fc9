package simulate_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/simulate"
)

// v1Default is policy.Default as crmops v1 wrote it (git show
// 276ae73:internal/policy/policy.go): its auto rules name no field, so a
// change's kind alone decided it.
const v1Default = `# yaml-language-server: $schema=https://raw.githubusercontent.com/crmops/crmops/main/schemas/policy.schema.json
version: 1
default: review                  # decision when no rule matches
approvals: 1                     # approvals a review batch needs (a rule may raise it)
limits:
  max_changes_per_batch: 1000    # larger detector output is split into several batches
  max_auto_changes_per_run: 500  # blast radius: past this, auto changes go to review
rules:                           # first match wins
  - name: enrichment-fill-empty
    when: {kind: enrichment, before: empty, min_confidence: 0.9}
    decision: auto
  - name: enrichment-overwrite
    when: {kind: enrichment, before: present}
    decision: review
  - name: dedupe-always-review
    when: {kind: dedupe}
    decision: review
  - name: lifecycle-single-event
    when: {kind: lifecycle, trigger: event}
    decision: auto
  - name: lifecycle-ai-score
    when: {kind: lifecycle, trigger: score}
    decision: review
  - name: owner-always-review
    when: {kind: owner}
    decision: review
  - name: email-valid
    when: {kind: email_verification, after: [valid]}
    decision: auto
  - name: email-risky
    when: {kind: email_verification}
    decision: review
`

// v1Batch is one batch of a v1 history: who proposed it, what v1 decided
// and recorded, and, for the test, what the new default decides.
type v1Batch struct {
	name     string
	proposer string
	// editedBy pushed a second commit to the proposal branch.
	editedBy string
	// stale: proposed before the previous batch was merged.
	stale   bool
	mode    string   // batch.ModeAuto or batch.ModeApproved
	rules   []string // what v1 recorded
	changes []batch.Change
}

func v1Set(kind, field, before, after, source string, confidence float64, trigger string) batch.Change {
	return batch.Change{Kind: kind, Object: "contacts", Op: batch.OpSet, Field: field, Before: before, After: after,
		Source: source, Confidence: confidence, Trigger: trigger, Reason: "r"}
}

var (
	honestFill      = v1Set("enrichment", "jobtitle", "", "VP Sales", "clay", 0.97, "import")
	honestLifecycle = v1Set("lifecycle", "lifecyclestage", "lead", "customer", "hubspot", 1, "event")
	honestEmail     = v1Set("email_verification", "email_status", "", "valid", "zerobounce", 0.99, "rule")
	// The attack: a lifecycle change on an event that writes the email.
	lifecycleEmail = v1Set("lifecycle", "email", "bob@acme.com", "attacker@evil.example", "hubspot", 1, "event")
	// An enrichment that fills an empty owner: an owner change in disguise.
	fillOwner = v1Set("enrichment", "hubspot_owner_id", "", "666", "clay", 0.99, "import")
	// An enrichment that fills an empty email, which routes messages.
	fillEmail   = v1Set("enrichment", "email", "", "attacker@evil.example", "clay", 0.99, "import")
	ownerChange = v1Set("owner", "hubspot_owner_id", "17", "42", "owners", 1, "rule")
	bot         = "github-actions[bot]"
	v1Auto      = batch.ModeAuto
	v1Approved  = batch.ModeApproved
)

// disguised reports the changes of v1History that claim one kind and do
// another.
func disguised(c batch.Change) bool {
	return c.Kind == "lifecycle" && c.Field == "email" || c.Kind == "enrichment" && c.Field != "jobtitle"
}

func v1History() []v1Batch {
	return []v1Batch{
		{name: "fills", proposer: bot, mode: v1Auto, rules: []string{"enrichment-fill-empty"}, changes: []batch.Change{honestFill, honestFill, honestFill}},
		{name: "lifecycle", proposer: bot, mode: v1Auto, rules: []string{"lifecycle-single-event"}, changes: []batch.Change{honestLifecycle}},
		{name: "emails", proposer: bot, editedBy: "alice", mode: v1Auto, rules: []string{"email-valid"}, changes: []batch.Change{honestEmail}},
		{name: "lifecycle-email", proposer: bot, mode: v1Auto, rules: []string{"lifecycle-single-event"}, changes: []batch.Change{honestLifecycle, lifecycleEmail}},
		{name: "fill-owner", proposer: bot, stale: true, mode: v1Auto, rules: []string{"enrichment-fill-empty"}, changes: []batch.Change{honestFill, fillOwner}},
		{name: "fill-email", proposer: bot, mode: v1Auto, rules: []string{"enrichment-fill-empty"}, changes: []batch.Change{fillEmail}},
		{name: "by-hand", proposer: "mallory", mode: v1Auto, rules: []string{"enrichment-fill-empty"}, changes: []batch.Change{honestFill}},
		{name: "owner", proposer: bot, mode: v1Approved, rules: []string{"owner-always-review"}, changes: []batch.Change{ownerChange}},
	}
}

// seedV1 writes a git repository in dir whose main branch holds policy v1
// and every batch of hist as crmops v1 proposed, merged and applied it:
// a proposal commit by its proposer (and an edit by editedBy), a merge
// commit with the Crmops-Batch trailer, a receipt commit. It returns the
// batches as written, in order.
func seedV1(t *testing.T, dir string, hist []v1Batch) []*batch.Batch {
	t.Helper()
	repo, err := gitrepo.Init(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 4, 6, 0, 0, 0, time.UTC)
	who := func(name string) gitrepo.Identity {
		at = at.Add(time.Minute)
		return gitrepo.Identity{Name: name, Email: name + "@users.noreply.example", When: at}
	}
	commit := func(parents []gitrepo.Hash, files map[string][]byte, msg string, author gitrepo.Identity) gitrepo.Hash {
		t.Helper()
		base := gitrepo.ZeroHash
		if len(parents) > 0 {
			base = parents[0]
		}
		h, err := repo.CommitTree(gitrepo.CommitOptions{Base: base, Parents: parents, Files: files, Message: msg, Author: author, Committer: who("crmops")})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	encode := func(v any) []byte {
		data, err := batch.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tip := commit(nil, map[string][]byte{policy.Path: []byte(v1Default)}, "Initial crmops repository\n", who("alice"))
	prev := tip
	record := 500
	var out []*batch.Batch
	for i, hb := range hist {
		created := at.Add(time.Duration(i) * time.Hour)
		b := &batch.Batch{Version: batch.Version, Created: created, Detector: hb.name, Title: hb.name}
		for j, c := range hb.changes {
			record++
			c.ID, c.Record = fmt.Sprintf("c%d", j+1), fmt.Sprint(record)
			b.Changes = append(b.Changes, c)
		}
		b.ID = batch.NewID(created, hb.name, b.Changes)
		path := batch.Path(b.ID)
		base := tip
		if hb.stale {
			base = prev // proposed before the previous batch was merged
		}
		head := commit([]gitrepo.Hash{base}, map[string][]byte{path: encode(b)}, "Propose "+b.ID+"\n\nCrmops-Batch: "+b.ID+"\n", who(hb.proposer))
		if hb.editedBy != "" {
			b.Title += " (edited)"
			head = commit([]gitrepo.Hash{head}, map[string][]byte{path: encode(b)}, "Edit "+b.ID+"\n", who(hb.editedBy))
		}
		prev = tip
		merge := commit([]gitrepo.Hash{tip, head}, map[string][]byte{path: encode(b)},
			fmt.Sprintf("Merge batch %s\n\nCrmops-Batch: %s\nCrmops-Decision: %s\nCrmops-Rule: %s\n", b.ID, b.ID, hb.mode, strings.Join(hb.rules, ", ")), who("crmops"))
		rc := &batch.Receipt{Version: batch.Version, Batch: b.ID, ExecutedBy: "crmops/v1.4.0", MergeCommit: merge.String(),
			Approval: batch.Approval{Mode: hb.mode, Policy: policy.Path + "@" + prev.String(), Rules: hb.rules}}
		if hb.mode == batch.ModeApproved {
			rc.Approval.Approvers = []batch.Approver{{Login: "carol", At: created.Add(time.Hour)}}
		}
		for _, c := range b.Changes {
			rc.Changes = append(rc.Changes, batch.ChangeResult{ID: c.ID, Status: batch.StatusApplied, After: c.After, At: created.Add(2 * time.Hour)})
		}
		tip = commit([]gitrepo.Hash{merge}, map[string][]byte{batch.ReceiptPath(path): encode(rc)}, "Apply batch "+b.ID+" [skip actions]\n\nCrmops-Batch: "+b.ID+"\n", who("crmops"))
		out = append(out, b)
	}
	if err := repo.AdvanceBranch(gitrepo.DefaultBranch, gitrepo.ZeroHash, tip); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReplayingAV1HistoryOfDisguisedChangesUnderTheNewDefault(t *testing.T) {
	dir := t.TempDir()
	hist := v1History()
	batches := seedV1(t, dir, hist)
	byName := map[string]*batch.Batch{}
	for i, hb := range hist {
		byName[hb.name] = batches[i]
	}
	repo, err := gitrepo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := repo.Ref("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	proposers, err := simulate.Proposers(repo, tip)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("who proposed each batch is the author of its proposal's first own commit", func(t *testing.T) {
		want := map[string]policy.Proposer{}
		for i, hb := range hist {
			want[batches[i].ID] = policy.Proposer{Login: hb.proposer}
		}
		if !maps.Equal(proposers, want) {
			t.Errorf("proposers %v\nwant %v", proposers, want)
		}
	})

	if _, err := policy.Load(policy.Path, []byte(v1Default)); err != nil {
		t.Fatalf("v1's default no longer loads: %v", err)
	}
	replay := func(t *testing.T, pol *policy.Policy) *simulate.Report {
		t.Helper()
		rep, err := simulate.Run(dir, pol, simulate.Options{Proposers: proposers})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Batches != len(hist) || rep.UnknownProposers != 0 || len(rep.Errors) != 0 {
			t.Fatalf("%d batches, %d without a proposer, errors %v", rep.Batches, rep.UnknownProposers, rep.Errors)
		}
		return rep
	}
	// honestAuto counts the changes v1 applied automatically that do what
	// their kind says.
	honestAuto := 0
	for _, hb := range hist {
		for _, c := range hb.changes {
			if hb.mode == v1Auto && !disguised(c) {
				honestAuto++
			}
		}
	}

	t.Run("under the new default the disguised changes change decision and the honest ones stay auto", func(t *testing.T) {
		rep := replay(t, defaultPolicy)
		if got := rep.Decisions[simulate.WasAuto]; got["auto"] != honestAuto || got["review"] != 2 || got["deny"] != 1 {
			t.Errorf("what v1 applied automatically is now %v; want %d auto, 2 review, 1 deny", got, honestAuto)
		}
		if rep.ToAuto.Changes != 0 || rep.Decisions[simulate.WasApproved]["review"] != 1 {
			t.Errorf("to auto %+v, approved %v", rep.ToAuto, rep.Decisions[simulate.WasApproved])
		}

		if !maps.Equal(rep.Denied.ByRule, map[string]int{policy.RuleFieldKind: 1}) || !maps.Equal(rep.Denied.ByGuard, map[string]int{policy.RuleFieldKind: 1}) {
			t.Errorf("denied by rule %v, by guard %v; want the lifecycle change writing the email, by %s", rep.Denied.ByRule, rep.Denied.ByGuard, policy.RuleFieldKind)
		}
		if len(rep.Denied.Examples) == 1 {
			e := rep.Denied.Examples[0]
			if e.Batch != byName["lifecycle-email"].ID || e.Change != "c2" || e.Was != "auto" || !slices.Equal(e.WasRules, []string{"lifecycle-single-event"}) ||
				e.Now != "deny" || e.Guard != policy.RuleFieldKind || e.Proposer != bot || !strings.Contains(e.Why, "kind lifecycle writes only lifecyclestage") {
				t.Errorf("denied example %+v", e)
			}
		}

		if !maps.Equal(rep.ToReview.ByRule, map[string]int{"owner-always-review": 1, policy.RuleDefault: 1}) ||
			!maps.Equal(rep.ToReview.ByGuard, map[string]int{"fields.owner": 1}) || rep.ToReview.Batches != 2 {
			t.Errorf("to review: by rule %v, by guard %v, %d batches; want the owner fill as an owner change and the email fill by the default",
				rep.ToReview.ByRule, rep.ToReview.ByGuard, rep.ToReview.Batches)
		}
		for _, e := range rep.ToReview.Examples {
			switch e.Batch {
			case byName["fill-owner"].ID:
				if e.Change != "c2" || e.Rule != "owner-always-review" || e.Guard != "fields.owner" || !strings.Contains(e.Why, "a field of kind owner") {
					t.Errorf("owner fill example %+v", e)
				}
			case byName["fill-email"].ID:
				if e.Rule != policy.RuleDefault || e.Guard != "" || e.Why != "" {
					t.Errorf("email fill example %+v", e)
				}
			default:
				t.Errorf("unexpected example %+v", e)
			}
		}

		text := rep.Text()
		for _, want := range []string{"by guard: invariant:field-kind 1", "by guard: fields.owner 1", "      why: kind lifecycle writes only lifecyclestage",
			"auto (lifecycle-single-event) proposed by github-actions[bot] -> deny (invariant:field-kind)"} {
			if !strings.Contains(text, want) {
				t.Errorf("text lacks %q:\n%s", want, text)
			}
		}
		if md := rep.Markdown(); !strings.Contains(md, "By guard (what overrode the rules): `invariant:field-kind` 1") {
			t.Errorf("markdown lacks the guard:\n%s", md)
		}
	})

	t.Run("under the GitHub default, only what the workflows' bot proposed stays auto", func(t *testing.T) {
		rep := replay(t, mustLoad(policy.DefaultFor([]string{bot})))
		var byHand []simulate.Example
		for _, e := range rep.ToReview.Examples {
			if e.Proposer == "mallory" {
				byHand = append(byHand, e)
			}
		}
		if len(byHand) != 1 || byHand[0].Batch != byName["by-hand"].ID || byHand[0].Rule != policy.RuleDefault {
			t.Errorf("mallory's fill: %+v", byHand)
		}
		if got := rep.Decisions[simulate.WasAuto]["auto"]; got != honestAuto-1 {
			t.Errorf("%d auto changes stay auto, want %d", got, honestAuto-1)
		}
	})

	t.Run("an auto rule for a proposer the policy does not trust is reported by invariant:proposer", func(t *testing.T) {
		// The policy trusts only the bot for everything: mallory's fill,
		// which enrichment-fill-empty matches, is held by the guard.
		pol := edited(t, "rules:                           # first match wins\n",
			"rules:\n  - name: bot-custom\n    when: {kind: custom, proposer: \""+bot+"\"}\n    decision: auto\n")
		rep := replay(t, pol)
		if rep.ToReview.ByGuard[policy.RuleInvariantProposer] != 1 || rep.ToReview.ByRule[policy.RuleInvariantProposer] != 1 {
			t.Errorf("to review by guard %v, by rule %v", rep.ToReview.ByGuard, rep.ToReview.ByRule)
		}
		for _, e := range rep.ToReview.Examples {
			if e.Guard == policy.RuleInvariantProposer && (e.Proposer != "mallory" || !strings.Contains(e.Why, "proposed by mallory")) {
				t.Errorf("example %+v", e)
			}
		}
	})

	t.Run("a batch past a limit is reported by the limit's name", func(t *testing.T) {
		pol := edited(t, "max_auto_changes_per_run: 500", "max_auto_changes_per_run: 2  ")
		rep := replay(t, pol)
		want := len(byName["fills"].Changes)
		if rep.ToReview.ByGuard[policy.RuleLimitAutoPerRun] != want || rep.ToReview.ByRule[policy.RuleLimitAutoPerRun] != want {
			t.Errorf("to review by guard %v, by rule %v; want the %d fills of one batch", rep.ToReview.ByGuard, rep.ToReview.ByRule, want)
		}
		for _, e := range rep.ToReview.Examples {
			if e.Guard == policy.RuleLimitAutoPerRun && (e.Batch != byName["fills"].ID || !strings.Contains(e.Why, "more than limits.max_auto_changes_per_run (2)")) {
				t.Errorf("example %+v", e)
			}
		}
	})

	t.Run("without the history's proposers the batches are counted as proposed by an unknown proposer", func(t *testing.T) {
		rep, err := simulate.Run(dir, defaultPolicy, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.UnknownProposers != len(hist) || !strings.Contains(rep.Text(), fmt.Sprintf("%d batch(es) replayed as proposed by an unknown proposer", len(hist))) {
			t.Errorf("unknown proposers %d", rep.UnknownProposers)
		}
	})
}
