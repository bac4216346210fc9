package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/doctor"
	"github.com/crmops/crmops/internal/policytest"
	"github.com/crmops/crmops/internal/workspace"
)

// execute runs one command line as crmops would.
func execute(f *factory, argv []string) int { return run(context.Background(), f, argv) }

// runArgv runs a command line exactly as given (no --repo added), with the
// harness's environment and clock.
func (h *harness) runArgv(argv ...string) result {
	h.t.Helper()
	var out, errOut bytes.Buffer
	f := newFactory(strings.NewReader(""), &out, &errOut, func(k string) string { return h.env[k] })
	f.now = func() time.Time { h.clock = h.clock.Add(time.Second); return h.clock }
	code := execute(f, argv)
	return result{out: out.String(), err: errOut.String(), code: code}
}

// doctor runs crmops doctor on the harness's repository.
func (h *harness) doctor(argv ...string) result {
	h.t.Helper()
	return h.runArgv(append([]string{"--repo", h.dir, "doctor"}, argv...)...)
}

// doctorChecks runs crmops doctor --json and returns its checks by name.
func (h *harness) doctorChecks(wantCode int) map[string]doctor.Check {
	h.t.Helper()
	r := h.doctor("--json")
	if r.code != wantCode {
		h.t.Fatalf("crmops doctor --json: exit %d, want %d\nstdout: %s\nstderr: %s", r.code, wantCode, r.out, r.err)
	}
	var out doctorJSON
	if err := json.Unmarshal([]byte(r.out), &out); err != nil {
		h.t.Fatalf("doctor --json: %v\n%s", err, r.out)
	}
	if out.OK != (wantCode == 0) || out.Failed != doctor.Failed(out.Checks) {
		h.t.Errorf("doctor --json: ok %v, failed %d: %s", out.OK, out.Failed, r.out)
	}
	byName := map[string]doctor.Check{}
	for _, c := range out.Checks {
		byName[c.Name] = c
	}
	return byName
}

// allChecks are the checks doctor runs, in its order.
var allChecks = []string{doctor.NameConfig, doctor.NameRemote, doctor.NamePolicy, doctor.NameForge, doctor.NameCRM,
	doctor.NameInputs, doctor.NameWorkflows, doctor.NameAgents}

// goodRepo is a repository made by crmops init with records in its CRM.
func goodRepo(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.initRepo()
	h.importCSV("contacts", "id,email,jobtitle\n1,ann@acme.com,\n2,bob@acme.com,CTO\n")
	return h
}

// failing asserts that check name failed with a detail mentioning every
// want, and returns it.
func failing(t *testing.T, checks map[string]doctor.Check, name string, want ...string) doctor.Check {
	t.Helper()
	c, ok := checks[name]
	if !ok {
		t.Fatalf("no %s check in %+v", name, checks)
	}
	if c.OK || c.Skipped {
		t.Errorf("%s: %+v, want it failed", name, c)
	}
	for _, w := range want {
		if !strings.Contains(c.Detail, w) {
			t.Errorf("%s: detail %q lacks %q", name, c.Detail, w)
		}
	}
	return c
}

func passing(t *testing.T, checks map[string]doctor.Check, names ...string) {
	t.Helper()
	for _, n := range names {
		if c, ok := checks[n]; !ok || !c.OK {
			t.Errorf("%s: %+v, want it passed", n, c)
		}
	}
}

func TestDoctorPassesEveryCheckOnAFreshRepository(t *testing.T) {
	h := goodRepo(t)
	h.writeFile(".github/workflows/crmops.yml", "name: crmops\non:\n  pull_request:\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - run: crmops check\n")
	r := h.doctor()
	if r.code != 0 {
		t.Fatalf("doctor: exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
	}
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if len(lines) != len(allChecks)+1 {
		t.Fatalf("doctor printed %d lines, want one per check and a summary:\n%s", len(lines), r.out)
	}
	for i, name := range allChecks {
		if !strings.HasPrefix(lines[i], "ok   "+name+":") {
			t.Errorf("line %d: %q, want check %s ok", i+1, lines[i], name)
		}
	}
	if lines[len(lines)-1] != fmt.Sprintf("%d check(s), 0 failed", len(allChecks)) {
		t.Errorf("summary %q", lines[len(lines)-1])
	}
	for _, w := range []string{"origin (", "main is at", "policies/default.yaml on origin/main loads; its", "sqlite: .crmops/crm.db holds 2 contacts", "crmops.yml parse as workflows", "assistant (reads 2"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("doctor output lacks %q:\n%s", w, r.out)
		}
	}
	checks := h.doctorChecks(0)
	passing(t, checks, allChecks...)
	if len(checks) != len(allChecks) {
		t.Errorf("doctor --json: %d checks, want %d", len(checks), len(allChecks))
	}
}

func TestDoctorOnAnEmptyCRMSaysToImport(t *testing.T) {
	h := newHarness(t)
	h.initRepo() // crmops init alone: no database yet
	failing(t, h.doctorChecks(1), doctor.NameCRM, "no database at .crmops/crm.db", "crmops crm import")
	if _, err := os.Stat(filepath.Join(h.dir, ".crmops", "crm.db")); err == nil {
		t.Error("doctor created the database")
	}
}

// withDetectors replaces crmops.yaml's detectors: {} with detectors, in
// the checkout, and returns the line (1-based) of the first line of the
// file containing mark.
func withDetectors(t *testing.T, h *harness, detectors, mark string) int {
	t.Helper()
	cfg := readFile(t, filepath.Join(h.dir, config.File))
	if !strings.Contains(cfg, "detectors: {}\n") {
		t.Fatalf("crmops.yaml has no detectors: {}:\n%s", cfg)
	}
	cfg = strings.Replace(cfg, "detectors: {}\n", detectors, 1)
	h.writeFile(config.File, cfg)
	for i, line := range strings.Split(cfg, "\n") {
		if strings.Contains(line, mark) {
			return i + 1
		}
	}
	t.Fatalf("no %q in crmops.yaml", mark)
	return 0
}

const enrichmentTypo = "detectors:\n  enrichment:\n    input: data/clay.csv\n    source: clay\n    match_no: email\n"

func TestEveryCommandRefusesAMistypedDetectorKeyAtItsLine(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	line := withDetectors(t, h, enrichmentTypo, "match_no:")
	want := fmt.Sprintf("crmops.yaml:%d: detectors.enrichment.match_no: unknown key", line)
	r := h.expect(exitError, "", []string{"review", "list"}, want)
	if strings.Count(strings.TrimSuffix(r.err, "\n"), "\n") != 0 {
		t.Errorf("the error is not one line: %q", r.err)
	}
	for _, argv := range [][]string{{"policy", "test"}, {"apply"}, {"detect", "--dry-run"}} {
		h.expect(exitError, "", argv, want)
	}
}

func TestAnUnknownDetectorIsRefusedAtItsLineWithTheNameMeant(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	line := withDetectors(t, h, "detectors:\n  dedup:\n    min_confidence: 0.9\n", "dedup:")
	h.expect(exitError, "", []string{"review", "list"},
		fmt.Sprintf("crmops.yaml:%d: detectors.dedup: unknown detector (known: dedupe, email_verification, enrichment, lifecycle, owner); did you mean \"dedupe\"?", line))
}

func TestDoctorNamesAMistypedDetectorKey(t *testing.T) {
	h := goodRepo(t)
	line := withDetectors(t, h, enrichmentTypo, "match_no:")
	r := h.doctor()
	if r.code != exitError {
		t.Fatalf("doctor: exit %d, want 1\n%s%s", r.code, r.out, r.err)
	}
	if want := fmt.Sprintf("FAIL configuration:   crmops.yaml:%d: detectors.enrichment.match_no: unknown key", line); !strings.Contains(r.out, want) {
		t.Errorf("doctor output lacks %q:\n%s", want, r.out)
	}
	// The rest of the repository is still checked.
	checks := h.doctorChecks(1)
	passing(t, checks, doctor.NameRemote, doctor.NamePolicy, doctor.NameForge, doctor.NameCRM, doctor.NameAgents)
	failing(t, checks, doctor.NameInputs, fmt.Sprintf("crmops.yaml:%d: detectors.enrichment.input: data/clay.csv: no such file", line-2))
}

func TestDoctorNamesAMissingInputFileByItsKey(t *testing.T) {
	h := goodRepo(t)
	line := withDetectors(t, h, "detectors:\n  enrichment:\n    input: data/clay.csv\n    source: clay\n  email_verification:\n    input: data/zb.csv\n    format: zerobounce\n", "input: data/clay.csv")
	h.writeFile("data/zb.csv", "email,status\n")
	checks := h.doctorChecks(1)
	passing(t, checks, doctor.NameConfig)
	c := failing(t, checks, doctor.NameInputs, fmt.Sprintf("crmops.yaml:%d: detectors.enrichment.input: data/clay.csv: no such file", line))
	if strings.Contains(c.Detail, "zb.csv") {
		t.Errorf("an input that is there is reported: %s", c.Detail)
	}
	h.writeFile("data/clay.csv", "email,jobtitle\n")
	passing(t, h.doctorChecks(0), doctor.NameInputs)
}

func TestDoctorNamesAFailingPolicyTestOnTheBaseBranch(t *testing.T) {
	h := goodRepo(t)
	h.pushToMain("a policy test that fails\n", map[string]string{"policies/tests/broken.yaml": "version: 1\ncases:\n" +
		"  - name: an overwrite is auto\n" +
		"    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: Sales, after: VP Sales, source: clay, confidence: 0.99, trigger: import}\n" +
		"    expect: auto\n"})
	r := h.doctor()
	if r.code != exitError || !strings.Contains(r.out, "FAIL policy:") {
		t.Fatalf("doctor: exit %d\n%s%s", r.code, r.out, r.err)
	}
	failing(t, h.doctorChecks(1), doctor.NamePolicy, "policies/tests/broken.yaml:3", `"an overwrite is auto"`, "want auto", "on origin/main")
}

func TestDoctorNamesADeletedRemote(t *testing.T) {
	h := goodRepo(t)
	remote := filepath.Join(h.dir, workspace.LocalRemote)
	if err := os.RemoveAll(remote); err != nil {
		t.Fatal(err)
	}
	checks := h.doctorChecks(1)
	failing(t, checks, doctor.NameRemote, "origin ("+remote+")", "fetch from origin")
	failing(t, checks, doctor.NameForge, "local: the remote origin is "+remote+", which does not exist")
	// The policy is read from the local base branch instead.
	c := checks[doctor.NamePolicy]
	if !c.OK || !strings.Contains(c.Detail, "(local; the remote did not answer)") {
		t.Errorf("policy: %+v", c)
	}
}

func TestDoctorWithAConfigurationThatDoesNotLoad(t *testing.T) {
	h := goodRepo(t)
	cfg := readFile(t, filepath.Join(h.dir, config.File))
	h.writeFile(config.File, strings.Replace(cfg, "version: 1", "version: 7", 1))
	r := h.doctor()
	if r.code != exitError || !strings.Contains(r.out, "FAIL configuration:") || !strings.Contains(r.out, "unsupported version 7") {
		t.Fatalf("doctor: exit %d\n%s%s", r.code, r.out, r.err)
	}
	checks := h.doctorChecks(1)
	for _, n := range allChecks[1:] {
		if c := checks[n]; !c.Skipped {
			t.Errorf("%s: %+v, want skipped", n, c)
		}
	}
}

func TestDoctorOnHubSpot(t *testing.T) {
	h := newHarness(t)
	h.crm = "hubspot"
	h.initRepo()
	t.Run("the token works", func(t *testing.T) {
		r := h.doctor()
		if !strings.Contains(r.out, "ok   crm:             hubspot: connected and read contacts") {
			t.Errorf("doctor:\n%s%s", r.out, r.err)
		}
		if strings.Contains(r.out+r.err, h.env["HUBSPOT_TOKEN"]) {
			t.Errorf("the token is printed:\n%s%s", r.out, r.err)
		}
	})
	t.Run("the token variable is not set", func(t *testing.T) {
		saved := h.env["HUBSPOT_TOKEN"]
		delete(h.env, "HUBSPOT_TOKEN")
		defer func() { h.env["HUBSPOT_TOKEN"] = saved }()
		r := h.doctor()
		if r.code != exitError || !strings.Contains(r.out, "FAIL crm:             hubspot: $HUBSPOT_TOKEN (crm.token_env) is not set") {
			t.Errorf("doctor: exit %d\n%s%s", r.code, r.out, r.err)
		}
	})
	t.Run("a wrong token is never printed", func(t *testing.T) {
		saved := h.env["HUBSPOT_TOKEN"]
		h.env["HUBSPOT_TOKEN"] = "secret-value-123"
		defer func() { h.env["HUBSPOT_TOKEN"] = saved }()
		r := h.doctor()
		if r.code != exitError || !strings.Contains(r.out, "FAIL crm:") {
			t.Errorf("doctor: exit %d\n%s%s", r.code, r.out, r.err)
		}
		j := h.doctor("--json")
		for _, out := range []string{r.out, r.err, j.out, j.err} {
			if strings.Contains(out, "secret-value-123") {
				t.Errorf("the token's value is printed:\n%s", out)
			}
		}
	})
}

func TestDoctorOnGitHubNeverPrintsTheToken(t *testing.T) {
	h := newHarness(t)
	h.forge = "github"
	h.initRepo()
	// The harness trusts crmops-bot in the policy; crmops init --forge
	// github --login crmops-bot writes the tests to go with it.
	tests := map[string]string{}
	for p, data := range policytest.DefaultTestsFor([]string{"crmops-bot"}) {
		tests[p] = string(data)
	}
	h.pushToMain("policy tests for the bot\n", tests)
	h.importCSV("contacts", "id,email\n1,ann@acme.com\n")
	r := h.doctor()
	if r.code != 0 || !strings.Contains(r.out, "github: acme/crm-changes, token in $GITHUB_TOKEN") {
		t.Errorf("doctor: exit %d\n%s%s", r.code, r.out, r.err)
	}
	delete(h.env, "GITHUB_TOKEN")
	delete(h.env, "GITHUB_REPOSITORY")
	failing(t, h.doctorChecks(1), doctor.NameForge, "$GITHUB_TOKEN (forge.token_env) is not set", "$GITHUB_REPOSITORY is not set")
	if strings.Contains(r.out+r.err, "tok-crmops-bot") {
		t.Errorf("the token is printed:\n%s%s", r.out, r.err)
	}
}

func TestDoctorOnSalesforce(t *testing.T) {
	h, _ := salesforceRepo(t)
	checks := h.doctorChecks(1) // the detectors' input files are not there yet
	passing(t, checks, doctor.NameConfig, doctor.NameRemote, doctor.NamePolicy, doctor.NameForge, doctor.NameCRM)
	failing(t, checks, doctor.NameInputs, "detectors.lifecycle.events.input: data/events.jsonl: no such file")
	r := h.doctor()
	if strings.Contains(r.out+r.err, "sf-secret-token") {
		t.Errorf("the token is printed:\n%s%s", r.out, r.err)
	}
	delete(h.env, "SALESFORCE_TOKEN")
	failing(t, h.doctorChecks(1), doctor.NameCRM, "$SALESFORCE_TOKEN (crm.token_env) is not set")
}

func TestDoctorChecksTheWorkflows(t *testing.T) {
	h := goodRepo(t)
	h.writeFile(".github/workflows/broken.yml", "on: push\njobs:\n  x: [\n")
	failing(t, h.doctorChecks(1), doctor.NameWorkflows, ".github/workflows/broken.yml", "invalid YAML")
}
