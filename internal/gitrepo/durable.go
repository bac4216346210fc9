package gitrepo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
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
}

// Another crmops process in this checkout may have fetched since this one
// listed the packs: go-git reads the list of packfiles once and never again,
// so an object in a pack written since is "not found". Before saying so, the
// lookups below read the list again, once.

func (s *durableStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, err := s.Storage.EncodedObject(t, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		s.Storage.Reindex()
		o, err = s.Storage.EncodedObject(t, h)
	}
	return o, err
}

func (s *durableStorage) HasEncodedObject(h plumbing.Hash) error {
	err := s.Storage.HasEncodedObject(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		s.Storage.Reindex()
		err = s.Storage.HasEncodedObject(h)
	}
	return err
}

func (s *durableStorage) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	n, err := s.Storage.EncodedObjectSize(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		s.Storage.Reindex()
		n, err = s.Storage.EncodedObjectSize(h)
	}
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
