package apply

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
)

// follower sets contacts/<survivor>.<field> from before to after, following
// the merge with id mergeID: the survivorship value kept with the merge.
func follower(id, mergeID, survivor, field, before, after string) batch.Change {
	return batch.Change{ID: id, Kind: "dedupe", Object: "contacts", Record: survivor, Op: batch.OpSet,
		Field: field, Before: before, After: after, Source: "dedupe", Confidence: 0.93, Trigger: "rule", Follows: mergeID}
}

// approved merges a batch of changes as approved by bob (dedupe is never
// auto).
func (fx *fixture) approved(changes ...batch.Change) {
	fx.t.Helper()
	m := fx.merge(idA, pathA, encode(fx.t, idA, changes...))
	m.Decision, m.Approvals = batch.ModeApproved, []forge.Approval{bob}
}

// results renders a receipt's changes as id:status[:error].
func results(rc *batch.Receipt) []string {
	var out []string
	for _, c := range rc.Changes {
		s := c.ID + ":" + c.Status
		if c.Error != "" {
			s += ":" + c.Error
		}
		out = append(out, s)
	}
	return out
}

// savePartialReceipt writes the progress a killed run would have left.
func (fx *fixture) savePartialReceipt(changes ...batch.ChangeResult) {
	fx.t.Helper()
	partial := fx.ws.Path(".crmops/partial/" + idA + batch.ReceiptSuffix)
	data, err := batch.Encode(&batch.Receipt{Version: 1, Batch: idA, Approval: batch.Approval{Mode: batch.ModeApproved},
		ExecutedBy: "crmops/old", BatchBlob: fx.blob(pathA), Changes: changes})
	if err != nil {
		fx.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(partial), 0o755); err != nil {
		fx.t.Fatal(err)
	}
	if err := os.WriteFile(partial, data, 0o644); err != nil {
		fx.t.Fatal(err)
	}
}

// A set that follows a merge runs only when the merge's result is applied
// or already_applied; otherwise it is stale, naming the merge and its
// status, and never reaches the CRM.
func TestApplyRunsAFollowerOnlyWhenItsMergeRan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(fx *fixture)
		loser    string
		want     []string
		calls    []string
		jobtitle string
	}{
		{"the merge applied: its follower runs", nil, "1002",
			[]string{"c1:applied", "c2:applied"},
			[]string{"merge 1002>1001", "set 1001.jobtitle"}, "CTO"},
		{"the merge was already applied: its follower runs", func(fx *fixture) { fx.crm.put("contacts", "1002", map[string]string{}, "1001") }, "1002",
			[]string{"c1:already_applied", "c2:applied"},
			[]string{"merge 1002>1001", "set 1001.jobtitle"}, "CTO"},
		{"the merge was stale: its follower is stale and not sent", func(fx *fixture) { fx.crm.put("contacts", "1002", map[string]string{}, "1009") }, "1002",
			[]string{"c1:stale", "c2:stale:its merge c1 did not apply (stale)"},
			[]string{"merge 1002>1001"}, ""},
		{"the merge failed: its follower is stale and not sent", nil, "4040",
			[]string{"c1:failed:record not found", "c2:stale:its merge c1 did not apply (failed)"},
			[]string{"merge 4040>1001"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			if tt.setup != nil {
				tt.setup(fx)
			}
			fx.approved(mergeOf("c1", batch.OpMerge, "1001", tt.loser), follower("c2", "c1", "1001", "jobtitle", "", "CTO"))
			rep := fx.run(Options{})
			if got := fx.crm.writes(); !slices.Equal(got, tt.calls) {
				t.Errorf("CRM calls %q, want %q", got, tt.calls)
			}
			rc := fx.receipt(pathA)
			if got := results(rc); !slices.Equal(got, tt.want) {
				t.Errorf("receipt %q, want %q", got, tt.want)
			}
			if got := fx.crm.field("contacts", "1001", "jobtitle"); got != tt.jobtitle {
				t.Errorf("jobtitle = %q, want %q", got, tt.jobtitle)
			}
			if f := rc.Changes[1]; f.After != "CTO" || f.ObservedBefore != "" || f.At.IsZero() {
				t.Errorf("the follower's result %+v", f)
			}
			if want := strings.Count(strings.Join(tt.want, " "), ":stale") + strings.Count(strings.Join(tt.want, " "), ":failed"); rep.Problems() != want {
				t.Errorf("problems = %d, want %d", rep.Problems(), want)
			}
		})
	}
}

// Followers are held one by one: in one chunk of sets, the follower of a
// merge that did not apply is held while the follower of one that did,
// and a set that follows nothing, go to the CRM together.
func TestApplyHoldsOnlyTheFollowersOfMergesThatDidNotApply(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.crm.put("contacts", "1004", map[string]string{}, "1009") // c2's loser is gone: stale
	fx.approved(
		mergeOf("c1", batch.OpMerge, "1001", "1002"),
		mergeOf("c2", batch.OpMerge, "1003", "1004"),
		follower("c3", "c1", "1001", "jobtitle", "", "CTO"),
		follower("c4", "c2", "1003", "jobtitle", "", "CEO"),
		set("c5", "1005", "jobtitle", "", "CFO"),
		follower("c6", "c1", "1001", "city", "Berlin", "Munich"),
	)
	fx.run(Options{})
	want := []string{"merge 1002>1001,1004>1003", "set 1001.jobtitle,1005.jobtitle,1001.city"}
	if got := fx.crm.writes(); !slices.Equal(got, want) {
		t.Errorf("CRM calls\n %q\nwant\n %q", got, want)
	}
	if got, want := results(fx.receipt(pathA)), []string{"c1:applied", "c2:stale", "c3:applied", "c4:stale:its merge c2 did not apply (stale)", "c5:applied", "c6:applied"}; !slices.Equal(got, want) {
		t.Errorf("receipt\n %q\nwant\n %q", got, want)
	}
	if got := fx.crm.field("contacts", "1003", "jobtitle"); got != "" {
		t.Errorf("the held follower reached the CRM: jobtitle of 1003 = %q", got)
	}
}

// Resuming from saved progress, a follower is judged by its merge's saved
// result: the merge does not run again, and the follower runs only if the
// saved result says the merge did.
func TestApplyResumesAFollowerByItsMergesSavedResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		saved string
		calls []string
		want  []string
	}{
		{"the merge applied before the kill: its follower runs", batch.StatusApplied,
			[]string{"set 1001.jobtitle"}, []string{"c1:applied", "c2:applied"}},
		{"the merge was already applied before the kill: its follower runs", batch.StatusAlreadyApplied,
			[]string{"set 1001.jobtitle"}, []string{"c1:already_applied", "c2:applied"}},
		{"the merge was stale before the kill: its follower is stale", batch.StatusStale,
			nil, []string{"c1:stale", "c2:stale:its merge c1 did not apply (stale)"}},
		{"the merge failed before the kill: its follower is stale", batch.StatusFailed,
			nil, []string{"c1:failed", "c2:stale:its merge c1 did not apply (failed)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			fx.approved(mergeOf("c1", batch.OpMerge, "1001", "1002"), follower("c2", "c1", "1001", "jobtitle", "", "CTO"))
			fx.savePartialReceipt(batch.ChangeResult{ID: "c1", Status: tt.saved, At: t0})
			fx.run(Options{})
			if got := fx.crm.writes(); !slices.Equal(got, tt.calls) {
				t.Errorf("CRM calls %q, want %q", got, tt.calls)
			}
			if got := results(fx.receipt(pathA)); !slices.Equal(got, tt.want) {
				t.Errorf("receipt %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("killed between the merge and its follower, the follower runs once on resume", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t)
		fx.approved(mergeOf("c1", batch.OpMerge, "1001", "1002"), follower("c2", "c1", "1001", "jobtitle", "", "CTO"))
		fx.crm.fail = func(call int) error {
			if call == 2 {
				return errors.New("killed")
			}
			return nil
		}
		if _, err := fx.runner().Run(context.Background(), Options{}); err == nil {
			t.Fatal("the interrupted run reported success")
		}
		fx.crm.fail = nil
		fx.crm.calls = nil
		fx.run(Options{})
		if got := fx.crm.writes(); !slices.Equal(got, []string{"set 1001.jobtitle"}) {
			t.Errorf("the resumed run sent %q, want only the follower", got)
		}
		if got := results(fx.receipt(pathA)); !slices.Equal(got, []string{"c1:applied", "c2:applied"}) {
			t.Errorf("receipt %q", got)
		}
	})
}

// A dry run predicts a follower stale when its merge would not apply.
func TestDryRunPredictsAFollowerByItsMerge(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.crm.put("contacts", "1004", map[string]string{}, "1009")
	fx.crm.put("contacts", "1006", map[string]string{}, "1005")
	fx.approved(
		mergeOf("c1", batch.OpMerge, "1001", "1002"), // would apply
		follower("c2", "c1", "1001", "jobtitle", "", "CTO"),
		mergeOf("c3", batch.OpMerge, "1003", "1004"), // stale: merged elsewhere
		follower("c4", "c3", "1003", "jobtitle", "", "CEO"),
		mergeOf("c5", batch.OpMerge, "1005", "1006"), // already applied
		follower("c6", "c5", "1005", "jobtitle", "", "CFO"),
	)
	rep := fx.run(Options{DryRun: true})
	var got []string
	for _, p := range rep.Batches[0].Planned {
		got = append(got, p.Change+":"+p.Status)
	}
	want := []string{"c1:applied", "c2:applied", "c3:stale", "c4:stale", "c5:already_applied", "c6:applied"}
	if !slices.Equal(got, want) {
		t.Errorf("planned %q, want %q", got, want)
	}
	if len(fx.crm.writes()) != 0 || fx.hasReceipt(pathA) {
		t.Error("a dry run changed something")
	}
}
