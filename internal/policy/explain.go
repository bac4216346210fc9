package policy

import (
	"fmt"
	"slices"

	"github.com/crmops/crmops/internal/batch"
)

// Explanation says why the policy decided a change as it did: every rule
// tried before the deciding one with the reason it did not match, the rule
// (or the default) that matched, the other kinds the change was judged as
// because it writes their fields, and the built-in guard that overrode it.
// Its Verdict is always the one Evaluate returns: both come from one
// function.
type Explanation struct {
	// Skipped are the rules before the deciding one, in policy order, for
	// the change's own kind.
	Skipped []Skip
	// Matched is the rule whose condition matched, or nil when none did
	// and the policy's default decided.
	Matched *RuleRef
	// Decided is what the matched rule (or the default) said, before any
	// override.
	Decided Decision
	// AsKinds are the other kinds whose fields the change writes, each
	// with how the rules decided it as that kind.
	AsKinds []KindTrace
	// Override names the built-in guard that replaced the decision
	// (RuleInvariantNeverAuto, RuleInvariantProposer, RuleFieldKind,
	// RuleFreeze), or is "".
	Override string
	// Verdict is the final verdict for the change; Verdict.Why says in
	// words what overrode it.
	Verdict Verdict
}

// KindTrace is how the rules decided a change judged as one kind.
type KindTrace struct {
	Kind    string
	Skipped []Skip
	Matched *RuleRef
	Decided Decision
}

// Skip is a rule that did not match a change, and why.
type Skip struct {
	Rule   RuleRef
	Reason string
}

// RuleRef points at a rule of the policy file.
type RuleRef struct {
	Name string
	// Index is the rule's position in rules (0-based); Line its line in
	// the policy file (0 when the policy was not read from a file).
	Index int
	Line  int
}

// Explain returns why the policy decides c, proposed by by, as Evaluate
// does.
func (p *Policy) Explain(c batch.Change, by Proposer) Explanation { return p.explain(c, by) }

// Rule is the name of what decided: the matched rule or "default".
func (e Explanation) Rule() string {
	if e.Matched == nil {
		return RuleDefault
	}
	return e.Matched.Name
}

// OverrideReason says in words why a guard overrode the policy, or ""
// when none did.
func (e Explanation) OverrideReason() string {
	if e.Override == "" {
		return ""
	}
	return fmt.Sprintf("%s: %s says %s, the guard makes it %s", e.Verdict.Why, e.Rule(), e.Decided, e.Verdict.Decision)
}

// BatchExplanation explains every change of a batch and the batch's own
// verdict, which EvaluateBatch returns.
type BatchExplanation struct {
	Changes []Explanation
	Verdict BatchVerdict
	// Review is the batch's own review key: why it needs a person even if
	// every change is auto (a run limit, say).
	Review string
	// ReviewOverrode reports that Review turned an all-auto batch into a
	// review batch (the verdict then lists RuleBatchReview).
	ReviewOverrode bool
}

// ExplainBatch explains every change of b, proposed by by, and the batch
// verdict.
func (p *Policy) ExplainBatch(b *batch.Batch, by Proposer) BatchExplanation {
	be := BatchExplanation{Verdict: p.EvaluateBatch(b, by), Review: b.Review}
	allAuto := true
	for _, c := range b.Changes {
		e := p.Explain(c, by)
		be.Changes = append(be.Changes, e)
		if e.Verdict.Decision != Auto {
			allAuto = false
		}
	}
	be.ReviewOverrode = allAuto && slices.Contains(be.Verdict.Rules, RuleBatchReview)
	return be
}
