package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// durableStorage is go-git's filesystem storage with references written the
// way git itself writes them: to a temporary file, synced, then renamed over
// the old one. go-git truncates and rewrites a ref file in place, so a
// process killed mid-write (crmops apply must survive SIGKILL anywhere)
// leaves an empty ref that breaks every later command.
//
// Compare-and-set runs under a kernel file lock, which dies with its
// process, so a kill never leaves a stale lock behind either.
type durableStorage struct {
	*filesystem.Storage
	gitDir string
	// packs is the pack list taken before the last re-read of the indexes,
	// when packsKnown.
	packs      string
	packsKnown bool
}

// Object lookups survive objects moving from loose files into packs, and
// from small packs into a larger one, done meanwhile by another process (a
// fetch, MaybePack, git gc) or another Repo in this one.
//
// go-git's ObjectStorage lists the packs and reads their indexes once
// (requireIndex) and keeps them until Reindex. Three things then make it
// report an object that exists as not found:
//
//   - The listing itself, the root cause of the misses seen beside other
//     writers: go-billy's ReadDir fails when a name vanishes while it runs,
//     and go-git takes that failure for "no pack directory" and caches an
//     empty pack list. listingFS fixes that at its source.
//   - A stale list: an object packed after the list was read, whose loose
//     file was deleted after that, is in neither place go-git looks.
//   - A half list: requireIndex stores its map before reading the indexes,
//     so an index it cannot read (a .pack renamed in before its .idx, as
//     git does it, or a pack deleted between listing and reading) hides the
//     packs after it; and a listed pack deleted since fails to open.
//
// The fix for the last two is git's own (find_pack_entry, then
// reprepare_packed_git and look again): on a miss, read the pack list again
// and retry. A lookup that misses is also how CommitTree learns an object
// is new, so the indexes are only re-read when the set of packs differs
// from the one listed before the last re-read: a miss with the same packs
// is a true miss, at the cost of listing one directory. A vanished pack
// always forces a re-read. Retries are bounded: each can only fail again if
// packs are being replaced at that very moment.
const lookupRetries = 3

// retry reports whether a lookup that failed with err may succeed on a
// fresh pack list, and prepares that list.
func (s *durableStorage) retry(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, plumbing.ErrObjectNotFound):
		names := packNames(s.gitDir)
		if s.packsKnown && names == s.packs {
			return false
		}
		s.packs, s.packsKnown = names, true
	case errors.Is(err, dotgit.ErrPackfileNotFound), errors.Is(err, dotgit.ErrIdxNotFound), errors.Is(err, os.ErrNotExist):
		s.packsKnown = false
	default:
		return false
	}
	s.Storage.Reindex()
	return true
}

// packNames lists the packs, as one string to compare.
func packNames(gitDir string) string {
	ents, err := os.ReadDir(filepath.Join(gitDir, "objects", "pack"))
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".pack") && strings.HasPrefix(n, "pack-") {
			b.WriteString(n)
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func (s *durableStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, err := s.Storage.EncodedObject(t, h)
	for i := 0; i < lookupRetries && s.retry(err); i++ {
		o, err = s.Storage.EncodedObject(t, h)
	}
	if err != nil {
		s.dropHalfIndex(err)
		return nil, err
	}
	if fo, ok := o.(*packfile.FSObject); ok {
		// go-git hands out objects of 16 KiB and more from a pack as
		// FSObjects, which open the pack again, by name, when read. A
		// roll-up may delete that pack in between; reading now, while
		// this lookup holds it, keeps the object readable. crmops objects
		// are small files and the trees above them, so this costs a copy.
		return materialize(fo)
	}
	return o, nil
}

// dropHalfIndex forgets a pack list that failed to load, so the next lookup
// reads it whole instead of trusting the half go-git kept.
func (s *durableStorage) dropHalfIndex(err error) {
	if err != nil && !errors.Is(err, plumbing.ErrObjectNotFound) {
		s.packsKnown = false
		s.Storage.Reindex()
	}
}

func materialize(o plumbing.EncodedObject) (plumbing.EncodedObject, error) {
	rd, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	m := &plumbing.MemoryObject{}
	m.SetType(o.Type())
	m.SetSize(o.Size())
	if _, err := io.Copy(m, rd); err != nil {
		return nil, fmt.Errorf("read object %s: %w", o.Hash(), err)
	}
	return m, nil
}

func (s *durableStorage) HasEncodedObject(h plumbing.Hash) error {
	err := s.Storage.HasEncodedObject(h)
	for i := 0; i < lookupRetries && s.retry(err); i++ {
		err = s.Storage.HasEncodedObject(h)
	}
	s.dropHalfIndex(err)
	return err
}

func (s *durableStorage) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	n, err := s.Storage.EncodedObjectSize(h)
	for i := 0; i < lookupRetries && s.retry(err); i++ {
		n, err = s.Storage.EncodedObjectSize(h)
	}
	s.dropHalfIndex(err)
	return n, err
}

func (s *durableStorage) SetReference(ref *plumbing.Reference) error {
	return s.writeRef(ref)
}

func (s *durableStorage) CheckAndSetReference(ref, old *plumbing.Reference) error {
	unlock, err := lockFile(filepath.Join(s.gitDir, "crmops-refs.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if old != nil {
		cur, err := s.Storage.Reference(old.Name())
		if err != nil {
			return err
		}
		if cur.Hash() != old.Hash() {
			return storage.ErrReferenceHasChanged
		}
	} else if _, err := s.Storage.Reference(ref.Name()); err == nil {
		// go-git skips this check; a nil old means "must not exist yet".
		return storage.ErrReferenceHasChanged
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return err
	}
	return s.writeRef(ref)
}

func (s *durableStorage) writeRef(ref *plumbing.Reference) error {
	var content string
	switch ref.Type() {
	case plumbing.HashReference:
		content = ref.Hash().String() + "\n"
	case plumbing.SymbolicReference:
		content = "ref: " + ref.Target().String() + "\n"
	default:
		return fmt.Errorf("write ref %s: invalid reference", ref.Name())
	}
	return writeFileAtomic(s.gitDir, filepath.Join(s.gitDir, filepath.FromSlash(ref.Name().String())), []byte(content))
}

// writeFileAtomic replaces path with data so that readers, and a process
// that dies half way, see either the old content or the new, never a torn
// or empty file. The temporary file is made in tmpDir (the git directory,
// on the same file system), never beside the target: go-git reads every
// file below refs/ as a reference, so a leftover temporary there would
// break every later command.
func writeFileAtomic(tmpDir, path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(tmpDir, "crmops-tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
