// Package apply executes merged batches against the CRM. Before anything
// runs it checks the approval evidence the forge recorded against the policy
// of the base branch the batch merged into; then it applies each change with
// compare-and-swap and records every outcome in a receipt beside the batch.
//
// Apply is resumable: progress is written to a partial receipt after every
// chunk of changes, and a change whose field already holds its new value is
// recorded as already_applied, so killing apply at any point and running it
// again applies every change exactly once.
//
// Changes run in batch order. A set that follows a merge (its follows
// names the merge: the survivorship value approved with it) runs only when
// the merge's result, in this run or in saved progress, is applied or
// already_applied; otherwise it is recorded stale and never sent.
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
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/strictyaml"
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

// chunker is a CRM that says how many changes one call should carry: where
// a call writes many records at once (Salesforce's Collections take 200),
// a larger chunk costs fewer API calls, and a crash still loses nothing,
// since the rerun reads what was written.
type chunker interface{ ApplyChunk() int }

// Run applies every merged batch without a receipt, oldest first.
func (r *Runner) Run(ctx context.Context, opts Options) (*Report, error) {
	if r.ChunkSize <= 0 {
		r.ChunkSize = 100
		if c, ok := r.CRM.(chunker); ok {
			r.ChunkSize = c.ApplyChunk()
		}
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
	// .crmops/ is this machine's state (saved progress, the embedded CRM):
	// committed, it could claim progress that was never made.
	if tracked, err := r.WS.Files(base, stateDir); err != nil {
		return nil, err
	} else if len(tracked) > 0 {
		return nil, fmt.Errorf("apply: %s is tracked by git on %s (%s); crmops keeps machine state there and trusts none of it from git: remove it from the branch (git rm -r --cached %s) and run apply again",
			stateDir+"/", r.WS.Branch(), tracked[0], stateDir)
	}
	pending, err := r.pending(ctx, base, opts.Batch, opts.DryRun)
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

// stateDir holds what crmops keeps on this machine only.
const stateDir = ".crmops"

// pending lists batch files on the base commit that never ran. A batch ran
// when it has a receipt that is one (it decodes and names the batch), or
// when the base branch's history holds a receipt commit for it: a receipt
// deleted from the branch does not make a batch run twice. Such a receipt
// is put back from history (unless dryRun), and the batch is not pending.
func (r *Runner) pending(ctx context.Context, base gitrepo.Hash, only string, dryRun bool) ([]string, error) {
	files, err := r.WS.Files(base, batch.Dir)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(files))
	for _, f := range files {
		have[f] = true
	}
	var candidates []string
	found := false
	for _, f := range files {
		if !batch.IsBatchFile(f) {
			continue
		}
		if only != "" && batch.IDFromPath(f) != only {
			continue
		}
		found = true
		if !have[batch.ReceiptPath(f)] || !r.validReceipt(base, f) {
			candidates = append(candidates, f)
		}
	}
	if only != "" && !found {
		return nil, fmt.Errorf("batch %s is not on %s (is it merged?)", only, r.WS.Branch())
	}
	ran, err := r.ranBefore(base, candidates)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range candidates {
		at, ok := ran[batch.IDFromPath(f)]
		if !ok {
			out = append(out, f)
			continue
		}
		id := batch.IDFromPath(f)
		r.logf("%s: already ran (receipt committed in %s, since removed or damaged); a batch runs once: to run its changes again, propose them again", id, workspace.Short(at.String()))
		if !dryRun {
			if err := r.restoreReceipt(ctx, f, at); err != nil {
				return nil, fmt.Errorf("restore the receipt of %s: %w", id, err)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return batch.IDFromPath(out[i]) < batch.IDFromPath(out[j]) })
	return out, nil
}

// validReceipt reports whether the receipt beside the batch file f on base
// is a receipt of that batch.
func (r *Runner) validReceipt(base gitrepo.Hash, f string) bool {
	p := batch.ReceiptPath(f)
	data, err := r.WS.Git.ReadFile(base, p)
	if err != nil {
		return false
	}
	rc, err := batch.DecodeReceipt(p, data)
	return err == nil && rc.Batch == batch.IDFromPath(f)
}

// ranBefore walks the base branch's first-parent history for the receipt
// commits of the batches in files, newest first, and returns where each
// that ran got its receipt. The walk stops once every batch is placed: at
// its receipt commit, or at its merge (a receipt is always newer), so the
// usual case, recent merges not yet applied, reads a few commits.
func (r *Runner) ranBefore(base gitrepo.Hash, files []string) (map[string]gitrepo.Hash, error) {
	ran := map[string]gitrepo.Hash{}
	open := map[string]bool{}
	for _, f := range files {
		open[batch.IDFromPath(f)] = true
	}
	if len(open) == 0 {
		return ran, nil
	}
	err := r.WS.Git.Log(base, true, func(c *gitrepo.Commit) error {
		id := firstValue(c.TrailerValues(TrailerBatch))
		if !open[id] {
			return nil
		}
		switch {
		case len(c.TrailerValues(TrailerReceipt)) > 0:
			ran[id] = c.Hash
			delete(open, id)
		case len(c.Parents) == 2:
			delete(open, id) // its merge: no receipt came after it
		}
		if len(open) == 0 {
			return gitrepo.ErrStop
		}
		return nil
	})
	return ran, err
}

// restoreReceipt commits the receipt the batch file f had at commit at.
func (r *Runner) restoreReceipt(ctx context.Context, f string, at gitrepo.Hash) error {
	p := batch.ReceiptPath(f)
	data, err := r.WS.Git.ReadFile(at, p)
	if err != nil {
		return err
	}
	id := batch.IDFromPath(f)
	msg := fmt.Sprintf("Restore the receipt of batch %s\n\nIt ran in %s; a batch runs once.\n\n[skip actions]\n\n%s: %s\n", id, at, TrailerBatch, id)
	who := gitrepo.Identity{Name: "crmops", Email: workspace.LoginEmail("crmops"), When: r.Now()}
	_, err = r.WS.CommitToBase(ctx, map[string][]byte{p: data}, msg, who)
	return err
}

// Trailers of the commits apply writes.
const (
	TrailerBatch   = "Crmops-Batch"
	TrailerReceipt = "Crmops-Receipt"
)

func firstValue(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
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
	var modified []batch.Modification
	if decodeErr != nil {
		approval = batch.Approval{Mode: batch.ModeRefused, Refused: "invalid batch: " + decodeErr.Error()}
	} else {
		approval, mergeCommit, modified, err = r.checkEvidence(ctx, b, path, data)
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
		rc := refusal(id, b, approval, r.ExecutedBy, r.Now())
		rc.BatchBlob = gitrepo.BlobHash(data).String()
		return br, r.commitReceipt(ctx, rc)
	}
	if dryRun {
		return br, r.dryRun(ctx, b, br)
	}
	blob := gitrepo.BlobHash(data).String()
	rc := r.loadPartial(id, blob)
	if rc == nil {
		rc = &batch.Receipt{Version: batch.Version, Batch: id}
	}
	rc.Approval, rc.ExecutedBy, rc.MergeCommit, rc.BatchBlob, rc.Modified = approval, r.ExecutedBy, mergeCommit, blob, modified
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
func (r *Runner) checkEvidence(ctx context.Context, b *batch.Batch, path string, data []byte) (batch.Approval, string, []batch.Modification, error) {
	refuse := func(format string, args ...any) (batch.Approval, string, []batch.Modification, error) {
		return batch.Approval{Mode: batch.ModeRefused, Refused: fmt.Sprintf(format, args...)}, "", nil, nil
	}
	m, err := r.Evidence.MergedBy(ctx, b.ID, path)
	if err != nil {
		return batch.Approval{}, "", nil, err
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
	if len(m.Unattributed) > 0 {
		return refuse("commit(s) changed the batch that the forge links to no account: %s", strings.Join(m.Unattributed, ", "))
	}
	pol, ref, err := r.WS.PolicyAt(plumbing.NewHash(m.Base))
	if err != nil {
		return refuse("the policy the merge was decided under cannot be read: %v", err)
	}
	// The proposer is re-derived from the forge, as the merge gate derived
	// it: a batch cannot name who proposed it.
	bv := pol.EvaluateBatch(b, policy.Proposer{Login: m.Author, Outside: m.FromFork})
	approvals := m.Approvals
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
	a := batch.Approval{Mode: m.Decision, Policy: ref, Rules: bv.Rules, PullRequest: m.PullRequest, Proposer: m.Author}
	if m.Decision == batch.ModeApproved {
		for _, ap := range approvals {
			a.Approvers = append(a.Approvers, batch.Approver{Login: ap.Login, At: ap.At.UTC().Truncate(time.Second)})
		}
	}
	modified, err := r.modifications(plumbing.NewHash(m.Head), plumbing.NewHash(m.Base), path)
	if err != nil {
		return batch.Approval{}, "", nil, err
	}
	return a, m.MergeCommit, modified, nil
}

// changedIDs names the changes that differ between two versions of a
// batch file (added, removed or altered), in the newer one's order.
func changedIDs(path string, before, after []byte) []string {
	old, errOld := batch.Decode(path, before)
	cur, errCur := batch.Decode(path, after)
	if errOld != nil || errCur != nil {
		return nil
	}
	was := map[string]batch.Change{}
	for _, c := range old.Changes {
		c.Pos = strictyaml.Pos{}
		was[c.ID] = c
	}
	var out []string
	for _, c := range cur.Changes {
		c.Pos = strictyaml.Pos{}
		if prev, ok := was[c.ID]; !ok || !reflect.DeepEqual(prev, c) {
			out = append(out, c.ID)
		}
		delete(was, c.ID)
	}
	for id := range was {
		out = append(out, id)
	}
	sort.Strings(out[len(out)-len(was):])
	return out
}

// modifications lists the commits that changed the batch file between its
// proposal (the oldest commit on the merged head's first-parent line that
// is not on the base and changed it) and the merged head: what reviewers
// changed before approving, with who committed it.
func (r *Runner) modifications(head, base gitrepo.Hash, path string) ([]batch.Modification, error) {
	var changes []batch.Modification
	err := r.WS.Git.Log(head, true, func(c *gitrepo.Commit) error {
		on, err := r.WS.Git.IsAncestor(c.Hash, base)
		if err != nil || on {
			if err == nil {
				err = gitrepo.ErrStop
			}
			return err
		}
		now, _ := r.WS.Git.ReadFile(c.Hash, path)
		var before []byte
		if len(c.Parents) > 0 {
			before, _ = r.WS.Git.ReadFile(c.Parents[0], path)
		}
		if !bytes.Equal(now, before) {
			by := c.Author.Name
			if c.Committer.Name != c.Author.Name {
				by += " (committed by " + c.Committer.Name + ")"
			}
			changes = append(changes, batch.Modification{Commit: c.Hash.String(), By: by, Changes: changedIDs(path, before, now)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("the batch's commits: %w", err)
	}
	if len(changes) <= 1 {
		return nil, nil // only the proposal itself
	}
	changes = changes[:len(changes)-1] // newest first, the proposal last
	slices.Reverse(changes)
	return changes, nil
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
	// The saved progress is encoded once up to its results, and each
	// result once as it comes: saving a chunk encodes that chunk, not the
	// receipt so far (the results are the file's last key, so the bytes
	// are the receipt's as batch.Encode writes it).
	saved, err := batch.NewReceiptEncoder(batch.ReceiptPath(batch.Path(rc.Batch)), rc)
	if err != nil {
		return err
	}
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
		// A set that follows a merge runs only if the merge did: the
		// merges it follows ran in an earlier chunk, this run or a saved one.
		var send []batch.Change
		held := map[string]string{}
		for _, c := range chunk {
			if why := mergeNotApplied(c, rc); why != "" {
				held[c.ID] = why
			} else {
				send = append(send, c)
			}
		}
		var results []crm.Result
		if len(send) > 0 {
			var err error
			if results, err = r.run(ctx, send); err != nil {
				return err
			}
		}
		now := r.Now().UTC().Truncate(time.Second)
		first := len(rc.Changes)
		for _, c := range chunk {
			if why, ok := held[c.ID]; ok {
				rc.Changes = append(rc.Changes, batch.ChangeResult{ID: c.ID, Status: batch.StatusStale, After: c.After, At: now, Error: why})
				continue
			}
			res := results[0]
			results = results[1:]
			rc.Changes = append(rc.Changes, batch.ChangeResult{
				ID: c.ID, Status: string(res.Status), ObservedBefore: res.Observed,
				After: c.After, At: now, Error: res.Error,
			})
		}
		if err := saved.Append(rc.Changes[first:]...); err != nil {
			return err
		}
		if err := r.savePartial(rc.Batch, saved); err != nil {
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

// mergeNotApplied says why c, a set that follows a merge, must not run:
// the merge's result in rc is neither applied nor already_applied (or it
// has none). It is "" when c follows no merge or its merge ran.
func mergeNotApplied(c batch.Change, rc *batch.Receipt) string {
	if c.Follows == "" {
		return ""
	}
	status := "not run"
	if res, ok := rc.Result(c.Follows); ok {
		if ran(res.Status) {
			return ""
		}
		status = res.Status
	}
	return fmt.Sprintf("its merge %s did not apply (%s)", c.Follows, status)
}

// ran reports a result after which the change's effect is in the CRM.
func ran(status string) bool {
	return status == batch.StatusApplied || status == batch.StatusAlreadyApplied
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
	predicted := map[string]string{}
	for _, c := range b.Changes {
		p := Planned{Change: c.ID}
		rec, ok := current[c.Object][c.Record]
		switch {
		case c.Follows != "" && !ran(predicted[c.Follows]):
			// Its merge would not run, so neither would it.
			p.Status = batch.StatusStale
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
		predicted[c.ID] = p.Status
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

// loadPartial returns the progress a killed run saved for the batch whose
// file has git blob id blob, if any. Saved progress of another version of
// the batch, or of another batch, is not this run's: it is ignored.
func (r *Runner) loadPartial(id, blob string) *batch.Receipt {
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
	if rc.Batch != id || rc.BatchBlob != blob {
		r.logf("%s: ignoring saved progress %s: it is not of this batch as merged", id, p)
		return nil
	}
	return rc
}

// savePartial writes the receipt so far atomically: a kill leaves either the
// old or the new file, never a torn one. The file is synced before the
// next chunk runs.
func (r *Runner) savePartial(id string, rc *batch.ReceiptEncoder) error {
	p := r.partialPath(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := rc.WriteTo(f); err != nil {
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
	path, err := r.receiptPath(rc.Batch)
	if err != nil {
		return err
	}
	data, err := batch.EncodeAt(path, rc)
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
	msg := fmt.Sprintf("%s\n\n[skip actions]\n\n%s: %s\n%s: %s\n", subject, TrailerBatch, rc.Batch, TrailerReceipt, rc.Approval.Mode)
	at := r.Now()
	who := gitrepo.Identity{Name: "crmops", Email: workspace.LoginEmail("crmops"), When: at}
	_, err = r.WS.UpdateBase(ctx, func(base gitrepo.Hash) (gitrepo.Hash, error) {
		files, message := map[string][]byte{path: data}, msg
		// An apply in another clone may have recorded the batch while this
		// one ran it too. Compare-and-swap let only one of them write each
		// change; the other saw it already_applied. The first receipt is
		// the record: it is never replaced, only told which of its
		// already_applied changes this run applied.
		// A file there that is not a receipt of this batch records
		// nothing: ours replaces it.
		if theirs, err := r.WS.Git.ReadFile(base, path); err == nil {
			merged, changed, valid := mergeReceipts(path, theirs, rc)
			switch {
			case !valid:
				// replaced below
			case !changed:
				return gitrepo.ZeroHash, errRecorded
			default:
				if files[path], err = batch.EncodeAt(path, merged); err != nil {
					return gitrepo.ZeroHash, err
				}
				message = fmt.Sprintf("Record batch %s: two applies ran it at once\n\nThe changes this run applied were already_applied in the receipt the other\nrun committed first.\n\n[skip actions]\n\n%s: %s\n", rc.Batch, TrailerBatch, rc.Batch)
			}
		}
		return r.WS.Git.CommitTree(gitrepo.CommitOptions{
			Base: base, Parents: []gitrepo.Hash{base}, Files: files,
			Message: message, Author: who, Committer: who,
		})
	})
	if errors.Is(err, errRecorded) {
		r.logf("%s: another apply recorded its receipt first; keeping that one", rc.Batch)
		return nil
	}
	if err != nil {
		return fmt.Errorf("commit receipt: %w", err)
	}
	return nil
}

var errRecorded = errors.New("the receipt is already on the base branch")

// mergeReceipts takes the receipt already committed (theirs) and marks
// applied every change it calls already_applied that ours applied: the
// one write the CRM took was ours. changed is false when there is nothing
// to add; valid is false when theirs is not a receipt of the batch.
func mergeReceipts(path string, theirs []byte, ours *batch.Receipt) (merged *batch.Receipt, changed, valid bool) {
	rc, err := batch.DecodeReceipt(path, theirs)
	if err != nil || rc.Batch != ours.Batch {
		return nil, false, false
	}
	for i, c := range rc.Changes {
		if mine, ok := ours.Result(c.ID); ok && c.Status == batch.StatusAlreadyApplied && mine.Status == batch.StatusApplied {
			rc.Changes[i] = mine
			changed = true
		}
	}
	return rc, changed, true
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
