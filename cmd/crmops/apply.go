package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/apply"
	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/workflows"
	"github.com/crmops/crmops/internal/workspace"
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
			writeApplySummary(f, ws, rep, opts.DryRun)
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
	t := display.Terminal
	for _, b := range rep.Batches {
		if b.Refused != "" {
			fmt.Fprintf(f.out, "refused  %s: %s\n", t(b.Batch), t(b.Refused))
			continue
		}
		fmt.Fprintf(f.out, "%-8s %s (%s): %s\n", verb, t(b.Batch), t(b.Mode), apply.Summary(b.Counts))
	}
	if n := rep.Problems(); n > 0 && !dryRun {
		return &exitCodeError{code: exitProblem, msg: fmt.Sprintf("apply: %d change(s) stale, failed or refused; see the receipts under proposals/", n)}
	}
	return nil
}

// writeApplySummary appends the run's Markdown report to
// $GITHUB_STEP_SUMMARY: every batch with its changes per status, its pull
// request and receipt (linked on GitHub Actions), and the refused batches
// with why. A summary that cannot be written is a warning: what was
// applied stands, and so does apply's exit code.
func writeApplySummary(f *factory, ws *workspace.Workspace, rep *apply.Report, dryRun bool) {
	path := f.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return
	}
	receipts := receiptFiles(ws)
	repoURL := ""
	if server, repo := strings.TrimSuffix(f.getenv("GITHUB_SERVER_URL"), "/"), f.getenv("GITHUB_REPOSITORY"); server != "" && repo != "" {
		repoURL = server + "/" + repo
	}
	rows := make([]workflows.AppliedBatch, 0, len(rep.Batches))
	for _, b := range rep.Batches {
		ab := workflows.AppliedBatch{Batch: b.Batch, Mode: b.Mode, Refused: b.Refused, Counts: b.Counts}
		if rc, ok := receipts.read(b.Batch); ok && !dryRun {
			ab.Receipt = rc.path
			ab.PullRequest = rc.receipt.Approval.PullRequest
			if repoURL != "" {
				ab.ReceiptURL = repoURL + "/blob/" + pathEscape(ws.Branch()) + "/" + pathEscape(rc.path)
				if ab.PullRequest > 0 {
					ab.PullRequestURL = fmt.Sprintf("%s/pull/%d", repoURL, ab.PullRequest)
				}
			}
		}
		rows = append(rows, ab)
	}
	if err := workflows.AppendSummary(path, workflows.ApplySummary(rows, dryRun)+"\n"); err != nil {
		fmt.Fprintln(f.err, "crmops: warning: "+err.Error())
	}
}

// receiptsAt finds the receipts apply committed on the base branch.
type receiptsAt struct {
	ws    *workspace.Workspace
	base  gitrepo.Hash
	paths map[string]string // batch id: receipt path
}

type foundReceipt struct {
	path    string
	receipt *batch.Receipt
}

// receiptFiles lists the receipts on the base branch as apply left it (the
// remote's, else the local branch); none when it cannot be read, and then
// the summary shows ids only.
func receiptFiles(ws *workspace.Workspace) receiptsAt {
	r := receiptsAt{ws: ws, paths: map[string]string{}}
	for _, ref := range []string{ws.RemoteRef(), gitrepo.BranchRef(ws.Branch())} {
		h, err := ws.Git.Ref(ref)
		if err != nil {
			continue
		}
		files, err := ws.Files(h, batch.Dir)
		if err != nil {
			return r
		}
		r.base = h
		for _, file := range files {
			if batch.IsBatchFile(file) {
				r.paths[batch.IDFromPath(file)] = batch.ReceiptPath(file)
			}
		}
		return r
	}
	return r
}

func (r receiptsAt) read(id string) (foundReceipt, bool) {
	p, ok := r.paths[id]
	if !ok {
		return foundReceipt{}, false
	}
	data, err := r.ws.Git.ReadFile(r.base, p)
	if err != nil {
		return foundReceipt{}, false
	}
	rc, err := batch.DecodeReceipt(p, data)
	if err != nil {
		return foundReceipt{}, false
	}
	return foundReceipt{path: p, receipt: rc}, true
}

// pathEscape escapes each segment of a repository path for a URL.
func pathEscape(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
