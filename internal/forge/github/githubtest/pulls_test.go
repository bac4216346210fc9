package githubtest_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/forge/github/githubtest"
	"github.com/crmops/crmops/internal/gitrepo"
)

// TestPullRequestLifecycle walks one proposal from opening to merge, the
// path crmops' GitHub forge takes, checking every answer as go-github
// decodes it.
func TestPullRequestLifecycle(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	ctx := f.ctx
	head := f.branch("crmops/b1", f.main, map[string]string{"proposals/b1.yaml": "batch: b1\nchanges: []\n"})

	// Open.
	pr, _, err := f.bot.PullRequests.Create(ctx, owner, name, &github.NewPullRequest{
		Title: github.String("Fill 1 job title"), Head: github.String("crmops/b1"),
		Base: github.String("main"), Body: github.String("One change."),
	})
	if err != nil {
		t.Fatal(err)
	}
	if pr.GetNumber() != 1 || pr.GetState() != "open" || pr.GetUser().GetLogin() != "crmops-bot" {
		t.Fatalf("created #%d %s by %s, want #1 open by crmops-bot", pr.GetNumber(), pr.GetState(), pr.GetUser().GetLogin())
	}
	if pr.GetHead().GetSHA() != head.String() || pr.GetHead().GetRef() != "crmops/b1" || pr.GetBase().GetSHA() != f.main.String() {
		t.Fatalf("head %s@%s base %s, want crmops/b1@%s base %s", pr.GetHead().GetRef(), pr.GetHead().GetSHA(), pr.GetBase().GetSHA(), head, f.main)
	}
	if pr.GetHead().GetRepo().GetFullName() != "acme/crm-changes" || pr.GetHead().GetRepo().GetFork() {
		t.Fatalf("head repo %s fork=%v, want acme/crm-changes, not a fork", pr.GetHead().GetRepo().GetFullName(), pr.GetHead().GetRepo().GetFork())
	}
	if pr.GetHTMLURL() != "https://github.com/acme/crm-changes/pull/1" || pr.Mergeable != nil || pr.GetCommits() != 1 || pr.GetChangedFiles() != 1 {
		t.Fatalf("html_url %s mergeable %v commits %d files %d", pr.GetHTMLURL(), pr.Mergeable, pr.GetCommits(), pr.GetChangedFiles())
	}
	if got := f.ref("refs/pull/1/head"); got != head {
		t.Fatalf("refs/pull/1/head = %s, want %s", got, head)
	}

	// Refusals when opening.
	_, _, err = f.bot.PullRequests.Create(ctx, owner, name, &github.NewPullRequest{
		Title: github.String("again"), Head: github.String("acme:crmops/b1"), Base: github.String("main"),
	})
	if msg := firstError(t, apiError(t, err, 422)); msg != "A pull request already exists for acme:crmops/b1." {
		t.Fatalf("duplicate: %q", msg)
	}
	_, _, err = f.bot.PullRequests.Create(ctx, owner, name, &github.NewPullRequest{
		Title: github.String("nothing"), Head: github.String("crmops/missing"), Base: github.String("main"),
	})
	if er := apiError(t, err, 422); er.Message != "Validation Failed" || er.Errors[0].Field != "head" || er.Errors[0].Code != "invalid" {
		t.Fatalf("missing head: %+v", er)
	}
	f.setRef(gitrepo.BranchRef("crmops/empty"), f.main)
	_, _, err = f.bot.PullRequests.Create(ctx, owner, name, &github.NewPullRequest{
		Title: github.String("empty"), Head: github.String("crmops/empty"), Base: github.String("main"),
	})
	if msg := firstError(t, apiError(t, err, 422)); msg != "No commits between main and crmops/empty" {
		t.Fatalf("empty: %q", msg)
	}

	// Mergeability is computed in the background: null first, then known.
	first, _, err := f.bot.PullRequests.Get(ctx, owner, name, 1)
	if err != nil {
		t.Fatal(err)
	}
	if first.Mergeable != nil || first.GetMergeableState() != "unknown" {
		t.Fatalf("first read: mergeable %v state %s, want null, unknown", first.Mergeable, first.GetMergeableState())
	}
	second := f.get(f.bot, 1)
	if !second.GetMergeable() || second.GetMergeableState() != "clean" || second.GetMerged() {
		t.Fatalf("second read: mergeable %v state %s merged %v", second.Mergeable, second.GetMergeableState(), second.GetMerged())
	}
	if got := f.ref("refs/pull/1/merge"); second.GetMergeCommitSHA() != got.String() {
		t.Fatalf("open PR's merge_commit_sha %s, want the test merge %s", second.GetMergeCommitSHA(), got)
	}

	files, _, err := f.bot.PullRequests.ListFiles(ctx, owner, name, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].GetFilename() != "proposals/b1.yaml" || files[0].GetStatus() != "added" || files[0].GetAdditions() != 2 {
		t.Fatalf("files: %v", files)
	}

	// Reviewers, labels, comments, statuses.
	pr, resp, err := f.bot.PullRequests.RequestReviewers(ctx, owner, name, 1, github.ReviewersRequest{Reviewers: []string{"alice"}})
	if err != nil || resp.StatusCode != 201 || len(pr.RequestedReviewers) != 1 || pr.RequestedReviewers[0].GetLogin() != "alice" {
		t.Fatalf("request alice: %v %v", err, pr.RequestedReviewers)
	}
	_, _, err = f.bot.PullRequests.RequestReviewers(ctx, owner, name, 1, github.ReviewersRequest{Reviewers: []string{"crmops-bot"}})
	if er := apiError(t, err, 422); er.Message != "Review cannot be requested from pull request author." {
		t.Fatalf("request author: %q", er.Message)
	}
	labels, _, err := f.bot.Issues.AddLabelsToIssue(ctx, owner, name, 1, []string{"crmops", "needs-review"})
	if err != nil || len(labels) != 2 || labels[1].GetName() != "needs-review" {
		t.Fatalf("labels: %v %v", err, labels)
	}
	comment, resp, err := f.bot.Issues.CreateComment(ctx, owner, name, 1, &github.IssueComment{Body: github.String("Policy: review (1 approval).")})
	if err != nil || resp.StatusCode != 201 || comment.GetUser().GetLogin() != "crmops-bot" {
		t.Fatalf("comment: %v %v", err, comment)
	}
	_, resp, err = f.bot.Repositories.CreateStatus(ctx, owner, name, head.String(), &github.RepoStatus{
		State: github.String("pending"), Context: github.String("crmops/policy"), Description: github.String("needs 1 approval"),
	})
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("status: %v", err)
	}
	statuses, _, err := f.bot.Repositories.ListStatuses(ctx, owner, name, "crmops/b1", nil)
	if err != nil || len(statuses) != 1 || statuses[0].GetContext() != "crmops/policy" || statuses[0].GetCreator().GetLogin() != "crmops-bot" {
		t.Fatalf("statuses by branch name: %v %v", err, statuses)
	}

	// Reviews: the author cannot approve, a reviewer can.
	_, _, err = f.bot.PullRequests.CreateReview(ctx, owner, name, 1, &github.PullRequestReviewRequest{Event: github.String("APPROVE")})
	if er := apiError(t, err, 422); er.Message != "Unprocessable Entity" || firstError(t, er) != "Can not approve your own pull request" {
		t.Fatalf("self-approval: %+v", er)
	}
	rev, _, err := f.alice.PullRequests.CreateReview(ctx, owner, name, 1, &github.PullRequestReviewRequest{Event: github.String("APPROVE")})
	if err != nil {
		t.Fatal(err)
	}
	if rev.GetState() != "APPROVED" || rev.GetCommitID() != head.String() || rev.GetUser().GetLogin() != "alice" || rev.SubmittedAt == nil {
		t.Fatalf("review: %v", rev)
	}
	if st := f.s.PR(1); len(st.RequestedReviewers) != 0 {
		t.Fatalf("requested reviewers after alice's review: %v", st.RequestedReviewers)
	}

	// A push to the branch moves the pull request; mergeability starts over.
	head2 := f.branch("crmops/b1", head, map[string]string{"proposals/b1.yaml": "batch: b1\nchanges: [edited]\n"})
	moved, _, err := f.bot.PullRequests.Get(ctx, owner, name, 1)
	if err != nil {
		t.Fatal(err)
	}
	if moved.GetHead().GetSHA() != head2.String() || moved.Mergeable != nil {
		t.Fatalf("after push: head %s mergeable %v, want %s and null", moved.GetHead().GetSHA(), moved.Mergeable, head2)
	}
	if got := f.ref("refs/pull/1/head"); got != head2 {
		t.Fatalf("refs/pull/1/head = %s, want %s", got, head2)
	}

	// Merging the head that was approved is refused: it moved.
	_, _, err = f.bot.PullRequests.Merge(ctx, owner, name, 1, "", &github.PullRequestOptions{SHA: head.String()})
	if er := apiError(t, err, 409); er.Message != "Head branch was modified. Review and try the merge again." {
		t.Fatalf("stale merge: %q", er.Message)
	}

	// Merging the current head writes a real merge commit and moves main.
	trailers := "Crmops-Batch: b1\nCrmops-Decision: approved\nApproved-by: alice"
	res, _, err := f.bot.PullRequests.Merge(ctx, owner, name, 1, "Fill 1 job title\n\n"+trailers,
		&github.PullRequestOptions{SHA: head2.String(), MergeMethod: "merge"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.GetMerged() || res.GetMessage() != "Pull Request successfully merged" {
		t.Fatalf("merge result: %v", res)
	}
	merge := f.ref(gitrepo.BranchRef("main"))
	if res.GetSHA() != merge.String() {
		t.Fatalf("merge sha %s, main at %s", res.GetSHA(), merge)
	}
	mc, err := f.repo.CommitInfo(merge)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mc.Parents, []gitrepo.Hash{f.main, head2}) {
		t.Fatalf("merge parents %v, want [%s %s]", mc.Parents, f.main, head2)
	}
	wantMsg := "Merge pull request #1 from acme/crmops/b1\n\nFill 1 job title\n\n" + trailers
	if mc.Message != wantMsg {
		t.Fatalf("merge message:\n%s\nwant:\n%s", mc.Message, wantMsg)
	}
	if got := mc.TrailerValues("Approved-by"); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("Approved-by trailers %v", got)
	}
	if mc.Committer.Name != "GitHub" || mc.Committer.Email != "noreply@github.com" || mc.Author.Name != "crmops-bot" {
		t.Fatalf("merge by %s <%s>, committed by %s <%s>", mc.Author.Name, mc.Author.Email, mc.Committer.Name, mc.Committer.Email)
	}
	data, err := f.repo.ReadFile(merge, "proposals/b1.yaml")
	if err != nil || string(data) != "batch: b1\nchanges: [edited]\n" {
		t.Fatalf("merged file: %q %v", data, err)
	}

	merged, _, err := f.bot.PullRequests.Get(ctx, owner, name, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !merged.GetMerged() || merged.GetState() != "closed" || merged.GetMergeCommitSHA() != merge.String() ||
		merged.GetMergedBy().GetLogin() != "crmops-bot" || merged.MergedAt == nil || merged.GetBase().GetSHA() != f.main.String() {
		t.Fatalf("after merge: %v", merged)
	}
	if ok, _, err := f.bot.PullRequests.IsMerged(ctx, owner, name, 1); err != nil || !ok {
		t.Fatalf("IsMerged: %v %v", ok, err)
	}
	_, _, err = f.bot.PullRequests.Merge(ctx, owner, name, 1, "", &github.PullRequestOptions{SHA: head2.String()})
	if er := apiError(t, err, 405); er.Message != "Pull Request is not mergeable" {
		t.Fatalf("second merge: %q", er.Message)
	}

	// The merge and the head both lead back to the pull request.
	for _, sha := range []gitrepo.Hash{merge, head2, head} {
		prs, _, err := f.bot.PullRequests.ListPullRequestsWithCommit(ctx, owner, name, sha.String(), nil)
		if err != nil || len(prs) != 1 || prs[0].GetNumber() != 1 {
			t.Fatalf("pulls with %s: %v %v", sha, err, prs)
		}
	}
	if prs, _, err := f.bot.PullRequests.ListPullRequestsWithCommit(ctx, owner, name, f.main.String(), nil); err != nil || len(prs) != 0 {
		t.Fatalf("pulls with the old main: %v %v", err, prs)
	}

	// The branch is kept until deleted.
	if _, err := f.bot.Git.DeleteRef(ctx, owner, name, "heads/crmops/b1"); err != nil {
		t.Fatal(err)
	}
	_, err = f.bot.Git.DeleteRef(ctx, owner, name, "refs/heads/crmops/b1")
	if er := apiError(t, err, 422); er.Message != "Reference does not exist" {
		t.Fatalf("second delete: %q", er.Message)
	}
	if !slices.Contains(f.s.Requests(), "PUT /repos/acme/crm-changes/pulls/1/merge") {
		t.Fatalf("requests: %v", f.s.Requests())
	}
}

// TestListPaginates opens more pull requests than one page can hold and
// reads them back as GitHub serves them: newest first, Link headers, the
// head filter.
func TestListPaginates(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	const total = 130
	for i := range total {
		branch := fmt.Sprintf("crmops/b%03d", i+1)
		f.branch(branch, f.main, map[string]string{"proposals/" + branch[7:] + ".yaml": "x\n"})
		f.open(f.bot, branch, "batch "+branch)
	}

	opts := &github.PullRequestListOptions{ListOptions: github.ListOptions{PerPage: 100}}
	page1, resp, err := f.bot.PullRequests.List(f.ctx, owner, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(page1) != 100 || resp.NextPage != 2 || resp.LastPage != 2 || page1[0].GetNumber() != total {
		t.Fatalf("page 1: %d pulls, next %d, last %d, first #%d", len(page1), resp.NextPage, resp.LastPage, page1[0].GetNumber())
	}
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `page=2&per_page=100>; rel="next"`) || !strings.Contains(link, `rel="last"`) {
		t.Fatalf("Link: %s", link)
	}
	var seen []int
	for opts.Page = 1; ; opts.Page = resp.NextPage {
		prs, r, err := f.bot.PullRequests.List(f.ctx, owner, name, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range prs {
			seen = append(seen, pr.GetNumber())
		}
		if resp = r; r.NextPage == 0 {
			if r.PrevPage != 1 || r.FirstPage != 1 {
				t.Fatalf("last page: prev %d first %d", r.PrevPage, r.FirstPage)
			}
			break
		}
	}
	if len(seen) != total || !slices.IsSortedFunc(seen, func(a, b int) int { return b - a }) {
		t.Fatalf("saw %d pulls, want %d newest first: %v", len(seen), total, seen)
	}

	byDefault, resp, err := f.bot.PullRequests.List(f.ctx, owner, name, nil)
	if err != nil || len(byDefault) != 30 || resp.LastPage != 5 {
		t.Fatalf("default page: %d pulls, last %d, %v", len(byDefault), resp.LastPage, err)
	}
	one, _, err := f.bot.PullRequests.List(f.ctx, owner, name, &github.PullRequestListOptions{Head: "acme:crmops/b007"})
	if err != nil || len(one) != 1 || one[0].GetNumber() != 7 {
		t.Fatalf("head filter: %v %v", err, one)
	}
	// Without "owner:" GitHub ignores the filter rather than failing.
	ignored, _, err := f.bot.PullRequests.List(f.ctx, owner, name, &github.PullRequestListOptions{Head: "crmops/b007"})
	if err != nil || len(ignored) != 30 {
		t.Fatalf("bare head filter: %d pulls, %v", len(ignored), err)
	}
	closed, _, err := f.bot.PullRequests.List(f.ctx, owner, name, &github.PullRequestListOptions{State: "closed"})
	if err != nil || len(closed) != 0 {
		t.Fatalf("closed: %v %v", err, closed)
	}
}

// TestMergeIsThreeWay merges pull requests whose base moved after they were
// opened: changes to different paths combine, changes to the same path
// conflict.
func TestMergeIsThreeWay(t *testing.T) {
	tests := []struct {
		name string
		// first is merged before second, both branch off main.
		first, second map[string]string
		firstDel      []string
		secondDel     []string
		conflict      bool
	}{
		{name: "different files combine",
			first:  map[string]string{"proposals/a.yaml": "a\n"},
			second: map[string]string{"proposals/b.yaml": "b\n"}},
		{name: "the same change on both sides is no conflict",
			first:  map[string]string{"proposals/a.yaml": "same\n", "proposals/x.yaml": "x\n"},
			second: map[string]string{"proposals/a.yaml": "same\n"}},
		{name: "one file changed differently conflicts",
			first:    map[string]string{"policies/default.yaml": "default: auto\n"},
			second:   map[string]string{"policies/default.yaml": "default: deny\n"},
			conflict: true},
		{name: "a file deleted on one side and changed on the other conflicts",
			firstDel: []string{"policies/default.yaml"},
			second:   map[string]string{"policies/default.yaml": "default: deny\n"},
			conflict: true},
		{name: "a file where the other side made a directory conflicts",
			first:    map[string]string{"proposals/2026": "a file\n"},
			second:   map[string]string{"proposals/2026/b.yaml": "b\n"},
			conflict: true},
		{name: "a directory where the other side made a file conflicts",
			first:    map[string]string{"proposals/2026/a.yaml": "a\n"},
			second:   map[string]string{"proposals/2026": "a file\n"},
			conflict: true},
		{name: "a deletion merges",
			first:     map[string]string{"proposals/a.yaml": "a\n"},
			secondDel: []string{"crmops.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, githubtest.Options{})
			first := f.branch("crmops/first", f.main, tc.first, tc.firstDel...)
			second := f.branch("crmops/second", f.main, tc.second, tc.secondDel...)
			f.open(f.bot, "crmops/first", "first")
			f.open(f.bot, "crmops/second", "second")
			if _, _, err := f.bot.PullRequests.Merge(f.ctx, owner, name, 1, "", &github.PullRequestOptions{SHA: first.String()}); err != nil {
				t.Fatal(err)
			}
			firstMerge := f.ref(gitrepo.BranchRef("main"))

			// Mergeability is against main now; base.sha, as on GitHub,
			// still names main as it was when the head last moved.
			pr := f.get(f.bot, 2)
			if pr.GetMergeable() == tc.conflict || pr.GetBase().GetSHA() != f.main.String() {
				t.Fatalf("mergeable %v (%s), base.sha %s, want %v and %s", pr.GetMergeable(), pr.GetMergeableState(), pr.GetBase().GetSHA(), !tc.conflict, f.main)
			}
			if st := f.s.PR(2); st.BaseTip != firstMerge.String() {
				t.Fatalf("base tip %s, want %s", st.BaseTip, firstMerge)
			}
			_, _, err := f.bot.PullRequests.Merge(f.ctx, owner, name, 2, "trailers", &github.PullRequestOptions{
				SHA: second.String(), CommitTitle: "Merge batch second",
			})
			if tc.conflict {
				if er := apiError(t, err, 405); er.Message != "Pull Request is not mergeable" {
					t.Fatalf("conflicting merge: %q", er.Message)
				}
				if got := f.ref(gitrepo.BranchRef("main")); got != firstMerge {
					t.Fatalf("main moved to %s on a refused merge", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			merge := f.ref(gitrepo.BranchRef("main"))
			mc, err := f.repo.CommitInfo(merge)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(mc.Parents, []gitrepo.Hash{firstMerge, second}) || mc.Message != "Merge batch second\n\ntrailers" {
				t.Fatalf("merge %v %q", mc.Parents, mc.Message)
			}
			// The merged tree is main's files plus both sides' edits.
			want := map[string]string{"crmops.yaml": "version: 1\n", "policies/default.yaml": "version: 1\ndefault: review\n"}
			for _, side := range []struct {
				files map[string]string
				del   []string
			}{{tc.first, tc.firstDel}, {tc.second, tc.secondDel}} {
				for p, s := range side.files {
					want[p] = s
				}
				for _, p := range side.del {
					delete(want, p)
				}
			}
			got, err := f.repo.ListFiles(merge, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("merged files %v, want %v", got, want)
			}
			for p, s := range want {
				if data, err := f.repo.ReadFile(merge, p); err != nil || string(data) != s {
					t.Fatalf("%s: %q %v, want %q", p, data, err, s)
				}
			}
		})
	}
}

// TestMergeRefusals covers the other reasons GitHub gives for not merging.
func TestMergeRefusals(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	f.branch("crmops/a", f.main, map[string]string{"proposals/a.yaml": "a\n"})
	f.open(f.bot, "crmops/a", "a")
	f.branch("crmops/draft", f.main, map[string]string{"proposals/d.yaml": "d\n"})
	if _, _, err := f.bot.PullRequests.Create(f.ctx, owner, name, &github.NewPullRequest{
		Title: github.String("d"), Head: github.String("crmops/draft"), Base: github.String("main"), Draft: github.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}

	_, _, err := f.bot.PullRequests.Merge(f.ctx, owner, name, 1, "", &github.PullRequestOptions{MergeMethod: "squash"})
	if er := apiError(t, err, 405); er.Message != "Squash merges are not allowed on this repository." {
		t.Fatalf("squash: %q", er.Message)
	}
	_, _, err = f.bot.PullRequests.Merge(f.ctx, owner, name, 2, "", nil)
	if er := apiError(t, err, 405); er.Message != "Pull Request is still a draft" {
		t.Fatalf("draft: %q", er.Message)
	}
	f.s.SetPermission("alice", "read")
	_, _, err = f.alice.PullRequests.Merge(f.ctx, owner, name, 1, "", nil)
	apiError(t, err, 403)

	if _, _, err := f.bot.PullRequests.Edit(f.ctx, owner, name, 1, &github.PullRequest{State: github.String("closed")}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.bot.PullRequests.Merge(f.ctx, owner, name, 1, "", nil)
	if er := apiError(t, err, 405); er.Message != "Pull Request is not mergeable" {
		t.Fatalf("closed: %q", er.Message)
	}
	issue, _, err := f.bot.Issues.Get(f.ctx, owner, name, 1)
	if err != nil || issue.GetState() != "closed" || issue.GetClosedBy().GetLogin() != "crmops-bot" || !issue.IsPullRequest() {
		t.Fatalf("closed pull request as an issue: %v %v", err, issue)
	}
	if got := f.ref(gitrepo.BranchRef("main")); got != f.main {
		t.Fatalf("main moved to %s", got)
	}
}

// TestHeadFollowsPushes pushes with real git (git-receive-pack, packs kept
// on the remote) and sees the pull request follow, then closes it by
// deleting its branch, as GitHub does.
func TestHeadFollowsPushes(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	// Keep every pushed pack as a pack: objects the double must find
	// without having seen the pack when it last opened the repository.
	cfg, err := os.OpenFile(filepath.Join(f.s.RemoteDir(), "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(cfg, "[receive]\n\tunpackLimit = 1\n"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Close(); err != nil {
		t.Fatal(err)
	}
	work, err := gitrepo.Clone(f.ctx, f.s.RemoteDir(), filepath.Join(t.TempDir(), "work"), nil)
	if err != nil {
		t.Fatal(err)
	}
	push := func(parent gitrepo.Hash, content string) gitrepo.Hash {
		t.Helper()
		h, err := work.CommitTree(gitrepo.CommitOptions{
			Base: parent, Parents: []gitrepo.Hash{parent},
			Files:   map[string][]byte{"proposals/p.yaml": []byte(content)},
			Message: "propose\n", Author: gitrepo.Identity{Name: "crmops", Email: "crmops@example.com", When: clock()()},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := work.SetRef(gitrepo.BranchRef("crmops/p"), h); err != nil {
			t.Fatal(err)
		}
		if err := work.Push(context.Background(), "origin", "+refs/heads/crmops/p:refs/heads/crmops/p"); err != nil {
			t.Fatal(err)
		}
		return h
	}
	first := push(f.main, "one\n")
	if packs, _ := filepath.Glob(filepath.Join(f.s.RemoteDir(), "objects", "pack", "*.pack")); len(packs) == 0 {
		t.Fatal("the push left no pack on the remote; the test no longer covers packs")
	}
	pr := f.open(f.bot, "crmops/p", "p")
	if pr.GetHead().GetSHA() != first.String() {
		t.Fatalf("head %s, want %s", pr.GetHead().GetSHA(), first)
	}
	second := push(first, "two\n")
	if got := f.get(f.bot, 1); got.GetHead().GetSHA() != second.String() || !got.GetMergeable() {
		t.Fatalf("after push: head %s mergeable %v, want %s", got.GetHead().GetSHA(), got.Mergeable, second)
	}
	files, _, err := f.bot.PullRequests.ListFiles(f.ctx, owner, name, 1, nil)
	if err != nil || len(files) != 1 || files[0].GetStatus() != "added" {
		t.Fatalf("files: %v %v", err, files)
	}

	if _, err := f.bot.Git.DeleteRef(f.ctx, owner, name, "refs/heads/crmops/p"); err != nil {
		t.Fatal(err)
	}
	if st := f.s.PR(1); st.State != "closed" || st.Merged || st.ClosedBy != "crmops-bot" {
		t.Fatalf("after deleting the head branch: %s merged=%v closed by %q", st.State, st.Merged, st.ClosedBy)
	}
	_, _, err = f.bot.PullRequests.Edit(f.ctx, owner, name, 1, &github.PullRequest{State: github.String("open")})
	apiError(t, err, 422)
}

// TestForkPullRequest opens a pull request from a fork and checks the
// fields crmops must refuse it by.
func TestForkPullRequest(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	head := f.commit(f.main, map[string]string{"proposals/evil.yaml": "changes: [everything]\n"})
	n := f.s.OpenForkPR(githubtest.ForkPR{Owner: "mallory", Branch: "crmops/evil", Head: head, Title: "Totally fine"})

	pr := f.get(f.bot, n)
	h := pr.GetHead()
	if h.GetRepo().GetFullName() != "mallory/crm-changes" || !h.GetRepo().GetFork() || h.GetLabel() != "mallory:crmops/evil" ||
		h.GetSHA() != head.String() || h.GetUser().GetLogin() != "mallory" || pr.GetUser().GetLogin() != "mallory" {
		t.Fatalf("fork head: %v by %s", h, pr.GetUser().GetLogin())
	}
	if b := pr.GetBase(); b.GetRepo().GetFullName() != "acme/crm-changes" || b.GetRepo().GetFork() || pr.GetAuthorAssociation() != "NONE" {
		t.Fatalf("base: %v, association %s", b, pr.GetAuthorAssociation())
	}
	if got := f.ref(fmt.Sprintf("refs/pull/%d/head", n)); got != head {
		t.Fatalf("refs/pull/%d/head = %s, want %s", n, got, head)
	}
	for filter, want := range map[string]int{"mallory:crmops/evil": 1, "acme:crmops/evil": 0} {
		prs, _, err := f.bot.PullRequests.List(f.ctx, owner, name, &github.PullRequestListOptions{Head: filter})
		if err != nil || len(prs) != want {
			t.Fatalf("head %s: %d pulls, want %d (%v)", filter, len(prs), want, err)
		}
	}
	perm, _, err := f.bot.Repositories.GetPermissionLevel(f.ctx, owner, name, "mallory")
	if err != nil || perm.GetPermission() != "none" {
		t.Fatalf("mallory's permission: %v %v", perm, err)
	}

	next := f.commit(head, map[string]string{"proposals/evil.yaml": "changes: [more]\n"})
	f.s.PushFork(n, next)
	if got := f.s.PR(n); got.HeadSHA != next.String() || got.HeadRepo != "mallory/crm-changes" || !got.Fork {
		t.Fatalf("after fork push: %+v", got)
	}
}

// TestPermissions checks the collaborator permission endpoint and that
// permissions gate what a token may do.
func TestPermissions(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	f.s.SetPermission("bob", "maintain")
	f.s.SetPermission("carol", "read")
	for login, want := range map[string][2]string{
		"alice": {"write", "write"}, "bob": {"write", "maintain"}, "carol": {"read", "read"}, "stranger": {"none", "none"},
	} {
		perm, _, err := f.bot.Repositories.GetPermissionLevel(f.ctx, owner, name, login)
		if err != nil {
			t.Fatal(err)
		}
		if perm.GetPermission() != want[0] || perm.GetUser().GetRoleName() != want[1] || perm.GetUser().GetLogin() != login {
			t.Fatalf("%s: permission %s role %s, want %s %s", login, perm.GetPermission(), perm.GetUser().GetRoleName(), want[0], want[1])
		}
	}
	f.s.SetPermission("bob", "none")
	_, _, err := f.bob.PullRequests.List(f.ctx, owner, name, nil)
	if er := apiError(t, err, 404); er.Message != "Not Found" {
		t.Fatalf("no access: %q", er.Message)
	}
}

// TestAuthenticationAndRoutes checks the answers to bad tokens and unknown
// paths.
func TestAuthenticationAndRoutes(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	_, _, err := f.s.Client("stolen").PullRequests.List(f.ctx, owner, name, nil)
	if er := apiError(t, err, 401); er.Message != "Bad credentials" {
		t.Fatalf("bad token: %q", er.Message)
	}
	_, _, err = f.s.Client("").PullRequests.List(f.ctx, owner, name, nil)
	if er := apiError(t, err, 401); er.Message != "Requires authentication" {
		t.Fatalf("no token: %q", er.Message)
	}
	_, _, err = f.bot.Issues.ListByRepo(f.ctx, owner, name, nil)
	if er := apiError(t, err, 404); er.Message != "Not Found" || er.DocumentationURL == "" {
		t.Fatalf("unknown route: %+v", er)
	}
	_, _, err = f.bot.PullRequests.List(f.ctx, owner, "other-repo", nil)
	apiError(t, err, 404)
	_, _, err = f.bot.PullRequests.Get(f.ctx, owner, name, 99)
	apiError(t, err, 404)
}

// TestBaseSHALags checks that base.sha, like GitHub's, names the base
// branch as of the last push to the head, not its tip now.
func TestBaseSHALags(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	a := f.branch("crmops/a", f.main, map[string]string{"proposals/a.yaml": "a\n"})
	b := f.branch("crmops/b", f.main, map[string]string{"proposals/b.yaml": "b\n"})
	f.open(f.bot, "crmops/a", "a")
	f.open(f.bot, "crmops/b", "b")
	if _, _, err := f.bot.PullRequests.Merge(f.ctx, owner, name, 1, "", &github.PullRequestOptions{SHA: a.String()}); err != nil {
		t.Fatal(err)
	}
	newMain := f.ref(gitrepo.BranchRef("main"))
	if pr := f.get(f.bot, 2); pr.GetBase().GetSHA() != f.main.String() {
		t.Fatalf("base.sha %s before a push, want the old main %s", pr.GetBase().GetSHA(), f.main)
	}
	f.branch("crmops/b", b, map[string]string{"proposals/b.yaml": "b2\n"})
	if pr := f.get(f.bot, 2); pr.GetBase().GetSHA() != newMain.String() {
		t.Fatalf("base.sha %s after a push, want main %s", pr.GetBase().GetSHA(), newMain)
	}
}
