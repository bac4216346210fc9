package policytest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/policytest"
)

func load(t *testing.T, text string) *policy.Policy {
	t.Helper()
	p, err := policy.Load(policy.Path, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run decodes file and runs it under pol, one result per case.
func run(t *testing.T, pol *policy.Policy, file string) []policytest.Result {
	t.Helper()
	cases, err := policytest.Decode("policies/tests/t.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	return policytest.Run(pol, cases)
}

const fill = `{kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.97}`

func TestACaseIsDecidedForTheProposerItNames(t *testing.T) {
	t.Run("proposer and from_fork are read into the case", func(t *testing.T) {
		cases, err := policytest.Decode("t.yaml", []byte("version: 1\ncases:\n"+
			"  - {name: bot, change: "+fill+", proposer: \"github-actions[bot]\", expect: auto}\n"+
			"  - {name: fork, change: "+fill+", proposer: alice, from_fork: true, expect: review}\n"+
			"  - {name: nobody, change: "+fill+", expect: auto}\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := []policy.Proposer{{Login: "github-actions[bot]"}, {Login: "alice", Outside: true}, {}}
		for i, c := range cases {
			if c.Proposer != want[i] {
				t.Errorf("case %s: proposer %+v, want %+v", c.Name, c.Proposer, want[i])
			}
		}
	})

	gh := load(t, policy.DefaultFor([]string{"github-actions[bot]"}))
	t.Run("under the GitHub default, the workflows' bot is auto and an unknown proposer is not", func(t *testing.T) {
		results := run(t, gh, "version: 1\ncases:\n"+
			"  - {name: bot, change: "+fill+", proposer: \"GitHub-Actions[bot]\", expect: auto, rule: enrichment-fill-empty}\n"+
			"  - {name: nobody, change: "+fill+", expect: auto, rule: enrichment-fill-empty}\n")
		if !results[0].Pass {
			t.Errorf("the bot's case failed: %s %q", results[0].Diff(), results[0].Why(gh))
		}
		r := results[1]
		want := []string{`enrichment-fill-empty: proposer is "", not github-actions[bot]`, "no rule matched: the policy's default is review"}
		if r.Pass || !slices.Equal(r.Why(gh), want) {
			t.Errorf("unknown proposer: pass %v, why %q, want %q", r.Pass, r.Why(gh), want)
		}
	})

	mixed := load(t, "version: 1\ndefault: review\nrules:\n"+
		"  - {name: any-fill, when: {kind: enrichment, before: empty}, decision: auto}\n"+
		"  - {name: bot-lifecycle, when: {kind: lifecycle, proposer: \"github-actions[bot]\"}, decision: auto}\n")
	t.Run("an auto rule for a proposer the policy does not trust is review by invariant:proposer", func(t *testing.T) {
		results := run(t, mixed, "version: 1\ncases:\n"+
			"  - {name: mallory, change: "+fill+", proposer: mallory, expect: review, rule: invariant:proposer}\n"+
			"  - {name: mallory wants auto, change: "+fill+", proposer: mallory, expect: auto}\n"+
			"  - {name: bot wants the guard, change: "+fill+", proposer: \"github-actions[bot]\", expect: review, rule: invariant:proposer}\n")
		if !results[0].Pass {
			t.Errorf("%s %q", results[0].Diff(), results[0].Why(mixed))
		}
		want := []string{"proposed by mallory, whom no auto rule names as a proposer: review: any-fill says auto, the guard makes it review"}
		if why := results[1].Why(mixed); !slices.Equal(why, want) {
			t.Errorf("why %q, want %q", why, want)
		}
		want = []string{"invariant:proposer: the policy trusts github-actions[bot], whom an auto rule names", "any-fill (line 4) matched and decided auto"}
		if why := results[2].Why(mixed); !slices.Equal(why, want) {
			t.Errorf("why %q, want %q", why, want)
		}
	})
}

func TestACaseMayExpectAnyGuard(t *testing.T) {
	pol := defaultPolicy(t)
	frozen := load(t, strings.Replace(policy.Default, "# freeze: true ", "freeze: true   ", 1))
	events := load(t, "version: 1\ndefault: review\nrules:\n  - {name: events, when: {trigger: event}, decision: auto}\n")
	const file = `version: 1
cases:
  - name: frozen fill
    change: ` + fill + `
    expect: review
    rule: freeze
  - name: a merge an auto rule matches
    change: {kind: custom, object: contacts, record: "1", op: merge, merge_from: "2", source: x, confidence: 1, trigger: event}
    expect: review
    rule: invariant:never-auto
  - name: an owner field written by a custom change
    change: {kind: custom, object: contacts, op: set, field: hubspot_owner_id, before: "", after: "42", source: x, confidence: 1, trigger: event}
    expect: review
    rule: invariant:never-auto
  - name: lifecycle writes the email
    change: {kind: lifecycle, object: contacts, op: set, field: email, before: a@b.c, after: x@y.z, source: x, confidence: 1, trigger: event}
    expect: deny
    rule: invariant:field-kind
`
	for _, tt := range []struct {
		name string
		pol  *policy.Policy
		pass []bool
	}{
		{"under a frozen default", frozen, []bool{true, false, false, true}},
		{"under a policy that makes every event auto", events, []bool{false, true, true, true}},
	} {
		t.Run(tt.name+", each guard decides its case", func(t *testing.T) {
			results := run(t, tt.pol, file)
			for i, r := range results {
				if r.Pass != tt.pass[i] {
					t.Errorf("%s: pass %v, want %v: %s %q", r.Case.Name, r.Pass, tt.pass[i], r.Diff(), r.Why(tt.pol))
				}
			}
		})
	}

	tests := []struct {
		name string
		pol  *policy.Policy
		file string
		why  []string
	}{
		{"a freeze the policy lacks says so", pol,
			"  - {name: x, change: " + fill + ", expect: review, rule: freeze}\n",
			[]string{"freeze: the policy is not frozen (no freeze: true)", "enrichment-fill-empty (line 14) matched and decided auto"}},
		{"a field-kind refusal of a field the kind may write says so", pol,
			"  - {name: x, change: {kind: lifecycle, object: contacts, op: set, field: lifecyclestage, before: lead, after: customer, source: x, confidence: 1, trigger: event}, expect: deny, rule: invariant:field-kind}\n",
			[]string{"invariant:field-kind: kind lifecycle may write lifecyclestage (fields.lifecycle)", "lifecycle-single-event (line 23) matched and decided auto"}},
		{"a field-kind refusal of a kind without fields says it may write any field", pol,
			"  - {name: x, change: {kind: custom, object: deals, op: set, field: amount, before: \"1\", after: \"2\", source: x, confidence: 1}, expect: deny, rule: invariant:field-kind}\n",
			[]string{"invariant:field-kind: kind custom has no fields in the policy, so it may write any field", "no rule matched: the policy's default is review"}},
		{"a refused change says why in words", pol,
			"  - {name: x, change: {kind: lifecycle, object: contacts, op: set, field: email, before: a@b.c, after: x@y.z, source: x, confidence: 1, trigger: event}, expect: auto}\n",
			[]string{"kind lifecycle writes only lifecyclestage (fields.lifecycle in the policy), not email; propose it as the kind that writes email, or add the field to fields.lifecycle: default says review, the guard makes it deny"}},
		{"a change judged as another kind names that kind and why", pol,
			"  - {name: x, change: {kind: enrichment, object: contacts, op: set, field: hubspot_owner_id, before: \"\", after: \"42\", source: x, confidence: 1}, expect: auto, rule: enrichment-fill-empty}\n",
			[]string{`enrichment-fill-empty: field is "hubspot_owner_id", not jobtitle or company or phone or mobilephone or website or industry or city or state or country or zip or address`,
				"owner-always-review (line 29) matched the change judged as owner and decided review (enrichment writes hubspot_owner_id, a field of kind owner (fields.owner): judged as owner too, the stricter decision wins)"}},
		{"never-auto wanted of a review says the invariant leaves it alone", pol,
			"  - {name: x, change: {kind: dedupe, object: contacts, record: \"1\", op: merge, merge_from: \"2\", source: x, confidence: 1}, expect: review, rule: invariant:never-auto}\n",
			[]string{"invariant:never-auto: dedupe-always-review decided review, which the invariant leaves alone (it only turns auto into review)", "dedupe-always-review (line 20) matched and decided review"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.pol, "version: 1\ncases:\n"+tt.file)[0]
			if r.Pass {
				t.Fatal("passed")
			}
			if why := r.Why(tt.pol); !slices.Equal(why, tt.why) {
				t.Errorf("Why:\n got %q\nwant %q", why, tt.why)
			}
		})
	}
}

func TestDecodeRefusesWhatACaseCannotTest(t *testing.T) {
	for _, tt := range []struct {
		name, extra, want string
	}{
		{"a batch-level limit as the rule", "rule: limits.max_changes_per_batch",
			"t.yaml:3: cases[0].rule: limits.max_changes_per_batch judges a whole batch, never one change: a case cannot expect it"},
		{"the batch's review key as the rule", "rule: batch.review", "t.yaml:3: cases[0].rule: batch.review judges a whole batch"},
		{"an empty proposer", `proposer: ""`, "t.yaml:3: cases[0].proposer: must not be empty"},
		{"from_fork that is not a boolean", `from_fork: "yes"`, "t.yaml:3: cases[0].from_fork: "},
		{"an unknown key beside proposer", "proposed_by: alice", "t.yaml:3: cases[0].proposed_by: unknown key"},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			file := "version: 1\ncases:\n  - {name: x, change: " + fill + ", expect: review, " + tt.extra + "}\n"
			_, err := policytest.Decode("t.yaml", []byte(file))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant prefix %s", err, tt.want)
			}
		})
	}
}

// A rule reached only by a change judged as its kind is covered.
func TestARuleReachedAsAnotherKindIsCovered(t *testing.T) {
	pol := load(t, "version: 1\ndefault: review\nfields: {owner: [owner]}\nrules:\n  - {name: owners, when: {kind: owner}, decision: review}\n")
	results := run(t, pol, "version: 1\ncases:\n  - {name: x, change: {kind: custom, object: contacts, op: set, field: owner, before: a, after: b, source: x, confidence: 1}, expect: review, rule: owners}\n")
	if !results[0].Pass {
		t.Fatalf("%s %q", results[0].Diff(), results[0].Why(pol))
	}
	if missing := policytest.Uncovered(pol, results); len(missing) != 0 {
		t.Errorf("Uncovered = %v", missing)
	}
}

// On GitHub, init writes policy.DefaultFor the workflows' identity; its
// tests must pass against it as DefaultTests pass against policy.Default.
func TestDefaultTestsForTrustedProposersPassAgainstTheirPolicy(t *testing.T) {
	for _, proposers := range [][]string{{"github-actions[bot]"}, {"crmops-app[bot]", "github-actions[bot]"}} {
		t.Run(strings.Join(proposers, ", "), func(t *testing.T) {
			pol := load(t, policy.DefaultFor(proposers))
			var cases []policytest.Case
			for path, data := range policytest.DefaultTestsFor(proposers) {
				cs, err := policytest.Decode(path, data)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				cases = append(cases, cs...)
			}
			results := policytest.Run(pol, cases)
			for _, r := range results {
				if !r.Pass {
					t.Errorf("%s: %s\n%s", r.Case.Where(), r.Diff(), strings.Join(r.Why(pol), "\n"))
				}
				if r.Case.Expect == policy.Auto && r.Case.Proposer.Login != proposers[0] {
					t.Errorf("case %q expects auto without naming %s", r.Case.Name, proposers[0])
				}
			}
			if missing := policytest.Uncovered(pol, results); len(missing) > 0 {
				t.Errorf("no case reaches %v", missing)
			}
			if len(results) != len(defaultCases(t))+1 {
				t.Errorf("%d cases, want the %d of DefaultTests and one more proposer case", len(results), len(defaultCases(t)))
			}
		})
	}
	if got, want := policytest.DefaultTestsFor(nil), policytest.DefaultTests(); string(got[policytest.Dir+"/default.yaml"]) != string(want[policytest.Dir+"/default.yaml"]) {
		t.Error("DefaultTestsFor(nil) differs from DefaultTests")
	}
}
