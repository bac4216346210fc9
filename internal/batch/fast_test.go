package batch

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/strictyaml"
)

const batchFile = "proposals/2026-11/20261124T060000Z-enrichment-3f9c2a.yaml"

const canonicalBatch = `version: 1
batch: 20261124T060000Z-enrichment-3f9c2a
created: 2026-11-24T06:00:00Z
detector: enrichment
title: Fill 42 empty job titles from Clay
review: this run's auto changes passed limits.max_auto_changes_per_run (500)
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
    reason: Clay row 17 matched by email; field empty in CRM
  - id: c2
    kind: dedupe
    object: contacts
    record: "1001"
    op: merge
    merge_from: "1002"
    source: dedupe
    confidence: 0.93
    trigger: rule
    reason: same email, name similarity 0.96
    snapshot:
      email: a@x.com
      firstname: Ann
`

const receiptFile = "proposals/2026-11/20261124T060000Z-enrichment-3f9c2a.receipt.yaml"

const canonicalReceipt = `version: 1
batch: 20261124T060000Z-enrichment-3f9c2a
approval:
  mode: approved
  approvers:
    - login: alice
      at: 2026-11-24T09:12:00Z
  policy: policies/default.yaml@0123456789abcdef0123456789abcdef01234567
  rules: [enrichment-fill-empty, dedupe-always-review]
  pull_request: 42
executed_by: crmops/v1.4.0
merge_commit: 89abcdef0123456789abcdef0123456789abcdef
changes:
  - id: c1
    status: applied
    observed_before: ""
    after: VP Sales
    at: 2026-11-24T09:13:05Z
    error: ""
  - id: c2
    status: stale
    observed_before: x
    after: ""
    at: 2026-11-24T09:13:06Z
    error: the record changed
`

// edit is a mutation of a file's text.
type edit struct {
	name     string
	old, new string
}

var batchEdits = []edit{
	{"the file as crmops writes it", "", ""},
	{"a comment", "detector: enrichment\n", "detector: enrichment   # who proposed it\n"},
	{"a schema comment at the top", "version: 1\n", "# yaml-language-server: $schema=https://raw.githubusercontent.com/crmops/crmops/main/schemas/batch.schema.json\nversion: 1\n"},
	{"two comment lines at the top", "version: 1\n", "# one\n#two\nversion: 1\n"},
	{"an indented comment at the top", "version: 1\n", "  # one\nversion: 1\n"},
	{"a comment line inside", "changes:\n", "# changes follow\nchanges:\n"},
	{"a blank line", "changes:\n", "\nchanges:\n"},
	{"a sequence at the key's indentation", "  - id: c1\n    kind: enrichment", "- id: c1\n  kind: enrichment"},
	{"a plain value with a colon", "after: VP Sales", "after: VP:Sales"},
	{"a plain value with a hash", "after: VP Sales", "after: VP#1"},
	{"a plain value with a line separator", "after: VP Sales", "after: \"VP\u2028Sales\""},
	{"a raw line separator in quotes", "after: VP Sales", "after: \"VP\u2028Sales\""},
	{"a C1 control in quotes", "after: VP Sales", "after: \"VP\u0085Sales\""},
	{"a byte order mark", "version: 1", "\ufeffversion: 1"},
	{"a plain value with letters beyond ASCII", "after: VP Sales", "after: Zoë Ünal"},
	{"a plain value starting beyond ASCII", "after: VP Sales", "after: Ärzte"},
	{"a plain value with a comma", "after: VP Sales", "after: Sales, EMEA"},
	{"a plain value with an apostrophe", "after: VP Sales", "after: it's VP"},
	{"a plain value with a trailing space", "after: VP Sales", "after: VP Sales "},
	{"two spaces after the colon", "after: VP Sales", "after:  VP Sales"},
	{"a key without a space after the colon", "after: VP Sales", "after:VP Sales"},
	{"a sequence item with two spaces", "  - id: c2", "  -  id: c2"},
	{"a deeper indentation", "    kind: dedupe\n", "     kind: dedupe\n"},
	{"a null key value at the end", "", "title:"},
	{"a numeric version with a leading zero", "version: 1\n", "version: 01\n"},
	{"a long confidence", "confidence: 0.97", "confidence: 0.9400000000000001"},
	{"a confidence of 1.0", "confidence: 0.97", "confidence: 1.0"},
	{"a created with a fraction", "created: 2026-11-24T06:00:00Z", "created: 2026-11-24T06:00:00.5Z"},
	{"a created with a lower-case z", "created: 2026-11-24T06:00:00Z", "created: 2026-11-24T06:00:00z"},
	{"a created at hour 24", "created: 2026-11-24T06:00:00Z", "created: 2026-11-24T24:00:00Z"},
	{"a record with digits and letters", `record: "1001"`, "record: 1001a"},
	{"a true value", "after: VP Sales", "after: True"},
	{"a Null value", "after: VP Sales", "after: Null"},
	{"an unknown key", "    trigger: import\n", "    trigger: import\n    priority: high\n"},
	{"an unknown key at the top", "title:", "owner: x\ntitle:"},
	{"a missing id", "  - id: c1\n    kind: enrichment", "  - kind: enrichment"},
	{"a missing confidence", "    confidence: 0.97\n", ""},
	{"a missing created", "created: 2026-11-24T06:00:00Z\n", ""},
	{"a missing before on a set", "    before: \"\"\n", ""},
	{"a missing after on a set", "    after: VP Sales\n", ""},
	{"a field on a merge", "    merge_from: \"1002\"\n", "    merge_from: \"1002\"\n    field: x\n"},
	{"a merge_from on a set", "    field: jobtitle\n", "    field: jobtitle\n    merge_from: \"\"\n"},
	{"a duplicate key", "    source: clay\n", "    source: clay\n    source: apollo\n"},
	{"a duplicate change id", "  - id: c2", "  - id: c1"},
	{"an anchor and alias", "    source: clay\n", "    source: &s clay\n"},
	{"an alias", "    source: dedupe\n", "    source: *s\n"},
	{"a merge key", "  - id: c2\n", "  - <<: {id: c2}\n    id: c2\n"},
	{"an explicit string tag", "    after: VP Sales", "    after: !!str VP Sales"},
	{"a binary tag", "    after: VP Sales", "    after: !!binary aGVsbG8="},
	{"a quoted confidence", "confidence: 0.97", `confidence: "0.97"`},
	{"a null confidence", "confidence: 0.97", "confidence: ~"},
	{"an integer confidence", "confidence: 0.97", "confidence: 1"},
	{"a confidence with an exponent", "confidence: 0.97", "confidence: 9.7e-1"},
	{"a hexadecimal confidence", "confidence: 0.97", "confidence: 0x0"},
	{"an octal-looking confidence", "confidence: 0.97", "confidence: 01"},
	{"a confidence with underscores", "confidence: 0.97", "confidence: 0.9_7"},
	{"a confidence of infinity", "confidence: 0.97", "confidence: .inf"},
	{"a confidence out of range", "confidence: 0.97", "confidence: 1.5"},
	{"a negative zero confidence", "confidence: 0.97", "confidence: -0.0"},
	{"a float version", "version: 1\n", "version: 1.0\n"},
	{"a quoted version", "version: 1\n", "version: \"1\"\n"},
	{"a null version", "version: 1\n", "version: ~\n"},
	{"version 2", "version: 1\n", "version: 2\n"},
	{"a quoted created", "created: 2026-11-24T06:00:00Z", `created: "2026-11-24T06:00:00Z"`},
	{"a created date only", "created: 2026-11-24T06:00:00Z", "created: 2026-11-24"},
	{"a created with a space", "created: 2026-11-24T06:00:00Z", "created: 2026-11-24 06:00:00"},
	{"a created with an offset", "created: 2026-11-24T06:00:00Z", "created: 2026-11-24T07:00:00+01:00"},
	{"a created with nanoseconds", "created: 2026-11-24T06:00:00Z", "created: 2026-11-24T06:00:00.123456789Z"},
	{"a created year", "created: 2026-11-24T06:00:00Z", "created: 2026"},
	{"a null created", "created: 2026-11-24T06:00:00Z", "created: ~"},
	{"an unquoted numeric record", `record: "1001"`, "record: 1001"},
	{"a float record", `record: "1001"`, "record: 10.50"},
	{"a null record", `record: "1001"`, "record: ~"},
	{"a boolean-looking value", "after: VP Sales", "after: yes"},
	{"a null after", "after: VP Sales", "after: null"},
	{"a timestamp-looking after", "after: VP Sales", "after: 2026-01-01"},
	{"a block scalar", "    after: VP Sales\n", "    after: |\n      VP Sales\n      EMEA\n"},
	{"a folded scalar", "    after: VP Sales\n", "    after: >-\n      VP\n      Sales\n"},
	{"a flow change", "  - id: c1\n    kind: enrichment\n    object: contacts\n", "  - {id: c1, kind: enrichment, object: contacts,\n    record: \"1001\"}\n  - id: c3\n    kind: enrichment\n    object: contacts\n"},
	{"a list as a change", "  - id: c2\n", "  - [a]\n  - id: c2\n"},
	{"a null change", "  - id: c2\n", "  - ~\n  - id: c2\n"},
	{"null changes", "changes:\n", "changes: ~\nx:\n"},
	{"a null snapshot", "    snapshot:\n      email: a@x.com\n      firstname: Ann\n", "    snapshot: ~\n"},
	{"an empty snapshot", "    snapshot:\n      email: a@x.com\n      firstname: Ann\n", "    snapshot: {}\n"},
	{"a snapshot with a number", "      firstname: Ann\n", "      firstname: Ann\n      age: 42\n"},
	{"a snapshot with a nested mapping", "      firstname: Ann\n", "      firstname: Ann\n      address: {city: Paris}\n"},
	{"a snapshot with a duplicate key", "      firstname: Ann\n", "      firstname: Ann\n      firstname: Anne\n"},
	{"a snapshot with a null value", "      firstname: Ann\n", "      firstname: ~\n"},
	{"an unknown op", "op: set", "op: update"},
	{"an unknown kind", "kind: enrichment", "kind: billing"},
	{"an unknown trigger", "trigger: import", "trigger: cron"},
	{"an empty trigger", "trigger: import", "trigger:"},
	{"a set that does nothing", "after: VP Sales", `after: ""`},
	{"a batch id that differs from the file", "batch: 20261124T060000Z-enrichment-3f9c2a", "batch: 20261124T060000Z-enrichment-000000"},
	{"a second document", "", "---\nversion: 2\n"},
	{"a document start marker", "version: 1\n", "---\nversion: 1\n"},
	{"Windows line endings", "\n", "\r\n"},
	{"a tab in a value", "after: VP Sales", "after: \"VP\\tSales\""},
	{"escapes in a double-quoted value", "after: VP Sales", `after: "VP \u00e9 \x41 Sales"`},
	{"a single-quoted value", "after: VP Sales", "after: 'VP ''Sales'''"},
	{"non-UTF-8 bytes", "after: VP Sales", "after: VP \xff Sales"},
	{"a control character", "after: VP Sales", "after: VP \x01 Sales"},
	{"a list at the top", "version: 1\n", "- version: 1\n"},
	{"a scalar changes", "changes:\n", "changes: 3\nx:\n"},
}

// apply runs an edit: "" old appends new, a newline old replaces every
// newline.
func (e edit) apply(text string) string {
	switch {
	case e.old == "":
		return text + e.new
	case e.old == "\n":
		return strings.ReplaceAll(text, "\n", e.new)
	}
	return strings.Replace(text, e.old, e.new, 1)
}

// agreeBatch checks that the fast path accepts only what the strict
// decoder accepts, with an identical value (Pos included), and that Decode
// returns the strict decoder's error otherwise. It reports whether the
// fast path took the file.
func agreeBatch(t *testing.T, file string, data []byte) bool {
	t.Helper()
	strict, strictErr := decodeStrict(file, data)
	fast, ok := fastBatch(file, data)
	if ok {
		if strictErr != nil {
			t.Fatalf("the fast path accepts what the strict decoder refuses: %v\n%s", strictErr, data)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("the fast path decodes\n%#v\nthe strict decoder\n%#v\n%s", fast, strict, data)
		}
	}
	got, err := Decode(file, data)
	if (err == nil) != (strictErr == nil) || (err != nil && err.Error() != strictErr.Error()) {
		t.Fatalf("Decode error %v, the strict decoder's %v", err, strictErr)
	}
	if err == nil && !reflect.DeepEqual(got, strict) {
		t.Fatalf("Decode\n%#v\nthe strict decoder\n%#v", got, strict)
	}
	return ok
}

func agreeReceipt(t *testing.T, file string, data []byte) bool {
	t.Helper()
	strict, strictErr := decodeReceiptStrict(file, data)
	fast, ok := fastReceipt(file, data)
	if ok {
		if strictErr != nil {
			t.Fatalf("the fast path accepts what the strict decoder refuses: %v\n%s", strictErr, data)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("the fast path decodes\n%#v\nthe strict decoder\n%#v\n%s", fast, strict, data)
		}
	}
	got, err := DecodeReceipt(file, data)
	if (err == nil) != (strictErr == nil) || (err != nil && err.Error() != strictErr.Error()) {
		t.Fatalf("DecodeReceipt error %v, the strict decoder's %v", err, strictErr)
	}
	if err == nil && !reflect.DeepEqual(got, strict) {
		t.Fatalf("DecodeReceipt\n%#v\nthe strict decoder\n%#v", got, strict)
	}
	return ok
}

func TestTheFastPathAgreesWithStrictDecodingOfBatches(t *testing.T) {
	fastCount := 0
	for _, e := range batchEdits {
		t.Run(e.name, func(t *testing.T) {
			text := e.apply(canonicalBatch)
			if e.old != "" && e.old != "\n" && text == canonicalBatch {
				t.Fatalf("the edit %q changed nothing", e.old)
			}
			if agreeBatch(t, batchFile, []byte(text)) {
				fastCount++
			}
		})
	}
	if fastCount < 10 {
		t.Errorf("the fast path took only %d of %d files", fastCount, len(batchEdits))
	}
	t.Run("the file as crmops writes it takes the fast path", func(t *testing.T) {
		if _, ok := fastBatch(batchFile, []byte(canonicalBatch)); !ok {
			t.Error("fastBatch refused the canonical batch")
		}
	})
	t.Run("a file whose first line names its JSON Schema takes the fast path", func(t *testing.T) {
		text := "# yaml-language-server: $schema=https://raw.githubusercontent.com/crmops/crmops/main/schemas/batch.schema.json\n" + canonicalBatch
		if !agreeBatch(t, batchFile, []byte(text)) {
			t.Error("fastBatch refused it")
		}
	})
}

var receiptEdits = []edit{
	{"the receipt as crmops writes it", "", ""},
	{"an unknown approval mode", "mode: approved", "mode: maybe"},
	{"a refused receipt", "mode: approved", "mode: refused"},
	{"an unknown status", "status: stale", "status: lost"},
	{"a missing status", "    status: stale\n", ""},
	{"a missing executed_by", "executed_by: crmops/v1.4.0\n", ""},
	{"a missing approval", "approval:\n  mode: approved\n  approvers:\n    - login: alice\n      at: 2026-11-24T09:12:00Z\n  policy: policies/default.yaml@0123456789abcdef0123456789abcdef01234567\n  rules: [enrichment-fill-empty, dedupe-always-review]\n  pull_request: 42\n", ""},
	{"a null approval", "approval:\n  mode: approved\n  approvers:\n    - login: alice\n      at: 2026-11-24T09:12:00Z\n  policy: policies/default.yaml@0123456789abcdef0123456789abcdef01234567\n  rules: [enrichment-fill-empty, dedupe-always-review]\n  pull_request: 42\n", "approval: ~\n"},
	{"a missing mode", "  mode: approved\n", ""},
	{"an approver without login", "    - login: alice\n      at:", "    - at:"},
	{"null approvers", "  approvers:\n    - login: alice\n      at: 2026-11-24T09:12:00Z\n", "  approvers: ~\n"},
	{"empty approvers", "  approvers:\n    - login: alice\n      at: 2026-11-24T09:12:00Z\n", "  approvers: []\n"},
	{"rules with a null", "  rules: [enrichment-fill-empty, dedupe-always-review]\n", "  rules: [enrichment-fill-empty, null]\n"},
	{"rules with a quoted item", "  rules: [enrichment-fill-empty, dedupe-always-review]\n", "  rules: [\"a\", b]\n"},
	{"rules without a space", "  rules: [enrichment-fill-empty, dedupe-always-review]\n", "  rules: [a,b]\n"},
	{"a zero time", "at: 2026-11-24T09:13:05Z", "at: 0001-01-01T00:00:00Z"},
	{"rules as a block list", "  rules: [enrichment-fill-empty, dedupe-always-review]\n", "  rules:\n    - enrichment-fill-empty\n"},
	{"rules as a scalar", "  rules: [enrichment-fill-empty, dedupe-always-review]\n", "  rules: enrichment-fill-empty\n"},
	{"empty rules", "  rules: [enrichment-fill-empty, dedupe-always-review]\n", "  rules: []\n"},
	{"a quoted pull request", "pull_request: 42", `pull_request: "42"`},
	{"a float pull request", "pull_request: 42", "pull_request: 4.2"},
	{"a quoted time", "at: 2026-11-24T09:13:05Z", `at: "2026-11-24T09:13:05Z"`},
	{"a bad time", "at: 2026-11-24T09:13:05Z", "at: yesterday"},
	{"an unknown key in a result", "    error: \"\"\n", "    error: \"\"\n    retries: 2\n"},
	{"null changes", "changes:\n  - id: c1\n", "changes: ~\nx:\n  - id: c1\n"},
	{"a batch that differs from the file", "batch: 20261124T060000Z-enrichment-3f9c2a", "batch: other"},
	{"an alias", "    after: \"\"\n", "    after: &a \"\"\n    error: *a\n"},
}

func TestTheFastPathAgreesWithStrictDecodingOfReceipts(t *testing.T) {
	for _, e := range receiptEdits {
		t.Run(e.name, func(t *testing.T) {
			text := e.apply(canonicalReceipt)
			if e.old != "" && text == canonicalReceipt {
				t.Fatalf("the edit %q changed nothing", e.old)
			}
			agreeReceipt(t, receiptFile, []byte(text))
		})
	}
	t.Run("the receipt as crmops writes it takes the fast path", func(t *testing.T) {
		if _, ok := fastReceipt(receiptFile, []byte(canonicalReceipt)); !ok {
			t.Error("fastReceipt refused the canonical receipt")
		}
	})
}

func TestTheFastPathAgreesOnFilesWithUnusualValues(t *testing.T) {
	dir := t.TempDir()
	writeHistory(t, dir)
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(p)
		switch {
		case strings.HasSuffix(p, ReceiptSuffix):
			agreeReceipt(t, name, data)
		case IsBatchFile(p):
			agreeBatch(t, name, data)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("only %d files", n)
	}
}

// writeHistory writes batches and receipts with Encode, as crmops
// does, with values YAML must quote or escape.
func writeHistory(t *testing.T, dir string) {
	t.Helper()
	values := []string{"VP Sales", "VP: Sales #1", "multi\nline", "  spaces  ", "Zoë", "yes", "1.50", "null", "~", "@alice", `"quoted"`, "it's", "- dash", "2026-01-01", "0x1F", "true", "[list]", "{map}", "a|b", "tab\there"}
	created := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	for i, v := range values {
		at := created.Add(time.Duration(i) * time.Hour)
		set := Change{ID: "c1", Kind: "enrichment", Object: "contacts", Record: fmt.Sprint(1000 + i), Op: OpSet,
			Field: "jobtitle", Before: "", After: v, Source: "clay", Confidence: float64(i) / float64(len(values)), Trigger: "import", Reason: v}
		if i%2 == 1 {
			set.Before, set.After = v, "x"
		}
		merge := Change{ID: "c2", Kind: "dedupe", Object: "contacts", Record: fmt.Sprint(2000 + i), Op: OpMerge,
			MergeFrom: v + "-loser", Source: "dedupe", Confidence: 1, Snapshot: map[string]string{"email": v, "n": fmt.Sprint(i)}}
		if strings.ContainsAny(v, "\n") {
			merge.MergeFrom = fmt.Sprint(3000 + i)
		}
		b := &Batch{Version: 1, Created: at.Add(time.Duration(i) * time.Nanosecond * 1000), Detector: "enrichment", Title: v, Changes: []Change{set, merge}}
		if i%3 == 0 {
			b.Review = v
		}
		b.ID = NewID(b.Created, b.Detector, b.Changes)
		path := filepath.Join(dir, filepath.FromSlash(Path(b.ID)))
		writeFile(t, path, b)
		rc := &Receipt{Version: 1, Batch: b.ID, ExecutedBy: "crmops/" + v, MergeCommit: v,
			Approval: Approval{Mode: []string{"auto", "approved", "refused"}[i%3], Policy: v, Rules: []string{v, "default"}, PullRequest: i}}
		if rc.Approval.Mode == "approved" {
			rc.Approval.Approvers = []Approver{{Login: v, At: at}}
		}
		if rc.Approval.Mode == "refused" {
			rc.Approval.Refused = v
		}
		for _, c := range b.Changes {
			rc.Changes = append(rc.Changes, ChangeResult{ID: c.ID, Status: []string{"applied", "stale", "failed", "skipped", "already_applied"}[i%5], ObservedBefore: v, After: c.After, At: at, Error: v})
		}
		writeFile(t, ReceiptPath(path), rc)
	}
}

func writeFile(t *testing.T, path string, v any) {
	t.Helper()
	data, err := Encode(v)
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

// parseYAML returns the root yaml.v3 builds for data, or false where the
// strict decoder would refuse the file before decoding it.
func parseYAML(data []byte) (*yaml.Node, bool) {
	if len(data) > strictyaml.MaxSize || !utf8.Valid(data) {
		return nil, false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, false
	}
	return doc.Content[0], true
}

// sameTree reports where two YAML trees differ in what decoding reads:
// kind, tag, value, quoting, line (Pos is made of lines) and children.
func sameTree(a, b *yaml.Node, path string) string {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Style != b.Style || a.Line != b.Line || len(a.Content) != len(b.Content) {
		return fmt.Sprintf("%s: canonical %v %s %q style %v line %d (%d children), yaml.v3 %v %s %q style %v line %d (%d children)",
			path, a.Kind, a.Tag, a.Value, a.Style, a.Line, len(a.Content), b.Kind, b.Tag, b.Value, b.Style, b.Line, len(b.Content))
	}
	for i := range a.Content {
		if d := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// agreeTree checks that when canonical parses data, yaml.v3 builds the same
// tree. It reports whether canonical took it.
func agreeTree(t *testing.T, data []byte) bool {
	t.Helper()
	mine, ok := canonical(data)
	if !ok {
		return false
	}
	theirs, ok := parseYAML(data)
	if !ok {
		t.Fatalf("canonical parses what yaml.v3 refuses:\n%s", data)
	}
	if d := sameTree(mine, theirs, ""); d != "" {
		t.Fatalf("%s\n%s", d, data)
	}
	return true
}

func TestTheCanonicalParserBuildsTheTreeYAMLBuilds(t *testing.T) {
	took := 0
	for _, e := range batchEdits {
		t.Run("a batch with "+e.name, func(t *testing.T) {
			if agreeTree(t, []byte(e.apply(canonicalBatch))) {
				took++
			}
		})
	}
	for _, e := range receiptEdits {
		t.Run("a receipt with "+e.name, func(t *testing.T) {
			if agreeTree(t, []byte(e.apply(canonicalReceipt))) {
				took++
			}
		})
	}
	if took < (len(batchEdits)+len(receiptEdits))/3 {
		t.Errorf("the canonical parser took only %d files", took)
	}
	t.Run("it takes the files as crmops writes them", func(t *testing.T) {
		for name, text := range map[string]string{"batch": canonicalBatch, "receipt": canonicalReceipt} {
			if !agreeTree(t, []byte(text)) {
				t.Errorf("canonical refused the %s", name)
			}
		}
		dir := t.TempDir()
		writeHistory(t, dir)
		took, all := 0, 0
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			all++
			if agreeTree(t, data) {
				took++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("canonical took %d of %d files with unusual values", took, all)
	})
	t.Run("it and the fast path take every file of an everyday history", func(t *testing.T) {
		created := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
		values := [][2]string{{"", "VP Sales"}, {"Sales", "Head of Marketing"}, {"", "+14155550108"}, {"lead", "marketingqualifiedlead"},
			{"", "valid"}, {"17", "42"}, {"", "Zoë Ünal"}, {"", "anne.o'neil@example.com"}, {"1000", "1200.50"}, {"", "R&D, EMEA (Paris)"}}
		for i, v := range values {
			changes := []Change{
				{ID: "c1", Kind: "enrichment", Object: "contacts", Record: fmt.Sprint(1001 + i), Op: OpSet, Field: "jobtitle",
					Before: v[0], After: v[1], Source: "clay", Confidence: 0.9 + float64(i)/100, Trigger: "import", Reason: "Clay row matched by email; field empty in CRM"},
				{ID: "c2", Kind: "dedupe", Object: "contacts", Record: "12", Op: OpMerge, MergeFrom: "13", Source: "dedupe", Confidence: 1,
					Trigger: "rule", Reason: "same email, name similarity 0.96", Snapshot: map[string]string{"email": "a@x.com", "firstname": "Ann", "phone": "+4930123"}},
			}
			at := created.Add(time.Duration(i) * time.Hour)
			b := &Batch{Version: 1, Created: at, Detector: "enrichment", Title: "Fill 2 empty job titles from Clay", Changes: changes}
			if i%2 == 0 {
				b.Review = "this run's auto changes passed limits.max_auto_changes_per_run (500)"
			}
			b.ID = NewID(at, "enrichment", changes)
			rc := &Receipt{Version: 1, Batch: b.ID, ExecutedBy: "crmops/v1.4.0", MergeCommit: "89abcdef0123456789abcdef0123456789abcdef",
				Approval: Approval{Mode: "approved", Approvers: []Approver{{Login: "alice", At: at}}, Policy: "policies/default.yaml@0123456789abcdef0123456789abcdef01234567",
					Rules: []string{"enrichment-fill-empty", "dedupe-always-review"}, PullRequest: 40 + i}}
			if i%3 == 0 {
				rc.Approval = Approval{Mode: "auto", Rules: []string{"enrichment-fill-empty"}}
			}
			for _, c := range changes {
				rc.Changes = append(rc.Changes, ChangeResult{ID: c.ID, Status: "applied", ObservedBefore: c.Before, After: c.After, At: at.Add(time.Minute)})
			}
			path := Path(b.ID)
			for _, v := range []any{b, rc} {
				data, err := Encode(v)
				if err != nil {
					t.Fatal(err)
				}
				if !agreeTree(t, data) {
					t.Errorf("canonical refused:\n%s", data)
				}
				took := false
				if v == any(rc) {
					took = agreeReceipt(t, ReceiptPath(path), data)
				} else {
					took = agreeBatch(t, path, data)
				}
				if !took {
					t.Errorf("the fast path refused:\n%s", data)
				}
			}
		}
	})
}
