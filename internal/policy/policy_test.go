package policy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

func mustLoad(t *testing.T, text string) *policy.Policy {
	t.Helper()
	p, err := policy.Load(policy.Path, []byte(text))
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, text)
	}
	return p
}

// set and merge build valid changes for the scenarios; a set writes the
// field its kind writes.
func set(kind string, before, after string, confidence float64, trigger string) batch.Change {
	return batch.Change{ID: "c1", Kind: kind, Object: "contacts", Record: "1001", Op: batch.OpSet,
		Field: fieldOf[kind], Before: before, After: after, Source: "test", Confidence: confidence, Trigger: trigger}
}

var fieldOf = map[string]string{"enrichment": "jobtitle", "custom": "notes", "owner": "hubspot_owner_id",
	"lifecycle": "lifecyclestage", "email_verification": "email_status"}

func merge(kind string) batch.Change {
	return batch.Change{ID: "c1", Kind: kind, Object: "contacts", Record: "1001", Op: batch.OpMerge,
		MergeFrom: "1002", Source: "dedupe", Confidence: 0.99, Trigger: "rule"}
}

func TestDefaultPolicyScenarios(t *testing.T) {
	p := mustLoad(t, policy.Default)
	tests := []struct {
		name     string
		change   batch.Change
		decision policy.Decision
		rule     string
	}{
		{"an enrichment filling an empty field with confidence 0.97 is auto", set("enrichment", "", "VP Sales", 0.97, "import"), policy.Auto, "enrichment-fill-empty"},
		{"an enrichment filling an empty field with confidence exactly 0.9 is auto", set("enrichment", "", "VP Sales", 0.9, "import"), policy.Auto, "enrichment-fill-empty"},
		{"an enrichment filling an empty field with confidence 0.89 falls to the default review", set("enrichment", "", "VP Sales", 0.89, "import"), policy.Review, policy.RuleDefault},
		{"an enrichment overwriting a value needs review", set("enrichment", "Sales", "VP Sales", 0.99, "import"), policy.Review, "enrichment-overwrite"},
		{"a dedupe merge needs review", merge("dedupe"), policy.Review, "dedupe-always-review"},
		{"a lifecycle change on a single event is auto", set("lifecycle", "lead", "customer", 1, "event"), policy.Auto, "lifecycle-single-event"},
		{"a lifecycle change from an AI score needs review", set("lifecycle", "lead", "mql", 0.95, "score"), policy.Review, "lifecycle-ai-score"},
		{"a lifecycle change from a rule falls to the default review", set("lifecycle", "lead", "mql", 0.95, "rule"), policy.Review, policy.RuleDefault},
		{"an owner change needs review", set("owner", "alice", "bob", 1, "rule"), policy.Review, "owner-always-review"},
		{"an email verified valid is auto", set("email_verification", "", "valid", 0.99, "rule"), policy.Auto, "email-valid"},
		{"an email verified risky needs review", set("email_verification", "", "risky", 0.99, "rule"), policy.Review, "email-risky"},
		{"an email verified invalid needs review", set("email_verification", "valid", "invalid", 0.99, "rule"), policy.Review, "email-risky"},
		{"an email with unknown status needs review", set("email_verification", "", "unknown", 0.99, "rule"), policy.Review, "email-risky"},
		{"a custom change falls to the default review", set("custom", "", "x", 1, "manual"), policy.Review, policy.RuleDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := p.Evaluate(tt.change, policy.Proposer{})
			if v.Decision != tt.decision || v.Rule != tt.rule {
				t.Errorf("Evaluate = %s by %q, want %s by %q", v.Decision, v.Rule, tt.decision, tt.rule)
			}
			if v.Approvals != 1 {
				t.Errorf("Approvals = %d, want 1", v.Approvals)
			}
		})
	}
}

func TestDefaultPolicyIsTheSpecPolicy(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "spec-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec := mustLoad(t, string(data))
	def := mustLoad(t, policy.Default)
	if !reflect.DeepEqual(ruleSummary(def), ruleSummary(spec)) {
		t.Errorf("policy.Default rules differ from the SPEC:\n got %v\nwant %v", ruleSummary(def), ruleSummary(spec))
	}
	if def.Default != spec.Default || def.Approvals != spec.Approvals || def.Limits != spec.Limits {
		t.Errorf("policy.Default settings differ from the SPEC: %+v vs %+v", def, spec)
	}
}

// ruleSummary sums up rules as the SPEC's v1 policy states them; v2's
// default adds the fields and proposers each auto rule may act on, which
// only narrows them, so those keys are left out.
func ruleSummary(p *policy.Policy) []string {
	deref := func(f *float64) string {
		if f == nil {
			return "-"
		}
		return strconv.FormatFloat(*f, 'g', -1, 64)
	}
	var out []string
	for _, r := range p.Rules {
		w := r.When
		out = append(out, fmt.Sprintf("%s %s kind=%v op=%v object=%v source=%v trigger=%v before=%q after=%v min=%s max=%s approvals=%d",
			r.Name, r.Decision, w.Kind, w.Op, w.Object, w.Source, w.Trigger, w.Before, w.After, deref(w.MinConfidence), deref(w.MaxConfidence), r.Approvals))
	}
	return out
}

func TestWhenKeys(t *testing.T) {
	base := set("enrichment", "", "VP Sales", 0.95, "import")
	with := func(f func(c *batch.Change)) batch.Change {
		c := base
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		when    string
		match   batch.Change
		nomatch batch.Change
		reason  string
	}{
		{"kind matches one kind", "{kind: enrichment}", base, with(func(c *batch.Change) { c.Kind, c.Field = "lifecycle", "lifecyclestage" }), "kind"},
		{"kind matches any kind of a list", "{kind: [lifecycle, enrichment]}", base, with(func(c *batch.Change) { c.Kind = "custom" }), "kind"},
		{"op matches the operation", "{op: set}", base, with(func(c *batch.Change) { c.Op, c.Field, c.Before, c.After, c.MergeFrom = batch.OpMerge, "", "", "", "9" }), "op"},
		{"object matches the object", "{object: contacts}", base, with(func(c *batch.Change) { c.Object = "companies" }), "object"},
		{"field matches the field", "{field: jobtitle}", with(func(c *batch.Change) { c.Field = "jobtitle" }), with(func(c *batch.Change) { c.Field = "phone" }), "field"},
		{"source matches the source", "{source: clay}", with(func(c *batch.Change) { c.Source = "clay" }), base, "source"},
		{"trigger as a value matches that trigger", "{trigger: import}", base, with(func(c *batch.Change) { c.Trigger = "score" }), "trigger"},
		{"trigger as a list matches any of its triggers", "{trigger: [event, import]}", base, with(func(c *batch.Change) { c.Trigger = "score" }), "trigger"},
		{"a trigger rule does not match a change without a trigger", "{trigger: import}", base, with(func(c *batch.Change) { c.Trigger = "" }), "trigger"},
		{"before empty matches an empty current value", "{before: empty}", base, with(func(c *batch.Change) { c.Before = "Sales" }), "before"},
		{"before present matches a current value", "{before: present}", with(func(c *batch.Change) { c.Before = "Sales" }), base, "before"},
		{"before does not match a merge, which has none", "{before: empty}", base, merge("custom"), "merge"},
		{"after matches any value of its list", "{after: [valid, VP Sales]}", base, with(func(c *batch.Change) { c.After = "CEO" }), "after"},
		{"min_confidence matches at the threshold", "{min_confidence: 0.95}", base, with(func(c *batch.Change) { c.Confidence = 0.94 }), "below"},
		{"max_confidence matches at the threshold", "{max_confidence: 0.95}", base, with(func(c *batch.Change) { c.Confidence = 0.96 }), "above"},
		{"min and max confidence together match a range", "{min_confidence: 0.9, max_confidence: 0.99}", base, with(func(c *batch.Change) { c.Confidence = 1 }), "above"},
		{"an empty when matches everything", "{}", base, batch.Change{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, "version: 1\ndefault: review\nrules:\n  - name: r\n    when: "+tt.when+"\n    decision: deny\n")
			if v := p.Evaluate(tt.match, policy.Proposer{}); v.Decision != policy.Deny || v.Rule != "r" {
				t.Errorf("a matching change got %s by %q, want deny by r", v.Decision, v.Rule)
			}
			if tt.reason == "" {
				return
			}
			if v := p.Evaluate(tt.nomatch, policy.Proposer{}); v.Decision != policy.Review || v.Rule != policy.RuleDefault {
				t.Errorf("a non-matching change got %s by %q, want the default", v.Decision, v.Rule)
			}
			if why := p.Rules[0].When.Mismatch(tt.nomatch, policy.Proposer{}); !strings.Contains(why, tt.reason) {
				t.Errorf("Mismatch = %q, want it to mention %q", why, tt.reason)
			}
		})
	}
}

func TestFirstMatchWins(t *testing.T) {
	change := set("enrichment", "", "x", 1, "import")
	tests := []struct {
		name     string
		rules    string
		decision policy.Decision
		rule     string
	}{
		{"a broad review rule before a narrow auto rule wins",
			"  - {name: broad, when: {kind: enrichment}, decision: review}\n  - {name: narrow, when: {kind: enrichment, before: empty}, decision: auto}\n",
			policy.Review, "broad"},
		{"a narrow auto rule before a broad review rule wins",
			"  - {name: narrow, when: {kind: enrichment, before: empty}, decision: auto}\n  - {name: broad, when: {kind: enrichment}, decision: review}\n",
			policy.Auto, "narrow"},
		{"a deny rule after an auto match is never reached",
			"  - {name: ok, when: {}, decision: auto}\n  - {name: never, when: {}, decision: deny}\n",
			policy.Auto, "ok"},
		{"a non-matching first rule is passed over",
			"  - {name: other, when: {kind: owner}, decision: deny}\n  - {name: mine, when: {kind: enrichment}, decision: auto}\n",
			policy.Auto, "mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, "version: 1\ndefault: review\nrules:\n"+tt.rules)
			if v := p.Evaluate(change, policy.Proposer{}); v.Decision != tt.decision || v.Rule != tt.rule {
				t.Errorf("Evaluate = %s by %q, want %s by %q", v.Decision, v.Rule, tt.decision, tt.rule)
			}
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	const head = "version: 1\ndefault: review\nrules:\n" // rules start on line 4
	tests := []struct {
		name string
		data string
		// want is the error's prefix: file, line and key.
		want string
		msg  string
	}{
		{"an auto rule for dedupe is refused", head + "  - name: merge-all\n    when: {kind: dedupe}\n    decision: auto\n", "policies/default.yaml:6: rules[0].decision: ", "always need a person"},
		{"an auto rule for op merge is refused", head + "  - name: m\n    when: {op: merge}\n    decision: auto\n", "policies/default.yaml:6: rules[0].decision: ", "merges"},
		{"an auto rule for owner changes is refused", head + "  - name: o\n    when: {kind: owner}\n    decision: auto\n", "policies/default.yaml:6: rules[0].decision: ", "owner changes"},
		{"an auto rule whose kind list includes owner is refused", head + "  - name: ok\n    when: {kind: lifecycle}\n    decision: auto\n  - name: o\n    when: {kind: [enrichment, owner]}\n    decision: auto\n", "policies/default.yaml:9: rules[1].decision: ", "owner"},
		{"an auto rule whose op list includes merge is refused", head + "  - name: m\n    when: {op: [set, merge]}\n    decision: auto\n", "policies/default.yaml:6: rules[0].decision: ", "merges"},
		{"an unknown rule decision is refused", head + "  - name: r\n    when: {kind: owner}\n    decision: maybe\n", "policies/default.yaml:6: rules[0].decision: ", `unknown decision "maybe"`},
		{"an unknown default decision is refused", "version: 1\ndefault: yes\n", "policies/default.yaml:2: default: ", "unknown decision"},
		{"an unknown key in a rule is refused", head + "  - name: r\n    desicion: auto\n", "policies/default.yaml:5: rules[0].desicion: ", "unknown key (known keys: approvals, decision, name, reviewers, when)"},
		{"an unknown key in when is refused", head + "  - name: r\n    when: {min_confidense: 0.9}\n    decision: review\n", "policies/default.yaml:5: rules[0].when.min_confidense: ", "unknown key"},
		{"a duplicate rule name is refused", head + "  - name: r\n    decision: review\n  - name: r\n    decision: deny\n", "policies/default.yaml:6: rules[1].name: ", `duplicate rule name "r"`},
		{"a bad before value is refused", head + "  - name: r\n    when: {before: nonempty}\n    decision: review\n", "policies/default.yaml:5: rules[0].when: ", "empty or present"},
		{"a rule without a decision is refused", head + "  - name: r\n    when: {kind: owner}\n", "policies/default.yaml:4: rules[0].decision: ", "missing required key"},
		{"a trigger given as a mapping is refused", head + "  - name: r\n    when: {trigger: {a: b}}\n    decision: review\n", "policies/default.yaml:5: rules[0].when.trigger: ", "a value or a list"},
		{"a confidence threshold given as a word is refused", head + "  - name: r\n    when: {min_confidence: high}\n    decision: review\n", "policies/default.yaml:5: rules[0].when.min_confidence: ", "want a number"},
		{"an unsupported version is refused", "version: 2\ndefault: review\n", "policies/default.yaml:1: version: ", "unsupported version"},
		{"a missing default is refused", "version: 1\n", "policies/default.yaml:1: default: ", "missing required key"},
		{"a negative approvals count is refused", "version: 1\ndefault: review\napprovals: -1\n", "policies/default.yaml:3: approvals: ", "at least 1"},
		{"a negative limit is refused", "version: 1\ndefault: review\nlimits: {max_changes_per_batch: -5}\n", "policies/default.yaml:3: limits: ", "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Load(policy.Path, []byte(tt.data))
			if err == nil {
				t.Fatalf("Load succeeded, want an error; policy:\n%s", tt.data)
			}
			if p != nil {
				t.Error("Load returned a policy along with its error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q\nwant prefix %q and %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestLoadDefaults(t *testing.T) {
	p := mustLoad(t, "version: 1\ndefault: review\n")
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"approvals default to 1", p.Approvals, 1},
		{"batches default to 1000 changes", p.Limits.MaxChangesPerBatch, 1000},
		{"a run defaults to 500 auto changes", p.Limits.MaxAutoChangesPerRun, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %d, want %d", tt.got, tt.want)
			}
		})
	}
}

func TestNeverAutoInvariant(t *testing.T) {
	policies := map[string]string{
		"a broad auto rule with no kind":  "version: 1\ndefault: review\nrules:\n  - {name: everything, when: {}, decision: auto}\n",
		"an auto rule without a when":     "version: 1\ndefault: review\nrules:\n  - {name: everything, decision: auto}\n",
		"an auto rule on the source only": "version: 1\ndefault: review\nrules:\n  - {name: by-source, when: {source: [dedupe, test]}, decision: auto}\n",
		"an auto rule on op set":          "version: 1\ndefault: review\nrules:\n  - {name: sets, when: {op: set}, decision: auto}\n",
		"default auto":                    "version: 1\ndefault: auto\napprovals: 2\n",
	}
	changes := []struct {
		name   string
		change batch.Change
	}{
		{"a dedupe merge", merge("dedupe")},
		{"a merge of another kind", merge("custom")},
		{"an owner change", set("owner", "alice", "bob", 1, "rule")},
	}
	for pname, text := range policies {
		p := mustLoad(t, text)
		for _, c := range changes {
			if pname == "an auto rule on op set" && c.change.Op == batch.OpMerge {
				continue // the rule does not match merges at all
			}
			t.Run(pname+" never makes "+c.name+" auto", func(t *testing.T) {
				v := p.Evaluate(c.change, policy.Proposer{})
				if v.Decision != policy.Review || v.Rule != policy.RuleInvariantNeverAuto {
					t.Errorf("Evaluate = %s by %q, want review by %q", v.Decision, v.Rule, policy.RuleInvariantNeverAuto)
				}
				if v.Approvals < p.Approvals {
					t.Errorf("Approvals = %d, below the policy's %d", v.Approvals, p.Approvals)
				}
			})
		}
		t.Run(pname+" still makes an enrichment auto", func(t *testing.T) {
			if v := p.Evaluate(set("enrichment", "", "x", 1, "import"), policy.Proposer{}); v.Decision != policy.Auto {
				t.Errorf("Evaluate = %s by %q, want auto", v.Decision, v.Rule)
			}
		})
	}
	t.Run("a broad deny rule still denies a merge", func(t *testing.T) {
		p := mustLoad(t, "version: 1\ndefault: review\nrules:\n  - {name: stop, decision: deny}\n")
		if v := p.Evaluate(merge("dedupe"), policy.Proposer{}); v.Decision != policy.Deny {
			t.Errorf("Evaluate = %s by %q, want deny", v.Decision, v.Rule)
		}
	})
}

func TestEvaluateBatch(t *testing.T) {
	p := mustLoad(t, `version: 1
default: review
approvals: 1
rules:
  - {name: fill, when: {kind: enrichment, before: empty}, decision: auto}
  - {name: two-eyes, when: {kind: lifecycle}, decision: review, approvals: 2, reviewers: [ops]}
  - {name: three-eyes, when: {kind: owner}, decision: review, approvals: 3, reviewers: [ops, sales]}
  - {name: no-phones, when: {field: phone}, decision: deny}
`)
	auto := set("enrichment", "", "x", 1, "import")
	auto2 := auto
	auto2.Record = "1002"
	two := set("lifecycle", "lead", "mql", 1, "event")
	three := set("owner", "alice", "bob", 1, "rule")
	deny := set("custom", "", "555", 1, "manual")
	deny.Field = "phone"
	plain := set("custom", "", "x", 1, "manual")

	tests := []struct {
		name      string
		changes   []batch.Change
		review    string
		decision  policy.Decision
		approvals int
		rules     []string
		reviewers []string
	}{
		{"a batch of only auto changes is auto", []batch.Change{auto, auto2}, "", policy.Auto, 1, []string{"fill"}, nil},
		{"one review change makes the batch review", []batch.Change{auto, plain, auto2}, "", policy.Review, 1, []string{"fill", policy.RuleDefault}, nil},
		{"a denied change makes the batch denied", []batch.Change{auto, deny}, "", policy.Deny, 1, []string{"fill", "no-phones"}, nil},
		{"deny dominates review in any order", []batch.Change{deny, two, plain}, "", policy.Deny, 2, []string{"no-phones", "two-eyes", policy.RuleDefault}, []string{"ops"}},
		{"the batch needs the most approvals any rule asks", []batch.Change{two, three, plain}, "", policy.Review, 3, []string{"two-eyes", "three-eyes", policy.RuleDefault}, []string{"ops", "sales"}},
		{"a review key on an auto batch forces review", []batch.Change{auto}, "over the limit", policy.Review, 1, []string{"fill", policy.RuleBatchReview}, nil},
		{"a review key on a review batch adds nothing", []batch.Change{plain}, "over the limit", policy.Review, 1, []string{policy.RuleDefault}, nil},
		{"a review key does not lift a denial", []batch.Change{deny}, "over the limit", policy.Deny, 1, []string{"no-phones"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bv := p.EvaluateBatch(&batch.Batch{ID: "b", Review: tt.review, Changes: tt.changes}, policy.Proposer{})
			if bv.Decision != tt.decision {
				t.Errorf("Decision = %s, want %s", bv.Decision, tt.decision)
			}
			if bv.Approvals != tt.approvals {
				t.Errorf("Approvals = %d, want %d", bv.Approvals, tt.approvals)
			}
			if !reflect.DeepEqual(bv.Rules, tt.rules) {
				t.Errorf("Rules = %v, want %v", bv.Rules, tt.rules)
			}
			if !reflect.DeepEqual(bv.Reviewers, tt.reviewers) {
				t.Errorf("Reviewers = %v, want %v", bv.Reviewers, tt.reviewers)
			}
			if len(bv.Changes) != len(tt.changes) {
				t.Fatalf("%d change verdicts for %d changes", len(bv.Changes), len(tt.changes))
			}
			for i, c := range tt.changes {
				if bv.Changes[i].Rule != p.Evaluate(c, policy.Proposer{}).Rule {
					t.Errorf("change %d: batch verdict %q differs from Evaluate %q", i, bv.Changes[i].Rule, p.Evaluate(c, policy.Proposer{}).Rule)
				}
			}
		})
	}
}

func TestSufficient(t *testing.T) {
	tests := []struct {
		name      string
		verdict   policy.BatchVerdict
		approvals int
		want      string
		wantErr   []string
	}{
		{"an auto batch needs no approval", policy.BatchVerdict{Decision: policy.Auto, Approvals: 1}, 0, "auto", nil},
		{"a review batch with enough approvals is approved", policy.BatchVerdict{Decision: policy.Review, Approvals: 2}, 2, "approved", nil},
		{"a review batch with more approvals than needed is approved", policy.BatchVerdict{Decision: policy.Review, Approvals: 1}, 3, "approved", nil},
		{"a review batch without approvals is held", policy.BatchVerdict{Decision: policy.Review, Approvals: 1}, 0, "", []string{"needs 1", "has 0"}},
		{"a review batch one approval short is held", policy.BatchVerdict{Decision: policy.Review, Approvals: 3}, 2, "", []string{"needs 3", "has 2"}},
		{"a denied batch is refused whatever its approvals", policy.BatchVerdict{Decision: policy.Deny, Approvals: 1, Rules: []string{"no-phones"}}, 10, "", []string{"denies", "no-phones"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := policy.Sufficient(tt.verdict, tt.approvals)
			if got != tt.want {
				t.Errorf("Sufficient = %q, want %q", got, tt.want)
			}
			if (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("error = %v, want one: %v", err, tt.wantErr != nil)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestRulePositions guards that errors about the shipped policy point at
// real lines: a rule's decision line is found by its key.
func TestRulePositions(t *testing.T) {
	p := mustLoad(t, policy.Default)
	lines := strings.Split(policy.Default, "\n")
	for i, r := range p.Rules {
		t.Run("rule "+strconv.Itoa(i)+" "+r.Name+" knows the line of its decision", func(t *testing.T) {
			l := r.Pos.KeyLine("decision")
			if l < 1 || l > len(lines) || !strings.Contains(lines[l-1], "decision: "+string(r.Decision)) {
				t.Errorf("decision line %d is %q", l, lines[max(0, min(l-1, len(lines)-1))])
			}
		})
	}
}
