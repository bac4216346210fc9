package review

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
)

// A reviewer sees that a batch came through an agent, in the pull request
// and in review show, whoever the forge says opened it.
func TestAReviewerSeesTheAgentABatchCameThrough(t *testing.T) {
	pol, err := policy.Load("policies/default.yaml", []byte(policy.Default))
	if err != nil {
		t.Fatal(err)
	}
	b := &batch.Batch{Version: batch.Version, ID: "20261202T100000Z-mcp-scout-abc123", Created: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
		Detector: "mcp-scout", Agent: "scout", Changes: []batch.Change{{ID: "c1", Kind: "lifecycle", Object: "contacts", Record: "1",
			Op: batch.OpSet, Field: "lifecyclestage", Before: "lead", After: "customer", Source: "x", Confidence: 0.9, Trigger: "event"}}}
	bv := pol.EvaluateBatch(b, policy.Proposer{Login: "ops-bot"})
	if md := Markdown(b, bv); !strings.Contains(md, "- **Through the AI agent** <code>scout</code> (crmops mcp)") || !strings.Contains(md, "<code>ops-bot</code>") {
		t.Errorf("the pull request body does not name the agent and the forge's author:\n%s", md)
	}
	var out bytes.Buffer
	Render(&out, b, bv)
	if !strings.Contains(out.String(), "proposer ops-bot (as the forge knows it), through the AI agent scout (crmops mcp)") {
		t.Errorf("review show:\n%s", out.String())
	}
	if bv.Decision != policy.Review {
		t.Errorf("an agent's batch under the local default policy is %s, want review", bv.Decision)
	}
}
