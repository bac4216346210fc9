package gitrepo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Auto-packing, as git gc --auto does it.
//
// crmops writes every object loose (CommitTree), and each loose object is a
// file of at least one file-system block, so a few objects per batch add up
// to gigabytes over a repository's life while the same history packs into
// megabytes. After each push the checkout, and a local (path) remote, are
// packed when they hold "too many" loose objects; the new pack rolls up the
// smaller existing packs geometrically, as git repack --geometric=2 does, so
// the number of packs stays logarithmic in the history and each object is
// rewritten O(log n) times over the repository's life.
const (
	// autoPackLoose is the number of loose objects that triggers packing.
	// git's gc.auto is 6,700, sized for source trees whose objects are
	// mostly small blobs. A crmops batch writes about a dozen objects, and
	// the largest are the trees of its month's folder (tens of KB each,
	// two per batch), so 6,700 loose objects are ~550 batches and ~25 MB,
	// twice what git gc makes of 5,000 whole batches. 512 (about 45 batches,
	// ~2 MB loose) keeps the loose residue small beside the pack and each
	// packing run short; git's geometric roll-up below keeps the total work
	// O(n log n) however often it runs.
	autoPackLoose = 512
	// autoPackSampleDirs is how many of the 256 fan-out directories are
	// counted to estimate the loose objects. git counts one (objects/17);
	// at 512 that would be 2 expected files, too few to estimate from, so
	// eight are counted: 16 expected at the threshold, about 60 µs.
	autoPackSampleDirs = 8
	// autoPackPacks is the number of packs that triggers a roll-up even
	// without loose objects (fetches each add one), as gc.autoPackLimit.
	autoPackPacks = 24
	// packLockName is the non-blocking lock only one packer holds.
	packLockName = "crmops-pack.lock"
)

// sampleFanout are the fan-out directories counted by the estimate; any
// fixed set will do, as object names are uniformly distributed.
var sampleFanout = [autoPackSampleDirs]string{"17", "3b", "5c", "7e", "a3", "c1", "e8", "f4"}

// PackResult says what a packing run did.
type PackResult struct {
	// Packed is false when nothing needed packing or another process was
	// packing already.
	Packed bool
	// Loose is the number of loose objects moved into the new pack and
	// deleted; Packs the number of older packs rolled into it and deleted.
	Loose, Packs int
	// Objects is the number of objects in the new pack.
	Objects int
}

// MaybePack packs the repository's loose objects if there are more than git
// gc --auto would tolerate (see autoPackLoose), rolling smaller packs into
// the new one. Checking costs a few directory reads, so callers can call it
// after every push. It is safe beside any other crmops process on the same
// repository: readers find every object throughout, and a second packer
// skips rather than waits.
func (r *Repo) MaybePack() (PackResult, error) {
	return maybePack(r.gitDir(), false)
}

// Pack packs all loose objects and rolls up packs now, whatever their number.
func (r *Repo) Pack() (PackResult, error) {
	return maybePack(r.gitDir(), true)
}

func (r *Repo) gitDir() string {
	if r.bare {
		return r.dir
	}
	return filepath.Join(r.dir, ".git")
}

// MaybePackDir is MaybePack for a repository that is not open, by its git
// directory (a bare repository's own directory).
func MaybePackDir(gitDir string) (PackResult, error) { return maybePack(gitDir, false) }

func maybePack(gitDir string, force bool) (PackResult, error) {
	objects := filepath.Join(gitDir, "objects")
	if !force {
		n := 0
		for _, d := range sampleFanout {
			n += countLoose(filepath.Join(objects, d))
		}
		if n*256/autoPackSampleDirs < autoPackLoose {
			packs, err := listPacks(objects)
			if err != nil || len(packs) <= autoPackPacks {
				return PackResult{}, err
			}
		}
	}
	unlock, ok, err := tryLockFile(filepath.Join(gitDir, packLockName))
	if err != nil || !ok {
		return PackResult{}, err
	}
	defer unlock()
	res, err := packRepo(gitDir)
	if err != nil {
		return res, fmt.Errorf("pack %s: %w", gitDir, err)
	}
	return res, nil
}

// countLoose counts the loose objects in one fan-out directory.
func countLoose(dir string) int {
	f, err := os.Open(dir)
	if err != nil {
		return 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	n := 0
	for _, name := range names {
		if len(name) == 38 {
			n++
		}
	}
	return n
}

type packFile struct {
	hash Hash
	size int64
}

// listPacks lists the packs a roll-up may replace. A pack with a .keep file
// is being received (git receive-pack keeps it until its refs are updated)
// or pinned by the user, and is left alone.
func listPacks(objects string) ([]packFile, error) {
	dir := filepath.Join(objects, "pack")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, e := range ents {
		names[e.Name()] = true
	}
	var out []packFile
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "pack-") || !strings.HasSuffix(n, ".pack") {
			continue
		}
		base := strings.TrimSuffix(n, ".pack")
		h := plumbing.NewHash(strings.TrimPrefix(base, "pack-"))
		if h.IsZero() || names[base+".keep"] || !names[base+".idx"] {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // deleted meanwhile
		}
		out = append(out, packFile{hash: h, size: fi.Size()})
	}
	return out, nil
}

// geometricRollup picks the packs to merge with newWeight bytes of new
// objects so that, afterwards, each pack is at least twice as large as all
// smaller ones together (git repack --geometric=2). It returns the smallest
// packs, those that break the progression.
func geometricRollup(packs []packFile, newWeight int64) []packFile {
	slices.SortFunc(packs, func(a, b packFile) int {
		switch {
		case a.size < b.size:
			return -1
		case a.size > b.size:
			return 1
		}
		return 0
	})
	// Find the largest pack that is not at least twice its smaller
	// neighbour: everything up to it is rolled up.
	split := 0
	for i := len(packs) - 1; i > 0; i-- {
		if packs[i].size < 2*packs[i-1].size {
			split = i + 1
			break
		}
	}
	total := newWeight
	for _, p := range packs[:split] {
		total += p.size
	}
	// The rolled-up pack may now be too large for the packs above it.
	for split < len(packs) && packs[split].size < 2*total {
		total += packs[split].size
		split++
	}
	return packs[:split]
}

// packRepo writes one pack holding every loose object and the objects of the
// packs geometricRollup picks, renames it in, verifies it, and only then
// deletes what it replaces. Objects that arrive meanwhile (loose or in new
// packs) are not touched: only what was listed before writing is deleted.
func packRepo(gitDir string) (PackResult, error) {
	objects := filepath.Join(gitDir, "objects")
	loose, err := listLoose(objects)
	if err != nil {
		return PackResult{}, err
	}
	packs, err := listPacks(objects)
	if err != nil {
		return PackResult{}, err
	}
	// A loose object takes about its compressed size in a pack; the file
	// size is a good enough estimate of its weight without reading it.
	var looseWeight int64
	for _, l := range loose {
		looseWeight += l.size
	}
	roll := geometricRollup(packs, looseWeight)
	if len(loose) == 0 && len(roll) < 2 {
		return PackResult{}, nil
	}

	// Objects are read in pack order, so a small cache holds the delta
	// bases that are needed.
	// Objects are read in pack order, so a small cache holds the delta
	// bases that are needed.
	src := filesystem.NewStorage(newListingFS(gitDir), cache.NewObjectLRU(16*cache.MiByte))
	st := &durableStorage{Storage: src, gitDir: gitDir}
	packDir := filepath.Join(objects, "pack")
	idxs := make([]*idxfile.MemoryIndex, len(roll))
	inPacks := map[Hash]bool{}
	for i, p := range roll {
		idx, err := readIdx(filepath.Join(packDir, "pack-"+p.hash.String()+".idx"))
		if err != nil {
			return PackResult{}, err
		}
		idxs[i] = idx
		if err := eachIdxHash(idx, func(h Hash) { inPacks[h] = true }); err != nil {
			return PackResult{}, err
		}
	}
	// Loose objects are packed afresh, with deltas; the packs rolled up are
	// copied as they are. Ordering for deltas needs each object's type and,
	// for a tree, its first entry, which names the directory well: the
	// first file of a month's folder stays first as later batches are
	// appended. Reading each loose object twice (here and when writing)
	// costs CPU, not memory.
	objs := make([]packObject, 0, len(loose))
	sizes := make(map[Hash]int64, len(loose))
	// The loose objects of one auto-pack are a few MB: keep them from this
	// first read instead of reading them again. Packing a large backlog at
	// once (Pack on an old repository) reads them twice instead.
	const keepBudget = 64 << 20
	kept := map[Hash][]byte{}
	var keptBytes int
	for _, l := range loose {
		if inPacks[l.hash] {
			continue
		}
		t, data, err := readObject(st, l.hash)
		if err != nil {
			return PackResult{}, fmt.Errorf("read %s: %w", l.hash, err)
		}
		o := packObject{hash: l.hash, typ: t}
		if t == plumbing.TreeObject {
			o.key = firstEntryName(data)
		}
		sizes[l.hash] = int64(len(data))
		if keptBytes+len(data) <= keepBudget {
			kept[l.hash] = data
			keptBytes += len(data)
		}
		objs = append(objs, o)
	}
	slices.SortStableFunc(objs, func(a, b packObject) int {
		if c := typeRank(a.typ) - typeRank(b.typ); c != 0 {
			return c
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		// Larger first: a tree that only grows is best stored whole at its
		// newest and as deltas going back, the order git uses.
		sa, sb := sizes[a.hash], sizes[b.hash]
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	sizes = nil

	if err := os.MkdirAll(packDir, 0o755); err != nil {
		return PackResult{}, err
	}
	count := len(inPacks) + len(objs)
	name, err := writePackFiles(packDir, func(out io.Writer) (Hash, *idxfile.MemoryIndex, error) {
		w, err := newPackWriter(out, uint32(count), true)
		if err != nil {
			return ZeroHash, nil, err
		}
		newOffset := make(map[Hash]int64, count)
		for i, p := range roll {
			if _, err := w.copyPack(filepath.Join(packDir, "pack-"+p.hash.String()+".pack"), idxs[i], newOffset); err != nil {
				return ZeroHash, nil, err
			}
		}
		for _, o := range objs {
			data, ok := kept[o.hash]
			if !ok {
				t, d, err := readObject(st, o.hash)
				if err != nil {
					return ZeroHash, nil, fmt.Errorf("read %s: %w", o.hash, err)
				}
				o.typ, data = t, d
			}
			delete(kept, o.hash)
			if err := w.add(o, data); err != nil {
				return ZeroHash, nil, err
			}
		}
		return w.finish()
	})
	if err != nil {
		return PackResult{}, err
	}
	if err := verifyPack(packDir, name, objs, inPacks); err != nil {
		return PackResult{}, err
	}

	res := PackResult{Packed: true, Objects: count}
	for _, l := range loose {
		err := os.Remove(filepath.Join(objects, l.hash.String()[:2], l.hash.String()[2:]))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, err
		}
		res.Loose++
	}
	for _, p := range roll {
		if p.hash == name {
			continue // the same objects packed the same way
		}
		if err := removePack(packDir, p.hash); err != nil {
			return res, err
		}
		res.Packs++
	}
	return res, nil
}

func eachIdxHash(idx *idxfile.MemoryIndex, fn func(Hash)) error {
	iter, err := idx.Entries()
	if err != nil {
		return err
	}
	defer iter.Close()
	for {
		e, err := iter.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fn(e.Hash)
	}
}

type looseObject struct {
	hash Hash
	size int64
}

func listLoose(objects string) ([]looseObject, error) {
	var out []looseObject
	for i := range 256 {
		d := fmt.Sprintf("%02x", i)
		ents, err := os.ReadDir(filepath.Join(objects, d))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if len(e.Name()) != 38 || !plumbing.IsHash(d+e.Name()) {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, looseObject{hash: plumbing.NewHash(d + e.Name()), size: fi.Size()})
		}
	}
	return out, nil
}

// firstEntryName is the name of a tree's first entry, without decoding the
// rest of it.
func firstEntryName(data []byte) string {
	sp := -1
	for i, c := range data {
		if c == ' ' && sp < 0 {
			sp = i
		}
		if c == 0 {
			if sp < 0 {
				return ""
			}
			return string(data[sp+1 : i])
		}
	}
	return ""
}

func readIdx(path string) (*idxfile.MemoryIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bufio.NewReader(f)).Decode(idx); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return idx, nil
}

// writePackFiles writes objs as a pack and its index under temporary names
// in packDir, syncs both, and renames them in: the index first, then the
// pack. go-git lists packs by their .pack file and fails (leaving its pack
// list half read) on a .pack whose .idx is missing; git lists them by .idx
// and skips an index whose .pack is missing. Renaming the index first means
// neither ever sees half a pack.
func writePackFiles(packDir string, fill func(io.Writer) (Hash, *idxfile.MemoryIndex, error)) (Hash, error) {
	tmpPack, err := os.CreateTemp(packDir, "tmp_crmops_pack_")
	if err != nil {
		return ZeroHash, err
	}
	defer os.Remove(tmpPack.Name())
	bw := bufio.NewWriterSize(tmpPack, 1<<16)
	name, idx, err := fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmpPack.Sync()
	}
	if cerr := tmpPack.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ZeroHash, err
	}

	tmpIdx, err := os.CreateTemp(packDir, "tmp_crmops_idx_")
	if err != nil {
		return ZeroHash, err
	}
	defer os.Remove(tmpIdx.Name())
	ibw := bufio.NewWriter(tmpIdx)
	_, err = idxfile.NewEncoder(ibw).Encode(idx)
	if err == nil {
		err = ibw.Flush()
	}
	if err == nil {
		err = tmpIdx.Sync()
	}
	if cerr := tmpIdx.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ZeroHash, err
	}

	base := filepath.Join(packDir, "pack-"+name.String())
	if _, err := os.Stat(base + ".pack"); err == nil {
		// The same objects in the same order: the pack is already in.
		return name, nil
	}
	for _, f := range []struct{ tmp, dst string }{{tmpIdx.Name(), base + ".idx"}, {tmpPack.Name(), base + ".pack"}} {
		if err := os.Chmod(f.tmp, 0o444); err != nil {
			return ZeroHash, err
		}
		if err := os.Rename(f.tmp, f.dst); err != nil {
			return ZeroHash, err
		}
	}
	return name, syncDir(packDir)
}

// verifyPack checks the renamed-in pack before anything it replaces is
// deleted: its index, read back from disk, must list every object, and the
// objects packed afresh are read back and hashed (the copied ones had their
// CRC-32 checked against the old index while being copied).
func verifyPack(packDir string, name Hash, fresh []packObject, copied map[Hash]bool) error {
	base := filepath.Join(packDir, "pack-"+name.String())
	idx, err := readIdx(base + ".idx")
	if err != nil {
		return err
	}
	if Hash(idx.PackfileChecksum) != name {
		return fmt.Errorf("verify pack %s: index is for pack %s", name, Hash(idx.PackfileChecksum))
	}
	if n, _ := idx.Count(); n != int64(len(fresh)+len(copied)) {
		return fmt.Errorf("verify pack %s: %d objects indexed, %d written", name, n, len(fresh)+len(copied))
	}
	for h := range copied {
		if ok, _ := idx.Contains(h); !ok {
			return fmt.Errorf("verify pack %s: %s is missing", name, h)
		}
	}
	f, err := osfs.New(packDir).Open("pack-" + name.String() + ".pack")
	if err != nil {
		return err
	}
	// Without a file system the packfile returns whole objects; fresh
	// objects are read in pack order, so the cache holds their bases.
	p := packfile.NewPackfileWithCache(idx, nil, f, cache.NewObjectLRU(16*cache.MiByte), 0)
	defer p.Close()
	for _, o := range fresh {
		obj, err := p.Get(o.hash)
		if err != nil {
			return fmt.Errorf("verify pack %s: %s: %w", name, o.hash, err)
		}
		rd, err := obj.Reader()
		if err != nil {
			return fmt.Errorf("verify pack %s: %s: %w", name, o.hash, err)
		}
		hw := plumbing.NewHasher(obj.Type(), obj.Size())
		_, err = io.Copy(hw, rd)
		rd.Close()
		if err != nil {
			return fmt.Errorf("verify pack %s: %s: %w", name, o.hash, err)
		}
		if hw.Sum() != o.hash {
			return fmt.Errorf("verify pack %s: object %s reads back as %s", name, o.hash, hw.Sum())
		}
	}
	return nil
}

// removePack deletes a pack replaced by a roll-up: the .pack first, so that
// go-git (which lists .pack files) never finds a pack without its index, and
// git (which lists .idx files) skips an index whose pack is gone.
func removePack(packDir string, h Hash) error {
	base := filepath.Join(packDir, "pack-"+h.String())
	for _, ext := range []string{".pack", ".idx", ".rev", ".bitmap", ".mtimes", ".promisor"} {
		if err := os.Remove(base + ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
