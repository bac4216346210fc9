package gitrepo

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// objectsToSend lists the objects reachable from wants that a remote whose
// refs point at haves lacks, reading as little as possible: the commit walk
// stops where the remote's history begins, and each new commit's tree is
// compared with its parents' trees, descending only into subtrees that
// differ. Every object of a new commit is then either sent or present in a
// parent, which is itself sent or on the remote, so nothing is missed; an
// object that moved path may be sent although the remote has it, which costs
// bytes, not correctness.
func (r *Repo) objectsToSend(wants, haves []Hash) ([]Hash, error) {
	w := newPaint(r)
	if err := w.run(wants, haves); err != nil {
		return nil, fmt.Errorf("find commits to send: %w", err)
	}
	send := map[Hash]bool{}
	// Walk order puts each commit just before its parent, so the parent's
	// tree, read as a base, is still cached when its own turn comes.
	for _, n := range w.popped {
		h := n.commit.Hash
		if !n.wanted() || send[h] {
			continue
		}
		send[h] = true
		var bases []Hash
		for _, p := range n.commit.ParentHashes {
			pn, ok := w.nodes[p]
			if !ok {
				return nil, fmt.Errorf("find objects to send: parent %s of %s was not read", p, h)
			}
			bases = append(bases, pn.commit.TreeHash)
		}
		if err := r.newTreeObjects(n.commit.TreeHash, bases, send); err != nil {
			return nil, fmt.Errorf("find objects to send for %s: %w", h, err)
		}
	}
	out := make([]Hash, 0, len(send))
	for h := range send {
		out = append(out, h)
	}
	return out, nil
}

// newTreeObjects adds to send tree t and the objects below it that are not
// at the same path in one of the base trees.
func (r *Repo) newTreeObjects(t Hash, bases []Hash, send map[Hash]bool) error {
	if send[t] {
		return nil
	}
	for _, b := range bases {
		if b == t {
			return nil
		}
	}
	send[t] = true
	tree, err := r.tree(t)
	if err != nil {
		return err
	}
	baseEntries := make([][]object.TreeEntry, 0, len(bases))
	for _, b := range bases {
		bt, err := r.tree(b)
		if err != nil {
			return err
		}
		baseEntries = append(baseEntries, bt.Entries)
	}
	var subBases []Hash
	for _, e := range tree.Entries {
		if e.Mode == filemode.Submodule {
			continue
		}
		present := false
		subBases = subBases[:0]
		// Entries are sorted the same way on both sides, so one forward
		// pass per base finds matches without indexing large trees.
		for k := range baseEntries {
			be := baseEntries[k]
			for len(be) > 0 && compareEntries(be[0], e) < 0 {
				be = be[1:]
			}
			baseEntries[k] = be
			if len(be) == 0 || compareEntries(be[0], e) != 0 {
				continue
			}
			if be[0].Hash == e.Hash {
				present = true
				break
			}
			if be[0].Mode == filemode.Dir {
				subBases = append(subBases, be[0].Hash)
			}
		}
		if present || send[e.Hash] {
			continue
		}
		if e.Mode == filemode.Dir {
			if err := r.newTreeObjects(e.Hash, append([]Hash(nil), subBases...), send); err != nil {
				return err
			}
			continue
		}
		send[e.Hash] = true
	}
	return nil
}
