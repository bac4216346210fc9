package review

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

// maxBody keeps a pull request body under GitHub's 65,536-character limit
// with room for the closing note.
const maxBody = 60000

// collapseAfter is how many changes a table shows open; longer tables are
// folded into a <details> block so the page stays readable.
const collapseAfter = 20

// Markdown renders a batch as a pull request body a reviewer can decide
// from: the decision and why, counts by kind and decision, one row per
// change, and word-level diffs of long values.
func Markdown(b *batch.Batch, bv policy.BatchVerdict) string {
	var s strings.Builder
	fmt.Fprintf(&s, "**crmops batch** `%s`, proposed by `%s`.\n\n", b.ID, b.Detector)
	fmt.Fprintf(&s, "Decision under the base branch's policy: **%s** (rules: %s)", bv.Decision, code(bv.Rules))
	if bv.Decision == policy.Review {
		fmt.Fprintf(&s, "; approvals needed: **%d**, on the latest commit, from someone other than the author", bv.Approvals)
	}
	s.WriteString(".\n")
	if b.Review != "" {
		fmt.Fprintf(&s, "\n> Needs review: %s\n", cell(b.Review))
	}
	s.WriteString("\n" + countsTable(b, bv) + "\n")

	var rows strings.Builder
	rows.WriteString("| change | record | field | before → after | source | confidence | decision |\n|---|---|---|---|---|---|---|\n")
	var long []string
	for i, c := range b.Changes {
		v := bv.Changes[i]
		what, field := "", c.Field
		if c.TwoRecords() {
			field = "*" + c.Op + "*"
			what = fmt.Sprintf("`%s/%s` merged into this record", c.Object, c.MergeFrom)
			if c.Op == batch.OpUnmerge {
				what = fmt.Sprintf("`%s/%s` split out of this record again", c.Object, c.MergeFrom)
			}
		} else if len(c.Before) > longValue || len(c.After) > longValue || strings.ContainsAny(c.Before+c.After, "\n") {
			what = "see diff below"
			long = append(long, fmt.Sprintf("**%s** `%s/%s` %s:\n\n> %s\n", c.ID, c.Object, c.Record, c.Field, wordDiffHTML(c.Before, c.After)))
		} else {
			what = value(c.Before) + " → " + value(c.After)
		}
		fmt.Fprintf(&rows, "| %s | `%s/%s` | %s | %s | %s | %.2f | %s (`%s`) |\n",
			c.ID, c.Object, c.Record, cell(field), what, cell(c.Source), c.Confidence, v.Decision, v.Rule)
	}
	table := rows.String()
	if len(b.Changes) > collapseAfter {
		table = fmt.Sprintf("<details><summary>All %d changes</summary>\n\n%s\n</details>\n", len(b.Changes), table)
	}
	s.WriteString(table)
	if len(long) > 0 {
		s.WriteString("\n#### Long values\n\n" + strings.Join(long, "\n"))
	}
	reasons := reasonsList(b)
	if reasons != "" {
		fmt.Fprintf(&s, "\n<details><summary>Why each change was proposed</summary>\n\n%s\n</details>\n", reasons)
	}
	s.WriteString("\nApprove this pull request to apply it; request changes or close it to reject it (closed batches are not proposed again).\n")
	body := s.String()
	if len(body) > maxBody {
		body = body[:maxBody] + fmt.Sprintf("\n\n… truncated: the batch has %d changes; read `proposals/…/%s.yaml` in this pull request.\n", len(b.Changes), b.ID)
	}
	return body
}

func countsTable(b *batch.Batch, bv policy.BatchVerdict) string {
	counts := map[string]map[policy.Decision]int{}
	for i, c := range b.Changes {
		if counts[c.Kind] == nil {
			counts[c.Kind] = map[policy.Decision]int{}
		}
		counts[c.Kind][bv.Changes[i].Decision]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var s strings.Builder
	s.WriteString("| kind | auto | review | deny |\n|---|---|---|---|\n")
	for _, k := range kinds {
		fmt.Fprintf(&s, "| %s | %d | %d | %d |\n", k, counts[k][policy.Auto], counts[k][policy.Review], counts[k][policy.Deny])
	}
	return s.String()
}

func reasonsList(b *batch.Batch) string {
	var s strings.Builder
	for _, c := range b.Changes {
		if c.Reason != "" {
			fmt.Fprintf(&s, "- **%s** `%s/%s`: %s\n", c.ID, c.Object, c.Record, cell(c.Reason))
		}
	}
	return s.String()
}

// wordDiffHTML marks removed words with <del> and added ones with <ins>,
// which GitHub renders as struck-through and underlined.
func wordDiffHTML(before, after string) string {
	dmp := diffmatchpatch.New()
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMain(before, after, false))
	var s strings.Builder
	for _, d := range diffs {
		text := strings.ReplaceAll(htmlEscape(d.Text), "\n", "<br>")
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

func value(v string) string {
	if v == "" {
		return "*(empty)*"
	}
	return "`" + strings.ReplaceAll(v, "`", "'") + "`"
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(htmlEscape(s), "\n", " ")
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func code(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = "`" + s + "`"
	}
	return strings.Join(out, ", ")
}
