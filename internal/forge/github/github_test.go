package github_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/forge/github"
	"github.com/crmops/crmops/internal/forge/github/githubtest"
	"github.com/crmops/crmops/internal/workspace"
)

type fixture struct {
	ws     *workspace.Workspace
	srv    *githubtest.Server
	forge  *github.Forge
	sleeps []time.Duration
}

// newFixture is a change-request repository whose remote stands behind the
// GitHub API double, and a forge talking to it as crmops-bot.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	ws, err := workspace.Init(ctx, filepath.Join(t.TempDir(), "repo"), time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC), workspace.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{ws: ws}
	fx.srv = githubtest.New(t, githubtest.Options{
		Owner: "acme", Repo: "crm-changes", BareRepo: filepath.Join(ws.Dir, workspace.LocalRemote), DefaultBranch: "main",
		Tokens: map[string]string{"tok-bot": "crmops-bot", "tok-alice": "alice", "tok-bob": "bob", "tok-BOB": "BOB"},
	})
	fx.forge, err = github.New(ws, github.Config{
		Repository: "acme/crm-changes", APIURL: fx.srv.URL(), Token: "tok-bot",
		Sleep: func(_ context.Context, d time.Duration) error { fx.sleeps = append(fx.sleeps, d); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return fx
}

func proposal(id string) forge.Proposal {
	return forge.Proposal{
		BatchID: id, Path: "proposals/2026-11/" + id + ".yaml", Content: []byte("version: 1\nbatch: " + id + "\n"),
		Title: "enrichment: 1 change", Body: "**crmops batch**", Author: "crmops-bot",
		Labels: []string{"crmops", "crmops:review"}, Reviewers: []string{"alice", "acme/revops", "crmops-bot"},
		Status: "pending", StatusDescription: "needs 1 approval(s): enrichment-overwrite",
		At: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC),
	}
}

func TestOpenCreatesALabelledPullRequestAndRequestsThePolicysReviewers(t *testing.T) {
	fx := newFixture(t)
	o, err := fx.forge.Open(context.Background(), proposal("20261124T060000Z-enrichment-aaaaaa"))
	if err != nil {
		t.Fatal(err)
	}
	pr := fx.srv.PR(o.PullRequest)
	if pr.HeadRef != "crmops/20261124T060000Z-enrichment-aaaaaa" || pr.Body != "**crmops batch**" || pr.HeadSHA != o.Head {
		t.Errorf("pull request %+v does not match the proposal %+v", pr, o)
	}
	if strings.Join(pr.Labels, ",") != "crmops,crmops:review" {
		t.Errorf("labels %v", pr.Labels)
	}
	if len(pr.Statuses) != 1 || pr.Statuses[0].State != "pending" || pr.Statuses[0].Context != github.StatusContext {
		t.Errorf("statuses %+v, want the policy's pending verdict as %s", pr.Statuses, github.StatusContext)
	}
	// The author is never requested (GitHub answers 422); teams go as slugs.
	if strings.Join(pr.RequestedReviewers, ",") != "alice" || strings.Join(pr.RequestedTeams, ",") != "revops" {
		t.Errorf("requested %v and teams %v, want alice and revops", pr.RequestedReviewers, pr.RequestedTeams)
	}
}

func TestOpenWaitsOutASecondaryRateLimit(t *testing.T) {
	fx := newFixture(t)
	fx.srv.RateLimitNext(2, githubtest.Secondary)
	o, err := fx.forge.Open(context.Background(), proposal("20261124T060000Z-enrichment-bbbbbb"))
	if err != nil {
		t.Fatalf("a secondary rate limit failed the proposal: %v", err)
	}
	if fx.srv.PR(o.PullRequest).State != "open" {
		t.Error("no pull request opened")
	}
	if len(fx.sleeps) != 2 || fx.sleeps[0] != time.Second {
		t.Errorf("waited %v; want two waits of retry-after: 1s", fx.sleeps)
	}
}

func TestOpenOfABatchWhoseBranchExistsFailsWithoutTouchingIt(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	first, err := fx.forge.Open(ctx, proposal("20261124T060000Z-enrichment-cccccc"))
	if err != nil {
		t.Fatal(err)
	}
	p := proposal("20261124T060000Z-enrichment-cccccc")
	p.At = p.At.Add(time.Minute) // a different commit for the same branch
	if _, err := fx.forge.Open(ctx, p); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second proposal for the same branch: err = %v, want already exists", err)
	}
	if pr := fx.srv.PR(first.PullRequest); pr.State != "open" || pr.HeadSHA != first.Head {
		t.Errorf("the existing pull request was disturbed: %+v", pr)
	}
}

func TestAClosedPullRequestIsReportedWithWhoClosedIt(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	o, err := fx.forge.Open(ctx, proposal("20261124T060000Z-enrichment-dddddd"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fx.srv.Client("tok-alice").PullRequests.Edit(ctx, "acme", "crm-changes", o.PullRequest, &gh.PullRequest{State: gh.String("closed")}); err != nil {
		t.Fatal(err)
	}
	closed, err := fx.forge.ClosedUnmerged(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(closed) != 1 || closed[0].By != "alice" || closed[0].Open.BatchID != o.BatchID {
		t.Errorf("closed = %+v, want one closed by alice", closed)
	}
	if _, err := fx.forge.Get(ctx, o.BatchID); !errors.Is(err, forge.ErrNoProposal) {
		t.Errorf("a closed pull request is still an open proposal: %v", err)
	}
}

func TestABadTokenIsAClearErrorThatDoesNotPrintTheToken(t *testing.T) {
	fx := newFixture(t)
	bad, err := github.New(fx.ws, github.Config{Repository: "acme/crm-changes", APIURL: fx.srv.URL(), Token: "ghp_secretsecret"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.List(context.Background())
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want a 401", err)
	}
	if strings.Contains(err.Error(), "ghp_secretsecret") {
		t.Error("the token appears in the error")
	}
}
