package gitrepo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"

	"github.com/crmops/crmops/internal/batch"
)

// seedBatches is how many merged batches the push benchmarks seed: each is a
// proposal commit, a merge commit and a receipt commit, so 5,000 batches make
// 10,000 commits on main's first-parent line and 15,000 in all. Override with
// GITREPO_SEED_BATCHES for a quicker run.
func seedBatches(tb testing.TB) int {
	if s := os.Getenv("GITREPO_SEED_BATCHES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			tb.Fatal(err)
		}
		return n
	}
	return 5000
}

// batchPath places batch i under proposals/, flat or sharded by month as the
// SPEC allows (100 batches a month here).
func batchPath(i int, sharded bool, suffix string) string {
	name := fmt.Sprintf("20261124T%06dZ-enrichment-%06x%s", i, i*7919, suffix)
	if sharded {
		return fmt.Sprintf("proposals/%04d-%02d/%s", 2026+i/1200, 1+(i/100)%12, name)
	}
	return "proposals/" + name
}

// seedHistory writes n batches' worth of history (proposal, merge, receipt)
// onto main with CommitTree and returns main's tip. It is deterministic:
// seeding two repositories yields the same hashes, which lets the benchmark
// give the local repository and its remote the same history without
// transferring it.
func seedHistory(tb testing.TB, r *Repo, n int, sharded bool) Hash {
	tb.Helper()
	tick := 0
	next := func() Identity { tick++; return who(tick) }
	mustCommit := func(o CommitOptions) Hash {
		h, err := r.CommitTree(o)
		if err != nil {
			tb.Fatal(err)
		}
		return h
	}
	main := mustCommit(CommitOptions{
		Files:   map[string][]byte{"crmops.yaml": []byte("version: 1\n"), "policies/default.yaml": []byte("default: review\n")},
		Message: "crmops init\n", Author: next(),
	})
	for i := range n {
		batch := []byte(fmt.Sprintf("version: 1\nbatch: %d\nchanges:\n  - id: c1\n    record: \"%d\"\n", i, 1000+i))
		p := mustCommit(CommitOptions{
			Base: main, Parents: []Hash{main}, Files: map[string][]byte{batchPath(i, sharded, ".yaml"): batch},
			Message: fmt.Sprintf("Propose batch %d\n", i), Author: next(),
		})
		m := mustCommit(CommitOptions{
			Base: p, Parents: []Hash{main, p},
			Message: fmt.Sprintf("Merge crmops/%d\n\nCrmops-Decision: auto\n", i), Author: next(),
		})
		main = mustCommit(CommitOptions{
			Base: m, Parents: []Hash{m}, Files: map[string][]byte{batchPath(i, sharded, ".receipt.yaml"): []byte("status: applied\n")},
			Message: fmt.Sprintf("Receipt for batch %d\n\n[skip actions]\n", i), Author: next(),
		})
	}
	return main
}

// seededForge returns a working repository and its bare remote that both hold
// the seeded history on main, as after a long life of proposals and receipts.
// The history is written locally and reaches the remote by one Push, as a
// first push of an imported repository would; the remote then holds it in a
// pack, as a real forge does.
func seededForge(b *testing.B, sharded bool) (f forge, main Hash) {
	b.Helper()
	n := seedBatches(b)
	f = newForge(b)
	start := time.Now()
	main = seedHistory(b, f.repo, n, sharded)
	if err := f.repo.SetRef("refs/heads/main", main); err != nil {
		b.Fatal(err)
	}
	seeded := time.Since(start)
	start = time.Now()
	if err := f.repo.Push(context.Background(), "origin", "refs/heads/main:refs/heads/main"); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d batches (%d commits, sharded=%v) in %v; first push of all of it took %v",
		n, 3*n+1, sharded, seeded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return f, main
}

// proposeOne is the unit the product promises is fast: write one batch on
// main and push it as a new branch. It adds the time of each half to split.
func proposeOne(b *testing.B, f forge, main Hash, i int, split *[2]time.Duration, push func(branch string) error) {
	start := time.Now()
	h, err := f.repo.CommitTree(CommitOptions{
		Base: main, Parents: []Hash{main},
		Files:   map[string][]byte{fmt.Sprintf("proposals/bench-%d.yaml", i): []byte("version: 1\n")},
		Message: "Propose bench\n", Author: who(1 << 20),
	})
	if err != nil {
		b.Fatal(err)
	}
	branch := fmt.Sprintf("refs/heads/crmops/bench-%d", i)
	if err := f.repo.SetRef(branch, h); err != nil {
		b.Fatal(err)
	}
	mid := time.Now()
	if err := push(branch); err != nil {
		b.Fatal(err)
	}
	split[0] += mid.Sub(start)
	split[1] += time.Since(mid)
}

func reportSplit(b *testing.B, split [2]time.Duration, n int) {
	b.ReportMetric(float64(split[0].Microseconds())/1000/float64(n), "commit-ms/op")
	b.ReportMetric(float64(split[1].Microseconds())/1000/float64(n), "push-ms/op")
}

// BenchmarkPushNewBranch measures CommitTree plus Push of one new proposal
// branch against a remote holding the seeded history.
func BenchmarkPushNewBranch(b *testing.B) {
	for _, sharded := range []bool{false, true} {
		b.Run(fmt.Sprintf("sharded=%v", sharded), func(b *testing.B) {
			f, main := seededForge(b, sharded)
			ctx := context.Background()
			var split [2]time.Duration
			n := 0
			for ; b.Loop(); n++ {
				proposeOne(b, f, main, n, &split, func(branch string) error {
					return f.repo.Push(ctx, "origin", branch+":"+branch)
				})
			}
			reportSplit(b, split, n)
		})
	}
}

// BenchmarkPushNewBranchGoGit is the same operation through go-git's
// Remote.PushContext, the baseline Push replaces.
func BenchmarkPushNewBranchGoGit(b *testing.B) {
	for _, sharded := range []bool{false, true} {
		b.Run(fmt.Sprintf("sharded=%v", sharded), func(b *testing.B) {
			f, main := seededForge(b, sharded)
			ctx := context.Background()
			var split [2]time.Duration
			n := 0
			for ; b.Loop(); n++ {
				proposeOne(b, f, main, n, &split, func(branch string) error {
					return f.repo.Git().PushContext(ctx, &git.PushOptions{
						RemoteName: "origin",
						RefSpecs:   []config.RefSpec{config.RefSpec(branch + ":" + branch)},
					})
				})
			}
			reportSplit(b, split, n)
		})
	}
}

// BenchmarkFetchNewBranch measures a clone of the seeded repository fetching
// after one new proposal branch appeared on the remote, through go-git's
// fetch (flat layout, the worst case for pack sizes).
func BenchmarkFetchNewBranch(b *testing.B) {
	f, main := seededForge(b, false)
	ctx := context.Background()
	start := time.Now()
	clone, err := Clone(ctx, f.remote, filepath.Join(b.TempDir(), "clone"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("cloned in %v", time.Since(start).Round(time.Millisecond))
	var split [2]time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		proposeOne(b, f, main, i, &split, func(branch string) error {
			return f.repo.Push(ctx, "origin", branch+":"+branch)
		})
		b.StartTimer()
		if err := clone.Fetch(ctx, "origin"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdvanceBranch moves a checked-out main by one receipt in a work
// tree of 10,000 files.
func BenchmarkAdvanceBranch(b *testing.B) {
	r, err := Init(filepath.Join(b.TempDir(), "work"), "")
	if err != nil {
		b.Fatal(err)
	}
	files := map[string][]byte{}
	for i := range 10000 {
		files[batchPath(i, false, ".yaml")] = []byte(strconv.Itoa(i))
	}
	tip, err := r.CommitTree(CommitOptions{Files: files, Message: "seed\n", Author: who(0)})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.AdvanceBranch("main", ZeroHash, tip); err != nil {
		b.Fatal(err)
	}
	var split [2]time.Duration
	n := 0
	for ; b.Loop(); n++ {
		start := time.Now()
		next, err := r.CommitTree(CommitOptions{
			Base: tip, Parents: []Hash{tip}, Author: who(n + 1), Message: "receipt\n",
			Files: map[string][]byte{batchPath(n, false, ".receipt.yaml"): []byte("ok")},
		})
		if err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := r.AdvanceBranch("main", tip, next); err != nil {
			b.Fatal(err)
		}
		split[0] += mid.Sub(start)
		split[1] += time.Since(mid)
		tip = next
	}
	b.ReportMetric(float64(split[0].Microseconds())/1000/float64(n), "commit-ms/op")
	b.ReportMetric(float64(split[1].Microseconds())/1000/float64(n), "advance-ms/op")
}

// largeDir is a repository whose proposals/ holds 10,000 files in one
// directory, the flat worst case.
func largeDir(b *testing.B) (*Repo, Hash) {
	r, err := Init(filepath.Join(b.TempDir(), "work"), "")
	if err != nil {
		b.Fatal(err)
	}
	files := map[string][]byte{}
	for i := range 10000 {
		files[batchPath(i, false, ".yaml")] = []byte(strconv.Itoa(i))
	}
	tip, err := r.CommitTree(CommitOptions{Files: files, Message: "seed\n", Author: who(0)})
	if err != nil {
		b.Fatal(err)
	}
	return r, tip
}

// BenchmarkCommitTreeLargeDir adds one file to a directory of 10,000.
func BenchmarkCommitTreeLargeDir(b *testing.B) {
	r, tip := largeDir(b)
	for i := 0; b.Loop(); i++ {
		_, err := r.CommitTree(CommitOptions{
			Base: tip, Parents: []Hash{tip}, Author: who(i + 1), Message: "add\n",
			Files: map[string][]byte{batchPath(i, false, ".receipt.yaml"): []byte("ok")},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChangedPathsLargeDir diffs two commits that differ in one file of
// 10,000, with a fresh Repo each time so no tree is cached.
func BenchmarkChangedPathsLargeDir(b *testing.B) {
	r, tip := largeDir(b)
	next, err := r.CommitTree(CommitOptions{
		Base: tip, Parents: []Hash{tip}, Author: who(1), Message: "add\n",
		Files: map[string][]byte{"proposals/new.yaml": []byte("new")},
	})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		cold, err := Open(r.Dir())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		paths, err := cold.ChangedPaths(tip, next)
		if err != nil || len(paths) != 1 {
			b.Fatalf("ChangedPaths = %v, %v", paths, err)
		}
	}
}

// crmopsBatches is the number of batches the repository-size benchmarks
// write: CRMOPS_BENCH_BATCHES, default 5,000.
func crmopsBatches(b *testing.B) int {
	return envInt(b, "CRMOPS_BENCH_BATCHES", 5000)
}

func envInt(b *testing.B, name string, def int) int {
	if s := os.Getenv(name); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number", name, s)
		}
		return n
	}
	return def
}

// crmopsHistory writes history the way crmops does and cmd/crmops's
// benchmark seeds it: per batch of 20 changes a proposal commit, a merge
// commit and a receipt commit, the files under proposals/<YYYY-MM>/, a batch
// every 90 minutes. Every pushEvery batches main is pushed, as crmops pushes
// each merge and receipt, so packing runs as in real use.
type crmopsHistory struct {
	r         *Repo
	rng       *rand.Rand
	at        time.Time
	tip       Hash
	pushEvery int
	pushes    int
}

func (h *crmopsHistory) batch(b *testing.B, i int) {
	h.at = h.at.Add(90 * time.Minute)
	bt := &batch.Batch{Version: 1, Created: h.at, Detector: "enrichment", Title: "enrichment fills"}
	for c := 0; c < 20; c++ {
		bt.Changes = append(bt.Changes, batch.Change{
			ID: fmt.Sprintf("c%d", c+1), Kind: "enrichment", Object: "contacts",
			Record: fmt.Sprint(100000 + h.rng.IntN(20000)), Op: batch.OpSet,
			Field: []string{"jobtitle", "phone", "industry", "city"}[c%4], Before: "",
			After: fmt.Sprintf("value %d-%d", i, c), Source: "clay", Confidence: 0.95, Trigger: "import",
			Reason: "Clay row matched by email; field empty in CRM",
		})
	}
	bt.ID = batch.NewID(h.at, bt.Detector, bt.Changes)
	path := batch.Path(bt.ID)
	data, err := batch.Encode(bt)
	if err != nil {
		b.Fatal(err)
	}
	bot := func(when time.Time) Identity {
		return Identity{Name: "crmops", Email: "crmops@users.noreply.crmops", When: when}
	}
	var parents []Hash
	if !h.tip.IsZero() {
		parents = []Hash{h.tip}
	}
	must := func(c Hash, err error) Hash {
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	head := must(h.r.CommitTree(CommitOptions{Base: h.tip, Parents: parents, Files: map[string][]byte{path: data},
		Message: "Propose " + bt.ID + "\n", Author: bot(h.at)}))
	merge := must(h.r.CommitTree(CommitOptions{Base: h.tip, Parents: append(parents, head), Files: map[string][]byte{path: data},
		Message: fmt.Sprintf("Merge batch %s\n\nCrmops-Batch: %s\nCrmops-Decision: auto\nCrmops-Rule: enrichment-fill-empty\n", bt.ID, bt.ID), Author: bot(h.at)}))
	rc := &batch.Receipt{Version: 1, Batch: bt.ID, ExecutedBy: "crmops/bench", MergeCommit: merge.String(),
		Approval: batch.Approval{Mode: batch.ModeAuto, Policy: "policies/default.yaml", Rules: []string{"enrichment-fill-empty"}}}
	for _, c := range bt.Changes {
		rc.Changes = append(rc.Changes, batch.ChangeResult{ID: c.ID, Status: batch.StatusApplied, After: c.After, At: h.at.Add(time.Minute)})
	}
	rdata, err := batch.Encode(rc)
	if err != nil {
		b.Fatal(err)
	}
	h.tip = must(h.r.CommitTree(CommitOptions{Base: merge, Parents: []Hash{merge},
		Files: map[string][]byte{batch.ReceiptPath(path): rdata}, Message: "Apply batch " + bt.ID + " [skip actions]\n",
		Author: bot(h.at.Add(time.Minute))}))
	if h.pushEvery > 0 && (i+1)%h.pushEvery == 0 {
		h.push(b)
	}
}

func (h *crmopsHistory) push(b *testing.B) {
	if err := h.r.SetRef("refs/heads/main", h.tip); err != nil {
		b.Fatal(err)
	}
	if err := h.r.Push(context.Background(), "origin", "refs/heads/main:refs/heads/main"); err != nil {
		b.Fatal(err)
	}
	h.pushes++
}

// duBytes is the disk space below dir as du counts it: allocated blocks,
// so a 200-byte loose object costs its 4 KiB block.
func duBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// gitGCSize copies the git directory gitDir and runs plain git gc on the
// copy: the yardstick for what the same history takes packed by git.
func gitGCSize(b *testing.B, gitDir string) (int64, time.Duration) {
	dst := filepath.Join(b.TempDir(), "gc.git")
	if out, err := exec.Command("cp", "-a", gitDir, dst).CombinedOutput(); err != nil {
		b.Fatalf("copy %s: %v\n%s", gitDir, err, out)
	}
	start := time.Now()
	cmd := exec.Command("git", "--git-dir="+dst, "gc", "--quiet")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git gc: %v\n%s", err, out)
	}
	return duBytes(b, dst), time.Since(start)
}

// peakRSS is the process's peak resident set size (VmHWM) in bytes;
// resetPeakRSS starts a new peak, so a phase can be measured on its own.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuTime is the CPU time used by this process and the children it has
// waited for (git receive-pack): on a shared machine it measures work where
// wall time measures the neighbours.
func cpuTime() time.Duration {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(children.Utime) + tv(children.Stime)
}

func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

const mib = 1 << 20

// BenchmarkRepoSize writes CRMOPS_BENCH_BATCHES batches as crmops does,
// pushing main every CRMOPS_BENCH_PUSH_EVERY batches (default 10) to a
// local bare remote, and reports the size of the checkout's .git and of the
// remote next to plain git gc of a copy of each, with the seeding time and
// peak memory. Sub-benchmark autopack=off is the same without packing, the
// figures before it. Run with -benchtime=1x.
func BenchmarkRepoSize(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is needed for the path remote and as the yardstick")
	}
	n := crmopsBatches(b)
	every := envInt(b, "CRMOPS_BENCH_PUSH_EVERY", 10)
	modes := []bool{true}
	if os.Getenv("CRMOPS_BENCH_BASELINE") != "" {
		modes = append(modes, false)
	}
	for _, autopack := range modes {
		b.Run(fmt.Sprintf("autopack=%v", autopack), func(b *testing.B) {
			for b.Loop() {
				f := newForge(b)
				f.repo.noAutoPack = !autopack
				h := &crmopsHistory{r: f.repo, rng: rand.New(rand.NewPCG(1, 2)), at: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), pushEvery: every}
				runtime.GC()
				resetPeakRSS()
				cpu0 := cpuTime()
				start := time.Now()
				for i := range n {
					h.batch(b, i)
				}
				h.push(b)
				seed := time.Since(start)
				cpu := cpuTime() - cpu0
				peak := peakRSS()
				gitDir := filepath.Join(f.repo.Dir(), ".git")
				local, remote := duBytes(b, gitDir), duBytes(b, f.remote)
				localGC, gcTime := gitGCSize(b, gitDir)
				remoteGC, _ := gitGCSize(b, f.remote)
				b.ReportMetric(float64(local)/mib, "checkout-MiB")
				b.ReportMetric(float64(localGC)/mib, "checkout-gitgc-MiB")
				b.ReportMetric(float64(local)/float64(localGC), "checkout-x-gitgc")
				b.ReportMetric(float64(remote)/mib, "remote-MiB")
				b.ReportMetric(float64(remoteGC)/mib, "remote-gitgc-MiB")
				b.ReportMetric(float64(remote)/float64(remoteGC), "remote-x-gitgc")
				b.ReportMetric(seed.Seconds(), "seed-s")
				b.ReportMetric(cpu.Seconds(), "seed-cpu-s")
				b.ReportMetric(float64(peak)/mib, "peak-MiB")
				b.Logf("%d batches, %d pushes: checkout %d loose + %d packs, remote %d loose + %d packs; git gc of the checkout took %v",
					n, h.pushes, countLooseAll(b, gitDir), len(mustPacks(b, gitDir)), countLooseAll(b, f.remote), len(mustPacks(b, f.remote)), gcTime.Round(time.Millisecond))
			}
		})
	}
}

func countLooseAll(b *testing.B, gitDir string) int {
	l, err := listLoose(filepath.Join(gitDir, "objects"))
	if err != nil {
		b.Fatal(err)
	}
	return len(l)
}

func mustPacks(b *testing.B, gitDir string) []packFile {
	p, err := listPacks(filepath.Join(gitDir, "objects"))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkFirstPush pushes a CRMOPS_BENCH_BATCHES-batch history, written
// locally without pushing, to an empty bare remote in one push, and reports
// the push's peak memory (VmHWM, reset after seeding). With
// CRMOPS_BENCH_ENCODER=go-git it encodes the same objects with go-git's
// packfile.Encoder (window 10) into a discarding writer instead, as Push did
// before it streamed. Run each encoder in its own process, with
// -benchtime=1x: a process's resident memory does not shrink back between
// phases.
func BenchmarkFirstPush(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is needed for the path remote")
	}
	n := crmopsBatches(b)
	enc := os.Getenv("CRMOPS_BENCH_ENCODER")
	if enc == "" {
		enc = "streaming"
	}
	f := newForge(b)
	f.repo.noAutoPack = true
	h := &crmopsHistory{r: f.repo, rng: rand.New(rand.NewPCG(1, 2)), at: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	for i := range n {
		h.batch(b, i)
	}
	if err := f.repo.SetRef("refs/heads/main", h.tip); err != nil {
		b.Fatal(err)
	}
	// Pack the local history first, as auto-packing would have.
	if _, err := f.repo.Pack(); err != nil {
		b.Fatal(err)
	}
	b.Run("encoder="+enc, func(b *testing.B) {
		for b.Loop() {
			r, err := Open(f.repo.Dir())
			if err != nil {
				b.Fatal(err)
			}
			r.noAutoPack = true
			remote := filepath.Join(b.TempDir(), "remote.git")
			if err := InitBare(remote); err != nil {
				b.Fatal(err)
			}
			if err := r.git.DeleteRemote("origin"); err != nil {
				b.Fatal(err)
			}
			if err := r.AddRemote("origin", remote); err != nil {
				b.Fatal(err)
			}
			debug.FreeOSMemory()
			resetPeakRSS()
			before := peakRSS()
			start := time.Now()
			switch enc {
			case "streaming":
				if err := r.Push(context.Background(), "origin", "refs/heads/main:refs/heads/main"); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(duBytes(b, remote))/mib, "remote-MiB")
			case "go-git":
				objs, err := r.objectsToSend([]Hash{h.tip}, nil)
				if err != nil {
					b.Fatal(err)
				}
				hashes := make([]Hash, len(objs))
				for i, o := range objs {
					hashes[i] = o.hash
				}
				cw := &countingDiscard{}
				if _, err := packfile.NewEncoder(cw, r.storer, false).Encode(hashes, 10); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(cw.n)/mib, "pack-MiB")
			default:
				b.Fatalf("CRMOPS_BENCH_ENCODER=%q: want streaming or go-git", enc)
			}
			b.ReportMetric(time.Since(start).Seconds(), "push-s")
			b.ReportMetric(float64(before)/mib, "rss-before-MiB")
			b.ReportMetric(float64(peakRSS())/mib, "peak-MiB")
		}
	})
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkMaybePackCheck is the cost MaybePack adds to every push when
// there is nothing to pack: a few directory reads.
func BenchmarkMaybePackCheck(b *testing.B) {
	f := newForge(b)
	tip := ZeroHash
	h := &crmopsHistory{r: f.repo, rng: rand.New(rand.NewPCG(1, 2)), at: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	for i := range 50 {
		h.batch(b, i)
	}
	_ = tip
	for b.Loop() {
		if res, err := f.repo.MaybePack(); err != nil || res.Packed {
			b.Fatalf("MaybePack = %+v, %v", res, err)
		}
	}
}
