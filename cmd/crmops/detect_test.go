package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Detect twice on the quickstart's repository: the second run finds the
// same work again but proposes none of it, because every record it touches
// has an open proposal or its change was applied; after a rejection, the
// rejected changes stay unproposed.
func TestDetectDoesNotProposeOpenOrRejectedWorkAgain(t *testing.T) {
	h := newHarness(t)
	r := h.run("", "quickstart", h.dir)
	if r.code != 0 {
		t.Fatalf("quickstart: %s %s", r.out, r.err)
	}
	for _, kind := range []string{"dedupe", "email_verification", "enrichment", "lifecycle", "owner"} {
		if !strings.Contains(r.out, "-"+kind+"-") {
			t.Errorf("the quickstart proposed nothing of kind %s:\n%s", kind, r.out)
		}
	}
	summary := filepath.Join(t.TempDir(), "summary.md")
	h.env["GITHUB_STEP_SUMMARY"] = summary

	var again []proposed
	h.jsonOut(&again, "", "detect", "--json")
	if len(again) != 0 {
		t.Errorf("a second detect proposed %d batches; want none: %+v", len(again), again)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(md), "## crmops detect") || !strings.Contains(string(md), "| owner |") {
		t.Errorf("step summary: %v\n%s", err, md)
	}

	var open []proposed
	h.jsonOut(&open, "", "review", "list", "--json")
	var owner string
	for _, p := range open {
		if strings.Contains(p.Batch, "-owner-") {
			owner = p.Batch
		}
	}
	h.expectAs("alice", 0, []string{"review", "reject", owner, "--reason", "territories are being redrawn"})
	var afterReject []proposed
	h.jsonOut(&afterReject, "", "detect", "--detector", "owner", "--json")
	if len(afterReject) != 0 {
		t.Errorf("rejected owner changes were proposed again: %+v", afterReject)
	}
}
