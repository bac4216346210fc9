package review

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/policy"
)

// Render writes a batch as a reviewer reads it in a terminal: who proposed
// it, then each change as a diff of its field with the policy's decision
// and the rule that made it. Every value goes through display.Terminal, so
// a batch cannot move the cursor, erase what was printed, write a link or
// reorder a line on the reviewer's screen.
func Render(w io.Writer, b *batch.Batch, bv policy.BatchVerdict) {
	RenderColors(w, b, bv, display.NoColor)
}

// RenderColors is Render in colour col: labels and change headers bold,
// removed text red, added text green, each decision in its colour. The
// colours go on text already escaped; with display.NoColor the output is
// Render's, byte for byte.
func RenderColors(w io.Writer, b *batch.Batch, bv policy.BatchVerdict, col display.Colors) {
	t := display.Terminal
	h := col.Header
	fmt.Fprintf(w, "%s    %s\n%s    %s\n", h("batch"), t(b.ID), h("title"), t(b.Title))
	proposer := "unknown to the forge"
	if bv.Proposer.Login != "" {
		proposer = t(bv.Proposer.Login) + " (as the forge knows it)"
	}
	if bv.Proposer.Agent != "" {
		proposer += ", through the AI agent " + t(bv.Proposer.Agent) + " (crmops mcp)"
	}
	if bv.Proposer.Outside {
		proposer += ", from outside this repository (a fork): never trusted with auto decisions"
	}
	fmt.Fprintf(w, "%s %s\n%s %s (as the batch says)\n%s  %s\n", h("proposer"), proposer, h("detector"), t(b.Detector), h("created"), b.Created.UTC().Format("2006-01-02 15:04:05Z"))
	if bv.Frozen {
		fmt.Fprintf(w, "%s   the repository is frozen (policy freeze: true): every auto decision is review until it is lifted\n", h("frozen"))
	}
	rules := make([]string, len(bv.Rules))
	for i, r := range bv.Rules {
		rules[i] = t(r)
	}
	fmt.Fprintf(w, "%s %s (rules: %s; approvals needed: %d)\n", h("decision"), col.Decision(string(bv.Decision)), strings.Join(rules, ", "), bv.Approvals)
	if bv.Why != "" {
		fmt.Fprintf(w, "%s      %s\n", h("why"), t(bv.Why))
	}
	if b.Review != "" {
		fmt.Fprintf(w, "%s   %s\n", h("review"), t(b.Review))
	}
	for i, c := range b.Changes {
		v := verdict(bv, i)
		decided := "[" + col.Decision(string(v.Decision)) + ": " + t(v.Rule) + "]"
		fmt.Fprintln(w)
		switch c.Op {
		case batch.OpMerge:
			fmt.Fprintf(w, "%s  %s\n", h(fmt.Sprintf("%s  merge %s/%s into %s/%s", t(c.ID), t(c.Object), t(c.MergeFrom), t(c.Object), t(c.Record))), decided)
			renderSideBySide(w, c)
		case batch.OpUnmerge:
			fmt.Fprintf(w, "%s  %s\n", h(fmt.Sprintf("%s  unmerge %s/%s from %s/%s", t(c.ID), t(c.Object), t(c.MergeFrom), t(c.Object), t(c.Record))), decided)
			if len(c.Snapshot) == 0 {
				fmt.Fprintf(w, "    no snapshot to write to the split-out record\n")
				break
			}
			fmt.Fprintf(w, "    written to the split-out record:\n")
			for _, k := range slices.Sorted(maps.Keys(c.Snapshot)) {
				fmt.Fprintf(w, "      %s: %s\n", t(k), t(c.Snapshot[k]))
			}
		default:
			fmt.Fprintf(w, "%s  %s\n", h(fmt.Sprintf("%s  %s/%s  %s", t(c.ID), t(c.Object), t(c.Record), t(c.Field))), decided)
			for _, line := range DiffColors(c.Before, c.After, col) {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
		if v.Why != "" {
			fmt.Fprintf(w, "    %s\n", t(v.Why))
		}
		if c.Reason != "" {
			label := "why: "
			if c.Op == batch.OpMerge {
				label = "evidence: "
			}
			fmt.Fprintf(w, "    %s%s\n", label, strings.Join(display.TerminalLines(c.Reason), "\n    "+strings.Repeat(" ", len(label))))
		}
		fmt.Fprintf(w, "    %s · source %s · confidence %.2f", t(c.Kind), t(c.Source), c.Confidence)
		if c.Trigger != "" {
			fmt.Fprintf(w, " · trigger %s", t(c.Trigger))
		}
		fmt.Fprintln(w)
		if c.Follows != "" {
			fmt.Fprintf(w, "    survivorship of %s: the value it keeps\n", t(c.Follows))
		}
		if c.Op == batch.OpMerge {
			renderSurvivorship(w, b, c.ID)
		}
	}
	if hasMerge(b) {
		fmt.Fprintf(w, "\nto drop a merge before approving: crmops review drop %s <change-id> (or edit %s and delete the change and the sets that follow it)\n",
			t(b.ID), t(batch.Path(b.ID)))
	}
}

// maxColumn is the widest a side-by-side column is padded to, in
// characters; a longer value pushes the rest of its own line only.
const maxColumn = 28

// renderSideBySide writes a merge's two records field by field, each line
// led by its comparison: the one column no value can move.
func renderSideBySide(w io.Writer, c batch.Change) {
	t := display.Terminal
	pairs := sideBySide(c)
	switch {
	case len(pairs) == 0:
		fmt.Fprintf(w, "    the batch records the fields of neither record\n")
		return
	case len(c.SurvivorSnapshot) == 0:
		fmt.Fprintf(w, "    the batch records no fields of the survivor (no survivor_snapshot): nothing can be compared\n")
	case len(c.Snapshot) == 0:
		fmt.Fprintf(w, "    the batch records no fields of the merged record (no snapshot): nothing can be compared\n")
	}
	side := func(v string, in bool, snap map[string]string) string {
		switch {
		case !in && len(snap) == 0:
			return "(not recorded)"
		case !in:
			return "(no such field)"
		case v == "":
			return "(empty)"
		}
		return t(v)
	}
	rows := [][3]string{{"field", "survivor " + t(c.Object) + "/" + t(c.Record), "merged " + t(c.Object) + "/" + t(c.MergeFrom)}}
	marks := []string{""}
	for _, p := range pairs {
		rows = append(rows, [3]string{t(p.field), side(p.survivor, p.inSurvivor, c.SurvivorSnapshot), side(p.merged, p.inMerged, c.Snapshot)})
		marks = append(marks, p.compared.label())
	}
	var width [2]int
	for _, r := range rows {
		for col := range width {
			width[col] = max(width[col], min(utf8.RuneCountInString(r[col]), maxColumn))
		}
	}
	for i, r := range rows {
		fmt.Fprintf(w, "    %s%s%s%s\n", pad(marks[i], len("only survivor")), pad(r[0], width[0]), pad(r[1], width[1]), r[2])
	}
}

// renderSurvivorship writes the sets that follow the merge with id.
func renderSurvivorship(w io.Writer, b *batch.Batch, id string) {
	t := display.Terminal
	fs := followers(b, id)
	if len(fs) == 0 {
		fmt.Fprintf(w, "    no set follows %s: it writes no survivorship value\n", t(id))
		return
	}
	fmt.Fprintf(w, "    survivorship, the sets that follow %s:\n", t(id))
	show := func(s string) string {
		if s == "" {
			return "(empty)"
		}
		return t(s)
	}
	var rows [][4]string
	width := [3]int{}
	for _, i := range fs {
		f := b.Changes[i]
		rule := "(none given)"
		if f.Reason != "" {
			rule = t(f.Reason)
		}
		r := [4]string{t(f.ID), t(f.Field), show(f.Before) + " → " + show(f.After), rule}
		for col := range width {
			width[col] = max(width[col], min(utf8.RuneCountInString(r[col]), maxColumn))
		}
		rows = append(rows, r)
	}
	for _, r := range rows {
		fmt.Fprintf(w, "      %s%s%srule: %s\n", pad(r[0], width[0]), pad(r[1], width[1]), pad(r[2], width[2]), r[3])
	}
}

// pad fills s with spaces to n characters, and two more between columns.
func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(n-utf8.RuneCountInString(s), 0)+2)
}

// longValue is where a plain before/after pair stops being readable and an
// inline diff says more: a value longer than this, in bytes.
const longValue = 60

// long reports values that read better as a word diff than as a plain
// before and after: one of them longer than longValue, or either over
// several lines. The terminal and the pull-request body agree on it.
func long(before, after string) bool {
	return len(before) > longValue || len(after) > longValue || strings.Contains(before+after, "\n")
}

// Diff renders a field change as lines: "- before" / "+ after" for short
// values, or when before is empty, and a word-level inline diff
// ([-gone-]{+new+}) for long ones, so a one-word edit in a paragraph is
// visible at a glance. Every piece is
// escaped with display.TerminalLines: a line holds no control, bidi or
// invisible character; only the values' line feeds split lines.
func Diff(before, after string) []string { return DiffColors(before, after, display.NoColor) }

// DiffColors is Diff in colour c: a removed value or piece red, an added
// one green, each line coloured on its own (a pager shows lines one by
// one). The markers stay: the colours repeat what they say.
func DiffColors(before, after string, c display.Colors) []string {
	show := func(s string) string {
		if s == "" {
			return "(empty)"
		}
		return display.Terminal(s)
	}
	if before == "" || !long(before, after) {
		return []string{c.Removed("- " + show(before)), c.Added("+ " + show(after))}
	}
	// paint colours each line of an escaped piece on its own.
	paint := func(text string, col func(string) string) string {
		lines := strings.Split(text, "\n")
		for i, l := range lines {
			lines[i] = col(l)
		}
		return strings.Join(lines, "\n")
	}
	var b strings.Builder
	for _, d := range diffValues(before, after) {
		text := strings.Join(display.TerminalLines(d.Text), "\n")
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			b.WriteString(paint("[-"+text+"-]", c.Removed))
		case diffmatchpatch.DiffInsert:
			b.WriteString(paint("{+"+text+"+}", c.Added))
		default:
			b.WriteString(text)
		}
	}
	lines := strings.Split(b.String(), "\n")
	for i := range lines {
		lines[i] = "~ " + lines[i]
	}
	return lines
}

// diffValues diffs two values word by word for a reader. Each character
// display shows as a token (a control, an invisible character, a byte that
// is not UTF-8) is diffed as one unit, standing in for it as a private-use
// character absent from both values, so that a piece of the diff never
// splits a token nor loses a byte that is not UTF-8; the pieces hold the
// values' own text, to be escaped for their destination.
func diffValues(before, after string) []diffmatchpatch.Diff {
	used := map[rune]bool{}
	for _, r := range before + after {
		used[r] = true
	}
	unit, raw := map[string]rune{}, map[rune]string{}
	next := rune(0xF0000) // supplementary private use area A and B
	runes := func(s string) []rune {
		out := make([]rune, 0, len(s))
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if u := s[i : i+size]; u != "\n" && display.Visible(u) != u {
				p, ok := unit[u]
				for !ok && used[next] {
					next++
				}
				if !ok {
					p, unit[u], raw[next] = next, next, u
					next++
				}
				r = p
			}
			out = append(out, r)
			i += size
		}
		return out
	}
	dmp := diffmatchpatch.New()
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMainRunes(runes(before), runes(after), false))
	for i, d := range diffs {
		var s strings.Builder
		for _, r := range d.Text {
			if u, ok := raw[r]; ok {
				s.WriteString(u)
			} else {
				s.WriteRune(r)
			}
		}
		diffs[i].Text = s.String()
	}
	return diffs
}
