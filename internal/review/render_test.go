package review

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

func TestDiffShowsWhatAReviewerNeeds(t *testing.T) {
	tests := []struct {
		name          string
		before, after string
		want          []string
	}{
		{"a short value shows both sides", "CTO", "Chief Technology Officer", []string{"- CTO", "+ Chief Technology Officer"}},
		{"an empty before says so", "", "VP Sales", []string{"- (empty)", "+ VP Sales"}},
		{
			"a long value shows only the words that changed",
			"Leads the sales team for the DACH region and reports to the chief revenue officer",
			"Leads the sales team for the Nordics region and reports to the chief revenue officer",
			[]string{"~ Leads the sales team for the [-DACH-]{+Nordics+} region and reports to the chief revenue officer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.before, tt.after)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Diff:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRenderNamesEachChangesDecisionAndRule(t *testing.T) {
	pol, err := policy.Load("policies/default.yaml", []byte(policy.Default))
	if err != nil {
		t.Fatal(err)
	}
	b := &batch.Batch{Version: 1, ID: "b1", Created: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), Detector: "clay", Title: "t",
		Changes: []batch.Change{
			{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001", Op: "set", Field: "jobtitle", After: "VP Sales", Source: "clay", Confidence: 0.97, Reason: "row 17"},
			{ID: "c2", Kind: "dedupe", Object: "contacts", Record: "1001", Op: "merge", MergeFrom: "1002", Source: "dedupe", Confidence: 0.9, Snapshot: map[string]string{"email": "a@x.com"}},
		}}
	var out bytes.Buffer
	Render(&out, b, pol.EvaluateBatch(b))
	for _, want := range []string{
		"decision review (rules: enrichment-fill-empty, dedupe-always-review; approvals needed: 1)",
		"c1  contacts/1001  jobtitle  [auto: enrichment-fill-empty]",
		"+ VP Sales",
		"why: row 17",
		"c2  merge contacts/1002 into contacts/1001  [review: dedupe-always-review]",
		"email: a@x.com",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("render lacks %q:\n%s", want, out.String())
		}
	}
}
