package doctor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/doctor"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/policytest"
)

const configWithDetectors = `version: 1
crm:
  kind: sqlite
detectors:
  enrichment:
    input: data/clay.csv
    source: clay
  lifecycle:
    events:
      input: data/events.jsonl
      map: {demo_booked: salesqualifiedlead}
    scores: {input: data/scores.csv, thresholds: {marketingqualifiedlead: 50}, source: madkudu}
  owner:
    owners: {input: data/owners.csv}
  dedup: {}
`

func parse(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(config.File, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDetectorsAreListedInFileOrderAtTheirKeys(t *testing.T) {
	cfg := parse(t, configWithDetectors)
	list := doctor.Detectors([]byte(configWithDetectors), cfg.Detectors, cfg.Pos.KeyLine("detectors"))
	var got []string
	for _, d := range list {
		got = append(got, fmt.Sprintf("%s:%d", d.Name, d.Line))
	}
	if want := "enrichment:5 lifecycle:8 owner:13 dedup:15"; strings.Join(got, " ") != want {
		t.Errorf("detectors %v, want %s", got, want)
	}
	// Without the file's text every entry is still listed, at detectors:.
	list = doctor.Detectors(nil, cfg.Detectors, cfg.Pos.KeyLine("detectors"))
	if len(list) != 4 || list[0].Name != "dedup" || list[0].Line != 4 {
		t.Errorf("without the source: %+v", list)
	}
}

func TestAnUnknownDetectorIsRefusedAtItsLineWithTheLikelyName(t *testing.T) {
	cfg := parse(t, configWithDetectors)
	list := doctor.Detectors([]byte(configWithDetectors), cfg.Detectors, 0)
	known := []string{"dedupe", "email_verification", "enrichment", "lifecycle", "owner"}
	var built []string
	err := doctor.ValidateDetectors(config.File, list, known, func(name string, n *yaml.Node) error {
		if n == nil || n.Kind != yaml.MappingNode {
			t.Errorf("%s: settings %+v", name, n)
		}
		built = append(built, name)
		return nil
	})
	want := `crmops.yaml:15: detectors.dedup: unknown detector (known: dedupe, email_verification, enrichment, lifecycle, owner); did you mean "dedupe"?`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	if strings.Join(built, " ") != "enrichment lifecycle owner" {
		t.Errorf("built %v before the unknown one", built)
	}
	// What a detector says about its settings is the error.
	bad := errors.New("crmops.yaml:6: detectors.enrichment.match_no: unknown key")
	err = doctor.ValidateDetectors(config.File, list, known, func(name string, _ *yaml.Node) error {
		if name == "enrichment" {
			return bad
		}
		return nil
	})
	if err != bad {
		t.Errorf("error %v, want the detector's", err)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"dedupe", "email_verification", "enrichment", "lifecycle", "owner"}
	for name, want := range map[string]string{
		"dedup": "dedupe", "Enrichment": "enrichment", "email-verification": "email_verification",
		"lifecyle": "lifecycle", "owners": "owner", "scoring": "", "x": "",
	} {
		if got := doctor.Suggest(name, known); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestEveryInputFileIsCheckedAtTheKeyNamingIt(t *testing.T) {
	cfg := parse(t, configWithDetectors)
	inputs := doctor.Inputs(doctor.Detectors([]byte(configWithDetectors), cfg.Detectors, 0))
	var got []string
	for _, in := range inputs {
		got = append(got, fmt.Sprintf("%d %s=%s", in.Line, in.Key, in.Path))
	}
	want := []string{
		"6 detectors.enrichment.input=data/clay.csv",
		"10 detectors.lifecycle.events.input=data/events.jsonl",
		"12 detectors.lifecycle.scores.input=data/scores.csv",
		"14 detectors.owner.owners.input=data/owners.csv",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("inputs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	dir := t.TempDir()
	for _, p := range []string{"data/events.jsonl", "data/scores.csv"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "data/owners.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	stat := func(p string) (fs.FileInfo, error) { return os.Stat(filepath.Join(dir, p)) }
	c := doctor.CheckInputs(config.File, inputs, stat)
	wantDetail := "crmops.yaml:6: detectors.enrichment.input: data/clay.csv: no such file; " +
		"crmops.yaml:14: detectors.owner.owners.input: data/owners.csv: is a directory, not a file"
	if c.OK || c.Detail != wantDetail {
		t.Errorf("check %+v\nwant detail %s", c, wantDetail)
	}
	if c := doctor.CheckInputs(config.File, inputs[1:3], stat); !c.OK {
		t.Errorf("present inputs: %+v", c)
	}
	if c := doctor.CheckInputs(config.File, nil, stat); !c.OK {
		t.Errorf("no inputs: %+v", c)
	}
}

// tree is a commit's files, for Policy.
type tree map[string]string

func (t tree) ReadFile(p string) ([]byte, error) {
	if s, ok := t[p]; ok {
		return []byte(s), nil
	}
	return nil, fmt.Errorf("read %s: %w", p, fs.ErrNotExist)
}

func (t tree) ListFiles(dir string) ([]string, error) {
	var out []string
	for p := range t {
		if strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	return out, nil
}

func defaultTree() tree {
	t := tree{policy.Path: policy.Default}
	for p, data := range policytest.DefaultTests() {
		t[p] = string(data)
	}
	return t
}

func TestPolicyOnTheBaseBranchLoadsAndItsTestsPass(t *testing.T) {
	t.Run("the defaults pass", func(t *testing.T) {
		c := doctor.Policy(defaultTree(), "origin/main")
		if !c.OK || !strings.Contains(c.Detail, "test case(s) pass") {
			t.Errorf("%+v", c)
		}
	})
	t.Run("a failing case is named at its line", func(t *testing.T) {
		tr := defaultTree()
		tr[policytest.Dir+"/zz-broken.yaml"] = "version: 1\ncases:\n  - name: overwrites are auto\n" +
			"    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: Sales, after: VP Sales, source: clay, confidence: 0.99, trigger: import}\n" +
			"    expect: auto\n"
		tr[policytest.Dir+"/nested/ignored.yaml"] = "not: a test file"
		c := doctor.Policy(tr, "origin/main")
		if c.OK || !strings.Contains(c.Detail, "1 of ") || !strings.Contains(c.Detail, "policies/tests/zz-broken.yaml:3") ||
			!strings.Contains(c.Detail, `"overwrites are auto"`) {
			t.Errorf("%+v", c)
		}
	})
	t.Run("a policy that does not load", func(t *testing.T) {
		tr := defaultTree()
		tr[policy.Path] = "version: 2\n"
		if c := doctor.Policy(tr, "origin/main"); c.OK || !strings.Contains(c.Detail, "policies/default.yaml:1: ") {
			t.Errorf("%+v", c)
		}
	})
	t.Run("no policy", func(t *testing.T) {
		if c := doctor.Policy(tree{}, "origin/main"); c.OK || !strings.Contains(c.Detail, "has no policies/default.yaml") {
			t.Errorf("%+v", c)
		}
	})
	t.Run("a duplicate case name across files", func(t *testing.T) {
		tr := defaultTree()
		tr[policytest.Dir+"/again.yaml"] = tr[policytest.Dir+"/default.yaml"]
		if c := doctor.Policy(tr, "origin/main"); c.OK || !strings.Contains(c.Detail, "duplicate case name") {
			t.Errorf("%+v", c)
		}
	})
}

type syncer struct {
	base gitrepo.Hash
	err  error
}

func (s syncer) Sync(context.Context) (gitrepo.Hash, error) { return s.base, s.err }

func TestRemote(t *testing.T) {
	h := gitrepo.BlobHash([]byte("x"))
	c, base := doctor.Remote(context.Background(), syncer{base: h}, "origin", "main", "https://x-access-token:ghs_secret@github.com/acme/crm.git")
	if !c.OK || base != h || strings.Contains(c.Detail, "ghs_secret") || !strings.Contains(c.Detail, "https://github.com/acme/crm.git") {
		t.Errorf("%+v", c)
	}
	c, base = doctor.Remote(context.Background(), syncer{err: errors.New("fetch from origin: repository not found")}, "origin", "main", "/tmp/gone.git")
	if c.OK || !base.IsZero() || c.Detail != "origin (/tmp/gone.git): fetch from origin: repository not found" {
		t.Errorf("%+v", c)
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestForge(t *testing.T) {
	gh := config.Forge{Kind: "github", Remote: "origin", TokenEnv: "GITHUB_TOKEN"}
	c := doctor.Forge(gh, "", nil, env(nil))
	if c.OK || !strings.Contains(c.Detail, "$GITHUB_TOKEN (forge.token_env) is not set") || !strings.Contains(c.Detail, "$GITHUB_REPOSITORY is not set") {
		t.Errorf("%+v", c)
	}
	c = doctor.Forge(gh, "", nil, env(map[string]string{"GITHUB_TOKEN": "ghp_value", "GITHUB_REPOSITORY": "acme/crm"}))
	if !c.OK || strings.Contains(c.Detail, "ghp_value") {
		t.Errorf("%+v", c)
	}
	c = doctor.Forge(gh, "", nil, env(map[string]string{"GITHUB_TOKEN": "ghp_value", "GITHUB_REPOSITORY": "acme"}))
	if c.OK || !strings.Contains(c.Detail, `"acme", not owner/repo`) {
		t.Errorf("%+v", c)
	}

	local := config.Forge{Kind: "local", Remote: "origin"}
	dir := t.TempDir()
	if c := doctor.Forge(local, dir, nil, env(nil)); !c.OK {
		t.Errorf("%+v", c)
	}
	if c := doctor.Forge(local, filepath.Join(dir, "gone.git"), nil, env(nil)); c.OK || !strings.Contains(c.Detail, "does not exist") {
		t.Errorf("%+v", c)
	}
	if c := doctor.Forge(local, "", errors.New(`remote "origin" not found`), env(nil)); c.OK || !strings.Contains(c.Detail, "not configured") {
		t.Errorf("%+v", c)
	}
}

// connector is a CRM whose reads fail with err.
type connector struct {
	crm.Connector
	err    error
	gets   int
	closed bool
}

func (c *connector) Get(context.Context, string, []string, []string) (map[string]crm.Record, error) {
	c.gets++
	return nil, c.err
}

func (c *connector) Close() error { c.closed = true; return nil }

func TestCRM(t *testing.T) {
	ctx := context.Background()
	hubspot := parse(t, "version: 1\ncrm:\n  kind: hubspot\n")
	t.Run("hubspot without its token is not even opened", func(t *testing.T) {
		c := doctor.CRM(ctx, hubspot, env(nil), "", func() (crm.Connector, error) {
			t.Fatal("opened")
			return nil, nil
		})
		if c.OK || c.Detail != "hubspot: $HUBSPOT_TOKEN (crm.token_env) is not set; set it to a private app's access token" {
			t.Errorf("%+v", c)
		}
	})
	t.Run("hubspot with a token is read", func(t *testing.T) {
		conn := &connector{}
		c := doctor.CRM(ctx, hubspot, env(map[string]string{"HUBSPOT_TOKEN": "secret-value-123"}), "", func() (crm.Connector, error) { return conn, nil })
		if !c.OK || conn.gets != 1 || !conn.closed {
			t.Errorf("%+v, %d reads, closed %v", c, conn.gets, conn.closed)
		}
	})
	t.Run("a failed read says why, and Scrub removes a token an answer quoted", func(t *testing.T) {
		conn := &connector{err: errors.New("401: token secret-value-123 is invalid")}
		checks := []doctor.Check{doctor.CRM(ctx, hubspot, env(map[string]string{"HUBSPOT_TOKEN": "secret-value-123"}), "", func() (crm.Connector, error) { return conn, nil })}
		doctor.Scrub(checks, "secret-value-123", "")
		if checks[0].OK || checks[0].Detail != "hubspot: reading contacts failed: 401: token *** is invalid" {
			t.Errorf("%+v", checks[0])
		}
	})
	t.Run("salesforce names every variable it lacks", func(t *testing.T) {
		sf := parse(t, "version: 1\ncrm:\n  kind: salesforce\n  instance_url: https://acme.my.salesforce.com\n  client_id_env: SF_ID\n  client_secret_env: SF_SECRET\n")
		c := doctor.CRM(ctx, sf, env(map[string]string{"SF_ID": "id"}), "", nil)
		if c.OK || !strings.Contains(c.Detail, "$SF_SECRET") || strings.Contains(c.Detail, "$SF_ID") {
			t.Errorf("%+v", c)
		}
	})
	t.Run("sqlite without a database does not create one", func(t *testing.T) {
		sq := parse(t, "version: 1\ncrm:\n  kind: sqlite\n")
		p := filepath.Join(t.TempDir(), "crm.db")
		c := doctor.CRM(ctx, sq, env(nil), p, func() (crm.Connector, error) {
			t.Fatal("opened")
			return nil, nil
		})
		if c.OK || !strings.Contains(c.Detail, "no database at .crmops/crm.db") {
			t.Errorf("%+v", c)
		}
		if _, err := os.Stat(p); err == nil {
			t.Error("the database was created")
		}
	})
}

func TestWorkflows(t *testing.T) {
	good := "name: crmops\non: {push: {branches: [main]}}\njobs:\n  check: {runs-on: ubuntu-latest, steps: [{run: crmops check}]}\n"
	if c := doctor.Workflows(fstest.MapFS{}); !c.OK {
		t.Errorf("no workflows: %+v", c)
	}
	if c := doctor.Workflows(fstest.MapFS{".github/workflows/a.yml": {Data: []byte(good)}, ".github/workflows/b.yaml": {Data: []byte(good)}}); !c.OK || c.Detail != "a.yml, b.yaml parse as workflows" {
		t.Errorf("good workflows: %+v", c)
	}
	c := doctor.Workflows(fstest.MapFS{
		".github/workflows/a.yml":   {Data: []byte(good)},
		".github/workflows/bad.yml": {Data: []byte("on: push\njobs:\n  x: [\n")},
		".github/workflows/no.yml":  {Data: []byte("name: x\non: push\n")},
	})
	if c.OK || !strings.Contains(c.Detail, ".github/workflows/bad.yml:") || !strings.Contains(c.Detail, "invalid YAML") ||
		!strings.Contains(c.Detail, ".github/workflows/no.yml:1: not a workflow: no jobs:") {
		t.Errorf("bad workflows: %+v", c)
	}
}

func TestAgents(t *testing.T) {
	cfg := parse(t, config.Default)
	if c := doctor.Agents(config.File, cfg.Agents); !c.OK || !strings.Contains(c.Detail, "assistant (reads 2") {
		t.Errorf("%+v", c)
	}
	cfg = parse(t, "version: 1\ncrm: {kind: sqlite}\nagents:\n  idle:\n    max_changes_per_hour: 5\n")
	if c := doctor.Agents(config.File, cfg.Agents); c.OK || c.Detail != "crmops.yaml:5: agents.idle: agent idle may do nothing: give it read:, propose: or merge:" {
		t.Errorf("%+v", c)
	}
	if c := doctor.Agents(config.File, nil); !c.OK {
		t.Errorf("%+v", c)
	}
}

func TestPrint(t *testing.T) {
	checks := []doctor.Check{
		doctor.Pass(doctor.NameConfig, "fine"),
		doctor.Fail(doctor.NameCRM, "broken\x1b[2J"),
		doctor.Skip(doctor.NameAgents, "no configuration"),
	}
	var plain, fancy bytes.Buffer
	doctor.Print(&plain, checks, false)
	want := "ok   configuration:   fine\n" +
		"FAIL crm:             broken⟨U+001B⟩[2J\n" +
		"skip agents:          skipped: no configuration\n" +
		"3 check(s), 1 failed, 1 skipped\n"
	if plain.String() != want {
		t.Errorf("plain:\n%s\nwant:\n%s", plain.String(), want)
	}
	doctor.Print(&fancy, checks, true)
	if !strings.Contains(fancy.String(), "✓") || !strings.Contains(fancy.String(), "✗") || strings.Contains(fancy.String(), "FAIL") {
		t.Errorf("fancy:\n%s", fancy.String())
	}
	if doctor.Failed(checks) != 1 {
		t.Errorf("Failed = %d", doctor.Failed(checks))
	}
}

func TestConfiguration(t *testing.T) {
	cfg := parse(t, configWithDetectors)
	if c := doctor.Configuration(config.File, cfg, nil); !c.OK || c.Detail != "crmops.yaml is valid: crm sqlite, forge local, detectors dedup, enrichment, lifecycle, owner" {
		t.Errorf("%+v", c)
	}
	if c := doctor.Configuration(config.File, nil, errors.New("crmops.yaml:3: x:\nunknown key")); c.OK || c.Detail != "crmops.yaml:3: x: unknown key" {
		t.Errorf("%+v", c)
	}
}
