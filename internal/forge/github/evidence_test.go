package github_test

import (
	"context"
	"slices"
	"testing"

	gh "github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
)

// The pull request's author never approves it, in whatever case GitHub
// lets a login be written, even when the branch's commits are another
// person's and the author is in no ChangedBy.
func TestThePullRequestsAuthorCannotApproveIt(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := "20261124T060000Z-enrichment-a0a0a0"
	p := proposal(id)
	alice := who("Alice", fx.srv.NoReplyEmail("alice"))
	base, err := fx.ws.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head := fx.push(t, "crmops/"+id, []gitrepo.Hash{base}, map[string]string{p.Path: string(p.Content)}, alice, alice)
	pr, _, err := fx.srv.Client("tok-bob").PullRequests.Create(ctx, "acme", "crm-changes",
		&gh.NewPullRequest{Title: gh.String("t"), Head: gh.String("crmops/" + id), Base: gh.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	fx.review(t, "tok-BOB", pr.GetNumber(), head, "APPROVE")
	fx.review(t, "tok-bot", pr.GetNumber(), head, "APPROVE")
	o, err := fx.forge.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if o.Author != "bob" || !slices.Equal(o.ChangedBy, []string{"alice"}) {
		t.Fatalf("proposal by %s changed by %v", o.Author, o.ChangedBy)
	}
	approvals, err := fx.forge.Approvals(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(logins(approvals), []string{"crmops-bot"}) {
		t.Errorf("approvals %v, want crmops-bot's only: BOB is the author", logins(approvals))
	}
}

// A merge nobody approved is evidence of an auto decision, never of an
// approved one.
func TestAMergeWithoutApprovalsIsAuto(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	o, err := fx.forge.Open(ctx, proposal("20261124T060000Z-enrichment-d0d0d0"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := fx.ws.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.forge.Merge(ctx, o, forge.Merge{Base: base.String(), Head: o.Head, Title: "merge"}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.ws.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := fx.forge.MergedBy(ctx, o.BatchID, o.Path)
	if err != nil {
		t.Fatal(err)
	}
	if m.MergeCommit == "" || m.Decision != "auto" || len(m.Approvals) != 0 || m.Author != "crmops-bot" {
		t.Errorf("merge evidence %+v, want auto by crmops-bot", m)
	}
}
