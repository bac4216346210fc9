package policy

import (
	"fmt"

	"github.com/crmops/crmops/internal/batch"
)

// Explanation says why the policy decided a change as it did: every rule
// tried before the deciding one with the reason it did not match, the rule
// (or the default) that matched, and the built-in guard that overrode it.
// Its Verdict is always the one Evaluate returns.
type Explanation struct {
	// Skipped are the rules before the deciding one, in policy order.
	Skipped []Skip
	// Matched is the rule whose condition matched, or nil when none did
	// and the policy's default decided.
	Matched *RuleRef
	// Decided is what the matched rule (or the default) said, before any
	// override.
	Decided Decision
	// Override names the built-in guard that replaced Decided
	// (RuleInvariantNeverAuto), or is "".
	Override string
	// Verdict is the final verdict for the change.
	Verdict Verdict
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

// Explain returns why the policy decides c as Evaluate does.
func (p *Policy) Explain(c batch.Change) Explanation {
	var e Explanation
	for i, r := range p.Rules {
		ref := RuleRef{Name: r.Name, Index: i, Line: r.Pos.Line}
		if why := r.When.Mismatch(c); why != "" {
			e.Skipped = append(e.Skipped, Skip{Rule: ref, Reason: why})
			continue
		}
		e.Matched = &ref
		break
	}
	// The verdict is built from the explanation, not taken from Evaluate,
	// so that a test comparing the two holds them to each other.
	e.Decided = p.Default
	e.Verdict = Verdict{Decision: p.Default, Rule: RuleDefault, Approvals: p.Approvals}
	if e.Matched != nil {
		r := p.Rules[e.Matched.Index]
		e.Decided = r.Decision
		e.Verdict = Verdict{Decision: r.Decision, Rule: r.Name, Approvals: max(p.Approvals, r.Approvals), Reviewers: r.Reviewers}
	}
	if e.Decided == Auto && neverAutoChange(c) {
		e.Override = RuleInvariantNeverAuto
		e.Verdict = Verdict{Decision: Review, Rule: RuleInvariantNeverAuto, Approvals: e.Verdict.Approvals}
	}
	return e
}

// neverAutoChange reports whether c is a change no policy may make auto:
// a merge, a dedupe change or an owner change.
func neverAutoChange(c batch.Change) bool {
	return c.Op == batch.OpMerge || c.Kind == "owner" || c.Kind == "dedupe"
}

// Rule is the name of what decided: the matched rule or "default".
func (e Explanation) Rule() string {
	if e.Matched == nil {
		return RuleDefault
	}
	return e.Matched.Name
}

// OverrideReason says in words why the built-in guard overrode the policy,
// or "" when it did not.
func (e Explanation) OverrideReason(c batch.Change) string {
	if e.Override == "" {
		return ""
	}
	what := "an owner change"
	switch {
	case c.Op == batch.OpMerge:
		what = "a merge"
	case c.Kind == "dedupe":
		what = "a dedupe change"
	}
	return fmt.Sprintf("%s is never auto, whatever the policy says: %s says %s, the built-in invariant makes it %s",
		what, e.Rule(), e.Decided, e.Verdict.Decision)
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

// ExplainBatch explains every change of b and the batch verdict.
func (p *Policy) ExplainBatch(b *batch.Batch) BatchExplanation {
	be := BatchExplanation{Verdict: p.EvaluateBatch(b), Review: b.Review}
	allAuto := true
	for _, c := range b.Changes {
		e := p.Explain(c)
		be.Changes = append(be.Changes, e)
		if e.Verdict.Decision != Auto {
			allAuto = false
		}
	}
	be.ReviewOverrode = b.Review != "" && allAuto
	return be
}
