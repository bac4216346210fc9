package review

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./internal/review -update rewrites it):\n%s", p, got)
	}
}

func defaultPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	pol, err := policy.Load(policy.Path, []byte(policy.Default))
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

func TestPullRequestBodyReadsAsAReviewerNeedsIt(t *testing.T) {
	b := &batch.Batch{Version: 1, ID: "20261124T060000Z-enrichment-3f9c2a", Created: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), Detector: "enrichment", Title: "t",
		Changes: []batch.Change{
			{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001", Op: "set", Field: "jobtitle", After: "VP Sales", Source: "clay", Confidence: 0.97, Trigger: "import", Reason: "Clay row 17 matched by email"},
			{ID: "c2", Kind: "enrichment", Object: "contacts", Record: "1002", Op: "set", Field: "about", Before: "Leads the sales team for the DACH region and reports to the chief revenue officer", After: "Leads the sales team for the Nordics region and reports to the chief revenue officer", Source: "clay", Confidence: 0.9, Trigger: "import"},
			{ID: "c3", Kind: "dedupe", Object: "contacts", Record: "1001", Op: "merge", MergeFrom: "1003", Source: "dedupe", Confidence: 0.93, Trigger: "rule", Reason: "same email | case differs"},
		}}
	body := Markdown(b, defaultPolicy(t).EvaluateBatch(b, policy.Proposer{}))
	golden(t, "pr-body.md", body)
	for _, want := range []string{
		"Decision under the base branch's policy: **review**",
		"| <code>enrichment</code> | 1 | 1 | 0 |",
		"| <code>c1</code> | <code>contacts/1001</code> | <code>jobtitle</code> | *(empty)* → <code>VP Sales</code> | <code>clay</code> | 0.97 | auto (<code>enrichment-fill-empty</code>) |",
		"<del>DACH</del><ins>Nordics</ins>",
		"<code>same email \\| case differs</code>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
}

func TestPullRequestBodyFoldsLongTablesAndStaysUnderGitHubsLimit(t *testing.T) {
	b := &batch.Batch{Version: 1, ID: "b", Detector: "enrichment"}
	for i := 0; i < 1000; i++ {
		b.Changes = append(b.Changes, batch.Change{ID: fmt.Sprintf("c%d", i+1), Kind: "enrichment", Object: "contacts", Record: fmt.Sprint(1000 + i), Op: "set", Field: "jobtitle", After: strings.Repeat("x", 50), Source: "clay", Confidence: 0.95, Reason: strings.Repeat("because ", 10)})
	}
	body := Markdown(b, defaultPolicy(t).EvaluateBatch(b, policy.Proposer{}))
	if !strings.Contains(body, "<details><summary>The first ") {
		t.Error("a long table is not folded")
	}
	if len(body) > 65536 || !strings.Contains(body, " of 1000 changes**; the full batch is in <code>proposals/b.yaml</code> in this pull request") {
		t.Errorf("body is %d characters; GitHub refuses more than 65,536", len(body))
	}
}
