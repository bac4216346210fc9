package review

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/policy"
)

// dedupeBatch is what the dedupe detector proposes: a merge with both
// records' fields and the sets survivorship writes after it, and a merge
// from a detector that recorded no survivor.
func dedupeBatch() *batch.Batch {
	return &batch.Batch{Version: 1, ID: "20261124T060000Z-dedupe-5e1d07", Created: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), Detector: "dedupe", Title: "Merge 2 duplicate pairs",
		Changes: []batch.Change{
			{ID: "m1", Kind: "dedupe", Object: "contacts", Record: "1001", Op: "merge", MergeFrom: "1002", Source: "dedupe", Confidence: 0.97, Trigger: "rule",
				Reason:           "email exact (+9.1), lastname typo (+5.2), firstname close (+2.4), phone missing (0): match weight 16.7",
				SurvivorSnapshot: map[string]string{"email": "ann@x.com", "firstname": "Ann", "lastname": "Smith", "phone": "+41 44 123 45 67", "city": "Zürich"},
				Snapshot:         map[string]string{"email": "ann@x.com", "firstname": "Anne", "lastname": "Smyth", "mobilephone": "+41 79 000 00 00", "city": "Zürich"}},
			{ID: "s1", Kind: "dedupe", Object: "contacts", Record: "1001", Op: "set", Field: "firstname", Before: "Ann", After: "Anne", Source: "dedupe", Confidence: 0.97, Trigger: "rule",
				Reason: "longest value", Follows: "m1"},
			{ID: "s2", Kind: "dedupe", Object: "contacts", Record: "1001", Op: "set", Field: "mobilephone", After: "+41 79 000 00 00", Source: "dedupe", Confidence: 0.97, Trigger: "rule",
				Reason: "survivor has none: the merged record's", Follows: "m1"},
			{ID: "m2", Kind: "dedupe", Object: "companies", Record: "501", Op: "merge", MergeFrom: "502", Source: "dedupe", Confidence: 0.85, Trigger: "rule",
				Snapshot: map[string]string{"name": "Acme", "domain": "acme.example"}},
		}}
}

func TestSideBySideComparesTheUnionOfBothRecordsFields(t *testing.T) {
	tests := []struct {
		name             string
		survivor, merged map[string]string
		want             []string // field: survivor | merged: comparison
	}{
		{"both records recorded", map[string]string{"b": "1", "a": "x", "c": ""}, map[string]string{"a": "x", "b": "2", "d": ""},
			[]string{"a: x|x: same", "b: 1|2: differs", "c: |: only survivor", "d: |: only merged"}},
		{"an empty value is a value", map[string]string{"a": ""}, map[string]string{"a": "", "b": "y"},
			[]string{"a: |: same", "b: |y: only merged"}},
		{"no survivor recorded", nil, map[string]string{"b": "2", "a": "1"}, []string{"a: |1: not recorded", "b: |2: not recorded"}},
		{"no merged record recorded", map[string]string{"a": "1"}, nil, []string{"a: 1|: not recorded"}},
		{"neither recorded", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range sideBySide(batch.Change{Op: "merge", SurvivorSnapshot: tt.survivor, Snapshot: tt.merged}) {
				if _, in := tt.survivor[p.field]; in != p.inSurvivor {
					t.Errorf("%s: inSurvivor %v", p.field, p.inSurvivor)
				}
				if _, in := tt.merged[p.field]; in != p.inMerged {
					t.Errorf("%s: inMerged %v", p.field, p.inMerged)
				}
				got = append(got, p.field+": "+p.survivor+"|"+p.merged+": "+p.compared.label())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("sideBySide:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// tableRows returns the body rows of every table whose header cells read
// header, cell by cell, and for each cell whether it is bold.
func tableRows(doc *html.Node, header ...string) (tables [][][]string, bold [][][]bool) {
	for _, table := range elements(doc, "table") {
		var th []string
		for _, n := range elements(table, "th") {
			th = append(th, strings.TrimSpace(textOf(n)))
		}
		if strings.Join(th, "\x00") != strings.Join(header, "\x00") {
			continue
		}
		var rows [][]string
		var strong [][]bool
		for _, tbody := range elements(table, "tbody") {
			for _, tr := range elements(tbody, "tr") {
				var cells []string
				var b []bool
				for _, td := range elements(tr, "td") {
					cells = append(cells, strings.TrimSpace(textOf(td)))
					b = append(b, len(elements(td, "strong")) > 0)
				}
				rows, strong = append(rows, cells), append(strong, b)
			}
		}
		tables, bold = append(tables, rows), append(bold, strong)
	}
	return tables, bold
}

func TestPullRequestBodyShowsEachMergeSideBySide(t *testing.T) {
	b := dedupeBatch()
	body := Markdown(b, defaultPolicy(t).EvaluateBatch(b, policy.Proposer{Login: "github-actions[bot]"}))
	golden(t, "merge-body.md", body)
	out, doc := gfm(t, body)
	checkPage(t, out, doc, 0) // every reason is a merge's or its sets': no reasons folded
	checkInstructions(t, doc)

	sides, bold := tableRows(doc, "field", "survivor contacts/1001", "merged contacts/1002", "compared")
	want := [][]string{
		{"city", "Zürich", "Zürich", "same"},
		{"email", "ann@x.com", "ann@x.com", "same"},
		{"firstname", "Ann", "Anne", "differs"},
		{"lastname", "Smith", "Smyth", "differs"},
		{"mobilephone", "(no such field)", "+41 79 000 00 00", "only merged"},
		{"phone", "+41 44 123 45 67", "(no such field)", "only survivor"},
	}
	if len(sides) != 1 {
		t.Fatalf("%d side-by-side tables of m1, want 1:\n%s", len(sides), out)
	}
	checkCells(t, "m1's side by side", sides[0], want)
	for i, r := range bold[0] {
		if marked := want[i][3] != "same"; len(r) == 4 && r[3] != marked {
			t.Errorf("row %q: its comparison is bold: %v, want %v", want[i], r[3], marked)
		}
	}

	sides, _ = tableRows(doc, "field", "survivor companies/501", "merged companies/502", "compared")
	if len(sides) != 1 {
		t.Fatalf("%d side-by-side tables of m2, want 1:\n%s", len(sides), out)
	}
	checkCells(t, "m2's side by side", sides[0], [][]string{
		{"domain", "(not recorded)", "acme.example", "not recorded"},
		{"name", "(not recorded)", "Acme", "not recorded"},
	})

	sets, _ := tableRows(doc, "set", "field", "survivor's value → kept value", "rule (as the batch says)")
	if len(sets) != 1 {
		t.Fatalf("%d survivorship tables, want 1 (m1's):\n%s", len(sets), out)
	}
	checkCells(t, "m1's survivorship", sets[0], [][]string{
		{"s1", "firstname", "Ann → Anne", "longest value"},
		{"s2", "mobilephone", "(empty) → +41 79 000 00 00", "survivor has none: the merged record's"},
	})

	rows := changeRows(t, doc)
	if len(rows) != 4 || rows[0][3] != "contacts/1002 merged into this record; side by side below" ||
		rows[1][3] != "Ann → Anne (survivorship of m1)" {
		t.Errorf("the change table reads %q", rows)
	}
	text := textOf(doc)
	for _, want := range []string{
		"m1 merges contacts/1002 into contacts/1001: 2 of 6 field(s) differ, 2 only on one side; confidence 0.97.",
		"Evidence (as the batch says): email exact (+9.1), lastname typo (+5.2), firstname close (+2.4), phone missing (0): match weight 16.7; confidence 0.97.",
		"m2 merges companies/502 into companies/501: the batch does not record both records' fields; confidence 0.85.",
		"The batch records no fields of the survivor (no survivor_snapshot): nothing can be compared.",
		"Evidence (as the batch says): none given; confidence 0.85.",
		"No set follows m2: it writes no survivorship value.",
		"To drop a merge before approving: crmops review drop 20261124T060000Z-dedupe-5e1d07 <change-id> (or edit proposals/2026-11/20261124T060000Z-dedupe-5e1d07.yaml in this pull request and delete the change and the sets that follow it)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page's text lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "To drop a merge before approving"); n != 2 {
		t.Errorf("the page says how to drop a merge %d times, want with both instructions", n)
	}
	// The reasons of merges and of their sets are with the merges.
	if strings.Contains(body, "Why each change was proposed") {
		t.Error("the merges' reasons are listed again")
	}
}

func checkCells(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s has %d rows, want %d: %q", what, len(got), len(want), got)
		return
	}
	for i := range want {
		if strings.Join(got[i], "\x00") != strings.Join(want[i], "\x00") {
			t.Errorf("%s row %d reads\n %q\nwant\n %q", what, i+1, got[i], want[i])
		}
	}
}

func TestPullRequestBodyWithoutAMergeSaysNothingOfDropping(t *testing.T) {
	b := dedupeBatch()
	b.Changes = b.Changes[3:4]
	b.Changes[0].Op, b.Changes[0].Kind = "unmerge", "dedupe"
	body := Markdown(b, policy.BatchVerdict{})
	if strings.Contains(body, "drop") || strings.Contains(body, "side by side") {
		t.Errorf("a batch without a merge says how to drop one:\n%s", body)
	}
}

func TestPullRequestBodyFoldsSideBySidesPastThreeMerges(t *testing.T) {
	for _, n := range []int{foldMergesAfter, foldMergesAfter + 1} {
		t.Run(fmt.Sprintf("%d merges", n), func(t *testing.T) {
			b := &batch.Batch{Version: 1, ID: "b", Detector: "dedupe"}
			for i := range n {
				b.Changes = append(b.Changes, batch.Change{ID: fmt.Sprintf("m%d", i+1), Kind: "dedupe", Object: "contacts", Record: fmt.Sprint(1000 + 2*i), Op: "merge",
					MergeFrom: fmt.Sprint(1001 + 2*i), Source: "dedupe", Confidence: 0.9,
					SurvivorSnapshot: map[string]string{"email": "a@x"}, Snapshot: map[string]string{"email": "b@x"}})
			}
			body := Markdown(b, policy.BatchVerdict{})
			out, doc := gfm(t, body)
			folds := 0
			if n > foldMergesAfter {
				folds = n
			}
			checkPage(t, out, doc, folds)
			if got := strings.Count(body, "<details><summary>Side by side, evidence and survivorship</summary>"); got != folds {
				t.Errorf("%d side-by-sides folded, want %d", got, folds)
			}
			// Folded or not, each merge's one line is outside <details>.
			for _, p := range elements(doc, "p") {
				if !strings.Contains(textOf(p), "1 of 1 field(s) differ") {
					continue
				}
				n--
				for a := p.Parent; a != nil; a = a.Parent {
					if a.Type == html.ElementNode && a.Data == "details" {
						t.Errorf("%q is folded", textOf(p))
					}
				}
			}
			if n != 0 {
				t.Errorf("%d merges have no line of their own", n)
			}
			sides, _ := tableRows(doc, "field", "survivor contacts/1000", "merged contacts/1001", "compared")
			if len(sides) != 1 {
				t.Fatalf("the first merge's side by side is not a table:\n%s", out)
			}
			checkCells(t, "m1", sides[0], [][]string{{"email", "a@x", "b@x", "differs"}})
		})
	}
}

// hostileMerge carries, in its records' field names and values, what would
// break out of a table cell, start HTML or a block, hide from the reader,
// or pass for crmops' own marks.
func hostileMerge() *batch.Batch {
	return &batch.Batch{Version: 1, ID: "20261124T060000Z-evil-cccccc", Detector: "dedupe",
		Changes: []batch.Change{
			{ID: "m1", Kind: "dedupe", Object: "contacts", Record: "1001|x", Op: "merge", MergeFrom: "1002</details>", Source: "dedupe", Confidence: 0.9,
				Reason: "email exact (+9.1)\n</details>\n# heading\r\n| ✅ same |",
				SurvivorSnapshot: map[string]string{
					"email|compared":   "a@x.com | same |",
					"</details><!--":   "<img src=x onerror=alert(1)>",
					"na\u202Eme":       "Ann\u200B",
					"note":             "**same**\n---\n# h",
					"phone\x1b[2K":     "1\r2",
					"`code`":           "[x](javascript:alert(1))",
					"⟨U+202E⟩":         "⟨U+200B⟩",
					"www.evil.example": "a@evil.example http://evil.example",
				},
				Snapshot: map[string]string{
					"email|compared":   "a@x.com | differs |",
					"</details><!--":   "<img src=x onerror=alert(1)>",
					"na\u202Eme":       "Ann",
					"note":             "**same**\n---\n# h",
					"only\nmerged":     "$x$ &lt; :white_check_mark:",
					"`code`":           "",
					"⟨U+202E⟩":         "⟨U+200B⟩",
					"www.evil.example": "a@evil.example http://evil.example",
				}},
			{ID: "s1|x", Kind: "dedupe", Object: "contacts", Record: "1001|x", Op: "set", Field: "na\u202Eme", Before: "Ann\u200B", After: "<b>Ann</b>",
				Source: "dedupe", Confidence: 0.9, Reason: "longest | ✅\n<!--", Follows: "m1"},
		}}
}

func TestPullRequestBodyShowsHostileRecordsAsText(t *testing.T) {
	b := hostileMerge()
	for _, fold := range []bool{false, true} {
		t.Run(fmt.Sprintf("folded %v", fold), func(t *testing.T) {
			body := Markdown(b, policy.BatchVerdict{})
			details := 0
			if fold {
				body = strings.Replace(body, mergeBlock(b, 0, false), mergeBlock(b, 0, true), 1)
				details = 1
			}
			out, doc := gfm(t, body)
			checkPage(t, out, doc, details)
			checkInstructions(t, doc)
			vis := display.Visible
			sides, _ := tableRows(doc, "field", "survivor "+vis("contacts/1001|x"), "merged "+vis("contacts/1002</details>"), "compared")
			if len(sides) != 1 {
				t.Fatalf("no side-by-side table:\n%s", out)
			}
			pairs := sideBySide(b.Changes[0])
			var want [][]string
			for _, p := range pairs {
				side := func(v string, in bool) string {
					switch {
					case !in:
						return "(no such field)"
					case v == "":
						return "(empty)"
					}
					return vis(v)
				}
				want = append(want, []string{vis(p.field), side(p.survivor, p.inSurvivor), side(p.merged, p.inMerged), p.compared.label()})
			}
			if len(want) != 9 {
				t.Fatalf("%d fields, want 9", len(want))
			}
			checkCells(t, "the side by side", sides[0], want)
			var marks []string
			for _, r := range sides[0] {
				if len(r) == 4 {
					marks = append(marks, r[0]+": "+r[3])
				}
			}
			if got := strings.Join(marks, ", "); got != vis("</details><!--: same, `code`: differs, email|compared: differs, na\u202Eme: differs, note: same, only\nmerged: only merged, phone\x1b[2K: only survivor, www.evil.example: same, ⟨U+202E⟩: same") {
				t.Errorf("the comparisons read %s", got)
			}
			sets, _ := tableRows(doc, "set", "field", "survivor's value → kept value", "rule (as the batch says)")
			if len(sets) != 1 {
				t.Fatalf("no survivorship table:\n%s", out)
			}
			checkCells(t, "the survivorship", sets[0], [][]string{{"s1|x", vis("na\u202Eme"), vis("Ann\u200B") + " → <b>Ann</b>", "longest | ✅<!--"}})
			if text := textOf(doc); !strings.Contains(text, "Evidence (as the batch says): email exact (+9.1)</details># heading⟨U+000D⟩| ✅ same |; confidence 0.90.") {
				t.Errorf("the evidence is not shown as text:\n%s", text)
			}
		})
	}
}

func TestRenderShowsEachMergeSideBySide(t *testing.T) {
	b := dedupeBatch()
	var out bytes.Buffer
	Render(&out, b, defaultPolicy(t).EvaluateBatch(b, policy.Proposer{Login: "github-actions[bot]"}))
	golden(t, "merge-render.txt", out.String())
	for _, want := range []string{
		"m1  merge contacts/1002 into contacts/1001  [review: dedupe-always-review]\n" +
			"                   field        survivor contacts/1001  merged contacts/1002\n" +
			"    same           city         Zürich                  Zürich\n" +
			"    same           email        ann@x.com               ann@x.com\n" +
			"    differs        firstname    Ann                     Anne\n" +
			"    differs        lastname     Smith                   Smyth\n" +
			"    only merged    mobilephone  (no such field)         +41 79 000 00 00\n" +
			"    only survivor  phone        +41 44 123 45 67        (no such field)\n" +
			"    evidence: email exact (+9.1), lastname typo (+5.2), firstname close (+2.4), phone missing (0): match weight 16.7\n" +
			"    dedupe · source dedupe · confidence 0.97 · trigger rule\n" +
			"    survivorship, the sets that follow m1:\n" +
			"      s1  firstname    Ann → Anne                  rule: longest value\n" +
			"      s2  mobilephone  (empty) → +41 79 000 00 00  rule: survivor has none: the merged record's\n",
		"    why: longest value\n    dedupe · source dedupe · confidence 0.97 · trigger rule\n    survivorship of m1: the value it keeps\n",
		"m2  merge companies/502 into companies/501  [review: dedupe-always-review]\n" +
			"    the batch records no fields of the survivor (no survivor_snapshot): nothing can be compared\n" +
			"                   field   survivor companies/501  merged companies/502\n" +
			"    not recorded   domain  (not recorded)          acme.example\n" +
			"    not recorded   name    (not recorded)          Acme\n" +
			"    dedupe · source dedupe · confidence 0.85 · trigger rule\n" +
			"    no set follows m2: it writes no survivorship value\n",
		"\nto drop a merge before approving: crmops review drop 20261124T060000Z-dedupe-5e1d07 <change-id> (or edit proposals/2026-11/20261124T060000Z-dedupe-5e1d07.yaml and delete the change and the sets that follow it)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("render lacks\n%s\nin:\n%s", want, out.String())
		}
	}
}

func TestRenderShowsHostileRecordsAsText(t *testing.T) {
	b := hostileMerge()
	var out bytes.Buffer
	Render(&out, b, policy.BatchVerdict{})
	got := out.String()
	for _, bad := range []string{"\x1b", "\r", "\u202E", "\u200B"} {
		if strings.Contains(got, bad) {
			t.Errorf("the output holds %q:\n%s", bad, got)
		}
	}
	// One line per field, each led by crmops' comparison: a value can
	// neither add a line nor move the mark.
	lines := strings.Split(got, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "m1  merge ") {
			start = i + 2
		}
	}
	if start < 0 {
		t.Fatalf("no merge in:\n%s", got)
	}
	for i, p := range sideBySide(b.Changes[0]) {
		l := lines[start+i]
		mark := fmt.Sprintf("    %-13s  %s", p.compared.label(), display.Terminal(p.field))
		if !strings.HasPrefix(l, mark) {
			t.Errorf("line %d reads %q, want it to start %q", i+1, l, mark)
		}
	}
	if l := lines[start+9]; !strings.HasPrefix(l, "    evidence: email exact (+9.1)") {
		t.Errorf("after the fields comes %q", l)
	}
	for _, want := range []string{
		"    evidence: email exact (+9.1)\n              </details>\n              # heading⟨U+000D⟩\n              | ✅ same |\n",
		"      s1|x  na⟨U+202E⟩me  Ann⟨U+200B⟩ → <b>Ann</b>  rule: longest | ✅⟨U+000A⟩<!--\n",
		"only⟨U+000A⟩merged",
		"phone⟨U+001B⟩[2K",
		"1⟨U+000D⟩2",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("render lacks %q:\n%s", want, got)
		}
	}
}
