package local

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
)

// threeChanges is a batch of three sets, c1 to c3; edit rewrites it.
func threeChanges(edit func(string) string) []byte {
	s := "version: 1\nbatch: " + id + "\ncreated: " + t0.Format(time.RFC3339) + "\ndetector: enrichment\ntitle: three\nchanges:\n" +
		"  - {id: c1, kind: enrichment, object: contacts, record: \"1\", op: set, field: jobtitle, before: \"\", after: A, source: s, confidence: 1}\n" +
		"  - {id: c2, kind: enrichment, object: contacts, record: \"2\", op: set, field: jobtitle, before: \"\", after: B, source: s, confidence: 1}\n" +
		"  - {id: c3, kind: enrichment, object: contacts, record: \"3\", op: set, field: jobtitle, before: \"\", after: C, source: s, confidence: 1}\n"
	if edit != nil {
		s = edit(s)
	}
	return []byte(s)
}

func dropLine(n string) func(string) string {
	return func(s string) string {
		lines := strings.SplitAfter(s, "\n")
		lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "  - {id: "+n+",") })
		return strings.Join(lines, "")
	}
}

// A commit that only drops changes does not make its author or committer a
// changer: the dropper may approve the new head, live and as merge
// evidence. Any other edit does, as before.
func TestADropperMayApproveButAnEditorMayNot(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		changer bool
	}{
		{"a drop of one change", dropLine("c2"), false},
		{"a drop of two changes", func(s string) string { return dropLine("c3")(dropLine("c1")(s)) }, false},
		{"a drop that also rewrites the rest's layout", func(s string) string {
			return strings.Replace(dropLine("c2")(s), "after: C,", "after: \"C\",", 1)
		}, false},
		{"an edited value", func(s string) string { return strings.Replace(dropLine("c2")(s), "after: C", "after: D", 1) }, true},
		{"an added change", func(s string) string {
			return s + "  - {id: c4, kind: enrichment, object: contacts, record: \"4\", op: set, field: jobtitle, before: \"\", after: D, source: s, confidence: 1}\n"
		}, true},
		{"a reordered change", func(s string) string {
			lines := strings.SplitAfter(dropLine("c2")(s), "\n")
			n := len(lines) - 1 // the last element is empty
			lines[n-2], lines[n-1] = lines[n-1], lines[n-2]
			return strings.Join(lines, "")
		}, true},
		{"a changed header", func(s string) string { return strings.Replace(dropLine("c2")(s), "title: three", "title: two", 1) }, true},
		{"no change dropped, only a comment", func(s string) string { return s + "# looked at it\n" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			ctx := context.Background()
			path := batch.Path(id)
			o, err := fx.f.Open(ctx, forge.Proposal{BatchID: id, Path: path, Content: threeChanges(nil), Title: "t", Author: "alice", At: t0})
			if err != nil {
				t.Fatal(err)
			}
			fx.push(o, map[string][]byte{path: threeChanges(tt.edit)}, "bob", "bob@example.com", "bob")
			got := fx.get(id)
			want := []string{"alice"}
			if tt.changer {
				want = []string{"bob", "alice"}
			}
			if !slices.Equal(got.ChangedBy, want) {
				t.Fatalf("changed by %v, want %v", got.ChangedBy, want)
			}
			err = fx.f.Approve(ctx, got, "bob", t0.Add(time.Hour))
			if tt.changer != (err != nil) {
				t.Fatalf("bob approving: %v (a changer: %v)", err, tt.changer)
			}
			if tt.changer {
				fx.review(got, stateApproved, "bob", got.Head, t0.Add(time.Hour)) // by hand: it must not count
			}
			wantApprovals := []string{"bob"}
			if tt.changer {
				wantApprovals = nil
			}
			if a := fx.approvals(got); !slices.Equal(a, wantApprovals) {
				t.Fatalf("approvals %v, want %v", a, wantApprovals)
			}
			base := fx.sync()
			if _, err := fx.f.Merge(ctx, got, forge.Merge{Base: base.String(), Head: got.Head, Title: "m",
				Trailers: [][2]string{{TrailerBatch, id}, {TrailerDecision, "approved"}}, At: t0.Add(2 * time.Hour), Actor: "bob"}); err != nil {
				t.Fatal(err)
			}
			fx.sync()
			m, err := fx.f.MergedBy(ctx, id, path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.ChangedBy, want) || len(m.Approvals) != len(wantApprovals) {
				t.Fatalf("merge evidence: changed by %v, approvals %+v; want %v and %v", m.ChangedBy, m.Approvals, want, wantApprovals)
			}
		})
	}
}

// The proposal's own first commit is never a drop, whatever the base held:
// its author proposed.
func TestTheProposalCommitIsNeverADrop(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	path := batch.Path(id)
	// The batch with three changes is on the base (pushed by hand), and the
	// proposal "drops" one of them in its first commit.
	who := ident("mallory", t0)
	if _, err := fx.ws.CommitToBase(ctx, map[string][]byte{path: threeChanges(nil)}, "sneak\n", who); err != nil {
		t.Fatal(err)
	}
	fx.sync()
	o, err := fx.f.Open(ctx, forge.Proposal{BatchID: id, Path: path, Content: threeChanges(dropLine("c1")), Title: "t", Author: "bob", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	got := fx.get(o.BatchID)
	if !slices.Equal(got.ChangedBy, []string{"bob"}) {
		t.Fatalf("changed by %v, want the proposer bob", got.ChangedBy)
	}
}
