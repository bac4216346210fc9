package review

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

// The pull-request body's limits are behaviour a reviewer sees: each is
// tested where it bites, one byte under, at, and over.

func set(id, field, before, after string) batch.Change {
	return batch.Change{ID: id, Kind: "enrichment", Object: "contacts", Record: "1", Op: "set", Field: field, Before: before, After: after, Source: "clay", Confidence: 0.9}
}

const cutNote = " … (cut here: %d characters in all, see the batch file)"

func TestAValueIsCutAtTheLongestPrefixWhoseEscapeFits(t *testing.T) {
	a := strings.Repeat
	tests := []struct {
		name, in, want string
	}{
		{"a value of exactly maxValue bytes is whole", a("a", maxValue), "<code>" + a("a", maxValue) + "</code>"},
		{"one byte more is cut to maxValue", a("a", maxValue+1), "<code>" + a("a", maxValue) + "</code>" + fmt.Sprintf(cutNote, maxValue+1)},
		{"an escape that ends exactly at maxValue stays", a("a", maxValue-2) + "||", "<code>" + a("a", maxValue-2) + `\|` + "</code>" + fmt.Sprintf(cutNote, maxValue)},
		{"an escape that would pass maxValue goes whole", a("a", maxValue-1) + "||", "<code>" + a("a", maxValue-1) + "</code>" + fmt.Sprintf(cutNote, maxValue+1)},
		{"a character that ends exactly at maxValue stays", a("a", maxValue-2) + "éb", "<code>" + a("a", maxValue-2) + "é</code>" + fmt.Sprintf(cutNote, maxValue)},
		{"a character is never split", a("a", maxValue-1) + "éb", "<code>" + a("a", maxValue-1) + "</code>" + fmt.Sprintf(cutNote, maxValue+1)},
		{"a value whose every character escapes to more than maxValue is cut to nothing", "\x1b" + a("a", maxValue), "<code>⟨U+001B⟩" + a("a", maxValue-len("⟨U+001B⟩")) + "</code>" + fmt.Sprintf(cutNote, maxValue+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := code(tt.in); got != tt.want {
				t.Errorf("code: got %d bytes %q…, want %d bytes %q…", len(got), tail(got), len(tt.want), tail(tt.want))
			}
		})
	}
	t.Run("prose is cut at whole lines and characters too", func(t *testing.T) {
		in := a("a\n", maxValue/5) // each line escapes to a<br>: maxValue bytes
		if got := codeLines(in); got != "<code>"+a("a<br>", maxValue/5)+"</code>" {
			t.Errorf("codeLines of %d lines that fit: %q…", maxValue/5, tail(got))
		}
		if got := codeLines(in + "a"); got != "<code>"+a("a<br>", maxValue/5)+"</code>"+fmt.Sprintf(cutNote, 2*(maxValue/5)+1) {
			t.Errorf("codeLines of one character more: %q…", tail(got))
		}
	})
	t.Run("crmops' own words are cut with an ellipsis", func(t *testing.T) {
		if got := text(a("x", maxValue)); got != a("x", maxValue) {
			t.Errorf("text of maxValue bytes: %q…", tail(got))
		}
		if got := text(a("x", maxValue+1)); got != a("x", maxValue)+" …" {
			t.Errorf("text of one byte more: %q…", tail(got))
		}
	})
}

func tail(s string) string {
	if len(s) > 80 {
		return "…" + s[len(s)-80:]
	}
	return s
}

func TestAValueLongerThanLongValueReadsAsADiff(t *testing.T) {
	short, long := strings.Repeat("x", longValue), strings.Repeat("y", longValue+1)
	tests := []struct {
		name          string
		before, after string
		diff          bool
	}{
		{"before and after of longValue bytes side by side", short, short + "", false},
		{"an after one byte longer as a diff", short, long, true},
		{"a before one byte longer as a diff", long, short, true},
		{"a line feed in before as a diff", "a\nb", "c", true},
		{"a line feed in after as a diff", "a", "b\nc", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := Diff(tt.before, tt.after)
			if got := strings.HasPrefix(lines[0], "~ "); got != tt.diff {
				t.Errorf("terminal: Diff = %q, a diff: %v, want %v", lines, got, tt.diff)
			}
			b := &batch.Batch{Version: 1, ID: "b", Detector: "d", Changes: []batch.Change{set("c1", "about", tt.before, tt.after)}}
			_, doc := gfm(t, Markdown(b, policy.BatchVerdict{}))
			rows := changeRows(t, doc)
			if got := len(rows) == 1 && rows[0][3] == "see diff below"; got != tt.diff {
				t.Errorf("body: the row reads %q, a diff: %v, want %v", rows, got, tt.diff)
			}
		})
	}
	if got := Diff("", long); strings.Join(got, "\n") != "- (empty)\n+ "+long {
		t.Errorf("a long value filling an empty field is no diff in a terminal: %q", got)
	}
}

func TestADiffIsShownUpToMaxDiffBytes(t *testing.T) {
	block := func(n int) string {
		return "**<code>c1</code>** <code>contacts/1</code> <code>about</code>:\n\n> <code><del>x</del><ins>" + strings.Repeat("y", n) + "</ins></code>\n"
	}
	n := maxDiff - len(block(0))
	for _, tt := range []struct {
		n     int
		shown bool
	}{{n, true}, {n + 1, false}} {
		t.Run(fmt.Sprintf("a diff of %d bytes", len(block(tt.n))), func(t *testing.T) {
			b := &batch.Batch{Version: 1, ID: "b", Detector: "d", Changes: []batch.Change{set("c1", "about", "x", strings.Repeat("y", tt.n))}}
			body := Markdown(b, policy.BatchVerdict{})
			if got := strings.Contains(body, "\n#### Long values\n\n"+block(tt.n)+"\n"); got != tt.shown {
				t.Errorf("the diff is shown: %v, want %v", got, tt.shown)
			}
			_, doc := gfm(t, body)
			rows := changeRows(t, doc)
			want := "see diff below"
			if !tt.shown {
				want = "too long to show a diff here; see the batch file"
			}
			if len(rows) != 1 || rows[0][3] != want {
				t.Errorf("the row reads %q, want %q", rows, want)
			}
			note := "\n1 long value(s) are too long for this page; <code>proposals/b.yaml</code> has them.\n"
			if strings.Contains(body, note) == tt.shown {
				t.Errorf("the note on values too long is there: %v, want %v", !tt.shown, !tt.shown)
			}
		})
	}
	t.Run("a value of maxDiff bytes is not diffed", func(t *testing.T) {
		b := &batch.Batch{Version: 1, ID: "b", Detector: "d", Changes: []batch.Change{set("c1", "about", "x", strings.Repeat("y", maxDiff))}}
		if body := Markdown(b, policy.BatchVerdict{}); strings.Contains(body, "<ins>") {
			t.Error("a diff longer than maxDiff is shown")
		}
	})
}

func TestDiffsAreSeparatedAndCounted(t *testing.T) {
	long := strings.Repeat("word ", 20)
	b := &batch.Batch{Version: 1, ID: "b", Detector: "d", Changes: []batch.Change{
		set("c1", "about", long+"a", long+"b"),
		set("c2", "about", "x", strings.Repeat("y", maxDiff)),
		set("c3", "about", long+"c", long+"d"),
		set("c4", "about", "x", strings.Repeat("z", maxDiff)),
	}}
	body := Markdown(b, policy.BatchVerdict{})
	if !strings.Contains(body, "</code>\n\n**<code>c3</code>**") || strings.Count(body, "<ins>") != 2 {
		t.Errorf("two diffs are not one after the other, a blank line between:\n%s", body)
	}
	if !strings.Contains(body, "\n2 long value(s) are too long for this page;") {
		t.Errorf("the diffs left out are not counted:\n%s", body)
	}
}

func TestATableOfMoreThanCollapseAfterChangesIsFolded(t *testing.T) {
	for _, n := range []int{collapseAfter, collapseAfter + 1} {
		t.Run(fmt.Sprintf("%d changes", n), func(t *testing.T) {
			b := &batch.Batch{Version: 1, ID: "b", Detector: "d"}
			for i := range n {
				b.Changes = append(b.Changes, set(fmt.Sprintf("c%d", i+1), "title", "", "x"))
			}
			body := Markdown(b, policy.BatchVerdict{})
			folded := strings.Contains(body, fmt.Sprintf("<details><summary>All %d changes</summary>\n\n| change |", n))
			if folded != (n > collapseAfter) {
				t.Errorf("folded: %v", folded)
			}
			out, doc := gfm(t, body)
			if len(changeRows(t, doc)) != n {
				t.Errorf("the table does not list %d changes:\n%s", n, out)
			}
		})
	}
}

var showingN = regexp.MustCompile(`\*\*Showing (\d+) of (\d+) changes\*\*`)

func shownIn(t *testing.T, body string, total int) int {
	t.Helper()
	m := showingN.FindStringSubmatch(body)
	if m == nil {
		return total
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] != strconv.Itoa(total) {
		t.Errorf("the body says it shows %s of %s changes, the batch has %d", m[1], m[2], total)
	}
	return n
}

// TestTheBodyIsAsLongAsItMayBe pins the body's budget to the byte: a
// change that fits is shown, to exactly maxBody bytes, and one byte more
// leaves it out. The title, in the head, sets the room left for changes.
func TestTheBodyIsAsLongAsItMayBe(t *testing.T) {
	withTitle := func(b *batch.Batch, n int) (string, int) {
		b.Title = "t" + strings.Repeat("t", n)
		body := Markdown(b, policy.BatchVerdict{})
		return body, shownIn(t, body, len(b.Changes))
	}
	t.Run("every change, to the last byte", func(t *testing.T) {
		b := &batch.Batch{Version: 1, ID: "b", Detector: "d"}
		for i := 0; ; i++ {
			b.Changes = append(b.Changes, set(fmt.Sprintf("c%03d", i), "title", "", strings.Repeat("x", 50)))
			b.Changes[i].Reason = "because"
			if body, _ := withTitle(b, 0); len(body) > maxBody-maxValue+100 {
				break
			}
		}
		total := len(b.Changes)
		body, shown := withTitle(b, 0)
		room := maxBody - len(body)
		if shown != total || room <= 0 || room >= maxValue-1 {
			t.Fatalf("the test's batch does not leave room for a title: %d shown, %d bytes left", shown, room)
		}
		if body, shown = withTitle(b, room); len(body) != maxBody || shown != total {
			t.Errorf("a body of exactly maxBody bytes: %d bytes, %d of %d changes shown", len(body), shown, total)
		}
		if body, shown = withTitle(b, room+1); len(body) > maxBody || shown != total-1 {
			t.Errorf("one byte more: %d bytes, %d of %d changes shown, want %d", len(body), shown, total, total-1)
		}
	})
	t.Run("the first changes, to the last byte", func(t *testing.T) {
		b := &batch.Batch{Version: 1, ID: "b", Detector: "d"}
		for i := range 1000 {
			b.Changes = append(b.Changes, set(fmt.Sprintf("c%04d", i), "title", "", "x"))
			b.Changes[i].Reason = strings.Repeat("because ", 30)
		}
		body, shown := withTitle(b, 0)
		room := maxBody - len(body)
		if shown == len(b.Changes) || room < 0 || room >= maxValue-1 {
			t.Fatalf("the test's batch is not cut: %d shown, %d bytes left", shown, room)
		}
		if body, n := withTitle(b, room); len(body) != maxBody || n != shown {
			t.Errorf("a body of exactly maxBody bytes: %d bytes, %d changes shown, want %d", len(body), n, shown)
		}
		if body, n := withTitle(b, room+1); len(body) > maxBody || n != shown-1 {
			t.Errorf("one byte more: %d bytes, %d changes shown, want %d", len(body), n, shown-1)
		}
	})
}

func TestAnUnmergeSnapshotIsListedWithinMaxSnapshot(t *testing.T) {
	// An entry is <code>key</code> = <code>value</code>, entries joined by ", ".
	entry := func(k, v string) string { return "<code>" + k + "</code> = <code>" + v + "</code>" }
	m := map[string]string{}
	used := 0
	for i := range 39 {
		k := fmt.Sprintf("k%03d", i)
		m[k] = strings.Repeat("v", 50)
		used += len(entry(k, m[k])) + len(", ")
	}
	last := maxSnapshot - used - len(entry("k039", ""))
	m["k039"] = strings.Repeat("w", last)
	if got := snapshot(m); len(got) != maxSnapshot || strings.Contains(got, "more field(s)") {
		t.Errorf("a listing of exactly maxSnapshot bytes is %d bytes: %q", len(got), tail(got))
	}
	m["k039"] += "w"
	if got := snapshot(m); !strings.HasSuffix(got, entry("k038", strings.Repeat("v", 50))+" and 1 more field(s) (see the batch file)") {
		t.Errorf("one byte more: %q", tail(got))
	}
	b := &batch.Batch{Version: 1, ID: "b", Detector: "d", Changes: []batch.Change{
		{ID: "u1", Kind: "dedupe", Object: "contacts", Record: "1", Op: "unmerge", MergeFrom: "2", Source: "revert", Confidence: 1},
	}}
	_, doc := gfm(t, Markdown(b, policy.BatchVerdict{}))
	if rows := changeRows(t, doc); len(rows) != 1 || rows[0][3] != "contacts/2 split out of this record again, with no snapshot to write" {
		t.Errorf("an unmerge without a snapshot reads %q", rows)
	}
	var out bytes.Buffer
	Render(&out, b, policy.BatchVerdict{})
	if !strings.Contains(out.String(), "u1  unmerge contacts/2 from contacts/1  [: ]\n    no snapshot to write to the split-out record\n") {
		t.Errorf("render:\n%s", out.String())
	}
}

func TestTheCountsTableListsKindsWithinMaxSnapshot(t *testing.T) {
	const header = "| kind | auto | review | deny |\n|---|---|---|---|\n"
	line := func(kind string) string { return "| <code>" + kind + "</code> | 1 | 0 | 0 |\n" }
	b := &batch.Batch{}
	bv := policy.BatchVerdict{}
	used := len(header)
	for i := 0; used+2*len(line("k000")) < maxSnapshot; i++ {
		k := fmt.Sprintf("k%03d", i)
		b.Changes = append(b.Changes, batch.Change{Kind: k})
		bv.Changes = append(bv.Changes, policy.Verdict{Decision: policy.Auto})
		used += len(line(k))
	}
	lastKind := "z" + strings.Repeat("z", maxSnapshot-used-len(line("z")))
	b.Changes = append(b.Changes, batch.Change{Kind: lastKind})
	bv.Changes = append(bv.Changes, policy.Verdict{Decision: policy.Auto})
	if got := countsTable(b, bv); len(got) != maxSnapshot || !strings.HasSuffix(got, line(lastKind)) {
		t.Errorf("a table of exactly maxSnapshot bytes is %d bytes: %q", len(got), tail(got))
	}
	b.Changes[len(b.Changes)-1].Kind += "z"
	if got := countsTable(b, bv); !strings.HasSuffix(got, "</code> | 1 | 0 | 0 |\n| 1 more kind(s) | | | |\n") {
		t.Errorf("one byte more: %q", tail(got))
	}
	counts := countsTable(&batch.Batch{Changes: []batch.Change{{Kind: "a"}, {Kind: "a"}, {Kind: "a"}, {Kind: "a"}}},
		policy.BatchVerdict{Changes: []policy.Verdict{{Decision: policy.Auto}, {Decision: policy.Review}, {Decision: policy.Review}, {Decision: policy.Deny}}})
	if counts != header+"| <code>a</code> | 1 | 2 | 1 |\n" {
		t.Errorf("counts: %q", counts)
	}
}

func TestASideBySideListsRowsWithinMaxSideBySide(t *testing.T) {
	row := strings.Repeat("r", 99) + "\n"
	rows := func(n int) string {
		return within(n, func(int) string { return row }, func(k int) string { return fmt.Sprintf("%d more from %d", n-k, k) })
	}
	n := maxSideBySide / len(row)
	if got := rows(n); got != strings.Repeat(row, n) {
		t.Errorf("%d rows of exactly maxSideBySide bytes are %d bytes", n, len(got))
	}
	if got := rows(n + 1); got != strings.Repeat(row, n)+fmt.Sprintf("1 more from %d", n) {
		t.Errorf("one row more: %q", tail(got))
	}

	// Past the limit, a reviewer is told how many fields are left out and
	// how many of them are not the same on both sides.
	c := batch.Change{Op: "merge", Object: "contacts", Record: "1", MergeFrom: "2", SurvivorSnapshot: map[string]string{}, Snapshot: map[string]string{}}
	for i := range 100 {
		c.SurvivorSnapshot[fmt.Sprintf("a%03d", i)] = strings.Repeat("v", 50)
		c.Snapshot[fmt.Sprintf("a%03d", i)] = strings.Repeat("v", 50)
		c.SurvivorSnapshot[fmt.Sprintf("b%03d", i)] = strings.Repeat("v", 50)
		c.Snapshot[fmt.Sprintf("b%03d", i)] = strings.Repeat("w", 50)
	}
	c.Snapshot["c"] = "only merged"
	sameRow := len("| <code>a000</code> | <code>" + strings.Repeat("v", 50) + "</code> | <code>" + strings.Repeat("v", 50) + "</code> | same |\n")
	fit := maxSideBySide / sameRow // all same: the a rows come first
	got := pairsTable(c, sideBySide(c))
	if want := fmt.Sprintf("| *%d more field(s), %d of them not the same: see the batch file* | | | |\n", 201-fit, 101); !strings.HasSuffix(got, want) {
		t.Errorf("the side by side ends %q, want %q", tail(got), want)
	}
	if n := strings.Count(got, " | same |\n"); n != fit {
		t.Errorf("%d rows shown, want %d", n, fit)
	}

	b := &batch.Batch{Version: 1, ID: "b", Changes: []batch.Change{{ID: "m1", Op: "merge", Object: "contacts", Record: "1", MergeFrom: "2"}}}
	for i := range 200 {
		b.Changes = append(b.Changes, batch.Change{ID: fmt.Sprintf("s%03d", i), Op: "set", Object: "contacts", Record: "1", Field: "f", Before: "a", After: strings.Repeat("b", 50), Follows: "m1"})
	}
	setRow := len("| <code>s000</code> | <code>f</code> | <code>a</code> → <code>" + strings.Repeat("b", 50) + "</code> | *(none given)* |\n")
	if got, want := survivorship(b, "m1"), fmt.Sprintf("| *%d more set(s): see the change table and the batch file* | | | |\n", 200-maxSideBySide/setRow); !strings.HasSuffix(got, want) {
		t.Errorf("the survivorship ends %q, want %q", tail(got), want)
	}
}

func TestASideBySideOfAMergedRecordNotRecorded(t *testing.T) {
	c := batch.Change{ID: "m1", Op: "merge", Object: "contacts", Record: "1", MergeFrom: "2", SurvivorSnapshot: map[string]string{"email": "a@x"}}
	b := &batch.Batch{Version: 1, ID: "b", Detector: "d", Changes: []batch.Change{c}}
	body := Markdown(b, policy.BatchVerdict{})
	_, doc := gfm(t, body)
	sides, bold := tableRows(doc, "field", "survivor contacts/1", "merged contacts/2", "compared")
	if len(sides) != 1 {
		t.Fatalf("no side by side:\n%s", body)
	}
	checkCells(t, "the side by side", sides[0], [][]string{{"email", "a@x", "(not recorded)", "not recorded"}})
	if bold[0][0][3] {
		t.Error("a field that cannot be compared is marked as a difference")
	}
	if !strings.Contains(textOf(doc), "The batch records no fields of the merged record (no snapshot): nothing can be compared.") {
		t.Errorf("the body does not say the merged record is not recorded:\n%s", body)
	}
	var out bytes.Buffer
	Render(&out, b, policy.BatchVerdict{})
	if want := "    the batch records no fields of the merged record (no snapshot): nothing can be compared\n" +
		"                   field  survivor contacts/1  merged contacts/2\n" +
		"    not recorded   email  a@x                  (not recorded)\n"; !strings.Contains(out.String(), want) {
		t.Errorf("render lacks\n%s\nin\n%s", want, out.String())
	}
	b.Changes[0].SurvivorSnapshot = nil
	out.Reset()
	Render(&out, b, policy.BatchVerdict{})
	if !strings.Contains(out.String(), "m1  merge contacts/2 into contacts/1  [: ]\n    the batch records the fields of neither record\n     · source ") {
		t.Errorf("render of a merge without fields:\n%s", out.String())
	}
}

func TestASideBySideColumnIsPaddedToMaxColumnAtMost(t *testing.T) {
	for _, n := range []int{maxColumn, maxColumn + 1} {
		v := strings.Repeat("é", n)
		c := batch.Change{ID: "m1", Op: "merge", Object: "o", Record: "1", MergeFrom: "2",
			SurvivorSnapshot: map[string]string{"a": v, "b": "x"}, Snapshot: map[string]string{"a": "y", "b": "x"}}
		var out bytes.Buffer
		renderSideBySide(&out, c)
		col := min(n, maxColumn) + 2
		want := fmt.Sprintf("    %-15s%-7s%s\n", "differs", "a", v+strings.Repeat(" ", max(col-n, 2))+"y") +
			fmt.Sprintf("    %-15s%-7s%-*s%s\n", "same", "b", col, "x", "x")
		if !strings.HasSuffix(out.String(), want) {
			t.Errorf("a value of %d characters:\n%s\nwant\n%s", n, out.String(), want)
		}
	}
}

func TestADiffNeverConfusesAValueWithItsPlaceholders(t *testing.T) {
	// Invisible characters are diffed as private-use stand-ins; a value
	// holding the first stand-in itself is not mistaken for one.
	long := strings.Repeat("word ", 15)
	got := strings.Join(Diff(long+"\x1b\x1b", long+"\U000F0000\x1b"), "\n")
	if want := "~ " + long + "[-⟨U+001B⟩-]{+\U000F0000+}⟨U+001B⟩"; got != want {
		t.Errorf("Diff = %q, want %q", got, want)
	}
	got = strings.Join(Diff(long+"\x1b\x07", long+"\x07\x1b"), "\n")
	if want := "~ " + long + "[-⟨U+001B⟩-]⟨U+0007⟩{+⟨U+001B⟩+}"; got != want {
		t.Errorf("Diff = %q, want %q", got, want)
	}
}
