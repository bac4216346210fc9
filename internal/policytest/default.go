package policytest

import (
	"fmt"
	"strconv"
	"strings"
)

// defaultTests is policies/tests/default.yaml as crmops init writes it for
// policy.Default: a case for every rule, its boundaries, the default, the
// never-auto invariants, the changes that claim one kind and do another,
// and the proposer.
const defaultTests = defaultHeader + "version: 1\ncases:\n" + defaultCases + localProposerCases

const defaultHeader = `# yaml-language-server: $schema=../../schemas/policytest.schema.json
# Expected decisions of policies/default.yaml. crmops policy test runs every
# file in policies/tests/ against the policy in the checkout, so a pull request
# that changes the policy must keep these passing (or change them, visibly).
#
# Each case is a change, written like a change of a batch file (without id;
# record defaults to "1" because no rule can match on it), the decision the
# policy must give it, and, optionally, the rule that must decide it: a rule
# name, "default" (no rule matched) or a built-in guard: "invariant:never-auto"
# (a merge, dedupe, owner change or write to an owner field is never auto),
# "invariant:field-kind" (a kind listed under fields: writing another field is
# refused), "invariant:proposer" (an auto decision for a proposer the policy
# does not trust is review) or "freeze" (freeze: true).
#
# A change is judged by what it does: one writing another kind's field (see
# fields: in the policy) is decided as that kind too, and the stricter decision
# wins. A case may name who proposed it, as the forge knows them (proposer:
# LOGIN, and from_fork: true for a pull request from a fork); without one the
# proposer is unknown, which a policy whose auto rules name proposers does not
# trust.
`

// defaultCases are the cases whose decision does not depend on who
// proposed them, but for auto, which needs a trusted proposer.
const defaultCases = `  - name: fill an empty job title from a confident source
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.97, trigger: import}
    expect: auto
    rule: enrichment-fill-empty

  - name: fill an empty field at exactly the confidence threshold
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.9, trigger: import}
    expect: auto
    rule: enrichment-fill-empty

  - name: fill an empty field just below the confidence threshold
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.89, trigger: import}
    expect: review
    rule: default

  - name: overwrite a value someone entered
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: Sales, after: VP Sales, source: clay, confidence: 0.99, trigger: import}
    expect: review
    rule: enrichment-overwrite

  - name: merge two duplicate contacts
    change: {kind: dedupe, object: contacts, record: "1001", op: merge, merge_from: "1002", source: dedupe, confidence: 0.99, trigger: rule}
    expect: review
    rule: dedupe-always-review

  - name: move a contact's lifecycle stage on a single event
    change: {kind: lifecycle, object: contacts, op: set, field: lifecyclestage, before: lead, after: customer, source: hubspot, confidence: 1, trigger: event}
    expect: auto
    rule: lifecycle-single-event

  - name: move a contact's lifecycle stage on an AI score
    change: {kind: lifecycle, object: contacts, op: set, field: lifecyclestage, before: lead, after: marketingqualifiedlead, source: scoring, confidence: 0.95, trigger: score}
    expect: review
    rule: lifecycle-ai-score

  - name: move a lifecycle stage on a rule, which no rule covers
    change: {kind: lifecycle, object: contacts, op: set, field: lifecyclestage, before: lead, after: marketingqualifiedlead, source: scoring, confidence: 0.95, trigger: rule}
    expect: review
    rule: default

  - name: reassign a record from an inactive owner
    change: {kind: owner, object: companies, op: set, field: hubspot_owner_id, before: "17", after: "42", source: owners, confidence: 1, trigger: rule}
    expect: review
    rule: owner-always-review

  - name: an owner change is never auto, whatever rule decides it
    change: {kind: owner, object: contacts, op: set, field: hubspot_owner_id, before: "", after: "42", source: manual, confidence: 1, trigger: manual}
    expect: review

  - name: a merge claiming to be a lifecycle event matches no auto rule, which name the fields they write
    change: {kind: lifecycle, object: contacts, record: "1001", op: merge, merge_from: "1002", source: hubspot, confidence: 1, trigger: event}
    expect: review
    rule: default

  - name: mark an email verified valid
    change: {kind: email_verification, object: contacts, op: set, field: email_status, before: "", after: valid, source: zerobounce, confidence: 0.99, trigger: rule}
    expect: auto
    rule: email-valid

  - name: mark an email risky
    change: {kind: email_verification, object: contacts, op: set, field: email_status, before: "", after: risky, source: zerobounce, confidence: 0.99, trigger: rule}
    expect: review
    rule: email-risky

  - name: mark a once-valid email invalid
    change: {kind: email_verification, object: contacts, op: set, field: email_status, before: valid, after: invalid, source: zerobounce, confidence: 0.99, trigger: rule}
    expect: review
    rule: email-risky

  - name: a custom change from a script falls to the default
    change: {kind: custom, object: deals, op: set, field: amount, before: "1000", after: "1200", source: my-agent, confidence: 1, trigger: manual}
    expect: review
    rule: default

  # Changes that claim one kind and do another.
  - name: a lifecycle change writing the email is refused
    change: {kind: lifecycle, object: contacts, op: set, field: email, before: bob@acme.com, after: attacker@evil.example, source: hubspot, confidence: 1, trigger: event}
    expect: deny
    rule: invariant:field-kind

  - name: an enrichment filling an empty owner field is judged as an owner change
    change: {kind: enrichment, object: contacts, op: set, field: hubspot_owner_id, before: "", after: "42", source: clay, confidence: 0.99, trigger: import}
    expect: review
    rule: owner-always-review

  - name: a custom change of the lifecycle stage on an event gets custom's stricter review
    change: {kind: custom, object: contacts, op: set, field: lifecyclestage, before: lead, after: customer, source: my-agent, confidence: 1, trigger: event}
    expect: review
    rule: default

  - name: an email verification aimed at the owner field is refused
    change: {kind: email_verification, object: contacts, op: set, field: hubspot_owner_id, before: "", after: valid, source: zerobounce, confidence: 1, trigger: rule}
    expect: deny
    rule: invariant:field-kind

  - name: an enrichment filling an empty email is not a descriptive field
    change: {kind: enrichment, object: contacts, op: set, field: email, before: "", after: attacker@evil.example, source: clay, confidence: 0.99, trigger: import}
    expect: review
    rule: default

`

// localProposerCases are about the proposer under policy.Default, whose
// auto rules name no proposer.
const localProposerCases = `  # Who proposed.
  - name: an honest fill by a proposer from inside the repository is auto
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.97, trigger: import}
    proposer: alice
    expect: auto
    rule: enrichment-fill-empty

  - name: the same fill proposed from a fork is never auto
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.97, trigger: import}
    proposer: alice
    from_fork: true
    expect: review
    rule: invariant:proposer
`

// trustedProposerCases are about the proposer under policy.DefaultFor,
// whose auto rules name the identities the workflows act as (the first of
// them is the format's argument).
const trustedProposerCases = `  # Who proposed: the auto rules name only %[1]s.
  - name: a fill proposed by a person by hand needs review
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.97, trigger: import}
    proposer: alice
    expect: review
    rule: default

  - name: a fill whose proposer is unknown needs review
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.97, trigger: import}
    expect: review
    rule: default

  - name: a fill proposed from a fork in the workflows' name is never auto
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.97, trigger: import}
    proposer: %[1]s
    from_fork: true
    expect: review
    rule: default
`

// DefaultTests returns the policy test files crmops init scaffolds, by
// repository-relative path: cases that cover every rule of policy.Default.
func DefaultTests() map[string][]byte { return DefaultTestsFor(nil) }

// DefaultTestsFor returns the policy test files for policy.DefaultFor(
// proposers): the same cases, every case that expects auto proposed by the
// first of proposers, and cases showing that anyone else gets review. nil
// gives DefaultTests.
func DefaultTestsFor(proposers []string) map[string][]byte {
	if len(proposers) == 0 {
		return map[string][]byte{Dir + "/default.yaml": []byte(defaultTests)}
	}
	by := strconv.Quote(proposers[0])
	quoted := make([]string, len(proposers))
	for i, p := range proposers {
		quoted[i] = strconv.Quote(p)
	}
	header := defaultHeader + "#\n# The policy's auto rules trust only " + strings.Join(quoted, ", ") + ":\n# every case that expects auto names " + by + " as its proposer.\n"
	cases := strings.ReplaceAll(defaultCases, "    expect: auto\n", "    proposer: "+by+"\n    expect: auto\n")
	text := header + "version: 1\ncases:\n" + cases + fmt.Sprintf(trustedProposerCases, by)
	return map[string][]byte{Dir + "/default.yaml": []byte(text)}
}
