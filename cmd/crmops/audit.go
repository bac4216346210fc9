package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/audit"
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
				fmt.Fprintf(f.out, "No proposals have touched %s/%s.\n", object, id)
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

func printAuditEntry(f *factory, e audit.Entry) {
	what := fmt.Sprintf("%s: %q -> %q", e.Field, e.Before, e.After)
	if e.Op == "merge" {
		what = fmt.Sprintf("merge %s/%s into %s", e.Object, e.MergeFrom, e.Record)
	}
	fmt.Fprintf(f.out, "%s  %s\n", orDash(e.At), what)
	decision := e.Decision
	if len(e.Approvers) > 0 {
		decision += " by " + strings.Join(e.Approvers, ", ")
	}
	fmt.Fprintf(f.out, "    %s · %s · source %s · confidence %.2f\n", e.Status, decision, orDash(e.Source), e.Confidence)
	fmt.Fprintf(f.out, "    batch %s %s", e.Batch, e.Change)
	if e.Commit != "" {
		fmt.Fprintf(f.out, " · commit %s", workspace.Short(e.Commit))
	}
	if e.Policy != "" {
		fmt.Fprintf(f.out, " · %s", shortPolicy(e.Policy))
	}
	if len(e.Rules) > 0 {
		fmt.Fprintf(f.out, " (%s)", strings.Join(e.Rules, ", "))
	}
	fmt.Fprintln(f.out)
	if e.Error != "" {
		fmt.Fprintf(f.out, "    %s\n", e.Error)
	}
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
