package workflows

import (
	"strings"
	"testing"
)

func TestDetectSummaryCountsEachDetectorOnceAndTotalsOnce(t *testing.T) {
	batches := func(n, size int) []ProposedBatch {
		var out []ProposedBatch
		for i := range n {
			out = append(out, ProposedBatch{Batch: "b" + string(rune('a'+i)), Decision: "review", State: "open", Changes: size, PullRequest: 10 + i,
				URL: "https://github.com/acme/crm-changes/pull/" + string(rune('0'+i))})
		}
		return out
	}
	runs := []DetectorRun{
		{Detector: "dedupe", Found: 9435, Skipped: 2, NotProposed: 35, Batches: batches(10, 940)},
		{Detector: "owner", Found: 3, Denied: 1, Batches: []ProposedBatch{{Batch: "o1", Decision: "auto", State: "merged", Changes: 2}}},
		{Detector: "lifecycle"},
	}
	md := DetectSummary(runs, false)
	for _, want := range []string{
		"## crmops detect\n",
		"**9,438 changes found by 3 detectors; 9,402 changes proposed in 11 batches (1 merged, 10 open); 35 changes not proposed",
		"| dedupe | 9,435 | 9,400 | 10 | 35 | 0 | 2 |\n",
		"| owner | 3 | 2 | 1 | 0 | 1 | 0 |\n",
		"| lifecycle | 0 | 0 | 0 | 0 | 0 | 0 |\n",
		"| **total** | **9,438** | **9,402** | **11** | **35** | **1** | **2** |\n",
		"| <code>ba</code> | dedupe | review | 940 | open ([#10](https://github.com/acme/crm-changes/pull/0)) |\n",
		"| <code>o1</code> | owner | auto | 2 | merged |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "9,435"); n != 1 {
		t.Errorf("dedupe's 9,435 found changes appear %d times; once is honest:\n%s", n, md)
	}
}

func TestJobSummariesEscapeEveryValue(t *testing.T) {
	const evil = "x|y <img src=x onerror=alert(1)> [l](javascript:a) @team\n# h"
	md := DetectSummary([]DetectorRun{{Detector: evil, Found: 1, Batches: []ProposedBatch{{Batch: evil, Decision: evil, State: evil, Changes: 1, PullRequest: 3, URL: "javascript:alert(1)"}}}}, true)
	md += ApplySummary([]AppliedBatch{
		{Batch: evil, Mode: evil, Counts: map[string]int{"applied": 1}, PullRequest: 4, PullRequestURL: "https://x/pull/4) [y](javascript:z", Receipt: evil},
		{Batch: "b2", Refused: evil},
	}, false)
	for _, bad := range []string{"<img", "[l](", "\n# h", "x|y", "](javascript:", "pull/4)", "@team"} {
		if unescaped(md, bad) {
			t.Errorf("the summary holds %q unescaped:\n%s", bad, md)
		}
	}
	for _, want := range []string{`x\|y \<img`, "<code>x\\|y", "(#3)", "| #4 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the summary lacks %q:\n%s", want, md)
		}
	}
}

func TestApplySummaryListsEachBatchAndTheRefused(t *testing.T) {
	md := ApplySummary([]AppliedBatch{
		{Batch: "20261124T060000Z-enrichment-1", Mode: "auto", Counts: map[string]int{"applied": 10, "already_applied": 2},
			PullRequest: 7, PullRequestURL: "https://github.com/acme/crm/pull/7",
			Receipt: "proposals/2026-11/20261124T060000Z-enrichment-1.receipt.yaml", ReceiptURL: "https://github.com/acme/crm/blob/main/proposals/2026-11/20261124T060000Z-enrichment-1.receipt.yaml"},
		{Batch: "20261124T060000Z-owner-2", Mode: "approved", Counts: map[string]int{"applied": 1, "stale": 3, "failed": 1}, Receipt: "proposals/x.receipt.yaml"},
		{Batch: "20261124T060000Z-dedupe-3", Refused: "no merge of this batch on main: it was never approved"},
	}, false)
	for _, want := range []string{
		"## crmops apply\n",
		"⚠️ **2 batches applied: changes 11 applied, 2 already applied, 3 stale, 1 failed, 0 skipped; 1 batch refused.**",
		"| Batch | Mode | Applied | Already applied | Stale | Failed | Skipped | Proposal | Receipt |",
		"| <code>20261124T060000Z-owner-2</code> | approved | 1 | 0 | 3 | 1 | 0 | — | <code>proposals/x.receipt.yaml</code> |\n",
		"| <code>20261124T060000Z-enrichment-1</code> | auto | 10 | 2 | 0 | 0 | 0 | [#7](https://github.com/acme/crm/pull/7) | [receipt](https://github.com/acme/crm/blob/main/proposals/2026-11/20261124T060000Z-enrichment-1.receipt.yaml) |\n",
		"### Refused\n",
		"| <code>20261124T060000Z-dedupe-3</code> | no merge of this batch on main\\: it was never approved | — |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if got := ApplySummary(nil, true); !strings.Contains(got, "(dry run: nothing changed)") || !strings.Contains(got, "Nothing to apply") {
		t.Errorf("an empty dry run:\n%s", got)
	}
	clean := ApplySummary([]AppliedBatch{{Batch: "b", Mode: "auto", Counts: map[string]int{"applied": 1}}}, false)
	if !strings.Contains(clean, "✅ **1 batch applied") {
		t.Errorf("a clean run:\n%s", clean)
	}
}

func TestJobSummariesStayUnderGitHubsLimit(t *testing.T) {
	defer func(b int) { summaryBudget = b }(summaryBudget)
	summaryBudget = 4 << 10
	var runs []DetectorRun
	var applied []AppliedBatch
	for i := range 500 {
		id := strings.Repeat("b", 40) + string(rune('a'+i%26))
		runs = append(runs, DetectorRun{Detector: "d", Found: 1, Batches: []ProposedBatch{{Batch: id, Decision: "auto", State: "merged", Changes: 1}}})
		counts := map[string]int{"applied": 1}
		if i == 499 {
			counts["failed"] = 1
		}
		applied = append(applied, AppliedBatch{Batch: id, Mode: "auto", Counts: counts})
	}
	applied = append(applied, AppliedBatch{Batch: "refused-one", Refused: "why"})
	if md := DetectSummary(runs[:1], false); strings.Contains(md, "left out") {
		t.Errorf("a small summary was cut:\n%s", md)
	}
	md := ApplySummary(applied, false)
	if len(md) > summaryBudget || !strings.Contains(md, "left out") || !strings.Contains(md, "refused-one") || !strings.Contains(md, "bf</code> | auto | 1 | 0 | 0 | 1 | 0 |") {
		t.Errorf("a large apply summary: %d bytes (budget %d), the failed batch and the refused one first:\n%s", len(md), summaryBudget, md)
	}
}

// unescaped reports an occurrence of s in md not made literal by a
// backslash before it.
func unescaped(md, s string) bool {
	for i := 0; ; {
		j := strings.Index(md[i:], s)
		if j < 0 {
			return false
		}
		if i+j == 0 || md[i+j-1] != '\\' {
			return true
		}
		i += j + 1
	}
}
