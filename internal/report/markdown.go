package report

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmops/crmops/internal/display"
)

// Colors of the outcomes, in the order of Outcomes, for the Markdown
// chart's palette and the HTML page.
var colors = map[Outcome]string{
	Auto: "#2da44e", Approved: "#0969da", Rejected: "#cf222e", Stale: "#bf8700",
	Failed: "#8250df", Skipped: "#8c959f", Refused: "#953800", Pending: "#54aeff",
}

var colorNames = map[Outcome]string{
	Auto: "green", Approved: "blue", Rejected: "red", Stale: "amber",
	Failed: "purple", Skipped: "grey", Refused: "brown", Pending: "light blue",
}

// Bounds that keep a page readable whatever the history holds; the JSON
// output has everything.
const (
	maxWeeks   = 52  // weeks charted and tabled, the latest
	maxReasons = 10  // rejection reasons shown
	maxHeld    = 10  // held batches listed
	maxName    = 120 // characters of a name (detector, rule, kind, batch) shown
	maxReason  = 300 // characters of a rejection reason shown
)

// Markdown renders the report for a GitHub job summary: a summary, a
// Mermaid chart of weekly volumes by outcome, and tables. Every name and
// reason from a batch, receipt, rejection or policy goes through
// display.MarkdownCode or display.MarkdownLines, so it is literal text.
func Markdown(r *Report) string {
	var s strings.Builder
	s.WriteString("## crmops report\n\n")
	s.WriteString(periodLine(r) + "\n\n")
	if r.Totals.Batches == 0 {
		s.WriteString("No batches were proposed in this period.\n")
		unread(&s, r)
		return s.String()
	}
	fmt.Fprintf(&s, "**%d change(s)** proposed in **%d batch(es)**.\n\n", r.Totals.Proposed, r.Totals.Batches)
	s.WriteString("| outcome | changes | share |\n|---|---:|---:|\n")
	for _, o := range Outcomes {
		fmt.Fprintf(&s, "| %s | %d | %s |\n", o, r.Totals.Of(o), share(r.Totals.Of(o), r.Totals.Proposed))
	}
	fmt.Fprintf(&s, "| **proposed** | **%d** | %s |\n", r.Totals.Proposed, share(r.Totals.Proposed, r.Totals.Proposed))
	s.WriteString("\n*auto* and *approved* count the changes applied (or found already applied) under that decision; *stale*, *failed* and *skipped* the changes apply did not make; *refused* those of batches that reached the base branch without approval evidence; *pending* those still open for review or merged and not yet applied.\n")

	weeks := r.Weeks
	if len(weeks) > maxWeeks {
		weeks = weeks[len(weeks)-maxWeeks:]
	}
	s.WriteString("\n### Weekly volumes by outcome\n\n")
	s.WriteString(mermaid(weeks))
	if len(weeks) < len(r.Weeks) {
		fmt.Fprintf(&s, "\nThe latest %d weeks; the %d before them are in the JSON output (`crmops report --json`).\n", len(weeks), len(r.Weeks)-len(weeks))
	}
	s.WriteString("\n| week | starts | " + countsHeader() + "\n|---|---|" + countsRule() + "\n")
	for _, w := range weeks {
		fmt.Fprintf(&s, "| %s | %s | %s\n", w.Week, w.Start, countsCells(w.Counts))
	}

	table(&s, "By detector", "detector", r.Detectors, "The detector is the batch's (a detector's name, or propose's `--source`); for a rejected batch whose file is gone, the one its id names.")
	table(&s, "By rule", "rule", r.Rules, "A batch counts under every rule its receipt (or, before it is applied, its merge commit) names as deciding it; open and rejected batches have none recorded.")
	table(&s, "By kind", "kind", r.Kinds, "")

	s.WriteString("\n### Time to approval\n\n")
	if a := r.TimeToApproval; a.Batches > 0 {
		s.WriteString("| approved batches | median | p90 | fastest | slowest |\n|---:|---:|---:|---:|---:|\n")
		fmt.Fprintf(&s, "| %d | %s | %s | %s | %s |\n", a.Batches, a.Median, a.P90,
			Duration(seconds(a.MinSeconds)), Duration(seconds(a.MaxSeconds)))
		s.WriteString("\nFrom a batch's `created` time to its first approver's time in its receipt, over the batches applied after a person's approval; p90 is the time within which 90% of them were approved.\n")
	} else {
		s.WriteString("No batch was applied after a person's approval in this period.\n")
	}

	s.WriteString("\n### Top rejection reasons\n\n")
	if rj := r.Rejections; rj.Batches > 0 {
		fmt.Fprintf(&s, "%d batch(es) with %d change(s) were rejected.\n\n", rj.Batches, rj.Changes)
		s.WriteString("| reason | batches | changes |\n|---|---:|---:|\n")
		for i, rs := range rj.Reasons {
			if i == maxReasons {
				fmt.Fprintf(&s, "| *%d more reason(s): see the JSON output* | | |\n", len(rj.Reasons)-i)
				break
			}
			fmt.Fprintf(&s, "| %s | %d | %d |\n", reason(rs.Reason), rs.Batches, rs.Changes)
		}
	} else {
		s.WriteString("No batch was rejected in this period.\n")
	}

	s.WriteString("\n### Blast-radius limits\n\n")
	if l := r.Limits; l.Batches > 0 {
		fmt.Fprintf(&s, "%d batch(es) with %d change(s) were held for review by a limit: a review key (set when a run's auto changes passed a limit) or a recorded rule naming one.\n\n", l.Batches, l.Changes)
		s.WriteString("| limit | batches | changes |\n|---|---:|---:|\n")
		for _, x := range l.ByLimit {
			fmt.Fprintf(&s, "| %s | %d | %d |\n", code(x.Limit), x.Batches, x.Changes)
		}
		s.WriteString("\n| held batch | created | changes | limits |\n|---|---|---:|---|\n")
		for i, hb := range l.Held {
			if i == maxHeld {
				fmt.Fprintf(&s, "| *%d more: see the JSON output* | | | |\n", len(l.Held)-i)
				break
			}
			names := make([]string, len(hb.Limits))
			for k, n := range hb.Limits {
				names[k] = code(n)
			}
			fmt.Fprintf(&s, "| %s | %s | %d | %s |\n", code(hb.Batch), hb.Created.Format(time.DateOnly), hb.Changes, strings.Join(names, ", "))
		}
	} else {
		s.WriteString("No limit held a batch for review in this period.\n")
	}

	s.WriteString("\n### Pending\n\n")
	p := r.Pending
	fmt.Fprintf(&s, "- Open for review: %d batch(es), %d change(s)\n", p.OpenBatches, p.OpenChanges)
	fmt.Fprintf(&s, "- Merged, not yet applied: %d batch(es), %d change(s)\n", p.UnappliedBatches, p.UnappliedChanges)
	unread(&s, r)
	return s.String()
}

func periodLine(r *Report) string {
	period := "all batches"
	if r.Since != nil {
		period = "batches created since " + r.Since.Format("2006-01-02 15:04") + " UTC"
	}
	base := ""
	if r.Base != "" {
		base = fmt.Sprintf(" · **Base:** %s at %s", code(r.Branch), code(short(r.Base)))
	}
	return fmt.Sprintf("**Period:** %s%s · **Generated:** %s UTC", period, base, r.Generated.Format("2006-01-02 15:04"))
}

func unread(s *strings.Builder, r *Report) {
	if len(r.Unread) == 0 {
		return
	}
	fmt.Fprintf(s, "\n### Files not read\n\n%d file(s) could not be read and are counted nowhere:\n\n| file | why |\n|---|---|\n", len(r.Unread))
	for _, p := range r.Unread {
		fmt.Fprintf(s, "| %s | %s |\n", code(p.File), reason(p.Error))
	}
}

func table(s *strings.Builder, title, what string, rows []Row, note string) {
	fmt.Fprintf(s, "\n### %s\n\n| %s | %s\n|---|%s\n", title, what, countsHeader(), countsRule())
	for _, r := range rows {
		fmt.Fprintf(s, "| %s | %s\n", code(r.Name), countsCells(r.Counts))
	}
	if note != "" {
		s.WriteString("\n" + note + "\n")
	}
}

func countsHeader() string {
	h := "batches | proposed |"
	for _, o := range Outcomes {
		h += " " + string(o) + " |"
	}
	return h
}

func countsRule() string { return strings.Repeat("---:|", 2+len(Outcomes)) }

func countsCells(c Counts) string {
	cells := fmt.Sprintf("%d | %d |", c.Batches, c.Proposed)
	for _, o := range Outcomes {
		cells += fmt.Sprintf(" %d |", c.Of(o))
	}
	return cells
}

// mermaid charts weekly changes by outcome. Mermaid's xychart draws bar
// series over one another, not stacked, so each series is a running total
// (all outcomes, then all but the last, ...), drawn largest first: each
// bar shows every outcome as a band of its colour. Only crmops' words and
// numbers are in the chart.
func mermaid(weeks []Week) string {
	var shown []Outcome
	top := 1
	for _, o := range Outcomes {
		n := 0
		for _, w := range weeks {
			n += w.Of(o)
		}
		if n > 0 {
			shown = append(shown, o)
		}
	}
	for _, w := range weeks {
		top = max(top, w.Proposed)
	}
	var palette, legend, labels []string
	for i := len(shown) - 1; i >= 0; i-- {
		palette = append(palette, colors[shown[i]])
	}
	for _, o := range shown {
		legend = append(legend, fmt.Sprintf("%s (%s)", o, colorNames[o]))
	}
	for _, w := range weeks {
		labels = append(labels, `"`+w.Week+`"`)
	}
	var s strings.Builder
	s.WriteString("```mermaid\n")
	fmt.Fprintf(&s, "%%%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"%s\"}}}}%%%%\n", strings.Join(palette, ", "))
	s.WriteString("xychart-beta\n")
	s.WriteString("    title \"Changes proposed per ISO week, by outcome\"\n")
	fmt.Fprintf(&s, "    x-axis [%s]\n", strings.Join(labels, ", "))
	fmt.Fprintf(&s, "    y-axis \"changes\" 0 --> %d\n", top)
	for i := len(shown); i > 0; i-- {
		values := make([]string, len(weeks))
		for k, w := range weeks {
			n := 0
			for _, o := range shown[:i] {
				n += w.Of(o)
			}
			values[k] = fmt.Sprint(n)
		}
		fmt.Fprintf(&s, "    bar [%s]\n", strings.Join(values, ", "))
	}
	s.WriteString("```\n")
	fmt.Fprintf(&s, "\nBands from the bottom up: %s.\n", strings.Join(legend, ", "))
	return s.String()
}

func share(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// code shows a name from a batch, receipt, rejection or policy as
// display.MarkdownCode, cut at maxName characters; the report's own
// placeholders are shown in italics.
func code(s string) string {
	switch s {
	case NotRecorded, NoRule, ReviewKeyLimit:
		return "*" + display.Markdown(s) + "*"
	}
	return display.MarkdownCode(clip(s, maxName))
}

// reason shows a reason (or an error) over its lines as
// display.MarkdownLines in <code>, cut at maxReason characters.
func reason(s string) string {
	if s == "" {
		return "*(no reason given)*"
	}
	return "<code>" + display.MarkdownLines(clip(s, maxReason)) + "</code>"
}

// clip cuts s after n characters, marking the cut. Cutting before
// escaping keeps the escaped text whole.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k] + "…"
		}
		i++
	}
	return s
}

func short(h string) string {
	if len(h) > 10 {
		return h[:10]
	}
	return h
}
