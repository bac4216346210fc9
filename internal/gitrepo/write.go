package gitrepo

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// emptyTreeHash is the well-known hash of the tree with no entries.
var emptyTreeHash = plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904")

// CommitOptions describes a commit built from a base tree plus edits.
type CommitOptions struct {
	// Base is the commit (or tree) whose tree is edited; ZeroHash starts from
	// the empty tree, as for the first commit or a review record.
	Base Hash
	// Files are added or replaced, keyed by slash-separated path. A replaced
	// executable keeps its mode; everything else is a regular file.
	Files map[string][]byte
	// Delete removes files, or whole directories, by path. Paths that do not
	// exist are ignored so a retry after a partial failure is harmless.
	Delete []string
	// Parents of the new commit, in order; empty for a root commit.
	Parents []Hash
	// Message is stored as given; see FormatTrailers for trailers.
	Message string
	Author  Identity
	// Committer defaults to Author when its Name is empty.
	Committer Identity
}

// CommitTree writes a commit whose tree is Base's tree with the edits applied,
// and returns its hash. It touches neither the work tree, the index nor any
// ref. Only the trees on the paths of the edited files are re-encoded, so
// adding one file to a directory of 10,000 costs one tree rewrite, not a
// re-hash of the repository.
func (r *Repo) CommitTree(opts CommitOptions) (Hash, error) {
	if opts.Author.Name == "" || opts.Author.When.IsZero() {
		return ZeroHash, errors.New("commit: author name and time are required")
	}
	committer := opts.Committer
	if committer.Name == "" {
		committer = opts.Author
	}
	for _, p := range opts.Parents {
		// A dangling parent would only surface later, as a failed push.
		if _, ok := r.peelToCommit(p); !ok {
			return ZeroHash, fmt.Errorf("commit: parent %s is not a commit here", p)
		}
	}
	edits, err := newEditTree(opts.Files, opts.Delete)
	if err != nil {
		return ZeroHash, fmt.Errorf("commit: %w", err)
	}
	baseTree, err := r.baseTree(opts.Base)
	if err != nil {
		return ZeroHash, fmt.Errorf("commit: %w", err)
	}
	tree, _, err := r.editTree(baseTree, edits)
	if err != nil {
		return ZeroHash, fmt.Errorf("commit: %w", err)
	}
	c := &object.Commit{
		Author:       opts.Author.signature(),
		Committer:    committer.signature(),
		Message:      opts.Message,
		TreeHash:     tree,
		ParentHashes: opts.Parents,
	}
	o := r.storer.NewEncodedObject()
	if err := c.Encode(o); err != nil {
		return ZeroHash, fmt.Errorf("commit: encode: %w", err)
	}
	h, err := r.storer.SetEncodedObject(o)
	if err != nil {
		return ZeroHash, fmt.Errorf("commit: write: %w", err)
	}
	return h, nil
}

// baseTree accepts a commit or a tree, so callers can build on either.
func (r *Repo) baseTree(base Hash) (Hash, error) {
	if base.IsZero() {
		return ZeroHash, nil
	}
	o, err := r.storer.EncodedObject(plumbing.AnyObject, base)
	if err != nil {
		return ZeroHash, fmt.Errorf("read base %s: %w", base, err)
	}
	switch o.Type() {
	case plumbing.TreeObject:
		return base, nil
	case plumbing.CommitObject:
		c, err := object.DecodeCommit(r.storer, o)
		if err != nil {
			return ZeroHash, fmt.Errorf("read base %s: %w", base, err)
		}
		return c.TreeHash, nil
	default:
		return ZeroHash, fmt.Errorf("base %s is a %s, want a commit or tree", base, o.Type())
	}
}

// editTree is the set of edits below one directory.
type editTree struct {
	files  map[string][]byte
	delete map[string]bool
	dirs   map[string]*editTree
}

func newEditTree(files map[string][]byte, deletes []string) (*editTree, error) {
	root := &editTree{}
	for p, data := range files {
		dir, name, err := root.at(p)
		if err != nil {
			return nil, err
		}
		if dir.files == nil {
			dir.files = map[string][]byte{}
		}
		dir.files[name] = data
	}
	for _, p := range deletes {
		dir, name, err := root.at(p)
		if err != nil {
			return nil, err
		}
		if _, ok := dir.files[name]; ok {
			return nil, fmt.Errorf("%s is both written and deleted", p)
		}
		if dir.delete == nil {
			dir.delete = map[string]bool{}
		}
		dir.delete[name] = true
	}
	// A name written as a file and used as a directory cannot both hold.
	var check func(t *editTree, prefix string) error
	check = func(t *editTree, prefix string) error {
		for name, sub := range t.dirs {
			if _, ok := t.files[name]; ok {
				return fmt.Errorf("%s is written both as a file and as a directory", joinPath(prefix, name))
			}
			if err := check(sub, joinPath(prefix, name)); err != nil {
				return err
			}
		}
		return nil
	}
	return root, check(root, "")
}

// at returns the directory node holding path and the path's last element,
// creating nodes on the way.
func (t *editTree) at(path string) (*editTree, string, error) {
	if err := checkPath(path); err != nil {
		return nil, "", err
	}
	parts := strings.Split(path, "/")
	for _, name := range parts[:len(parts)-1] {
		if t.dirs == nil {
			t.dirs = map[string]*editTree{}
		}
		sub, ok := t.dirs[name]
		if !ok {
			sub = &editTree{}
			t.dirs[name] = sub
		}
		t = sub
	}
	return t, parts[len(parts)-1], nil
}

// checkPath refuses paths git would refuse to check out, since tree contents
// end up on disk in AdvanceBranch.
func checkPath(path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	for _, part := range strings.Split(path, "/") {
		switch {
		case part == "", part == ".", part == "..":
			return fmt.Errorf("invalid path %q: want a clean relative slash-separated path", path)
		case strings.EqualFold(part, ".git"):
			return fmt.Errorf("invalid path %q: .git is reserved", path)
		case strings.ContainsAny(part, "\x00\\"):
			return fmt.Errorf("invalid path %q", path)
		}
	}
	return nil
}

// editTree applies edits to tree h and writes the trees that changed. It
// reports empty when nothing is left, so the parent drops the entry as git
// stores no empty directories.
func (r *Repo) editTree(h Hash, edits *editTree) (Hash, bool, error) {
	t, err := r.tree(h)
	if err != nil {
		return ZeroHash, false, err
	}
	entries := make([]object.TreeEntry, 0, len(t.Entries)+len(edits.files)+len(edits.dirs))
	seen := make(map[string]bool, len(edits.files)+len(edits.dirs))
	// A name that turns from file into directory or back moves in git's
	// order, as does any new name.
	resort := false
	for _, e := range t.Entries {
		if edits.delete[e.Name] {
			continue
		}
		if data, ok := edits.files[e.Name]; ok {
			seen[e.Name] = true
			mode := filemode.Regular
			resort = resort || e.Mode == filemode.Dir
			if e.Mode == filemode.Executable {
				mode = filemode.Executable
			}
			bh, err := r.writeObject(plumbing.BlobObject, data)
			if err != nil {
				return ZeroHash, false, err
			}
			entries = append(entries, object.TreeEntry{Name: e.Name, Mode: mode, Hash: bh})
			continue
		}
		if sub, ok := edits.dirs[e.Name]; ok {
			seen[e.Name] = true
			base := ZeroHash
			if e.Mode == filemode.Dir {
				base = e.Hash
			} else if !sub.writes() {
				// Deleting below a file deletes nothing.
				entries = append(entries, e)
				continue
			} else {
				resort = true
			}
			th, empty, err := r.editTree(base, sub)
			if err != nil {
				return ZeroHash, false, err
			}
			if !empty {
				entries = append(entries, object.TreeEntry{Name: e.Name, Mode: filemode.Dir, Hash: th})
			}
			continue
		}
		entries = append(entries, e)
	}
	for name, data := range edits.files {
		if seen[name] {
			continue
		}
		bh, err := r.writeObject(plumbing.BlobObject, data)
		if err != nil {
			return ZeroHash, false, err
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: bh})
		resort = true
	}
	for name, sub := range edits.dirs {
		if seen[name] || !sub.writes() {
			continue
		}
		th, empty, err := r.editTree(ZeroHash, sub)
		if err != nil {
			return ZeroHash, false, err
		}
		if !empty {
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: th})
			resort = true
		}
	}
	if resort {
		slices.SortFunc(entries, compareEntries)
	}
	if len(entries) == 0 {
		th, err := r.writeObject(plumbing.TreeObject, nil)
		return th, true, err
	}
	th, err := r.writeObject(plumbing.TreeObject, encodeTree(entries))
	if err != nil {
		return ZeroHash, false, err
	}
	// The next commit in a chain starts from this tree.
	r.trees.put(&object.Tree{Hash: th, Entries: entries})
	return th, false, nil
}

// writes reports whether any file is written at or below t.
func (t *editTree) writes() bool {
	if len(t.files) > 0 {
		return true
	}
	for _, sub := range t.dirs {
		if sub.writes() {
			return true
		}
	}
	return false
}

// compareEntries orders tree entries as git does: by name, with directory
// names compared as if they ended in "/". It avoids go-git's sorter, which
// allocates a string per comparison.
func compareEntries(a, b object.TreeEntry) int {
	an, bn := a.Name, b.Name
	n := min(len(an), len(bn))
	if c := strings.Compare(an[:n], bn[:n]); c != 0 {
		return c
	}
	ac, bc := sortTail(an, n, a.Mode), sortTail(bn, n, b.Mode)
	return int(ac) - int(bc)
}

func sortTail(name string, n int, mode filemode.FileMode) int {
	if n < len(name) {
		return int(name[n])
	}
	if mode == filemode.Dir {
		return '/'
	}
	return 0
}

// encodeTree serialises entries in git's tree format. go-git's Tree.Encode
// does the same through fmt.Fprintf per entry, several times slower on large
// directories.
func encodeTree(entries []object.TreeEntry) []byte {
	var b bytes.Buffer
	b.Grow(len(entries) * 64)
	var num []byte
	for _, e := range entries {
		num = strconv.AppendUint(num[:0], uint64(e.Mode), 8)
		b.Write(num)
		b.WriteByte(' ')
		b.WriteString(e.Name)
		b.WriteByte(0)
		b.Write(e.Hash[:])
	}
	return b.Bytes()
}

// writeObject stores an object unless it already exists: rewriting a loose
// object costs a file write and a rename for nothing.
func (r *Repo) writeObject(t plumbing.ObjectType, data []byte) (Hash, error) {
	h := plumbing.ComputeHash(t, data)
	if r.storer.HasEncodedObject(h) == nil {
		return h, nil
	}
	o := r.storer.NewEncodedObject()
	o.SetType(t)
	o.SetSize(int64(len(data)))
	w, err := o.Writer()
	if err != nil {
		return ZeroHash, fmt.Errorf("write %s: %w", t, err)
	}
	if _, err := w.Write(data); err != nil {
		return ZeroHash, fmt.Errorf("write %s: %w", t, err)
	}
	if err := w.Close(); err != nil {
		return ZeroHash, fmt.Errorf("write %s: %w", t, err)
	}
	if _, err := r.storer.SetEncodedObject(o); err != nil {
		return ZeroHash, fmt.Errorf("write %s %s: %w", t, h, err)
	}
	return h, nil
}
