package forge_test

import (
	"reflect"
	"testing"

	"github.com/crmops/crmops/internal/forge"
)

func TestCountApprovals(t *testing.T) {
	a := func(logins ...string) []forge.Approval {
		var out []forge.Approval
		for _, l := range logins {
			out = append(out, forge.Approval{Login: l})
		}
		return out
	}
	tests := []struct {
		name      string
		approvals []forge.Approval
		proposer  string
		changedBy []string
		want      []forge.Approval
	}{
		{"one person approving under two spellings of their login counts once", a("bob", "BOB", "Bob"), "crmops", nil, a("bob")},
		{"the proposer's approval never counts, whatever its case", a("Crmops", "alice"), "crmops", nil, a("alice")},
		{"nobody who changed the batch counts", a("mallory", "alice", "carol"), "crmops", []string{"MALLORY", "carol"}, a("alice")},
		{"an empty login is no one", a("", " ", "alice"), "crmops", nil, a("alice")},
		{"order is kept", a("carol", "alice"), "crmops", nil, a("carol", "alice")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := forge.CountApprovals(tt.approvals, tt.proposer, tt.changedBy); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CountApprovals = %+v, want %+v", got, tt.want)
			}
		})
	}
}
