package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// detect --truth scores what the dedupe detector found against labelled
// truth, here one pair found, one pair it cannot know of (two records with
// nothing in common that the truth calls one person) and a loner; with
// --dry-run nothing is proposed.
func TestDetectScoresMergesAgainstTruth(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	cfg := readFile(t, filepath.Join(h.dir, "crmops.yaml"))
	h.pushToMain("detect duplicates\n", map[string]string{"crmops.yaml": strings.Replace(cfg, "detectors: {}", "detectors:\n  dedupe: {objects: [contacts]}\n", 1)})
	h.ok("", "review", "list")
	h.importCSV("contacts", `id,email,firstname,lastname
1,ann.lee@acme.io,Ann,Lee
2,ANN.LEE@acme.io,Ann,Lee
3,bo@beta.io,Bo,Ray
4,zed@gamma.io,Zed,Moon
5,cy@delta.io,Cy,Dee
`)
	truth := h.writeFile("truth.csv", "id,cluster\n1,a\n2,a\n3,b\n4,b\n5,c\n")
	out := h.ok("", "detect", "--detector", "dedupe", "--dry-run", "--truth", "contacts="+truth)
	want := "dedupe on contacts: 1 merges; pairwise P=1.000 R=0.500 F1=0.667 (1 of 1 predicted pairs correct, 2 true); cluster P=0.500 R=0.667 F1=0.571"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if open := h.ok("", "review", "list"); strings.Contains(open, "dedupe") {
		t.Errorf("a dry run proposed:\n%s", open)
	}

	h.expect(1, "", []string{"detect", "--detector", "dedupe", "--dry-run", "--truth", "contacts"}, `--truth "contacts": want OBJECT=FILE`)
	other := h.writeFile("other.csv", "id,cluster\n1,a\n")
	h.expect(1, "", []string{"detect", "--detector", "dedupe", "--dry-run", "--truth", "contacts=" + other}, `--truth contacts: evaluate: merge 1 <- 2: record "2" is not in the truth`)
}
