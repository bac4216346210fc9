package main

import (
	"fmt"
	"strings"
	"testing"
)

// The errors for a batch in the wrong state say which state it is in.
func TestMessagesNameTheStateABatchIsIn(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	h.importCSV("contacts", contactsCSV)
	review := h.propose(`{"kind":"enrichment","object":"contacts","record":"1002","op":"set","field":"jobtitle","before":"CTO","after":"Chief Technology Officer","source":"clay","confidence":0.99}`)
	if len(review) != 1 || review[0].State != "open" {
		t.Fatalf("proposed %+v", review)
	}
	id := review[0].Batch
	h.expect(exitError, "", []string{"revert", id}, id+" is an open proposal, not merged: nothing of it has run", "crmops review reject "+id)
	h.expectAs("alice", 0, []string{"review", "reject", id, "--reason", "keep CTO"})
	r := h.expectAs("bob", exitError, []string{"merge", id}, id+` was rejected by alice on `, `("keep CTO"); a rejected batch is not merged`)
	if strings.Contains(r.err, "no open proposal") {
		t.Errorf("merge of a rejected batch still says \"no open proposal\": %q", r.err)
	}
	h.expect(exitError, "", []string{"revert", id}, "was rejected by alice", "so nothing of it ran")
	h.expect(exitError, "", []string{"review", "show", id}, "was rejected by alice")
	h.expect(exitError, "", []string{"merge", "20261124T060000Z-nothing-aaaaaa", "--as", "bob"}, "no batch with that id, open, merged or rejected")
	h.expect(exitError, "not json\n", []string{"propose"}, `-:1: want changes as JSON lines`, `got "not json"`)
}

// A detector's missing input names the crmops.yaml line and key it was
// configured at.
func TestAMissingDetectorInputNamesItsKey(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	cfg := strings.Replace(readFile(t, h.dir+"/crmops.yaml"), "detectors: {}\n",
		"detectors:\n  enrichment:\n    input: data/missing.csv\n    match_on: email\n    source: clay\n", 1)
	h.pushToMain("enrichment\n", map[string]string{"crmops.yaml": cfg})
	h.ok("", "review", "list")
	line := 0
	for i, l := range strings.Split(cfg, "\n") {
		if strings.Contains(l, "input: data/missing.csv") {
			line = i + 1
		}
	}
	h.expect(exitError, "", []string{"detect"}, fmt.Sprintf("crmops.yaml:%d: detectors.enrichment.input: data/missing.csv: no such file or directory", line))
}
