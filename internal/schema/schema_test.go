package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/detect/detectors"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/policytest"
	"github.com/crmops/crmops/internal/sample"
	"github.com/crmops/crmops/internal/schema"
)

// root is the repository root, from this package's directory.
const root = "../.."

// format is a file format: its schema and the decoder crmops reads it with.
type format struct {
	schema string
	decode func(name string, data []byte) error
}

// formats are crmops's file formats. Batch and receipt files are decoded
// without their file name: that the id matches the name is a check the
// schema cannot express.
var formats = []format{
	{schema.Batch, func(_ string, d []byte) error { _, err := batch.Decode("", d); return err }},
	{schema.Receipt, func(_ string, d []byte) error { _, err := batch.DecodeReceipt("", d); return err }},
	{schema.Rejection, func(_ string, d []byte) error { _, err := batch.DecodeRejection("", d); return err }},
	{schema.Policy, func(n string, d []byte) error { _, err := policy.Load(n, d); return err }},
	{schema.PolicyTest, func(n string, d []byte) error { _, err := policytest.Decode(n, d); return err }},
	{schema.Config, decodeConfig},
}

// decodeConfig reads crmops.yaml as crmops detect does: the configuration,
// then each detector's settings by the detector itself.
func decodeConfig(name string, data []byte) error {
	c, err := config.Parse(name, data)
	if err != nil {
		return err
	}
	for det, settings := range c.Detectors {
		if _, err := detectors.New(name, det, &settings); err != nil {
			return err
		}
	}
	return nil
}

func formatOf(t *testing.T, name string) format {
	t.Helper()
	for _, f := range formats {
		if f.schema == name {
			return f
		}
	}
	t.Fatalf("no format %s", name)
	return format{}
}

// compile compiles every schema in schemas/, checking each against the
// draft 2020-12 meta-schema. The schemas are loaded from their files with
// a loader that reads files only, as an editor does offline: a reference
// from one schema to another must resolve beside it.
func compile(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := offlineCompiler()
	out := map[string]*jsonschema.Schema{}
	for _, f := range formats {
		file := filepath.Join(root, schema.Dir, f.schema)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", f.schema, err)
		}
		if id, ok := doc.(map[string]any)["$id"]; ok {
			t.Errorf("%s: $id %v: an absolute $id sends references to the published copy, which is not there offline; leave it out", f.schema, id)
		}
		s, err := c.Compile(file)
		if err != nil {
			t.Fatalf("%s: %v", f.schema, err)
		}
		out[f.schema] = s
	}
	return out
}

// offlineCompiler compiles schemas from files only: any reference to a
// URL fails to load.
func offlineCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(jsonschema.SchemeURLLoader{"file": jsonschema.FileLoader{}})
	return c
}

// instance converts YAML to the JSON value an editor's schema check sees:
// yaml.v3 parses it, scalars keep their YAML types, and timestamps stay the
// text they are written as.
func instance(t *testing.T, data []byte) any {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	raw, err := json.Marshal(toJSON(doc.Content[0]))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func toJSON(n *yaml.Node) any {
	switch n.Kind {
	case yaml.AliasNode:
		return toJSON(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = toJSON(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		s := []any{}
		for _, c := range n.Content {
			s = append(s, toJSON(c))
		}
		return s
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return n.Value
		}
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return n.Value
		}
		return v
	}
	return n.Value
}

// example is a file the decoders accept.
type example struct {
	name string
	data []byte
}

// found names the examples read from files (the repository's YAML files,
// the SPEC's blocks), which need not be crmops files; every other example
// must decode as one of the formats.
var found = map[string]bool{}

// repositoryExamples are every YAML file in the repository, the formats'
// texts in the code, files as crmops writes them, and the SPEC's examples
// when shared/SPEC.md is beside the repository.
func repositoryExamples(t *testing.T) []example {
	t.Helper()
	var out []example
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".crmops", "node_modules", "fuzz":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			out = append(out, example{filepath.ToSlash(rel), data})
			found[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, example{"policy.Default", []byte(policy.Default)}, example{"config.Default", []byte(config.Default)})
	for name, data := range policytest.DefaultTests() {
		out = append(out, example{"policytest.DefaultTests " + name, data})
	}
	// What crmops init --forge github and --crm salesforce write, and the
	// quickstart's detectors.
	for _, gh := range []bool{false, true} {
		cfg, trusted := config.Default, []string(nil)
		if gh {
			cfg, trusted = config.DefaultGitHub("ops[bot]"), []string{"ops[bot]"}
		}
		kind := fmt.Sprintf(" (github %v)", gh)
		out = append(out,
			example{"config.DefaultGitHub" + kind, []byte(cfg)},
			example{"config.ForSalesforce" + kind, []byte(config.ForSalesforce(cfg, detectors.SalesforceSettings))},
			example{"policy.DefaultFor" + kind, []byte(policy.DefaultFor(trusted))},
			example{"policy.ForSalesforce" + kind, []byte(policy.ForSalesforce(policy.DefaultFor(trusted)))})
		for name, data := range policytest.DefaultTestsFor(trusted) {
			out = append(out, example{"policytest.DefaultTestsFor" + kind + " " + name, data},
				example{"policytest.DefaultTestsFor Salesforce" + kind + " " + name, []byte(policy.ForSalesforce(string(data)))})
		}
	}
	inputs, err := sample.Generate(sample.Options{Seed: 1, Contacts: 30, Companies: 10}).Inputs()
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, example{"the quickstart's crmops.yaml", []byte(strings.Replace(config.Default, "detectors: {}\n", inputs.Detectors, 1))})
	out = append(out, written(t)...)
	for _, spec := range []string{filepath.Join(root, "..", "shared", "SPEC.md")} {
		data, err := os.ReadFile(spec)
		if err != nil {
			continue
		}
		for i, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(data, -1) {
			out = append(out, example{"SPEC.md yaml block " + string(rune('1'+i)), m[1]})
			found["SPEC.md yaml block "+string(rune('1'+i))] = true
		}
	}
	return out
}

// written are files as crmops writes them, with values YAML must quote.
func written(t *testing.T) []example {
	t.Helper()
	at := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	var out []example
	add := func(name string, v any) {
		data, err := batch.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, example{name, data})
	}
	for i, v := range []string{"VP Sales", "yes", "1.50", "null", "~", "2026-01-01", "@alice", "multi\nline", "", "0x1F", "true"} {
		changes := []batch.Change{
			{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001", Op: "set", Field: "jobtitle", Before: v, After: v + "!", Source: "clay", Confidence: 0.97, Trigger: "import", Reason: v},
			{ID: "c2", Kind: "dedupe", Object: "contacts", Record: "12", Op: "merge", MergeFrom: "13", Source: "dedupe", Confidence: 1, Snapshot: map[string]string{"email": v}},
		}
		b := &batch.Batch{Version: 1, Created: at, Detector: "enrichment", Title: v, Review: v, Changes: changes}
		b.ID = batch.NewID(at, "enrichment", changes)
		add("written batch "+string(rune('a'+i)), b)
		add("written receipt "+string(rune('a'+i)), &batch.Receipt{Version: 1, Batch: b.ID, ExecutedBy: "crmops/" + v, MergeCommit: v,
			Approval: batch.Approval{Mode: "approved", Approvers: []batch.Approver{{Login: v, At: at}}, Policy: v, Rules: []string{v}, PullRequest: 4},
			Changes:  []batch.ChangeResult{{ID: "c1", Status: "stale", ObservedBefore: v, After: v, At: at, Error: v}}})
		add("written rejection "+string(rune('a'+i)), &batch.Rejection{Version: 1, Batch: b.ID, RejectedBy: v, At: at, Reason: v, PullRequest: 3,
			Changes: []batch.RejectedChange{batch.Rejected(changes[0]), batch.Rejected(changes[1])}})
		// What crmops revert proposes for the merge and the set.
		undo := []batch.Change{
			{ID: "c1", Kind: "dedupe", Object: "contacts", Record: "12", Op: batch.OpUnmerge, MergeFrom: "13", Source: "revert", Confidence: 1, Trigger: "manual", Reason: v, Snapshot: map[string]string{"email": v}},
			{ID: "c2", Kind: "enrichment", Object: "contacts", Record: "1001", Op: "set", Field: "jobtitle", Before: v + "!", After: v, Source: "revert", Confidence: 1, Trigger: "manual"},
		}
		r := &batch.Batch{Version: 1, Created: at, Detector: "revert", Title: v, Changes: undo}
		r.ID = batch.NewID(at, "revert", undo)
		add("written revert "+string(rune('a'+i)), r)
		add("written rejection of a revert "+string(rune('a'+i)), &batch.Rejection{Version: 1, Batch: r.ID, RejectedBy: v, At: at,
			Changes: []batch.RejectedChange{batch.Rejected(undo[0]), batch.Rejected(undo[1])}})
	}
	return out
}

func TestTheSchemasAreValidDraft202012(t *testing.T) {
	schemas := compile(t)
	for _, f := range formats {
		if schemas[f.schema] == nil {
			t.Errorf("%s did not compile", f.schema)
		}
	}
	t.Run("the comment line names the schema by a path relative to the file", func(t *testing.T) {
		for _, c := range []struct{ file, name, want string }{
			{"proposals/2026-11/20261124T060000Z-enrichment-3f9c2a.yaml", schema.Batch, "../../schemas/batch.schema.json"},
			{"proposals/2026-11/x.receipt.yaml", schema.Receipt, "../../schemas/receipt.schema.json"},
			{"proposals/x.rejected.yaml", schema.Rejection, "../schemas/rejection.schema.json"},
			{"proposals/a/b/c/x.yaml", schema.Batch, "../../../../schemas/batch.schema.json"},
			{"./proposals//2026-11/x.yaml", schema.Batch, "../../schemas/batch.schema.json"},
			{"policies/default.yaml", schema.Policy, "../schemas/policy.schema.json"},
			{"policies/tests/default.yaml", schema.PolicyTest, "../../schemas/policytest.schema.json"},
			{"crmops.yaml", schema.Config, "schemas/config.schema.json"},
			{"/etc/crmops.yaml", schema.Config, schema.URL(schema.Config)},
			{"../crmops.yaml", schema.Config, schema.URL(schema.Config)},
		} {
			if got := schema.Ref(c.file, c.name); got != c.want {
				t.Errorf("Ref(%q, %s) = %s, want %s", c.file, c.name, got, c.want)
			}
		}
		want := "# yaml-language-server: $schema=../../schemas/batch.schema.json"
		if got := schema.Comment("proposals/2026-11/x.yaml", schema.Batch); got != want {
			t.Errorf("Comment = %s", got)
		}
	})
}

// TestTheEmbeddedSchemasAreTheRepositorys: crmops init copies the schemas
// the binary embeds; they are schemas/ as built.
func TestTheEmbeddedSchemasAreTheRepositorys(t *testing.T) {
	files := schema.Files()
	for _, name := range schema.Names {
		want, err := os.ReadFile(filepath.Join(root, schema.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := files[schema.Dir+"/"+name]; !ok || !bytes.Equal(got, want) {
			t.Errorf("the embedded %s differs from schemas/%s", name, name)
		}
	}
	if len(files) != len(schema.Names) {
		t.Errorf("embedded %d schemas, schema.Names lists %d", len(files), len(schema.Names))
	}
}

// TestEveryDefaultNamesItsSchemaRelativeToWhereInitWritesIt checks the
// first lines of the files crmops init writes and of those Encode writes.
func TestEveryDefaultNamesItsSchemaRelativeToWhereInitWritesIt(t *testing.T) {
	firstLine := func(text string) string { line, _, _ := strings.Cut(text, "\n"); return line }
	check := func(what, text, file, name string) {
		t.Helper()
		if got, want := firstLine(text), schema.Comment(file, name); got != want {
			t.Errorf("%s begins %q, want %q", what, got, want)
		}
	}
	check("config.Default", config.Default, config.File, schema.Config)
	check("config.DefaultGitHub", config.DefaultGitHub("ops[bot]"), config.File, schema.Config)
	check("config.ForSalesforce", config.ForSalesforce(config.Default, detectors.SalesforceSettings), config.File, schema.Config)
	check("policy.Default", policy.Default, policy.Path, schema.Policy)
	check("policy.DefaultFor", policy.ForSalesforce(policy.DefaultFor([]string{"ops[bot]"})), policy.Path, schema.Policy)
	for _, trusted := range [][]string{nil, {"ops[bot]"}} {
		for p, data := range policytest.DefaultTestsFor(trusted) {
			check("policytest.DefaultTestsFor "+p, policy.ForSalesforce(string(data)), p, schema.PolicyTest)
		}
	}
	at := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	changes := []batch.Change{{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1", Op: "set", Field: "jobtitle", After: "VP", Source: "clay", Confidence: 1}}
	b := &batch.Batch{Version: 1, Created: at, Detector: "enrichment", Changes: changes}
	b.ID = batch.NewID(at, "enrichment", changes)
	for _, c := range []struct {
		v          any
		file, name string
	}{
		{b, batch.Path(b.ID), schema.Batch},
		{*b, batch.Path(b.ID), schema.Batch},
		{&batch.Receipt{Version: 1, Batch: b.ID}, batch.ReceiptPath(batch.Path(b.ID)), schema.Receipt},
		{batch.Rejection{Version: 1, Batch: b.ID}, batch.RejectionPath(batch.Path(b.ID)), schema.Rejection},
		{&batch.Rejection{Version: 1, Batch: "hand-made"}, "proposals/hand-made.rejected.yaml", schema.Rejection},
	} {
		data, err := batch.Encode(c.v)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("batch.Encode(%T)", c.v), string(data), c.file, c.name)
	}
	data, err := batch.EncodeAt("proposals/team-a/2026/11/"+b.ID+".yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	check("batch.EncodeAt of a sharded batch", string(data), "proposals/team-a/2026/11/x.yaml", schema.Batch)
}

func TestEveryFileTheDecodersAcceptValidatesAgainstItsSchema(t *testing.T) {
	schemas := compile(t)
	accepted := map[string]int{}
	for _, ex := range repositoryExamples(t) {
		decoded := false
		for _, f := range formats {
			if f.decode(ex.name, ex.data) != nil {
				continue
			}
			decoded = true
			accepted[f.schema]++
			t.Run(ex.name+" is a valid "+strings.TrimSuffix(f.schema, ".schema.json")+" file", func(t *testing.T) {
				inst := instance(t, ex.data)
				if err := schemas[f.schema].Validate(inst); err != nil {
					t.Errorf("%s refuses it:\n%v\n%s", f.schema, err, ex.data)
				}
				for _, other := range formats {
					if other.schema != f.schema && schemas[other.schema].Validate(inst) == nil {
						t.Errorf("%s accepts it too: the schemas do not tell the formats apart", other.schema)
					}
				}
			})
		}
		if !decoded && !found[ex.name] {
			var errs []string
			for _, f := range formats {
				errs = append(errs, f.schema+": "+f.decode(ex.name, ex.data).Error())
			}
			t.Errorf("%s decodes as no format:\n%s", ex.name, strings.Join(errs, "\n"))
		}
	}
	for _, f := range formats {
		if accepted[f.schema] == 0 {
			t.Errorf("no example of %s in the repository", f.schema)
		}
	}
}

// validBatch, validReceipt, ... are the bases the invalid cases edit.
const validBatch = `version: 1
batch: 20261124T060000Z-enrichment-3f9c2a
created: 2026-11-24T06:00:00Z
detector: enrichment
changes:
  - id: c1
    kind: enrichment
    object: contacts
    record: "1001"
    op: set
    field: jobtitle
    before: ""
    after: VP Sales
    source: clay
    confidence: 0.97
    trigger: import
  - id: c2
    kind: dedupe
    object: contacts
    record: "1001"
    op: merge
    merge_from: "1002"
    source: dedupe
    confidence: 0.93
`

const validReceipt = `version: 1
batch: 20261124T060000Z-enrichment-3f9c2a
approval:
  mode: approved
  approvers: [{login: alice, at: 2026-11-24T09:12:00Z}]
  rules: [enrichment-fill-empty]
executed_by: crmops/v1
changes:
  - id: c1
    status: applied
    at: 2026-11-24T09:13:05Z
`

const validRejection = `version: 1
batch: 20261124T060000Z-enrichment-3f9c2a
rejected_by: bob
at: 2026-11-24T09:12:00Z
changes:
  - {id: c1, object: contacts, record: "1001", op: set, field: jobtitle, after: VP Sales}
`

const validPolicyTest = `version: 1
cases:
  - name: fill
    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: "", after: VP Sales, source: clay, confidence: 0.97}
    expect: auto
`

const validConfig = `version: 1
crm: {kind: hubspot, tier: professional}
forge: {kind: github}
detectors:
  enrichment: {input: data/enrichment.csv, match_on: email, source: clay}
`

type invalid struct {
	name     string
	schema   string
	old, new string
}

var base = map[string]string{
	schema.Batch: validBatch, schema.Receipt: validReceipt, schema.Rejection: validRejection,
	schema.Policy: policy.Default, schema.PolicyTest: validPolicyTest, schema.Config: validConfig,
}

var invalids = []invalid{
	{"an unknown key in a change", schema.Batch, "    trigger: import\n", "    trigger: import\n    priority: high\n"},
	{"an unknown top-level key", schema.Batch, "detector: enrichment\n", "detector: enrichment\nowner: me\n"},
	{"a missing created", schema.Batch, "created: 2026-11-24T06:00:00Z\n", ""},
	{"a missing confidence", schema.Batch, "    confidence: 0.97\n", ""},
	{"a confidence above 1", schema.Batch, "confidence: 0.97", "confidence: 1.5"},
	{"a negative confidence", schema.Batch, "confidence: 0.97", "confidence: -0.1"},
	{"a quoted confidence", schema.Batch, "confidence: 0.97", `confidence: "0.97"`},
	{"an unknown kind", schema.Batch, "kind: enrichment", "kind: billing"},
	{"an unknown op", schema.Batch, "op: set", "op: update"},
	{"an unknown trigger", schema.Batch, "trigger: import", "trigger: cron"},
	{"an object name with a hyphen", schema.Batch, "object: contacts\n    record: \"1001\"\n    op: set", "object: con-tacts\n    record: \"1001\"\n    op: set"},
	{"a record id with a slash", schema.Batch, `record: "1001"`, `record: "a/b"`},
	{"a blank record id", schema.Batch, `record: "1001"`, `record: "  "`},
	{"a field name with a space", schema.Batch, "field: jobtitle", "field: job title"},
	{"a batch id with ..", schema.Batch, "batch: 20261124T060000Z-enrichment-3f9c2a", "batch: a..b"},
	{"an empty detector", schema.Batch, "detector: enrichment", `detector: ""`},
	{"no changes", schema.Batch, validBatch[strings.Index(validBatch, "changes:"):], "changes: []\n"},
	{"version 2", schema.Batch, "version: 1", "version: 2"},
	{"a created that is no time", schema.Batch, "created: 2026-11-24T06:00:00Z", "created: yesterday"},
	{"a set without before", schema.Batch, "    before: \"\"\n", ""},
	{"a set with merge_from", schema.Batch, "    field: jobtitle\n", "    field: jobtitle\n    merge_from: \"9\"\n"},
	{"a merge with a field", schema.Batch, "    merge_from: \"1002\"\n", "    merge_from: \"1002\"\n    field: email\n"},
	{"a merge without merge_from", schema.Batch, "    merge_from: \"1002\"\n", ""},
	{"a dedupe change that is a set", schema.Batch, "    kind: enrichment\n", "    kind: dedupe\n"},
	{"an unmerge with a field", schema.Batch, "    op: merge\n    merge_from: \"1002\"\n", "    op: unmerge\n    merge_from: \"1002\"\n    field: email\n"},
	{"an unmerge without merge_from", schema.Batch, "    op: merge\n    merge_from: \"1002\"\n", "    op: unmerge\n"},
	{"an unmerge of kind enrichment", schema.Batch, "    kind: dedupe\n    object: contacts\n    record: \"1001\"\n    op: merge\n", "    kind: enrichment\n    object: contacts\n    record: \"1001\"\n    op: unmerge\n"},
	{"an unmerge with a survivor snapshot", schema.Batch, "    op: merge\n    merge_from: \"1002\"\n", "    op: unmerge\n    merge_from: \"1002\"\n    survivor_snapshot: {email: a@x.com}\n"},
	{"an unmerge that follows a merge", schema.Batch, "    op: merge\n    merge_from: \"1002\"\n", "    op: unmerge\n    merge_from: \"1002\"\n    follows: c1\n"},
	{"a snapshot with a nested value", schema.Batch, "    confidence: 0.93\n", "    confidence: 0.93\n    snapshot: {address: {city: Paris}}\n"},

	{"an unknown approval mode", schema.Receipt, "mode: approved", "mode: maybe"},
	{"an unknown status", schema.Receipt, "status: applied", "status: lost"},
	{"a missing executed_by", schema.Receipt, "executed_by: crmops/v1\n", ""},
	{"a missing approval", schema.Receipt, "approval:\n  mode: approved\n  approvers: [{login: alice, at: 2026-11-24T09:12:00Z}]\n  rules: [enrichment-fill-empty]\n", ""},
	{"an approver without login", schema.Receipt, "{login: alice, at:", "{at:"},
	{"an unknown key in the approval", schema.Receipt, "  mode: approved\n", "  mode: approved\n  by: alice\n"},
	{"a quoted pull request", schema.Receipt, "  mode: approved\n", "  mode: approved\n  pull_request: \"42\"\n"},

	{"a rejection without rejected_by", schema.Rejection, "rejected_by: bob\n", ""},
	{"an unknown key in a rejected change", schema.Rejection, "after: VP Sales}", "after: VP Sales, kind: enrichment}"},

	{"an unknown default", schema.Policy, "default: review", "default: maybe"},
	{"an unknown rule decision", schema.Policy, "    when: {kind: enrichment, before: present}\n    decision: review", "    when: {kind: enrichment, before: present}\n    decision: maybe"},
	{"before neither empty nor present", schema.Policy, "before: present", "before: sometimes"},
	{"after as a value, not a list", schema.Policy, "after: [valid]", "after: valid"},
	{"an unknown when key", schema.Policy, "{kind: dedupe}", "{kind: dedupe, record: \"1\"}"},
	{"negative approvals", schema.Policy, "approvals: 1 ", "approvals: -1 "},
	{"a negative limit", schema.Policy, "max_changes_per_batch: 1000", "max_changes_per_batch: -1"},
	{"an auto rule for owner changes", schema.Policy, "    when: {kind: owner}\n    decision: review", "    when: {kind: owner}\n    decision: auto"},
	{"an auto rule for dedupe in a list", schema.Policy, "    when: {kind: dedupe}\n    decision: review", "    when: {kind: [enrichment, dedupe]}\n    decision: auto"},
	{"an auto rule for merges", schema.Policy, "    when: {kind: dedupe}\n    decision: review", "    when: {op: merge}\n    decision: auto"},
	{"a rule without a name", schema.Policy, "  - name: email-risky\n", "  -\n"},
	{"null limits", schema.Policy, "limits:\n  max_changes_per_batch: 1000    # larger detector output is split into several batches\n  max_auto_changes_per_run: 500  # blast radius: past this, auto changes go to review\n", "limits: ~\n"},

	{"an unknown expectation", schema.PolicyTest, "expect: auto", "expect: sometimes"},
	{"a case without a change", schema.PolicyTest, "    change: {kind: enrichment, object: contacts, op: set, field: jobtitle, before: \"\", after: VP Sales, source: clay, confidence: 0.97}\n", ""},
	{"a change with an id", schema.PolicyTest, "{kind: enrichment,", "{id: c1, kind: enrichment,"},
	{"a set without after", schema.PolicyTest, ", after: VP Sales", ""},
	{"a blank case name", schema.PolicyTest, "name: fill", `name: " "`},

	{"an unknown CRM", schema.Config, "kind: hubspot", "kind: pipedrive"},
	{"an unknown forge", schema.Config, "kind: github", "kind: gitlab"},
	{"an unknown key", schema.Config, "forge:", "forges: {}\nforge:"},
	{"a missing crm", schema.Config, "crm: {kind: hubspot, tier: professional}\n", ""},
	{"a null crm", schema.Config, "crm: {kind: hubspot, tier: professional}\n", "crm: ~\n"},
	{"version 2", schema.Config, "version: 1", "version: 2"},
}

func TestInvalidFilesAreRefusedByTheDecoderAndTheSchema(t *testing.T) {
	schemas := compile(t)
	for _, name := range []string{schema.Batch, schema.Receipt, schema.Rejection, schema.Policy, schema.PolicyTest, schema.Config} {
		t.Run("the base "+name+" example is valid for both", func(t *testing.T) {
			if err := formatOf(t, name).decode("base.yaml", []byte(base[name])); err != nil {
				t.Fatal(err)
			}
			if err := schemas[name].Validate(instance(t, []byte(base[name]))); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, c := range invalids {
		t.Run(strings.TrimSuffix(c.schema, ".schema.json")+" with "+c.name+" is refused by both", func(t *testing.T) {
			text := base[c.schema]
			if !strings.Contains(text, c.old) {
				t.Fatalf("the base lacks %q", c.old)
			}
			text = strings.Replace(text, c.old, c.new, 1)
			if err := formatOf(t, c.schema).decode("x.yaml", []byte(text)); err == nil {
				t.Fatalf("the decoder accepts it:\n%s", text)
			}
			if err := schemas[c.schema].Validate(instance(t, []byte(text))); err == nil {
				t.Errorf("%s accepts it:\n%s", c.schema, text)
			}
		})
	}
}

// TestWhatTheSchemasCannotSay documents the differences between schema and
// decoder, so that a change to either shows up here.
func TestWhatTheSchemasCannotSay(t *testing.T) {
	schemas := compile(t)
	refusedByDecoderOnly := []invalid{
		{"two changes with one id", schema.Batch, "  - id: c2", "  - id: c1"},
		{"a set that changes nothing", schema.Batch, "after: VP Sales", `after: ""`},
		{"a record merged into itself", schema.Batch, `merge_from: "1002"`, `merge_from: "1001"`},
		{"a month 13", schema.Batch, "created: 2026-11-24T06:00:00Z", "created: 2026-13-24T06:00:00Z"},
		{"a float version", schema.Batch, "version: 1", "version: 1.0"},
		{"two rules with one name", schema.Policy, "  - name: email-risky", "  - name: email-valid"},
		{"two cases with one name", schema.PolicyTest, "", "  - name: fill\n    change: {kind: custom, object: contacts, op: set, field: f, before: a, after: b, source: s, confidence: 1}\n    expect: review\n"},
	}
	for _, c := range refusedByDecoderOnly {
		t.Run("the decoder alone refuses "+c.name, func(t *testing.T) {
			text := base[c.schema]
			if c.old == "" {
				text += c.new
			} else {
				text = strings.Replace(text, c.old, c.new, 1)
			}
			if formatOf(t, c.schema).decode("x.yaml", []byte(text)) == nil {
				t.Error("the decoder accepts it")
			}
			if err := schemas[c.schema].Validate(instance(t, []byte(text))); err != nil {
				t.Errorf("the schema refuses it now (%v): move the case to TestInvalidFiles", err)
			}
		})
	}
	t.Run("a batch id that differs from its file name is refused by the decoder alone", func(t *testing.T) {
		if _, err := batch.Decode("proposals/other.yaml", []byte(validBatch)); err == nil {
			t.Error("the decoder accepts it")
		}
	})
	// The decoders read a null confidence as 0 and a null created as the
	// zero time; the schemas refuse both, as a writer means neither.
	acceptedByDecoderOnly := []invalid{
		{"a null confidence", schema.Batch, "confidence: 0.97", "confidence: ~"},
		{"a null created", schema.Batch, "created: 2026-11-24T06:00:00Z", "created: ~"},
	}
	for _, c := range acceptedByDecoderOnly {
		t.Run("the schema alone refuses "+c.name, func(t *testing.T) {
			text := strings.Replace(base[c.schema], c.old, c.new, 1)
			if err := formatOf(t, c.schema).decode("x.yaml", []byte(text)); err != nil {
				t.Skipf("the decoder refuses it now (%v): move the case to TestInvalidFiles", err)
			}
			if schemas[c.schema].Validate(instance(t, []byte(text))) == nil {
				t.Error("the schema accepts it")
			}
		})
	}
}
