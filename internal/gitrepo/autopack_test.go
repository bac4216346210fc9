package gitrepo

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// looseCount counts the loose objects in a git directory.
func looseCount(t testing.TB, gitDir string) int {
	t.Helper()
	l, err := listLoose(filepath.Join(gitDir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

func packCount(t testing.TB, gitDir string) int {
	t.Helper()
	p, err := listPacks(filepath.Join(gitDir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	return len(p)
}

// gitFsck runs the real git's fsck on dir, the independent judge of whether
// a repository lost or corrupted an object.
func gitFsck(t testing.TB, dir string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Log("git is not installed: skipping git fsck")
		return
	}
	cmd := exec.Command("git", "fsck", "--full", "--no-dangling")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git fsck in %s: %v\n%s", dir, err, out)
	}
}

// writeBatches writes n batches shaped as crmops writes them (proposal,
// merge, receipt under proposals/<month>/) on base and returns the new tip.
func writeBatches(t testing.TB, r *Repo, base Hash, from, n int) Hash {
	t.Helper()
	tip := base
	for i := from; i < from+n; i++ {
		tip = writeBatch(t, r, tip, i)
	}
	return tip
}

func writeBatch(t testing.TB, r *Repo, tip Hash, i int) Hash {
	t.Helper()
	path := batchPath(i, true, ".yaml")
	var parents []Hash
	if !tip.IsZero() {
		parents = []Hash{tip}
	}
	must := func(h Hash, err error) Hash {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	p := must(r.CommitTree(CommitOptions{Base: tip, Parents: parents, Files: map[string][]byte{path: batchYAML(i)},
		Message: fmt.Sprintf("Propose %d\n", i), Author: who(3 * i)}))
	m := must(r.CommitTree(CommitOptions{Base: p, Parents: append(parents, p),
		Message: fmt.Sprintf("Merge %d\n\nCrmops-Decision: auto\n", i), Author: who(3*i + 1)}))
	return must(r.CommitTree(CommitOptions{Base: m, Parents: []Hash{m},
		Files:   map[string][]byte{batchPath(i, true, ".receipt.yaml"): receiptYAML(i)},
		Message: fmt.Sprintf("Receipt %d\n\n[skip actions]\n", i), Author: who(3*i + 2)}))
}

// batchYAML is a batch of a few changes, close to what crmops writes.
func batchYAML(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nid: 20261124T%06dZ-enrichment-%06x\ncreated: 2026-11-24T06:00:00Z\ndetector: enrichment\ntitle: enrichment fills\nchanges:\n", i, i*7919)
	for c := range 4 {
		fmt.Fprintf(&b, "  - id: c%d\n    kind: enrichment\n    object: contacts\n    record: \"%d\"\n    op: set\n    field: %s\n    before: \"\"\n    after: value %d-%d\n    source: clay\n    confidence: 0.95\n    reason: Clay row matched by email; field empty in CRM\n",
			c+1, 100000+(i*31+c*7)%50000, []string{"jobtitle", "phone", "industry", "city"}[c], i, c)
	}
	return []byte(b.String())
}

func receiptYAML(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nbatch: 20261124T%06dZ-enrichment-%06x\nexecuted_by: crmops/bench\nchanges:\n", i, i*7919)
	for c := range 4 {
		fmt.Fprintf(&b, "  - id: c%d\n    status: applied\n    after: value %d-%d\n    at: 2026-11-24T06:01:00Z\n", c+1, i, c)
	}
	return []byte(b.String())
}

// TestPackKeepsEveryObject packs a history and checks that every object is
// still there, for a Repo that read the pack list before packing and for
// git, and that the loose copies are gone.
func TestPackKeepsEveryObject(t *testing.T) {
	f := newForge(t)
	r := f.repo
	tip := writeBatches(t, r, ZeroHash, 0, 120)
	if err := r.SetRef("refs/heads/main", tip); err != nil {
		t.Fatal(err)
	}
	// An early pack, so the old Repo below has a pack list to go stale.
	if _, err := r.Pack(); err != nil {
		t.Fatal(err)
	}
	tip = writeBatches(t, r, tip, 120, 60)
	if err := r.SetRef("refs/heads/main", tip); err != nil {
		t.Fatal(err)
	}
	old, err := Open(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ReadFile(tip, batchPath(0, true, ".yaml")); err != nil { // loads its pack list
		t.Fatal(err)
	}
	gitDir := filepath.Join(r.Dir(), ".git")
	if looseCount(t, gitDir) == 0 {
		t.Fatal("no loose objects to pack")
	}
	res, err := r.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if !res.Packed || res.Loose == 0 {
		t.Fatalf("Pack = %+v, want loose objects packed", res)
	}
	if n := looseCount(t, gitDir); n != 0 {
		t.Errorf("%d loose objects left after packing", n)
	}
	if n := packCount(t, gitDir); n != 1 {
		t.Errorf("%d packs after packing, want the two rolled into one", n)
	}
	for i := range 180 {
		for _, suffix := range []string{".yaml", ".receipt.yaml"} {
			for _, rr := range []*Repo{r, old} {
				got, err := rr.ReadFile(tip, batchPath(i, true, suffix))
				if err != nil {
					t.Fatalf("batch %d%s after packing: %v", i, suffix, err)
				}
				want := batchYAML(i)
				if suffix != ".yaml" {
					want = receiptYAML(i)
				}
				if string(got) != string(want) {
					t.Fatalf("batch %d%s reads back different", i, suffix)
				}
			}
		}
	}
	gitFsck(t, r.Dir())
}

// TestPushPacksCheckoutAndRemote pushes one batch at a time, as crmops
// does, and checks that neither the checkout nor the local remote keeps
// more loose objects than the threshold, and that both stay whole.
func TestPushPacksCheckoutAndRemote(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("path remotes need git's receive-pack")
	}
	f := newForge(t)
	ctx := context.Background()
	tip := ZeroHash
	for i := range 200 {
		tip = writeBatch(t, f.repo, tip, i)
		if err := f.repo.SetRef("refs/heads/main", tip); err != nil {
			t.Fatal(err)
		}
		if err := f.repo.Push(ctx, "origin", "refs/heads/main:refs/heads/main"); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{filepath.Join(f.repo.Dir(), ".git"), f.remote} {
		loose, packs := looseCount(t, dir), packCount(t, dir)
		// The estimate samples 4 of 256 directories, so allow it slack.
		if loose > 2*autoPackLoose || packs == 0 {
			t.Errorf("%s: %d loose objects and %d packs after 200 pushes of 13 objects, want packed", dir, loose, packs)
		}
		gitFsck(t, dir)
	}
	clone, err := Clone(ctx, f.remote, filepath.Join(t.TempDir(), "clone"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := clone.ReadFile(tip, batchPath(0, true, ".receipt.yaml")); err != nil || string(got) != string(receiptYAML(0)) {
		t.Fatalf("clone reads the first receipt as %q, %v", got, err)
	}
}

func TestGeometricRollup(t *testing.T) {
	sizes := func(ps []packFile) []int64 {
		var out []int64
		for _, p := range ps {
			out = append(out, p.size)
		}
		return out
	}
	mk := func(s ...int64) []packFile {
		var out []packFile
		for i, n := range s {
			out = append(out, packFile{hash: plumbing.ComputeHash(plumbing.BlobObject, []byte{byte(i)}), size: n})
		}
		return out
	}
	for _, c := range []struct {
		packs []int64
		loose int64
		want  int
	}{
		{[]int64{1000, 400, 100}, 10, 0}, {[]int64{4000, 400, 100}, 150, 2}, // already a progression, new objects small
		{[]int64{1000, 400, 300}, 10, 3},     // 300 and 400 break it; together they outgrow half of 1000
		{[]int64{1000, 400, 100}, 150, 3},    // the new objects outgrow 100, then 400, then 1000
		{[]int64{100, 100, 100, 100}, 0, 4},  // all equal: all rolled
		{[]int64{1 << 20, 8, 8, 8, 8}, 8, 4}, // the big one stays
		{[]int64{1 << 20, 1 << 20, 1}, 0, 3}, // two big equal ones roll up
		{nil, 10, 0},
	} {
		got := geometricRollup(mk(c.packs...), c.loose)
		if len(got) != c.want {
			t.Errorf("geometricRollup(%v, %d) rolls %v, want %d packs", c.packs, c.loose, sizes(got), c.want)
		}
	}
}

// TestPackingBesideReadersAndWriters runs writers and readers (Repos in
// this process and one other process) against one checkout while packing
// runs over and over, rolling packs up. No lookup may fail and no object may
// be lost.
func TestPackingBesideReadersAndWriters(t *testing.T) {
	f := newForge(t)
	dir := f.repo.Dir()
	base := writeBatches(t, f.repo, ZeroHash, 0, 30)
	if err := f.repo.SetRef("refs/heads/main", base); err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 3, 40
	deadline := time.Now().Add(2 * time.Minute)

	var mu sync.Mutex
	var tips []Hash // every commit written so far, for readers to read back
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := Open(dir)
			if err != nil {
				errs <- err
				return
			}
			tip := base
			for i := range rounds {
				n := 1000 + w*rounds + i
				tip, err = tryWriteBatch(r, tip, n)
				if err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", w, i, err)
					return
				}
				if err := r.SetRef(fmt.Sprintf("refs/heads/w%d", w), tip); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				tips = append(tips, tip)
				mu.Unlock()
				// Read back this writer's own history: objects written
				// loose a moment ago may be in a pack by now.
				if err := readBatch(r, tip, n); err != nil {
					errs <- fmt.Errorf("writer %d reading back %d: %w", w, n, err)
					return
				}
			}
		}()
	}
	stopReaders := make(chan struct{})
	var rwg sync.WaitGroup
	for k := range 2 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			r, err := Open(dir)
			if err != nil {
				errs <- err
				return
			}
			for j := 0; ; j++ {
				select {
				case <-stopReaders:
					return
				default:
				}
				mu.Lock()
				var h Hash
				if len(tips) > 0 {
					h = tips[(j*7+k)%len(tips)]
				}
				mu.Unlock()
				if h.IsZero() {
					time.Sleep(time.Millisecond)
					continue
				}
				if _, err := r.ListFiles(h, "proposals"); err != nil {
					errs <- fmt.Errorf("reader %d: %w", k, err)
					return
				}
				if err := readBatch(r, h, 0); err != nil {
					errs <- fmt.Errorf("reader %d: %w", k, err)
					return
				}
			}
		}()
	}
	// The other process writes and reads back its own batches.
	sub := exec.Command(os.Args[0], "-test.run=^TestHelperPackingProcess$", "-test.v")
	sub.Env = append(os.Environ(), "GITREPO_HELPER_DIR="+dir, "GITREPO_HELPER_BASE="+base.String())
	subOut, err := sub.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sub.Stderr = sub.Stdout
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	var subLines []string
	subDone := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(subOut)
		for sc.Scan() {
			subLines = append(subLines, sc.Text())
		}
		close(subDone)
	}()

	packer, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()
	packs := 0
loop:
	for time.Now().Before(deadline) {
		select {
		case <-writersDone:
			break loop
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		res, err := packer.Pack()
		if err != nil {
			t.Fatalf("packing: %v", err)
		}
		if res.Packed {
			packs++
		}
	}
	<-subDone
	subErr := sub.Wait()
	close(stopReaders)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if subErr != nil {
		t.Fatalf("helper process: %v\n%s", subErr, strings.Join(subLines, "\n"))
	}
	if packs < 3 {
		t.Errorf("packed only %d times while the others ran", packs)
	}
	if _, err := packer.Pack(); err != nil {
		t.Fatal(err)
	}
	// Every commit any of them wrote, and the files below it, is still
	// there for a fresh Repo and for git.
	fresh, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range tips {
		if err := readBatch(fresh, h, 0); err != nil {
			t.Fatalf("after packing: %v", err)
		}
	}
	var subTip string
	for _, l := range subLines {
		if s, ok := strings.CutPrefix(l, "tip "); ok {
			subTip = s
		}
	}
	if subTip == "" {
		t.Fatalf("helper process reported no tip:\n%s", strings.Join(subLines, "\n"))
	}
	if err := readBatch(fresh, plumbing.NewHash(subTip), 0); err != nil {
		t.Fatalf("helper process's history: %v", err)
	}
	gitFsck(t, dir)
}

// TestHelperPackingProcess is the other process of
// TestPackingBesideReadersAndWriters; it does nothing when run directly.
func TestHelperPackingProcess(t *testing.T) {
	dir := os.Getenv("GITREPO_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tip := plumbing.NewHash(os.Getenv("GITREPO_HELPER_BASE"))
	for i := range 40 {
		n := 5000 + i
		if tip, err = tryWriteBatch(r, tip, n); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := r.SetRef("refs/heads/sub", tip); err != nil {
			t.Fatal(err)
		}
		for j := 5000; j <= n; j++ {
			if err := readBatch(r, tip, j); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
	}
	fmt.Printf("tip %s\n", tip)
}

func tryWriteBatch(r *Repo, tip Hash, i int) (h Hash, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	ft := &fatalT{}
	h = writeBatch(ft, r, tip, i)
	return h, nil
}

// fatalT turns t.Fatal in helpers run off the test goroutine into a panic
// that tryWriteBatch recovers as an error.
type fatalT struct{ testing.TB }

func (*fatalT) Helper()                      {}
func (*fatalT) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (*fatalT) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// readBatch reads batch i's files, and the first batch's, at commit h.
func readBatch(r *Repo, h Hash, i int) error {
	for _, n := range []int{0, i} {
		got, err := r.ReadFile(h, batchPath(n, true, ".yaml"))
		if err != nil {
			return fmt.Errorf("read batch %d at %s: %w", n, h, err)
		}
		if string(got) != string(batchYAML(n)) {
			return fmt.Errorf("batch %d at %s reads back different", n, h)
		}
		if _, err := r.CommitInfo(h); err != nil {
			return err
		}
	}
	return nil
}

// TestPackListBesideObjectWrites is the root cause of lookups missing
// packed objects: listing objects/pack while another writer's temporary
// files come and go there (go-git writes every loose object through one)
// must still list every pack.
func TestPackListBesideObjectWrites(t *testing.T) {
	f := newForge(t)
	tip := writeBatches(t, f.repo, ZeroHash, 0, 5)
	if _, err := f.repo.Pack(); err != nil {
		t.Fatal(err)
	}
	gitDir := filepath.Join(f.repo.Dir(), ".git")
	packDir := filepath.Join(gitDir, "objects", "pack")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tmp, err := os.CreateTemp(packDir, "tmp_obj_")
				if err != nil {
					t.Error(err)
					return
				}
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	st := filesystem.NewStorage(newListingFS(gitDir), cache.NewObjectLRUDefault())
	for i := range 1000 {
		st.Reindex()
		if err := st.HasEncodedObject(tip); err != nil {
			t.Fatalf("lookup %d of a packed commit: %v", i, err)
		}
	}
}
