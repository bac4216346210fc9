package apply

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/workspace"
)

// benchChanges is the size of the batch the apply benchmarks run: the
// issue's yardstick is 1,000 UPDATE transactions.
const benchChanges = 1000

// BenchmarkApply1000 applies one merged batch of 1,000 field changes
// (reviewed and approved overwrites) to the embedded SQLite CRM: evidence
// check, 10 chunks of CompareAndSet each followed by the saved partial
// receipt, and the receipt's commit. Each iteration merges a new batch
// (untimed) that moves every record's jobtitle one value on.
func BenchmarkApply1000(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	ws, err := workspace.Init(ctx, filepath.Join(dir, "repo"), t0, workspace.InitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(dir, "crm", "crm.db"), sqlite.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	recs := make([]crm.Record, benchChanges)
	for i := range recs {
		recs[i] = crm.Record{ID: fmt.Sprint(100000 + i), Fields: map[string]string{"jobtitle": "title 0", "email": fmt.Sprintf("p%d@example.com", i)}}
	}
	if _, _, err := db.Upsert(ctx, "contacts", recs, "seed"); err != nil {
		b.Fatal(err)
	}
	ev := &fakeEvidence{merged: map[string]*forge.Merged{}}
	clock := t0
	now := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	r := &Runner{WS: ws, Evidence: ev, CRM: db, Now: now, ExecutedBy: "crmops/bench"}
	b.ReportAllocs()
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		created := t0.Add(time.Duration(i) * time.Hour)
		changes := make([]batch.Change, benchChanges)
		for j := range changes {
			changes[j] = batch.Change{ID: fmt.Sprintf("c%d", j+1), Kind: "enrichment", Object: "contacts", Record: recs[j].ID, Op: batch.OpSet,
				Field: "jobtitle", Before: fmt.Sprintf("title %d", i), After: fmt.Sprintf("title %d", i+1),
				Source: "clay", Confidence: 0.95, Trigger: "import", Reason: "Clay row matched by email; the CRM's title is older"}
		}
		id := batch.NewID(created, "enrichment", changes)
		data, err := batch.Encode(&batch.Batch{Version: 1, ID: id, Created: created, Detector: "enrichment", Title: "bench", Changes: changes})
		if err != nil {
			b.Fatal(err)
		}
		benchMerge(b, ws, ev, id, batch.Path(id), data)
		b.StartTimer()
		start := cpuTime()
		rep, err := r.Run(ctx, Options{})
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - start
		b.StopTimer()
		if len(rep.Batches) != 1 || rep.Batches[0].Counts[batch.StatusApplied] != benchChanges {
			b.Fatalf("report %+v, want %d changes applied", rep.Batches, benchChanges)
		}
		b.StartTimer()
	}
	reportCPU(b, cpu)
}

// benchMerge is fixture.merge for a benchmark: the batch proposed by
// alice, approved by bob, merged by crmops.
func benchMerge(b *testing.B, ws *workspace.Workspace, ev *fakeEvidence, id, path string, data []byte) {
	ctx := context.Background()
	base, err := ws.Sync(ctx)
	if err != nil {
		b.Fatal(err)
	}
	alice := gitrepo.Identity{Name: "alice", Email: workspace.LoginEmail("alice"), When: t0}
	head, err := ws.Git.CommitTree(gitrepo.CommitOptions{Base: base, Parents: []gitrepo.Hash{base}, Files: map[string][]byte{path: data}, Message: "propose\n", Author: alice})
	if err != nil {
		b.Fatal(err)
	}
	who := gitrepo.Identity{Name: "crmops", Email: workspace.LoginEmail("crmops"), When: t0}
	mc, err := ws.UpdateBase(ctx, func(at gitrepo.Hash) (gitrepo.Hash, error) {
		return ws.Git.CommitTree(gitrepo.CommitOptions{Base: at, Parents: []gitrepo.Hash{at, head}, Files: map[string][]byte{path: data},
			Message: "Merge batch " + id + "\n\nCrmops-Batch: " + id + "\n", Author: who})
	})
	if err != nil {
		b.Fatal(err)
	}
	ev.merged[id] = &forge.Merged{MergeCommit: mc.String(), Base: base.String(), Head: head.String(), PullRequest: 7,
		Author: "alice", Decision: batch.ModeApproved, Approvals: []forge.Approval{approval("bob", t0.Add(time.Minute))}, Files: []string{path}}
}

// BenchmarkSQLiteUpdate1000 is the yardstick: 1,000 UPDATE transactions
// through database/sql on the same driver, in the same journal mode, as
// the embedded CRM opens its file.
func BenchmarkSQLiteUpdate1000(b *testing.B) {
	ctx := context.Background()
	dsn := "file:" + filepath.Join(b.TempDir(), "y.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)"); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < benchChanges; i++ {
		if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?)", fmt.Sprint(100000+i), "title 0"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, cpuTime()-start) }()
	for i := 0; i < b.N; i++ {
		for j := 0; j < benchChanges; j++ {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, "UPDATE t SET v = ? WHERE id = ?", fmt.Sprintf("title %d", i+1), fmt.Sprint(100000+j)); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
