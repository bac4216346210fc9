package review

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/policy"
)

// maxBody is the most a pull request body holds: GitHub refuses one over
// 65,536 characters. The budget counts bytes, never fewer than characters,
// and keeps a margin.
const maxBody = 65000

// collapseAfter is how many changes a table shows open; longer tables are
// folded into a <details> block so the page stays readable.
const collapseAfter = 20

// maxValue bounds what one value takes in the body once escaped, so that no
// single value (a title, a source, a snapshot entry) can crowd out the
// rest; a value cut there says so. Long before/after values are shown as a
// diff, whole or not at all.
const maxValue = 2000

// maxDiff bounds one long value's diff: a longer one is not shown (the
// batch file has the values), so it cannot take a whole page alone.
const maxDiff = maxBody / 4

// maxSnapshot bounds a row's snapshot listing; the fields past it are
// counted, and the batch file has them.
const maxSnapshot = 4000

// maxSideBySide bounds the rows of one merge's side-by-side table, and
// its survivorship table; the rows past it are counted, and the batch file
// has them.
const maxSideBySide = 8000

// foldMergesAfter is how many merges a body shows open; in a batch with
// more, each merge's side-by-side is folded into a <details> block below
// its one-line summary.
const foldMergesAfter = 3

// instructions tell the reviewer how to decide, and, in a batch with a
// merge, how to take one merge out before approving the rest. They are
// written before the change table and after everything else, always
// outside <details>.
func instructions(b *batch.Batch) string {
	s := "**To decide:** approve this pull request to apply it; request changes or close it to reject it (closed batches are not proposed again).\n"
	if hasMerge(b) {
		s += fmt.Sprintf("\n**To drop a merge before approving:** %s (or edit %s in this pull request and delete the change and the sets that follow it); approvals count only on the commit that results.\n",
			code("crmops review drop "+b.ID+" <change-id>"), code(batch.Path(b.ID)))
	}
	return s
}

// Markdown renders a batch as a pull request body a reviewer can decide
// from: who proposed it, the decision and why, counts by kind and decision,
// one row per change, word-level diffs of long values, each merge's two
// records side by side with its evidence and survivorship sets, and why
// each change was proposed.
//
// Every value in the batch comes from its proposer and is shown through
// display.MarkdownCode: literal, visible, in <code>. The body is built from
// whole pieces (a row, a diff, a merge, a reason) within maxBody: past it,
// only the first changes are listed, as many as fit, the body says how many
// of how many and where the whole batch is, and the instructions stay.
func Markdown(b *batch.Batch, bv policy.BatchVerdict) string {
	file := batch.Path(b.ID)
	var head strings.Builder
	fmt.Fprintf(&head, "**crmops batch** %s", code(b.ID))
	if b.Title != "" {
		fmt.Fprintf(&head, ": %s", code(b.Title))
	}
	head.WriteString("\n\n")
	switch {
	case bv.Proposer.Login == "":
		head.WriteString("- Proposed by: unknown to the forge\n")
	default:
		fmt.Fprintf(&head, "- Proposed by: %s (as the forge knows it)\n", code(bv.Proposer.Login))
	}
	if bv.Proposer.Agent != "" {
		fmt.Fprintf(&head, "- **Through the AI agent** %s (crmops mcp): auto only where a policy rule names it as a proposer\n", code(bv.Proposer.Agent))
	}
	if bv.Proposer.Outside {
		head.WriteString("- **From outside this repository** (a pull request from a fork): its proposer is never trusted with auto decisions\n")
	}
	fmt.Fprintf(&head, "- Detector (as the batch says): %s\n", code(b.Detector))
	fmt.Fprintf(&head, "- Batch file: %s\n", code(file))
	if bv.Frozen {
		head.WriteString("\n> **The repository is frozen** (policy `freeze: true`): every change the policy would apply automatically needs review until the freeze is lifted.\n")
	}
	fmt.Fprintf(&head, "\nDecision under the base branch's policy: **%s** (rules: %s)", bv.Decision, codeList(bv.Rules))
	if bv.Decision == policy.Review {
		fmt.Fprintf(&head, "; approvals needed: **%d**, on the latest commit, from someone other than the author", bv.Approvals)
	}
	head.WriteString(".\n")
	if bv.Why != "" {
		fmt.Fprintf(&head, "\nWhy: %s.\n", text(bv.Why))
	}
	if b.Review != "" {
		fmt.Fprintf(&head, "\n> Needs review (as the batch says): %s\n", code(b.Review))
	}
	instr := instructions(b)
	head.WriteString("\n" + instr)
	head.WriteString("\n" + countsTable(b, bv))

	// A merge's reason is its evidence, shown with its records; so is the
	// reason of a set that follows a merge (the rule that kept its value).
	merges := map[string]bool{}
	for _, c := range b.Changes {
		if c.Op == batch.OpMerge {
			merges[c.ID] = true
		}
	}
	foldMerges := len(merges) > foldMergesAfter

	// The first changes whose pieces fit, each whole: as many as the body
	// can hold. Each change's pieces stand alone, so a diff longer than
	// maxDiff (never shown: its row says so) leaves the changes after it
	// their turn.
	l := layout{head: head.String(), instructions: instr, file: file, total: len(b.Changes)}
	body := l.page(nil)
	pieces := make([]piece, 0, len(b.Changes))
	for i, c := range b.Changes {
		p := piece{long: isLong(c)}
		switch {
		case c.Op == batch.OpMerge:
			p.merge = mergeBlock(b, i, foldMerges)
		case c.Reason != "" && !merges[c.Follows]:
			p.reason = fmt.Sprintf("- **%s** %s: %s\n", code(c.ID), code(c.Object+"/"+c.Record), codeLines(c.Reason))
		}
		// A diff holds all of before or all of after, escaped: when either
		// alone is maxDiff long, the diff is longer, and it is not computed.
		if p.long && max(len(c.Before), len(c.After)) < maxDiff {
			d := fmt.Sprintf("**%s** %s %s:\n\n> <code>%s</code>\n", code(c.ID), code(c.Object+"/"+c.Record), code(c.Field), wordDiffHTML(c.Before, c.After))
			if len(d) <= maxDiff {
				p.diff = d
			}
		}
		p.row = row(c, verdict(bv, i), p.long, p.diff != "")
		next := l.page(append(pieces, p))
		if len(next) > maxBody {
			break
		}
		pieces, body = append(pieces, p), next
	}
	return body
}

// piece is what one change adds to the body: its row in the change table,
// and the diff, merge or reason shown below the table.
type piece struct {
	row    string
	long   bool   // its before/after reads as a diff
	diff   string // the diff, when long and short enough to show
	merge  string // a merge's side-by-side
	reason string
}

// layout is the body around the changes' pieces.
type layout struct {
	head, instructions, file string
	total                    int // changes in the batch
}

const changeHeader = "| change | record | field | before → after | source | confidence | decision |\n|---|---|---|---|---|---|---|\n"

// page is the body showing pieces, the first len(pieces) changes: past
// collapseAfter the table is folded, and when it shows fewer changes than
// the batch has, the body says so and where the whole batch is.
func (l layout) page(pieces []piece) string {
	shown := len(pieces)
	var s strings.Builder
	s.WriteString(l.head)
	if shown < l.total {
		fmt.Fprintf(&s, "\n> **Showing %d of %d changes**; the full batch is in %s in this pull request.\n", shown, l.total, code(l.file))
	}
	var table strings.Builder
	var diffs, merges []string
	omitted := 0
	var reasons strings.Builder
	table.WriteString(changeHeader)
	for _, p := range pieces {
		table.WriteString(p.row)
		switch {
		case p.diff != "":
			diffs = append(diffs, p.diff)
		case p.long:
			omitted++
		}
		if p.merge != "" {
			merges = append(merges, p.merge)
		}
		reasons.WriteString(p.reason)
	}
	if shown > collapseAfter {
		what := fmt.Sprintf("All %d changes", shown)
		if shown < l.total {
			what = fmt.Sprintf("The first %d of %d changes", shown, l.total)
		}
		fmt.Fprintf(&s, "\n<details><summary>%s</summary>\n\n%s\n</details>\n", what, table.String())
	} else {
		s.WriteString("\n" + table.String())
	}
	if len(diffs) > 0 {
		s.WriteString("\n#### Long values\n\n" + strings.Join(diffs, "\n"))
	}
	if omitted > 0 {
		fmt.Fprintf(&s, "\n%d long value(s) are too long for this page; %s has them.\n", omitted, code(l.file))
	}
	if len(merges) > 0 {
		s.WriteString("\n#### Merges, side by side\n\n" + strings.Join(merges, "\n"))
	}
	if reasons.Len() > 0 {
		s.WriteString("\n<details><summary>Why each change was proposed</summary>\n\n" + reasons.String() + "\n</details>\n")
	}
	s.WriteString("\n" + l.instructions)
	return s.String()
}

// mergeBlock shows the merge at b.Changes[i]: a line saying what merges
// into what, how many fields differ and the confidence; then the two
// records side by side, the evidence and the survivorship sets that follow
// the merge, folded into <details> when fold is set. Its <summary> holds
// crmops' words only: it is HTML, where escaping for Markdown would not
// hold.
func mergeBlock(b *batch.Batch, i int, fold bool) string {
	c := b.Changes[i]
	pairs := sideBySide(c)
	count := map[compared]int{}
	for _, p := range pairs {
		count[p.compared]++
	}
	var s strings.Builder
	fmt.Fprintf(&s, "**%s** merges %s into %s: ", code(c.ID), code(c.Object+"/"+c.MergeFrom), code(c.Object+"/"+c.Record))
	if count[unknown] > 0 || len(pairs) == 0 {
		s.WriteString("the batch does not record both records' fields")
	} else {
		fmt.Fprintf(&s, "**%d of %d field(s) differ**, %d only on one side", count[differs], len(pairs), count[onlySurvivor]+count[onlyMerged])
	}
	fmt.Fprintf(&s, "; confidence %.2f.\n", c.Confidence)

	var body strings.Builder
	body.WriteString(pairsTable(c, pairs))
	body.WriteString("\nEvidence (as the batch says): ")
	if c.Reason == "" {
		body.WriteString("*none given*")
	} else {
		body.WriteString(codeLines(c.Reason))
	}
	fmt.Fprintf(&body, "; confidence **%.2f**.\n", c.Confidence)
	body.WriteString(survivorship(b, c.ID))
	if fold {
		fmt.Fprintf(&s, "\n<details><summary>Side by side, evidence and survivorship</summary>\n\n%s\n</details>\n", body.String())
	} else {
		s.WriteString("\n" + body.String())
	}
	return s.String()
}

// pairsTable is a merge's two records side by side, one row per field.
func pairsTable(c batch.Change, pairs []fieldPair) string {
	if len(pairs) == 0 {
		return "The batch records the fields of neither record (no `snapshot`, no `survivor_snapshot`).\n"
	}
	var s strings.Builder
	switch {
	case len(c.SurvivorSnapshot) == 0:
		s.WriteString("The batch records no fields of the survivor (no `survivor_snapshot`): nothing can be compared.\n\n")
	case len(c.Snapshot) == 0:
		s.WriteString("The batch records no fields of the merged record (no `snapshot`): nothing can be compared.\n\n")
	}
	fmt.Fprintf(&s, "| field | survivor %s | merged %s | compared |\n|---|---|---|---|\n", code(c.Object+"/"+c.Record), code(c.Object+"/"+c.MergeFrom))
	side := func(v string, in bool, snap map[string]string) string {
		switch {
		case in:
			return value(v)
		case len(snap) == 0:
			return "*(not recorded)*"
		}
		return "*(no such field)*"
	}
	s.WriteString(within(len(pairs), func(k int) string {
		p := pairs[k]
		mark := p.compared.label()
		if p.compared != same && p.compared != unknown {
			mark = "**" + mark + "**"
		}
		return fmt.Sprintf("| %s | %s | %s | %s |\n", code(p.field),
			side(p.survivor, p.inSurvivor, c.SurvivorSnapshot), side(p.merged, p.inMerged, c.Snapshot), mark)
	}, func(k int) string {
		n := 0
		for _, p := range pairs[k:] {
			if p.compared != same {
				n++
			}
		}
		return fmt.Sprintf("| *%d more field(s), %d of them not the same: see the batch file* | | | |\n", len(pairs)-k, n)
	}))
	return s.String()
}

// survivorship lists the sets that follow the merge with id: the value
// survivorship keeps for each field, and the rule the change gives.
func survivorship(b *batch.Batch, id string) string {
	fs := followers(b, id)
	if len(fs) == 0 {
		return fmt.Sprintf("\nNo set follows %s: it writes no survivorship value.\n", code(id))
	}
	var s strings.Builder
	fmt.Fprintf(&s, "\nSurvivorship, the sets that follow %s:\n\n| set | field | survivor's value → kept value | rule (as the batch says) |\n|---|---|---|---|\n", code(id))
	s.WriteString(within(len(fs), func(k int) string {
		f := b.Changes[fs[k]]
		rule := "*(none given)*"
		if f.Reason != "" {
			rule = codeLines(f.Reason)
		}
		return fmt.Sprintf("| %s | %s | %s → %s | %s |\n", code(f.ID), code(f.Field), value(f.Before), value(f.After), rule)
	}, func(k int) string {
		return fmt.Sprintf("| *%d more set(s): see the change table and the batch file* | | | |\n", len(fs)-k)
	}))
	return s.String()
}

// within joins the rows row(0), row(1), ... of n while they fit in
// maxSideBySide bytes; past it, more(k) stands for the rows from k on.
func within(n int, row func(k int) string, more func(k int) string) string {
	var s strings.Builder
	for k := range n {
		r := row(k)
		if s.Len()+len(r) > maxSideBySide {
			s.WriteString(more(k))
			break
		}
		s.WriteString(r)
	}
	return s.String()
}

// row is one change's table row; diffShown says whether a long value's
// diff is below the table.
func row(c batch.Change, v policy.Verdict, long, diffShown bool) string {
	field, what := code(c.Field), ""
	switch {
	case c.TwoRecords():
		field = "*" + display.Markdown(c.Op) + "*"
		what = code(c.Object+"/"+c.MergeFrom) + " merged into this record; side by side below"
		if c.Op == batch.OpUnmerge {
			what = code(c.Object+"/"+c.MergeFrom) + " split out of this record again, "
			if len(c.Snapshot) > 0 {
				what += "written with: " + snapshot(c.Snapshot)
			} else {
				what += "with no snapshot to write"
			}
		}
	case long && diffShown:
		what = "see diff below"
	case long:
		what = "too long to show a diff here; see the batch file"
	default:
		what = value(c.Before) + " → " + value(c.After)
	}
	if c.Follows != "" {
		what += " (survivorship of " + code(c.Follows) + ")"
	}
	decision := fmt.Sprintf("%s (%s)", display.Markdown(string(v.Decision)), code(v.Rule))
	if v.Why != "" {
		decision += ": " + text(v.Why)
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %.2f | %s |\n",
		code(c.ID), code(c.Object+"/"+c.Record), field, what, code(c.Source), c.Confidence, decision)
}

// isLong reports a set whose values read better as a diff than side by side.
func isLong(c batch.Change) bool { return !c.TwoRecords() && long(c.Before, c.After) }

func verdict(bv policy.BatchVerdict, i int) policy.Verdict {
	if i < len(bv.Changes) {
		return bv.Changes[i]
	}
	return policy.Verdict{}
}

// snapshot lists an unmerge's snapshot as key = value, in key order,
// within maxSnapshot bytes; the fields past it are counted.
func snapshot(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var s strings.Builder
	for i, k := range keys {
		e := code(k) + " = " + value(m[k])
		if i > 0 {
			e = ", " + e
		}
		if s.Len()+len(e) > maxSnapshot {
			fmt.Fprintf(&s, " and %d more field(s) (see the batch file)", len(keys)-i)
			break
		}
		s.WriteString(e)
	}
	return s.String()
}

func countsTable(b *batch.Batch, bv policy.BatchVerdict) string {
	counts := map[string]map[policy.Decision]int{}
	for i, c := range b.Changes {
		if counts[c.Kind] == nil {
			counts[c.Kind] = map[policy.Decision]int{}
		}
		counts[c.Kind][verdict(bv, i).Decision]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var s strings.Builder
	s.WriteString("| kind | auto | review | deny |\n|---|---|---|---|\n")
	for i, k := range kinds {
		line := fmt.Sprintf("| %s | %d | %d | %d |\n", code(k), counts[k][policy.Auto], counts[k][policy.Review], counts[k][policy.Deny])
		if s.Len()+len(line) > maxSnapshot {
			fmt.Fprintf(&s, "| %d more kind(s) | | | |\n", len(kinds)-i)
			break
		}
		s.WriteString(line)
	}
	return s.String()
}

// wordDiffHTML marks removed words with <del> and added ones with <ins>,
// which GitHub renders as struck-through and underlined; each piece is
// escaped with display.MarkdownLines, line breaks shown as <br>.
func wordDiffHTML(before, after string) string {
	var s strings.Builder
	for _, d := range diffValues(before, after) {
		text := display.MarkdownLines(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			s.WriteString("<del>" + text + "</del>")
		case diffmatchpatch.DiffInsert:
			s.WriteString("<ins>" + text + "</ins>")
		default:
			s.WriteString(text)
		}
	}
	return s.String()
}

// value shows a before, after or snapshot value: code, or *(empty)*.
func value(v string) string {
	if v == "" {
		return "*(empty)*"
	}
	return code(v)
}

// code shows a value from the batch (or a name from the policy) as
// display.MarkdownCode, cut at maxValue with a note saying so.
func code(s string) string {
	v, cut := clip(s, display.Markdown)
	out := "<code>" + v + "</code>"
	if cut {
		out += fmt.Sprintf(" … (cut here: %d characters in all, see the batch file)", utf8.RuneCountInString(s))
	}
	return out
}

// codeLines is code for prose that may span lines (a reason).
func codeLines(s string) string {
	v, cut := clip(s, display.MarkdownLines)
	out := "<code>" + v + "</code>"
	if cut {
		out += fmt.Sprintf(" … (cut here: %d characters in all, see the batch file)", utf8.RuneCountInString(s))
	}
	return out
}

// text shows crmops' own words that quote values (a verdict's why):
// escaped, not code.
func text(s string) string {
	v, cut := clip(s, display.Markdown)
	if cut {
		v += " …"
	}
	return v
}

// clip escapes s and, if that is longer than maxValue, escapes only the
// longest prefix of s (cut between characters) whose escaped form fits.
// display's escapers decide each character by what precedes it, so the
// escaped prefix is whole markup, and a longer prefix never escapes
// shorter: the prefix is found by binary search.
func clip(s string, escape func(string) string) (string, bool) {
	out := escape(s)
	if len(out) <= maxValue {
		return out, false
	}
	cuts := make([]int, 0, len(s)) // where s may be cut: between characters, and at its end
	for i := range s {
		cuts = append(cuts, i)
	}
	cuts = append(cuts, len(s))
	k := sort.Search(len(cuts), func(k int) bool { return len(escape(s[:cuts[k]])) > maxValue })
	return escape(s[:cuts[k-1]]), true
}

func codeList(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = code(s)
	}
	return strings.Join(out, ", ")
}
