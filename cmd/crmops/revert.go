package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/propose"
	"github.com/crmops/crmops/internal/revert"
	"github.com/crmops/crmops/internal/review"
)

func newRevertCmd(f *factory) *cobra.Command {
	var changes []string
	var opts propose.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "revert BATCH [--change ID]...",
		Short: "Propose the inverse of an applied batch; it goes through review like any other",
		Long: "Proposes, for every applied change of BATCH (or only the --change ones), the change that\n" +
			"undoes it: a set back to the old value, with compare-and-swap on the new one, and a merge\n" +
			"as an unmerge restoring the merged-away record from its snapshot (always for review).",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			fg, err := f.forgeOf(ws)
			if err != nil {
				return err
			}
			svc := &review.Service{WS: ws, Forge: fg, Now: f.now}
			m, err := svc.FindMerged(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			if m.Receipt == nil {
				return fmt.Errorf("revert %s: it has not been applied yet; nothing to undo", a[0])
			}
			inverse, skipped, err := revert.Plan(m.Batch, m.Receipt, changes)
			if err != nil {
				return err
			}
			for _, s := range skipped {
				fmt.Fprintf(f.err, "not reverting %s: %s\n", s.Change, s.Why)
			}
			if len(inverse) == 0 {
				fmt.Fprintf(f.out, "Nothing to revert in %s.\n", a[0])
				return nil
			}
			res, err := f.proposer(ws, fg, "").Run(cmd.Context(), revert.Source+"-"+strings.ToLower(a[0]), inverse, opts)
			if err != nil {
				return err
			}
			return printProposals(f, res, asJSON)
		},
	}
	cmd.Flags().StringArrayVar(&changes, "change", nil, "revert only this change of the batch (repeatable)")
	cmd.Flags().BoolVar(&opts.NoMerge, "no-merge", false, "leave auto batches open instead of merging them")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	return cmd
}
