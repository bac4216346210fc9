package review

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

// Render writes a batch as a reviewer reads it: each change as a diff of its
// field with the policy's decision and the rule that made it.
func Render(w io.Writer, b *batch.Batch, bv policy.BatchVerdict) {
	fmt.Fprintf(w, "batch    %s\ntitle    %s\ndetector %s\ncreated  %s\ndecision %s (rules: %s; approvals needed: %d)\n",
		b.ID, b.Title, b.Detector, b.Created.UTC().Format("2006-01-02 15:04:05Z"), bv.Decision, strings.Join(bv.Rules, ", "), bv.Approvals)
	if b.Review != "" {
		fmt.Fprintf(w, "review   %s\n", b.Review)
	}
	for i, c := range b.Changes {
		v := policy.Verdict{}
		if i < len(bv.Changes) {
			v = bv.Changes[i]
		}
		fmt.Fprintln(w)
		if c.TwoRecords() {
			verb := "merge %s/%s into %s/%s"
			if c.Op == batch.OpUnmerge {
				verb = "unmerge %s/%s from %s/%s"
			}
			fmt.Fprintf(w, "%s  "+verb+"  [%s: %s]\n", c.ID, c.Object, c.MergeFrom, c.Object, c.Record, v.Decision, v.Rule)
			if len(c.Snapshot) > 0 {
				keys := make([]string, 0, len(c.Snapshot))
				for k := range c.Snapshot {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				fmt.Fprintf(w, "    merged record as detected:\n")
				for _, k := range keys {
					fmt.Fprintf(w, "      %s: %s\n", k, c.Snapshot[k])
				}
			}
		} else {
			fmt.Fprintf(w, "%s  %s/%s  %s  [%s: %s]\n", c.ID, c.Object, c.Record, c.Field, v.Decision, v.Rule)
			for _, line := range Diff(c.Before, c.After) {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
		fmt.Fprintf(w, "    %s · source %s · confidence %.2f", c.Kind, c.Source, c.Confidence)
		if c.Trigger != "" {
			fmt.Fprintf(w, " · trigger %s", c.Trigger)
		}
		fmt.Fprintln(w)
		if c.Reason != "" {
			fmt.Fprintf(w, "    why: %s\n", c.Reason)
		}
	}
}

// longValue is where a plain before/after pair stops being readable and an
// inline diff says more.
const longValue = 60

// Diff renders a field change as lines: "- before" / "+ after" for short
// values, and a word-level inline diff ([-gone-]{+new+}) for long ones, so a
// one-word edit in a paragraph is visible at a glance.
func Diff(before, after string) []string {
	show := func(s string) string {
		if s == "" {
			return "(empty)"
		}
		return s
	}
	if len(before) < longValue && len(after) < longValue && !strings.Contains(before+after, "\n") || before == "" {
		return []string{"- " + show(before), "+ " + show(after)}
	}
	dmp := diffmatchpatch.New()
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMain(before, after, false))
	var b strings.Builder
	for _, d := range diffs {
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			b.WriteString("[-" + d.Text + "-]")
		case diffmatchpatch.DiffInsert:
			b.WriteString("{+" + d.Text + "+}")
		default:
			b.WriteString(d.Text)
		}
	}
	lines := strings.Split(b.String(), "\n")
	for i := range lines {
		lines[i] = "~ " + lines[i]
	}
	return lines
}
