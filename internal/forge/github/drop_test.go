package github_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/modify"
	"github.com/crmops/crmops/internal/workspace"
)

// threeSets is a valid batch of three sets, c1 to c3, as the proposal the
// bot opens; edit rewrites it.
func threeSets(id string, edit func(string) string) string {
	s := "version: 1\nbatch: " + id + "\ncreated: 2026-11-24T06:00:00Z\ndetector: enrichment\ntitle: three\nchanges:\n" +
		"  - {id: c1, kind: enrichment, object: contacts, record: \"1\", op: set, field: jobtitle, before: \"\", after: A, source: s, confidence: 1}\n" +
		"  - {id: c2, kind: enrichment, object: contacts, record: \"2\", op: set, field: jobtitle, before: \"\", after: B, source: s, confidence: 1}\n" +
		"  - {id: c3, kind: enrichment, object: contacts, record: \"3\", op: set, field: jobtitle, before: \"\", after: C, source: s, confidence: 1}\n"
	if edit != nil {
		s = edit(s)
	}
	return s
}

func without(ids ...string) func(string) string {
	return func(s string) string {
		lines := strings.SplitAfter(s, "\n")
		lines = slices.DeleteFunc(lines, func(l string) bool {
			return slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(l, "  - {id: "+id+",") })
		})
		return strings.Join(lines, "")
	}
}

// A commit that only drops changes, read from git, makes nobody a changer
// and needs no attribution: its author may approve the new head, and the
// merge evidence says so. Every other edit is attributed as before.
func TestACommitThatOnlyDropsChangesLeavesItsAuthorFreeToApprove(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		// linked: the commit's address is alice's verified one; else the
		// crmops address the drop command writes, linked to no account.
		linked       bool
		changer      bool
		unattributed bool
	}{
		{"a drop by a linked account", without("c2"), true, false, false},
		{"a drop from an address GitHub links to no account", without("c1", "c3"), false, false, false},
		{"an edited value", func(s string) string { return strings.Replace(without("c2")(s), "after: C", "after: D", 1) }, true, true, false},
		{"an edited value from an unlinked address", func(s string) string { return strings.Replace(s, "after: C", "after: D", 1) }, false, false, true},
		{"an added change", func(s string) string {
			return s + "  - {id: c4, kind: enrichment, object: contacts, record: \"4\", op: set, field: jobtitle, before: \"\", after: D, source: s, confidence: 1}\n"
		}, true, true, false},
		{"a reordered change", func(s string) string {
			lines := strings.SplitAfter(without("c2")(s), "\n")
			n := len(lines) - 1
			lines[n-2], lines[n-1] = lines[n-1], lines[n-2]
			return strings.Join(lines, "")
		}, true, true, false},
		{"a changed header", func(s string) string {
			return strings.Replace(without("c2")(s), "detector: enrichment", "detector: manual", 1)
		}, true, true, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			ctx := context.Background()
			id := "20261124T060000Z-enrichment-d0p00" + string(rune('a'+i))
			p := proposal(id)
			p.Content = []byte(threeSets(id, nil))
			o, err := fx.forge.Open(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			email := workspace.LoginEmail("alice")
			if tt.linked {
				email = fx.srv.NoReplyEmail("alice")
			}
			alice := who("alice", email)
			edit := fx.push(t, o.Branch, []gitrepo.Hash{hash(o.Head)}, map[string]string{p.Path: threeSets(id, tt.edit)}, alice, alice)
			got, err := fx.forge.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			wantBy, wantUn := []string{"crmops-bot"}, []string(nil)
			if tt.changer {
				wantBy = append(wantBy, "alice")
			}
			if tt.unattributed {
				wantUn = []string{edit.String()}
			}
			if got.Head != edit.String() || !slices.Equal(got.ChangedBy, wantBy) || !slices.Equal(got.Unattributed, wantUn) {
				t.Fatalf("head %s changed by %v, unattributed %v; want %s changed by %v, unattributed %v", got.Head, got.ChangedBy, got.Unattributed, edit, wantBy, wantUn)
			}
			fx.review(t, "tok-alice", o.PullRequest, edit, "APPROVE")
			approvals, err := fx.forge.Approvals(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			wantApprovals := []string{"alice"}
			if tt.changer {
				wantApprovals = []string{}
			}
			if !slices.Equal(logins(approvals), wantApprovals) {
				t.Fatalf("approvals %v, want %v", logins(approvals), wantApprovals)
			}
			base, err := fx.ws.Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fx.forge.Merge(ctx, got, forge.Merge{Base: base.String(), Head: got.Head, Title: "merge"}); err != nil {
				t.Fatal(err)
			}
			if _, err := fx.ws.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			m, err := fx.forge.MergedBy(ctx, id, p.Path)
			if err != nil {
				t.Fatal(err)
			}
			wantDecision := "approved"
			if tt.changer || tt.unattributed {
				wantDecision = "auto" // no counted approval: apply refuses it under a review policy
			}
			if !slices.Equal(m.ChangedBy, wantBy) || !slices.Equal(m.Unattributed, wantUn) || m.Decision != wantDecision ||
				(wantDecision == "approved" && !slices.Equal(logins(m.Approvals), []string{"alice"})) {
				t.Fatalf("merge evidence %+v; want changed by %v, unattributed %v, decision %s", m, wantBy, wantUn, wantDecision)
			}
		})
	}
}

// crmops review drop on GitHub: the drop commit is pushed to the pull
// request's branch in this repository, with compare-and-swap, and the
// pull request follows it.
func TestTheDropCommandUpdatesThePullRequest(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := "20261124T060000Z-enrichment-d0pcmd"
	p := proposal(id)
	p.Content = []byte(threeSets(id, nil))
	o, err := fx.forge.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	d := &modify.Dropper{WS: fx.ws, Forge: fx.forge}
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	res, err := d.Drop(ctx, modify.Request{Batch: id, IDs: []string{"c2"}, Login: "alice", Reason: "wrong person", At: at})
	if err != nil {
		t.Fatal(err)
	}
	if pr := fx.srv.PR(o.PullRequest); pr.HeadSHA != res.Head || pr.State != "open" {
		t.Fatalf("pull request head %s (%s), want the drop %s", pr.HeadSHA, pr.State, res.Head)
	}
	got, err := fx.forge.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got.Content), "id: c2") || !slices.Equal(got.ChangedBy, []string{"crmops-bot"}) || len(got.Unattributed) != 0 {
		t.Fatalf("after the drop: changed by %v, unattributed %v\n%s", got.ChangedBy, got.Unattributed, got.Content)
	}
	// By pull request number too.
	if _, err := d.Drop(ctx, modify.Request{Batch: strconv.Itoa(o.PullRequest), IDs: []string{"c3"}, Login: "alice", At: at}); err != nil {
		t.Fatalf("drop by pull request number: %v", err)
	}
	if pr := fx.srv.PR(o.PullRequest); pr.HeadSHA == res.Head {
		t.Fatal("the drop by number did not reach the pull request")
	}
}

// A fork's pull request is never committed to: its branch is not this
// repository's.
func TestTheDropCommandRefusesAFork(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := "20261124T060000Z-enrichment-d0pf0k"
	n, _ := forkPR(t, fx, id)
	before := fx.srv.PR(n).HeadSHA
	d := &modify.Dropper{WS: fx.ws, Forge: fx.forge}
	for _, ref := range []string{id, strconv.Itoa(n)} {
		_, err := d.Drop(ctx, modify.Request{Batch: ref, IDs: []string{"c1"}, Login: "alice", At: time.Now()})
		if err == nil || !strings.Contains(err.Error(), "fork") {
			t.Fatalf("drop from the fork's pull request as %s: %v, want a refusal naming the fork", ref, err)
		}
	}
	if fx.srv.PR(n).HeadSHA != before {
		t.Fatal("the fork's pull request moved")
	}
	if _, err := fx.bare(t).Ref(gitrepo.BranchRef(forge.BranchPrefix + id)); err == nil {
		t.Fatal("a branch of the fork's name was created here")
	}
}
