// Package policy decides, for every proposed change, whether it may be
// applied without a person (auto), needs approval (review) or must never be
// applied (deny). The first matching rule wins; built-in invariants that no
// policy can lift keep merges and owner changes out of auto.
package policy

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
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
	// Freeze turns every auto decision into review until it is removed:
	// an incident switch that needs no rule edits.
	Freeze bool   `yaml:"freeze"`
	Limits Limits `yaml:"limits"`
	// Fields names, per kind, the CRM properties changes of that kind
	// write. They are added to DefaultFields; a kind with fields may write
	// only those, and a change writing one of them is judged as that kind
	// too, whatever kind it claims.
	Fields map[string][]string `yaml:"fields"`
	Rules  []Rule              `yaml:"rules"`

	Pos strictyaml.Pos `yaml:"-"`

	// fieldKinds maps a folded field name to the kinds that own it, and
	// kindFields a kind to its folded fields (DefaultFields plus Fields).
	fieldKinds map[string][]string
	kindFields map[string]map[string]bool
	// trusted holds the folded proposers auto rules name; empty means
	// every proposer from inside the repository is trusted alike.
	trusted map[string]bool
}

// DefaultFields are the CRM properties crmops knows the kind of, in
// HubSpot's standard names and the embedded CRM's (and Salesforce's OwnerId,
// folded): a policy can add to them, never take them away, so that an owner
// field stays an owner field whatever a policy says.
var DefaultFields = map[string][]string{
	"owner":              {"hubspot_owner_id", "owner", "owner_id", "ownerid"},
	"lifecycle":          {"lifecyclestage"},
	"email_verification": {"email_status"},
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
	Kind    OneOrMany `yaml:"kind"`
	Op      OneOrMany `yaml:"op"`
	Object  OneOrMany `yaml:"object"`
	Field   OneOrMany `yaml:"field"`
	Source  OneOrMany `yaml:"source"`
	Trigger OneOrMany `yaml:"trigger"`
	// Proposer matches who proposed the batch as the forge knows it
	// (logins compare case-insensitively). An auto rule that names
	// proposers makes every proposer it does not name untrusted.
	Proposer      OneOrMany `yaml:"proposer"`
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

func (o OneOrMany) hasFold(s string) bool {
	for _, x := range o {
		if strings.EqualFold(x, s) {
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
	if err := p.indexFields(file); err != nil {
		return nil, err
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
			if why := p.neverAuto(r.When); why != "" {
				return nil, r.Pos.Errorf(file, "decision", "rule %q makes %s auto; %s always need a person's approval", r.Name, why, why)
			}
			for _, who := range r.When.Proposer {
				p.trusted[strings.ToLower(who)] = true
			}
		}
	}
	return &p, nil
}

// indexFields merges Fields into DefaultFields, refusing kinds that write
// no field and names that cannot be fields.
func (p *Policy) indexFields(file string) error {
	p.fieldKinds, p.kindFields, p.trusted = map[string][]string{}, map[string]map[string]bool{}, map[string]bool{}
	add := func(kind, field string) {
		f := strings.ToLower(field)
		if p.kindFields[kind] == nil {
			p.kindFields[kind] = map[string]bool{}
		}
		if !p.kindFields[kind][f] {
			p.kindFields[kind][f] = true
			p.fieldKinds[f] = append(p.fieldKinds[f], kind)
		}
	}
	for _, kind := range batch.Kinds {
		for _, f := range DefaultFields[kind] {
			add(kind, f)
		}
	}
	for _, kind := range sortedKeys(p.Fields) {
		if !slices.Contains(batch.Kinds, kind) || kind == "dedupe" {
			return p.Pos.Errorf(file, "fields", "%q is not a kind that writes fields (one of %s)", kind, strings.Join(fieldKindNames(), ", "))
		}
		for _, f := range p.Fields[kind] {
			if !batch.ValidField(f) {
				return p.Pos.Errorf(file, "fields", "fields.%s: %q is not a field name", kind, f)
			}
			add(kind, f)
		}
	}
	return nil
}

func fieldKindNames() []string {
	var out []string
	for _, k := range batch.Kinds {
		if k != "dedupe" {
			out = append(out, k)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// KindsOf returns the kinds whose fields include field, in batch.Kinds
// order.
func (p *Policy) KindsOf(field string) []string { return p.fieldKinds[strings.ToLower(field)] }

// FieldsOf returns the fields a kind may write, sorted, or nil when the
// kind may write any field.
func (p *Policy) FieldsOf(kind string) []string { return sortedKeys(p.kindFields[kind]) }

// Trusts reports whether the policy lets by's proposals be auto at all:
// never a proposal from outside the repository; otherwise anyone when no
// auto rule names proposers (the local forge, where whoever can push is
// trusted alike), else only the proposers auto rules name.
//
// A batch proposed through an agent must, besides, have that agent named:
// an agent is never trusted by default, even where every login is.
func (p *Policy) Trusts(by Proposer) bool {
	if by.Outside {
		return false
	}
	if by.Agent != "" && !p.trusted[strings.ToLower(by.Agent)] {
		return false
	}
	return len(p.trusted) == 0 || p.trusted[strings.ToLower(by.Login)]
}

// ownerField reports a write to a field that decides who owns a record.
func (p *Policy) ownerField(field string) bool {
	return field != "" && p.kindFields["owner"][strings.ToLower(field)]
}

// neverAuto names what a rule's condition explicitly targets that no policy
// may auto-apply, or "" if nothing.
func (p *Policy) neverAuto(m Match) string {
	switch {
	case m.Op.has(batch.OpMerge), m.Op.has(batch.OpUnmerge):
		return "merges"
	case m.Kind.has("dedupe"):
		return "duplicate merges"
	case m.Kind.has("owner"):
		return "owner changes"
	}
	for _, f := range m.Field {
		if p.ownerField(f) {
			return "writes to the owner field " + f
		}
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
	// Why says in words what overrode or refused the change, when a
	// built-in guard did (an invariant, a kind writing another kind's
	// field, an untrusted proposer, a freeze); "" when a rule decided.
	Why string
}

// Rule names reported when a built-in guard, a limit or a freeze decides
// instead of (or over) a policy rule.
const (
	RuleDefault            = "default"
	RuleInvariantNeverAuto = "invariant:never-auto"
	// RuleInvariantProposer reports an auto decision turned into review
	// because the policy does not trust who proposed the batch.
	RuleInvariantProposer = "invariant:proposer"
	// RuleFieldKind reports a change refused because its kind may not
	// write its field (fields.<kind> in the policy).
	RuleFieldKind       = "invariant:field-kind"
	RuleFreeze          = "freeze"
	RuleLimitAutoPerRun = "limits.max_auto_changes_per_run"
	RuleLimitBatchSize  = "limits.max_changes_per_batch"
	// RuleBatchReview reports a batch whose own review key asks for a person.
	RuleBatchReview = "batch.review"
)

// Evaluate returns the verdict for one change proposed by by. It is the
// only place a change is decided: Explain, EvaluateBatch and every command
// go through it.
func (p *Policy) Evaluate(c batch.Change, by Proposer) Verdict {
	return p.explain(c, by).Verdict
}

// decideAs runs the rules for c as if it were of kind, first match wins.
func (p *Policy) decideAs(c batch.Change, kind string, by Proposer) KindTrace {
	c.Kind = kind
	t := KindTrace{Kind: kind, Decided: p.Default}
	for i, r := range p.Rules {
		ref := RuleRef{Name: r.Name, Index: i, Line: r.Pos.Line}
		if why := r.When.Mismatch(c, by); why != "" {
			t.Skipped = append(t.Skipped, Skip{Rule: ref, Reason: why})
			continue
		}
		t.Matched, t.Decided = &ref, r.Decision
		break
	}
	return t
}

func (p *Policy) verdictOf(t KindTrace) Verdict {
	if t.Matched == nil {
		return Verdict{Decision: p.Default, Rule: RuleDefault, Approvals: p.Approvals}
	}
	r := p.Rules[t.Matched.Index]
	return Verdict{Decision: r.Decision, Rule: r.Name, Approvals: max(p.Approvals, r.Approvals), Reviewers: r.Reviewers}
}

// strictness orders decisions: the stricter one wins when a change is
// judged as several kinds.
func strictness(d Decision) int {
	switch d {
	case Deny:
		return 2
	case Review:
		return 1
	}
	return 0
}

// explain decides c step by step: the rules for its own kind, the rules for
// every other kind whose fields it writes (the stricter decision wins), then
// the guards no policy can lift, each of which can only make it stricter.
func (p *Policy) explain(c batch.Change, by Proposer) Explanation {
	own := p.decideAs(c, c.Kind, by)
	e := Explanation{Skipped: own.Skipped, Matched: own.Matched, Decided: own.Decided}
	v := p.verdictOf(own)
	if !c.TwoRecords() {
		for _, kind := range p.KindsOf(c.Field) {
			if kind == c.Kind {
				continue
			}
			t := p.decideAs(c, kind, by)
			e.AsKinds = append(e.AsKinds, t)
			// On a tie a rule of the other kind says more than the default.
			tv := p.verdictOf(t)
			if strictness(tv.Decision) > strictness(v.Decision) || strictness(tv.Decision) == strictness(v.Decision) && v.Rule == RuleDefault && tv.Rule != RuleDefault {
				v = tv
				v.Why = fmt.Sprintf("%s writes %s, a field of kind %s (fields.%s): judged as %s too, the stricter decision wins", c.Kind, c.Field, kind, kind, kind)
			} else {
				v.Approvals, v.Reviewers = max(v.Approvals, tv.Approvals), mergeReviewers(v.Reviewers, tv.Reviewers)
			}
		}
	}
	override := func(d Decision, rule, why string) {
		e.Override, v = rule, Verdict{Decision: d, Rule: rule, Approvals: v.Approvals, Reviewers: v.Reviewers, Why: why}
	}
	switch {
	case !c.TwoRecords() && v.Decision != Deny && p.misfit(c):
		override(Deny, RuleFieldKind, fmt.Sprintf("kind %s writes only %s (fields.%s in the policy), not %s; propose it as the kind that writes %s, or add the field to fields.%s",
			c.Kind, strings.Join(p.FieldsOf(c.Kind), ", "), c.Kind, c.Field, c.Field, c.Kind))
	case v.Decision != Auto:
	case c.TwoRecords() || c.Kind == "owner" || c.Kind == "dedupe" || p.ownerField(c.Field):
		override(Review, RuleInvariantNeverAuto, neverAutoWhy(c, p.ownerField(c.Field)))
	case !p.Trusts(by):
		override(Review, RuleInvariantProposer, untrustedWhy(by))
	case p.Freeze:
		override(Review, RuleFreeze, "the repository is frozen (freeze: true in the policy): every auto decision is review until it is lifted")
	}
	e.Verdict = v
	return e
}

// misfit reports a change whose kind may write only certain fields and
// whose field is not one of them.
func (p *Policy) misfit(c batch.Change) bool {
	fields := p.kindFields[c.Kind]
	return len(fields) > 0 && !fields[strings.ToLower(c.Field)]
}

func neverAutoWhy(c batch.Change, ownerField bool) string {
	what := "an owner change"
	switch {
	case c.Op == batch.OpMerge:
		what = "a merge"
	case c.Op == batch.OpUnmerge:
		what = "an unmerge"
	case c.Kind == "dedupe":
		what = "a dedupe change"
	case ownerField && c.Kind != "owner":
		what = fmt.Sprintf("a write to the owner field %s (whatever kind it claims)", c.Field)
	}
	return what + " is never auto, whatever the policy says"
}

func untrustedWhy(by Proposer) string {
	if by.Outside {
		return "proposed from outside the repository (a fork): never auto"
	}
	if by.Agent != "" {
		return fmt.Sprintf("proposed by the AI agent %s (crmops mcp), and an agent is auto only where an auto rule names it as a proposer: review", by.Agent)
	}
	who := by.Login
	if who == "" {
		who = "an unknown proposer"
	}
	return fmt.Sprintf("proposed by %s, whom no auto rule names as a proposer: review", who)
}

func mergeReviewers(a, b []string) []string {
	for _, r := range b {
		if !slices.Contains(a, r) {
			a = append(a, r)
		}
	}
	return a
}

// Mismatch returns why the change, proposed by by, does not match, or ""
// when it does.
func (m Match) Mismatch(c batch.Change, by Proposer) string {
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
	case len(m.Proposer) > 0 && by.Agent != "" && !m.Proposer.hasFold(by.Agent):
		// A rule naming the login an agent's server acts as is not a
		// rule for the agent: it must be named itself.
		return fmt.Sprintf("proposer is the agent %q, not %s", by.Agent, strings.Join(m.Proposer, " or "))
	case len(m.Proposer) > 0 && (by.Outside || (by.Agent == "" && !m.Proposer.hasFold(by.Login))):
		who := by.Login
		if by.Outside {
			who += " (from a fork)"
		}
		return fmt.Sprintf("proposer is %q, not %s", who, strings.Join(m.Proposer, " or "))
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
	// Proposer is who the batch was judged as proposed by.
	Proposer Proposer
	// Frozen reports a policy with freeze: true: every auto decision was
	// turned into review.
	Frozen bool
	// Why says, for a batch-level override (a limit, the batch's review
	// key), why the batch needs review; "" otherwise.
	Why string
}

// Proposer is who proposed a batch, as the forge knows it (never as the
// batch says): the pull request's author on GitHub, the author recorded
// when proposing on the local forge, the agent name over MCP.
type Proposer struct {
	// Login is the forge's login; "" when unknown.
	Login string
	// Outside is true for a proposal from outside the repository (a pull
	// request from a fork): it is never trusted, whatever its login.
	Outside bool
	// Agent is the AI agent the batch was proposed through (batch key
	// agent), "" for any other proposal. EvaluateBatch takes it from the
	// batch: the claim can only take trust away.
	Agent string
}

// EvaluateBatch classifies every change of b, proposed by by, and the batch
// as a whole: the batch is as strict as its strictest change, and an
// all-auto batch still needs review when it is larger than the limits
// allow or asks for review itself. Propose, merge and apply all decide
// through it, so a hand-made batch cannot skip a limit propose enforces.
func (p *Policy) EvaluateBatch(b *batch.Batch, by Proposer) BatchVerdict {
	if b.Agent != "" {
		by.Agent = b.Agent
	}
	bv := BatchVerdict{Decision: Auto, Approvals: p.Approvals, Proposer: by, Frozen: p.Freeze}
	seenRule, seenReviewer := map[string]bool{}, map[string]bool{}
	addRule := func(r string) {
		if !seenRule[r] {
			seenRule[r] = true
			bv.Rules = append(bv.Rules, r)
		}
	}
	autos := 0
	for _, c := range b.Changes {
		v := p.Evaluate(c, by)
		bv.Changes = append(bv.Changes, v)
		addRule(v.Rule)
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
		case v.Decision == Auto:
			autos++
		}
		bv.Approvals = max(bv.Approvals, v.Approvals)
	}
	if bv.Decision != Auto {
		return bv
	}
	switch {
	case b.Review != "":
		bv.Decision, bv.Why = Review, "the batch asks for review: "+b.Review
		addRule(RuleBatchReview)
	case len(b.Changes) > p.Limits.MaxChangesPerBatch:
		bv.Decision, bv.Why = Review, fmt.Sprintf("the batch has %d changes, more than limits.max_changes_per_batch (%d)", len(b.Changes), p.Limits.MaxChangesPerBatch)
		addRule(RuleLimitBatchSize)
	case autos > p.Limits.MaxAutoChangesPerRun:
		bv.Decision, bv.Why = Review, fmt.Sprintf("the batch has %d auto changes, more than limits.max_auto_changes_per_run (%d)", autos, p.Limits.MaxAutoChangesPerRun)
		addRule(RuleLimitAutoPerRun)
	}
	return bv
}

// Default is the policy `crmops init` writes for the local forge: the five
// scenarios of the approval-first model, each auto rule naming the fields
// it may write. Its auto rules name no proposer, because on the local forge
// whoever can push is trusted alike.
var Default = DefaultFor(nil)

// DefaultFor is the default policy whose auto rules trust only proposers
// (on GitHub, the identity the workflows act as, e.g.
// github-actions[bot]); nil trusts every proposer from inside the
// repository.
func DefaultFor(proposers []string) string {
	by := ""
	if len(proposers) > 0 {
		quoted := make([]string, len(proposers))
		for i, p := range proposers {
			quoted[i] = strconv.Quote(p)
		}
		by = ", proposer: [" + strings.Join(quoted, ", ") + "]"
	}
	return `# yaml-language-server: $schema=../schemas/policy.schema.json
version: 1
default: review                  # decision when no rule matches
approvals: 1                     # approvals a review batch needs (a rule may raise it)
# freeze: true                   # turn every auto decision into review until removed
limits:
  max_changes_per_batch: 1000    # larger detector output is split into several batches
  max_auto_changes_per_run: 500  # blast radius: past this, auto changes go to review
fields:                          # the CRM properties each kind writes (added to crmops' built-in list);
  owner: [hubspot_owner_id, owner]        # a change writing one is judged as that kind too,
  lifecycle: [lifecyclestage]             # and a kind listed here may write nothing else
  email_verification: [email_status]
rules:                           # first match wins
  - name: enrichment-fill-empty
    when: {kind: enrichment, field: [` + strings.Join(EnrichmentFields, ", ") + `], before: empty, min_confidence: 0.9` + by + `}
    decision: auto
  - name: enrichment-overwrite
    when: {kind: enrichment, before: present}
    decision: review
  - name: dedupe-always-review
    when: {kind: dedupe}
    decision: review
  - name: lifecycle-single-event
    when: {kind: lifecycle, field: lifecyclestage, trigger: event` + by + `}
    decision: auto
  - name: lifecycle-ai-score
    when: {kind: lifecycle, trigger: score}
    decision: review
  - name: owner-always-review
    when: {kind: owner}
    decision: review
  - name: email-valid
    when: {kind: email_verification, field: email_status, after: [valid]` + by + `}
    decision: auto
  - name: email-risky
    when: {kind: email_verification}
    decision: review
`
}

// EnrichmentFields are the descriptive properties the default policy lets
// an enrichment fill without review (HubSpot's standard names): never an
// identifier such as email, which routes messages and matches records.
var EnrichmentFields = []string{"jobtitle", "company", "phone", "mobilephone", "website", "industry", "city", "state", "country", "zip", "address"}

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
		why := ""
		if bv.Why != "" {
			why = " (it needs review: " + bv.Why + ")"
		}
		return "", fmt.Errorf("needs %d approval(s) on the head commit from someone who neither proposed nor changed it, has %d%s", bv.Approvals, approvals, why)
	}
	return "approved", nil
}
