// Package policytest runs a policy against expected decisions: the files
// under policies/tests/, each a list of changes with the decision (and,
// optionally, the rule) the policy must give them. A pull request that
// changes the policy runs them against the policy it brings, so a change of
// behaviour shows up as a failing case, not as a surprise in production.
//
// File format (policies/tests/*.yaml), decoded strictly:
//
//	version: 1
//	cases:
//	  - name: fill an empty job title          # unique across the folder
//	    change:                                # a batch change without id
//	      kind: enrichment                     # required
//	      object: contacts                     # required
//	      record: "1001"                       # optional, default "1"
//	      op: set                              # required: set | merge
//	      field: jobtitle                      # op set: field, before, after required
//	      before: ""
//	      after: VP Sales
//	      merge_from: "1002"                   # op merge: required
//	      source: clay                         # required
//	      confidence: 0.97                     # required, 0..1
//	      trigger: import                      # optional
//	    proposer: github-actions[bot]          # optional: who proposed, as the forge knows it
//	    from_fork: true                        # optional: proposed from a fork
//	    expect: auto                           # auto | review | deny
//	    rule: enrichment-fill-empty            # optional: the rule that must decide
//
// The change is validated like a change of a batch file, so a case cannot
// test a change crmops would never evaluate. It is decided as crmops decides
// a proposed change: by the rules for its own kind and for every kind whose
// fields (fields: in the policy) it writes, then by the built-in guards, for
// the proposer the case names (without proposer: an unknown one, "", whom a
// policy whose auto rules name proposers does not trust).
//
// rule may name a rule of the policy, "default" (no rule matched) or the
// guard that must decide: "invariant:never-auto" (a merge or an owner field
// is never auto), "invariant:field-kind" (a kind with fields writing another
// field is refused), "invariant:proposer" (an auto decision for a proposer
// the policy does not trust is review) or "freeze" (freeze: true). The
// batch-level limits and a batch's review key judge whole batches, never one
// change, and are refused as a case's rule. A failing case's Why says, in
// words, what decided instead, a guard's reason included.
package policytest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/strictyaml"
)

// Dir is where policy tests live in a change-request repository.
const Dir = "policies/tests"

// Version is the test file format version this build reads.
const Version = 1

// Case is one expected decision.
type Case struct {
	Name string
	// File and Line locate the case for messages.
	File string
	Line int
	// Change is the change under test, valid as a batch change.
	Change batch.Change
	// Proposer is who the case says proposed the change; the zero value
	// is an unknown proposer from inside the repository.
	Proposer policy.Proposer
	Expect   policy.Decision
	// Rule, when set, is the rule (or guard) that must decide the change.
	Rule string
}

// Where is the case's file:line.
func (c Case) Where() string { return fmt.Sprintf("%s:%d", c.File, c.Line) }

type testFile struct {
	Version int        `yaml:"version" strict:"required"`
	Cases   []caseYAML `yaml:"cases" strict:"required"`

	Pos strictyaml.Pos `yaml:"-"`
}

type caseYAML struct {
	Name     string     `yaml:"name" strict:"required"`
	Change   changeYAML `yaml:"change" strict:"required"`
	Proposer string     `yaml:"proposer"`
	FromFork bool       `yaml:"from_fork"`
	Expect   string     `yaml:"expect" strict:"required"`
	Rule     string     `yaml:"rule"`

	Pos strictyaml.Pos `yaml:"-"`
}

// changeYAML has the keys of a batch change that a policy can see, plus
// record and merge_from so that the change is a valid one.
type changeYAML struct {
	Kind       string  `yaml:"kind" strict:"required"`
	Object     string  `yaml:"object" strict:"required"`
	Record     string  `yaml:"record"`
	Op         string  `yaml:"op" strict:"required"`
	Field      string  `yaml:"field"`
	Before     string  `yaml:"before"`
	After      string  `yaml:"after"`
	MergeFrom  string  `yaml:"merge_from"`
	Source     string  `yaml:"source" strict:"required"`
	Confidence float64 `yaml:"confidence" strict:"required"`
	Trigger    string  `yaml:"trigger"`

	Pos strictyaml.Pos `yaml:"-"`
}

// batchLevel are the rule names EvaluateBatch gives a whole batch: no one
// change reaches them.
var batchLevel = map[string]bool{policy.RuleLimitBatchSize: true, policy.RuleLimitAutoPerRun: true, policy.RuleBatchReview: true}

// Decode strictly decodes one test file named file (used in messages).
func Decode(file string, data []byte) ([]Case, error) {
	var f testFile
	if err := strictyaml.Decode(file, data, &f); err != nil {
		return nil, err
	}
	if f.Version != Version {
		return nil, f.Pos.Errorf(file, "version", "unsupported version %d (this crmops reads version %d)", f.Version, Version)
	}
	if len(f.Cases) == 0 {
		return nil, f.Pos.Errorf(file, "cases", "a test file needs at least one case")
	}
	seen := map[string]int{}
	var out []Case
	for i, cy := range f.Cases {
		if strings.TrimSpace(cy.Name) == "" {
			return nil, cy.Pos.Errorf(file, "name", "must not be empty")
		}
		if first, dup := seen[cy.Name]; dup {
			return nil, cy.Pos.Errorf(file, "name", "duplicate case name %q (first used at line %d)", cy.Name, first)
		}
		seen[cy.Name] = cy.Pos.Line
		expect := policy.Decision(cy.Expect)
		if expect != policy.Auto && expect != policy.Review && expect != policy.Deny {
			return nil, cy.Pos.Errorf(file, "expect", "unknown decision %q (auto, review or deny)", cy.Expect)
		}
		if cy.Pos.Has("proposer") && strings.TrimSpace(cy.Proposer) == "" {
			return nil, cy.Pos.Errorf(file, "proposer", "must not be empty (leave proposer out for an unknown proposer)")
		}
		if batchLevel[cy.Rule] {
			return nil, cy.Pos.Errorf(file, "rule", "%s judges a whole batch, never one change: a case cannot expect it", cy.Rule)
		}
		c := cy.Change
		ch := batch.Change{
			ID: fmt.Sprintf("case%d", i+1), Kind: c.Kind, Object: c.Object, Record: c.Record, Op: c.Op,
			Field: c.Field, Before: c.Before, After: c.After, MergeFrom: c.MergeFrom,
			Source: c.Source, Confidence: c.Confidence, Trigger: c.Trigger, Pos: c.Pos,
		}
		if !c.Pos.Has("record") {
			ch.Record = "1"
		}
		if err := ch.Validate(file); err != nil {
			return nil, err
		}
		out = append(out, Case{Name: cy.Name, File: file, Line: cy.Pos.Line, Change: ch, Expect: expect, Rule: cy.Rule,
			Proposer: policy.Proposer{Login: strings.TrimSpace(cy.Proposer), Outside: cy.FromFork}})
	}
	return out, nil
}

// Load reads every *.yaml file directly in dir, in name order. A missing
// dir holds no cases. Files in a folder policies/tests are named
// policies/tests/<name> in cases and errors, as in the repository.
func Load(dir string) ([]Case, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("policy tests: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []Case
	seen := map[string]Case{}
	for _, name := range names {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("policy tests: %w", err)
		}
		// In a repository's policies/tests/, name files as the repository
		// does, wherever it is checked out.
		display := filepath.ToSlash(path)
		if strings.HasSuffix(filepath.ToSlash(filepath.Clean(dir)), "/"+Dir) || filepath.ToSlash(filepath.Clean(dir)) == Dir {
			display = Dir + "/" + name
		}
		cases, err := Decode(display, data)
		if err != nil {
			return nil, err
		}
		for _, c := range cases {
			if first, dup := seen[c.Name]; dup {
				return nil, &strictyaml.Error{File: c.File, Line: c.Line, Key: "name", Msg: fmt.Sprintf("duplicate case name %q (first used at %s)", c.Name, first.Where())}
			}
			seen[c.Name] = c
		}
		out = append(out, cases...)
	}
	return out, nil
}

// Result is a case run against a policy.
type Result struct {
	Case Case
	// Got is the policy's verdict and Explanation why.
	Got         policy.Verdict
	Explanation policy.Explanation
	Pass        bool
}

// Run evaluates every case under pol.
func Run(pol *policy.Policy, cases []Case) []Result {
	out := make([]Result, 0, len(cases))
	for _, c := range cases {
		e := pol.Explain(c.Change, c.Proposer)
		got := pol.Evaluate(c.Change, c.Proposer)
		pass := got.Decision == c.Expect && (c.Rule == "" || got.Rule == c.Rule)
		out = append(out, Result{Case: c, Got: got, Explanation: e, Pass: pass})
	}
	return out
}

// Failed counts the results that did not pass.
func Failed(results []Result) int {
	n := 0
	for _, r := range results {
		if !r.Pass {
			n++
		}
	}
	return n
}

// Diff is a failed case in one line, e.g.
// `case "fill empty jobtitle": want auto (enrichment-fill-empty), got review (default)`,
// or "" when the case passed.
func (r Result) Diff() string {
	if r.Pass {
		return ""
	}
	want := string(r.Case.Expect)
	if r.Case.Rule != "" {
		want += " (" + r.Case.Rule + ")"
	}
	return fmt.Sprintf("case %q: want %s, got %s (%s)", r.Case.Name, want, r.Got.Decision, r.Got.Rule)
}

// Why explains a failed case: why the rule (or guard) the case wants did
// not decide, and what did, in words: the matched rule with its line, the
// other kind the change was judged as, or the guard that overrode the
// policy with its reason (Verdict.Why). Empty when the case passed.
func (r Result) Why(pol *policy.Policy) []string {
	if r.Pass {
		return nil
	}
	var out []string
	if want := r.Case.Rule; want != "" && want != r.Got.Rule {
		if line := r.wantedRule(pol, want); line != "" {
			out = append(out, line)
		}
	}
	return append(out, r.decided())
}

// wantedRule says why want, which the case expects, did not decide.
func (r Result) wantedRule(pol *policy.Policy, want string) string {
	e, c := r.Explanation, r.Case.Change
	decided := fmt.Sprintf("%s decided %s", r.Got.Rule, r.Got.Decision)
	switch want {
	case policy.RuleDefault:
		if e.Matched != nil {
			return fmt.Sprintf("default: rule %s matched first", e.Matched.Name)
		}
		return "" // the default did say its word; what overrode it follows
	case policy.RuleInvariantNeverAuto:
		if r.Got.Decision != policy.Auto {
			return fmt.Sprintf("%s: %s, which the invariant leaves alone (it only turns auto into review)", want, decided)
		}
		return fmt.Sprintf("%s: the change is neither a merge nor an owner change nor a write to an owner field", want)
	case policy.RuleInvariantProposer:
		switch {
		case e.Override != "" && e.Override != want:
			return fmt.Sprintf("%s: %s overrode first", want, e.Override)
		case r.Got.Decision != policy.Auto:
			return fmt.Sprintf("%s: %s, which the guard leaves alone (it only turns auto into review)", want, decided)
		}
		return fmt.Sprintf("%s: the policy trusts %s", want, trusted(pol, r.Case.Proposer))
	case policy.RuleFieldKind:
		fields := pol.FieldsOf(c.Kind)
		switch {
		case c.TwoRecords():
			return fmt.Sprintf("%s: a %s writes no field", want, c.Op)
		case len(fields) == 0:
			return fmt.Sprintf("%s: kind %s has no fields in the policy, so it may write any field", want, c.Kind)
		case r.Got.Decision == policy.Deny:
			return fmt.Sprintf("%s: %s first", want, decided)
		}
		return fmt.Sprintf("%s: kind %s may write %s (fields.%s)", want, c.Kind, c.Field, c.Kind)
	case policy.RuleFreeze:
		switch {
		case !pol.Freeze:
			return fmt.Sprintf("%s: the policy is not frozen (no freeze: true)", want)
		case e.Override != "" && e.Override != want:
			return fmt.Sprintf("%s: %s overrode first", want, e.Override)
		}
		return fmt.Sprintf("%s: %s, which the freeze leaves alone (it only turns auto into review)", want, decided)
	}
	for _, s := range e.Skipped {
		if s.Rule.Name == want {
			return fmt.Sprintf("%s: %s", want, s.Reason)
		}
	}
	if e.Matched != nil && e.Matched.Name == want {
		return fmt.Sprintf("%s matched and decided %s, but did not have the last word", want, e.Decided)
	}
	for _, k := range e.AsKinds {
		if k.Matched != nil && k.Matched.Name == want {
			return fmt.Sprintf("%s: matched the change judged as %s and decided %s, but did not have the last word", want, k.Kind, k.Decided)
		}
	}
	idx := slices.IndexFunc(pol.Rules, func(rule policy.Rule) bool { return rule.Name == want })
	switch {
	case idx < 0:
		return fmt.Sprintf("%s: no rule of that name in the policy", want)
	case e.Matched != nil && idx > e.Matched.Index:
		return fmt.Sprintf("%s: comes after %s, which matched first", want, e.Matched.Name)
	}
	return ""
}

// decided says what decided the case: the guard that overrode the policy
// with its reason, the rule of another kind the change was judged as, the
// rule that matched, or the default.
func (r Result) decided() string {
	e, v := r.Explanation, r.Got
	if e.Override != "" {
		return e.OverrideReason()
	}
	if v.Why != "" {
		for _, k := range e.AsKinds {
			if ruleOf(k) == v.Rule && k.Decided == v.Decision {
				if k.Matched == nil {
					return fmt.Sprintf("judged as %s, no rule matched: the policy's default is %s (%s)", k.Kind, k.Decided, v.Why)
				}
				return fmt.Sprintf("%s%s matched the change judged as %s and decided %s (%s)", k.Matched.Name, lineNote(k.Matched.Line), k.Kind, k.Decided, v.Why)
			}
		}
		return fmt.Sprintf("%s decided %s: %s", v.Rule, v.Decision, v.Why)
	}
	if e.Matched != nil {
		return fmt.Sprintf("%s%s matched and decided %s", e.Matched.Name, lineNote(e.Matched.Line), e.Decided)
	}
	return fmt.Sprintf("no rule matched: the policy's default is %s", e.Decided)
}

func ruleOf(k policy.KindTrace) string {
	if k.Matched == nil {
		return policy.RuleDefault
	}
	return k.Matched.Name
}

func lineNote(line int) string {
	if line == 0 {
		return ""
	}
	return fmt.Sprintf(" (line %d)", line)
}

// trusted says why pol trusts by, for a message.
func trusted(pol *policy.Policy, by policy.Proposer) string {
	who := by.Login
	if who == "" {
		who = "an unknown proposer"
	}
	for _, rule := range pol.Rules {
		if rule.Decision == policy.Auto && len(rule.When.Proposer) > 0 {
			return who + ", whom an auto rule names"
		}
	}
	return who + ": no auto rule names a proposer, so everyone from inside the repository is trusted alike"
}

// Uncovered lists what of pol no case reached: rule names, and "default"
// when every case matched a rule. A rule reached as another kind the
// change was judged as counts.
func Uncovered(pol *policy.Policy, results []Result) []string {
	reached := map[string]bool{}
	for _, r := range results {
		reached[r.Explanation.Rule()] = true
		for _, k := range r.Explanation.AsKinds {
			reached[ruleOf(k)] = true
		}
	}
	var out []string
	for _, rule := range pol.Rules {
		if !reached[rule.Name] {
			out = append(out, rule.Name)
		}
	}
	if !reached[policy.RuleDefault] {
		out = append(out, policy.RuleDefault)
	}
	return out
}
