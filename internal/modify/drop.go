package modify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/workspace"
)

// Trailers of a drop commit (on the proposal branch) and of the rejection
// record it leaves on the base branch. They are for people reading git
// log: the evidence code reads the batch file's versions, never these.
const (
	TrailerBatch   = "Crmops-Batch"
	TrailerDropped = "Crmops-Dropped"
	// TrailerDrop, on a rejection record, names the drop commit it records.
	TrailerDrop = "Crmops-Drop-Commit"
)

// ErrUnknown reports change ids the batch does not have.
var ErrUnknown = errors.New("no such change in the batch")

// ErrEverything reports a drop that would leave the batch empty.
var ErrEverything = errors.New("that would leave the batch empty")

// Request asks to drop changes from the open proposal of a batch.
type Request struct {
	Batch string
	// IDs are the changes to drop; the sets that follow a dropped merge
	// (batch.Change.Follows) are dropped with it.
	IDs    []string
	Login  string
	Reason string
	At     time.Time
}

// Result is a drop that is on the remote.
type Result struct {
	Batch       string
	PullRequest int
	// Head is the proposal's new head commit: the drop commit (or, when
	// every id was dropped before, the head as found).
	Head string
	// Dropped are the ids this drop removed, in batch order; Followers
	// those of them that were not asked for but follow a dropped merge.
	Dropped   []string
	Followers []string
	// Earlier are requested ids an earlier commit on the branch already
	// dropped (a retry, or an edit in GitHub's web editor).
	Earlier []string
	// Records are the rejection records committed to the base branch, so
	// the dropped changes are not proposed again.
	Records []string
	// Untrusted is set when the policy does not trust the proposal's
	// proposer: the changes are dropped but not recorded as rejected, as a
	// rejection of the whole proposal would not be.
	Untrusted bool
	// MergedMeanwhile is set when the proposal was merged, with the drop,
	// before this command finished.
	MergedMeanwhile bool
}

// Dropper drops changes from proposals of one workspace.
type Dropper struct {
	WS    *workspace.Workspace
	Forge forge.Forge
}

// earlier is a change an earlier commit on a proposal branch dropped.
type earlier struct {
	commit gitrepo.Hash
	change batch.Change
}

// Drop commits, on the proposal's branch, the batch file without the
// requested changes (and the sets that follow a dropped merge), as
// req.Login, pushed with compare-and-swap against the head it read; a
// proposal that moved meanwhile is read again and the drop rebuilt on it.
// It then records the dropped changes as rejected on the base branch.
// Whatever it reports done is on the remote.
func (d *Dropper) Drop(ctx context.Context, req Request) (*Result, error) {
	var (
		res     *Result
		o       *forge.Open
		drops   map[gitrepo.Hash][]batch.Change // commits to record, with what they dropped
		content []byte
	)
	for attempt := 0; ; attempt++ {
		if attempt == workspace.Attempts {
			return nil, fmt.Errorf("drop from %s: the proposal kept moving (%d attempts); try again", req.Batch, attempt)
		}
		if attempt > 0 {
			if err := workspace.Sleep(ctx, workspace.Backoff(attempt)); err != nil {
				return nil, err
			}
		}
		base, err := d.WS.Sync(ctx)
		if err != nil {
			return nil, err
		}
		if o, err = d.find(ctx, req.Batch); err != nil {
			return nil, err
		}
		if o.FromFork || o.Branch != forge.BranchPrefix+o.BatchID {
			return nil, fmt.Errorf("drop from %s: the proposal comes from a fork (branch %q of another repository); crmops commits only to %s branches of this repository: ask its author to drop the changes, or reject it", req.Batch, o.Branch, forge.BranchPrefix)
		}
		req.Batch = o.BatchID
		b, err := batch.Decode(o.Path, o.Content)
		if err != nil {
			return nil, fmt.Errorf("drop from %s: the batch is invalid, so what it holds cannot be narrowed (fix or reject it): %w", req.Batch, err)
		}
		res = &Result{Batch: req.Batch, PullRequest: o.PullRequest, Head: o.Head}
		drop, followers, unknown := plan(b, req.IDs)
		drops = map[gitrepo.Hash][]batch.Change{}
		if len(unknown) > 0 {
			before, err := d.earlierDrops(o, base)
			if err != nil {
				return nil, err
			}
			var still []string
			for _, id := range unknown {
				if e, ok := before[id]; ok {
					res.Earlier = append(res.Earlier, id)
					drops[e.commit] = nil // filled below with all it dropped
				} else {
					still = append(still, id)
				}
			}
			if len(still) > 0 {
				return nil, fmt.Errorf("drop from %s: %s: %w (it has %s)", req.Batch, strings.Join(still, ", "), ErrUnknown, idList(b))
			}
			for _, e := range before {
				if _, ok := drops[e.commit]; ok {
					drops[e.commit] = append(drops[e.commit], e.change)
				}
			}
		}
		if len(drop) == 0 {
			break // everything asked for was dropped before
		}
		if len(drop) == len(b.Changes) {
			return nil, fmt.Errorf("drop from %s: %s are all its changes, %w: reject the proposal instead (crmops review reject %s)", req.Batch, strings.Join(ids(drop), ", "), ErrEverything, req.Batch)
		}
		kept := *b
		kept.Changes = nil
		for _, c := range b.Changes {
			if !slices.ContainsFunc(drop, func(x batch.Change) bool { return x.ID == c.ID }) {
				kept.Changes = append(kept.Changes, c)
			}
		}
		if content, err = batch.EncodeAt(o.Path, kept); err != nil {
			return nil, err
		}
		if !PureDrop(o.Path, o.Content, content) {
			// Written canonically, the kept changes read differently from
			// the file's own spelling: refused rather than committed as an
			// edit, which would bar the dropper from approving.
			return nil, fmt.Errorf("drop from %s: the batch file without %s does not decode to the same changes; delete them in the file by hand instead", req.Batch, strings.Join(ids(drop), ", "))
		}
		head := plumbing.NewHash(o.Head)
		who := gitrepo.Identity{Name: req.Login, Email: workspace.LoginEmail(req.Login), When: req.At}
		commit, err := d.WS.Git.CommitTree(gitrepo.CommitOptions{
			Base: head, Parents: []gitrepo.Hash{head}, Files: map[string][]byte{o.Path: content},
			Message: message(req, drop, followers), Author: who, Committer: who,
		})
		if err != nil {
			return nil, err
		}
		err = d.WS.Locked(func() error {
			if err := d.WS.Git.PushExpect(ctx, d.WS.Remote(), gitrepo.RefUpdate{Name: "refs/heads/" + o.Branch, Old: head, New: commit}); err != nil {
				return err
			}
			return d.WS.Git.SetRef(trackingRef(d.WS, req.Batch), commit)
		})
		if errors.Is(err, gitrepo.ErrRejected) {
			continue // the proposal moved: read it again
		}
		if err != nil {
			return nil, fmt.Errorf("drop from %s: %w", req.Batch, err)
		}
		res.Head, res.Dropped, res.Followers = commit.String(), ids(drop), followers
		drops[commit] = drop
		break
	}
	// What the remote holds now: the branch first, then (fetching it) the
	// base branch, so the branch's commit is here to compare with.
	ref := "refs/heads/" + o.Branch
	refs, err := d.WS.Git.RemoteRefs(ctx, d.WS.Remote(), ref)
	if err != nil {
		return nil, fmt.Errorf("drop from %s: pushed as %s, but reading the remote again failed: %w", req.Batch, workspace.Short(res.Head), err)
	}
	base, err := d.WS.Sync(ctx)
	if err != nil {
		return nil, fmt.Errorf("drop from %s: pushed as %s, but reading the remote again failed: %w", req.Batch, workspace.Short(res.Head), err)
	}
	now, open := refs[ref]
	if err := d.landed(o, res, now, open, base, content); err != nil {
		return nil, err
	}
	pol, _, err := d.WS.PolicyAt(base)
	if err != nil {
		return nil, err
	}
	if !pol.Trusts(policy.Proposer{Login: o.Author, Outside: o.FromFork}) {
		// What an outsider proposed must not suppress genuine proposals
		// later: the same rule as rejecting the whole proposal.
		res.Untrusted = true
		return res, nil
	}
	commits := make([]gitrepo.Hash, 0, len(drops))
	for c := range drops {
		commits = append(commits, c)
	}
	slices.SortFunc(commits, func(a, b gitrepo.Hash) int { return strings.Compare(a.String(), b.String()) })
	for _, c := range commits {
		p, err := d.record(ctx, o, c, drops[c], req)
		if err != nil {
			return nil, fmt.Errorf("drop from %s: dropped in %s, but recording the changes as rejected failed (run the same command again to record them): %w", req.Batch, workspace.Short(c.String()), err)
		}
		res.Records = append(res.Records, p)
	}
	return res, nil
}

// find reads the open proposal ref names: a batch id, or a pull request
// number. A fork's pull request is found too, to be refused by name.
func (d *Dropper) find(ctx context.Context, ref string) (*forge.Open, error) {
	var opens []*forge.Open
	list := func() error {
		var err error
		if opens == nil {
			opens, err = d.Forge.List(ctx)
		}
		return err
	}
	if n, err := strconv.Atoi(ref); err == nil && n > 0 {
		if err := list(); err != nil {
			return nil, err
		}
		for _, o := range opens {
			if o.PullRequest == n {
				return o, nil
			}
		}
	}
	o, err := d.Forge.Get(ctx, ref)
	if !errors.Is(err, forge.ErrNoProposal) {
		return o, err
	}
	// Get finds this repository's own crmops/<id> proposals only: look
	// for a fork's, to refuse it by name.
	if err := list(); err != nil {
		return nil, err
	}
	for _, o := range opens {
		if o.BatchID == ref && o.FromFork {
			return o, nil
		}
	}
	return nil, fmt.Errorf("drop from %s: no open proposal with that batch id (merged or rejected already? crmops review list shows the open ones): %w", ref, forge.ErrNoProposal)
}

// landed checks, after the push, that the drop is what the proposal holds
// or what was merged: a merge of the old head that raced the push would
// have merged the dropped changes.
func (d *Dropper) landed(o *forge.Open, res *Result, now gitrepo.Hash, open bool, base gitrepo.Hash, content []byte) error {
	if len(res.Dropped) == 0 {
		return nil
	}
	if open {
		// Someone may have pushed on top meanwhile: fine, if on top.
		ok, err := d.WS.Git.IsAncestor(plumbing.NewHash(res.Head), now)
		if err != nil {
			return fmt.Errorf("drop from %s: pushed as %s, but the branch moved on to %s, which cannot be read here: %w", res.Batch, workspace.Short(res.Head), workspace.Short(now.String()), err)
		}
		if !ok {
			return fmt.Errorf("drop from %s: pushed as %s, but the branch was rewritten since (now at %s, without it): review it again", res.Batch, workspace.Short(res.Head), workspace.Short(now.String()))
		}
		return nil
	}
	merged, err := d.WS.Git.ReadFile(base, o.Path)
	switch {
	case err == nil && bytes.Equal(merged, content):
		res.MergedMeanwhile = true
		return nil
	case err == nil:
		return fmt.Errorf("drop from %s: the proposal was merged meanwhile from an earlier head, with %s in it: revert what should not have run (crmops revert %s)", res.Batch, strings.Join(res.Dropped, ", "), res.Batch)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("drop from %s: the proposal was closed meanwhile, so nothing of it will merge", res.Batch)
	default:
		return err
	}
}

// record commits a rejection record of the changes drop commit c dropped,
// beside the batch file, unless one is there already.
func (d *Dropper) record(ctx context.Context, o *forge.Open, c gitrepo.Hash, dropped []batch.Change, req Request) (string, error) {
	id := RecordID(o.BatchID, c)
	file := path.Join(path.Dir(o.Path), id+batch.RejectionSuffix)
	rej := batch.Rejection{
		Version: batch.Version, Batch: id, RejectedBy: req.Login, At: req.At.UTC().Truncate(time.Second),
		Reason:      dropReason(o.BatchID, c, req.Login, req.Reason),
		PullRequest: o.PullRequest,
	}
	for _, ch := range dropped {
		rej.Changes = append(rej.Changes, batch.Rejected(ch))
	}
	data, err := batch.EncodeAt(file, rej)
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("Reject %s, dropped from batch %s\n\nDropped in %s before approval; recorded so they are not proposed again.\n\n%s: %s\n%s: %s\n%s: %s\nRejected-by: %s\n",
		strings.Join(ids(dropped), ", "), o.BatchID, workspace.Short(c.String()),
		TrailerBatch, o.BatchID, TrailerDropped, strings.Join(ids(dropped), ", "), TrailerDrop, c, req.Login)
	who := gitrepo.Identity{Name: req.Login, Email: workspace.LoginEmail(req.Login), When: req.At}
	_, err = d.WS.UpdateBase(ctx, func(base gitrepo.Hash) (gitrepo.Hash, error) {
		if _, err := d.WS.Git.ReadFile(base, file); err == nil {
			return base, nil // recorded already, by an earlier run
		}
		return d.WS.Git.CommitTree(gitrepo.CommitOptions{
			Base: base, Parents: []gitrepo.Hash{base}, Files: map[string][]byte{file: data},
			Message: msg, Author: who, Committer: who,
		})
	})
	return file, err
}

// RecordID is the id of the rejection record of the changes drop commit c
// dropped from batch id: <id>.drop-<commit>, a name no batch of crmops'
// takes and that the batch's own files do not use, so it neither blocks
// the batch's merge nor reads as the batch's rejection.
func RecordID(id string, c gitrepo.Hash) string {
	if r := id + ".drop-" + c.String()[:12]; batch.ValidID(r) {
		return r
	}
	return "drop-" + c.String()
}

func dropReason(id string, c gitrepo.Hash, login, reason string) string {
	s := fmt.Sprintf("dropped by %s from batch %s in %s before approval", login, id, workspace.Short(c.String()))
	if r := strings.Join(strings.Fields(reason), " "); r != "" {
		s += ": " + r
	}
	return s
}

// earlierDrops finds the changes that commits on the proposal branch, after
// its first, dropped as pure drops: what a retry of a drop, or a drop made
// in an editor, left to record.
func (d *Dropper) earlierDrops(o *forge.Open, base gitrepo.Hash) (map[string]earlier, error) {
	out := map[string]earlier{}
	err := d.WS.Git.Log(plumbing.NewHash(o.Head), true, func(c *gitrepo.Commit) error {
		if on, err := d.WS.Git.IsAncestor(c.Hash, base); err != nil || on {
			if err == nil {
				err = gitrepo.ErrStop
			}
			return err
		}
		if len(c.Parents) == 0 {
			return nil
		}
		if on, err := d.WS.Git.IsAncestor(c.Parents[0], base); err != nil || on {
			return err // the proposal itself
		}
		now, err1 := d.WS.Git.ReadFile(c.Hash, o.Path)
		before, err2 := d.WS.Git.ReadFile(c.Parents[0], o.Path)
		if err1 != nil || err2 != nil || !PureDrop(o.Path, before, now) {
			return nil
		}
		old, _ := batch.Decode(o.Path, before)
		gone := Dropped(o.Path, before, now)
		for _, ch := range old.Changes {
			if slices.Contains(gone, ch.ID) {
				if _, seen := out[ch.ID]; !seen {
					out[ch.ID] = earlier{commit: c.Hash, change: ch}
				}
			}
		}
		return nil
	})
	return out, err
}

// plan picks the changes to drop: those asked for and the sets that follow
// a dropped merge, in batch order, with the followers not asked for and the
// ids the batch does not have.
func plan(b *batch.Batch, want []string) (drop []batch.Change, followers, unknown []string) {
	asked := map[string]bool{}
	for _, id := range want {
		asked[id] = true
	}
	have := map[string]bool{}
	for _, c := range b.Changes {
		have[c.ID] = true
	}
	for _, id := range want {
		if !have[id] && !slices.Contains(unknown, id) {
			unknown = append(unknown, id)
		}
	}
	dropping := map[string]bool{}
	for _, c := range b.Changes {
		switch {
		case asked[c.ID]:
		case c.Follows != "" && dropping[c.Follows]:
			followers = append(followers, c.ID)
		default:
			continue
		}
		dropping[c.ID] = true
		drop = append(drop, c)
	}
	return drop, followers, unknown
}

func message(req Request, drop []batch.Change, followers []string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "Drop %s from batch %s\n\n", strings.Join(ids(drop), ", "), req.Batch)
	fmt.Fprintf(&s, "%s dropped these changes before approving; the rest of the batch is as proposed.\n", req.Login)
	if r := strings.TrimSpace(req.Reason); r != "" {
		fmt.Fprintf(&s, "\n%s\n", r)
	}
	s.WriteString("\n")
	for _, c := range drop {
		fmt.Fprintf(&s, "- %s: %s %s", c.ID, c.Op, c.Target())
		if slices.Contains(followers, c.ID) {
			fmt.Fprintf(&s, " (follows the merge %s)", c.Follows)
		}
		s.WriteString("\n")
	}
	fmt.Fprintf(&s, "\n%s: %s\n%s: %s\n", TrailerBatch, req.Batch, TrailerDropped, strings.Join(ids(drop), ", "))
	return s.String()
}

func ids(cs []batch.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// idList names a batch's changes for an error message, the first few.
func idList(b *batch.Batch) string {
	const shown = 20
	names := ids(b.Changes)
	if len(names) > shown {
		return strings.Join(names[:shown], ", ") + fmt.Sprintf(" and %d more", len(names)-shown)
	}
	return strings.Join(names, ", ")
}

func trackingRef(ws *workspace.Workspace, id string) string {
	return "refs/remotes/" + ws.Remote() + "/" + forge.BranchPrefix + id
}
