package workflows_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/check"
	"github.com/crmops/crmops/internal/workflows"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, data, property string
	}{
		{"plain text is kept", "changes[1].confidence is outside 0..1", "changes[1].confidence is outside 0..1", "changes[1].confidence is outside 0..1"},
		{"percent is encoded first, so escapes are not decoded twice", "100% %0A", "100%25 %250A", "100%25 %250A"},
		{"line breaks cannot end the command", "a\nb\r\nc", "a%0Ab%0D%0Ac", "a%0Ab%0D%0Ac"},
		{"colons and commas delimit properties only", "a: b, c", "a: b, c", "a%3A b%2C c"},
		{"an injected command stays text", "x\n::error::pwned", "x%0A::error::pwned", "x%0A%3A%3Aerror%3A%3Apwned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := workflows.EscapeData(tt.in); got != tt.data {
				t.Errorf("EscapeData(%q) = %q, want %q", tt.in, got, tt.data)
			}
			if got := workflows.EscapeProperty(tt.in); got != tt.property {
				t.Errorf("EscapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
			}
		})
	}
}

func TestPosition(t *testing.T) {
	tests := []struct {
		name, file, err string
		wantFile        string
		wantLine        int
		wantMsg         string
	}{
		{"file, line and key", "proposals/2026-11/x.yaml", "proposals/2026-11/x.yaml:12: changes[1].confidence: 1.5 is outside 0..1",
			"proposals/2026-11/x.yaml", 12, "changes[1].confidence: 1.5 is outside 0..1"},
		{"file without a line", "proposals/x.yaml", "proposals/x.yaml: file is empty", "proposals/x.yaml", 0, "file is empty"},
		{"a key that looks like a number is not a line", "proposals/x.yaml", "proposals/x.yaml: 12x: unknown key", "proposals/x.yaml", 0, "12x: unknown key"},
		{"an error that does not start with the file is kept whole", "proposals/x.yaml", "open /repo/proposals/x.yaml: permission denied",
			"proposals/x.yaml", 0, "open /repo/proposals/x.yaml: permission denied"},
		{"without the row's file, a leading file:line is used", "", "proposals/y.yaml:3: batch: must not be empty", "proposals/y.yaml", 3, "batch: must not be empty"},
		{"a leading file:line naming another file is not trusted", "proposals/x.yaml", "proposals/y.yaml:3: bad", "proposals/x.yaml", 0, "proposals/y.yaml:3: bad"},
		{"a file name with a colon", "proposals/a:b.yaml", "proposals/a:b.yaml:7: version: unsupported version 2", "proposals/a:b.yaml", 7, "version: unsupported version 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, line, msg := workflows.Position(tt.file, tt.err)
			if file != tt.wantFile || line != tt.wantLine || msg != tt.wantMsg {
				t.Errorf("Position(%q, %q) = %q, %d, %q; want %q, %d, %q", tt.file, tt.err, file, line, msg, tt.wantFile, tt.wantLine, tt.wantMsg)
			}
		})
	}
}

func TestAnnotations(t *testing.T) {
	tests := []struct {
		name string
		rows []check.Row
		want []string
	}{
		{"passing rows give no annotation",
			[]check.Row{{File: "proposals/a.yaml", Batch: "a", Change: "c1", Decision: "auto", Rule: "r"}, {File: "proposals/a.yaml", Batch: "a", Change: "c2", Decision: "review", Rule: "default"}},
			nil},
		{"an invalid file is annotated at its line",
			[]check.Row{{File: "proposals/2026-11/x.yaml", Batch: "x", Error: "proposals/2026-11/x.yaml:12: changes[1].confidence: 1.5 is outside 0..1"}},
			[]string{"::error file=proposals/2026-11/x.yaml,line=12,title=crmops check::changes[1].confidence: 1.5 is outside 0..1"}},
		{"an error without a line is annotated at the file",
			[]check.Row{{File: "proposals/x.yaml", Batch: "x", Error: "proposals/x.yaml: file is empty"}},
			[]string{"::error file=proposals/x.yaml,title=crmops check::file is empty"}},
		{"a denied change names the change and the rule",
			[]check.Row{{File: "proposals/a.yaml", Batch: "a", Change: "c3", Decision: "deny", Rule: "no-phones"}},
			[]string{"::error file=proposals/a.yaml,title=crmops check::change c3 is denied by rule no-phones"}},
		{"a newline in an error cannot start a command of its own",
			[]check.Row{{File: "proposals/x.yaml", Error: "proposals/x.yaml:3: evil\n::add-mask::x: unknown key"}},
			[]string{"::error file=proposals/x.yaml,line=3,title=crmops check::evil%0A::add-mask::x: unknown key"}},
		{"properties are escaped",
			[]check.Row{{File: "proposals/a,b:c.yaml", Change: "c1", Decision: "deny", Rule: "r"}},
			[]string{"::error file=proposals/a%2Cb%3Ac.yaml,title=crmops check::change c1 is denied by rule r"}},
		{"rows keep their order, passing ones are skipped",
			[]check.Row{
				{File: "proposals/a.yaml", Change: "c1", Decision: "deny", Rule: "r1"},
				{File: "proposals/a.yaml", Change: "c2", Decision: "auto", Rule: "r2"},
				{File: "proposals/b.yaml", Error: "proposals/b.yaml:1: version: unsupported version 2"},
			},
			[]string{
				"::error file=proposals/a.yaml,title=crmops check::change c1 is denied by rule r1",
				"::error file=proposals/b.yaml,line=1,title=crmops check::version: unsupported version 2",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := workflows.Annotations(tt.rows)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Annotations =\n%q\nwant\n%q", got, tt.want)
			}
			for _, a := range got {
				if strings.ContainsAny(a, "\r\n") {
					t.Errorf("annotation %q spans lines", a)
				}
			}
		})
	}
}

func TestSummaryMarkdown(t *testing.T) {
	rows := []check.Row{
		{File: "proposals/a.yaml", Batch: "a", Change: "c1", Decision: "auto", Rule: "enrichment-fill-empty"},
		{File: "proposals/a.yaml", Batch: "a", Change: "c2", Decision: "deny", Rule: "no-phones"},
		{File: "proposals/b.yaml", Batch: "b", Error: "proposals/b.yaml:4: changes[0].x|y: unknown key <script>\nnext"},
	}
	tests := []struct {
		name string
		rows []check.Row
		want string
	}{
		{"no rows", nil, "### crmops check\n\nNo batch files to check.\n"},
		{"counts, then one table row per check row, escaped", rows, "### crmops check\n\n" +
			"**❌ failed**: 2 file(s), 2 change(s) (1 auto, 0 review, 1 deny), 1 invalid file(s).\n\n" +
			"| File | Batch | Change | Decision | Rule | Error |\n" +
			"| --- | --- | --- | --- | --- | --- |\n" +
			"| proposals/a.yaml | a | c1 | auto | enrichment-fill-empty |  |\n" +
			"| proposals/a.yaml | a | c2 | deny | no-phones |  |\n" +
			`| proposals/b.yaml | b |  |  |  | proposals/b.yaml\:4\: changes\[0\].x\|y\: unknown key \<script\>⟨U+000A⟩next |` + "\n"},
		{"a passing check says so", rows[:1], "### crmops check\n\n" +
			"**✅ passed**: 1 file(s), 1 change(s) (1 auto, 0 review, 0 deny), 0 invalid file(s).\n\n" +
			"| File | Batch | Change | Decision | Rule | Error |\n" +
			"| --- | --- | --- | --- | --- | --- |\n" +
			"| proposals/a.yaml | a | c1 | auto | enrichment-fill-empty |  |\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := workflows.SummaryMarkdown(tt.rows); got != tt.want {
				t.Errorf("SummaryMarkdown =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}

	t.Run("a summary over the budget keeps failed rows first and counts the rest", func(t *testing.T) {
		defer workflows.SetSummaryBudget(1200)()
		var many []check.Row
		for i := range 40 {
			many = append(many, check.Row{File: "proposals/a.yaml", Batch: "a", Change: fmt.Sprintf("c%02d", i), Decision: "auto", Rule: "r"})
		}
		many = append(many, check.Row{File: "proposals/z.yaml", Batch: "z", Change: "last", Decision: "deny", Rule: "no-phones"})
		got := workflows.SummaryMarkdown(many)
		if len(got) > 1200 {
			t.Errorf("summary is %d bytes, over the 1200-byte budget", len(got))
		}
		header := "| --- | --- | --- | --- | --- | --- |\n"
		if !strings.Contains(got, header+"| proposals/z.yaml | z | last | deny | no-phones |  |\n") {
			t.Errorf("the denied row does not come first:\n%s", got)
		}
		if !strings.Contains(got, "more row(s) left out") {
			t.Errorf("the summary does not say rows were left out:\n%s", got)
		}
	})
}

func TestMarkdownCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"proposals/2026-11/x.yaml", "proposals/2026-11/x.yaml"},
		{"a|b", `a\|b`},
		{"line\nbreak\r\nand\rmore", "line⟨U+000A⟩break⟨U+000D⟩⟨U+000A⟩and⟨U+000D⟩more"},
		{"<img src=x>", `\<img src=x\>`},
		{"<!-- hide", `\<\!-- hide`},
		{"[link](http://x) `code` *em* _em_ ~del~", `\[link\](http\://x) \` + "`code\\` " + `\*em\* \_em\_ \~del\~`},
		{"evil\u202Etxt\u200B\x1b[2K", `evil⟨U+202E⟩txt⟨U+200B⟩⟨U+001B⟩\[2K`},
		{`back\slash`, `back\\slash`},
	}
	for _, tt := range tests {
		if got := workflows.MarkdownCell(tt.in); got != tt.want {
			t.Errorf("MarkdownCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCommandsAndTokens(t *testing.T) {
	a, b := workflows.NewToken(), workflows.NewToken()
	if a == b || len(a) < 20 {
		t.Errorf("tokens %q and %q are not unique and long", a, b)
	}
	if got := workflows.StopCommands("tok"); got != "::stop-commands::tok" {
		t.Errorf("StopCommands = %q", got)
	}
	if got := workflows.ResumeCommands("tok"); got != "::tok::" {
		t.Errorf("ResumeCommands = %q", got)
	}
	if got := workflows.Command("warning", []workflows.Property{{Name: "file", Value: ""}, {Name: "title", Value: "t"}}, "m"); got != "::warning title=t::m" {
		t.Errorf("Command with an empty property = %q", got)
	}
	env := map[string]string{"GITHUB_ACTIONS": "true"}
	if !workflows.InActions(func(k string) string { return env[k] }) {
		t.Error("InActions is false with GITHUB_ACTIONS=true")
	}
	if workflows.InActions(func(string) string { return "" }) {
		t.Error("InActions is true outside Actions")
	}
}

func TestAppendSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(path, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := workflows.AppendSummary(path, "### crmops check\n"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "earlier step\n### crmops check\n" {
		t.Errorf("summary file = %q; earlier content must be kept", got)
	}
	if err := workflows.AppendSummary(filepath.Join(t.TempDir(), "missing", "dir", "summary.md"), "x"); err == nil {
		t.Error("AppendSummary into a missing directory succeeded")
	}
}
