package gitrepo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
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
