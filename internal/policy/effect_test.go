package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

// disguised is a change that claims kind but does what field says, dressed
// up to match the most permissive rule of the kind it claims.
func disguised(kind, field string) batch.Change {
	c := batch.Change{ID: "c1", Kind: kind, Object: "contacts", Record: "102", Op: batch.OpSet,
		Field: field, Before: "", After: "valid", Source: "x", Confidence: 1, Trigger: "event"}
	if kind == "dedupe" {
		c.Op, c.Field, c.After, c.MergeFrom = batch.OpMerge, "", "", "103"
	}
	return c
}

// The attack: kind lifecycle, trigger event, writing someone's
// email. And every other way a change can claim one kind and do another.
func TestDisguisedChangesAreNeverAutoUnderTheDefaultPolicy(t *testing.T) {
	for name, text := range map[string]string{
		"the local default":  policy.Default,
		"the GitHub default": policy.DefaultFor([]string{"github-actions[bot]"}),
	} {
		p := mustLoad(t, text)
		bot := policy.Proposer{Login: "github-actions[bot]"}
		t.Run("under "+name+", the issue's email overwrite by a lifecycle change is not auto", func(t *testing.T) {
			c := batch.Change{ID: "c1", Kind: "lifecycle", Object: "contacts", Record: "102", Op: batch.OpSet, Field: "email",
				Before: "bob@acme.com", After: "attacker@evil.example", Source: "x", Confidence: 0.01, Trigger: "event", Reason: "r"}
			if v := p.Evaluate(c, bot); v.Decision == policy.Auto {
				t.Fatalf("auto by %s", v.Rule)
			}
		})
		var cases []batch.Change
		var fields []string
		for _, kind := range batch.Kinds {
			fields = append(fields, policy.DefaultFields[kind]...)
		}
		fields = append(fields, "email", "jobtitle", "OwnerId", "HUBSPOT_OWNER_ID", "Hubspot_Owner_Id")
		for _, kind := range batch.Kinds {
			for _, field := range fields {
				c := disguised(kind, field)
				if kind == "dedupe" && field != fields[0] {
					continue
				}
				for _, after := range []string{"valid", "customer", "42"} {
					c.After = after
					for _, before := range []string{"", "someone@acme.com"} {
						c.Before = before
						cases = append(cases, c)
					}
				}
			}
			// A merge under every kind.
			cases = append(cases, batch.Change{ID: "c1", Kind: kind, Object: "contacts", Record: "1", Op: batch.OpMerge,
				MergeFrom: "2", Source: "x", Confidence: 1, Trigger: "event"})
		}
		for _, c := range cases {
			owns := p.KindsOf(c.Field)
			fits := len(p.FieldsOf(c.Kind)) == 0 || containsFold(p.FieldsOf(c.Kind), c.Field)
			honest := !c.TwoRecords() && fits && (len(owns) == 0 || (len(owns) == 1 && owns[0] == c.Kind))
			ownerField := containsFold(p.FieldsOf("owner"), c.Field)
			desc := fmt.Sprintf("under %s, kind %s writing %q (%s, before %q, after %q)", name, c.Kind, c.Field, c.Op, c.Before, c.After)
			v := p.Evaluate(c, bot)
			switch {
			case c.TwoRecords() || ownerField || c.Kind == "owner":
				if v.Decision == policy.Auto {
					t.Errorf("%s: auto by %s; merges and owner fields are never auto", desc, v.Rule)
				}
			case !honest:
				if v.Decision == policy.Auto {
					t.Errorf("%s: auto by %s; a change writing another kind's field is judged as that kind too", desc, v.Rule)
				}
			}
			if !fits && !c.TwoRecords() && v.Decision != policy.Deny {
				t.Errorf("%s: %s by %s; a kind that does not write the field is refused", desc, v.Decision, v.Rule)
			}
			if v.Decision != policy.Auto && v.Rule != policy.RuleDefault && !strings.Contains(v.Rule, "-") && v.Why == "" {
				t.Errorf("%s: %s by guard %s says no why", desc, v.Decision, v.Rule)
			}
		}
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func TestAChangeIsJudgedByTheKindsWhoseFieldsItWrites(t *testing.T) {
	p := mustLoad(t, policy.Default)
	tests := []struct {
		name     string
		change   batch.Change
		decision policy.Decision
		rule     string
	}{
		{"an email-valid disguised as enrichment of an empty email_status is judged as email verification too, and both say auto",
			batch.Change{Kind: "enrichment", Field: "email_status", Before: "", After: "valid", Confidence: 0.99}, policy.Review, policy.RuleDefault},
		{"a custom change of a lifecycle stage on an event gets the stricter review of custom",
			batch.Change{Kind: "custom", Field: "lifecyclestage", Before: "lead", After: "customer", Confidence: 1, Trigger: "event"}, policy.Review, policy.RuleDefault},
		{"an enrichment filling an empty owner is judged as an owner change",
			batch.Change{Kind: "enrichment", Field: "hubspot_owner_id", Before: "", After: "42", Confidence: 1}, policy.Review, "owner-always-review"},
		{"an email verification aimed at the owner field is refused: its kind writes only email_status",
			batch.Change{Kind: "email_verification", Field: "hubspot_owner_id", Before: "", After: "valid", Confidence: 1}, policy.Deny, policy.RuleFieldKind},
		{"a lifecycle change of the email is refused",
			batch.Change{Kind: "lifecycle", Field: "email", Before: "bob@acme.com", After: "x@evil.example", Confidence: 1, Trigger: "event"}, policy.Deny, policy.RuleFieldKind},
		{"an enrichment filling an empty email is not a descriptive field: review",
			batch.Change{Kind: "enrichment", Field: "email", Before: "", After: "x@evil.example", Confidence: 1}, policy.Review, policy.RuleDefault},
		{"an honest lifecycle change on an event stays auto",
			batch.Change{Kind: "lifecycle", Field: "lifecyclestage", Before: "lead", After: "customer", Confidence: 1, Trigger: "event"}, policy.Auto, "lifecycle-single-event"},
		{"an honest enrichment fill stays auto",
			batch.Change{Kind: "enrichment", Field: "jobtitle", Before: "", After: "CEO", Confidence: 0.95}, policy.Auto, "enrichment-fill-empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.change
			c.ID, c.Object, c.Record, c.Op, c.Source = "c1", "contacts", "1", batch.OpSet, "x"
			if err := c.Validate("t"); err != nil {
				t.Fatal(err)
			}
			v := p.Evaluate(c, policy.Proposer{Login: "crmops"})
			if v.Decision != tt.decision || v.Rule != tt.rule {
				t.Errorf("= %s by %s (%s), want %s by %s", v.Decision, v.Rule, v.Why, tt.decision, tt.rule)
			}
		})
	}
}

func TestAutoRulesTrustOnlyTheProposersTheyName(t *testing.T) {
	gh := mustLoad(t, policy.DefaultFor([]string{"github-actions[bot]"}))
	local := mustLoad(t, policy.Default)
	mixed := mustLoad(t, "version: 1\ndefault: review\nrules:\n  - {name: any-fill, when: {kind: enrichment, before: empty}, decision: auto}\n  - {name: bot-lifecycle, when: {kind: lifecycle, proposer: \"github-actions[bot]\"}, decision: auto}\n")
	fill := batch.Change{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1", Op: batch.OpSet, Field: "jobtitle",
		Before: "", After: "CEO", Source: "clay", Confidence: 0.97}
	tests := []struct {
		name     string
		p        *policy.Policy
		by       policy.Proposer
		decision policy.Decision
		rule     string
	}{
		{"on GitHub, the workflows' bot is trusted", gh, policy.Proposer{Login: "github-actions[bot]"}, policy.Auto, "enrichment-fill-empty"},
		{"on GitHub, logins compare case-insensitively", gh, policy.Proposer{Login: "GitHub-Actions[bot]"}, policy.Auto, "enrichment-fill-empty"},
		{"on GitHub, a writer who opens a pull request by hand gets review", gh, policy.Proposer{Login: "mallory"}, policy.Review, policy.RuleDefault},
		{"on GitHub, an unknown proposer gets review", gh, policy.Proposer{}, policy.Review, policy.RuleDefault},
		{"on GitHub, the bot's login from a fork is never trusted", gh, policy.Proposer{Login: "github-actions[bot]", Outside: true}, policy.Review, policy.RuleDefault},
		{"an auto rule that names no proposer does not trust a proposer another auto rule leaves out", mixed, policy.Proposer{Login: "mallory"}, policy.Review, policy.RuleInvariantProposer},
		{"an auto rule that names no proposer trusts the proposers other auto rules name", mixed, policy.Proposer{Login: "github-actions[bot]"}, policy.Auto, "any-fill"},
		{"on the local forge, anyone who can push is trusted alike", local, policy.Proposer{Login: "alice"}, policy.Auto, "enrichment-fill-empty"},
		{"on the local forge, a fork is still never auto", local, policy.Proposer{Login: "alice", Outside: true}, policy.Review, policy.RuleInvariantProposer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.p.Evaluate(fill, tt.by)
			if v.Decision != tt.decision || v.Rule != tt.rule {
				t.Errorf("= %s by %s, want %s by %s", v.Decision, v.Rule, tt.decision, tt.rule)
			}
			if want := tt.decision == policy.Auto; tt.p.Trusts(tt.by) != want {
				t.Errorf("Trusts = %v, want %v", !want, want)
			}
		})
	}
	t.Run("a rule naming a proposer matches only that proposer", func(t *testing.T) {
		p := mustLoad(t, "version: 1\ndefault: review\nrules:\n  - {name: agent-deny, when: {proposer: [agent-x]}, decision: deny}\n")
		if v := p.Evaluate(fill, policy.Proposer{Login: "AGENT-X"}); v.Decision != policy.Deny {
			t.Errorf("agent-x: %s by %s", v.Decision, v.Rule)
		}
		if v := p.Evaluate(fill, policy.Proposer{Login: "alice"}); v.Decision != policy.Review {
			t.Errorf("alice: %s by %s", v.Decision, v.Rule)
		}
	})
}

func TestFreezeTurnsEveryAutoIntoReview(t *testing.T) {
	p := mustLoad(t, strings.Replace(policy.Default, "# freeze: true ", "freeze: true   ", 1))
	if !p.Freeze {
		t.Fatal("freeze: true was not read")
	}
	fill := batch.Change{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1", Op: batch.OpSet, Field: "jobtitle",
		Before: "", After: "CEO", Source: "clay", Confidence: 0.97}
	v := p.Evaluate(fill, policy.Proposer{})
	if v.Decision != policy.Review || v.Rule != policy.RuleFreeze || v.Why == "" {
		t.Errorf("frozen fill = %s by %s (%q), want review by %s", v.Decision, v.Rule, v.Why, policy.RuleFreeze)
	}
	bv := p.EvaluateBatch(&batch.Batch{ID: "b", Changes: []batch.Change{fill}}, policy.Proposer{})
	if bv.Decision != policy.Review || !bv.Frozen {
		t.Errorf("frozen batch = %s frozen %v", bv.Decision, bv.Frozen)
	}
	unfrozen := mustLoad(t, policy.Default)
	if v := unfrozen.Evaluate(fill, policy.Proposer{}); v.Decision != policy.Auto {
		t.Errorf("unfrozen fill = %s", v.Decision)
	}
}

func TestLimitsArePartOfTheBatchDecision(t *testing.T) {
	p := mustLoad(t, "version: 1\ndefault: review\nlimits: {max_changes_per_batch: 3, max_auto_changes_per_run: 2}\nrules:\n  - {name: fill, when: {kind: enrichment, before: empty}, decision: auto}\n")
	fills := func(n int) []batch.Change {
		var out []batch.Change
		for i := range n {
			out = append(out, batch.Change{ID: fmt.Sprintf("c%d", i+1), Kind: "enrichment", Object: "contacts", Record: fmt.Sprint(i + 1),
				Op: batch.OpSet, Field: "jobtitle", After: "CEO", Source: "clay", Confidence: 1})
		}
		return out
	}
	tests := []struct {
		name     string
		changes  []batch.Change
		decision policy.Decision
		rule     string
	}{
		{"a batch within both limits is auto", fills(2), policy.Auto, ""},
		{"a batch with more auto changes than one run may apply needs review", fills(3), policy.Review, policy.RuleLimitAutoPerRun},
		{"a batch larger than max_changes_per_batch needs review", fills(4), policy.Review, policy.RuleLimitBatchSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bv := p.EvaluateBatch(&batch.Batch{ID: "b", Changes: tt.changes}, policy.Proposer{})
			if bv.Decision != tt.decision {
				t.Errorf("Decision = %s, want %s", bv.Decision, tt.decision)
			}
			if tt.rule != "" && (!containsFold(bv.Rules, tt.rule) || bv.Why == "") {
				t.Errorf("Rules = %v, Why %q; want %s with a reason", bv.Rules, bv.Why, tt.rule)
			}
		})
	}
}

func TestLoadRefusesWhatWouldWeakenTheGuards(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"an auto rule naming an owner field", "  - {name: r, when: {field: hubspot_owner_id}, decision: auto}\n", "owner field"},
		{"an auto rule naming a field a policy made an owner field", "  - {name: r, when: {field: account_manager}, decision: auto}\n", "owner field"},
		{"an auto rule for unmerges", "  - {name: r, when: {op: unmerge}, decision: auto}\n", "merges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "version: 1\ndefault: review\nfields: {owner: [account_manager]}\nrules:\n" + tt.text
			_, err := policy.Load(policy.Path, []byte(text))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), policy.Path+":") {
				t.Fatalf("Load = %v, want a file:line error about %s", err, tt.want)
			}
		})
	}
	for _, bad := range []string{"fields: {dedupe: [x]}", "fields: {widgets: [x]}", `fields: {owner: ["bad field"]}`} {
		if _, err := policy.Load(policy.Path, []byte("version: 1\ndefault: review\n"+bad+"\n")); err == nil || !strings.Contains(err.Error(), "fields") {
			t.Errorf("%s: Load = %v, want an error naming fields", bad, err)
		}
	}
	p := mustLoad(t, "version: 1\ndefault: auto\nfields: {owner: [account_manager]}\n")
	c := batch.Change{ID: "c1", Kind: "custom", Object: "contacts", Record: "1", Op: batch.OpSet, Field: "account_manager", After: "42", Source: "x", Confidence: 1}
	if v := p.Evaluate(c, policy.Proposer{}); v.Decision != policy.Review || v.Rule != policy.RuleInvariantNeverAuto {
		t.Errorf("a field the policy added to owner: %s by %s", v.Decision, v.Rule)
	}
	c.Field = "hubspot_owner_id"
	if v := p.Evaluate(c, policy.Proposer{}); v.Decision != policy.Review {
		t.Errorf("a policy's own owner list does not take the built-in owner fields away: %s by %s", v.Decision, v.Rule)
	}
}
