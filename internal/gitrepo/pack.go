package gitrepo

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
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
//
// The objects come back in the order they are best packed in: commits, then
// trees, then blobs, each group by path and, within a path, newest first, so
// each older version of a tree is a small delta against the newer one just
// before it (git's pack-objects orders its delta search the same way).
func (r *Repo) objectsToSend(wants, haves []Hash) ([]packObject, error) {
	w := newPaint(r)
	if err := w.run(wants, haves); err != nil {
		return nil, fmt.Errorf("find commits to send: %w", err)
	}
	send := &sendSet{seen: map[Hash]bool{}}
	// Walk order puts each commit just before its parent, so the parent's
	// tree, read as a base, is still cached when its own turn comes.
	for _, n := range w.popped {
		h := n.commit.Hash
		if !n.wanted() || send.seen[h] {
			continue
		}
		send.add(h, plumbing.CommitObject, "")
		var bases []Hash
		for _, p := range n.commit.ParentHashes {
			pn, ok := w.nodes[p]
			if !ok {
				return nil, fmt.Errorf("find objects to send: parent %s of %s was not read", p, h)
			}
			bases = append(bases, pn.commit.TreeHash)
		}
		if err := r.newTreeObjects(n.commit.TreeHash, bases, send, ""); err != nil {
			return nil, fmt.Errorf("find objects to send for %s: %w", h, err)
		}
	}
	slices.SortStableFunc(send.objs, func(a, b packObject) int {
		if c := typeRank(a.typ) - typeRank(b.typ); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	return send.objs, nil
}

// sendSet is the objects found to send, in the order found.
type sendSet struct {
	seen map[Hash]bool
	objs []packObject
}

func (s *sendSet) add(h Hash, t plumbing.ObjectType, key string) {
	s.seen[h] = true
	s.objs = append(s.objs, packObject{hash: h, typ: t, key: key})
}

func typeRank(t plumbing.ObjectType) int {
	switch t {
	case plumbing.CommitObject:
		return 0
	case plumbing.TreeObject:
		return 1
	case plumbing.BlobObject:
		return 2
	default:
		return 3
	}
}

// blobKey groups blobs by the tail of their file name: batch files in
// different folders, or written months apart, share most of their content,
// as git's name hash (built from a path's last characters) assumes.
func blobKey(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return name
}

// newTreeObjects adds to send tree t and the objects below it that are not
// at the same path in one of the base trees.
func (r *Repo) newTreeObjects(t Hash, bases []Hash, send *sendSet, path string) error {
	if send.seen[t] {
		return nil
	}
	for _, b := range bases {
		if b == t {
			return nil
		}
	}
	send.add(t, plumbing.TreeObject, path)
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
		if present || send.seen[e.Hash] {
			continue
		}
		if e.Mode == filemode.Dir {
			if err := r.newTreeObjects(e.Hash, append([]Hash(nil), subBases...), send, joinPath(path, e.Name)); err != nil {
				return err
			}
			continue
		}
		send.add(e.Hash, plumbing.BlobObject, blobKey(e.Name))
	}
	return nil
}
