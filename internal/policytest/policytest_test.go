package policytest_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/policytest"
)

func defaultPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load(policy.Path, []byte(policy.Default))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func defaultCases(t *testing.T) []policytest.Case {
	t.Helper()
	var cases []policytest.Case
	for path, data := range policytest.DefaultTests() {
		if !strings.HasPrefix(path, policytest.Dir+"/") || !strings.HasSuffix(path, ".yaml") {
			t.Errorf("DefaultTests path %q is not a file in %s", path, policytest.Dir)
		}
		cs, err := policytest.Decode(path, data)
		if err != nil {
			t.Fatalf("DefaultTests %s: %v", path, err)
		}
		cases = append(cases, cs...)
	}
	return cases
}

func TestDefaultTestsPassAgainstTheDefaultPolicy(t *testing.T) {
	pol := defaultPolicy(t)
	for _, r := range policytest.Run(pol, defaultCases(t)) {
		t.Run(r.Case.Name, func(t *testing.T) {
			if !r.Pass {
				t.Errorf("%s: %s\n%s", r.Case.Where(), r.Diff(), strings.Join(r.Why(pol), "\n"))
			}
		})
	}
}

// TestDefaultTestsCoverEveryRuleOfTheDefaultPolicy fails when a rule is
// added to policy.Default without a case in DefaultTests.
func TestDefaultTestsCoverEveryRuleOfTheDefaultPolicy(t *testing.T) {
	pol := defaultPolicy(t)
	results := policytest.Run(pol, defaultCases(t))
	t.Run("every rule and the default decide at least one case", func(t *testing.T) {
		if missing := policytest.Uncovered(pol, results); len(missing) > 0 {
			t.Errorf("no case in DefaultTests reaches %s: add one to internal/policytest/default.go", strings.Join(missing, ", "))
		}
	})
	t.Run("every case names the rule it expects, except the owner invariant", func(t *testing.T) {
		for _, r := range results {
			if r.Case.Rule == "" && r.Case.Change.Kind != "owner" {
				t.Errorf("case %q names no rule", r.Case.Name)
			}
		}
	})
	t.Run("changes that claim one kind and do another are judged by what they do", func(t *testing.T) {
		var refused, ownerField, fork bool
		for _, r := range results {
			c := r.Case.Change
			switch {
			case r.Case.Rule == policy.RuleFieldKind && r.Case.Expect == policy.Deny:
				refused = true
			case c.Kind != "owner" && slices.Contains(pol.FieldsOf("owner"), c.Field) && r.Case.Expect == policy.Review:
				ownerField = true
			case r.Case.Proposer.Outside && r.Case.Rule == policy.RuleInvariantProposer:
				fork = true
			}
		}
		if !refused || !ownerField || !fork {
			t.Errorf("a field-kind refusal %v, an owner field written by another kind %v, a fork's proposal %v: want a case of each", refused, ownerField, fork)
		}
	})
	t.Run("an owner change is expected to need review whatever rule decides it", func(t *testing.T) {
		found := false
		for _, r := range results {
			if r.Case.Change.Kind == "owner" && r.Case.Rule == "" && r.Case.Expect == policy.Review {
				found = true
			}
		}
		if !found {
			t.Error("no case expects an owner change to need review without naming the rule")
		}
	})
	t.Run("a rule added to the default policy without a case is reported", func(t *testing.T) {
		text := policy.Default + "  - name: zapier-deny\n    when: {source: zapier}\n    decision: deny\n"
		p, err := policy.Load(policy.Path, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		missing := policytest.Uncovered(p, policytest.Run(p, defaultCases(t)))
		if !slices.Equal(missing, []string{"zapier-deny"}) {
			t.Errorf("Uncovered = %v, want [zapier-deny]", missing)
		}
	})
}

func TestAFailingCaseReadsAsADiffWithItsReasons(t *testing.T) {
	pol := defaultPolicy(t)
	const file = `version: 1
cases:
  - name: fill empty jobtitle
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.85}
    expect: auto
    rule: enrichment-fill-empty
  - name: risky email is auto
    change: {kind: email_verification, object: contacts, op: set, field: email_status, before: "", after: risky, source: zb, confidence: 1}
    expect: auto
  - name: owner by a later rule
    change: {kind: owner, object: contacts, op: set, field: owner, before: a, after: b, source: x, confidence: 1}
    expect: review
    rule: email-risky
  - name: lifecycle by the default
    change: {kind: lifecycle, object: contacts, op: set, field: lifecyclestage, before: a, after: b, source: x, confidence: 1, trigger: event}
    expect: auto
    rule: default
  - name: a rule that is not there
    change: {kind: custom, object: contacts, op: set, field: f, before: a, after: b, source: x, confidence: 1}
    expect: review
    rule: no-such-rule
`
	cases, err := policytest.Decode("policies/tests/mine.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	results := policytest.Run(pol, cases)
	tests := []struct {
		name string
		diff string
		why  []string
	}{
		{
			name: "a case below the confidence threshold names both decisions and the failing condition",
			diff: `case "fill empty jobtitle": want auto (enrichment-fill-empty), got review (default)`,
			why:  []string{"enrichment-fill-empty: confidence 0.85 is below 0.9", "no rule matched: the policy's default is review"},
		},
		{
			name: "a case without a rule names the rule that decided",
			diff: `case "risky email is auto": want auto, got review (email-risky)`,
			why:  []string{"email-risky (line 35) matched and decided review"},
		},
		{
			name: "a case wanting a later rule says which rule matched first",
			diff: `case "owner by a later rule": want review (email-risky), got review (owner-always-review)`,
			why:  []string{"email-risky: comes after owner-always-review, which matched first", "owner-always-review (line 29) matched and decided review"},
		},
		{
			name: "a case wanting the default says which rule matched",
			diff: `case "lifecycle by the default": want auto (default), got auto (lifecycle-single-event)`,
			why:  []string{"default: rule lifecycle-single-event matched first", "lifecycle-single-event (line 23) matched and decided auto"},
		},
		{
			name: "a case naming a rule the policy lacks says so",
			diff: `case "a rule that is not there": want review (no-such-rule), got review (default)`,
			why:  []string{"no-such-rule: no rule of that name in the policy", "no rule matched: the policy's default is review"},
		},
	}
	if len(results) != len(tests) {
		t.Fatalf("%d results", len(results))
	}
	if policytest.Failed(results) != len(tests) {
		t.Errorf("Failed = %d, want %d", policytest.Failed(results), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := results[i]
			if r.Pass {
				t.Fatal("passed")
			}
			if r.Diff() != tt.diff {
				t.Errorf("Diff:\n got %s\nwant %s", r.Diff(), tt.diff)
			}
			if why := r.Why(pol); !slices.Equal(why, tt.why) {
				t.Errorf("Why:\n got %q\nwant %q", why, tt.why)
			}
		})
	}
}

func TestDecodeRefusesBadTestFilesNamingFileLineAndKey(t *testing.T) {
	const good = `version: 1
cases:
  - name: ok
    change: {kind: custom, object: contacts, op: set, field: f, before: a, after: b, source: x, confidence: 1}
    expect: review
`
	tests := []struct {
		name string
		file string
		want string
	}{
		{"an unknown key in a case", strings.Replace(good, "expect: review", "expect: review\n    expected: auto", 1),
			"t.yaml:6: cases[0].expected: unknown key"},
		{"an unknown key in a change", strings.Replace(good, "source: x", "source: x, reason: r", 1),
			"t.yaml:4: cases[0].change.reason: unknown key"},
		{"a case without expect", strings.Replace(good, "    expect: review\n", "", 1),
			"t.yaml:3: cases[0].expect: missing required key"},
		{"a change without confidence", strings.Replace(good, ", confidence: 1", "", 1),
			"t.yaml:4: cases[0].change.confidence: missing required key"},
		{"a quoted confidence", strings.Replace(good, "confidence: 1", `confidence: "1"`, 1),
			`t.yaml:4: cases[0].change.confidence: want a number, got "1"`},
		{"a confidence above 1", strings.Replace(good, "confidence: 1", "confidence: 1.5", 1),
			"t.yaml:4: cases[0].change.confidence: 1.5 is outside 0..1"},
		{"an unknown decision", strings.Replace(good, "expect: review", "expect: maybe", 1),
			`t.yaml:5: cases[0].expect: unknown decision "maybe" (auto, review or deny)`},
		{"a set without before", strings.Replace(good, " before: a,", "", 1),
			"t.yaml:4: cases[0].change.before: missing required key for op set"},
		{"a merge with a field", strings.Replace(good, "op: set, field: f, before: a, after: b", "op: merge, merge_from: \"2\", field: f", 1),
			"t.yaml:4: cases[0].change.field: op merge does not take field"},
		{"an unknown kind", strings.Replace(good, "kind: custom", "kind: billing", 1),
			`t.yaml:4: cases[0].change.kind: unknown kind "billing"`},
		{"two cases with one name", good + "  - name: ok\n    change: {kind: custom, object: contacts, op: set, field: f, before: a, after: c, source: x, confidence: 1}\n    expect: review\n",
			`t.yaml:6: cases[1].name: duplicate case name "ok" (first used at line 3)`},
		{"another version", strings.Replace(good, "version: 1", "version: 2", 1),
			"t.yaml:1: version: unsupported version 2"},
		{"no cases", "version: 1\ncases: []\n",
			"t.yaml:2: cases: a test file needs at least one case"},
		{"a list at the top instead of version and cases", "- name: ok\n",
			"t.yaml:1: want a mapping of keys, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := policytest.Decode("t.yaml", []byte(tt.file))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant prefix %s", err, tt.want)
			}
		})
	}
	t.Run("a case without record gets record 1, which no rule can see", func(t *testing.T) {
		cases, err := policytest.Decode("t.yaml", []byte(good))
		if err != nil {
			t.Fatal(err)
		}
		if cases[0].Change.Record != "1" || cases[0].Line != 3 || cases[0].Where() != "t.yaml:3" {
			t.Errorf("case = %+v", cases[0])
		}
	})
}

func TestLoadReadsEveryFileOfTheFolder(t *testing.T) {
	one := "version: 1\ncases:\n  - name: %s\n    change: {kind: custom, object: contacts, op: set, field: f, before: a, after: b, source: x, confidence: 1}\n    expect: review\n"
	write := func(t *testing.T, dir, name, content string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("files are read in name order and named as in the repository", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "policies", "tests")
		write(t, dir, "b.yaml", strings.Replace(one, "%s", "second", 1))
		write(t, dir, "a.yaml", strings.Replace(one, "%s", "first", 1))
		write(t, dir, "README.md", "not a test")
		cases, err := policytest.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) != 2 || cases[0].Name != "first" || cases[1].Where() != "policies/tests/b.yaml:3" {
			t.Errorf("cases = %+v", cases)
		}
	})
	t.Run("a missing folder holds no cases", func(t *testing.T) {
		cases, err := policytest.Load(filepath.Join(t.TempDir(), "policies", "tests"))
		if err != nil || len(cases) != 0 {
			t.Errorf("cases %v, err %v", cases, err)
		}
	})
	t.Run("a name used in two files is refused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "policies", "tests")
		write(t, dir, "a.yaml", strings.Replace(one, "%s", "same", 1))
		write(t, dir, "b.yaml", strings.Replace(one, "%s", "same", 1))
		_, err := policytest.Load(dir)
		if err == nil || err.Error() != `policies/tests/b.yaml:3: name: duplicate case name "same" (first used at policies/tests/a.yaml:3)` {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a bad file stops the load with its error", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "policies", "tests")
		write(t, dir, "a.yaml", "version: 1\ncases:\n  - name: x\n    change: {kind: custom}\n    expect: review\n")
		_, err := policytest.Load(dir)
		if err == nil || !strings.HasPrefix(err.Error(), "policies/tests/a.yaml:4: cases[0].change.object: missing required key") {
			t.Errorf("err = %v", err)
		}
	})
}
