package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/apply"
)

func newApplyCmd(f *factory) *cobra.Command {
	var opts apply.Options
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Execute merged batches that lack a complete receipt (exit 4 if anything was stale or failed)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := f.workspace()
			if err != nil {
				return err
			}
			fg, err := f.forgeOf(ws)
			if err != nil {
				return err
			}
			c, err := f.connector(ws)
			if err != nil {
				return err
			}
			defer c.Close()
			rep, err := f.applier(ws, fg, c).Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return reportApply(f, rep, opts.DryRun)
		},
	}
	cmd.Flags().StringVar(&opts.Batch, "batch", "", "apply only this batch")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would happen; change nothing")
	return cmd
}

func reportApply(f *factory, rep *apply.Report, dryRun bool) error {
	if len(rep.Batches) == 0 {
		fmt.Fprintln(f.out, "Nothing to apply: every merged batch has a receipt.")
	}
	verb := "applied"
	if dryRun {
		verb = "would be"
	}
	for _, b := range rep.Batches {
		if b.Refused != "" {
			fmt.Fprintf(f.out, "refused  %s: %s\n", b.Batch, b.Refused)
			continue
		}
		fmt.Fprintf(f.out, "%-8s %s (%s): %s\n", verb, b.Batch, b.Mode, apply.Summary(b.Counts))
	}
	if n := rep.Problems(); n > 0 && !dryRun {
		return &exitCodeError{code: exitProblem, msg: fmt.Sprintf("apply: %d change(s) stale, failed or refused; see the receipts under proposals/", n)}
	}
	return nil
}
