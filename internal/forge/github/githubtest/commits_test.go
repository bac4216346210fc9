package githubtest_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/forge/github/githubtest"
	"github.com/crmops/crmops/internal/gitrepo"
)

// commitAs writes a commit on parents as author and committer.
func (f *fixture) commitAs(parents []gitrepo.Hash, files map[string]string, author, committer string) gitrepo.Hash {
	f.t.Helper()
	f.tick++
	fm := map[string][]byte{}
	for p, s := range files {
		fm[p] = []byte(s)
	}
	at := time.Date(2026, 11, 24, 5, 0, f.tick, 0, time.UTC)
	h, err := f.repo.CommitTree(gitrepo.CommitOptions{
		Base: parents[0], Parents: parents, Files: fm, Message: "commit\n",
		Author: gitrepo.Identity{Name: "A", Email: author, When: at}, Committer: gitrepo.Identity{Name: "C", Email: committer, When: at},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// TestPullRequestCommits lists a pull request's commits as crmops reads
// who changed a batch: oldest first, paginated, with the accounts GitHub
// links the author's and committer's e-mail addresses to, null for none.
func TestPullRequestCommits(t *testing.T) {
	f := newFixture(t, githubtest.Options{Emails: map[string]string{"Bob@Example.com": "bob"}})
	alice := f.s.NoReplyEmail("alice")
	c1 := f.commitAs([]gitrepo.Hash{f.main}, map[string]string{"proposals/c.yaml": "1\n"}, "crmops@users.noreply.crmops", "crmops@users.noreply.crmops")
	c2 := f.commitAs([]gitrepo.Hash{c1}, map[string]string{"proposals/c.yaml": "2\n"}, alice, "noreply@github.com")
	c3 := f.commitAs([]gitrepo.Hash{c2}, map[string]string{"proposals/c.yaml": "3\n"}, "bob@example.com", "12345+alice@users.noreply.github.com")
	f.setRef(gitrepo.BranchRef("crmops/c"), c3)
	f.open(f.bot, "crmops/c", "c")

	type row struct{ sha, author, committer string }
	var got []row
	opts := &github.ListOptions{PerPage: 2}
	for {
		page, resp, err := f.bot.PullRequests.ListCommits(f.ctx, owner, name, 1, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			got = append(got, row{c.GetSHA(), c.GetAuthor().GetLogin(), c.GetCommitter().GetLogin()})
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	// A no-reply address with someone else's id is nobody's.
	want := []row{{c1.String(), "", ""}, {c2.String(), "alice", githubtest.WebFlow}, {c3.String(), "bob", ""}}
	if !slices.Equal(got, want) {
		t.Fatalf("commits %v, want %v", got, want)
	}
	page, _, err := f.bot.PullRequests.ListCommits(f.ctx, owner, name, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := page[1]
	if c.GetCommit().GetAuthor().GetEmail() != alice || c.GetCommit().GetMessage() != "commit" || len(c.Parents) != 1 ||
		c.Parents[0].GetSHA() != c1.String() || c.Commit.GetVerification().GetVerified() || c.Author.GetType() != "User" {
		t.Fatalf("commit %v", c)
	}

	f.s.LinkEmail("crmops@users.noreply.crmops", "crmops-bot")
	if page, _, err = f.bot.PullRequests.ListCommits(f.ctx, owner, name, 1, nil); err != nil || page[0].GetAuthor().GetLogin() != "crmops-bot" {
		t.Fatalf("after linking: %v %v", err, page[0].GetAuthor())
	}
}

// TestPullRequestCommitsStopAt250 checks GitHub's cap: 250 commits listed
// at most, whatever the pages.
func TestPullRequestCommitsStopAt250(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	head := f.main
	for i := range githubtest.MaxPullCommits + 5 {
		head = f.commit(head, map[string]string{"proposals/many.yaml": fmt.Sprint(i)})
	}
	f.setRef(gitrepo.BranchRef("crmops/many"), head)
	pr := f.open(f.bot, "crmops/many", "many")
	if pr.GetCommits() != githubtest.MaxPullCommits+5 {
		t.Fatalf("commits %d", pr.GetCommits())
	}
	n := 0
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := f.bot.PullRequests.ListCommits(f.ctx, owner, name, 1, opts)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if n != githubtest.MaxPullCommits {
		t.Fatalf("listed %d commits, want %d", n, githubtest.MaxPullCommits)
	}
}

// TestIssueEvents checks the events crmops reads to know whether a pull
// request's head was rewritten: force pushes and deletions of the head, and
// the closes, reopens and merges around them.
func TestIssueEvents(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	first := f.branch("crmops/e", f.main, map[string]string{"proposals/e.yaml": "1\n"})
	f.open(f.bot, "crmops/e", "e")
	events := func() []string {
		t.Helper()
		var out []string
		opts := &github.ListOptions{PerPage: 2}
		for {
			page, resp, err := f.bot.Issues.ListIssueEvents(f.ctx, owner, name, 1, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				out = append(out, e.GetEvent()+":"+e.GetActor().GetLogin())
			}
			if resp.NextPage == 0 {
				return out
			}
			opts.Page = resp.NextPage
		}
	}
	f.branch("crmops/e", first, map[string]string{"proposals/e.yaml": "2\n"}) // a fast-forward: no event
	if got := events(); len(got) != 0 {
		t.Fatalf("events after a push %v, want none", got)
	}
	forced := f.branch("crmops/e", f.main, map[string]string{"proposals/e.yaml": "3\n"})
	if got := events(); !slices.Equal(got, []string{"head_ref_force_pushed:"}) {
		t.Fatalf("events after a force push %v", got)
	}
	if _, err := f.alice.Git.DeleteRef(f.ctx, owner, name, "heads/crmops/e"); err != nil {
		t.Fatal(err)
	}
	f.setRef(gitrepo.BranchRef("crmops/e"), forced)
	if _, _, err := f.alice.PullRequests.Edit(f.ctx, owner, name, 1, &github.PullRequest{State: github.String("open")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.alice.PullRequests.Merge(f.ctx, owner, name, 1, "", &github.PullRequestOptions{SHA: forced.String()}); err != nil {
		t.Fatal(err)
	}
	want := []string{"head_ref_force_pushed:", "head_ref_deleted:alice", "closed:alice", "reopened:alice", "merged:alice", "closed:alice"}
	if got := events(); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// TestReviewCannotBeRequestedFromTheAuthorInAnyCase: GitHub compares logins
// case-insensitively.
func TestReviewCannotBeRequestedFromTheAuthorInAnyCase(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	f.branch("crmops/q", f.main, map[string]string{"proposals/q.yaml": "q\n"})
	f.open(f.bot, "crmops/q", "q")
	_, _, err := f.bot.PullRequests.RequestReviewers(f.ctx, owner, name, 1, github.ReviewersRequest{Reviewers: []string{"alice", "CRMOPS-Bot"}})
	if er := apiError(t, err, 422); er.Message != "Review cannot be requested from pull request author." {
		t.Fatalf("request author: %q", er.Message)
	}
	if st := f.s.PR(1); len(st.RequestedReviewers) != 0 {
		t.Fatalf("a refused request still requested %v", st.RequestedReviewers)
	}
}
