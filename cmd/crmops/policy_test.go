package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/policytest"
	"github.com/crmops/crmops/internal/simulate"
)

// policyRun runs `crmops policy ARGS...` in-process. Until root.go registers
// newPolicyCmd, it adds the command to a root of its own and maps errors to
// exit codes as run does.
func (h *harness) policyRun(argv ...string) result {
	h.t.Helper()
	argv = append([]string{"policy"}, argv...)
	var out, errOut bytes.Buffer
	f := newFactory(strings.NewReader(""), &out, &errOut, func(k string) string { return h.env[k] })
	f.now = func() time.Time { h.clock = h.clock.Add(time.Second); return h.clock }
	root := newRoot(f)
	if c, _, err := root.Find([]string{"policy"}); err == nil && c != root && c.Name() == "policy" {
		return h.run("", argv...)
	}
	root.AddCommand(newPolicyCmd(f))
	root.SetArgs(append([]string{"--repo", h.dir}, argv...))
	root.SetOut(f.out)
	root.SetErr(f.err)
	code := exitOK
	if err := root.ExecuteContext(context.Background()); err != nil {
		var ce *exitCodeError
		var ue usageError
		switch {
		case errors.As(err, &ce):
			code = ce.code
		case errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown"):
			code = exitUsage
			fmt.Fprintln(f.err, "crmops: "+err.Error())
		default:
			code = exitError
			fmt.Fprintln(f.err, "crmops: "+oneLine(err.Error()))
		}
	}
	return result{out: out.String(), err: errOut.String(), code: code}
}

func (h *harness) policyExpect(code int, argv []string, want ...string) result {
	h.t.Helper()
	r := h.policyRun(argv...)
	if r.code != code {
		h.t.Fatalf("crmops policy %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), r.code, code, r.out, r.err)
	}
	for _, w := range want {
		if !strings.Contains(r.out+r.err, w) {
			h.t.Errorf("crmops policy %s: output lacks %q\nstdout: %s\nstderr: %s", strings.Join(argv, " "), w, r.out, r.err)
		}
	}
	return r
}

// policyMixedBatch is a batch whose changes meet every part of an explanation:
// an auto rule, a skipped rule with its reason, the default, a merge (which a
// policy making events auto shows the never-auto invariant on), a change
// judged as another kind because it writes that kind's field, and one whose
// kind may not write its field.
func policyMixedBatch(id string, review string) *batch.Batch {
	b := &batch.Batch{Version: 1, ID: id, Created: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), Detector: "mixed", Title: "mixed", Review: review,
		Changes: []batch.Change{
			{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001", Op: "set", Field: "jobtitle", Before: "", After: "VP Sales", Source: "clay", Confidence: 0.97, Trigger: "import"},
			{ID: "c2", Kind: "enrichment", Object: "contacts", Record: "1002", Op: "set", Field: "jobtitle", Before: "", After: "CTO", Source: "clay", Confidence: 0.85, Trigger: "import"},
			{ID: "c3", Kind: "lifecycle", Object: "contacts", Record: "1003", Op: "merge", MergeFrom: "1004", Source: "hubspot", Confidence: 1, Trigger: "event"},
			{ID: "c4", Kind: "enrichment", Object: "contacts", Record: "1005", Op: "set", Field: "hubspot_owner_id", Before: "", After: "666", Source: "clay", Confidence: 0.99, Trigger: "import"},
			{ID: "c5", Kind: "lifecycle", Object: "contacts", Record: "1006", Op: "set", Field: "email", Before: "bob@acme.com", After: "attacker@evil.example", Source: "hubspot", Confidence: 1, Trigger: "event"},
		}}
	return b
}

func policyEncode(t *testing.T, v any) string {
	t.Helper()
	data, err := batch.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestPolicyExplain(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	id := "20261124T060000Z-mixed-abc123"
	rel := batch.Path(id)
	h.writeFile(rel, policyEncode(t, policyMixedBatch(id, "")))

	t.Run("a batch id found under proposals/ is explained change by change", func(t *testing.T) {
		r := h.policyExpect(0, []string{"explain", id},
			"batch "+id+" ("+rel+")",
			"policy policies/default.yaml on origin/main",
			"proposer unknown (no --proposer given): the policy's auto rules name no proposer, so everyone from inside the repository is trusted alike",
			"c1  enrichment contacts/1001.jobtitle \"\" -> \"VP Sales\"  (source clay, confidence 0.97, trigger import)\n    match   enrichment-fill-empty (line 14): auto\n    => auto (enrichment-fill-empty)",
			"    skip    enrichment-fill-empty (line 14): confidence 0.85 is below 0.9\n    skip    enrichment-overwrite (line 17): before is empty, not present\n",
			"    default no rule matched: review\n    => review (default)",
			"c3  lifecycle contacts/1004 -> 1003  (source hubspot, confidence 1, trigger event)\n    skip    enrichment-fill-empty",
			"    skip    lifecycle-single-event (line 23): field is \"\", not lifecyclestage\n",
			// Judged as the kind whose field it writes.
			"c4  enrichment contacts/1005.hubspot_owner_id \"\" -> \"666\"",
			"    default no rule matched: review\n    as owner (writes hubspot_owner_id, a field of kind owner)\n      match   owner-always-review (line 29): review\n"+
				"    why     enrichment writes hubspot_owner_id, a field of kind owner (fields.owner): judged as owner too, the stricter decision wins\n    => review (owner-always-review)",
			// Refused: its kind may not write the field.
			"c5  lifecycle contacts/1006.email \"bob@acme.com\" -> \"attacker@evil.example\"",
			"    invariant:field-kind: kind lifecycle writes only lifecyclestage (fields.lifecycle in the policy), not email; propose it as the kind that writes email, or add the field to fields.lifecycle: default says review, the guard makes it deny\n    => deny (invariant:field-kind)",
			"batch: deny (enrichment-fill-empty, default, owner-always-review, invariant:field-kind)\n",
		)
		if strings.Contains(r.out, "::stop-commands::") {
			t.Error("stop-commands outside GitHub Actions")
		}
	})

	t.Run("the JSON agrees with check on every change and has every fact", func(t *testing.T) {
		var explained []explainJSON
		r := h.policyExpect(0, []string{"explain", "--json", filepath.Join(h.dir, rel)})
		if err := json.Unmarshal([]byte(r.out), &explained); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.out)
		}
		var rows []struct{ Change, Decision, Rule string }
		// check exits 3: the batch has a denied change.
		cr := h.run("", "check", "--json", filepath.Join(h.dir, rel))
		if err := json.Unmarshal([]byte(cr.out), &rows); err != nil || cr.code != exitInvalid {
			t.Fatalf("check: exit %d, %v\n%s%s", cr.code, err, cr.out, cr.err)
		}
		if len(explained) != 1 || len(explained[0].Changes) != len(rows) {
			t.Fatalf("explain %+v\ncheck %+v", explained, rows)
		}
		for i, c := range explained[0].Changes {
			if c.Change != rows[i].Change || c.Decision != rows[i].Decision || c.Rule != rows[i].Rule {
				t.Errorf("explain says %s %s (%s), check %s %s (%s)", c.Change, c.Decision, c.Rule, rows[i].Change, rows[i].Decision, rows[i].Rule)
			}
		}
		x := explained[0]
		if x.File != rel || x.Decision != "deny" || x.Proposer != (explainProposerJSON{Trusted: true}) || x.Frozen || x.Why != "" {
			t.Errorf("batch = %+v", x)
		}
		c4, c5 := x.Changes[3], x.Changes[4]
		if c4.Field != "hubspot_owner_id" || c4.Decided != "review" || c4.Matched != nil || c4.Why == "" || len(c4.AsKinds) != 1 ||
			c4.AsKinds[0].Kind != "owner" || c4.AsKinds[0].Decision != "review" || c4.AsKinds[0].Matched == nil ||
			*c4.AsKinds[0].Matched != (explainRuleJSON{Rule: "owner-always-review", Line: 29, Decision: "review"}) || len(c4.AsKinds[0].Skipped) != 5 {
			t.Errorf("c4 = %+v", c4)
		}
		if c5.Override != policy.RuleFieldKind || c5.Decision != "deny" || c5.Decided != "review" || !strings.HasPrefix(c5.Reason, c5.Why+": ") || len(c5.AsKinds) != 0 {
			t.Errorf("c5 = %+v", c5)
		}
		for _, key := range []string{`"as_kinds": []`, `"proposer": {`, `"named_by_rules": false`, `"frozen": false`, `"why": ""`, `"decided": "auto"`, `"field": "jobtitle"`} {
			if !strings.Contains(r.out, key) {
				t.Errorf("JSON lacks %s", key)
			}
		}
	})

	t.Run("the never-auto invariant over an auto rule is shown with its reason", func(t *testing.T) {
		p := h.writeFile("events.yaml", "version: 1\ndefault: review\nrules:\n  - name: events\n    when: {trigger: event}\n    decision: auto\n")
		h.policyExpect(0, []string{"explain", "--policy", p, id},
			"c3  lifecycle contacts/1004 -> 1003  (source hubspot, confidence 1, trigger event)\n    match   events (line 4): auto\n"+
				"    invariant:never-auto: a merge is never auto, whatever the policy says: events says auto, the guard makes it review\n    => review (invariant:never-auto)")
	})

	t.Run("--proposer explains as that proposer, and a policy trusting only the bot holds an unknown one", func(t *testing.T) {
		gh := h.writeFile("github.yaml", policy.DefaultFor([]string{"github-actions[bot]"}))
		h.policyExpect(0, []string{"explain", "--policy", gh, id},
			"proposer unknown (no --proposer given): the policy's auto rules name the proposers they trust, so an unknown proposer is not trusted and no change can be auto (pass --proposer LOGIN)",
			"    skip    enrichment-fill-empty (line 14): proposer is \"\", not github-actions[bot]\n")
		h.policyExpect(0, []string{"explain", "--policy", gh, "--proposer", "GitHub-Actions[bot]", id},
			"proposer GitHub-Actions[bot]: trusted, an auto rule names this proposer",
			"    match   enrichment-fill-empty (line 14): auto\n    => auto (enrichment-fill-empty)")
		h.policyExpect(0, []string{"explain", "--policy", gh, "--proposer", "mallory", id},
			"proposer mallory: no auto rule names this proposer, so no change can be auto")

		var explained []explainJSON
		r := h.policyExpect(0, []string{"explain", "--json", "--policy", gh, "--proposer", "mallory", id})
		if err := json.Unmarshal([]byte(r.out), &explained); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.out)
		}
		if explained[0].Proposer != (explainProposerJSON{Login: "mallory", NamedByRules: true}) {
			t.Errorf("proposer %+v", explained[0].Proposer)
		}
	})

	t.Run("--from-fork is never trusted", func(t *testing.T) {
		h.policyExpect(0, []string{"explain", "--proposer", "alice", "--from-fork", id},
			"proposer alice, from a fork: never trusted, no change can be auto",
			"    match   enrichment-fill-empty (line 14): auto\n    invariant:proposer: proposed from outside the repository (a fork): never auto: enrichment-fill-empty says auto, the guard makes it review\n    => review (invariant:proposer)")
	})

	t.Run("a frozen policy says so, and turns auto into review", func(t *testing.T) {
		p := h.writeFile("frozen.yaml", strings.Replace(policy.Default, "# freeze: true ", "freeze: true   ", 1))
		h.policyExpect(0, []string{"explain", "--policy", p, id},
			"frozen: the policy says freeze: true, so every auto decision is review until it is lifted (freeze)",
			"    freeze: the repository is frozen (freeze: true in the policy): every auto decision is review until it is lifted: enrichment-fill-empty says auto, the guard makes it review\n    => review (freeze)")
	})

	t.Run("the batch's review key is shown when it holds an all-auto batch", func(t *testing.T) {
		id := "20261124T070000Z-limit-abc123"
		b := policyMixedBatch(id, "this run's auto changes passed limits.max_auto_changes_per_run (500)")
		b.Changes = b.Changes[:1]
		h.writeFile(batch.Path(id), policyEncode(t, b))
		h.policyExpect(0, []string{"explain", id},
			"batch: review (enrichment-fill-empty, batch.review), 1 approval(s) needed\nevery change is auto, but the batch's review key holds it for a person (batch.review): this run's auto changes passed limits.max_auto_changes_per_run (500)")
	})

	t.Run("a limit that holds an all-auto batch is shown with why", func(t *testing.T) {
		id := "20261124T080000Z-big-abc123"
		b := policyMixedBatch(id, "")
		b.Changes = []batch.Change{b.Changes[0], b.Changes[0]}
		b.Changes[1].ID, b.Changes[1].Record = "c2", "1002"
		h.writeFile(batch.Path(id), policyEncode(t, b))
		p := h.writeFile("small.yaml", strings.Replace(policy.Default, "max_changes_per_batch: 1000", "max_changes_per_batch: 1   ", 1))
		h.policyExpect(0, []string{"explain", "--policy", p, id},
			"batch: review (enrichment-fill-empty, limits.max_changes_per_batch), 1 approval(s) needed\nevery change is auto, but limits.max_changes_per_batch holds the batch for a person: the batch has 2 changes, more than limits.max_changes_per_batch (1)")
		var explained []explainJSON
		r := h.policyExpect(0, []string{"explain", "--json", "--policy", p, id})
		if err := json.Unmarshal([]byte(r.out), &explained); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.out)
		}
		if explained[0].Why != "the batch has 2 changes, more than limits.max_changes_per_batch (1)" {
			t.Errorf("why %q", explained[0].Why)
		}
	})

	t.Run("--policy explains under another policy file", func(t *testing.T) {
		p := h.writeFile("strict.yaml", strings.Replace(policy.Default, "min_confidence: 0.9}", "min_confidence: 0.99}", 1))
		h.policyExpect(0, []string{"explain", "--policy", p, id},
			"policy "+p, "    skip    enrichment-fill-empty (line 14): confidence 0.97 is below 0.99")
	})

	t.Run("a batch only on its open proposal branch is found there", func(t *testing.T) {
		props := h.propose(`{"kind":"owner","object":"companies","record":"77","op":"set","field":"hubspot_owner_id","before":"17","after":"42","source":"owners","confidence":1,"trigger":"rule"}`+"\n", "--no-merge")
		if len(props) != 1 {
			t.Fatalf("proposed %+v", props)
		}
		if _, err := os.Stat(filepath.Join(h.dir, batch.Path(props[0].Batch))); err == nil {
			t.Fatal("the proposal is in the checkout")
		}
		h.policyExpect(0, []string{"explain", props[0].Batch},
			"batch "+props[0].Batch+" ("+batch.Path(props[0].Batch)+")", "    match   owner-always-review (line 29): review")
	})

	t.Run("an unknown batch id is an error naming where it looked", func(t *testing.T) {
		h.policyExpect(1, []string{"explain", "20261124T060000Z-nothing-000000"},
			"explain: batch 20261124T060000Z-nothing-000000 is not under proposals/ in the checkout nor on branch crmops/20261124T060000Z-nothing-000000")
	})

	t.Run("an invalid batch file is refused with its file, line and key", func(t *testing.T) {
		bad := h.writeFile("bad/20261124T060000Z-bad-000000.yaml", strings.Replace(policyEncode(t, policyMixedBatch("20261124T060000Z-bad-000000", "")), "    source: clay\n", "    source: clay\n    sauce: x\n", 1))
		h.policyExpect(1, []string{"explain", bad}, "bad/20261124T060000Z-bad-000000.yaml:", "changes[0].sauce: unknown key")
	})

	t.Run("in GitHub Actions the output cannot issue workflow commands", func(t *testing.T) {
		h.env["GITHUB_ACTIONS"] = "true"
		defer delete(h.env, "GITHUB_ACTIONS")
		r := h.policyExpect(0, []string{"explain", id})
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		if !strings.HasPrefix(lines[0], "::stop-commands::") || lines[len(lines)-1] != "::"+strings.TrimPrefix(lines[0], "::stop-commands::")+"::" {
			t.Errorf("output not fenced:\n%s", r.out)
		}
	})
}

func TestPolicyTest(t *testing.T) {
	h := newHarness(t)
	h.initRepo()

	t.Run("init scaffolds tests that pass against the default policy", func(t *testing.T) {
		h.policyExpect(0, []string{"test"}, "22 case(s) against policies/default.yaml: 0 failed")
	})

	t.Run("without test files it says where they go", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(h.dir, policytest.Dir)); err != nil {
			t.Fatal(err)
		}
		h.policyExpect(1, []string{"test"}, "policy test: no test files in policies/tests/")
	})

	for path, content := range policytest.DefaultTests() {
		h.writeFile(path, string(content))
	}

	t.Run("the default tests pass against the default policy", func(t *testing.T) {
		r := h.policyExpect(0, []string{"test"}, "ok    fill an empty job title from a confident source  (auto, enrichment-fill-empty)",
			"22 case(s) against policies/default.yaml: 0 failed")
		if strings.Contains(r.out, "note:") {
			t.Errorf("uncovered rules:\n%s", r.out)
		}
	})

	t.Run("a policy change in the checkout that breaks a case fails with a readable diff", func(t *testing.T) {
		orig := readFile(t, filepath.Join(h.dir, policy.Path))
		h.writeFile(policy.Path, strings.Replace(orig, "min_confidence: 0.9}", "min_confidence: 0.95}", 1))
		defer h.writeFile(policy.Path, orig)
		line := policyLineOf(t, filepath.Join(h.dir, policytest.Dir, "default.yaml"), "name: fill an empty field at exactly the confidence threshold")
		h.policyExpect(3, []string{"test"},
			fmt.Sprintf(`FAIL  policies/tests/default.yaml:%d: case "fill an empty field at exactly the confidence threshold": want auto (enrichment-fill-empty), got review (default)`, line),
			"        enrichment-fill-empty: confidence 0.9 is below 0.95\n        no rule matched: the policy's default is review",
			"22 case(s) against policies/default.yaml: 1 failed")

		var out policyTestJSON
		r := h.policyExpect(3, []string{"test", "--json"})
		if err := json.Unmarshal([]byte(r.out), &out); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.out)
		}
		if out.Failed != 1 || len(out.Cases) != 22 || out.Policy != policy.Path {
			t.Errorf("JSON %+v", out)
		}
		forks := 0
		for _, c := range out.Cases {
			if c.FromFork && c.Proposer == "alice" && c.GotRule == policy.RuleInvariantProposer {
				forks++
			}
			if !c.Pass && (c.Want != "auto" || c.Got != "review" || c.GotRule != "default" || c.File != "policies/tests/default.yaml" || c.Line == 0 || len(c.Why) == 0) {
				t.Errorf("failed case %+v", c)
			}
		}
		if forks != 1 {
			t.Errorf("%d cases decided as proposed by alice from a fork, want 1", forks)
		}
	})

	t.Run("--policy tests another file", func(t *testing.T) {
		p := h.writeFile("loose.yaml", strings.Replace(policy.Default, "    when: {kind: email_verification}\n    decision: review", "    when: {kind: email_verification}\n    decision: auto", 1))
		h.policyExpect(3, []string{"test", "--policy", p},
			`case "mark an email risky": want review (email-risky), got auto (email-risky)`,
			"email-risky (line 35) matched and decided auto")
	})

	t.Run("a rule no case reaches is noted", func(t *testing.T) {
		p := h.writeFile("extra.yaml", policy.Default+"  - name: zapier\n    when: {source: zapier}\n    decision: deny\n")
		h.policyExpect(0, []string{"test", "--policy", p}, "note: no case reaches zapier")
	})

	t.Run("in GitHub Actions a failed case is annotated at its line", func(t *testing.T) {
		h.env["GITHUB_ACTIONS"] = "true"
		defer delete(h.env, "GITHUB_ACTIONS")
		p := h.writeFile("strict.yaml", strings.Replace(policy.Default, "min_confidence: 0.9}", "min_confidence: 0.95}", 1))
		line := policyLineOf(t, filepath.Join(h.dir, policytest.Dir, "default.yaml"), "name: fill an empty field at exactly the confidence threshold")
		r := h.policyExpect(3, []string{"test", "--policy", p},
			fmt.Sprintf(`::error file=policies/tests/default.yaml,line=%d,title=crmops policy test::case "fill an empty field at exactly the confidence threshold": want auto (enrichment-fill-empty), got review (default)`, line))
		if !strings.HasPrefix(r.out, "::stop-commands::") {
			t.Errorf("case output not fenced:\n%s", r.out)
		}
	})

	t.Run("a bad test file is an error naming its file, line and key", func(t *testing.T) {
		h.writeFile(policytest.Dir+"/zz-bad.yaml", "version: 1\ncases:\n  - name: x\n    change: {kind: custom, object: contacts, op: set, field: f, before: a, after: b, source: s, confidence: 1}\n    expect: sometimes\n")
		defer os.Remove(filepath.Join(h.dir, policytest.Dir, "zz-bad.yaml"))
		h.policyExpect(1, []string{"test"}, `policies/tests/zz-bad.yaml:5: cases[0].expect: unknown decision "sometimes" (auto, review or deny)`)
	})
}

func policyLineOf(t *testing.T, file, s string) int {
	t.Helper()
	for i, l := range strings.Split(readFile(t, file), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%s lacks %q", file, s)
	return 0
}

var policySeedStart = time.Date(2026, 10, 1, 6, 0, 0, 0, time.UTC)

// policySeed writes a history of n batches of 5 changes into the
// checkout, one every 6 hours: auto fills of confidence 0.90 to 0.99, every
// third batch approved overwrites, and the last one pending (no receipt).
func policySeed(t *testing.T, dir string, n int) {
	t.Helper()
	for i := range n {
		created := policySeedStart.Add(time.Duration(i) * 6 * time.Hour)
		var changes []batch.Change
		mode := batch.ModeAuto
		for j := range 5 {
			c := batch.Change{ID: fmt.Sprintf("c%d", j+1), Kind: "enrichment", Object: "contacts", Record: fmt.Sprint(1000 + i*10 + j),
				Op: "set", Field: "jobtitle", Before: "", After: "VP Sales", Source: "clay", Confidence: 0.9 + float64((i+j)%10)/100, Trigger: "import"}
			if i%3 == 2 {
				c.Before, mode = "Sales", batch.ModeApproved
			}
			changes = append(changes, c)
		}
		b := &batch.Batch{Version: 1, Created: created, Detector: "enrichment", Title: "fills", Changes: changes}
		b.ID = batch.NewID(created, "enrichment", changes)
		path := filepath.Join(dir, filepath.FromSlash(batch.Path(b.ID)))
		policyWriteFile(t, path, b)
		if i == n-1 {
			continue
		}
		rc := &batch.Receipt{Version: 1, Batch: b.ID, ExecutedBy: "crmops/test", Approval: batch.Approval{Mode: mode, Rules: []string{"enrichment-fill-empty"}}}
		if mode == batch.ModeApproved {
			rc.Approval.Rules = []string{"enrichment-overwrite"}
			rc.Approval.Approvers = []batch.Approver{{Login: "alice", At: created}}
		}
		for _, c := range changes {
			rc.Changes = append(rc.Changes, batch.ChangeResult{ID: c.ID, Status: "applied", After: c.After, At: created})
		}
		policyWriteFile(t, batch.ReceiptPath(path), rc)
	}
}

// policyAutoBelow95 counts the seeded auto changes below confidence 0.95 in
// batches created at or after since.
func policyAutoBelow95(n int, since time.Time) (changes, batches int) {
	for i := range n {
		if i%3 == 2 || i == n-1 || policySeedStart.Add(time.Duration(i)*6*time.Hour).Before(since) {
			continue
		}
		batches++
		for j := range 5 {
			if (i+j)%10 < 5 {
				changes++
			}
		}
	}
	return changes, batches
}

func policyWriteFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := batch.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPolicySimulate(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	policySeed(t, h.dir, 200)
	strict := h.writeFile("strict.yaml", strings.Replace(policy.Default, "min_confidence: 0.9}", "min_confidence: 0.95}", 1))

	t.Run("under the policy that decided the history nothing differs", func(t *testing.T) {
		var rep simulate.Report
		r := h.policyExpect(0, []string{"simulate", "--json"})
		if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.out)
		}
		if rep.Batches != 200 || rep.Changes != 1000 || rep.ToReview.Changes+rep.ToAuto.Changes+rep.Denied.Changes != 0 || rep.Policy != policy.Path {
			t.Errorf("report %+v", rep)
		}
	})

	t.Run("a stricter policy reports the auto changes it would send to review", func(t *testing.T) {
		var rep simulate.Report
		r := h.policyExpect(0, []string{"simulate", "--json", "--policy", strict, "--since", "2026-10-01", "--markdown", filepath.Join(h.dir, "report.md")})
		if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.out)
		}
		all, _ := policyAutoBelow95(200, time.Time{})
		if rep.ToReview.Changes != all || rep.ToReview.ByRule["default"] != all || rep.ToReview.ByKind["enrichment"] != all {
			t.Errorf("to review: %+v, want %d", rep.ToReview, all)
		}
		if md := readFile(t, filepath.Join(h.dir, "report.md")); !strings.Contains(md, "| Applied automatically, now **review** | "+fmt.Sprint(all)+" |") {
			t.Errorf("report.md:\n%s", md)
		}
	})

	t.Run("--since replays only the batches created since", func(t *testing.T) {
		since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		var rep simulate.Report
		r := h.policyExpect(0, []string{"simulate", "--json", "--policy", strict, "--since", "2026-11-01T00:00:00Z"})
		if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		batches := 0
		for i := range 200 {
			if !policySeedStart.Add(time.Duration(i) * 6 * time.Hour).Before(since) {
				batches++
			}
		}
		changes, _ := policyAutoBelow95(200, since)
		if rep.Batches != batches || rep.Since != "2026-11-01T00:00:00Z" || rep.ToReview.Changes != changes || batches == 200 || batches == 0 {
			t.Errorf("%d batches since %s, %d to review; want %d, %d", rep.Batches, rep.Since, rep.ToReview.Changes, batches, changes)
		}
	})

	t.Run("the policy in the checkout is the proposed policy by default", func(t *testing.T) {
		orig := readFile(t, filepath.Join(h.dir, policy.Path))
		h.writeFile(policy.Path, readFile(t, strict))
		defer h.writeFile(policy.Path, orig)
		h.policyExpect(0, []string{"simulate"}, "replayed 200 batch(es), 1,000 change(s), under policies/default.yaml",
			"applied automatically, now review:", "  by rule: default ")
	})

	t.Run("in GitHub Actions the Markdown goes to the job summary", func(t *testing.T) {
		summary := filepath.Join(t.TempDir(), "summary.md")
		h.env["GITHUB_STEP_SUMMARY"] = summary
		defer delete(h.env, "GITHUB_STEP_SUMMARY")
		h.policyExpect(0, []string{"simulate", "--policy", strict})
		if md := readFile(t, summary); !strings.HasPrefix(md, "## crmops policy simulate\n") {
			t.Errorf("summary:\n%s", md)
		}
	})

	t.Run("a --since that is not a date is a usage error", func(t *testing.T) {
		h.policyExpect(2, []string{"simulate", "--since", "last week"}, `--since "last week": want a date like 2026-01-31`)
	})
}

// simulate decides each batch for who proposed it, as the history's merges
// record it: the author of the proposal's first commit.
func TestPolicySimulateReadsWhoProposedFromTheHistory(t *testing.T) {
	h := newHarness(t)
	if err := seedHistory(h, 12); err != nil {
		t.Fatal(err)
	}
	changes := 12 * benchChanges
	simulateJSON := func(t *testing.T, proposers ...string) simulate.Report {
		t.Helper()
		p := h.writeFile("github.yaml", policy.DefaultFor(proposers))
		var rep simulate.Report
		r := h.policyExpect(0, []string{"simulate", "--json", "--policy", p})
		if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.out)
		}
		if rep.Batches != 12 || rep.Changes != changes || rep.UnknownProposers != 0 {
			t.Fatalf("%d batches, %d changes, %d without a proposer", rep.Batches, rep.Changes, rep.UnknownProposers)
		}
		return rep
	}

	t.Run("a policy trusting the identity that proposed them decides nothing differently", func(t *testing.T) {
		if rep := simulateJSON(t, "crmops"); rep.ToReview.Changes+rep.ToAuto.Changes+rep.Denied.Changes != 0 {
			t.Errorf("differences: %+v", rep.ToReview)
		}
	})

	t.Run("a policy trusting another identity sends every auto change to review, naming the proposer", func(t *testing.T) {
		rep := simulateJSON(t, "github-actions[bot]")
		if rep.ToReview.Changes != changes || rep.ToReview.ByRule[policy.RuleDefault] != changes {
			t.Errorf("to review %d (%v), want %d by default", rep.ToReview.Changes, rep.ToReview.ByRule, changes)
		}
		for _, e := range rep.ToReview.Examples {
			if e.Proposer != "crmops" || e.Was != "auto" {
				t.Errorf("example %+v", e)
			}
		}
	})
}
