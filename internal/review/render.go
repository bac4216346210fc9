package review

import (
	"fmt"
	"io"
	"sort"
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
	t := display.Terminal
	fmt.Fprintf(w, "batch    %s\ntitle    %s\n", t(b.ID), t(b.Title))
	proposer := "unknown to the forge"
	if bv.Proposer.Login != "" {
		proposer = t(bv.Proposer.Login) + " (as the forge knows it)"
	}
	if bv.Proposer.Outside {
		proposer += ", from outside this repository (a fork): never trusted with auto decisions"
	}
	fmt.Fprintf(w, "proposer %s\ndetector %s (as the batch says)\ncreated  %s\n", proposer, t(b.Detector), b.Created.UTC().Format("2006-01-02 15:04:05Z"))
	if bv.Frozen {
		fmt.Fprintf(w, "frozen   the repository is frozen (policy freeze: true): every auto decision is review until it is lifted\n")
	}
	rules := make([]string, len(bv.Rules))
	for i, r := range bv.Rules {
		rules[i] = t(r)
	}
	fmt.Fprintf(w, "decision %s (rules: %s; approvals needed: %d)\n", t(string(bv.Decision)), strings.Join(rules, ", "), bv.Approvals)
	if bv.Why != "" {
		fmt.Fprintf(w, "why      %s\n", t(bv.Why))
	}
	if b.Review != "" {
		fmt.Fprintf(w, "review   %s\n", t(b.Review))
	}
	for i, c := range b.Changes {
		v := verdict(bv, i)
		fmt.Fprintln(w)
		if c.TwoRecords() {
			verb, snap := "merge %s/%s into %s/%s", "merged record as detected:"
			if c.Op == batch.OpUnmerge {
				verb, snap = "unmerge %s/%s from %s/%s", "written to the split-out record:"
			}
			fmt.Fprintf(w, "%s  "+verb+"  [%s: %s]\n", t(c.ID), t(c.Object), t(c.MergeFrom), t(c.Object), t(c.Record), t(string(v.Decision)), t(v.Rule))
			if len(c.Snapshot) > 0 {
				keys := make([]string, 0, len(c.Snapshot))
				for k := range c.Snapshot {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				fmt.Fprintf(w, "    %s\n", snap)
				for _, k := range keys {
					fmt.Fprintf(w, "      %s: %s\n", t(k), t(c.Snapshot[k]))
				}
			} else if c.Op == batch.OpUnmerge {
				fmt.Fprintf(w, "    no snapshot to write to the split-out record\n")
			}
		} else {
			fmt.Fprintf(w, "%s  %s/%s  %s  [%s: %s]\n", t(c.ID), t(c.Object), t(c.Record), t(c.Field), t(string(v.Decision)), t(v.Rule))
			for _, line := range Diff(c.Before, c.After) {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
		if v.Why != "" {
			fmt.Fprintf(w, "    %s\n", t(v.Why))
		}
		fmt.Fprintf(w, "    %s · source %s · confidence %.2f", t(c.Kind), t(c.Source), c.Confidence)
		if c.Trigger != "" {
			fmt.Fprintf(w, " · trigger %s", t(c.Trigger))
		}
		fmt.Fprintln(w)
		if c.Reason != "" {
			fmt.Fprintf(w, "    why: %s\n", strings.Join(display.TerminalLines(c.Reason), "\n         "))
		}
	}
}

// longValue is where a plain before/after pair stops being readable and an
// inline diff says more.
const longValue = 60

// Diff renders a field change as lines: "- before" / "+ after" for short
// values, and a word-level inline diff ([-gone-]{+new+}) for long ones, so a
// one-word edit in a paragraph is visible at a glance. Every piece is
// escaped with display.TerminalLines: a line holds no control, bidi or
// invisible character; only the values' line feeds split lines.
func Diff(before, after string) []string {
	show := func(s string) string {
		if s == "" {
			return "(empty)"
		}
		return display.Terminal(s)
	}
	if len(before) < longValue && len(after) < longValue && !strings.Contains(before+after, "\n") || before == "" {
		return []string{"- " + show(before), "+ " + show(after)}
	}
	var b strings.Builder
	for _, d := range diffValues(before, after) {
		text := strings.Join(display.TerminalLines(d.Text), "\n")
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			b.WriteString("[-" + text + "-]")
		case diffmatchpatch.DiffInsert:
			b.WriteString("{+" + text + "+}")
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
