package policy_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

// genChanges returns every combination of the values a policy can match on,
// valid as batch changes: many thousands of changes.
func genChanges() []batch.Change {
	var out []batch.Change
	triggers := append([]string{""}, batch.Triggers...)
	for _, kind := range batch.Kinds {
		for _, trigger := range triggers {
			for _, object := range []string{"contacts", "companies"} {
				for _, source := range []string{"clay", "hubspot"} {
					for _, conf := range []float64{0, 0.5, 0.9, 0.95} {
						base := batch.Change{ID: "c1", Kind: kind, Object: object, Record: "1001", Source: source, Confidence: conf, Trigger: trigger}
						m := base
						m.Op, m.MergeFrom = batch.OpMerge, "1002"
						out = append(out, m)
						if kind == "dedupe" {
							continue // a dedupe change is always a merge
						}
						for _, field := range []string{"jobtitle", "email_status"} {
							for _, ba := range [][2]string{{"", "valid"}, {"", "VP Sales"}, {"risky", "valid"}, {"valid", "invalid"}, {"Sales", ""}} {
								s := base
								s.Op, s.Field, s.Before, s.After = batch.OpSet, field, ba[0], ba[1]
								out = append(out, s)
							}
						}
					}
				}
			}
		}
	}
	for i := range out {
		if err := out[i].Validate("generated"); err != nil {
			panic(fmt.Sprintf("generated an invalid change: %v", err))
		}
	}
	return out
}

// genPolicy writes a random policy that Load accepts: rules with random
// conditions, decisions, approvals and reviewers, including broad auto
// rules that the never-auto invariant must catch.
func genPolicy(r *rand.Rand) string {
	pick := func(list ...string) string { return list[r.IntN(len(list))] }
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\ndefault: %s\napprovals: %d\nrules:\n", pick("auto", "review", "deny"), 1+r.IntN(3))
	for i := range 1 + r.IntN(8) {
		decision := pick("auto", "auto", "review", "deny")
		var when []string
		if r.IntN(2) == 0 {
			kinds := []string{"enrichment", "lifecycle", "email_verification", "custom"}
			if decision != "auto" {
				kinds = append(kinds, "dedupe", "owner")
			}
			when = append(when, "kind: "+kinds[r.IntN(len(kinds))])
		}
		if r.IntN(4) == 0 {
			if decision == "auto" {
				when = append(when, "op: set")
			} else {
				when = append(when, "op: "+pick("set", "merge"))
			}
		}
		if r.IntN(4) == 0 {
			when = append(when, "object: "+pick("contacts", "[contacts, companies]", "deals"))
		}
		if r.IntN(4) == 0 {
			when = append(when, "field: "+pick("jobtitle", "email_status"))
		}
		if r.IntN(4) == 0 {
			when = append(when, "source: "+pick("clay", "[clay, hubspot]"))
		}
		if r.IntN(3) == 0 {
			when = append(when, "trigger: "+pick("event", "score", "[rule, import]"))
		}
		if r.IntN(3) == 0 {
			when = append(when, "before: "+pick("empty", "present"))
		}
		if r.IntN(4) == 0 {
			when = append(when, "after: "+pick("[valid]", "[valid, risky]", `[""]`))
		}
		if r.IntN(3) == 0 {
			when = append(when, "min_confidence: "+pick("0.5", "0.9", "0.95"))
		}
		if r.IntN(5) == 0 {
			when = append(when, "max_confidence: "+pick("0.5", "0.9"))
		}
		fmt.Fprintf(&b, "  - name: rule-%d\n    when: {%s}\n    decision: %s\n", i, strings.Join(when, ", "), decision)
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "    approvals: %d\n", 1+r.IntN(4))
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "    reviewers: [%s]\n", pick("alice", "alice, bob", "team/ops"))
		}
	}
	return b.String()
}

func TestExplainAgreesWithEvaluate(t *testing.T) {
	changes := genChanges()
	if len(changes) < 5000 {
		t.Fatalf("only %d generated changes", len(changes))
	}
	policies := map[string]string{"the default policy": policy.Default}
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 40 {
		policies[fmt.Sprintf("random policy %02d", i)] = genPolicy(r)
	}
	names := make([]string, 0, len(policies))
	for name := range policies {
		names = append(names, name)
	}
	slices.Sort(names)
	overrides := 0
	for _, name := range names {
		t.Run("under "+name+", every change is explained with the verdict Evaluate gives", func(t *testing.T) {
			p := mustLoad(t, policies[name])
			for _, c := range changes {
				e := p.Explain(c, policy.Proposer{})
				v := p.Evaluate(c, policy.Proposer{})
				if !sameVerdict(e.Verdict, v) {
					t.Fatalf("%+v:\nExplain verdict %+v\nEvaluate        %+v\npolicy:\n%s", c, e.Verdict, v, policies[name])
				}
				checkExplanation(t, p, c, e)
				if e.Override != "" {
					overrides++
				}
			}
		})
	}
	if overrides == 0 {
		t.Error("no generated change met the never-auto invariant: the generator misses a case")
	}
}

func rank(d policy.Decision) int {
	return map[policy.Decision]int{policy.Auto: 0, policy.Review: 1, policy.Deny: 2}[d]
}

func sameVerdict(a, b policy.Verdict) bool {
	return a.Decision == b.Decision && a.Rule == b.Rule && a.Approvals == b.Approvals && slices.Equal(a.Reviewers, b.Reviewers)
}

// checkExplanation checks the explanation's own consistency: the skipped
// rules are exactly the rules before the match, each with its reason.
func checkExplanation(t *testing.T, p *policy.Policy, c batch.Change, e policy.Explanation) {
	t.Helper()
	want := len(p.Rules)
	if e.Matched != nil {
		want = e.Matched.Index
		if why := p.Rules[want].When.Mismatch(c, policy.Proposer{}); why != "" {
			t.Fatalf("matched rule %s does not match: %s", e.Matched.Name, why)
		}
		if e.Rule() != p.Rules[want].Name {
			t.Fatalf("Rule() = %q, want %q", e.Rule(), p.Rules[want].Name)
		}
	} else if e.Rule() != policy.RuleDefault || e.Decided != p.Default {
		t.Fatalf("no rule matched, but Rule() = %q and Decided = %s (default %s)", e.Rule(), e.Decided, p.Default)
	}
	if len(e.Skipped) != want {
		t.Fatalf("%d skipped rules, want %d", len(e.Skipped), want)
	}
	for i, s := range e.Skipped {
		if s.Rule.Index != i || s.Rule.Name != p.Rules[i].Name || s.Reason == "" || s.Reason != p.Rules[i].When.Mismatch(c, policy.Proposer{}) {
			t.Fatalf("skipped[%d] = %+v, want rule %s with its mismatch", i, s, p.Rules[i].Name)
		}
		if s.Rule.Line != p.Rules[i].Pos.Line || s.Rule.Line == 0 {
			t.Fatalf("skipped[%d] line %d, want %d", i, s.Rule.Line, p.Rules[i].Pos.Line)
		}
	}
	// Without a guard the verdict is the strictest of the kinds the change
	// was judged as; a guard only ever makes it stricter.
	strictest := e.Decided
	for _, k := range e.AsKinds {
		if rank(k.Decided) > rank(strictest) {
			strictest = k.Decided
		}
	}
	if e.Override == "" && e.Verdict.Decision != strictest {
		t.Fatalf("no override, but the kinds decided %s and the verdict is %s", strictest, e.Verdict.Decision)
	}
	if e.Override != "" && (rank(e.Verdict.Decision) <= rank(strictest) || e.Verdict.Why == "") {
		t.Fatalf("override %q did not make %s stricter (verdict %s, why %q)", e.Override, strictest, e.Verdict.Decision, e.Verdict.Why)
	}
}

func TestExplainTellsWhyEachEarlierRuleDidNotMatch(t *testing.T) {
	p := mustLoad(t, policy.Default)
	tests := []struct {
		name     string
		change   batch.Change
		rule     string
		skipped  []string
		override string
		decision policy.Decision
	}{
		{
			name:     "a low-confidence enrichment falls to the default with the confidence as the reason",
			change:   set("enrichment", "", "VP Sales", 0.85, "import"),
			rule:     policy.RuleDefault,
			decision: policy.Review,
			skipped: []string{
				"enrichment-fill-empty: confidence 0.85 is below 0.9",
				"enrichment-overwrite: before is empty, not present",
				`dedupe-always-review: kind is "enrichment", not dedupe`,
				`lifecycle-single-event: kind is "enrichment", not lifecycle`,
				`lifecycle-ai-score: kind is "enrichment", not lifecycle`,
				`owner-always-review: kind is "enrichment", not owner`,
				`email-valid: kind is "enrichment", not email_verification`,
				`email-risky: kind is "enrichment", not email_verification`,
			},
		},
		{
			name:     "a risky email is decided by email-risky after email-valid is skipped for its value",
			change:   set("email_verification", "", "risky", 0.99, "rule"),
			rule:     "email-risky",
			decision: policy.Review,
			skipped: []string{
				`enrichment-fill-empty: kind is "email_verification", not enrichment`,
				`enrichment-overwrite: kind is "email_verification", not enrichment`,
				`dedupe-always-review: kind is "email_verification", not dedupe`,
				`lifecycle-single-event: kind is "email_verification", not lifecycle`,
				`lifecycle-ai-score: kind is "email_verification", not lifecycle`,
				`owner-always-review: kind is "email_verification", not owner`,
				`email-valid: after is "risky", not valid`,
			},
		},
		{
			name:     "an enrichment filling an empty field is decided by the first rule with nothing skipped",
			change:   set("enrichment", "", "VP Sales", 0.97, "import"),
			rule:     "enrichment-fill-empty",
			decision: policy.Auto,
		},
		{
			name: "a lifecycle merge on an event matches an auto rule and the invariant makes it review",
			change: batch.Change{ID: "c1", Kind: "lifecycle", Object: "contacts", Record: "1", Op: batch.OpMerge,
				MergeFrom: "2", Source: "x", Confidence: 1, Trigger: "event"},
			// The default's lifecycle rule names its field, which a merge
			// has none of: it falls to the default.
			rule:     policy.RuleDefault,
			decision: policy.Review,
			skipped: []string{
				`enrichment-fill-empty: kind is "lifecycle", not enrichment`,
				`enrichment-overwrite: kind is "lifecycle", not enrichment`,
				`dedupe-always-review: kind is "lifecycle", not dedupe`,
				`lifecycle-single-event: field is "", not lifecyclestage`,
				`lifecycle-ai-score: trigger is "event", not score`,
				`owner-always-review: kind is "lifecycle", not owner`,
				`email-valid: kind is "lifecycle", not email_verification`,
				`email-risky: kind is "lifecycle", not email_verification`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := p.Explain(tt.change, policy.Proposer{})
			var skipped []string
			for _, s := range e.Skipped {
				skipped = append(skipped, s.Rule.Name+": "+s.Reason)
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skipped, "\n"), strings.Join(tt.skipped, "\n"))
			}
			if e.Rule() != tt.rule || e.Override != tt.override || e.Verdict.Decision != tt.decision {
				t.Errorf("rule %q override %q decision %s, want %q %q %s", e.Rule(), e.Override, e.Verdict.Decision, tt.rule, tt.override, tt.decision)
			}
			if reason := e.OverrideReason(); (reason != "") != (tt.override != "") {
				t.Errorf("OverrideReason = %q", reason)
			}
		})
	}
}

func TestExplainBatchAgreesWithEvaluateBatch(t *testing.T) {
	changes := genChanges()
	r := rand.New(rand.NewPCG(3, 5))
	for i := range 100 {
		text := genPolicy(r)
		p := mustLoad(t, text)
		for j := range 50 {
			b := &batch.Batch{Version: 1, ID: "b", Detector: "d"}
			for k := range 1 + r.IntN(4) {
				c := changes[r.IntN(len(changes))]
				c.ID = fmt.Sprintf("c%d", k+1)
				b.Changes = append(b.Changes, c)
			}
			if j%3 == 0 {
				b.Review = "this run's auto changes passed limits.max_auto_changes_per_run (500)"
			}
			be := p.ExplainBatch(b, policy.Proposer{})
			bv := p.EvaluateBatch(b, policy.Proposer{})
			if !reflect.DeepEqual(be.Verdict, bv) {
				t.Fatalf("policy %d batch %d: ExplainBatch verdict %+v, EvaluateBatch %+v", i, j, be.Verdict, bv)
			}
			if be.ReviewOverrode != slices.Contains(bv.Rules, policy.RuleBatchReview) {
				t.Fatalf("policy %d batch %d: ReviewOverrode %v, rules %v", i, j, be.ReviewOverrode, bv.Rules)
			}
			for k, c := range b.Changes {
				if !reflect.DeepEqual(be.Changes[k].Verdict, bv.Changes[k]) {
					t.Fatalf("policy %d batch %d change %s: %+v vs %+v", i, j, c.ID, be.Changes[k].Verdict, bv.Changes[k])
				}
			}
		}
	}
}
