package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/audit"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/workspace"
)

func newAuditCmd(f *factory) *cobra.Command {
	var field string
	var asJSON, noPager bool
	cmd := &cobra.Command{
		Use:   "audit OBJECT/ID",
		Short: "Every proposal, decision, approver and execution for a record, from git alone",
		Long: "Lists every proposal, decision, approver and execution that touched a record, from git alone.\n" +
			"On a terminal it is in colour (not with NO_COLOR set) and, when longer than the screen,\n" +
			"shown through $CRMOPS_PAGER, else $PAGER, else less -FRX; set either to \"\" or cat, or pass\n" +
			"--no-pager, to print it directly.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			object, id, err := splitRef(a[0])
			if err != nil {
				return err
			}
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			fg, err := f.forgeOf(ws)
			if err != nil {
				return err
			}
			entries, err := f.auditor(ws, fg).Record(cmd.Context(), audit.Query{Object: object, Record: id, Field: field})
			if err != nil {
				return err
			}
			if asJSON {
				if entries == nil {
					entries = []audit.Entry{}
				}
				return writeJSON(f, entries)
			}
			if len(entries) == 0 {
				fmt.Fprintf(f.out, "No proposals have touched %s/%s.\n", display.Terminal(object), display.Terminal(id))
				return nil
			}
			return f.paged(noPager, func(w io.Writer, c display.Colors) error {
				for _, e := range entries {
					printAuditEntry(w, c, e)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&field, "field", "", "only changes to this field (and merges)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	cmd.Flags().BoolVar(&noPager, "no-pager", false, "print directly, without a pager")
	return cmd
}

// printAuditEntry prints one entry for a person in colours c; every value
// goes through display.Terminal before any colour (--json prints them as
// they are).
func printAuditEntry(w io.Writer, c display.Colors, e audit.Entry) {
	t := display.Terminal
	quoted := func(s string) string { return "\"" + t(s) + "\"" }
	what := fmt.Sprintf("%s: %s -> %s", t(e.Field), c.Removed(quoted(e.Before)), c.Added(quoted(e.After)))
	switch e.Op {
	case "merge":
		what = fmt.Sprintf("merge %s/%s into %s", t(e.Object), t(e.MergeFrom), t(e.Record))
	case "unmerge":
		what = fmt.Sprintf("unmerge %s/%s from %s", t(e.Object), t(e.MergeFrom), t(e.Record))
	}
	fmt.Fprintf(w, "%s  %s\n", c.Header(t(orDash(e.At))), what)
	decision := c.Decision(e.Decision)
	if len(e.Approvers) > 0 {
		decision += " by " + joined(e.Approvers)
	}
	fmt.Fprintf(w, "    %s · %s · source %s · confidence %.2f\n", c.Status(e.Status), decision, t(orDash(e.Source)), e.Confidence)
	fmt.Fprintf(w, "    batch %s %s", t(e.Batch), t(e.Change))
	if e.Commit != "" {
		fmt.Fprintf(w, " · commit %s", t(workspace.Short(e.Commit)))
	}
	if e.Policy != "" {
		fmt.Fprintf(w, " · %s", t(shortPolicy(e.Policy)))
	}
	if len(e.Rules) > 0 {
		fmt.Fprintf(w, " (%s)", joined(e.Rules))
	}
	fmt.Fprintln(w)
	if e.Error != "" {
		fmt.Fprintf(w, "    %s\n", c.Removed(t(e.Error)))
	}
	for _, m := range e.ModifiedBy {
		fmt.Fprintf(w, "    modified before the merge by %s\n", t(m))
	}
}

// joined lists values for a terminal, each through display.Terminal.
func joined(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = display.Terminal(s)
	}
	return strings.Join(out, ", ")
}

func shortPolicy(p string) string {
	if path, commit, ok := strings.Cut(p, "@"); ok {
		return path + "@" + workspace.Short(commit)
	}
	return p
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
