package propose_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/propose"
	"github.com/crmops/crmops/internal/strictyaml"
)

// jsonChange is one valid change as a JSON line; replace edits it.
const jsonChange = `{"kind": "enrichment", "object": "contacts", "record": "1001", "op": "set", "field": "jobtitle", "before": "", "after": "VP Sales", "source": "clay", "confidence": 0.97, "trigger": "import"}`

func jsonLine(old, new string) string { return strings.Replace(jsonChange, old, new, 1) }

const yamlChanges = `# changes from a script
- kind: enrichment
  object: contacts
  record: "1001"
  op: set
  field: jobtitle
  before: ""
  after: VP Sales
  source: clay
  confidence: 0.97
- kind: dedupe
  object: contacts
  record: "1001"
  op: merge
  merge_from: "1002"
  source: dedupe
  confidence: 0.93
`

func TestReadChangesAcceptsBothFormats(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		records []string
	}{
		{"JSON lines are read one change per line", jsonChange + "\n" + jsonLine(`"1001"`, `"1002"`) + "\n", []string{"1001", "1002"}},
		{"blank lines and comment lines between JSON lines are skipped", jsonChange + "\n\n# next\n" + jsonLine(`"1001"`, `"1003"`) + "\n", []string{"1001", "1003"}},
		{"a last JSON line without a newline is read", jsonChange, []string{"1001"}},
		{"a YAML list is read", yamlChanges, []string{"1001", "1001"}},
		{"a JSON array is read as a YAML list", "[" + jsonChange + ", " + jsonLine(`"1001"`, `"1009"`) + "]", []string{"1001", "1009"}},
		{"a record id given as a number is read as a string", jsonLine(`"1001"`, `1001`), []string{"1001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, err := propose.ReadChanges("in", strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.Record)
			}
			if strings.Join(got, ",") != strings.Join(tt.records, ",") {
				t.Errorf("records = %v, want %v", got, tt.records)
			}
		})
	}
	t.Run("every field of a JSON change is read", func(t *testing.T) {
		changes, err := propose.ReadChanges("in", strings.NewReader(jsonChange))
		if err != nil {
			t.Fatal(err)
		}
		c := changes[0]
		if c.Kind != "enrichment" || c.Object != "contacts" || c.Op != "set" || c.Field != "jobtitle" ||
			c.Before != "" || c.After != "VP Sales" || c.Source != "clay" || c.Confidence != 0.97 || c.Trigger != "import" {
			t.Errorf("change = %+v", c)
		}
	})
}

func TestReadChangesErrors(t *testing.T) {
	good := jsonChange + "\n"
	tests := []struct {
		name  string
		file  string
		input string
		// want is the error's start: file:line: key:
		want string
		msg  string
	}{
		{"a confidence out of range on line 3 is reported on line 3", "in.jsonl",
			good + good + jsonLine("0.97", "1.5") + "\n", "in.jsonl:3: confidence: ", "outside 0..1"},
		{"line numbers count blank and comment lines", "in.jsonl",
			good + "\n# note\n" + jsonLine(`"kind"`, `"kynd"`) + "\n", "in.jsonl:4: kynd: ", "unknown key"},
		{"a quoted confidence is a wrong type", "in.jsonl",
			good + jsonLine("0.97", `"0.97"`) + "\n", "in.jsonl:2: confidence: ", "want a number"},
		{"a missing source is reported on its line", "in.jsonl",
			good + jsonLine(`, "source": "clay"`, "") + "\n", "in.jsonl:2: source: ", "missing required key"},
		{"a set without before is refused", "in.jsonl",
			jsonLine(`"before": "", `, "") + "\n", "in.jsonl:1: before: ", "missing required key for op set"},
		{"an unknown kind is refused", "in.jsonl",
			good + good + good + good + jsonLine(`"enrichment"`, `"magic"`) + "\n", "in.jsonl:5: kind: ", "unknown kind"},
		{"a JSON syntax error names its line", "in.jsonl",
			good + `{"kind": "enrichment",` + "\n", "in.jsonl:2: ", "invalid YAML"},
		{"an item of a YAML list is named by index and line", "in.yaml",
			strings.Replace(yamlChanges, "confidence: 0.93", "confidence: -1", 1), "in.yaml:17: [1].confidence: ", "outside 0..1"},
		{"an unknown key in a YAML list is named by index and line", "in.yaml",
			strings.Replace(yamlChanges, "  merge_from:", "  mergefrom:", 1), "in.yaml:15: [1].mergefrom: ", "unknown key"},
		{"a YAML mapping where a list belongs is refused", "in.yaml",
			"kind: enrichment\n", "in.yaml:1: ", "want changes as JSON lines"},
		{"text that is neither JSON nor YAML says what the input must be", "in.yaml", "not json\n", "in.yaml:1: ", `want changes as JSON lines (one {"kind": ..., "object": ...} per line) or a YAML list (- kind: ...), got "not json"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, err := propose.ReadChanges(tt.file, strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("ReadChanges succeeded, want an error; input:\n%s", tt.input)
			}
			if changes != nil {
				t.Errorf("ReadChanges returned %d changes along with its error; a bad input must propose nothing", len(changes))
			}
			if !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q\nwant prefix %q and %q", err, tt.want, tt.msg)
			}
		})
	}
	t.Run("input over 10 MiB is refused", func(t *testing.T) {
		big := bytes.Repeat([]byte(good), strictyaml.MaxSize/len(good)+1)
		_, err := propose.ReadChanges("big.jsonl", bytes.NewReader(big))
		if err == nil || !strings.Contains(err.Error(), "big.jsonl") {
			t.Errorf("error = %v, want a size error naming the input", err)
		}
	})
	t.Run("a bad change is a strictyaml.Error scripts can inspect", func(t *testing.T) {
		_, err := propose.ReadChanges("in.jsonl", strings.NewReader(good+jsonLine("0.97", "2")))
		var e *strictyaml.Error
		if !errors.As(err, &e) || e.Line != 2 || e.Key != "confidence" {
			t.Errorf("error = %#v", err)
		}
	})
	t.Run("a JSON-lines file that starts with a comment is read as JSON lines", func(t *testing.T) {
		changes, err := propose.ReadChanges("in.jsonl", strings.NewReader("# exported by a script\n"+good+jsonLine(`"1001"`, `"1002"`)+"\n"))
		if err != nil || len(changes) != 2 {
			t.Errorf("ReadChanges = %d changes, %v; want 2 changes", len(changes), err)
		}
	})
}

// A detector or agent with nothing to say sends nothing: that proposes
// nothing, and is not an error that would fail a scheduled job.
func TestReadChangesOfBlankInputIsNoChanges(t *testing.T) {
	for _, input := range []string{"", "\n\n", "# nothing today\n"} {
		changes, err := propose.ReadChanges("in", strings.NewReader(input))
		if err != nil || len(changes) != 0 {
			t.Errorf("ReadChanges(%q) = %d changes, %v; want none and no error", input, len(changes), err)
		}
	}
}
