package propose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/review"
	"github.com/crmops/crmops/internal/workspace"
)

// Runner proposes planned batches through the forge and merges the auto ones.
type Runner struct {
	WS     *workspace.Workspace
	Forge  forge.Forge
	Review *review.Service
	Now    func() time.Time
	// Author is the login proposals are opened as.
	Author string
	// Agent is the AI agent the changes come through (crmops mcp), "" for
	// any other proposer: it is written into every batch as its agent.
	Agent string
}

// Options change how a run proposes.
type Options struct {
	// NoMerge leaves auto batches open instead of merging them at once.
	NoMerge bool
	// DryRun plans and reports without writing anything.
	DryRun bool
	// Review, when set, sends every batch to review with this reason.
	Review string
	// Title, when set, titles every batch instead of the planner's title.
	Title string
}

// Outcome is one proposed batch, in the SPEC's --json shape.
type Outcome struct {
	Batch       string `json:"batch"`
	Decision    string `json:"decision"`
	Changes     int    `json:"changes"`
	Branch      string `json:"branch"`
	PullRequest int    `json:"pull_request"`
	State       string `json:"state"`
	Title       string `json:"-"`
	Blocked     string `json:"-"`
	Commit      string `json:"-"`
	// Rules decided the batch; Why says what sent an all-auto batch to
	// review (a limit, its review key); URL is the proposal's page.
	Rules []string `json:"-"`
	Why   string   `json:"-"`
	URL   string   `json:"-"`
}

// Result is a run's plan and what became of each batch.
type Result struct {
	Plan     Plan
	Outcomes []Outcome
}

// Run plans changes from source (a detector name or propose's --source),
// opens a proposal per batch and merges those the policy lets through.
func (r *Runner) Run(ctx context.Context, source string, changes []batch.Change, opts Options) (*Result, error) {
	base, err := r.WS.Sync(ctx)
	if err != nil {
		return nil, err
	}
	if base, err = RecordClosed(ctx, r.WS, r.Forge, base); err != nil {
		return nil, err
	}
	pol, _, err := r.WS.PolicyAt(base)
	if err != nil {
		return nil, fmt.Errorf("policy of %s: %w", r.WS.Branch(), err)
	}
	opens, err := r.Forge.List(ctx)
	if err != nil {
		return nil, err
	}
	var openBatches []*batch.Batch
	for _, o := range opens {
		// An open proposal too broken to decode still holds its records:
		// treat what can be read of it as busy, and skip what cannot.
		b, err := batch.Decode(o.Path, o.Content)
		if err != nil {
			continue
		}
		// A proposal from someone the policy does not trust (a fork, an
		// outside writer) can be reviewed, but it must not keep detectors
		// off the records it names. An agent's own open proposals always
		// hold its records against it, so asking twice proposes once.
		if !pol.Trusts(review.ProposerOf(o)) && (r.Agent == "" || b.Agent != r.Agent) {
			continue
		}
		openBatches = append(openBatches, b)
	}
	// A batch merged but not yet applied holds its records as an open
	// proposal does: proposing the same change again would run it twice.
	pending, taken, err := onBase(r.WS, base)
	if err != nil {
		return nil, err
	}
	openBatches = append(openBatches, pending...)
	for _, o := range opens {
		taken[o.BatchID] = true
	}
	rejected, err := Rejections(r.WS, base)
	if err != nil {
		return nil, err
	}
	by := policy.Proposer{Login: r.Author, Agent: r.Agent}
	plan := Build(Context{Policy: pol, Proposer: by, Open: openBatches, Rejected: rejected, Now: r.Now(), Review: opts.Review}, source, changes)
	for _, p := range plan.Batches {
		// Two runs in one second with the same changes name their batches
		// alike: the id of one already merged, rejected or open is taken.
		p.Batch.ID = unique(p.Batch.ID, taken)
		taken[p.Batch.ID] = true
	}
	res := &Result{Plan: plan}
	for _, p := range plan.Batches {
		if opts.Title != "" {
			p.Batch.Title = opts.Title
		}
		out := Outcome{Batch: p.Batch.ID, Decision: string(p.Verdict.Decision), Changes: len(p.Batch.Changes),
			Branch: forge.BranchPrefix + p.Batch.ID, State: "planned", Title: p.Batch.Title, Rules: p.Verdict.Rules, Why: p.Verdict.Why}
		if opts.DryRun {
			res.Outcomes = append(res.Outcomes, out)
			continue
		}
		o, err := r.open(ctx, p, &out)
		if errors.Is(err, forge.ErrExists) {
			// A run beside this one proposed the very same batch (same
			// second, same changes) first: it is proposed once, by that run.
			out.State, out.Blocked = "open", "proposed by a concurrent run; that run merges it"
			res.Outcomes = append(res.Outcomes, out)
			continue
		}
		if err != nil {
			return res, err
		}
		if p.Verdict.Decision == policy.Auto && !opts.NoMerge {
			m, err := r.Review.Merge(ctx, o, r.Author)
			switch {
			case errors.Is(err, review.ErrBlocked):
				out.Blocked = err.Error()
			case err != nil:
				return res, err
			default:
				out.State, out.Commit = "merged", m.Commit
			}
		}
		res.Outcomes = append(res.Outcomes, out)
	}
	return res, nil
}

func (r *Runner) open(ctx context.Context, p Planned, out *Outcome) (*forge.Open, error) {
	content, err := batch.Encode(p.Batch)
	if err != nil {
		return nil, err
	}
	labels := []string{"crmops", "crmops:" + string(p.Verdict.Decision)}
	status, description := "success", "auto under "+strings.Join(p.Verdict.Rules, ", ")
	switch p.Verdict.Decision {
	case policy.Review:
		status, description = "pending", fmt.Sprintf("needs %d approval(s): %s", p.Verdict.Approvals, strings.Join(p.Verdict.Rules, ", "))
	case policy.Deny:
		status, description = "failure", "denied: "+strings.Join(p.Verdict.Rules, ", ")
	}
	o, err := r.Forge.Open(ctx, forge.Proposal{
		BatchID: p.Batch.ID, Path: batch.Path(p.Batch.ID), Content: content,
		Title: p.Batch.Title, Body: review.Markdown(p.Batch, p.Verdict), Summary: Summary(p.Batch, p.Verdict), Author: r.Author,
		Labels: labels, Reviewers: p.Verdict.Reviewers, At: r.Now(),
		Status: status, StatusDescription: description,
	})
	if err != nil {
		return nil, fmt.Errorf("propose %s: %w", p.Batch.ID, err)
	}
	out.State, out.PullRequest, out.Branch, out.URL = "open", o.PullRequest, o.Branch, o.URL
	return o, nil
}

// closedLister is a forge where proposals can be closed outside crmops
// (a pull request closed in GitHub's UI).
type closedLister interface {
	ClosedUnmerged(ctx context.Context) ([]forge.Closed, error)
}

// RecordClosed commits a rejection record for every proposal closed without
// merging that has none yet, so its changes are not proposed again. It
// returns the new base commit.
func RecordClosed(ctx context.Context, ws *workspace.Workspace, fg forge.Forge, base gitrepo.Hash) (gitrepo.Hash, error) {
	cl, ok := fg.(closedLister)
	if !ok {
		return base, nil
	}
	closed, err := cl.ClosedUnmerged(ctx)
	if err != nil {
		return base, err
	}
	pol, _, err := ws.PolicyAt(base)
	if err != nil {
		return base, err
	}
	for _, c := range closed {
		if _, err := ws.Git.ReadFile(base, batch.RejectionPath(c.Open.Path)); err == nil {
			continue
		}
		// Closing an untrusted proposal rejects nothing: it must not stop
		// a genuine change of the same fields from being proposed later.
		if !pol.Trusts(review.ProposerOf(c.Open)) {
			continue
		}
		if err := review.RecordRejection(ctx, ws, c.Open, c.By, "closed without merging", c.At); err != nil {
			return base, err
		}
		if base, err = ws.Git.Ref(ws.RemoteRef()); err != nil {
			return base, err
		}
	}
	return base, nil
}

// onBase reads the base commit's batches: those merged without a receipt
// yet, and every batch id already used there (batches, receipts,
// rejections).
func onBase(ws *workspace.Workspace, base gitrepo.Hash) (pending []*batch.Batch, ids map[string]bool, err error) {
	files, err := ws.Files(base, batch.Dir)
	if err != nil {
		return nil, nil, err
	}
	have := make(map[string]bool, len(files))
	ids = map[string]bool{}
	for _, f := range files {
		have[f] = true
		if id := batch.IDOfFile(f); id != "" {
			ids[id] = true
		}
	}
	for _, f := range files {
		if !batch.IsBatchFile(f) || have[batch.ReceiptPath(f)] {
			continue
		}
		data, err := ws.Git.ReadFile(base, f)
		if err != nil {
			return nil, nil, err
		}
		// A batch too broken to decode is refused by apply, not run.
		if b, err := batch.Decode(f, data); err == nil {
			pending = append(pending, b)
		}
	}
	return pending, ids, nil
}

// unique returns id, or id with the first free suffix -2, -3, … when id is
// taken.
func unique(id string, taken map[string]bool) string {
	if !taken[id] {
		return id
	}
	for n := 2; ; n++ {
		if c := fmt.Sprintf("%s-%d", id, n); !taken[c] {
			return c
		}
	}
}

// Rejections reads every rejection record on the base commit.
func Rejections(ws *workspace.Workspace, base gitrepo.Hash) (map[string]bool, error) {
	files, err := ws.Files(base, batch.Dir)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, f := range files {
		if !strings.HasSuffix(f, batch.RejectionSuffix) {
			continue
		}
		data, err := ws.Git.ReadFile(base, f)
		if err != nil {
			return nil, err
		}
		rej, err := batch.DecodeRejection(f, data)
		if err != nil || rej.Batch != batch.IDOfFile(f) {
			// Not a rejection crmops wrote (a batch named to look like one,
			// a hand edit): it suppresses nothing, and it must not stop
			// every later proposal either.
			continue
		}
		for _, c := range rej.Changes {
			keys[c.Key()] = true
		}
	}
	return keys, nil
}

// Summary is a short description of a batch for the proposal's message:
// counts by kind and decision, then the first changes.
func Summary(b *batch.Batch, bv policy.BatchVerdict) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%d change(s) proposed by %s; decision %s (rules: %s).\n",
		len(b.Changes), b.Detector, bv.Decision, strings.Join(bv.Rules, ", "))
	const shown = 20
	for i, c := range b.Changes {
		if i == shown {
			fmt.Fprintf(&s, "... and %d more\n", len(b.Changes)-shown)
			break
		}
		if c.TwoRecords() {
			fmt.Fprintf(&s, "- %s: %s %s/%s and %s\n", c.ID, c.Op, c.Object, c.MergeFrom, c.Record)
		} else {
			fmt.Fprintf(&s, "- %s: %s/%s %s: %q -> %q\n", c.ID, c.Object, c.Record, c.Field, c.Before, c.After)
		}
	}
	return s.String()
}
