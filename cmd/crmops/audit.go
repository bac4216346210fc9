package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/audit"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/workspace"
)

func newAuditCmd(f *factory) *cobra.Command {
	var field string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit OBJECT/ID",
		Short: "Every proposal, decision, approver and execution for a record, from git alone",
		Args:  args(cobra.ExactArgs(1)),
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
			}
			for _, e := range entries {
				printAuditEntry(f, e)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&field, "field", "", "only changes to this field (and merges)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	return cmd
}

// printAuditEntry prints one entry for a person; every value goes through
// display.Terminal (--json prints them as they are).
func printAuditEntry(f *factory, e audit.Entry) {
	t := display.Terminal
	quoted := func(s string) string { return "\"" + t(s) + "\"" }
	what := fmt.Sprintf("%s: %s -> %s", t(e.Field), quoted(e.Before), quoted(e.After))
	switch e.Op {
	case "merge":
		what = fmt.Sprintf("merge %s/%s into %s", t(e.Object), t(e.MergeFrom), t(e.Record))
	case "unmerge":
		what = fmt.Sprintf("unmerge %s/%s from %s", t(e.Object), t(e.MergeFrom), t(e.Record))
	}
	fmt.Fprintf(f.out, "%s  %s\n", t(orDash(e.At)), what)
	decision := t(e.Decision)
	if len(e.Approvers) > 0 {
		decision += " by " + joined(e.Approvers)
	}
	fmt.Fprintf(f.out, "    %s · %s · source %s · confidence %.2f\n", t(e.Status), decision, t(orDash(e.Source)), e.Confidence)
	fmt.Fprintf(f.out, "    batch %s %s", t(e.Batch), t(e.Change))
	if e.Commit != "" {
		fmt.Fprintf(f.out, " · commit %s", t(workspace.Short(e.Commit)))
	}
	if e.Policy != "" {
		fmt.Fprintf(f.out, " · %s", t(shortPolicy(e.Policy)))
	}
	if len(e.Rules) > 0 {
		fmt.Fprintf(f.out, " (%s)", joined(e.Rules))
	}
	fmt.Fprintln(f.out)
	if e.Error != "" {
		fmt.Fprintf(f.out, "    %s\n", t(e.Error))
	}
	for _, m := range e.ModifiedBy {
		fmt.Fprintf(f.out, "    modified before the merge by %s\n", t(m))
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
