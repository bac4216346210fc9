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
//	    expect: auto                           # auto | review | deny
//	    rule: enrichment-fill-empty            # optional: the rule that must decide
//
// The change is validated like a change of a batch file, so a case cannot
// test a change crmops would never evaluate. rule may also be "default"
// (no rule matched) or "invariant:never-auto".
package policytest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	Expect policy.Decision
	// Rule, when set, is the rule that must decide the change.
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
	Name   string     `yaml:"name" strict:"required"`
	Change changeYAML `yaml:"change" strict:"required"`
	Expect string     `yaml:"expect" strict:"required"`
	Rule   string     `yaml:"rule"`

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
		out = append(out, Case{Name: cy.Name, File: file, Line: cy.Pos.Line, Change: ch, Expect: expect, Rule: cy.Rule})
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
		e := pol.Explain(c.Change)
		got := pol.Evaluate(c.Change)
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

// Why explains a failed case: why the rule the case wants did not decide,
// and why the one that did matched. Empty when the case passed.
func (r Result) Why(pol *policy.Policy) []string {
	if r.Pass {
		return nil
	}
	var out []string
	e := r.Explanation
	want := r.Case.Rule
	switch {
	case want == "" || want == r.Got.Rule:
	case want == policy.RuleDefault:
		out = append(out, fmt.Sprintf("default: rule %s matched first", e.Rule()))
	case want == policy.RuleInvariantNeverAuto:
		out = append(out, fmt.Sprintf("%s: %s decided %s, which the invariant leaves alone", want, e.Rule(), e.Decided))
	default:
		found := false
		for _, s := range e.Skipped {
			if s.Rule.Name == want {
				out = append(out, fmt.Sprintf("%s: %s", want, s.Reason))
				found = true
			}
		}
		if !found {
			idx := -1
			for i, rule := range pol.Rules {
				if rule.Name == want {
					idx = i
				}
			}
			switch {
			case idx < 0:
				out = append(out, fmt.Sprintf("%s: no rule of that name in the policy", want))
			case e.Matched != nil && idx > e.Matched.Index:
				out = append(out, fmt.Sprintf("%s: comes after %s, which matched first", want, e.Matched.Name))
			}
		}
	}
	switch {
	case e.Override != "":
		out = append(out, e.OverrideReason(r.Case.Change))
	case e.Matched != nil:
		line := ""
		if e.Matched.Line > 0 {
			line = fmt.Sprintf(" (line %d)", e.Matched.Line)
		}
		out = append(out, fmt.Sprintf("%s%s matched and decided %s", e.Matched.Name, line, e.Decided))
	default:
		out = append(out, fmt.Sprintf("no rule matched: the policy's default is %s", e.Decided))
	}
	return out
}

// Uncovered lists what of pol no case reached: rule names, and "default"
// when every case matched a rule.
func Uncovered(pol *policy.Policy, results []Result) []string {
	reached := map[string]bool{}
	for _, r := range results {
		reached[r.Explanation.Rule()] = true
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
