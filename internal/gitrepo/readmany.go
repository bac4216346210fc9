package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// TreeFile is a file in a commit's tree: its path and its blob.
type TreeFile struct {
	Path string
	Blob Hash
}

// ListBlobs returns every file below dir in commit's tree with its blob id,
// recursively, in git's order; like ListFiles, a missing dir yields an
// empty list.
func (r *Repo) ListBlobs(commit Hash, dir string) ([]TreeFile, error) {
	var out []TreeFile
	err := r.walkDir(commit, dir, func(p string, e object.TreeEntry) error {
		out = append(out, TreeFile{Path: p, Blob: e.Hash})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// walkDir calls fn for every file below dir in commit's tree, as ListFiles
// walks it.
func (r *Repo) walkDir(commit Hash, dir string, fn func(string, object.TreeEntry) error) error {
	root, err := r.commitTree(commit)
	if err != nil {
		return fmt.Errorf("list %s at %s: %w", dir, commit, err)
	}
	start, prefix := root, cleanDir(dir)
	if prefix != "" {
		e, err := r.lookup(root, prefix)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list %s at %s: %w", dir, commit, err)
		}
		if e.Mode != filemode.Dir {
			return fmt.Errorf("list %s at %s: not a directory", dir, commit)
		}
		start = e.Hash
	}
	if err := r.walkFiles(start, prefix, fn); err != nil {
		return fmt.Errorf("list %s at %s: %w", dir, commit, err)
	}
	return nil
}

func cleanDir(dir string) string {
	dir = filepath.ToSlash(dir)
	for len(dir) > 0 && dir[0] == '/' {
		dir = dir[1:]
	}
	for len(dir) > 0 && dir[len(dir)-1] == '/' {
		dir = dir[:len(dir)-1]
	}
	if dir == "." {
		return ""
	}
	return dir
}

// readManyCache is each reader's cache of decoded objects. It matters for
// packed objects only: the bases of delta chains are kept there, so a chain
// shared by many blobs is inflated once per reader, not once per blob.
const readManyCache = 16 << 20

// readManyChunk is how many neighbouring blobs one reader takes at a time.
const readManyChunk = 64

// ReadBlobs reads the blobs hashes, several at a time, and calls fn with
// each one's index in hashes and its content. fn runs on several
// goroutines at once, never twice for one index; the first error it or a
// read returns stops the rest and is returned.
//
// go-git's storage is not safe for concurrent use, so each goroutine reads
// through a storage of its own on the same object directory: loose objects
// and packs alike, and packs written since the Repo was opened.
func (r *Repo) ReadBlobs(hashes []Hash, fn func(i int, data []byte) error) error {
	if len(hashes) == 0 {
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), (len(hashes)+63)/64)
	if workers <= 1 {
		for i, h := range hashes {
			data, err := r.blob(h)
			if err != nil {
				return err
			}
			if err := fn(i, data); err != nil {
				return err
			}
		}
		return nil
	}
	gitDir := r.dir
	if !r.bare {
		gitDir = filepath.Join(r.dir, git.GitDirName)
	}
	var (
		next    = make(chan int, workers*16)
		stop    = make(chan struct{})
		once    sync.Once
		first   error
		wg      sync.WaitGroup
		failure = func(err error) {
			once.Do(func() { first = err; close(stop) })
		}
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := filesystem.NewStorageWithOptions(osfs.New(gitDir), cache.NewObjectLRU(readManyCache), filesystem.Options{KeepDescriptors: true})
			defer st.Close()
			for start := range next {
				for i := start; i < min(start+readManyChunk, len(hashes)); i++ {
					data, err := readBlobFrom(st, hashes[i])
					if err == nil {
						err = fn(i, data)
					}
					if err != nil {
						failure(err)
						return
					}
				}
			}
		}()
	}
	// Blobs are handed out in runs of neighbours: files side by side in a
	// tree were usually written together, so in a pack they are often
	// deltas of each other, and one reader's cache keeps their bases.
feed:
	for start := 0; start < len(hashes); start += readManyChunk {
		select {
		case next <- start:
		case <-stop:
			break feed
		}
	}
	close(next)
	wg.Wait()
	return first
}

// readBlobFrom reads blob h through st. A blob missing from the packs st
// listed when it started may be in one written since, by a fetch or a
// repack in another process: st looks again once before saying so.
func readBlobFrom(st *filesystem.Storage, h Hash) ([]byte, error) {
	o, err := st.EncodedObject(plumbing.BlobObject, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		st.Reindex()
		o, err = st.EncodedObject(plumbing.BlobObject, h)
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	defer rd.Close()
	data := make([]byte, o.Size())
	if _, err := io.ReadFull(rd, data); err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	return data, nil
}
