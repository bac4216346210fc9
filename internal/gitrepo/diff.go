package gitrepo

import (
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ChangedPaths returns the paths of the files that differ between the trees of
// commits from and to (added, removed, or changed in content or mode), in
// git's order. from may be ZeroHash for "everything in to". Subtrees with the
// same hash are skipped unread, so the cost follows the size of the change,
// not of the repository.
func (r *Repo) ChangedPaths(from, to Hash) ([]string, error) {
	var out []string
	err := r.diffCommits(from, to, func(path string, _, _ *object.TreeEntry) error {
		out = append(out, path)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// diffCommits calls fn for every file path that differs between two commits'
// trees, with the entry on each side (nil where absent).
func (r *Repo) diffCommits(from, to Hash, fn func(path string, old, new *object.TreeEntry) error) error {
	a, err := r.commitTree(from)
	if err != nil {
		return fmt.Errorf("diff %s..%s: %w", from, to, err)
	}
	b, err := r.commitTree(to)
	if err != nil {
		return fmt.Errorf("diff %s..%s: %w", from, to, err)
	}
	if err := r.diffTrees(a, b, "", fn); err != nil {
		return fmt.Errorf("diff %s..%s: %w", from, to, err)
	}
	return nil
}

func (r *Repo) diffTrees(a, b Hash, prefix string, fn func(path string, old, new *object.TreeEntry) error) error {
	if a == b {
		return nil
	}
	ta, err := r.tree(a)
	if err != nil {
		return err
	}
	tb, err := r.tree(b)
	if err != nil {
		return err
	}
	// Both sides are in git order; a name that is a file on one side and a
	// directory on the other sorts apart, and comes out as a removal plus an
	// addition, which is what it is on disk.
	ea, eb := ta.Entries, tb.Entries
	for len(ea) > 0 || len(eb) > 0 {
		var c int
		switch {
		case len(ea) == 0:
			c = 1
		case len(eb) == 0:
			c = -1
		default:
			c = compareEntries(ea[0], eb[0])
		}
		switch {
		case c < 0:
			if err := r.side(ea[0], prefix, true, fn); err != nil {
				return err
			}
			ea = ea[1:]
		case c > 0:
			if err := r.side(eb[0], prefix, false, fn); err != nil {
				return err
			}
			eb = eb[1:]
		default:
			x, y := ea[0], eb[0]
			ea, eb = ea[1:], eb[1:]
			if x.Hash == y.Hash && x.Mode == y.Mode {
				continue
			}
			p := joinPath(prefix, x.Name)
			if x.Mode == filemode.Dir {
				if err := r.diffTrees(x.Hash, y.Hash, p, fn); err != nil {
					return err
				}
				continue
			}
			if err := fn(p, &x, &y); err != nil {
				return err
			}
		}
	}
	return nil
}

// side reports an entry present on one side only, expanding directories into
// their files.
func (r *Repo) side(e object.TreeEntry, prefix string, removed bool, fn func(path string, old, new *object.TreeEntry) error) error {
	report := func(p string, e object.TreeEntry) error {
		if removed {
			return fn(p, &e, nil)
		}
		return fn(p, nil, &e)
	}
	p := joinPath(prefix, e.Name)
	if e.Mode != filemode.Dir {
		return report(p, e)
	}
	return r.walkFiles(e.Hash, p, report)
}
