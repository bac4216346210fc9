package review

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
)

// closedItems lists every batch on the base commit base: its batch files
// with their receipts, and its rejections.
func (s *Service) closedItems(base gitrepo.Hash) ([]Item, error) {
	files, err := s.WS.Git.ListBlobs(base, batch.Dir)
	if err != nil {
		return nil, err
	}
	blobs := make(map[string]gitrepo.Hash, len(files))
	for _, f := range files {
		blobs[f.Path] = f.Blob
	}
	// A folder's batch files, in order: items[at[i]] shows files[i].
	type folder struct {
		files [][3]string
		at    []int
		key   string
	}
	var folders []*folder
	var items []Item
	for _, f := range files {
		switch {
		case strings.HasSuffix(f.Path, batch.RejectionSuffix):
			if id := batch.IDOfFile(f.Path); id != "" {
				items = append(items, Item{Batch: id, Decision: "rejected", State: "rejected"})
			}
		case batch.IsBatchFile(f.Path):
			it := Item{Batch: batch.IDFromPath(f.Path), State: "merged"}
			receipt := ""
			if rc, ok := blobs[batch.ReceiptPath(f.Path)]; ok {
				it.State, receipt = "applied", rc.String()
			}
			dir := path.Dir(f.Path)
			if len(folders) == 0 || path.Dir(folders[len(folders)-1].files[0][0]) != dir {
				folders = append(folders, &folder{})
			}
			fo := folders[len(folders)-1]
			fo.files = append(fo.files, [3]string{f.Path, f.Blob.String(), receipt})
			fo.at = append(fo.at, len(items))
			items = append(items, it)
		}
	}
	// Folders listed before are read from the cache; the others' batch
	// files and receipts are read and decoded several at a time, from the
	// base commit's objects: the listing is what history holds, whatever
	// the work tree says.
	cache := newListCache(s.WS.CacheDir("review-list"))
	used := map[string]bool{}
	type read struct {
		folder, file int
		receipt      bool
	}
	var reads []read
	var hashes []gitrepo.Hash
	sums := make([][]summary, len(folders))
	for i, fo := range folders {
		if cache != nil {
			fo.key = cache.key(fo.files)
			used[fo.key] = true
			if got, ok := cache.get(fo.key, len(fo.files)); ok {
				sums[i] = got
				continue
			}
		}
		sums[i] = make([]summary, len(fo.files))
		for j, f := range fo.files {
			reads = append(reads, read{folder: i, file: j})
			hashes = append(hashes, plumbing.NewHash(f[1]))
			if f[2] != "" {
				reads = append(reads, read{folder: i, file: j, receipt: true})
				hashes = append(hashes, plumbing.NewHash(f[2]))
			}
		}
	}
	// Each read fills its own field of its file's summary. Decoded strings
	// share the file's memory: the clones keep only what is listed.
	err = s.WS.Git.ReadBlobs(hashes, func(i int, data []byte) error {
		r := reads[i]
		file, sum := folders[r.folder].files[r.file][0], &sums[r.folder][r.file]
		if r.receipt {
			if rc, err := batch.DecodeReceipt(batch.ReceiptPath(file), data); err == nil {
				sum.Decision = strings.Clone(rc.Approval.Mode)
			}
		} else if b, err := batch.Decode(file, data); err == nil {
			sum.Changes, sum.Title = len(b.Changes), strings.Clone(b.Title)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	fresh := map[int]bool{}
	for _, r := range reads {
		fresh[r.folder] = true
	}
	for i, fo := range folders {
		if cache != nil && fresh[i] {
			cache.put(fo.key, sums[i])
		}
		for j, at := range fo.at {
			items[at].Changes, items[at].Title, items[at].Decision = sums[i][j].Changes, sums[i][j].Title, sums[i][j].Decision
		}
	}
	if cache != nil {
		cache.prune(used)
	}
	return items, nil
}

// listCache keeps what `review list --all` shows of each folder of
// proposals/, so a listing decodes only the folders that changed since the
// last one: with batches sharded by month, the current month.
//
// An entry is named by the hash of everything it was computed from: every
// batch file's path and blob id in the folder, its receipt's blob id, and the
// crmops binary that decoded them (a newer crmops may judge a file
// differently). Git objects never change, so an entry never goes stale, and
// the listing stays what the base commit's history says; a missing or
// unreadable entry is computed again.
type listCache struct {
	dir   string
	build string
}

// summary is what a listing shows of one batch file.
type summary struct {
	Changes  int    `json:"changes"`
	Title    string `json:"title"`
	Decision string `json:"decision"`
}

// newListCache returns the cache in dir, or nil when the running binary
// cannot be identified (then nothing is cached).
func newListCache(dir string) *listCache {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return nil
	}
	return &listCache{dir: dir, build: fmt.Sprintf("%s\x00%d\x00%d", exe, fi.Size(), fi.ModTime().UnixNano())}
}

// key names the entry for the batch files of one folder, each given as its
// path, blob id and receipt blob id ("" for none).
func (c *listCache) key(files [][3]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "review list v1\x00%s\n", c.build)
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", f[0], f[1], f[2])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// get returns the entry key, which must hold n summaries.
func (c *listCache) get(key string, n int) ([]summary, bool) {
	data, err := os.ReadFile(filepath.Join(c.dir, key))
	if err != nil {
		return nil, false
	}
	var out []summary
	if err := json.Unmarshal(data, &out); err != nil || len(out) != n {
		return nil, false
	}
	return out, true
}

// put stores an entry. A cache that cannot be written only makes the next
// listing slower, so failures are not errors.
func (c *listCache) put(key string, s []summary) {
	data, err := json.Marshal(s)
	if err != nil {
		return
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), filepath.Join(c.dir, key)) != nil {
		os.Remove(tmp.Name())
	}
}

// prune removes the entries a listing did not use: those of a folder as it
// was before its latest batch, which no listing of a later base needs.
func (c *listCache) prune(used map[string]bool) {
	names, err := os.ReadDir(c.dir)
	if err != nil || len(names) <= len(used) {
		return
	}
	for _, e := range names {
		if !used[e.Name()] && !strings.HasPrefix(e.Name(), ".tmp-") {
			os.Remove(filepath.Join(c.dir, e.Name()))
		}
	}
}
