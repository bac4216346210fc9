package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Commit is a commit as crmops reads it: identities, message and the trailers
// parsed from the message.
type Commit struct {
	Hash      Hash
	Tree      Hash
	Parents   []Hash
	Author    Identity
	Committer Identity
	Message   string
	// Trailers are the "Key: value" lines of the message's last paragraph, in
	// order, repeated keys included.
	Trailers []Trailer
}

// TrailerValues returns the values of every trailer named key, compared
// case-insensitively as git does.
func (c *Commit) TrailerValues(key string) []string {
	var out []string
	for _, t := range c.Trailers {
		if strings.EqualFold(t.Key, key) {
			out = append(out, t.Value)
		}
	}
	return out
}

func commitOf(c *object.Commit) *Commit {
	return &Commit{
		Hash:      c.Hash,
		Tree:      c.TreeHash,
		Parents:   append([]Hash(nil), c.ParentHashes...),
		Author:    identityOf(c.Author),
		Committer: identityOf(c.Committer),
		Message:   c.Message,
		Trailers:  ParseTrailers(c.Message),
	}
}

// CommitInfo reads commit h.
func (r *Repo) CommitInfo(h Hash) (*Commit, error) {
	c, err := object.GetCommit(r.storer, h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", h, err)
	}
	return commitOf(c), nil
}

// ReadFile returns the content of path in commit's tree. A path that is absent
// (or names a directory) yields an error wrapping fs.ErrNotExist.
func (r *Repo) ReadFile(commit Hash, path string) ([]byte, error) {
	root, err := r.commitTree(commit)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, commit, err)
	}
	e, err := r.lookup(root, path)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, commit, err)
	}
	if !e.Mode.IsFile() {
		return nil, fmt.Errorf("read %s at %s: not a file: %w", path, commit, fs.ErrNotExist)
	}
	data, err := r.blob(e.Hash)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, commit, err)
	}
	return data, nil
}

// ListFiles returns the paths of all files below dir in commit's tree,
// recursively, sorted in git's order. dir "" or "." lists the whole tree; a
// missing dir yields an empty list, since "no proposals yet" is not an error.
func (r *Repo) ListFiles(commit Hash, dir string) ([]string, error) {
	root, err := r.commitTree(commit)
	if err != nil {
		return nil, fmt.Errorf("list %s at %s: %w", dir, commit, err)
	}
	dir = strings.Trim(dir, "/")
	if dir == "." {
		dir = ""
	}
	start := root
	if dir != "" {
		e, err := r.lookup(root, dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list %s at %s: %w", dir, commit, err)
		}
		if e.Mode != filemode.Dir {
			return nil, fmt.Errorf("list %s at %s: not a directory", dir, commit)
		}
		start = e.Hash
	}
	var out []string
	if err := r.walkFiles(start, dir, func(p string, _ object.TreeEntry) error {
		out = append(out, p)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list %s at %s: %w", dir, commit, err)
	}
	return out, nil
}

// walkFiles calls fn for every non-directory entry below tree h, whose path
// is prefix.
func (r *Repo) walkFiles(h Hash, prefix string, fn func(path string, e object.TreeEntry) error) error {
	t, err := r.tree(h)
	if err != nil {
		return err
	}
	for _, e := range t.Entries {
		p := joinPath(prefix, e.Name)
		if e.Mode == filemode.Dir {
			if err := r.walkFiles(e.Hash, p, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(p, e); err != nil {
			return err
		}
	}
	return nil
}

// commitTree is the root tree of a commit; ZeroHash stands for an empty
// history and yields ZeroHash, the empty tree.
func (r *Repo) commitTree(commit Hash) (Hash, error) {
	if commit.IsZero() {
		return ZeroHash, nil
	}
	c, err := object.GetCommit(r.storer, commit)
	if err != nil {
		return ZeroHash, fmt.Errorf("read commit %s: %w", commit, err)
	}
	return c.TreeHash, nil
}

// tree decodes a tree object; ZeroHash is the empty tree, which need not
// exist in the object store. The result is shared: do not modify it.
func (r *Repo) tree(h Hash) (*object.Tree, error) {
	if h.IsZero() || h == emptyTreeHash {
		return &object.Tree{Hash: emptyTreeHash}, nil
	}
	if t, ok := r.trees.get(h); ok {
		return t, nil
	}
	t, err := object.GetTree(r.storer, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	r.trees.put(t)
	return t, nil
}

// lookup finds the entry at path below root tree h, reading only the trees on
// the way.
func (r *Repo) lookup(h Hash, path string) (object.TreeEntry, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, name := range parts {
		t, err := r.tree(h)
		if err != nil {
			return object.TreeEntry{}, err
		}
		e, ok := findEntry(t.Entries, name)
		if !ok {
			return object.TreeEntry{}, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
		}
		if i == len(parts)-1 {
			return e, nil
		}
		if e.Mode != filemode.Dir {
			return object.TreeEntry{}, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
		}
		h = e.Hash
	}
	return object.TreeEntry{}, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
}

// findEntry looks name up in a tree's entries. Trees are sorted, but with
// directories compared as if they ended in "/", so a binary search on names
// alone can miss; trees holding thousands of files are scanned in well under
// a millisecond, so a linear scan keeps this obviously correct.
func findEntry(entries []object.TreeEntry, name string) (object.TreeEntry, bool) {
	for _, e := range entries {
		if e.Name == name {
			return e, true
		}
	}
	return object.TreeEntry{}, false
}

// BlobHash is the id git gives a file with content data.
func BlobHash(data []byte) Hash { return plumbing.ComputeHash(plumbing.BlobObject, data) }

// Blob returns the content of the blob h.
func (r *Repo) Blob(h Hash) ([]byte, error) { return r.blob(h) }

func (r *Repo) blob(h Hash) ([]byte, error) {
	o, err := r.storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	return data, nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
