// Package local is the forge that needs no server: a proposal is a branch
// crmops/<batch-id> on the repository's git remote, reviews are commits on
// refs/crmops/reviews/<batch-id>, and a merge is a real merge commit on the
// base branch. Everything a review decided is therefore in git itself.
//
// Trust model: anyone who can push to the remote can write these refs, just
// as anyone who can push can edit main. The local forge is for one team's
// own repository and for trying crmops out; use the GitHub forge where
// reviewers and pushers must be told apart.
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/modify"
	"github.com/crmops/crmops/internal/workspace"
)

// Review states recorded on a review ref.
const (
	stateApproved = "approved"
	stateClosed   = "closed"
)

// Trailer keys of review records and merges.
const (
	TrailerBatch    = "Crmops-Batch"
	TrailerDecision = "Crmops-Decision"
	TrailerReview   = "Crmops-Review"
	TrailerReviewer = "Crmops-Reviewer"
	TrailerHead     = "Crmops-Head"
)

// errMerged reports a proposal branch whose head is already on the base
// branch.
var errMerged = errors.New("the branch is already on the base branch")

// Forge is the local forge of one workspace.
type Forge struct {
	ws *workspace.Workspace
	// Committer is the identity crmops commits as.
	Committer string
}

var _ forge.Forge = (*Forge)(nil)

// New returns the local forge of ws. Call ws.Sync before using it: reads
// see the remote as of the last sync.
func New(ws *workspace.Workspace) *Forge { return &Forge{ws: ws, Committer: "crmops"} }

func (f *Forge) trackingRef(id string) string {
	return "refs/remotes/" + f.ws.Remote() + "/" + forge.BranchPrefix + id
}

func reviewRef(id string) string { return "refs/crmops/reviews/" + id }

func ident(login string, at time.Time) gitrepo.Identity {
	return gitrepo.Identity{Name: login, Email: workspace.LoginEmail(login), When: at}
}

// Open pushes a branch crmops/<id> holding one commit that adds the batch.
func (f *Forge) Open(ctx context.Context, p forge.Proposal) (*forge.Open, error) {
	if _, err := f.ws.Git.Ref(f.trackingRef(p.BatchID)); err == nil {
		return nil, fmt.Errorf("open %s: %w", p.BatchID, forge.ErrExists)
	}
	base, err := f.ws.Git.Ref(f.ws.RemoteRef())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p.BatchID, err)
	}
	msg := fmt.Sprintf("Propose %s\n\n%s\n\n%s: %s\n", p.Title, strings.TrimSpace(p.Summary), TrailerBatch, p.BatchID)
	head, err := f.ws.Git.CommitTree(gitrepo.CommitOptions{
		Base: base, Parents: []gitrepo.Hash{base},
		Files:   map[string][]byte{p.Path: p.Content},
		Message: msg, Author: ident(p.Author, p.At), Committer: ident(f.Committer, p.At),
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p.BatchID, err)
	}
	branch := forge.BranchPrefix + p.BatchID
	if err := f.push(ctx, head, "refs/heads/"+branch); errors.Is(err, gitrepo.ErrRejected) {
		return nil, fmt.Errorf("open %s: %w", p.BatchID, forge.ErrExists)
	} else if err != nil {
		return nil, fmt.Errorf("open %s: %w", p.BatchID, err)
	}
	if err := f.ws.Locked(func() error { return f.ws.Git.SetRef(f.trackingRef(p.BatchID), head) }); err != nil {
		return nil, err
	}
	return &forge.Open{
		BatchID: p.BatchID, Branch: branch, Head: head.String(), Base: base.String(),
		Author: p.Author, Created: p.At, Files: []string{p.Path}, Path: p.Path, Content: p.Content,
	}, nil
}

// push sends commit itself to the remote ref dst: no local ref that another
// crmops process could move in between.
func (f *Forge) push(ctx context.Context, commit gitrepo.Hash, dst string) error {
	return f.ws.Git.Push(ctx, f.ws.Remote(), commit.String()+":"+dst)
}

// List returns the open proposals as of the last sync.
func (f *Forge) List(ctx context.Context) ([]*forge.Open, error) {
	prefix := "refs/remotes/" + f.ws.Remote() + "/" + forge.BranchPrefix
	refs, err := f.ws.Git.Refs(prefix)
	if err != nil {
		return nil, fmt.Errorf("list proposals: %w", err)
	}
	var out []*forge.Open
	for name, head := range refs {
		o, err := f.describe(strings.TrimPrefix(name, prefix), head)
		if errors.Is(err, errMerged) {
			continue // merged outside crmops and never deleted: not open
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Get returns the open proposal of batch id.
func (f *Forge) Get(ctx context.Context, id string) (*forge.Open, error) {
	head, err := f.ws.Git.Ref(f.trackingRef(id))
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		return nil, fmt.Errorf("%s: %w", id, forge.ErrNoProposal)
	}
	if err != nil {
		return nil, err
	}
	o, err := f.describe(id, head)
	if errors.Is(err, errMerged) {
		return nil, fmt.Errorf("%s: %w (%v)", id, forge.ErrNoProposal, err)
	}
	return o, err
}

// describe reads a proposal branch: where it left the base branch, who
// opened it, and the batch file as it stands on its head.
func (f *Forge) describe(id string, head gitrepo.Hash) (*forge.Open, error) {
	base, err := f.ws.Git.Ref(f.ws.RemoteRef())
	if err != nil {
		return nil, err
	}
	forkPoint, first, err := f.forkPoint(head, base)
	if err != nil {
		return nil, fmt.Errorf("proposal %s: %w", id, err)
	}
	files, err := f.ws.Git.ChangedPaths(forkPoint, head)
	if err != nil {
		return nil, fmt.Errorf("proposal %s: %w", id, err)
	}
	path := batch.Path(id)
	for _, p := range files {
		if batch.IsBatchFile(p) && strings.HasPrefix(p, batch.Dir+"/") && batch.IDFromPath(p) == id {
			path = p
		}
	}
	content, err := f.ws.Git.ReadFile(head, path)
	if err != nil {
		return nil, fmt.Errorf("proposal %s: %w", id, err)
	}
	changedBy, err := f.changedBy(head, forkPoint, path)
	if err != nil {
		return nil, fmt.Errorf("proposal %s: %w", id, err)
	}
	return &forge.Open{
		BatchID: id, Branch: forge.BranchPrefix + id, Head: head.String(), Base: base.String(),
		Author: first.Author.Name, Created: first.Author.When, Files: files, Path: path, Content: content,
		ChangedBy: changedBy,
	}, nil
}

// changedBy names everyone who authored or committed a commit between the
// fork point and head that changed the batch file at path: by name and by
// the local part of their e-mail (crmops writes <login>@…), since either
// may be the login they approve as.
//
// A commit after the proposal's first that only dropped changes
// (modify.PureDrop of the version before it, read from git) narrows what
// was proposed and adds nothing of its author's: it does not make its
// author or committer a changer, so a reviewer who dropped changes can
// still approve the new head.
func (f *Forge) changedBy(head, forkPoint gitrepo.Hash, path string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(id gitrepo.Identity) {
		local, _, _ := strings.Cut(id.Email, "@")
		for _, who := range []string{id.Name, local} {
			key := strings.ToLower(strings.TrimSpace(who))
			if key != "" && !seen[key] {
				seen[key] = true
				out = append(out, who)
			}
		}
	}
	err := f.ws.Git.Log(head, true, func(c *gitrepo.Commit) error {
		if c.Hash == forkPoint {
			return gitrepo.ErrStop
		}
		now, _ := f.ws.Git.ReadFile(c.Hash, path)
		var before []byte
		if len(c.Parents) > 0 {
			before, _ = f.ws.Git.ReadFile(c.Parents[0], path)
		}
		if !bytes.Equal(now, before) && !(len(c.Parents) > 0 && c.Parents[0] != forkPoint && modify.PureDrop(path, before, now)) {
			add(c.Author)
			// crmops commits on the proposer's behalf and never approves;
			// only its own identity, name and address both, is left out, so
			// a person who merely calls themselves "crmops" still counts.
			if c.Committer.Name != f.Committer || c.Committer.Email != workspace.LoginEmail(f.Committer) {
				add(c.Committer)
			}
		}
		return nil
	})
	return out, err
}

// forkPoint walks back from head to the first commit already on base and
// returns it with the proposal's first own commit (whose author proposed).
func (f *Forge) forkPoint(head, base gitrepo.Hash) (gitrepo.Hash, *gitrepo.Commit, error) {
	var first *gitrepo.Commit
	var fork gitrepo.Hash
	err := f.ws.Git.Log(head, true, func(c *gitrepo.Commit) error {
		on, err := f.ws.Git.IsAncestor(c.Hash, base)
		if err != nil {
			return err
		}
		if on {
			fork = c.Hash
			return gitrepo.ErrStop
		}
		first = c
		return nil
	})
	if err != nil {
		return gitrepo.ZeroHash, nil, err
	}
	if first == nil {
		return gitrepo.ZeroHash, nil, errMerged
	}
	return fork, first, nil
}

type review struct {
	state, login, head string
	at                 time.Time
}

// reviews returns the review records of batch id, newest first.
func (f *Forge) reviews(id string) ([]review, error) {
	tip, err := f.ws.Git.Ref(reviewRef(id))
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []review
	err = f.ws.Git.Log(tip, true, func(c *gitrepo.Commit) error {
		if v := c.TrailerValues(TrailerBatch); len(v) != 1 || v[0] != id {
			return nil
		}
		out = append(out, review{
			state: first(c.TrailerValues(TrailerReview)),
			login: first(c.TrailerValues(TrailerReviewer)),
			head:  first(c.TrailerValues(TrailerHead)),
			at:    c.Author.When,
		})
		return nil
	})
	return out, err
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Approvals counts the latest review of each reviewer, when it approves
// exactly the head commit and the reviewer neither proposed the batch nor
// changed it (forge.CountApprovals).
func (f *Forge) Approvals(ctx context.Context, o *forge.Open) ([]forge.Approval, error) {
	return f.approvalsOf(o.BatchID, o.Head, o.Author, o.ChangedBy)
}

func (f *Forge) approvalsOf(id, head, author string, changedBy []string) ([]forge.Approval, error) {
	rs, err := f.reviews(id)
	if err != nil {
		return nil, fmt.Errorf("reviews of %s: %w", id, err)
	}
	// The latest review per person decides, logins folded: bob and BOB
	// are one reviewer.
	seen := map[string]bool{}
	var latest []forge.Approval
	for _, r := range rs {
		key := strings.ToLower(r.login)
		if seen[key] {
			continue
		}
		seen[key] = true
		if r.state == stateApproved && r.head == head {
			latest = append(latest, forge.Approval{Login: r.login, Head: r.head, At: r.at})
		}
	}
	// Oldest first reads naturally in receipts and trailers.
	slices.Reverse(latest)
	return forge.CountApprovals(latest, author, changedBy), nil
}

// Approve records login's approval of the proposal's current head. The
// proposer and anyone who changed the batch are refused, as GitHub refuses
// a pull request's author: their approval would never count.
func (f *Forge) Approve(ctx context.Context, o *forge.Open, login string, at time.Time) error {
	if len(forge.CountApprovals([]forge.Approval{{Login: login}}, o.Author, o.ChangedBy)) == 0 {
		return fmt.Errorf("approve %s as %s: %w", o.BatchID, login, forge.ErrSelfReview)
	}
	return f.record(ctx, o, review{state: stateApproved, login: login, head: o.Head, at: at}, "")
}

// Close records the closing and deletes the proposal branch.
func (f *Forge) Close(ctx context.Context, o *forge.Open, login, reason string, at time.Time) error {
	if err := f.record(ctx, o, review{state: stateClosed, login: login, head: o.Head, at: at}, reason); err != nil {
		return err
	}
	if err := f.ws.Git.Push(ctx, f.ws.Remote(), ":refs/heads/"+o.Branch); err != nil {
		return fmt.Errorf("close %s: delete branch: %w", o.BatchID, err)
	}
	return f.ws.Locked(func() error { return f.ws.Git.DeleteRef(f.trackingRef(o.BatchID)) })
}

// record appends a review commit to the batch's review ref and pushes it.
func (f *Forge) record(ctx context.Context, o *forge.Open, r review, note string) error {
	ref := reviewRef(o.BatchID)
	for attempt := 0; attempt < workspace.Attempts; attempt++ {
		var parents []gitrepo.Hash
		if tip, err := f.ws.Git.Ref(ref); err == nil {
			parents = []gitrepo.Hash{tip}
		} else if !errors.Is(err, gitrepo.ErrRefNotFound) {
			return err
		}
		msg := fmt.Sprintf("%s %s by %s\n\n", r.state, o.Branch, r.login)
		if note != "" {
			msg += strings.TrimSpace(note) + "\n\n"
		}
		msg += fmt.Sprintf("%s: %s\n%s: %s\n%s: %s\n%s: %s\n",
			TrailerBatch, o.BatchID, TrailerReview, r.state, TrailerReviewer, r.login, TrailerHead, r.head)
		c, err := f.ws.Git.CommitTree(gitrepo.CommitOptions{
			Parents: parents, Message: msg, Author: ident(r.login, r.at), Committer: ident(f.Committer, r.at),
		})
		if err != nil {
			return err
		}
		err = f.push(ctx, c, ref)
		if err == nil {
			return f.ws.Locked(func() error { return f.ws.Git.SetRef(ref, c) })
		}
		if !errors.Is(err, gitrepo.ErrRejected) {
			return fmt.Errorf("record review of %s: %w", o.BatchID, err)
		}
		// Someone else reviewed meanwhile: take their record and append.
		if err := f.ws.Locked(func() error { return f.ws.Git.Fetch(ctx, f.ws.Remote(), "+"+ref+":"+ref) }); err != nil {
			return fmt.Errorf("record review of %s: %w", o.BatchID, err)
		}
	}
	return fmt.Errorf("record review of %s: the review ref kept moving", o.BatchID)
}

// Merge creates a merge commit of o's head on the base branch, pushes it and
// deletes the proposal branch. The head merged is exactly the one evaluated;
// a drop pushed to the branch in between is not lost silently: review drop
// reads the proposal again after its push and says the merge took the
// earlier head. (An atomic push of both refs through gitrepo.PushExpect
// was tried and made the two-clone stress test fail about one run in ten
// with "object not found" in a concurrent merge; not root-caused.)
func (f *Forge) Merge(ctx context.Context, o *forge.Open, m forge.Merge) (string, error) {
	head := plumbing.NewHash(m.Head)
	var lines []string
	for _, t := range m.Trailers {
		lines = append(lines, t[0]+": "+t[1])
	}
	msg := fmt.Sprintf("%s\n\nMerge branch '%s'\n\n%s\n", m.Title, o.Branch, strings.Join(lines, "\n"))
	var merged gitrepo.Hash
	_, err := f.ws.UpdateBase(ctx, func(base gitrepo.Hash) (gitrepo.Hash, error) {
		if base.String() != m.Base {
			return gitrepo.ZeroHash, fmt.Errorf("base: %w", forge.ErrMoved)
		}
		now, err := f.ws.Git.Ref(f.trackingRef(o.BatchID))
		if err != nil || now != head {
			return gitrepo.ZeroHash, fmt.Errorf("head: %w", forge.ErrMoved)
		}
		c, err := f.ws.Git.CommitTree(gitrepo.CommitOptions{
			Base: base, Parents: []gitrepo.Hash{base, head},
			Files:   map[string][]byte{o.Path: o.Content},
			Message: msg, Author: ident(m.Actor, m.At), Committer: ident(f.Committer, m.At),
		})
		merged = c
		return c, err
	})
	if err != nil {
		return "", fmt.Errorf("merge %s: %w", o.BatchID, err)
	}
	if err := f.ws.Git.Push(ctx, f.ws.Remote(), ":refs/heads/"+o.Branch); err != nil {
		return merged.String(), fmt.Errorf("merge %s: merged, but deleting the branch failed: %w", o.BatchID, err)
	}
	return merged.String(), f.ws.Locked(func() error { return f.ws.Git.DeleteRef(f.trackingRef(o.BatchID)) })
}

// MergedBy finds the merge commit that brought the batch onto the base
// branch by walking the base branch's first-parent history. Nothing the
// batch says of itself (its created time) bounds the walk: a batch dated
// in the future must not hide its merge. A batch is usually merged shortly
// before it is applied, so the walk is short; only a batch that reached
// the branch without a merge walks the whole history, once, before it is
// refused.
func (f *Forge) MergedBy(ctx context.Context, id, path string) (*forge.Merged, error) {
	tip, err := f.ws.Git.Ref(f.ws.RemoteRef())
	if err != nil {
		return nil, err
	}
	var found *gitrepo.Commit
	err = f.ws.Git.Log(tip, true, func(c *gitrepo.Commit) error {
		if len(c.Parents) == 2 && first(c.TrailerValues(TrailerBatch)) == id {
			found = c
			return gitrepo.ErrStop
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find the merge of %s: %w", id, err)
	}
	if found == nil {
		return &forge.Merged{}, nil
	}
	base, head := found.Parents[0], found.Parents[1]
	files, err := f.ws.Git.ChangedPaths(base, found.Hash)
	if err != nil {
		return nil, err
	}
	forkPoint, proposer, err := f.forkPoint(head, base)
	if err != nil {
		return nil, fmt.Errorf("merge of %s: %w", id, err)
	}
	changedBy, err := f.changedBy(head, forkPoint, path)
	if err != nil {
		return nil, fmt.Errorf("merge of %s: %w", id, err)
	}
	approvals, err := f.approvalsOf(id, head.String(), proposer.Author.Name, changedBy)
	if err != nil {
		return nil, err
	}
	return &forge.Merged{
		MergeCommit: found.Hash.String(), Base: base.String(), Head: head.String(),
		Author: proposer.Author.Name, Decision: first(found.TrailerValues(TrailerDecision)),
		Approvals: approvals, Files: files, ChangedBy: changedBy,
	}, nil
}
