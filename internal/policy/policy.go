// Package policy decides, for every proposed change, whether it may be
// applied without a person (auto), needs approval (review) or must never be
// applied (deny). The first matching rule wins; built-in invariants that no
// policy can lift keep merges and owner changes out of auto.
package policy

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Path is where the policy lives in a change-request repository.
const Path = "policies/default.yaml"

// Decision is a policy verdict.
type Decision string

// The verdicts.
const (
	Auto   Decision = "auto"
	Review Decision = "review"
	Deny   Decision = "deny"
)

// Policy is a decoded policies/*.yaml file.
type Policy struct {
	Version   int      `yaml:"version" strict:"required"`
	Default   Decision `yaml:"default" strict:"required"`
	Approvals int      `yaml:"approvals"`
	Limits    Limits   `yaml:"limits"`
	Rules     []Rule   `yaml:"rules"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Limits bound the size and blast radius of what crmops does in one run.
type Limits struct {
	MaxChangesPerBatch   int `yaml:"max_changes_per_batch"`
	MaxAutoChangesPerRun int `yaml:"max_auto_changes_per_run"`
}

// Rule is one policy rule.
type Rule struct {
	Name     string   `yaml:"name" strict:"required"`
	When     Match    `yaml:"when"`
	Decision Decision `yaml:"decision" strict:"required"`
	// Approvals raises the approvals a batch needs when this rule decides one
	// of its changes.
	Approvals int `yaml:"approvals"`
	// Reviewers are people or teams to request a review from (on forges
	// that support it).
	Reviewers []string `yaml:"reviewers"`

	Pos strictyaml.Pos `yaml:"-"`
}

// Match is a rule's condition: every key given must match.
type Match struct {
	Kind          OneOrMany `yaml:"kind"`
	Op            OneOrMany `yaml:"op"`
	Object        OneOrMany `yaml:"object"`
	Field         OneOrMany `yaml:"field"`
	Source        OneOrMany `yaml:"source"`
	Trigger       OneOrMany `yaml:"trigger"`
	Before        string    `yaml:"before"`
	After         []string  `yaml:"after"`
	MinConfidence *float64  `yaml:"min_confidence"`
	MaxConfidence *float64  `yaml:"max_confidence"`
}

// OneOrMany accepts `key: value` or `key: [a, b]`.
type OneOrMany []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (o *OneOrMany) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*o = OneOrMany{n.Value}
		return nil
	case yaml.SequenceNode:
		var list []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("want a value or a list of values")
			}
			list = append(list, c.Value)
		}
		*o = list
		return nil
	}
	return fmt.Errorf("want a value or a list of values")
}

func (o OneOrMany) has(s string) bool {
	for _, x := range o {
		if x == s {
			return true
		}
	}
	return false
}

// Load decodes and checks a policy file. A policy that lets merges, dedupe
// or owner changes be auto is refused: those always need a person.
func Load(file string, data []byte) (*Policy, error) {
	var p Policy
	if err := strictyaml.Decode(file, data, &p); err != nil {
		return nil, err
	}
	if p.Version != 1 {
		return nil, p.Pos.Errorf(file, "version", "unsupported version %d", p.Version)
	}
	if !validDecision(p.Default) {
		return nil, p.Pos.Errorf(file, "default", "unknown decision %q (auto, review or deny)", p.Default)
	}
	if p.Approvals == 0 {
		p.Approvals = 1
	}
	if p.Approvals < 1 {
		return nil, p.Pos.Errorf(file, "approvals", "must be at least 1")
	}
	if p.Limits.MaxChangesPerBatch == 0 {
		p.Limits.MaxChangesPerBatch = 1000
	}
	if p.Limits.MaxAutoChangesPerRun == 0 {
		p.Limits.MaxAutoChangesPerRun = 500
	}
	if p.Limits.MaxChangesPerBatch < 0 || p.Limits.MaxAutoChangesPerRun < 0 {
		return nil, p.Pos.Errorf(file, "limits", "limits must be positive")
	}
	names := map[string]bool{}
	for i := range p.Rules {
		r := &p.Rules[i]
		if names[r.Name] {
			return nil, r.Pos.Errorf(file, "name", "duplicate rule name %q", r.Name)
		}
		names[r.Name] = true
		if !validDecision(r.Decision) {
			return nil, r.Pos.Errorf(file, "decision", "unknown decision %q (auto, review or deny)", r.Decision)
		}
		for key, v := range map[string]*float64{"min_confidence": r.When.MinConfidence, "max_confidence": r.When.MaxConfidence} {
			if v != nil && (*v < 0 || *v > 1) {
				// 90 meant as 0.9 would otherwise disable the rule silently.
				return nil, r.Pos.Errorf(file, "when", "%s %v is outside 0..1", key, *v)
			}
		}
		if r.When.Before != "" && r.When.Before != "empty" && r.When.Before != "present" {
			return nil, r.Pos.Errorf(file, "when", "before must be empty or present, not %q", r.When.Before)
		}
		if r.Decision == Auto {
			if why := neverAuto(r.When); why != "" {
				return nil, r.Pos.Errorf(file, "decision", "rule %q makes %s auto; %s always need a person's approval", r.Name, why, why)
			}
		}
	}
	return &p, nil
}

// neverAuto names what a rule's condition explicitly targets that no policy
// may auto-apply, or "" if nothing.
func neverAuto(m Match) string {
	switch {
	case m.Op.has(batch.OpMerge), m.Op.has(batch.OpUnmerge):
		return "merges"
	case m.Kind.has("dedupe"):
		return "duplicate merges"
	case m.Kind.has("owner"):
		return "owner changes"
	}
	return ""
}

func validDecision(d Decision) bool { return d == Auto || d == Review || d == Deny }

// Verdict is the decision for one change and where it came from.
type Verdict struct {
	Decision Decision
	// Rule is the deciding rule's name, "default", or an invariant or limit.
	Rule string
	// Approvals is how many approvals the change needs when under review.
	Approvals int
	Reviewers []string
}

// Invariant rule names reported when a built-in guard overrides the policy.
const (
	RuleDefault            = "default"
	RuleInvariantNeverAuto = "invariant:never-auto"
	RuleLimitAutoPerRun    = "limits.max_auto_changes_per_run"
	// RuleBatchReview reports a batch whose own review key asks for a person.
	RuleBatchReview = "batch.review"
)

// Evaluate returns the verdict for one change.
func (p *Policy) Evaluate(c batch.Change) Verdict {
	v := Verdict{Decision: p.Default, Rule: RuleDefault, Approvals: p.Approvals}
	for _, r := range p.Rules {
		if r.When.Mismatch(c) != "" {
			continue
		}
		v = Verdict{Decision: r.Decision, Rule: r.Name, Approvals: max(p.Approvals, r.Approvals), Reviewers: r.Reviewers}
		break
	}
	// Broad auto rules (no kind or op named) and an auto default are allowed,
	// but they never reach merges or owner changes.
	if v.Decision == Auto && (c.TwoRecords() || c.Kind == "owner" || c.Kind == "dedupe") {
		v = Verdict{Decision: Review, Rule: RuleInvariantNeverAuto, Approvals: max(p.Approvals, v.Approvals)}
	}
	return v
}

// Mismatch returns why the change does not match, or "" when it does.
func (m Match) Mismatch(c batch.Change) string {
	check := func(key string, list OneOrMany, value string) string {
		if len(list) > 0 && !list.has(value) {
			return fmt.Sprintf("%s is %q, not %s", key, value, strings.Join(list, " or "))
		}
		return ""
	}
	for _, r := range []string{
		check("kind", m.Kind, c.Kind),
		check("op", m.Op, c.Op),
		check("object", m.Object, c.Object),
		check("field", m.Field, c.Field),
		check("source", m.Source, c.Source),
		check("trigger", m.Trigger, c.Trigger),
	} {
		if r != "" {
			return r
		}
	}
	switch {
	case m.Before == "empty" && c.Before != "":
		return "before is present, not empty"
	case m.Before == "present" && c.Before == "":
		return "before is empty, not present"
	case len(m.After) > 0 && !OneOrMany(m.After).has(c.After):
		return fmt.Sprintf("after is %q, not %s", c.After, strings.Join(m.After, " or "))
	case m.MinConfidence != nil && c.Confidence < *m.MinConfidence:
		return fmt.Sprintf("confidence %v is below %v", c.Confidence, *m.MinConfidence)
	case m.MaxConfidence != nil && c.Confidence > *m.MaxConfidence:
		return fmt.Sprintf("confidence %v is above %v", c.Confidence, *m.MaxConfidence)
	}
	// A merge has no field or before; a rule about before/after is about sets.
	if c.TwoRecords() && (m.Before != "" || len(m.After) > 0) {
		return "op merge has no before or after"
	}
	return ""
}

// BatchVerdict summarizes a batch: auto only if every change is auto.
type BatchVerdict struct {
	Decision  Decision
	Approvals int
	Rules     []string
	Reviewers []string
	Changes   []Verdict
}

// EvaluateBatch classifies every change of b.
func (p *Policy) EvaluateBatch(b *batch.Batch) BatchVerdict {
	bv := BatchVerdict{Decision: Auto, Approvals: p.Approvals}
	seenRule, seenReviewer := map[string]bool{}, map[string]bool{}
	for _, c := range b.Changes {
		v := p.Evaluate(c)
		bv.Changes = append(bv.Changes, v)
		if !seenRule[v.Rule] {
			seenRule[v.Rule] = true
			bv.Rules = append(bv.Rules, v.Rule)
		}
		for _, r := range v.Reviewers {
			if !seenReviewer[r] {
				seenReviewer[r] = true
				bv.Reviewers = append(bv.Reviewers, r)
			}
		}
		switch {
		case v.Decision == Deny:
			bv.Decision = Deny
		case v.Decision == Review && bv.Decision != Deny:
			bv.Decision = Review
		}
		bv.Approvals = max(bv.Approvals, v.Approvals)
	}
	if b.Review != "" && bv.Decision == Auto {
		bv.Decision = Review
		bv.Rules = append(bv.Rules, RuleBatchReview)
	}
	return bv
}

// Default is the policy `crmops init` writes: the five scenarios of the
// approval-first model.
const Default = `# yaml-language-server: $schema=https://raw.githubusercontent.com/crmops/crmops/main/schemas/policy.schema.json
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

// Sufficient decides whether a batch with verdict bv may be merged or
// executed, given how many people other than its author approved the head
// commit. It returns the decision to record, "auto" or "approved", or an
// error saying what is missing. Merge and apply both call it, so the rule
// that lets a batch through is written once.
func Sufficient(bv BatchVerdict, approvals int) (string, error) {
	switch bv.Decision {
	case Deny:
		return "", fmt.Errorf("the policy denies it (%s)", strings.Join(bv.Rules, ", "))
	case Auto:
		return "auto", nil
	}
	if approvals < bv.Approvals {
		return "", fmt.Errorf("needs %d approval(s) on the head commit from someone other than the author, has %d", bv.Approvals, approvals)
	}
	return "approved", nil
}
