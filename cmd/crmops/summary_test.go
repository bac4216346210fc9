package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
)

// detect's job summary says once what each detector found and proposed,
// and the totals once: not the same count on every batch's row.
func TestDetectJobSummaryCountsEachDetectorOnce(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	h.importCSV("contacts", contactsCSV)
	cfg := readFile(t, filepath.Join(h.dir, "crmops.yaml"))
	if !strings.Contains(cfg, "detectors: {}\n") {
		t.Fatalf("crmops.yaml has no detectors: {}:\n%s", cfg)
	}
	cfg = strings.Replace(cfg, "detectors: {}\n", "detectors:\n  dedupe: {}\n", 1)
	h.pushToMain("configure dedupe\n", map[string]string{"crmops.yaml": cfg})
	summary := filepath.Join(t.TempDir(), "summary.md")
	h.env["GITHUB_STEP_SUMMARY"] = summary
	var got []proposed
	h.jsonOut(&got, "", "detect", "--json")
	md := readFile(t, summary)
	changes := 0
	for _, p := range got {
		changes += p.Changes
	}
	for _, want := range []string{
		"## crmops detect\n",
		"| Detector | Found | Proposed | Batches | Not proposed | Denied | Skipped rows |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if len(got) == 0 {
		if !strings.Contains(md, "| dedupe | 0 | 0 | 0 |") || !strings.Contains(md, "Nothing new to propose.") {
			t.Errorf("a run that found nothing:\n%s", md)
		}
		return
	}
	row := fmt.Sprintf("\n| dedupe | %d | %d | %d | 0 | 0 | 0 |\n", changes, changes, len(got))
	if strings.Count(md, row) != 1 {
		t.Errorf("summary lacks dedupe's row %q, once:\n%s", row, md)
	}
	if n := strings.Count(md, "| dedupe | review |") + strings.Count(md, "| dedupe | auto |"); n != len(got) {
		t.Errorf("%d batch rows, want %d:\n%s", n, len(got), md)
	}
	for _, p := range got {
		if !strings.Contains(md, "<code>"+p.Batch+"</code>") {
			t.Errorf("summary lacks batch %s:\n%s", p.Batch, md)
		}
	}
}

// apply writes a job summary: each batch's changes per status, its pull
// request and receipt, and the batches it refused.
func TestApplyWritesAJobSummary(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	h.importCSV("contacts", contactsCSV)
	ps := h.propose(firstChanges)
	rogue := "20261124T070000Z-rogue-aaaaaa"
	h.pushToMain("add a batch\n", map[string]string{batch.Path(rogue): batchFile(rogue, fillChange)})
	summary := filepath.Join(t.TempDir(), "summary.md")
	h.env["GITHUB_STEP_SUMMARY"] = summary
	h.env["GITHUB_SERVER_URL"] = "https://github.com"
	h.env["GITHUB_REPOSITORY"] = "acme/crm-changes"
	h.expect(exitProblem, "", []string{"apply"}, "refused")
	md := readFile(t, summary)
	for _, want := range []string{
		"## crmops apply\n",
		"⚠️ **2 batches applied: changes 3 applied, 0 already applied, 0 stale, 0 failed, 0 skipped; 1 batch refused.**",
		"| Batch | Mode | Applied | Already applied | Stale | Failed | Skipped | Proposal | Receipt |",
		"### Refused\n",
		"| <code>" + rogue + "</code> | ",
		"no approval evidence",
		"[receipt](https://github.com/acme/crm-changes/blob/main/" + batch.ReceiptPath(batch.Path(rogue)) + ")",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	for _, p := range byDecision(ps, "auto") {
		row := "| <code>" + p.Batch + "</code> | auto | "
		if !strings.Contains(md, row) || !strings.Contains(md, "[receipt](https://github.com/acme/crm-changes/blob/main/"+batch.ReceiptPath(batch.Path(p.Batch))+")") {
			t.Errorf("summary lacks the row of %s, with its receipt:\n%s", p.Batch, md)
		}
	}

	// A second apply has nothing to do, and says so.
	if err := os.Remove(summary); err != nil {
		t.Fatal(err)
	}
	h.ok("", "apply")
	if md := readFile(t, summary); !strings.Contains(md, "Nothing to apply") {
		t.Errorf("second apply's summary:\n%s", md)
	}
}
