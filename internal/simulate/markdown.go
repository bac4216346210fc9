package simulate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Markdown renders the report for a pull request comment or a job summary.
// Every value taken from a batch file is shown in a code span, so that no
// file can inject markup, links or @-mentions into the comment.
func (rep *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("## crmops policy simulate\n\n")
	fmt.Fprintf(&b, "Replayed **%s** batch(es) (**%s** changes) in `proposals/` under %s",
		num(rep.Batches), num(rep.Changes), code(rep.Policy))
	if rep.Since != "" {
		fmt.Fprintf(&b, ", created since %s", rep.Since)
	}
	b.WriteString(".\n\n")

	groups := []struct {
		title string
		g     *Group
	}{
		{"Applied automatically, now **review**", &rep.ToReview},
		{"Approved or rejected by a person, now **auto**", &rep.ToAuto},
		{"Now **denied**", &rep.Denied},
	}
	if rep.Differs() {
		b.WriteString("| would be decided differently | changes | batches |\n|---|--:|--:|\n")
		for _, g := range groups {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", g.title, num(g.g.Changes), num(g.g.Batches))
		}
		b.WriteString("\n")
	} else {
		b.WriteString("**No decision would change**: nothing applied automatically would need review, nothing a person decided would be applied automatically, and nothing is denied.\n\n")
	}

	if len(rep.Decisions) > 0 {
		b.WriteString("<details><summary>Every change, by what happened and what this policy decides</summary>\n\n")
		b.WriteString("| what happened | auto | review | deny | total |\n|---|--:|--:|--:|--:|\n")
		for _, was := range []string{WasAuto, WasApproved, WasRejected, WasRefused, WasPending} {
			row, ok := rep.Decisions[was]
			if !ok {
				continue
			}
			total := row["auto"] + row["review"] + row["deny"]
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", was, num(row["auto"]), num(row["review"]), num(row["deny"]), num(total))
		}
		b.WriteString("\n</details>\n\n")
	}

	for _, g := range groups {
		if g.g.Changes == 0 {
			continue
		}
		title := strings.ReplaceAll(g.title, "**", "")
		fmt.Fprintf(&b, "### %s: %s change(s) in %s batch(es)\n\n", title, num(g.g.Changes), num(g.g.Batches))
		fmt.Fprintf(&b, "By rule: %s  \nBy kind: %s", counts(g.g.ByRule), counts(g.g.ByKind))
		if len(g.g.ByGuard) > 0 {
			fmt.Fprintf(&b, "  \nBy guard (what overrode the rules): %s", counts(g.g.ByGuard))
		}
		b.WriteString("\n\n")
		b.WriteString("| batch | change | was | now |\n|---|---|---|---|\n")
		for _, e := range g.g.Examples {
			was := e.Was
			if len(e.WasRules) > 0 {
				was += " (" + strings.Join(e.WasRules, ", ") + ")"
			}
			if len(e.Approvers) > 0 {
				was += " by " + strings.Join(e.Approvers, ", ")
			}
			if e.Proposer != "" {
				was += ", proposed by " + e.Proposer
			}
			now := code(e.Now + " (" + e.Rule + ")")
			if e.Why != "" {
				now += " " + code(e.Why)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", code(e.Batch), change(e), code(was), now)
		}
		if g.g.Changes > len(g.g.Examples) {
			fmt.Fprintf(&b, "\nShowing the %d most recent of %s.\n", len(g.g.Examples), num(g.g.Changes))
		}
		b.WriteString("\n")
	}

	if rep.NotReplayed > 0 {
		fmt.Fprintf(&b, "%s rejected batch(es) left only a rejection record, without kind, source or confidence: not replayed.\n\n", num(rep.NotReplayed))
	}
	if rep.UnknownProposers > 0 {
		fmt.Fprintf(&b, "%s batch(es) have no crmops merge in the history that says who proposed them: replayed as proposed by an unknown proposer.\n\n", num(rep.UnknownProposers))
	}
	if len(rep.Errors) > 0 {
		fmt.Fprintf(&b, "### Files that could not be replayed: %s\n\n", num(len(rep.Errors)))
		for i, e := range rep.Errors {
			if i == MaxExamples {
				fmt.Fprintf(&b, "- and %s more\n", num(len(rep.Errors)-i))
				break
			}
			fmt.Fprintf(&b, "- %s\n", code(e.Error))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func change(e Example) string {
	what := e.Change + " " + e.Kind + " " + e.Target
	if !strings.Contains(e.Target, " -> ") {
		what += " " + strconv.Quote(e.Before) + " → " + strconv.Quote(e.After)
	}
	return code(what) + " " + code(e.Source+" "+strconv.FormatFloat(e.Confidence, 'f', -1, 64))
}

// counts renders a count map, largest first, keys in code spans.
func counts(m map[string]int) string { return countsWith(m, code, " · ") }

func plainCounts(m map[string]int) string {
	return countsWith(m, func(s string) string { return s }, ", ")
}

func countsWith(m map[string]int, key func(string) string, sep string) string {
	type kv struct {
		k string
		v int
	}
	var list []kv
	for k, v := range m {
		list = append(list, kv{k, v})
	}
	slices.SortFunc(list, func(a, b kv) int {
		if c := cmp.Compare(b.v, a.v); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	var parts []string
	for _, x := range list {
		parts = append(parts, key(x.k)+" "+num(x.v))
	}
	return strings.Join(parts, sep)
}

// code puts s in a code span that is safe in a table cell: no backticks,
// pipes escaped, one line, at most 100 characters.
func code(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "`", "'")), " ")
	if utf8.RuneCountInString(s) > 100 {
		r := []rune(s)
		s = string(r[:99]) + "…"
	}
	if s == "" {
		return "` `"
	}
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

// num writes n with thousands separators.
func num(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + num(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Text renders the report for a terminal.
func (rep *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replayed %s batch(es), %s change(s), under %s", num(rep.Batches), num(rep.Changes), rep.Policy)
	if rep.Since != "" {
		fmt.Fprintf(&b, ", created since %s", rep.Since)
	}
	b.WriteString("\n")
	for _, g := range []struct {
		title string
		g     *Group
	}{
		{"applied automatically, now review", &rep.ToReview},
		{"approved or rejected by a person, now auto", &rep.ToAuto},
		{"now denied", &rep.Denied},
	} {
		fmt.Fprintf(&b, "\n%-44s %s change(s) in %s batch(es)\n", g.title+":", num(g.g.Changes), num(g.g.Batches))
		if g.g.Changes == 0 {
			continue
		}
		fmt.Fprintf(&b, "  by rule: %s\n  by kind: %s\n", plainCounts(g.g.ByRule), plainCounts(g.g.ByKind))
		if len(g.g.ByGuard) > 0 {
			fmt.Fprintf(&b, "  by guard: %s\n", plainCounts(g.g.ByGuard))
		}
		for _, e := range g.g.Examples {
			what := e.Target
			if !strings.Contains(e.Target, " -> ") {
				what += " " + strconv.Quote(e.Before) + " -> " + strconv.Quote(e.After)
			}
			was := e.Was
			if len(e.WasRules) > 0 {
				was += " (" + strings.Join(e.WasRules, ", ") + ")"
			}
			if e.Proposer != "" {
				was += " proposed by " + e.Proposer
			}
			fmt.Fprintf(&b, "  %s %s %s %s (%s %s): %s -> %s (%s)\n", e.Batch, e.Change, e.Kind, what, e.Source,
				strconv.FormatFloat(e.Confidence, 'f', -1, 64), was, e.Now, e.Rule)
			if e.Why != "" {
				fmt.Fprintf(&b, "      why: %s\n", e.Why)
			}
		}
		if g.g.Changes > len(g.g.Examples) {
			fmt.Fprintf(&b, "  ... and %s more\n", num(g.g.Changes-len(g.g.Examples)))
		}
	}
	if rep.NotReplayed > 0 {
		fmt.Fprintf(&b, "\n%s rejected batch(es) left only a rejection record: not replayed\n", num(rep.NotReplayed))
	}
	if rep.UnknownProposers > 0 {
		fmt.Fprintf(&b, "\n%s batch(es) replayed as proposed by an unknown proposer: no crmops merge of theirs in the history\n", num(rep.UnknownProposers))
	}
	if len(rep.Errors) > 0 {
		fmt.Fprintf(&b, "\n%s file(s) could not be replayed:\n", num(len(rep.Errors)))
		for _, e := range rep.Errors {
			fmt.Fprintf(&b, "  %s\n", e.Error)
		}
	}
	return b.String()
}
