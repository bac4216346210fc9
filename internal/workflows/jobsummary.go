package workflows

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/crmops/crmops/internal/display"
)

// DetectorRun is one detector's part of a crmops detect run, as its job
// summary shows it.
type DetectorRun struct {
	Detector string
	// Found is the changes the detector found; Skipped the input rows it
	// could not use.
	Found, Skipped int
	// NotProposed is the changes left out (their record has an open
	// proposal, or they were rejected before); Denied the changes the
	// policy denies.
	NotProposed, Denied int
	Batches             []ProposedBatch
}

// ProposedBatch is one batch a run proposed (or planned, in a dry run).
type ProposedBatch struct {
	Batch, Decision, State string
	Changes                int
	PullRequest            int
	// URL is the proposal's page, when the forge has one.
	URL string
}

// Proposed is the changes the run's batches hold.
func (r DetectorRun) Proposed() int {
	n := 0
	for _, b := range r.Batches {
		n += b.Changes
	}
	return n
}

// DetectSummary is the job summary of a detect run: the totals once, a
// row per detector with what it found and what of it was proposed, then a
// row per batch. Every value is escaped with display.Markdown (batch ids
// with display.MarkdownCode); the Markdown stays under GitHub's size
// limit, batches left out saying how many.
func DetectSummary(runs []DetectorRun, dryRun bool) string {
	var b strings.Builder
	b.WriteString("## crmops detect")
	if dryRun {
		b.WriteString(" (dry run: nothing proposed)")
	}
	b.WriteString("\n\n")
	var found, skipped, notProposed, denied, proposed, batches int
	states := map[string]int{}
	for _, r := range runs {
		found += r.Found
		skipped += r.Skipped
		notProposed += r.NotProposed
		denied += r.Denied
		proposed += r.Proposed()
		batches += len(r.Batches)
		for _, pb := range r.Batches {
			states[pb.State]++
		}
	}
	verb := "proposed"
	if dryRun {
		verb = "would be proposed"
	}
	fmt.Fprintf(&b, "**%s found by %s; %s %s in %s%s; %s not proposed (open proposals, rejected before); %s denied; %s skipped.**\n\n",
		count(found, "change"), count(len(runs), "detector"), count(proposed, "change"), verb, count(batches, "batch"),
		stateList(states), count(notProposed, "change"), count(denied, "change"), count(skipped, "input row"))
	b.WriteString("| Detector | Found | Proposed | Batches | Not proposed | Denied | Skipped rows |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			display.Markdown(r.Detector), num(r.Found), num(r.Proposed()), num(len(r.Batches)), num(r.NotProposed), num(r.Denied), num(r.Skipped))
	}
	if len(runs) > 1 {
		fmt.Fprintf(&b, "| **total** | **%s** | **%s** | **%s** | **%s** | **%s** | **%s** |\n", num(found), num(proposed), num(batches), num(notProposed), num(denied), num(skipped))
	}
	if batches == 0 {
		b.WriteString("\nNothing new to propose.\n")
		return b.String()
	}
	b.WriteString("\n### Batches\n\n| Batch | Detector | Decision | Changes | State |\n| --- | --- | --- | ---: | --- |\n")
	shown := 0
	for _, r := range runs {
		for _, pb := range r.Batches {
			row := fmt.Sprintf("| %s | %s | %s | %s | %s |\n", display.MarkdownCode(pb.Batch), display.Markdown(r.Detector),
				display.Markdown(pb.Decision), num(pb.Changes), stateCell(pb.State, pb.PullRequest, pb.URL))
			if b.Len()+len(row)+noteRoom > summaryBudget {
				continue
			}
			b.WriteString(row)
			shown++
		}
	}
	if shown < batches {
		fmt.Fprintf(&b, "\n%d more batch(es) left out to keep the summary under GitHub's size limit; crmops review list shows them all.\n", batches-shown)
	}
	return b.String()
}

// noteRoom is kept free under summaryBudget for the note that rows were
// left out.
const noteRoom = 200

// AppliedBatch is one batch of an apply run, as its job summary shows it.
type AppliedBatch struct {
	Batch string
	// Mode is how it was approved (auto, approved); Refused, when set, is
	// why apply refused to run it.
	Mode, Refused string
	// Counts holds the changes per receipt status (applied,
	// already_applied, stale, failed, skipped).
	Counts map[string]int
	// PullRequest is the proposal it was merged from (0: none known);
	// PullRequestURL its page.
	PullRequest    int
	PullRequestURL string
	// Receipt is the receipt's path in the repository; ReceiptURL its page.
	Receipt, ReceiptURL string
}

// Statuses apply's summary counts, in its columns' order.
var applyStatuses = []struct{ status, title string }{
	{"applied", "Applied"}, {"already_applied", "Already applied"}, {"stale", "Stale"}, {"failed", "Failed"}, {"skipped", "Skipped"},
}

// ApplySummary is the job summary of an apply run: the totals, a row per
// batch that ran with its changes per status, its proposal and receipt,
// then the batches apply refused, with why. Values are escaped with
// display.Markdown (ids with display.MarkdownCode).
func ApplySummary(batches []AppliedBatch, dryRun bool) string {
	var b strings.Builder
	b.WriteString("## crmops apply")
	if dryRun {
		b.WriteString(" (dry run: nothing changed)")
	}
	b.WriteString("\n\n")
	if len(batches) == 0 {
		b.WriteString("Nothing to apply: every merged batch has a receipt.\n")
		return b.String()
	}
	totals := map[string]int{}
	var ran, refused []AppliedBatch
	for _, ab := range batches {
		if ab.Refused != "" {
			refused = append(refused, ab)
			continue
		}
		ran = append(ran, ab)
		for s, n := range ab.Counts {
			totals[s] += n
		}
	}
	verdict := "✅"
	if totals["stale"]+totals["failed"]+len(refused) > 0 {
		verdict = "⚠️"
	}
	verb := "applied"
	if dryRun {
		verb = "would be applied"
	}
	var parts []string
	for _, s := range applyStatuses {
		parts = append(parts, num(totals[s.status])+" "+strings.ReplaceAll(s.status, "_", " "))
	}
	fmt.Fprintf(&b, "%s **%s %s: changes %s; %s refused.**\n\n", verdict, count(len(ran), "batch"), verb, strings.Join(parts, ", "), count(len(refused), "batch"))
	if len(ran) > 0 {
		b.WriteString("| Batch | Mode |")
		for _, s := range applyStatuses {
			b.WriteString(" " + s.title + " |")
		}
		b.WriteString(" Proposal | Receipt |\n| --- | --- |")
		for range applyStatuses {
			b.WriteString(" ---: |")
		}
		b.WriteString(" --- | --- |\n")
	}
	// Batches with stale or failed changes first when not all fit.
	rows, problems := make([]string, len(ran)), make([]bool, len(ran))
	for i, ab := range ran {
		var row strings.Builder
		fmt.Fprintf(&row, "| %s | %s |", display.MarkdownCode(ab.Batch), display.Markdown(ab.Mode))
		for _, s := range applyStatuses {
			fmt.Fprintf(&row, " %s |", num(ab.Counts[s.status]))
		}
		fmt.Fprintf(&row, " %s | %s |\n", proposalCell(ab.PullRequest, ab.PullRequestURL), receiptCell(ab.Receipt, ab.ReceiptURL))
		rows[i], problems[i] = row.String(), ab.Counts["stale"]+ab.Counts["failed"] > 0
	}
	// The refused batches' section is written after the table, and kept
	// room for first (up to a quarter of the budget): a refusal is what a
	// reader must not miss.
	var refusedPart strings.Builder
	if len(refused) > 0 {
		refusedPart.WriteString("\n### Refused\n\n| Batch | Why | Receipt |\n| --- | --- | --- |\n")
		left := 0
		for _, ab := range refused {
			row := fmt.Sprintf("| %s | %s | %s |\n", display.MarkdownCode(ab.Batch), display.Markdown(ab.Refused), receiptCell(ab.Receipt, ab.ReceiptURL))
			if refusedPart.Len()+len(row)+noteRoom > summaryBudget/4 {
				left++
				continue
			}
			refusedPart.WriteString(row)
		}
		if left > 0 {
			fmt.Fprintf(&refusedPart, "\n%d more refused batch(es) left out to keep the summary under GitHub's size limit; the step's log lists them.\n", left)
		}
	}
	shown := 0
	for _, problem := range []bool{true, false} {
		for i, row := range rows {
			if problems[i] != problem || b.Len()+len(row)+noteRoom+refusedPart.Len() > summaryBudget {
				continue
			}
			b.WriteString(row)
			shown++
		}
	}
	if shown < len(rows) {
		fmt.Fprintf(&b, "\n%d more batch(es) left out to keep the summary under GitHub's size limit (those with stale or failed changes are listed first); the receipts under proposals/ have them all.\n", len(rows)-shown)
	}
	b.WriteString(refusedPart.String())
	return b.String()
}

// count is n and its noun, plural when n is not 1: "1 batch", "2
// batches", "9,435 changes".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "ch") {
		return num(n) + " " + noun + "es"
	}
	return num(n) + " " + noun + "s"
}

// num writes n with thousands separators: 9,435.
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// stateList is " (2 merged, 1 open)" for the batches' states, or "".
func stateList(states map[string]int) string {
	var parts []string
	for _, s := range []string{"merged", "open", "planned"} {
		if states[s] > 0 {
			parts = append(parts, num(states[s])+" "+s)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(states)) {
		if s != "merged" && s != "open" && s != "planned" && states[s] > 0 {
			parts = append(parts, num(states[s])+" "+display.Markdown(s))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// stateCell is a proposal's state, with a link to its pull request.
func stateCell(state string, pr int, url string) string {
	s := display.Markdown(state)
	if pr > 0 {
		s += " (" + link(fmt.Sprintf("#%d", pr), url) + ")"
	}
	return s
}

// proposalCell links a batch's pull request, or says there is none.
func proposalCell(pr int, url string) string {
	if pr <= 0 {
		return "—"
	}
	return link(fmt.Sprintf("#%d", pr), url)
}

// receiptCell links the receipt, or shows its path.
func receiptCell(path, url string) string {
	switch {
	case path == "":
		return "—"
	case url == "":
		return display.MarkdownCode(path)
	}
	return link("receipt", url)
}

// safeURL is a URL a Markdown link can hold as it is: http(s), and none of
// the characters that would end the link or start markup.
var safeURL = regexp.MustCompile(`^https?://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+$`)

// link is [text](url) when url is safe to write, else text; text is
// crmops' own (already Markdown).
func link(text, url string) string {
	if !safeURL.MatchString(url) {
		return text
	}
	return "[" + text + "](" + url + ")"
}
