package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
)

// buildBinary compiles crmops once for tests that need a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "crmops")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestApplySurvivesBeingKilledAnywhere kills apply with SIGKILL at random
// moments, again and again, then lets one run finish. Every change must end
// up written to the CRM exactly once, and every receipt complete.
func TestApplySurvivesBeingKilledAnywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and kills a real process")
	}
	const records, perBatch = 300, 10
	bin := buildBinary(t)
	h := newHarness(t)
	h.ok("", "init", h.dir)

	var csv, changes strings.Builder
	csv.WriteString("id,email,jobtitle\n")
	for i := 0; i < records; i++ {
		id := fmt.Sprint(2000 + i)
		fmt.Fprintf(&csv, "%s,p%d@example.com,\n", id, i)
		fmt.Fprintf(&changes, `{"kind":"enrichment","object":"contacts","record":%q,"op":"set","field":"jobtitle","before":"","after":"Title %d","source":"clay","confidence":0.97,"trigger":"import"}`+"\n", id, i)
	}
	h.ok("", "crm", "import", "contacts", h.writeFile("data/contacts.csv", csv.String()))
	pol := strings.Replace(readFile(t, filepath.Join(h.dir, "policies/default.yaml")),
		"max_changes_per_batch: 1000", fmt.Sprintf("max_changes_per_batch: %d", perBatch), 1)
	h.pushToMain("small batches\n", map[string]string{"policies/default.yaml": pol})
	proposed := h.propose(changes.String())
	if len(proposed) != records/perBatch {
		t.Fatalf("proposed %d batches, want %d", len(proposed), records/perBatch)
	}

	rng := rand.New(rand.NewPCG(7, 11))
	kills, finished := 0, false
	for attempt := 0; attempt < 200 && !finished; attempt++ {
		cmd := exec.Command(bin, "--repo", h.dir, "apply")
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Early attempts die young; later ones get longer, so the run ends.
		limit := time.Duration(5+rng.IntN(40+attempt*10)) * time.Millisecond
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("apply failed on its own (not killed): %v\n%s", err, out)
			}
			finished = true
		case <-time.After(limit):
			// Kill crmops itself. The git-receive-pack it talks to stands for
			// the forge's server, which a crash of apply does not take down;
			// it aborts cleanly when its client vanishes.
			_ = cmd.Process.Signal(syscall.SIGKILL)
			if err := <-done; err == nil {
				finished = true // it finished just before the kill
			} else {
				kills++
			}
		}
	}
	if !finished {
		t.Fatalf("apply never completed after %d kills", kills)
	}
	if kills < 5 {
		t.Fatalf("only %d kills landed; the test did not exercise crashes", kills)
	}
	t.Logf("apply killed %d times before a run completed", kills)

	// A last run must find nothing left to do.
	h.expect(0, "", []string{"apply"}, "Nothing to apply")

	db := h.db()
	for i := 0; i < records; i++ {
		id := fmt.Sprint(2000 + i)
		writes := 0
		hist, err := db.History(context.Background(), "contacts", id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range hist {
			if e.Field == "jobtitle" && e.Source == "clay" {
				writes++
			}
		}
		if writes != 1 {
			t.Errorf("contacts/%s jobtitle written %d times, want exactly once", id, writes)
		}
	}
	counts := map[string]int{}
	for _, p := range proposed {
		rc := h.receipt(p.Batch)
		if len(rc.Changes) != perBatch {
			t.Errorf("receipt of %s holds %d results, want %d", p.Batch, len(rc.Changes), perBatch)
		}
		for _, c := range rc.Changes {
			counts[c.Status]++
		}
	}
	if counts[batch.StatusApplied]+counts[batch.StatusAlreadyApplied] != records || counts[batch.StatusStale]+counts[batch.StatusFailed] != 0 {
		t.Errorf("receipt statuses %v; want %d applied or already_applied", counts, records)
	}
	if st, err := os.Stat(filepath.Join(h.dir, ".crmops", "partial")); err == nil && st.IsDir() {
		left, _ := os.ReadDir(filepath.Join(h.dir, ".crmops", "partial"))
		if len(left) != 0 {
			t.Errorf("partial receipts left behind: %d", len(left))
		}
	}
}
