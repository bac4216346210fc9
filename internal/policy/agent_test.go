package policy_test

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

// withRule is the local default policy with rule first.
func withRule(rule string) string {
	return strings.Replace(policy.Default, "rules:", "rules:\n"+rule, 1)
}

func lifecycleEvent() batch.Change {
	return batch.Change{ID: "c1", Kind: "lifecycle", Object: "contacts", Record: "1", Op: batch.OpSet, Field: "lifecyclestage",
		Before: "lead", After: "customer", Source: "x", Confidence: 0.9, Trigger: "event"}
}

func TestAnAgentIsAutoOnlyWhereARuleNamesIt(t *testing.T) {
	named := mustLoad(t, withRule("  - name: scout-stages\n    when: {kind: lifecycle, proposer: scout}\n    decision: auto\n"))
	loginNamed := mustLoad(t, withRule("  - name: bot-stages\n    when: {kind: lifecycle, proposer: ops-bot}\n    decision: auto\n"))
	bothNamed := mustLoad(t, withRule("  - name: bot-stages\n    when: {kind: lifecycle, proposer: [ops-bot, scout]}\n    decision: auto\n"))
	local := mustLoad(t, policy.Default)
	for _, tc := range []struct {
		name string
		pol  *policy.Policy
		by   policy.Proposer
		want policy.Decision
		rule string
	}{
		// The local default trusts every login, but never an agent.
		{"a script on the local default", local, policy.Proposer{Login: "crmops"}, policy.Auto, "lifecycle-single-event"},
		{"an agent on the local default", local, policy.Proposer{Login: "scout", Agent: "scout"}, policy.Review, policy.RuleInvariantProposer},
		{"an agent a rule names", named, policy.Proposer{Login: "scout", Agent: "scout"}, policy.Auto, "scout-stages"},
		{"another agent", named, policy.Proposer{Login: "other", Agent: "other"}, policy.Review, policy.RuleInvariantProposer},
		// On GitHub the login is the token's; the agent must be named too.
		{"an agent behind a trusted login no rule names it under", loginNamed, policy.Proposer{Login: "ops-bot", Agent: "scout"}, policy.Review, policy.RuleInvariantProposer},
		{"a named agent behind an untrusted login", named, policy.Proposer{Login: "intern", Agent: "scout"}, policy.Review, policy.RuleInvariantProposer},
		{"a named agent behind a trusted login", bothNamed, policy.Proposer{Login: "ops-bot", Agent: "scout"}, policy.Auto, "bot-stages"},
		{"a named agent from a fork", bothNamed, policy.Proposer{Login: "ops-bot", Agent: "scout", Outside: true}, policy.Review, policy.RuleInvariantProposer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.pol.Evaluate(lifecycleEvent(), tc.by)
			if v.Decision != tc.want || v.Rule != tc.rule {
				t.Errorf("%s by %s (%s)", v.Decision, v.Rule, v.Why)
			}
			if tc.want == policy.Review && tc.by.Agent != "" && !tc.by.Outside && !strings.Contains(v.Why, "agent "+tc.by.Agent) {
				t.Errorf("why %q does not say the agent is not named", v.Why)
			}
		})
	}
}

// The batch's agent key can only take trust away: a batch that names an
// agent is judged as that agent whoever the forge says proposed it.
func TestABatchNamingAnAgentIsJudgedAsTheAgent(t *testing.T) {
	pol := mustLoad(t, policy.Default)
	b := &batch.Batch{ID: "b1", Changes: []batch.Change{lifecycleEvent()}}
	if bv := pol.EvaluateBatch(b, policy.Proposer{Login: "crmops"}); bv.Decision != policy.Auto {
		t.Fatalf("without an agent: %s", bv.Decision)
	}
	b.Agent = "scout"
	bv := pol.EvaluateBatch(b, policy.Proposer{Login: "crmops"})
	if bv.Decision != policy.Review || bv.Proposer.Agent != "scout" {
		t.Errorf("with agent scout: %s, judged as %+v", bv.Decision, bv.Proposer)
	}
}
