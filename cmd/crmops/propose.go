package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/propose"
)

func newProposeCmd(f *factory) *cobra.Command {
	var opts propose.Options
	var source, as string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "propose [FILE|-]",
		Short: "Propose changes from any source (JSON lines or a YAML list of changes)",
		Long: "Reads changes in the batch file's change format, without ids, as JSON lines or a YAML list,\n" +
			"validates them, splits them into batches by policy decision, opens a proposal per batch\n" +
			"and merges the auto batches (unless --no-merge). Run crmops apply to execute them.",
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			name, in := "-", io.Reader(f.in)
			if len(a) == 1 && a[0] != "-" {
				file, err := os.Open(a[0])
				if err != nil {
					return fmt.Errorf("propose: %w", err)
				}
				defer file.Close()
				name, in = a[0], file
			}
			changes, err := propose.ReadChanges(name, in)
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
			res, err := f.proposer(ws, fg, as).Run(cmd.Context(), source, changes, opts)
			if err != nil {
				return err
			}
			return printProposals(f, res, asJSON)
		},
	}
	cmd.Flags().StringVar(&source, "source", "propose", "who proposes these changes (recorded as the batch's detector)")
	cmd.Flags().StringVar(&as, "as", "", "login the proposals are opened as (default: forge.login in crmops.yaml; on GitHub the token decides)")
	cmd.Flags().BoolVar(&opts.NoMerge, "no-merge", false, "leave auto batches open instead of merging them")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show the batches without proposing them")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	return cmd
}

func printProposals(f *factory, res *propose.Result, asJSON bool) error {
	for _, s := range res.Plan.Skipped {
		fmt.Fprintf(f.err, "skipped %s: %s\n", s.Change.Target(), s.Why)
	}
	for _, s := range res.Plan.Denied {
		fmt.Fprintf(f.err, "denied %s: %s\n", s.Change.Target(), s.Why)
	}
	if asJSON {
		out := res.Outcomes
		if out == nil {
			out = []propose.Outcome{}
		}
		return writeJSON(f, out)
	}
	if len(res.Outcomes) == 0 {
		fmt.Fprintln(f.out, "Nothing to propose.")
	}
	for _, o := range res.Outcomes {
		fmt.Fprintf(f.out, "%-7s %-6s %s  %s\n", o.State, o.Decision, o.Batch, o.Title)
		if o.Blocked != "" {
			fmt.Fprintf(f.out, "        not merged: %s\n", o.Blocked)
		}
	}
	return nil
}
