package gitrepo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// AdvanceBranch moves refs/heads/<branch> from commit from to commit to, and
// fails with ErrRefMoved unless the branch is at from (ZeroHash: unborn).
// When HEAD is on that branch, the work tree and the index follow: only the
// files that differ between from and to are written or removed and their
// index entries refreshed, so git status is clean afterwards (if it was
// before) and files elsewhere are untouched. It never reads the rest of the
// work tree, so it costs the same in a repository of 10 or 10,000 files.
//
// A changed path whose file has local edits, or an untracked file where to
// adds one, stops the move with ErrDirtyWorktree before anything changes,
// as git checkout would.
func (r *Repo) AdvanceBranch(branch string, from, to Hash) error {
	name := BranchRef(branch)
	if err := r.expectRef(name, from); err != nil {
		return fmt.Errorf("advance %s: %w", branch, err)
	}
	head, err := r.headBranch()
	if err != nil {
		return fmt.Errorf("advance %s: %w", branch, err)
	}
	if r.bare || head != branch {
		if err := r.UpdateRef(name, from, to); err != nil {
			return fmt.Errorf("advance %s: %w", branch, err)
		}
		return nil
	}
	err = r.syncWorktree(from, to, func() error { return r.UpdateRef(name, from, to) })
	if err != nil {
		return fmt.Errorf("advance %s: %w", branch, err)
	}
	return nil
}

// Checkout switches HEAD to branch and brings the work tree and index from
// the current HEAD commit's tree to the branch's, writing only what differs.
// From an unborn HEAD (a fresh Init) it is the initial checkout. Local edits
// to files that would change stop it with ErrDirtyWorktree.
func (r *Repo) Checkout(branch string) error {
	if r.bare {
		return fmt.Errorf("checkout %s: bare repository", branch)
	}
	to, err := r.Ref(BranchRef(branch))
	if err != nil {
		return fmt.Errorf("checkout %s: %w", branch, err)
	}
	from, err := r.Ref("HEAD")
	if err != nil && !errors.Is(err, ErrRefNotFound) {
		return fmt.Errorf("checkout %s: %w", branch, err)
	}
	err = r.syncWorktree(from, to, func() error {
		return r.storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch)))
	})
	if err != nil {
		return fmt.Errorf("checkout %s: %w", branch, err)
	}
	return nil
}

func (r *Repo) expectRef(name string, want Hash) error {
	got, err := r.Ref(name)
	if errors.Is(err, ErrRefNotFound) {
		got, err = ZeroHash, nil
	}
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s is at %s, expected %s: %w", name, got, want, ErrRefMoved)
	}
	return nil
}

// change is one path to bring from its state in one commit to another.
type change struct {
	path     string
	old, new *object.TreeEntry
}

// syncWorktree moves the work tree and index from commit from's tree to to's.
// It checks every affected path first, then calls commit (which moves the
// ref: the ref is the truth, so it moves before the files), then writes.
// The index is held locked throughout (see indexLock), so two crmops
// processes never interleave.
func (r *Repo) syncWorktree(from, to Hash, commit func() error) error {
	return r.syncPaths(from, to, commit, false, nil)
}

// journalName records a work-tree update in progress: "from to". It is
// written before the ref moves and removed once the index is written, so a
// process killed in between leaves a note that Open uses to finish the job
// (see recoverCheckout).
const journalName = "crmops-checkout"

// syncPaths is syncWorktree; with force it skips the cleanliness checks,
// which recovery needs because the files it repairs may be torn. held is
// the index lock when the caller already holds it.
func (r *Repo) syncPaths(from, to Hash, commit func() error, force bool, held *indexLock) error {
	var changes []change
	if err := r.diffCommits(from, to, func(p string, old, new *object.TreeEntry) error {
		if err := checkPath(p); err != nil {
			return err
		}
		if new != nil && new.Mode == filemode.Submodule {
			return fmt.Errorf("%s: submodules are not supported", p)
		}
		changes = append(changes, change{path: p, old: old, new: new})
		return nil
	}); err != nil {
		return err
	}

	lock := held
	if lock == nil {
		var err error
		if lock, err = lockIndex(filepath.Join(r.dir, ".git")); err != nil {
			return err
		}
		defer lock.unlock()
	}
	idx, err := r.storer.Index()
	if err != nil {
		return fmt.Errorf("read index: %w", err)
	}
	entries := make(map[string]*index.Entry, len(idx.Entries))
	for _, e := range idx.Entries {
		// Not index.Merged: go-git defines it as 1, the same as
		// AncestorMode, while merged entries are decoded with stage 0.
		if e.Stage != 0 {
			return fmt.Errorf("%s: unresolved merge conflict: %w", e.Name, ErrDirtyWorktree)
		}
		entries[e.Name] = e
	}

	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return fmt.Errorf("open work tree: %w", err)
	}
	defer root.Close()

	if !force {
		for _, c := range changes {
			if err := checkClean(root, c, entries[c.path]); err != nil {
				return err
			}
		}
	}
	gitDir := filepath.Join(r.dir, ".git")
	journal := filepath.Join(gitDir, journalName)
	if err := writeFileAtomic(gitDir, journal, []byte(from.String()+" "+to.String()+"\n")); err != nil {
		return fmt.Errorf("write checkout journal: %w", err)
	}
	if err := commit(); err != nil {
		_ = os.Remove(journal)
		return err
	}

	// Removals first: a file may be replaced by a directory of the same name.
	removed := map[string]bool{}
	for _, c := range changes {
		if c.new != nil {
			continue
		}
		removed[c.path] = true
		if fi, err := root.Lstat(c.path); err == nil && fi.IsDir() {
			// Someone's own directory, not the file git recorded.
			continue
		}
		if err := root.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("moved the ref, but removing %s: %w", c.path, err)
		}
		removeEmptyParents(root, c.path)
	}
	for _, c := range changes {
		if c.new == nil {
			continue
		}
		e, err := r.writeWorktreeFile(root, c.path, *c.new)
		if err != nil {
			return fmt.Errorf("moved the ref, but writing %s: %w", c.path, err)
		}
		if old, ok := entries[c.path]; ok {
			*old = *e
		} else {
			entries[c.path] = e
			idx.Entries = append(idx.Entries, e)
		}
	}
	if len(removed) > 0 {
		kept := idx.Entries[:0]
		for _, e := range idx.Entries {
			if !removed[e.Name] {
				kept = append(kept, e)
			}
		}
		idx.Entries = kept
	}
	if err := lock.commit(idx); err != nil {
		return fmt.Errorf("moved the ref, but writing the index: %w", err)
	}
	// Still under the lock: a recovering process re-reads the journal
	// under it, so it never replays a checkout that is being completed.
	if err := os.Remove(journal); err != nil {
		return fmt.Errorf("remove checkout journal: %w", err)
	}
	return nil
}

// recoverCheckout finishes a work-tree update a killed process left half
// done: the paths that differ between the journal's two commits are forced
// to their content in the commit HEAD now names (the ref moves first, so
// that is "to" if the kill came after the move and "from" if before).
func (r *Repo) recoverCheckout() error {
	journal := filepath.Join(r.dir, ".git", journalName)
	if _, err := os.Stat(journal); errors.Is(err, fs.ErrNotExist) {
		return nil // the common case, without taking a lock
	}
	lock, err := lockIndex(filepath.Join(r.dir, ".git"))
	if err != nil {
		return err
	}
	defer lock.unlock()
	data, err := os.ReadFile(journal)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another process finished it while we waited
	}
	if err != nil {
		return err
	}
	var from, to string
	if _, err := fmt.Sscan(string(data), &from, &to); err != nil {
		return fmt.Errorf("checkout journal %s: %w", journal, err)
	}
	head, err := r.Ref("HEAD")
	if err != nil && !errors.Is(err, ErrRefNotFound) {
		return err
	}
	noop := func() error { return nil }
	switch head.String() {
	case to:
		err = r.syncPaths(plumbing.NewHash(from), head, noop, true, lock)
	case from:
		err = r.syncPaths(plumbing.NewHash(to), head, noop, true, lock)
	default:
		return fmt.Errorf("checkout journal %s: HEAD is at %s, neither %s nor %s; check the work tree by hand and remove the journal", journal, head, from, to)
	}
	if err != nil {
		return fmt.Errorf("finish the interrupted checkout: %w", err)
	}
	return nil
}

// checkClean refuses to overwrite or remove a file whose content is neither
// what git recorded (c.old) nor already the target (c.new). It hashes the
// file only when its stat data does not match the index.
func checkClean(root *os.Root, c change, e *index.Entry) error {
	if e != nil && (c.old == nil || e.Hash != c.old.Hash) && (c.new == nil || e.Hash != c.new.Hash) {
		return fmt.Errorf("%s: staged changes would be overwritten: %w", c.path, ErrDirtyWorktree)
	}
	fi, err := root.Lstat(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	if fi.IsDir() {
		if c.new == nil {
			return nil
		}
		return fmt.Errorf("%s: a directory is in the way: %w", c.path, ErrDirtyWorktree)
	}
	if e != nil && c.old != nil && e.Hash == c.old.Hash && statMatches(fi, e) {
		return nil
	}
	h, err := hashWorktreeFile(root, c.path, fi)
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	if (c.old != nil && h == c.old.Hash) || (c.new != nil && h == c.new.Hash) {
		return nil
	}
	if c.old == nil {
		return fmt.Errorf("%s: untracked file would be overwritten: %w", c.path, ErrDirtyWorktree)
	}
	return fmt.Errorf("%s: local changes would be overwritten: %w", c.path, ErrDirtyWorktree)
}

func statMatches(fi fs.FileInfo, e *index.Entry) bool {
	mode, err := filemode.NewFromOSFileMode(fi.Mode())
	return err == nil && mode == e.Mode && uint32(fi.Size()) == e.Size && fi.ModTime().Equal(e.ModifiedAt)
}

func hashWorktreeFile(root *os.Root, p string, fi fs.FileInfo) (Hash, error) {
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := root.Readlink(p)
		if err != nil {
			return ZeroHash, err
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(target)), nil
	}
	f, err := root.Open(p)
	if err != nil {
		return ZeroHash, err
	}
	defer f.Close()
	h := plumbing.NewHasher(plumbing.BlobObject, fi.Size())
	if _, err := io.Copy(h, f); err != nil {
		return ZeroHash, err
	}
	return h.Sum(), nil
}

// writeWorktreeFile materialises a tree entry and returns its index entry.
// os.Root keeps a hostile tree (say, a symlink named proposals pointing out
// of the repository) from writing outside the work tree.
func (r *Repo) writeWorktreeFile(root *os.Root, p string, e object.TreeEntry) (*index.Entry, error) {
	data, err := r.blob(e.Hash)
	if err != nil {
		return nil, err
	}
	if dir := path.Dir(p); dir != "." {
		if err := root.MkdirAll(dir, 0o777); err != nil {
			return nil, err
		}
	}
	switch e.Mode {
	case filemode.Symlink:
		if err := root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err := root.Symlink(string(data), p); err != nil {
			return nil, err
		}
	case filemode.Regular, filemode.Deprecated, filemode.Executable:
		perm := fs.FileMode(0o666)
		if e.Mode == filemode.Executable {
			perm = 0o777
		}
		// Writing through a symlink would change its target, and WriteFile
		// keeps an existing file's permissions: recreate the file in both
		// cases so the umask applies as on checkout.
		if fi, err := root.Lstat(p); err == nil {
			isExec := fi.Mode().Perm()&0o111 != 0
			if fi.Mode()&fs.ModeSymlink != 0 || isExec != (e.Mode == filemode.Executable) {
				if err := root.Remove(p); err != nil {
					return nil, err
				}
			}
		}
		if err := writeRootFileAtomic(root, p, data, perm); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported mode %s", e.Mode)
	}
	fi, err := root.Lstat(p)
	if err != nil {
		return nil, err
	}
	ie := &index.Entry{Name: p, Hash: e.Hash, Mode: e.Mode, Size: uint32(fi.Size()), ModifiedAt: fi.ModTime()}
	if e.Mode == filemode.Deprecated {
		ie.Mode = filemode.Regular
	}
	fillStat(ie, fi)
	return ie, nil
}

// removeEmptyParents removes the directories above p that the removal left
// empty, as git does; Remove refuses non-empty directories, which ends it.
func removeEmptyParents(root *os.Root, p string) {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if root.Remove(dir) != nil {
			return
		}
	}
}

// indexLock guards crmops' index writes. It is a kernel lock on
// .git/crmops-index.lock, not git's index.lock: a SIGKILLed crmops must not
// leave behind a lock that stops every later run. The new index is written
// to a temporary file and renamed over the old, so a kill never tears it.
// A git command holding index.lock is respected: crmops waits for no one and
// refuses instead.
type indexLock struct {
	gitDir string
	unlock func()
}

func lockIndex(gitDir string) (*indexLock, error) {
	unlock, err := lockFile(filepath.Join(gitDir, "crmops-index.lock"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(gitDir, "index.lock")); err == nil {
		unlock()
		return nil, fmt.Errorf("lock index: %s exists: a git command is running here (remove the file if none is)", filepath.Join(gitDir, "index.lock"))
	}
	return &indexLock{gitDir: gitDir, unlock: unlock}, nil
}

// commit writes the index; the caller still holds the lock afterwards.
func (l *indexLock) commit(idx *index.Index) error {
	var buf bytes.Buffer
	if err := index.NewEncoder(&buf).Encode(idx); err != nil {
		return err
	}
	return writeFileAtomic(l.gitDir, filepath.Join(l.gitDir, "index"), buf.Bytes())
}

// writeRootFileAtomic writes p inside root through a temporary file in .git
// and a rename, so a reader (or a kill) never sees a torn file.
func writeRootFileAtomic(root *os.Root, p string, data []byte, perm fs.FileMode) error {
	tmp := ".git/crmops-tmp-worktree"
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return root.Rename(tmp, p)
}
