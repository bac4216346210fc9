package policy_test

import (
	"os"
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
