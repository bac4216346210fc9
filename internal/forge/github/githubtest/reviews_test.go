package githubtest_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/forge/github/githubtest"
)

// TestReviews checks the review list as crmops counts approvals from it:
// oldest first, paginated, pending reviews private to their author, stale
// approvals dismissed when branch protection says so.
func TestReviews(t *testing.T) {
	f := newFixture(t, githubtest.Options{DismissStaleReviews: true})
	head := f.branch("crmops/r", f.main, map[string]string{"proposals/r.yaml": "r\n"})
	f.open(f.bot, "crmops/r", "r")
	review := func(c *github.Client, event, body string) *github.PullRequestReview {
		t.Helper()
		r, _, err := c.PullRequests.CreateReview(f.ctx, owner, name, 1, &github.PullRequestReviewRequest{
			Event: github.String(event), Body: github.String(body),
		})
		if err != nil {
			t.Fatalf("%s: %v", event, err)
		}
		return r
	}
	review(f.alice, "REQUEST_CHANGES", "wrong record")
	review(f.bob, "APPROVE", "")
	review(f.alice, "APPROVE", "")
	if r := review(f.bot, "COMMENT", "policy: review"); r.GetState() != "COMMENTED" {
		t.Fatalf("author's comment review: %s", r.GetState())
	}

	var states []string
	opts := &github.ListOptions{PerPage: 3}
	for {
		page, resp, err := f.bot.PullRequests.ListReviews(f.ctx, owner, name, 1, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			states = append(states, r.GetUser().GetLogin()+":"+r.GetState())
			if r.GetCommitID() != head.String() {
				t.Fatalf("review on %s, want %s", r.GetCommitID(), head)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	want := []string{"alice:CHANGES_REQUESTED", "bob:APPROVED", "alice:APPROVED", "crmops-bot:COMMENTED"}
	if !slices.Equal(states, want) {
		t.Fatalf("reviews %v, want %v", states, want)
	}

	// A review without an event stays pending, seen by its author only.
	if r := review(f.bob, "", ""); r.GetState() != "PENDING" || r.SubmittedAt != nil {
		t.Fatalf("pending review: %v", r)
	}
	_, _, err := f.bob.PullRequests.CreateReview(f.ctx, owner, name, 1, &github.PullRequestReviewRequest{})
	if msg := firstError(t, apiError(t, err, 422)); msg != "User can only have one pending review per pull request" {
		t.Fatalf("second pending review: %q", msg)
	}
	for c, n := range map[*github.Client]int{f.bob: 5, f.alice: 4} {
		rs, _, err := c.PullRequests.ListReviews(f.ctx, owner, name, 1, nil)
		if err != nil || len(rs) != n {
			t.Fatalf("%d reviews visible, want %d (%v)", len(rs), n, err)
		}
	}

	// A push dismisses the approvals; the change request stands.
	next := f.branch("crmops/r", head, map[string]string{"proposals/r.yaml": "r2\n"})
	got := f.s.PR(1)
	var after []string
	for _, r := range got.Reviews {
		after = append(after, r.User+":"+r.State)
	}
	want = []string{"alice:CHANGES_REQUESTED", "bob:DISMISSED", "alice:DISMISSED", "crmops-bot:COMMENTED", "bob:PENDING"}
	if !slices.Equal(after, want) || got.HeadSHA != next.String() {
		t.Fatalf("after push: %v on %s, want %v on %s", after, got.HeadSHA, want, next)
	}

	// An approval may name an older commit; it then does not count for the head.
	old, _, err := f.alice.PullRequests.CreateReview(f.ctx, owner, name, 1, &github.PullRequestReviewRequest{
		Event: github.String("APPROVE"), CommitID: github.String(head.String()),
	})
	if err != nil || old.GetCommitID() != head.String() {
		t.Fatalf("approval of the old head: %v %v", err, old)
	}

	if _, _, err := f.bot.PullRequests.Edit(f.ctx, owner, name, 1, &github.PullRequest{State: github.String("closed")}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.alice.PullRequests.CreateReview(f.ctx, owner, name, 1, &github.PullRequestReviewRequest{Event: github.String("APPROVE")})
	apiError(t, err, 422)
}

// TestCommentsPaginateAndConcurrentRequestsAreSafe posts comments from many
// goroutines at once and reads them back a page at a time.
func TestCommentsPaginateAndConcurrentRequestsAreSafe(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	f.branch("crmops/c", f.main, map[string]string{"proposals/c.yaml": "c\n"})
	f.open(f.bot, "crmops/c", "c")
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		c := []*github.Client{f.bot, f.alice, f.bob}[i%3]
		wg.Add(3)
		go func() {
			defer wg.Done()
			_, _, err := c.Issues.CreateComment(f.ctx, owner, name, 1, &github.IssueComment{Body: github.String(fmt.Sprintf("comment %d", i))})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, _, err := c.PullRequests.Get(f.ctx, owner, name, 1)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, _, err := c.PullRequests.List(f.ctx, owner, name, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	var ids []int64
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 15}}
	for {
		page, resp, err := f.bot.Issues.ListComments(f.ctx, owner, name, 1, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			ids = append(ids, c.GetID())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(ids) != n || !slices.IsSorted(ids) {
		t.Fatalf("%d comments, want %d oldest first: %v", len(ids), n, ids)
	}
	if got := len(f.s.PR(1).Comments); got != n {
		t.Fatalf("PR(1) has %d comments, want %d", got, n)
	}
}
