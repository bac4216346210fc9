package policytest_test

import (
	"os"
	"testing"

	"github.com/crmops/crmops/internal/policytest"
)

// The repository's policies/tests/default.yaml is what crmops init writes.
func TestRepositoryPolicyTestsAreTheOnesInitWrites(t *testing.T) {
	for path, want := range policytest.DefaultTests() {
		got, err := os.ReadFile("../../" + path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from policytest.DefaultTests; update one to match the other", path)
		}
	}
}
