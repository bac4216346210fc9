package policytest

// defaultTests is policies/tests/default.yaml as crmops init writes it: a
// case for every rule of policy.Default, its boundaries, the default, and
// the never-auto invariants.
const defaultTests = `# Expected decisions of policies/default.yaml. crmops policy test runs every
# file in policies/tests/ against the policy in the checkout, so a pull request
# that changes the policy must keep these passing (or change them, visibly).
#
# Each case is a change, written like a change of a batch file (without id;
# record defaults to "1" because no rule can match on it), the decision the
# policy must give it, and, optionally, the rule that must decide it: a rule
# name, "default" (no rule matched) or "invariant:never-auto" (an auto rule
# matched a merge, dedupe or owner change, which are never auto).
version: 1
cases:
  - name: fill an empty job title from a confident source
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

  - name: a merge is never auto, even when an auto rule matches it
    change: {kind: lifecycle, object: contacts, record: "1001", op: merge, merge_from: "1002", source: hubspot, confidence: 1, trigger: event}
    expect: review
    rule: invariant:never-auto

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
`

// DefaultTests returns the policy test files crmops init scaffolds, by
// repository-relative path: cases that cover every rule of policy.Default.
func DefaultTests() map[string][]byte {
	return map[string][]byte{Dir + "/default.yaml": []byte(defaultTests)}
}
