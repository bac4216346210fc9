package emailverify_test

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/policy"
)

func seedContacts(t *testing.T) crm.Connector {
	db := openCRM(t)
	seed(t, db, "contacts",
		rec("1", "email", "valid@acme.com"),
		rec("2", "email", "role@acme.com", "email_status", "valid"),
		rec("3", "email", "trash@mailinator.com"),
		rec("4", "email", "toxic@acme.com"),
		rec("5", "email", "catch@acme.com"),
		rec("6", "email", "trap@acme.com"),
		rec("7", "email", "abuse@acme.com"),
		rec("8", "email", "gone@acme.com"),
		rec("9", "email", "maybe@acme.com", "email_status", "unknown"),
		rec("10", "email", "weird@acme.com"),
		rec("11", "email", "shared@acme.com"),
		rec("12", "email", " SHARED@acme.com"),
	)
	return db
}

func TestZeroBounce(t *testing.T) {
	res := run(t, mustDetector(t, "{input: testdata/zerobounce.csv, format: zerobounce}"), seedContacts(t))
	const f = "testdata/zerobounce.csv"

	t.Run("every status is proposed in our vocabulary unless the record already holds it", func(t *testing.T) {
		checkChanges(t, res.Changes, []batch.Change{
			status("1", "", "valid", "zerobounce", f+`:2: zerobounce says valid@acme.com is "valid", which is valid; email_status is empty in the CRM`),
			status("2", "valid", "role", "zerobounce", f+`:3: zerobounce says role@acme.com is "do_not_mail/role_based", which is role; the CRM has email_status "valid"`),
			status("3", "", "disposable", "zerobounce", f+`:4: zerobounce says trash@mailinator.com is "do_not_mail/disposable", which is disposable; email_status is empty in the CRM`),
			status("4", "", "do_not_mail", "zerobounce", f+`:5: zerobounce says toxic@acme.com is "do_not_mail/toxic", which is do_not_mail; email_status is empty in the CRM`),
			status("5", "", "catch_all", "zerobounce", f+`:6: zerobounce says catch@acme.com is "catch-all", which is catch_all; email_status is empty in the CRM`),
			status("6", "", "spamtrap", "zerobounce", f+`:7: zerobounce says trap@acme.com is "spamtrap", which is spamtrap; email_status is empty in the CRM`),
			status("7", "", "abuse", "zerobounce", f+`:8: zerobounce says abuse@acme.com is "abuse", which is abuse; email_status is empty in the CRM`),
			status("8", "", "invalid", "zerobounce", f+`:9: zerobounce says gone@acme.com is "invalid/mailbox_not_found", which is invalid; email_status is empty in the CRM`),
			// Line 10: maybe@acme.com is unknown already: nothing.
			// Line 14: both records holding the address get its status.
			status("11", "", "invalid", "zerobounce", f+`:14: zerobounce says shared@acme.com is "invalid/mailbox_not_found", which is invalid; email_status is empty in the CRM`),
			status("12", "", "invalid", "zerobounce", f+`:14: zerobounce says shared@acme.com is "invalid/mailbox_not_found", which is invalid; email_status is empty in the CRM`),
		})
	})

	t.Run("bad rows are skipped with their line", func(t *testing.T) {
		checkProblems(t, res.Skipped, []string{
			f + `:11: unknown zerobounce status "mystery" for weird@acme.com`,
			f + `:12: malformed email "not-an-email"`,
			f + `:13: no contacts record with email nobody@acme.com`,
			f + `:15: no email in column "Email Address"`,
			f + `:16: same email valid@acme.com as line 2; only line 2 is used`,
			f + `:17: no status for nostatus@acme.com`,
		})
	})

	t.Run("the default policy applies valid automatically and sends every other status to review", func(t *testing.T) {
		p := defaultPolicy(t)
		for _, c := range res.Changes {
			want, rule := policy.Review, "email-risky"
			if c.After == "valid" {
				want, rule = policy.Auto, "email-valid"
			}
			if v := p.Evaluate(c, policy.Proposer{}); v.Decision != want || v.Rule != rule {
				t.Errorf("%s: %s by %s, want %s by %s", describe(c), v.Decision, v.Rule, want, rule)
			}
		}
	})
}

func TestKickbox(t *testing.T) {
	res := run(t, mustDetector(t, "{input: testdata/kickbox.csv, format: kickbox, confidence: 0.95}"), seedContacts(t))
	const f = "testdata/kickbox.csv"
	t.Run("deliverable is valid, undeliverable invalid, and risky takes the name of its flag", func(t *testing.T) {
		checkChanges(t, res.Changes, []batch.Change{
			status("1", "", "valid", "kickbox", f+`:2: kickbox says valid@acme.com is "deliverable", which is valid; email_status is empty in the CRM`),
			status("8", "", "invalid", "kickbox", f+`:3: kickbox says gone@acme.com is "undeliverable", which is invalid; email_status is empty in the CRM`),
			// role and accept_all both set: role is the more specific.
			status("2", "valid", "role", "kickbox", f+`:4: kickbox says role@acme.com is "risky (role, accept_all)", which is role; the CRM has email_status "valid"`),
			status("3", "", "disposable", "kickbox", f+`:5: kickbox says trash@mailinator.com is "risky (disposable)", which is disposable; email_status is empty in the CRM`),
			status("5", "", "catch_all", "kickbox", f+`:6: kickbox says catch@acme.com is "risky (accept_all)", which is catch_all; email_status is empty in the CRM`),
			status("4", "", "unknown", "kickbox", f+`:7: kickbox says toxic@acme.com is "risky (no role, disposable or accept_all flag)", which is unknown; email_status is empty in the CRM`),
			// Line 8: maybe@acme.com is unknown already: nothing.
		})
		checkProblems(t, res.Skipped, []string{
			f + `:9: column role holds "maybe", not true or false`,
		})
	})
}

func TestNeverBounceAndGeneric(t *testing.T) {
	t.Run("neverbounce's five result codes map to ours and anything else is an unknown status", func(t *testing.T) {
		res := run(t, mustDetector(t, "{input: testdata/neverbounce.csv, format: neverbounce, source: neverbounce-2026-11}"), seedContacts(t))
		const f = "testdata/neverbounce.csv"
		checkChanges(t, res.Changes, []batch.Change{
			status("1", "", "valid", "neverbounce-2026-11", f+`:2: neverbounce says valid@acme.com is "valid", which is valid; email_status is empty in the CRM`),
			status("8", "", "invalid", "neverbounce-2026-11", f+`:3: neverbounce says gone@acme.com is "invalid", which is invalid; email_status is empty in the CRM`),
			status("3", "", "disposable", "neverbounce-2026-11", f+`:4: neverbounce says trash@mailinator.com is "disposable", which is disposable; email_status is empty in the CRM`),
			status("5", "", "catch_all", "neverbounce-2026-11", f+`:5: neverbounce says catch@acme.com is "catchall", which is catch_all; email_status is empty in the CRM`),
		})
		checkProblems(t, res.Skipped, []string{
			f + `:7: unknown neverbounce status "role" for weird@acme.com`,
		})
	})

	t.Run("a generic file uses our vocabulary, with its email column renamed in settings", func(t *testing.T) {
		res := run(t, mustDetector(t, "{input: testdata/generic.csv, format: generic, columns: {email: E-mail}, source: in-house}"), seedContacts(t))
		const f = "testdata/generic.csv"
		checkChanges(t, res.Changes, []batch.Change{
			status("1", "", "valid", "in-house", f+`:2: generic says valid@acme.com is "valid", which is valid; email_status is empty in the CRM`),
			status("2", "valid", "role", "in-house", f+`:3: generic says role@acme.com is "role", which is role; the CRM has email_status "valid"`),
			status("6", "", "spamtrap", "in-house", f+`:4: generic says trap@acme.com is "spamtrap", which is spamtrap; email_status is empty in the CRM`),
			status("7", "", "abuse", "in-house", f+`:5: generic says abuse@acme.com is "abuse", which is abuse; email_status is empty in the CRM`),
			status("4", "", "do_not_mail", "in-house", f+`:6: generic says toxic@acme.com is "do_not_mail", which is do_not_mail; email_status is empty in the CRM`),
			status("5", "", "catch_all", "in-house", f+`:7: generic says catch@acme.com is "catch_all", which is catch_all; email_status is empty in the CRM`),
		})
		checkProblems(t, res.Skipped, []string{
			f + `:8: unknown generic status "catch-all" for weird@acme.com`,
		})
	})
}

func TestEmailVerificationErrors(t *testing.T) {
	db := seedContacts(t)
	t.Run("a missing status column is an error for the whole file naming the file and the column", func(t *testing.T) {
		_, err := mustDetector(t, "{input: testdata/neverbounce.csv, format: zerobounce}").Detect(t.Context(), envFor(db))
		want := `testdata/neverbounce.csv: no column "Email Address" (the header has: email, name, email_status); a zerobounce file needs its email column (set detectors.email_verification.columns.email if it has another name)`
		if err == nil || err.Error() != want {
			t.Errorf("error %v\nwant %s", err, want)
		}
	})
	tests := []struct {
		name     string
		settings string
		want     string
	}{
		{"an unknown format is refused at its line",
			"input: r.csv\nformat: briteverify",
			`crmops.yaml:6: detectors.email_verification.format: unknown format "briteverify" (zerobounce, neverbounce, kickbox or generic)`},
		{"a format is required",
			"input: r.csv",
			"crmops.yaml:5: detectors.email_verification.format: missing required key"},
		{"a column role the format does not read is refused",
			"input: r.csv\nformat: neverbounce\ncolumns: {sub_status: x}",
			`crmops.yaml:7: detectors.email_verification.columns.sub_status: format neverbounce reads no "sub_status" column (it reads email, status)`},
		{"the status cannot overwrite the email itself",
			"input: r.csv\nformat: generic\nfield: email",
			`crmops.yaml:7: detectors.email_verification.field: "email" cannot hold the status`},
		{"a confidence outside 0..1 is refused",
			"input: r.csv\nformat: generic\nconfidence: -0.1",
			`crmops.yaml:7: detectors.email_verification.confidence: -0.1 is outside 0..1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newDetector(t, tt.settings)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
