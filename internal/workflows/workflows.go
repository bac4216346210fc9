// Package workflows formats crmops output for GitHub Actions: workflow
// commands that annotate the files a pull request changed, and the Markdown
// a step appends to its job summary. The functions are pure, except
// NewToken and AppendSummary, so the formats are tested without a runner.
//
// Workflow commands are lines of the form
//
//	::error file=F,line=L,title=T::MESSAGE
//
// that the runner reads from a step's output. Their escaping follows
// https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions
// and the actions/toolkit implementation it documents: in the message,
// '%', '\r' and '\n' are percent-encoded; in property values ':' and ','
// are encoded as well, since they delimit properties.
package workflows

import (
	"crypto/rand"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/crmops/crmops/internal/check"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/policy"
)

// Title is the title of every annotation crmops check writes.
const Title = "crmops check"

// InActions reports whether the process runs in a GitHub Actions step, by
// the GITHUB_ACTIONS variable the runner sets to "true".
func InActions(getenv func(string) string) bool {
	return getenv("GITHUB_ACTIONS") == "true"
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// EscapeData escapes a workflow command's message: '%', CR and LF. An
// unescaped newline would end the command and let the rest of the text be
// read as a command of its own.
func EscapeData(s string) string { return dataEscaper.Replace(s) }

// EscapeProperty escapes a workflow command's property value: what
// EscapeData escapes, and ':' and ',', which delimit properties.
func EscapeProperty(s string) string { return propertyEscaper.Replace(s) }

// Property is one name=value pair of a workflow command.
type Property struct{ Name, Value string }

// Command formats a workflow command: name, properties (empty values are
// left out) and message, each escaped.
func Command(name string, props []Property, msg string) string {
	var b strings.Builder
	b.WriteString("::" + name)
	sep := " "
	for _, p := range props {
		if p.Value == "" {
			continue
		}
		b.WriteString(sep + p.Name + "=" + EscapeProperty(p.Value))
		sep = ","
	}
	b.WriteString("::" + EscapeData(msg))
	return b.String()
}

// leadingPosition matches "file:line: " at the start of an error whose file
// is not known otherwise.
var leadingPosition = regexp.MustCompile(`^([^\s:][^:]*):([0-9]+): `)

// Position splits a check error of the form "file:line: message" (line
// optional, as in "file: message") into its parts. file is the row's file,
// which the error starts with when crmops wrote it; an error that does not
// start with it is searched for a leading "file:line: ". What cannot be
// split is returned whole as the message, with file as given and line 0.
func Position(file, err string) (string, int, string) {
	if file != "" {
		if rest, ok := strings.CutPrefix(err, file+":"); ok {
			if digits, after, ok := strings.Cut(rest, ":"); ok && digits != "" && strings.Trim(digits, "0123456789") == "" {
				if n, convErr := strconv.Atoi(digits); convErr == nil {
					return file, n, strings.TrimPrefix(after, " ")
				}
			}
			return file, 0, strings.TrimPrefix(rest, " ")
		}
	}
	if m := leadingPosition.FindStringSubmatch(err); m != nil && (file == "" || m[1] == file) {
		if n, convErr := strconv.Atoi(m[2]); convErr == nil {
			return m[1], n, err[len(m[0]):]
		}
	}
	return file, 0, err
}

// Annotations returns one error workflow command per failed row, in the
// rows' order: an invalid file is annotated at the line its error names; a
// denied change at its file, naming the change and the rule.
func Annotations(rows []check.Row) []string {
	var out []string
	for _, r := range rows {
		switch {
		case r.Error != "":
			file, line, msg := Position(r.File, r.Error)
			props := []Property{{"file", file}}
			if line > 0 {
				props = append(props, Property{"line", strconv.Itoa(line)})
			}
			props = append(props, Property{"title", Title})
			out = append(out, Command("error", props, msg))
		case r.Decision == string(policy.Deny):
			out = append(out, Command("error", []Property{{"file", r.File}, {"title", Title}},
				fmt.Sprintf("change %s is denied by rule %s", r.Change, r.Rule)))
		}
	}
	return out
}

// NewToken returns an unguessable token for StopCommands.
func NewToken() string { return "crmops-" + rand.Text() }

// StopCommands is the line after which the runner stops reading workflow
// commands, until ResumeCommands(token). Output that quotes files from a
// pull request is printed between the two, so that a crafted batch file
// (a YAML key may contain a newline) cannot issue commands of its own.
func StopCommands(token string) string { return "::stop-commands::" + token }

// ResumeCommands is the line that ends StopCommands(token).
func ResumeCommands(token string) string { return "::" + token + "::" }

// summaryBudget bounds the Markdown SummaryMarkdown returns. GitHub refuses
// a step summary over 1 MiB; a check of a large proposals/ folder could
// otherwise exceed it, and lose the whole summary.
var summaryBudget = 900 << 10

// SummaryMarkdown is the job summary of a check: the counts, then a table
// of the rows (file, batch, change, decision, rule, error). When the table
// would exceed the summary's size budget, failed rows are kept first and
// the rest is counted in a note.
func SummaryMarkdown(rows []check.Row) string {
	var b strings.Builder
	b.WriteString("### " + Title + "\n\n")
	if len(rows) == 0 {
		b.WriteString("No batch files to check.\n")
		return b.String()
	}
	files := map[string]bool{}
	decisions := map[string]int{}
	invalid, denied := 0, 0
	for _, r := range rows {
		files[r.File] = true
		switch {
		case r.Error != "":
			invalid++
		default:
			decisions[r.Decision]++
			if r.Decision == string(policy.Deny) {
				denied++
			}
		}
	}
	verdict := "✅ passed"
	if invalid+denied > 0 {
		verdict = "❌ failed"
	}
	fmt.Fprintf(&b, "**%s**: %d file(s), %d change(s) (%d auto, %d review, %d deny), %d invalid file(s).\n\n",
		verdict, len(files), len(rows)-invalid, decisions[string(policy.Auto)], decisions[string(policy.Review)], denied, invalid)

	const header = "| File | Batch | Change | Decision | Rule | Error |\n| --- | --- | --- | --- | --- | --- |\n"
	lines := make([]string, len(rows))
	total := b.Len() + len(header)
	for i, r := range rows {
		lines[i] = "| " + strings.Join([]string{
			MarkdownCell(r.File), MarkdownCell(r.Batch), MarkdownCell(r.Change),
			MarkdownCell(r.Decision), MarkdownCell(r.Rule), MarkdownCell(r.Error),
		}, " | ") + " |\n"
		total += len(lines[i])
	}
	b.WriteString(header)
	if total <= summaryBudget {
		for _, l := range lines {
			b.WriteString(l)
		}
		return b.String()
	}
	// Too large: failed rows first, then passing rows while they fit.
	const noteRoom = 200
	shown := 0
	for _, failed := range []bool{true, false} {
		for i, r := range rows {
			if r.Failed() != failed {
				continue
			}
			if b.Len()+len(lines[i])+noteRoom > summaryBudget {
				break
			}
			b.WriteString(lines[i])
			shown++
		}
	}
	fmt.Fprintf(&b, "\n%d more row(s) left out to keep the summary under GitHub's size limit (failed rows are listed first); the step's log has every row.\n", len(rows)-shown)
	return b.String()
}

// MarkdownCell makes s one literal table cell, through display.Markdown,
// the escaping every Markdown crmops writes shares: a line break is shown
// as ⟨U+000A⟩, as are control and invisible characters; the pipe that
// would end the cell and the characters that would start emphasis, links,
// code, autolinks or HTML are escaped.
func MarkdownCell(s string) string { return display.Markdown(s) }

// AppendSummary appends markdown to the job summary file path names (the
// runner's GITHUB_STEP_SUMMARY), creating it if needed.
func AppendSummary(path, markdown string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("step summary: %w", err)
	}
	if _, err := f.WriteString(markdown); err != nil {
		f.Close()
		return fmt.Errorf("step summary: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("step summary: %w", err)
	}
	return nil
}
