package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/workspace"
)

// The audit benchmark's repository: 5,000 merged and applied batches of 20
// changes (100,000 changes) over 20,000 contacts, built once per process.
const (
	benchBatches  = 5000
	benchChanges  = 20
	benchContacts = 20000
	benchRecord   = "104242"
)

var benchRepo struct {
	once sync.Once
	h    *harness
	err  error
}

func seededRepo(b *testing.B) *harness {
	benchRepo.once.Do(func() {
		dir, err := os.MkdirTemp("", "crmops-bench-")
		if err != nil {
			benchRepo.err = err
			return
		}
		h := &harness{t: b, dir: filepath.Join(dir, "repo"), clock: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), env: map[string]string{}}
		start := time.Now()
		benchRepo.err = seedHistory(h, benchBatches)
		benchRepo.h = h
		fmt.Fprintf(os.Stderr, "seeded %d batches in %s (%s)\n", benchBatches, time.Since(start).Round(time.Millisecond), h.dir)
	})
	if benchRepo.err != nil {
		b.Fatal(benchRepo.err)
	}
	benchRepo.h.t = b
	return benchRepo.h
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
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
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

func gitCLI(b *testing.B, dir string, args ...string) {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// BenchmarkAuditOneRecord is `crmops audit contacts/ID --json` in-process.
func BenchmarkAuditOneRecord(b *testing.B) {
	h := seededRepo(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := h.run("", "audit", "contacts/"+benchRecord, "--json")
		if r.code != 0 || !strings.Contains(r.out, benchRecord) {
			b.Fatalf("audit: exit %d: %s", r.code, r.err)
		}
	}
}

// BenchmarkGitGrepRecordID is the yardstick: git grep -l for the record id.
func BenchmarkGitGrepRecordID(b *testing.B) {
	h := seededRepo(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		gitCLI(b, h.dir, "grep", "-l", "-F", "-e", benchRecord)
	}
}

// BenchmarkProposeOneBatch is `crmops propose` of one new batch of 20 auto
// changes: plan, open the proposal, merge it under the base policy.
func BenchmarkProposeOneBatch(b *testing.B) {
	h := seededRepo(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var lines strings.Builder
		for c := 0; c < benchChanges; c++ {
			fmt.Fprintf(&lines, `{"kind":"enrichment","object":"contacts","record":"%d","op":"set","field":"nickname","before":"","after":"n%d","source":"clay","confidence":0.97}`+"\n", 200000+i*benchChanges+c, i)
		}
		r := h.run(lines.String(), "propose", "--json")
		if r.code != 0 || !strings.Contains(r.out, `"merged"`) {
			b.Fatalf("propose: exit %d: %s %s", r.code, r.out, r.err)
		}
	}
}

// BenchmarkGitCommitOneFile is the yardstick: git add + git commit of one
// new file in the same repository.
func BenchmarkGitCommitOneFile(b *testing.B) {
	h := seededRepo(b)
	// Leave main where crmops expects it (in step with the remote).
	b.Cleanup(func() { gitCLI(b, h.dir, "reset", "-q", "--hard", "origin/main") })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench/commit-%d.txt", i)
		h.writeFile(name, "x\n")
		gitCLI(b, h.dir, "add", name)
		gitCLI(b, h.dir, "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-q", "-m", "bench")
	}
}
