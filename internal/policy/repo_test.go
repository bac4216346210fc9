package policy_test

import (
	"os"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/policy"
)

// The repository's own policies/default.yaml is the template users copy
// and what crmops init writes: they must never drift apart.
func TestRepositoryPolicyIsTheOneInitWrites(t *testing.T) {
	data, err := os.ReadFile("../../policies/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != policy.Default {
		t.Fatal("policies/default.yaml differs from policy.Default; update one to match the other")
	}
	if _, err := policy.Load("policies/default.yaml", data); err != nil {
		t.Fatal(err)
	}
}

func TestAConfidenceBoundOutsideZeroToOneIsRefused(t *testing.T) {
	for _, bound := range []string{"min_confidence: 90", "max_confidence: -0.1"} {
		data := "version: 1\ndefault: review\nrules:\n  - name: r\n    when: {kind: enrichment, " + bound + "}\n    decision: review\n"
		_, err := policy.Load("p.yaml", []byte(data))
		if err == nil || !strings.Contains(err.Error(), "p.yaml:5: rules[0].when:") || !strings.Contains(err.Error(), "outside 0..1") {
			t.Errorf("%s: err = %v, want an error at p.yaml:5 naming the bound", bound, err)
		}
	}
}
