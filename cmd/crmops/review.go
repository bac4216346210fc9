package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/modify"
	"github.com/crmops/crmops/internal/review"
	"github.com/crmops/crmops/internal/workspace"
)

func newReviewCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{Use: "review", Short: "List, show, approve, reject proposals, or drop changes from them"}
	cmd.AddCommand(newReviewListCmd(f), newReviewShowCmd(f), newReviewApproveCmd(f), newReviewRejectCmd(f), newReviewDropCmd(f))
	return cmd
}

// reviewService opens the workspace, its forge and the review service.
func (f *factory) reviewService() (*review.Service, error) {
	ws, err := f.workspace()
	if err != nil {
		return nil, err
	}
	fg, err := f.forgeOf(ws)
	if err != nil {
		return nil, err
	}
	return f.reviews(ws, fg), nil
}

func newReviewListCmd(f *factory) *cobra.Command {
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List open proposals (--all: merged, applied and rejected batches too)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := f.reviewService()
			if err != nil {
				return err
			}
			items, err := svc.List(cmd.Context(), all)
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []review.Item{}
				}
				return writeJSON(f, items)
			}
			if len(items) == 0 {
				fmt.Fprintln(f.out, "No open proposals.")
			}
			for _, it := range items {
				if it.Frozen {
					fmt.Fprintln(f.out, "The repository is frozen (policy freeze: true): every auto decision is review until it is lifted.")
					break
				}
			}
			t := display.Terminal
			for _, it := range items {
				fmt.Fprintf(f.out, "%-8s %-8s %4d  %s  %s\n", t(it.State), t(it.Decision), it.Changes, t(it.Batch), t(it.Title))
				if it.State == "open" && it.Blocked != "" {
					fmt.Fprintf(f.out, "         waiting: %s\n", t(it.Blocked))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine output")
	cmd.Flags().BoolVar(&all, "all", false, "include merged, applied and rejected batches")
	return cmd
}

func newReviewShowCmd(f *factory) *cobra.Command {
	var noPager bool
	cmd := &cobra.Command{
		Use:   "show BATCH",
		Short: "Show a proposal's changes as diffs, with each change's decision and rule",
		Long: "Shows a proposal (or a merged batch, with what apply recorded) as a reviewer reads it.\n" +
			"On a terminal it is in colour (not with NO_COLOR set) and, when longer than the screen,\n" +
			"shown through $CRMOPS_PAGER, else $PAGER, else less -FRX; set either to \"\" or cat, or pass\n" +
			"--no-pager, to print it directly.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			svc, err := f.reviewService()
			if err != nil {
				return err
			}
			if _, err := svc.WS.Sync(cmd.Context()); err != nil {
				return err
			}
			o, err := openProposal(cmd, svc, a[0])
			if errors.Is(err, forge.ErrNoProposal) {
				m, err := svc.FindMerged(cmd.Context(), a[0])
				if err != nil {
					return err
				}
				return f.paged(noPager, func(w io.Writer, c display.Colors) error {
					showMerged(w, c, svc, m)
					return nil
				})
			}
			if err != nil {
				return err
			}
			ev, err := svc.Evaluate(cmd.Context(), o)
			if err != nil {
				return err
			}
			if ev.Batch == nil {
				return errors.New(ev.Blocked)
			}
			return f.paged(noPager, func(w io.Writer, c display.Colors) error {
				showOpen(w, c, o, ev)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&noPager, "no-pager", false, "print directly, without a pager")
	return cmd
}

// showOpen renders an open proposal and what it waits for.
func showOpen(w io.Writer, c display.Colors, o *forge.Open, ev *review.Evaluation) {
	t := display.Terminal
	fmt.Fprintf(w, "%s   %s (head %s, proposed by %s)\n", c.Header("branch"), t(o.Branch), t(workspace.Short(o.Head)), t(o.Author))
	review.RenderColors(w, ev.Batch, ev.Verdict, c)
	fmt.Fprintln(w)
	for _, ap := range ev.Approvals {
		fmt.Fprintf(w, "approved by %s at %s\n", t(ap.Login), ap.At.UTC().Format("2006-01-02 15:04Z"))
	}
	if ev.Decision != "" {
		fmt.Fprintf(w, "%s %s (run: crmops merge %s)\n", c.Header("mergeable:"), c.Decision(ev.Decision), t(o.BatchID))
	} else {
		fmt.Fprintf(w, "%s %s\n", c.Header("not mergeable yet:"), t(ev.Blocked))
	}
}

// openProposal finds an open proposal by batch id or pull request number.
func openProposal(cmd *cobra.Command, svc *review.Service, ref string) (*forge.Open, error) {
	if n, err := strconv.Atoi(ref); err == nil {
		opens, err := svc.Forge.List(cmd.Context())
		if err != nil {
			return nil, err
		}
		for _, o := range opens {
			if o.PullRequest == n {
				return o, nil
			}
		}
		return nil, fmt.Errorf("pull request %d: %w", n, forge.ErrNoProposal)
	}
	o, err := svc.Forge.Get(cmd.Context(), ref)
	if errors.Is(err, forge.ErrNoProposal) {
		return nil, svc.NotOpen(ref)
	}
	return o, err
}

// showMerged renders a batch that is already on the base branch, with what
// apply recorded for each change.
func showMerged(w io.Writer, c display.Colors, svc *review.Service, m *review.Merged) {
	t := display.Terminal
	fmt.Fprintf(w, "%s     %s (merged)\n", c.Header("file"), t(m.Path))
	if m.EditedAfterMerge {
		fmt.Fprintf(w, "%s  the file on %s was edited after its merge; shown is the batch as merged (what ran or will run)\n", c.Header("warning"), t(svc.WS.Branch()))
	}
	for _, mod := range receiptModified(m.Receipt) {
		fmt.Fprintf(w, "%s %s by %s before the merge\n", c.Header("modified"), t(workspace.Short(mod.Commit)), t(mod.By))
	}
	review.RenderColors(w, m.Batch, m.Verdict, c)
	fmt.Fprintln(w)
	if m.Receipt == nil {
		fmt.Fprintln(w, "not applied yet (run: crmops apply)")
		return
	}
	a := m.Receipt.Approval
	fmt.Fprintf(w, "%s %s", c.Header("applied:"), c.Decision(a.Mode))
	for _, ap := range a.Approvers {
		fmt.Fprintf(w, ", approved by %s", t(ap.Login))
	}
	fmt.Fprintf(w, "; policy %s\n", t(shortPolicy(a.Policy)))
	if a.Refused != "" {
		fmt.Fprintf(w, "%s %s\n", c.Removed("refused:"), t(a.Refused))
	}
	for _, r := range m.Receipt.Changes {
		status := t(r.Status)
		fmt.Fprintf(w, "  %-4s %s%s %s", t(r.ID), c.Status(r.Status), strings.Repeat(" ", max(16-utf8.RuneCountInString(status), 0)), r.At.UTC().Format("2006-01-02 15:04:05Z"))
		if r.Error != "" {
			fmt.Fprintf(w, "  %s", t(r.Error))
		}
		fmt.Fprintln(w)
	}
}

func newReviewApproveCmd(f *factory) *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "approve BATCH",
		Short: "Approve a proposal's current head (approvals count only on the head commit)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			login, err := f.login(as)
			if err != nil {
				return err
			}
			svc, err := f.reviewService()
			if err != nil {
				return err
			}
			ev, err := svc.Approve(cmd.Context(), a[0], login)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.out, "Approved %s as %s (%d approval(s) on head %s).\n", a[0], login, len(ev.Approvals), workspace.Short(ev.Open.Head))
			if ev.Decision != "" {
				fmt.Fprintf(f.out, "It can be merged now: crmops merge %s\n", a[0])
			} else {
				fmt.Fprintf(f.out, "Not mergeable yet: %s\n", display.Terminal(ev.Blocked))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "your login (default: $CRMOPS_LOGIN or the OS user)")
	return cmd
}

func newReviewRejectCmd(f *factory) *cobra.Command {
	var as, reason string
	cmd := &cobra.Command{
		Use:   "reject BATCH",
		Short: "Reject (close) a proposal; its changes will not be proposed again",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			login, err := f.login(as)
			if err != nil {
				return err
			}
			svc, err := f.reviewService()
			if err != nil {
				return err
			}
			recorded, err := svc.Reject(cmd.Context(), a[0], login, reason)
			if err != nil {
				return err
			}
			if !recorded {
				fmt.Fprintf(f.out, "Rejected %s; not recorded as a rejection: its proposer is not one the policy trusts, so its changes may be proposed again.\n", a[0])
				return nil
			}
			fmt.Fprintf(f.out, "Rejected %s; recorded in %s.\n", a[0], batch.RejectionPath(batch.Path(a[0])))
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "your login (default: $CRMOPS_LOGIN or the OS user)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the record")
	return cmd
}

func newReviewDropCmd(f *factory) *cobra.Command {
	var as, reason string
	cmd := &cobra.Command{
		Use:   "drop BATCH CHANGE_ID...",
		Short: "Drop changes from a proposal before approving it (a merge's survivorship sets go with it); they will not be proposed again",
		Long: `Drop commits, on the proposal's branch, the batch file without the changes
named (and without the sets that follow a dropped merge), as you. A commit
that only drops changes adds nothing of yours, so you may still approve the
new head: approvals count only on the head commit. The dropped changes are
recorded as rejected on the base branch, so detect and propose do not
propose them again. See docs/modify.md.`,
		Args: args(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			login, err := f.login(as)
			if err != nil {
				return err
			}
			svc, err := f.reviewService()
			if err != nil {
				return err
			}
			d := &modify.Dropper{WS: svc.WS, Forge: svc.Forge}
			res, err := d.Drop(cmd.Context(), modify.Request{Batch: a[0], IDs: a[1:], Login: login, Reason: reason, At: f.now()})
			if err != nil {
				return err
			}
			t := display.Terminal
			if len(res.Dropped) > 0 {
				fmt.Fprintf(f.out, "Dropped %s from %s as %s; its head is now %s.\n", t(strings.Join(res.Dropped, ", ")), t(res.Batch), t(login), workspace.Short(res.Head))
				if len(res.Followers) > 0 {
					fmt.Fprintf(f.out, "  %s followed a dropped merge and went with it.\n", t(strings.Join(res.Followers, ", ")))
				}
			}
			if len(res.Earlier) > 0 {
				fmt.Fprintf(f.out, "%s had been dropped from %s already.\n", t(strings.Join(res.Earlier, ", ")), t(res.Batch))
			}
			for _, p := range res.Records {
				fmt.Fprintf(f.out, "Recorded as rejected in %s: they will not be proposed again.\n", t(p))
			}
			if res.Untrusted {
				fmt.Fprintf(f.out, "Not recorded as rejected: the proposer is not one the policy trusts, so those changes may be proposed again.\n")
			}
			if res.MergedMeanwhile {
				fmt.Fprintf(f.out, "It was merged meanwhile, without them.\n")
			} else if len(res.Dropped) > 0 {
				fmt.Fprintf(f.out, "Approvals of the earlier head no longer count; you may approve the new one: crmops review approve %s\n", t(res.Batch))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "your login (default: $CRMOPS_LOGIN or the OS user)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the record")
	return cmd
}

func newMergeCmd(f *factory) *cobra.Command {
	var as string
	var ifReady bool
	cmd := &cobra.Command{
		Use:   "merge BATCH|PR",
		Short: "Merge a proposal if the base branch's policy allows: auto, or approvals satisfied",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			login, err := f.login(as)
			if err != nil {
				return err
			}
			svc, err := f.reviewService()
			if err != nil {
				return err
			}
			if _, err := svc.WS.Sync(cmd.Context()); err != nil {
				return err
			}
			o, err := openProposal(cmd, svc, a[0])
			if err != nil {
				return err
			}
			res, err := svc.Merge(cmd.Context(), o, login)
			if ifReady && err != nil && res != nil && res.Evaluation.Waiting {
				fmt.Fprintf(f.out, "Not merged yet: %s\n", display.Terminal(res.Evaluation.Blocked))
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(f.out, "Merged %s (%s) as %s.\nRun crmops apply to execute it.\n",
				o.BatchID, res.Evaluation.Decision, workspace.Short(res.Commit))
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "your login (default: $CRMOPS_LOGIN or the OS user)")
	cmd.Flags().BoolVar(&ifReady, "if-ready", false, "exit 0 when the batch only waits for more approvals (for workflows run on each approval)")
	return cmd
}

func receiptModified(rc *batch.Receipt) []batch.Modification {
	if rc == nil {
		return nil
	}
	return rc.Modified
}
