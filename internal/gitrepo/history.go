package gitrepo

import (
	"container/heap"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Log calls fn for from and its ancestors, newest first by committer time as
// git log does, or only along first parents when firstParent is set (main's
// own history of merges and receipts). fn returning ErrStop ends the walk and
// Log returns nil; any other error is returned as is.
func (r *Repo) Log(from Hash, firstParent bool, fn func(*Commit) error) error {
	err := r.log(from, firstParent, fn)
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

func (r *Repo) log(from Hash, firstParent bool, fn func(*Commit) error) error {
	if firstParent {
		for h := from; !h.IsZero(); {
			c, err := object.GetCommit(r.storer, h)
			if err != nil {
				return fmt.Errorf("log %s: read %s: %w", from, h, err)
			}
			if err := fn(commitOf(c)); err != nil {
				return err
			}
			h = ZeroHash
			if len(c.ParentHashes) > 0 {
				h = c.ParentHashes[0]
			}
		}
		return nil
	}
	w := newPaint(r)
	if err := w.mark(from, flagWant); err != nil {
		return fmt.Errorf("log %s: %w", from, err)
	}
	for w.queue.Len() > 0 {
		n := heap.Pop(&w.queue).(*paintNode)
		if err := fn(commitOf(n.commit)); err != nil {
			return err
		}
		for _, p := range n.commit.ParentHashes {
			if err := w.mark(p, flagWant); err != nil {
				return fmt.Errorf("log %s: %w", from, err)
			}
		}
	}
	return nil
}

// IsAncestor reports whether commit a is reachable from commit b (a commit is
// its own ancestor, and ZeroHash, the empty history, precedes every commit).
// The walk stops at commits known to be below a, so asking about a recent
// branch point costs a few commits, not the whole history.
func (r *Repo) IsAncestor(a, b Hash) (bool, error) {
	if a == b || a.IsZero() {
		return true, nil
	}
	if b.IsZero() {
		return false, nil
	}
	w := newPaint(r)
	w.target = a
	if err := w.run([]Hash{b}, []Hash{a}); err != nil {
		return false, fmt.Errorf("is %s an ancestor of %s: %w", a, b, err)
	}
	return w.found, nil
}

const (
	flagWant   uint8 = 1 << iota // reachable from a commit of interest
	flagHave                     // reachable from a commit known to be excluded
	flagQueued                   // in the queue now
)

// paint walks commit history from two sides at once, newest committer time
// first (git's paint_down walk): wants are what we ask about, haves are
// commits whose whole history is excluded (a remote's tips, or a would-be
// ancestor). It stops once every queued commit is excluded, so its cost
// follows the distance between the two sides rather than the length of
// history. Commit times only steer the order: with skewed or equal times it
// may read more commits or include some that a longer walk would exclude,
// never miss one that is not excluded.
type paint struct {
	r      *Repo
	nodes  map[Hash]*paintNode
	queue  paintQueue
	active int // queued nodes with flagWant and not flagHave
	seq    int
	target Hash // stop as soon as this commit gets flagWant
	found  bool
	popped []*paintNode // in the order walked, newest first; may repeat
}

type paintNode struct {
	commit *object.Commit
	flags  uint8
	seq    int
	index  int
}

func newPaint(r *Repo) *paint {
	return &paint{r: r, nodes: map[Hash]*paintNode{}}
}

func (n *paintNode) wanted() bool { return n.flags&(flagWant|flagHave) == flagWant }

// mark adds flags to commit h, queueing it if that changed anything.
func (w *paint) mark(h Hash, flags uint8) error {
	n, ok := w.nodes[h]
	if !ok {
		c, err := object.GetCommit(w.r.storer, h)
		if err != nil {
			return fmt.Errorf("read commit %s: %w", h, err)
		}
		n = &paintNode{commit: c}
		w.nodes[h] = n
	}
	if n.flags&flags == flags {
		return nil
	}
	wasActive := n.flags&flagQueued != 0 && n.wanted()
	n.flags |= flags
	if h == w.target && n.flags&flagWant != 0 {
		w.found = true
	}
	if n.flags&flagQueued == 0 {
		n.flags |= flagQueued
		w.seq++
		n.seq = w.seq
		heap.Push(&w.queue, n)
		if n.wanted() {
			w.active++
		}
		return nil
	}
	if wasActive && !n.wanted() {
		w.active--
	}
	return nil
}

// run paints from wants and haves until no queued commit is wanted-only.
func (w *paint) run(wants, haves []Hash) error {
	for _, h := range wants {
		if err := w.mark(h, flagWant); err != nil {
			return err
		}
	}
	for _, h := range haves {
		if err := w.mark(h, flagHave); err != nil {
			return err
		}
	}
	for w.active > 0 && !w.found {
		n := heap.Pop(&w.queue).(*paintNode)
		n.flags &^= flagQueued
		if n.wanted() {
			w.active--
		}
		w.popped = append(w.popped, n)
		for _, p := range n.commit.ParentHashes {
			if err := w.mark(p, n.flags); err != nil {
				return err
			}
		}
	}
	return nil
}

// paintQueue is a max-heap on committer time; among equal times the commit
// queued first comes first, so the two sides advance in step.
type paintQueue []*paintNode

func (q paintQueue) Len() int { return len(q) }
func (q paintQueue) Less(i, j int) bool {
	ti, tj := q[i].commit.Committer.When, q[j].commit.Committer.When
	if !ti.Equal(tj) {
		return ti.After(tj)
	}
	return q[i].seq < q[j].seq
}
func (q paintQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *paintQueue) Push(x any) {
	n := x.(*paintNode)
	n.index = len(*q)
	*q = append(*q, n)
}
func (q *paintQueue) Pop() any {
	old := *q
	n := old[len(old)-1]
	*q = old[:len(old)-1]
	return n
}

// peelToCommit resolves h to a commit hash if it is a commit or an annotated
// tag of one; ok is false for other objects and for objects we do not have.
func (r *Repo) peelToCommit(h Hash) (Hash, bool) {
	for range 8 {
		o, err := r.storer.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return ZeroHash, false
		}
		switch o.Type() {
		case plumbing.CommitObject:
			return h, true
		case plumbing.TagObject:
			t, err := object.DecodeTag(r.storer, o)
			if err != nil {
				return ZeroHash, false
			}
			h = t.Target
		default:
			return ZeroHash, false
		}
	}
	return ZeroHash, false
}
