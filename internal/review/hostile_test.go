package review

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/policy"
)

// gfm renders Markdown as GitHub does (GFM: tables, strikethrough,
// autolinks, task lists), passing raw HTML through so that HTML a value
// smuggled in would show, and parses the result.
func gfm(t *testing.T, md string) (string, *html.Node) {
	t.Helper()
	var out bytes.Buffer
	g := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := g.Convert([]byte(md), &out); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), doc
}

// crmopsElements are the only elements a body may hold: those crmops
// writes (and the parser's html, head, body).
var crmopsElements = map[string]bool{
	"html": true, "head": true, "body": true, "p": true, "strong": true, "em": true, "code": true,
	"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
	"details": true, "summary": true, "h4": true, "blockquote": true, "ul": true, "li": true,
	"del": true, "ins": true, "br": true,
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func textOf(n *html.Node) string {
	var s strings.Builder
	walk(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			s.WriteString(n.Data)
		}
	})
	return s.String()
}

func elements(doc *html.Node, tag string) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
	})
	return out
}

// changeRows returns the cells of the change table's body rows (the table
// whose first header cell is "change").
func changeRows(t *testing.T, doc *html.Node) [][]string {
	t.Helper()
	for _, table := range elements(doc, "table") {
		th := elements(table, "th")
		if len(th) == 0 || textOf(th[0]) != "change" {
			continue
		}
		if len(th) != 7 {
			t.Errorf("the change table has %d header cells, want 7", len(th))
		}
		var rows [][]string
		for _, tbody := range elements(table, "tbody") {
			for _, tr := range elements(tbody, "tr") {
				var cells []string
				for _, td := range elements(tr, "td") {
					cells = append(cells, strings.TrimSpace(textOf(td)))
				}
				rows = append(rows, cells)
			}
		}
		return rows
	}
	return nil
}

// invisible reports a rune a reader of the page could not see.
func invisible(r rune) bool {
	return r != '\n' && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029)
}

// checkPage asserts what every rendered page must hold: only crmops'
// elements, no comment, no invisible character, every <details> closed.
func checkPage(t *testing.T, out string, doc *html.Node, details int) {
	t.Helper()
	walk(doc, func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			if !crmopsElements[n.Data] {
				t.Errorf("the page holds a <%s> element crmops does not write", n.Data)
			}
			if len(n.Attr) > 0 {
				t.Errorf("<%s> has attributes %v; crmops writes none", n.Data, n.Attr)
			}
		case html.CommentNode:
			t.Errorf("the page holds a comment <!--%s-->", n.Data)
		case html.TextNode:
			for _, r := range n.Data {
				if invisible(r) {
					t.Errorf("the page's text holds the invisible %U in %q", r, n.Data)
				}
			}
		}
	})
	if o, c := strings.Count(out, "<details>"), strings.Count(out, "</details>"); o != details || c != details {
		t.Errorf("the page opens <details> %d times and closes it %d times, want %d", o, c, details)
	}
}

// checkInstructions asserts the approve/reject instructions are on the page
// twice, before and after the changes, outside any <details>.
func checkInstructions(t *testing.T, doc *html.Node) {
	t.Helper()
	for _, p := range elements(doc, "p") {
		if !strings.HasPrefix(textOf(p), "To decide:") {
			continue
		}
		for a := p.Parent; a != nil; a = a.Parent {
			if a.Type == html.ElementNode && a.Data == "details" {
				t.Error("the instructions are inside a <details> block")
			}
		}
	}
	if n := strings.Count(textOf(doc), "To decide: approve this pull request"); n != 2 {
		t.Errorf("the instructions are on the page %d times, want before and after the changes", n)
	}
}

// expectedRow is a change's row as a reader sees it: each value's visible
// form (display.Visible), in crmops' words.
func expectedRow(c batch.Change, v policy.Verdict, diff bool) []string {
	vis := display.Visible
	val := func(s string) string {
		if s == "" {
			return "(empty)"
		}
		return vis(s)
	}
	field, what := vis(c.Field), val(c.Before)+" → "+val(c.After)
	if diff {
		what = "see diff below"
	}
	if c.TwoRecords() {
		field = c.Op
		keys := make([]string, 0, len(c.Snapshot))
		for k := range c.Snapshot {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var snap []string
		for _, k := range keys {
			snap = append(snap, vis(k)+" = "+val(c.Snapshot[k]))
		}
		what = vis(c.Object) + "/" + vis(c.MergeFrom) + " merged into this record; side by side below"
		if c.Op == batch.OpUnmerge {
			what = vis(c.Object) + "/" + vis(c.MergeFrom) + " split out of this record again, written with: " + strings.Join(snap, ", ")
		}
	}
	decision := string(v.Decision) + " (" + vis(v.Rule) + ")"
	if v.Why != "" {
		decision += ": " + vis(v.Why)
	}
	return []string{vis(c.ID), vis(c.Object) + "/" + vis(c.Record), field, what, vis(c.Source), strconv.FormatFloat(c.Confidence, 'f', 2, 64), decision}
}

const img = "<img src=x onerror=alert(1)>"

// hostileBatch carries, in every value a proposer writes, what would break
// out of a table cell, start HTML, a comment, a link, emphasis or a block,
// or hide from the reader.
func hostileBatch() (*batch.Batch, policy.BatchVerdict) {
	b := &batch.Batch{Version: 1, ID: "20261124T060000Z-evil-aaaaaa", Created: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC),
		Detector: "enrichment\u202E|x", Title: "</details><!-- hide", Review: "**now** <!--",
		Changes: []batch.Change{
			{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001`" + img + "`", Op: "set", Field: "job|title",
				Before: "a | ✅ approved", After: "**bold** [link](javascript:alert(1))", Source: "clay\n<!--", Confidence: 0.97,
				Reason: "</details>\n# heading\n---\n<!--"},
			{ID: "c2`x", Kind: "enrichment", Object: "contacts", Record: "1002", Op: "set", Field: "title",
				Before: "ok\rdenied", After: "&lt;b&gt; \u202Eevil\u200B", Source: "`code` | ✅ approved |", Confidence: 0.9},
			{ID: "c3", Kind: "enrichment", Object: "contacts", Record: "1003", Op: "set", Field: "about",
				Before: "Leads the sales team for the DACH region and reports to the chief revenue officer </details>",
				After:  "Leads the sales team for the Nordics " + img + " region\n---\n# heading\n<!-- and reports to the chief revenue officer",
				Source: "www.evil.example http://evil.example a@evil.example", Confidence: 0.9},
			{ID: "c4", Kind: "dedupe", Object: "contacts", Record: "1001", Op: "merge", MergeFrom: "1005<!--",
				Snapshot: map[string]string{"email|x": "a@b.com " + img, "na\u202Eme": "---"}, Source: "dedupe", Confidence: 0.93,
				Reason: "[x](javascript:alert(1)) ![i](http://e/i.png) :white_check_mark: $x$"},
			{ID: "c5", Kind: "dedupe", Object: "contacts", Record: "1001", Op: "unmerge", MergeFrom: "1006",
				Snapshot: map[string]string{"email": "x@y.example", "note": "# heading\n</details>\r"}, Source: "revert", Confidence: 1},
		}}
	bv := policy.BatchVerdict{Decision: policy.Review, Approvals: 1, Rules: []string{"enrichment-overwrite", "dedupe-always-review"},
		Proposer: policy.Proposer{Login: "mallory<b>", Outside: true}, Frozen: true, Why: "the batch asks for review: **now** <!--",
		Changes: []policy.Verdict{
			{Decision: policy.Review, Rule: "invariant:proposer", Why: "proposer \"mallory<b>\" is not trusted | ✅"},
			{Decision: policy.Review, Rule: "enrichment-overwrite"},
			{Decision: policy.Review, Rule: "enrichment-overwrite"},
			{Decision: policy.Review, Rule: "dedupe-always-review"},
			{Decision: policy.Review, Rule: "invariant:never-auto", Why: "an unmerge is never auto"},
		}}
	return b, bv
}

func TestPullRequestBodyShowsHostileValuesAsText(t *testing.T) {
	b, bv := hostileBatch()
	body := Markdown(b, bv)
	out, doc := gfm(t, body)
	checkPage(t, out, doc, 1)
	checkInstructions(t, doc)

	rows := changeRows(t, doc)
	if len(rows) != len(b.Changes) {
		t.Fatalf("the change table has %d rows, want %d:\n%s", len(rows), len(b.Changes), out)
	}
	for i, c := range b.Changes {
		want := expectedRow(c, bv.Changes[i], c.ID == "c3")
		if len(rows[i]) != 7 {
			t.Errorf("row %d has %d cells, want 7: %q", i+1, len(rows[i]), rows[i])
			continue
		}
		for j := range want {
			if rows[i][j] != want[j] {
				t.Errorf("row %d cell %d reads\n %q\nwant\n %q", i+1, j+1, rows[i][j], want[j])
			}
		}
	}

	text := textOf(doc)
	for _, want := range []string{
		"Proposed by: mallory<b> (as the forge knows it)",
		"From outside this repository (a pull request from a fork)",
		"Detector (as the batch says): enrichment⟨U+202E⟩|x",
		"The repository is frozen (policy freeze: true)",
		"Why: the batch asks for review: **now** <!--.",
		"Needs review (as the batch says): **now** <!--",
		"c1 contacts/1001`" + img + "`: </details># heading---<!--", // lines joined by <br>
		"Evidence (as the batch says): [x](javascript:alert(1)) ![i](http://e/i.png) :white_check_mark: $x$; confidence 0.93.",
		"c4 merges contacts/1005<!-- into contacts/1001: the batch does not record both records' fields; confidence 0.93.",
		"DACH regionNordics " + img + " region---# heading<!-- and reports", // <del>, <ins>, <br>
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page's text lacks %q:\n%s", want, text)
		}
	}
	if strings.Count(out, "<del>") == 0 || strings.Count(out, "<ins>") == 0 {
		t.Errorf("the long value's diff is not marked:\n%s", out)
	}
}

func TestMarkdownEscapesEveryValueForAGFMTableCell(t *testing.T) {
	for _, v := range []string{
		"a|b", "a\\|b", "x\n<!--", "`" + img + "`", "[link](javascript:alert(1))", "**bold**", "_em_ ~del~",
		"ok\rno", "evil\u202Etxt", "zero\u200Bwidth", "&lt;b&gt; &amp; &#x202E;", "---", "# heading", "</details>",
		"www.evil.example", "http://evil.example", "a@evil.example", "<http://x>", "1. item", "- item", "> quote",
		"| ✅ approved |", "\\", "trailing \\", "$x$", "[^1]", "[ ] task", "\x1b[2K", "⟨U+202E⟩",
	} {
		t.Run(fmt.Sprintf("%q", v), func(t *testing.T) {
			md := "| a | b |\n|---|---|\n| x " + display.Markdown(v) + " | " + display.MarkdownCode(v) + " |\n"
			out, doc := gfm(t, md)
			checkPage(t, out, doc, 0)
			tds := elements(doc, "td")
			if len(tds) != 2 {
				t.Fatalf("%d cells, want 2:\n%s", len(tds), out)
			}
			if got, want := strings.TrimSpace(textOf(tds[0])), "x "+display.Visible(v); got != want {
				t.Errorf("text cell reads %q, want %q", got, want)
			}
			if got, want := strings.TrimSpace(textOf(tds[1])), display.Visible(v); got != want {
				t.Errorf("code cell reads %q, want %q", got, want)
			}
		})
	}
}

var showing = regexp.MustCompile(`Showing (\d+) of (\d+) changes; the full batch is in (\S+) in this pull request`)

func TestPullRequestBodyOfALargeBatchStaysWholeAndUnderGitHubsLimit(t *testing.T) {
	pol := defaultPolicy(t)
	tests := []struct {
		name   string
		change func(i int) batch.Change
	}{
		{"a thousand short changes", func(i int) batch.Change {
			return batch.Change{ID: fmt.Sprintf("c%d", i+1), Kind: "enrichment", Object: "contacts", Record: fmt.Sprint(1000 + i), Op: "set", Field: "jobtitle",
				After: "VP | Sales <b>", Source: "clay", Confidence: 0.95, Reason: strings.Repeat("because ", 10)}
		}},
		{"a thousand long values", func(i int) batch.Change {
			return batch.Change{ID: fmt.Sprintf("c%d", i+1), Kind: "enrichment", Object: "contacts", Record: fmt.Sprint(1000 + i), Op: "set", Field: "about",
				Before: strings.Repeat("the old text </details> ", 200), After: strings.Repeat("the new text <!-- ", 200), Source: "clay", Confidence: 0.95}
		}},
		{"a thousand huge values", func(i int) batch.Change {
			return batch.Change{ID: fmt.Sprintf("c%d", i+1), Kind: "enrichment", Object: "contacts", Record: strings.Repeat("r|", 5000) + fmt.Sprint(i), Op: "set", Field: "about",
				Before: strings.Repeat("a\n", 40000), After: strings.Repeat("b\u202E", 40000), Source: strings.Repeat("s", 100000), Confidence: 0.95, Reason: strings.Repeat("<!--", 30000)}
		}},
		{"a thousand merges of large records", func(i int) batch.Change {
			survivor, merged := map[string]string{}, map[string]string{}
			for k := range 300 {
				survivor[fmt.Sprintf("field|%03d", k)] = strings.Repeat("<!--", 10)
				merged[fmt.Sprintf("field|%03d", k+k%2)] = strings.Repeat("</details>", 5)
			}
			return batch.Change{ID: fmt.Sprintf("c%d", i+1), Kind: "dedupe", Object: "contacts", Record: fmt.Sprint(1000 + i), Op: "merge", MergeFrom: fmt.Sprint(5000 + i),
				Source: "dedupe", Confidence: 0.9, Reason: strings.Repeat("email exact (+9.1), ", 200), SurvivorSnapshot: survivor, Snapshot: merged}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &batch.Batch{Version: 1, ID: "20261124T060000Z-big-bbbbbb", Detector: "enrichment"}
			for i := range 1000 {
				b.Changes = append(b.Changes, tt.change(i))
			}
			body := Markdown(b, pol.EvaluateBatch(b, policy.Proposer{Login: "github-actions[bot]"}))
			if len(body) > 65536 {
				t.Errorf("body is %d bytes; GitHub refuses more than 65,536 characters", len(body))
			}
			out, doc := gfm(t, body)
			m := showing.FindStringSubmatch(textOf(doc))
			if m == nil || m[2] != "1000" || m[3] != batch.Path(b.ID) {
				t.Fatalf("the body does not say how many changes it shows and where the batch is: %v", m)
			}
			n, _ := strconv.Atoi(m[1])
			if n == 0 || n >= 1000 {
				t.Errorf("the body shows %d of 1000 changes", n)
			}
			details := 1 // the folded table
			if n <= collapseAfter {
				details = 0
			}
			if strings.Contains(body, "Why each change was proposed") {
				details++
			}
			if merges := strings.Count(body, "<details><summary>Side by side, evidence and survivorship</summary>"); merges > 0 {
				details += merges
				if merges != n {
					t.Errorf("%d of the %d merges shown are folded", merges, n)
				}
				if !strings.Contains(body, "more field(s), ") {
					t.Error("a side by side too long for the page does not say how many fields it leaves out")
				}
			}
			checkPage(t, out, doc, details)
			checkInstructions(t, doc)
			rows := changeRows(t, doc)
			if len(rows) != n {
				t.Errorf("the table has %d rows, the note says %d", len(rows), n)
			}
			for i, r := range rows {
				if len(r) != 7 || r[0] != fmt.Sprintf("c%d", i+1) {
					t.Errorf("row %d is not whole: %q", i+1, r)
					break
				}
			}
		})
	}
}
