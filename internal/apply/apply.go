// Package apply executes merged batches against the CRM. Before anything
// runs it checks the approval evidence the forge recorded against the policy
// of the base branch the batch merged into; then it applies each change with
// compare-and-swap and records every outcome in a receipt beside the batch.
//
// Apply is resumable: progress is written to a partial receipt after every
// chunk of changes, and a change whose field already holds its new value is
// recorded as already_applied, so killing apply at any point and running it
// again applies every change exactly once.
package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/workspace"
)

// Evidence finds how a batch reached the base branch.
type Evidence interface {
	MergedBy(ctx context.Context, batchID, path string) (*forge.Merged, error)
}

// Runner applies merged batches in one workspace.
type Runner struct {
	WS       *workspace.Workspace
	Evidence Evidence
	CRM      crm.Connector
	Now      func() time.Time
	// ExecutedBy names this build in receipts: crmops/<version>.
	ExecutedBy string
	// Log receives one line per batch and per problem; nil discards.
	Log io.Writer
	// ChunkSize is how many changes go to the CRM per call (default 100).
	ChunkSize int
	// AfterChunk, when set, is called after each chunk's results are saved
	// (tests use it to stop mid-batch).
	AfterChunk func(batchID string, done int)
}

// Options select what to apply.
type Options struct {
	Batch  string
	DryRun bool
}

// BatchReport is what happened to one batch.
type BatchReport struct {
	Batch   string
	Mode    string
	Refused string
	Counts  map[string]int
	Planned []Planned // dry runs only
}

// Planned is a dry run's prediction for one change.
type Planned struct {
	Change   string
	Status   string
	Observed string
}

// Report sums up a run.
type Report struct {
	Batches []BatchReport
}

// Problems counts stale, failed and refused changes: apply exits 4 on any.
func (r *Report) Problems() int {
	n := 0
	for _, b := range r.Batches {
		n += b.Counts[batch.StatusStale] + b.Counts[batch.StatusFailed]
		if b.Refused != "" {
			n++
		}
	}
	return n
}

func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

// Run applies every merged batch without a receipt, oldest first.
func (r *Runner) Run(ctx context.Context, opts Options) (*Report, error) {
	if r.ChunkSize <= 0 {
		r.ChunkSize = 100
	}
	unlock, err := lock(r.WS.Path(".crmops/apply.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	base, err := r.WS.Sync(ctx)
	if err != nil {
		return nil, err
	}
	pending, err := r.pending(base, opts.Batch)
	if err != nil {
		return nil, err
	}
	if opts.Batch == "" && !opts.DryRun {
		r.sweepPartials(pending)
	}
	rep := &Report{}
	for _, path := range pending {
		br, err := r.applyBatch(ctx, base, path, opts.DryRun)
		if err != nil {
			return rep, fmt.Errorf("apply %s: %w", batch.IDFromPath(path), err)
		}
		rep.Batches = append(rep.Batches, *br)
	}
	return rep, nil
}

// pending lists batch files on the base commit that have no receipt yet.
func (r *Runner) pending(base gitrepo.Hash, only string) ([]string, error) {
	files, err := r.WS.Files(base, batch.Dir)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(files))
	for _, f := range files {
		have[f] = true
	}
	var out []string
	found := false
	for _, f := range files {
		if !batch.IsBatchFile(f) {
			continue
		}
		if only != "" && batch.IDFromPath(f) != only {
			continue
		}
		found = true
		if !have[batch.ReceiptPath(f)] {
			out = append(out, f)
		}
	}
	if only != "" && !found {
		return nil, fmt.Errorf("batch %s is not on %s (is it merged?)", only, r.WS.Branch())
	}
	sort.Slice(out, func(i, j int) bool { return batch.IDFromPath(out[i]) < batch.IDFromPath(out[j]) })
	return out, nil
}

func (r *Runner) applyBatch(ctx context.Context, base gitrepo.Hash, path string, dryRun bool) (*BatchReport, error) {
	id := batch.IDFromPath(path)
	br := &BatchReport{Batch: id, Counts: map[string]int{}}
	data, err := r.WS.Git.ReadFile(base, path)
	if err != nil {
		return nil, err
	}
	b, decodeErr := batch.Decode(path, data)
	var approval batch.Approval
	var mergeCommit string
	if decodeErr != nil {
		approval = batch.Approval{Mode: batch.ModeRefused, Refused: "invalid batch: " + decodeErr.Error()}
	} else {
		approval, mergeCommit, err = r.checkEvidence(ctx, b, path, data)
		if err != nil {
			return nil, err
		}
	}
	br.Mode = approval.Mode
	if approval.Mode == batch.ModeRefused {
		br.Refused = approval.Refused
		if dryRun {
			return br, nil
		}
		return br, r.commitReceipt(ctx, refusal(id, b, approval, r.ExecutedBy, r.Now()))
	}
	if dryRun {
		return br, r.dryRun(ctx, b, br)
	}
	rc := r.loadPartial(id)
	if rc == nil {
		rc = &batch.Receipt{Version: batch.Version, Batch: id}
	}
	rc.Approval, rc.ExecutedBy, rc.MergeCommit = approval, r.ExecutedBy, mergeCommit
	if err := r.execute(ctx, b, rc); err != nil {
		return nil, err
	}
	for _, c := range rc.Changes {
		br.Counts[c.Status]++
	}
	if err := r.commitReceipt(ctx, rc); err != nil {
		return nil, err
	}
	_ = os.Remove(r.partialPath(id))
	return br, nil
}

// checkEvidence decides whether the batch may execute. A refusal is not an
// error: it is returned as an Approval with mode refused, to be recorded.
func (r *Runner) checkEvidence(ctx context.Context, b *batch.Batch, path string, data []byte) (batch.Approval, string, error) {
	refuse := func(format string, args ...any) (batch.Approval, string, error) {
		return batch.Approval{Mode: batch.ModeRefused, Refused: fmt.Sprintf(format, args...)}, "", nil
	}
	m, err := r.Evidence.MergedBy(ctx, b.ID, path)
	if err != nil {
		return batch.Approval{}, "", err
	}
	if m.MergeCommit == "" {
		return refuse("no approval evidence: the batch reached %s without a crmops merge", r.WS.Branch())
	}
	if len(m.Files) != 1 || m.Files[0] != path {
		return refuse("the merge %s changed %s, not only %s", workspace.Short(m.MergeCommit), strings.Join(m.Files, ", "), path)
	}
	headData, err := r.WS.Git.ReadFile(plumbing.NewHash(m.Head), path)
	if err != nil || !bytes.Equal(headData, data) {
		return refuse("the batch on %s differs from the reviewed head %s", r.WS.Branch(), workspace.Short(m.Head))
	}
	pol, ref, err := r.WS.PolicyAt(plumbing.NewHash(m.Base))
	if err != nil {
		return refuse("the policy the merge was decided under cannot be read: %v", err)
	}
	// The proposer is re-derived from the forge, as the merge gate derived
	// it: a batch cannot name who proposed it.
	bv := pol.EvaluateBatch(b, policy.Proposer{Login: m.Author, Outside: m.FromFork})
	approvals := m.Approvals
	if len(m.Unattributed) > 0 {
		approvals = nil
	}
	decision, err := policy.Sufficient(bv, len(approvals))
	if err != nil {
		return refuse("no approval evidence: %v", err)
	}
	switch {
	case m.FromFork:
		return refuse("a pull request from a fork is never applied: crmops merges only branches of this repository")
	case m.Decision == batch.ModeAuto && decision != batch.ModeAuto:
		return refuse("the merge recorded auto, but the base policy requires review")
	case m.Decision != batch.ModeAuto && m.Decision != batch.ModeApproved:
		return refuse("the merge records no crmops decision")
	}
	a := batch.Approval{Mode: m.Decision, Policy: ref, Rules: bv.Rules, PullRequest: m.PullRequest}
	if m.Decision == batch.ModeApproved {
		for _, ap := range approvals {
			a.Approvers = append(a.Approvers, batch.Approver{Login: ap.Login, At: ap.At.UTC().Truncate(time.Second)})
		}
	}
	return a, m.MergeCommit, nil
}

func refusal(id string, b *batch.Batch, a batch.Approval, by string, now time.Time) *batch.Receipt {
	rc := &batch.Receipt{Version: batch.Version, Batch: id, Approval: a, ExecutedBy: by}
	if b != nil {
		for _, c := range b.Changes {
			rc.Changes = append(rc.Changes, batch.ChangeResult{
				ID: c.ID, Status: batch.StatusSkipped, After: c.After, At: now.UTC().Truncate(time.Second), Error: "not executed: " + a.Refused,
			})
		}
	}
	return rc
}

// execute applies the changes the receipt has no result for, chunk by
// chunk, saving the partial receipt after each chunk.
func (r *Runner) execute(ctx context.Context, b *batch.Batch, rc *batch.Receipt) error {
	var todo []batch.Change
	for _, c := range b.Changes {
		if _, done := rc.Result(c.ID); !done {
			todo = append(todo, c)
		}
	}
	for start := 0; start < len(todo); {
		// A chunk holds consecutive changes of one op: sets and merges go to
		// different CRM calls.
		end := start + 1
		for end < len(todo) && end-start < r.ChunkSize && todo[end].Op == todo[start].Op {
			end++
		}
		chunk := todo[start:end]
		results, err := r.run(ctx, chunk)
		if err != nil {
			return err
		}
		now := r.Now().UTC().Truncate(time.Second)
		for i, c := range chunk {
			rc.Changes = append(rc.Changes, batch.ChangeResult{
				ID: c.ID, Status: string(results[i].Status), ObservedBefore: results[i].Observed,
				After: c.After, At: now, Error: results[i].Error,
			})
		}
		if err := r.savePartial(rc); err != nil {
			return err
		}
		if r.AfterChunk != nil {
			r.AfterChunk(b.ID, len(rc.Changes))
		}
		start = end
	}
	// Keep the receipt in the batch's order whatever order chunks ran in.
	order := map[string]int{}
	for i, c := range b.Changes {
		order[c.ID] = i
	}
	sort.SliceStable(rc.Changes, func(i, j int) bool { return order[rc.Changes[i].ID] < order[rc.Changes[j].ID] })
	return nil
}

func (r *Runner) run(ctx context.Context, chunk []batch.Change) ([]crm.Result, error) {
	var results []crm.Result
	var err error
	if chunk[0].TwoRecords() {
		reqs := make([]crm.MergeRequest, len(chunk))
		for i, c := range chunk {
			reqs[i] = crm.MergeRequest{Object: c.Object, Survivor: c.Record, Loser: c.MergeFrom, Source: c.Source, Snapshot: c.Snapshot}
		}
		if chunk[0].Op == batch.OpUnmerge {
			results, err = r.CRM.Unmerge(ctx, reqs)
		} else {
			results, err = r.CRM.Merge(ctx, reqs)
		}
	} else {
		reqs := make([]crm.SetRequest, len(chunk))
		for i, c := range chunk {
			reqs[i] = crm.SetRequest{Object: c.Object, Record: c.Record, Field: c.Field, Before: c.Before, After: c.After, Source: c.Source}
		}
		results, err = r.CRM.CompareAndSet(ctx, reqs)
	}
	if err != nil {
		return nil, fmt.Errorf("crm: %w", err)
	}
	if len(results) != len(chunk) {
		return nil, fmt.Errorf("crm returned %d results for %d changes", len(results), len(chunk))
	}
	return results, nil
}

// dryRun predicts each change's outcome from the CRM's current values.
func (r *Runner) dryRun(ctx context.Context, b *batch.Batch, br *BatchReport) error {
	byObject := map[string][]string{}
	for _, c := range b.Changes {
		byObject[c.Object] = append(byObject[c.Object], c.Record, c.MergeFrom)
	}
	current := map[string]map[string]crm.Record{}
	for obj, ids := range byObject {
		recs, err := r.CRM.Get(ctx, obj, ids, nil)
		if err != nil {
			return err
		}
		current[obj] = recs
	}
	for _, c := range b.Changes {
		p := Planned{Change: c.ID}
		rec, ok := current[c.Object][c.Record]
		switch {
		case !ok:
			p.Status = batch.StatusFailed
		case c.Op == batch.OpUnmerge:
			loser := current[c.Object][c.MergeFrom]
			p.Observed = loser.MergedInto
			switch loser.MergedInto {
			case "":
				p.Status = batch.StatusAlreadyApplied
			case c.Record:
				p.Status = batch.StatusApplied
			default:
				p.Status = batch.StatusStale
			}
		case c.Op == batch.OpMerge:
			loser := current[c.Object][c.MergeFrom]
			p.Observed = loser.MergedInto
			switch {
			// HubSpot's merge gives the merged pair a new id: both records
			// then resolve to it.
			case loser.MergedInto == c.Record, loser.MergedInto != "" && loser.MergedInto == rec.MergedInto:
				p.Status = batch.StatusAlreadyApplied
			case loser.MergedInto == "":
				p.Status = batch.StatusApplied
			default:
				p.Status = batch.StatusStale
			}
		default:
			p.Observed = rec.Fields[c.Field]
			switch p.Observed {
			case c.After:
				p.Status = batch.StatusAlreadyApplied
			case c.Before:
				p.Status = batch.StatusApplied
			default:
				p.Status = batch.StatusStale
			}
		}
		br.Counts[p.Status]++
		br.Planned = append(br.Planned, p)
	}
	return nil
}

func (r *Runner) partialPath(id string) string {
	return r.WS.Path(filepath.Join(".crmops", "partial", id+batch.ReceiptSuffix))
}

// sweepPartials removes saved progress of batches that are no longer
// pending: a run killed after committing a receipt but before removing its
// partial leaves one behind.
func (r *Runner) sweepPartials(pending []string) {
	keep := map[string]bool{}
	for _, p := range pending {
		keep[batch.IDFromPath(p)+batch.ReceiptSuffix] = true
	}
	dir := filepath.Dir(r.partialPath("x"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// loadPartial returns the progress a killed run saved, if any.
func (r *Runner) loadPartial(id string) *batch.Receipt {
	p := r.partialPath(id)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	rc, err := batch.DecodeReceipt(p, data)
	if err != nil {
		r.logf("%s: ignoring unreadable partial receipt %s: %v", id, p, err)
		return nil
	}
	return rc
}

// savePartial writes the receipt so far atomically: a kill leaves either the
// old or the new file, never a torn one.
func (r *Runner) savePartial(rc *batch.Receipt) error {
	data, err := batch.Encode(rc)
	if err != nil {
		return err
	}
	p := r.partialPath(rc.Batch)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (r *Runner) commitReceipt(ctx context.Context, rc *batch.Receipt) error {
	data, err := batch.Encode(rc)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, c := range rc.Changes {
		counts[c.Status]++
	}
	subject := fmt.Sprintf("Apply batch %s: %s", rc.Batch, summary(counts))
	if rc.Approval.Mode == batch.ModeRefused {
		subject = fmt.Sprintf("Refuse batch %s: %s", rc.Batch, rc.Approval.Refused)
	}
	// [skip actions]: a receipt commit must not start workflows of its own.
	msg := fmt.Sprintf("%s\n\n[skip actions]\n\nCrmops-Batch: %s\nCrmops-Receipt: %s\n", subject, rc.Batch, rc.Approval.Mode)
	at := r.Now()
	who := gitrepo.Identity{Name: "crmops", Email: workspace.LoginEmail("crmops"), When: at}
	path, err := r.receiptPath(rc.Batch)
	if err != nil {
		return err
	}
	if _, err := r.WS.CommitToBase(ctx, map[string][]byte{path: data}, msg, who); err != nil {
		return fmt.Errorf("commit receipt: %w", err)
	}
	return nil
}

// receiptPath puts the receipt beside its batch, wherever it is sharded.
func (r *Runner) receiptPath(id string) (string, error) {
	base, err := r.WS.Git.Ref(r.WS.RemoteRef())
	if err != nil {
		return "", err
	}
	files, err := r.WS.Files(base, batch.Dir)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		if batch.IsBatchFile(f) && batch.IDFromPath(f) == id {
			return batch.ReceiptPath(f), nil
		}
	}
	return batch.ReceiptPath(batch.Path(id)), nil
}

func summary(counts map[string]int) string {
	var parts []string
	for _, s := range []string{batch.StatusApplied, batch.StatusAlreadyApplied, batch.StatusStale, batch.StatusFailed, batch.StatusSkipped} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, ", ")
}

// Summary describes status counts in one phrase.
func Summary(counts map[string]int) string { return summary(counts) }

var errLocked = errors.New("another crmops apply is running in this repository")

func ensureDir(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}
