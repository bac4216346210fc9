package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/workspace"
)

// The benchmarks' repository: merged and applied batches of 20 changes over
// 20,000 contacts, built once per process. CRMOPS_BENCH_BATCHES sets the
// number of batches (default 5,000); CRMOPS_BENCH_DIR keeps the seeded
// repository in that folder and reuses it when it was seeded with the same
// number, since 20,000 batches take minutes to seed.
const (
	benchChanges  = 20
	benchContacts = 20000
	benchRecord   = "104242"
)

// seedStart is when the seeded history begins; a batch follows every 90
// minutes.
var seedStart = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

var benchRepo struct {
	once    sync.Once
	h       *harness
	batches int
	err     error
}

func seededRepo(b *testing.B) *harness {
	benchRepo.once.Do(func() {
		benchRepo.batches, benchRepo.h, benchRepo.err = openSeeded(b)
	})
	if benchRepo.err != nil {
		b.Fatal(benchRepo.err)
	}
	benchRepo.h.t = b
	return benchRepo.h
}

func openSeeded(b *testing.B) (int, *harness, error) {
	batches := 5000
	if v := os.Getenv("CRMOPS_BENCH_BATCHES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, nil, fmt.Errorf("CRMOPS_BENCH_BATCHES=%q: want a positive number", v)
		}
		batches = n
	}
	dir := os.Getenv("CRMOPS_BENCH_DIR")
	if dir == "" {
		tmp, err := os.MkdirTemp("", "crmops-bench-")
		if err != nil {
			return 0, nil, err
		}
		dir = tmp
	}
	h := &harness{t: b, dir: filepath.Join(dir, "repo"), clock: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), env: map[string]string{}}
	// The marker is written only after a complete seeding, so an
	// interrupted one is started again.
	marker := filepath.Join(dir, fmt.Sprintf("seeded-%d", batches))
	// What the benchmarks do happens after the seeded history, as it would
	// in a real repository: history walks that go newest first then meet
	// the seeded commits where they should, not thousands of commits in.
	after := seedStart.Add(time.Duration(batches)*90*time.Minute + 24*time.Hour)
	if _, err := os.Stat(marker); err == nil {
		fmt.Fprintf(os.Stderr, "reusing %d seeded batches (%s)\n", batches, h.dir)
		h.clock = after
		return batches, h, nil
	}
	if err := os.RemoveAll(h.dir); err != nil {
		return 0, nil, err
	}
	start := time.Now()
	if err := seedHistory(h, batches); err != nil {
		return 0, nil, err
	}
	fmt.Fprintf(os.Stderr, "seeded %d batches in %s (%s)\n", batches, time.Since(start).Round(time.Millisecond), h.dir)
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		return 0, nil, err
	}
	h.clock = after
	return batches, h, nil
}

// seedHistory writes the history crmops itself would have written — a proposal
// commit, a merge commit with the audit trailers, and a receipt commit per
// batch — straight through gitrepo, then pushes it and checks it out.
func seedHistory(h *harness, batches int) error {
	if r := h.run("", "init", h.dir); r.code != 0 {
		return fmt.Errorf("init: %s", r.err)
	}
	ws, err := workspace.Open(h.dir, "")
	if err != nil {
		return err
	}
	ctx := context.Background()
	start, err := ws.Git.Ref(gitrepo.BranchRef("main"))
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	tip := start
	at := seedStart
	bot := func(when time.Time) gitrepo.Identity {
		return gitrepo.Identity{Name: "crmops", Email: "crmops@users.noreply.crmops", When: when}
	}
	for i := 0; i < batches; i++ {
		at = at.Add(90 * time.Minute)
		b := &batch.Batch{Version: 1, Created: at, Detector: "enrichment", Title: "enrichment fills"}
		for c := 0; c < benchChanges; c++ {
			b.Changes = append(b.Changes, batch.Change{
				ID: fmt.Sprintf("c%d", c+1), Kind: "enrichment", Object: "contacts",
				Record: fmt.Sprint(100000 + rng.IntN(benchContacts)), Op: batch.OpSet,
				Field: []string{"jobtitle", "phone", "industry", "city"}[c%4], Before: "",
				After: fmt.Sprintf("value %d-%d", i, c), Source: "clay", Confidence: 0.95, Trigger: "import",
				Reason: "Clay row matched by email; field empty in CRM",
			})
		}
		b.ID = batch.NewID(at, b.Detector, b.Changes)
		path := batch.Path(b.ID)
		data, err := batch.Encode(b)
		if err != nil {
			return err
		}
		head, err := ws.Git.CommitTree(gitrepo.CommitOptions{Base: tip, Parents: []gitrepo.Hash{tip},
			Files: map[string][]byte{path: data}, Message: "Propose " + b.ID + "\n", Author: bot(at), Committer: bot(at)})
		if err != nil {
			return err
		}
		merge, err := ws.Git.CommitTree(gitrepo.CommitOptions{Base: tip, Parents: []gitrepo.Hash{tip, head},
			Files: map[string][]byte{path: data}, Author: bot(at), Committer: bot(at),
			Message: fmt.Sprintf("Merge batch %s\n\nCrmops-Batch: %s\nCrmops-Decision: auto\nCrmops-Policy: policies/default.yaml@%s\nCrmops-Rule: enrichment-fill-empty\n", b.ID, b.ID, start)})
		if err != nil {
			return err
		}
		rc := &batch.Receipt{Version: 1, Batch: b.ID, ExecutedBy: "crmops/bench", MergeCommit: merge.String(),
			Approval: batch.Approval{Mode: batch.ModeAuto, Policy: "policies/default.yaml@" + start.String(), Rules: []string{"enrichment-fill-empty"}}}
		for _, c := range b.Changes {
			rc.Changes = append(rc.Changes, batch.ChangeResult{ID: c.ID, Status: batch.StatusApplied, After: c.After, At: at.Add(time.Minute)})
		}
		rdata, err := batch.Encode(rc)
		if err != nil {
			return err
		}
		tip, err = ws.Git.CommitTree(gitrepo.CommitOptions{Base: merge, Parents: []gitrepo.Hash{merge},
			Files: map[string][]byte{batch.ReceiptPath(path): rdata}, Message: "Apply batch " + b.ID + " [skip actions]\n",
			Author: bot(at.Add(time.Minute)), Committer: bot(at.Add(time.Minute))})
		if err != nil {
			return err
		}
	}
	if err := ws.Git.AdvanceBranch("main", start, tip); err != nil {
		return err
	}
	if err := ws.Git.Push(ctx, "origin", "refs/heads/main:refs/heads/main"); err != nil {
		return err
	}
	_, err = ws.Sync(ctx)
	return err
}

// gitCLI runs git in dir and returns the CPU time it used.
func gitCLI(b *testing.B, dir string, args ...string) time.Duration {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return cpuOf(cmd)
}

// reportCPU reports CPU time per operation beside ns/op: the machine is
// shared, and CPU time is what compares crmops with its yardstick there.
func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkAuditOneRecord is `crmops audit contacts/ID --json` in-process.
func BenchmarkAuditOneRecord(b *testing.B) {
	h := seededRepo(b)
	b.ResetTimer()
	start := cpuUsed()
	for i := 0; i < b.N; i++ {
		r := h.run("", "audit", "contacts/"+benchRecord, "--json")
		if r.code != 0 || !strings.Contains(r.out, benchRecord) {
			b.Fatalf("audit: exit %d: %s", r.code, r.err)
		}
	}
	reportCPU(b, cpuUsed()-start)
}

// BenchmarkGitGrepRecordID is the yardstick: git grep -l for the record id.
func BenchmarkGitGrepRecordID(b *testing.B) {
	h := seededRepo(b)
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		cpu += gitCLI(b, h.dir, "grep", "-l", "-F", "-e", benchRecord)
	}
	reportCPU(b, cpu)
}

// BenchmarkProposeOneBatch is `crmops propose` of one new batch of 20 auto
// changes: plan, open the proposal, merge it under the base policy.
func BenchmarkProposeOneBatch(b *testing.B) {
	h := seededRepo(b)
	// A reused repository holds the batches of earlier runs: records of
	// their own keep each run's proposals new.
	run := time.Now().UnixMilli()
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var lines strings.Builder
		for c := 0; c < benchChanges; c++ {
			fmt.Fprintf(&lines, `{"kind":"enrichment","object":"contacts","record":"9%d%06d","op":"set","field":"jobtitle","before":"","after":"n%d","source":"clay","confidence":0.97}`+"\n", run, i*benchChanges+c, i)
		}
		start := cpuUsed()
		r := h.run(lines.String(), "propose", "--json")
		cpu += cpuUsed() - start
		if r.code != 0 || !strings.Contains(r.out, `"merged"`) {
			b.Fatalf("propose: exit %d: %s %s", r.code, r.out, r.err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkGitCommitOneFile is the yardstick: git add + git commit of one
// new file in the same repository.
func BenchmarkGitCommitOneFile(b *testing.B) {
	h := seededRepo(b)
	// Leave main where crmops expects it (in step with the remote).
	b.Cleanup(func() { gitCLI(b, h.dir, "reset", "-q", "--hard", "origin/main") })
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench/commit-%d.txt", i)
		h.writeFile(name, "x\n")
		cpu += gitCLI(b, h.dir, "add", name)
		cpu += gitCLI(b, h.dir, "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "bench")
	}
	reportCPU(b, cpu)
}

// baseBatchFiles counts the batch files on the base branch, as git lists
// them.
func baseBatchFiles(b *testing.B, dir string) int {
	b.Helper()
	cmd := exec.Command("git", "ls-tree", "-r", "--name-only", "refs/remotes/origin/main", "--", batch.Dir+"/")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("git ls-tree: %v", err)
	}
	n := 0
	for _, p := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if batch.IsBatchFile(p) {
			n++
		}
	}
	return n
}

// BenchmarkReviewListAll is `crmops review list --all --json` in-process,
// as it runs after an earlier listing: every batch on the base branch with
// its change count and decision, the folders listed before read from
// review's cache.
func BenchmarkReviewListAll(b *testing.B) { benchReviewList(b, false) }

// BenchmarkReviewListAllCold is the same with no cache: every batch file
// and receipt read from git and decoded, as the first listing of a clone.
func BenchmarkReviewListAllCold(b *testing.B) { benchReviewList(b, true) }

func benchReviewList(b *testing.B, cold bool) {
	h := seededRepo(b)
	want := baseBatchFiles(b, h.dir)
	if want < benchRepo.batches {
		b.Fatalf("the base branch holds %d batch files, want at least %d", want, benchRepo.batches)
	}
	ws, err := workspace.Open(h.dir, "")
	if err != nil {
		b.Fatal(err)
	}
	cache := ws.CacheDir("review-list")
	var cpu time.Duration
	list := func() {
		if cold {
			if err := os.RemoveAll(cache); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := cpuUsed()
		r := h.run("", "review", "list", "--all", "--json")
		cpu += cpuUsed() - start
		b.StopTimer()
		if r.code != 0 {
			b.Fatalf("review list: exit %d: %s", r.code, r.err)
		}
		var items []struct {
			Batch, Decision, State string
			Changes                int
		}
		if err := json.Unmarshal([]byte(r.out), &items); err != nil {
			b.Fatalf("review list --json: %v", err)
		}
		onBase, applied := 0, 0
		for _, it := range items {
			if it.Changes != benchChanges {
				b.Fatalf("batch %s: %d changes, want %d", it.Batch, it.Changes, benchChanges)
			}
			if it.State != "open" {
				onBase++
			}
			if it.State == "applied" && it.Decision == "auto" {
				applied++
			}
		}
		if onBase != want || applied < benchRepo.batches {
			b.Fatalf("review list --all: %d batches on the base branch (%d applied auto), want %d (at least %d applied auto)", onBase, applied, want, benchRepo.batches)
		}
	}
	b.StopTimer()
	list()
	cpu = 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list()
	}
	reportCPU(b, cpu)
}

// BenchmarkGitCatFileAllFiles is the yardstick for review list --all:
// git listing every file under proposals/ on the base commit and printing
// each one's content.
func BenchmarkGitCatFileAllFiles(b *testing.B) {
	h := seededRepo(b)
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("sh", "-c", "git ls-tree -r --object-only refs/remotes/origin/main -- "+batch.Dir+"/ | git cat-file --batch >/dev/null")
		cmd.Dir = h.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git ls-tree | git cat-file: %v\n%s", err, out)
		}
		cpu += cpuOf(cmd)
	}
	reportCPU(b, cpu)
}
