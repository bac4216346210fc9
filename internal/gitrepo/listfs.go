package gitrepo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
)

// listingFS is the operating system's file system rooted at a git
// directory, with a directory listing that survives files disappearing
// while it runs.
//
// This is the root cause of lookups that miss objects that exist. go-billy's
// ReadDir reads a directory's names and then stats each one, and fails the
// whole listing with "no such file" if any name vanished in between.
// go-git's pack list (dotgit objectPacks) treats that error as "there is no
// objects/pack directory" and returns no packs and no error, so the
// ObjectStorage caches an empty pack index and reports every packed object
// as not found, until something makes it read the list again. objects/pack
// is exactly where names vanish all the time: go-git writes every loose
// object through a temporary file there (tmp_obj_*) and renames it away, and
// a pack roll-up deletes the packs it replaces. So a reader listing packs
// while any other process (or Repo) writes an object, or packs, could lose
// sight of every pack. A name that vanished is simply not listed here, as if
// the listing had run a moment later.
type listingFS struct {
	billy.Filesystem
	root string
}

func newListingFS(root string) billy.Filesystem {
	return &listingFS{Filesystem: osfs.New(root), root: root}
}

func (l *listingFS) ReadDir(path string) ([]fs.FileInfo, error) {
	entries, err := os.ReadDir(filepath.Join(l.root, path))
	if err != nil {
		return nil, err
	}
	infos := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		infos = append(infos, fi)
	}
	return infos, nil
}
