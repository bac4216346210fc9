package github_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	gh "github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/forge/github/githubtest"
	"github.com/crmops/crmops/internal/gitrepo"
)

// bare is the test's handle on the repository behind the API.
func (fx *fixture) bare(t *testing.T) *gitrepo.Repo {
	t.Helper()
	r, err := gitrepo.Open(fx.srv.RemoteDir())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func who(name, email string) gitrepo.Identity {
	return gitrepo.Identity{Name: name, Email: email, When: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)}
}

// push writes a commit with parents (the tree of the first, with files
// written) as author and committer, and points branch at it, as a push of
// the branch to GitHub does.
func (fx *fixture) push(t *testing.T, branch string, parents []gitrepo.Hash, files map[string]string, author, committer gitrepo.Identity) gitrepo.Hash {
	t.Helper()
	repo := fx.bare(t)
	fm := map[string][]byte{}
	for p, s := range files {
		fm[p] = []byte(s)
	}
	h, err := repo.CommitTree(gitrepo.CommitOptions{
		Base: parents[0], Parents: parents, Files: fm, Message: "edit\n", Author: author, Committer: committer,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.SetRef(gitrepo.BranchRef(branch), h); err != nil {
		t.Fatal(err)
	}
	return h
}

func (fx *fixture) review(t *testing.T, token string, n int, head gitrepo.Hash, event string) {
	t.Helper()
	req := &gh.PullRequestReviewRequest{CommitID: gh.String(head.String()), Event: gh.String(event)}
	if event != "APPROVE" {
		req.Body = gh.String("no")
	}
	if _, _, err := fx.srv.Client(token).PullRequests.CreateReview(context.Background(), "acme", "crm-changes", n, req); err != nil {
		t.Fatalf("%s by %s: %v", event, token, err)
	}
}

func logins(as []forge.Approval) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.Login)
	}
	return out
}

func hash(s string) gitrepo.Hash { return plumbing.NewHash(s) }

// openWithEdit opens a proposal as crmops-bot and pushes one more commit to
// it that rewrites the batch, as author and committer.
func openWithEdit(t *testing.T, fx *fixture, id string, author, committer gitrepo.Identity) (*forge.Open, gitrepo.Hash) {
	t.Helper()
	ctx := context.Background()
	p := proposal(id)
	o, err := fx.forge.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	edit := fx.push(t, o.Branch, []gitrepo.Hash{hash(o.Head)},
		map[string]string{p.Path: "version: 1\nbatch: " + id + "\n# email: theirs@example.com\n"}, author, committer)
	return o, edit
}

// The adversarial review's case: the bot proposes, a writer rewrites a
// change in a commit of their own and approves the new head. Their approval
// must not count, live or as merge evidence; another person's does.
func TestAWriterWhoPushedToAProposalCannotApproveIt(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	alice := who("Alice", fx.srv.NoReplyEmail("alice"))
	o, edit := openWithEdit(t, fx, "20261124T060000Z-enrichment-a11ce0", alice, alice)
	fx.review(t, "tok-alice", o.PullRequest, edit, "APPROVE")
	fx.review(t, "tok-bob", o.PullRequest, edit, "APPROVE")

	got, err := fx.forge.Get(ctx, o.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Head != edit.String() || !slices.Equal(got.ChangedBy, []string{"crmops-bot", "alice"}) || len(got.Unattributed) != 0 {
		t.Fatalf("head %s changed by %v, unattributed %v; want %s changed by crmops-bot and alice", got.Head, got.ChangedBy, got.Unattributed, edit)
	}
	approvals, err := fx.forge.Approvals(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(logins(approvals), []string{"bob"}) {
		t.Fatalf("approvals %v, want bob's only: alice pushed the head she approved", logins(approvals))
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
	m, err := fx.forge.MergedBy(ctx, o.BatchID, o.Path)
	if err != nil {
		t.Fatal(err)
	}
	if m.PullRequest != o.PullRequest || !slices.Equal(m.ChangedBy, []string{"crmops-bot", "alice"}) ||
		!slices.Equal(logins(m.Approvals), []string{"bob"}) || m.Decision != "approved" || len(m.Unattributed) != 0 {
		t.Fatalf("merge evidence %+v: want #%d changed by crmops-bot and alice, approved by bob", m, o.PullRequest)
	}
}

// A commit whose e-mail GitHub links to no account cannot be pinned on
// anyone: it is listed, and merge evidence with it is not "approved". Once
// the address is linked, its owner is excluded instead.
func TestACommitLinkedToNoAccountIsUnattributed(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	stranger := who("Alice", "alice@example.com")
	o, edit := openWithEdit(t, fx, "20261124T060000Z-enrichment-00000a", stranger, stranger)
	fx.review(t, "tok-alice", o.PullRequest, edit, "APPROVE")

	got, err := fx.forge.Get(ctx, o.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Unattributed, []string{edit.String()}) || !slices.Equal(got.ChangedBy, []string{"crmops-bot"}) {
		t.Fatalf("unattributed %v, changed by %v; want %s unattributed", got.Unattributed, got.ChangedBy, edit)
	}

	fx.srv.LinkEmail("alice@example.com", "alice")
	got, err = fx.forge.Get(ctx, o.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Unattributed) != 0 || !slices.Equal(got.ChangedBy, []string{"crmops-bot", "alice"}) {
		t.Fatalf("after linking: unattributed %v, changed by %v", got.Unattributed, got.ChangedBy)
	}

	fx.srv.LinkEmail("alice@example.com", "") // unlinked again
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
	m, err := fx.forge.MergedBy(ctx, o.BatchID, o.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Unattributed, []string{edit.String()}) || m.Decision == "approved" {
		t.Fatalf("merge evidence: unattributed %v decision %q; want the edit listed and no approved decision", m.Unattributed, m.Decision)
	}
}

// GitHub commits web edits as web-flow: the author is the person, the
// committer is GitHub, and only the person is excluded.
func TestAWebEditIsThePersonsNotGitHubs(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	o, edit := openWithEdit(t, fx, "20261124T060000Z-enrichment-0000be",
		who("Alice", fx.srv.NoReplyEmail("alice")), who("GitHub", "noreply@github.com"))
	got, err := fx.forge.Get(ctx, o.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Head != edit.String() || !slices.Equal(got.ChangedBy, []string{"crmops-bot", "alice"}) || len(got.Unattributed) != 0 {
		t.Fatalf("changed by %v, unattributed %v; want crmops-bot and alice, nothing unattributed", got.ChangedBy, got.Unattributed)
	}
}

// Merging the base branch into a proposal, by anyone, does not change the
// batch and does not count as changing it.
func TestAMergeOfTheBaseIntoAProposalDoesNotCount(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	o, err := fx.forge.Open(ctx, proposal("20261124T060000Z-enrichment-00base"))
	if err != nil {
		t.Fatal(err)
	}
	repo := fx.bare(t)
	mainTip, err := repo.Ref(gitrepo.BranchRef("main"))
	if err != nil {
		t.Fatal(err)
	}
	nobody := who("Someone", "someone@example.com")
	moved := fx.push(t, "main", []gitrepo.Hash{mainTip}, map[string]string{"data/enrichment.csv": "email\n"}, nobody, nobody)
	merge := fx.push(t, o.Branch, []gitrepo.Hash{hash(o.Head), moved}, map[string]string{"data/enrichment.csv": "email\n"}, nobody, nobody)
	got, err := fx.forge.Get(ctx, o.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Head != merge.String() || len(got.Unattributed) != 0 || !slices.Equal(got.ChangedBy, []string{"crmops-bot"}) {
		t.Fatalf("after merging main in: head %s, unattributed %v, changed by %v", got.Head, got.Unattributed, got.ChangedBy)
	}
}

// The proposal commit crmops writes is linked to no account and vouched for
// by the pull request's author; one that replaced it by a force push is not,
// even when it looks the same.
func TestAForcePushedProposalIsUnattributed(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := "20261124T060000Z-enrichment-0force"
	o, err := fx.forge.Open(ctx, proposal(id))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fx.forge.Get(ctx, id); err != nil || len(got.Unattributed) != 0 || !slices.Equal(got.ChangedBy, []string{"crmops-bot"}) {
		t.Fatalf("as opened: %v, %+v", err, got)
	}
	mainTip, err := fx.bare(t).Ref(gitrepo.BranchRef("main"))
	if err != nil {
		t.Fatal(err)
	}
	// The identity crmops writes, which anyone can write.
	lookalike := who("crmops-bot", "crmops-bot@users.noreply.crmops")
	forced := fx.push(t, o.Branch, []gitrepo.Hash{mainTip}, map[string]string{o.Path: "version: 1\nbatch: " + id + "\n# mine\n"}, lookalike, lookalike)
	got, err := fx.forge.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Head != forced.String() || !slices.Equal(got.Unattributed, []string{forced.String()}) {
		t.Fatalf("after a force push: head %s, unattributed %v; want %s unattributed", got.Head, got.Unattributed, forced)
	}
}

// A proposal commit is vouched for only while it adds the batch file: once
// someone has pushed it to the base branch, the next commit starts the pull
// request but only rewrites the file, and is nobody's.
func TestAProposalWhoseFirstCommitReachedTheBaseIsUnattributed(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := "20261124T060000Z-enrichment-0main0"
	o, err := fx.forge.Open(ctx, proposal(id))
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.bare(t).SetRef(gitrepo.BranchRef("main"), hash(o.Head)); err != nil { // pushed straight to main
		t.Fatal(err)
	}
	lookalike := who("crmops-bot", "crmops-bot@users.noreply.crmops")
	edit := fx.push(t, o.Branch, []gitrepo.Hash{hash(o.Head)}, map[string]string{o.Path: "version: 1\nbatch: " + id + "\n# mine\n"}, lookalike, lookalike)
	if _, err := fx.ws.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := fx.forge.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Head != edit.String() || !slices.Equal(got.Unattributed, []string{edit.String()}) {
		t.Fatalf("head %s, unattributed %v; want %s unattributed", got.Head, got.Unattributed, edit)
	}
}

// GitHub lists 250 commits of a pull request at most: with that many, the
// rest cannot be read, so the proposal is unattributable.
func TestAProposalOf250CommitsIsUnattributable(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := "20261124T060000Z-enrichment-000250"
	o, err := fx.forge.Open(ctx, proposal(id))
	if err != nil {
		t.Fatal(err)
	}
	repo := fx.bare(t)
	head := hash(o.Head)
	alice := who("Alice", fx.srv.NoReplyEmail("alice"))
	for i := range githubtest.MaxPullCommits - 1 {
		head, err = repo.CommitTree(gitrepo.CommitOptions{
			Base: head, Parents: []gitrepo.Hash{head}, Files: map[string][]byte{"proposals/notes.txt": []byte(fmt.Sprint(i))},
			Message: "note\n", Author: alice, Committer: alice,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := repo.SetRef(gitrepo.BranchRef(o.Branch), head); err != nil {
		t.Fatal(err)
	}
	got, err := fx.forge.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Unattributed) != 1 || !strings.Contains(got.Unattributed[0], "250") {
		t.Fatalf("unattributed %v, want the 250-commit limit", got.Unattributed)
	}
}

// bob and BOB are one person to GitHub: BOB's later request for changes
// withdraws bob's approval.
func TestTheLatestReviewOfAPersonIsFoundWhateverTheCase(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	o, err := fx.forge.Open(ctx, proposal("20261124T060000Z-enrichment-00case"))
	if err != nil {
		t.Fatal(err)
	}
	head := hash(o.Head)
	fx.review(t, "tok-bob", o.PullRequest, head, "APPROVE")
	fx.review(t, "tok-BOB", o.PullRequest, head, "REQUEST_CHANGES")
	approvals, err := fx.forge.Approvals(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(approvals) != 0 {
		t.Fatalf("approvals %v, want none: bob's latest review requests changes", logins(approvals))
	}
	fx.review(t, "tok-alice", o.PullRequest, head, "APPROVE")
	fx.review(t, "tok-BOB", o.PullRequest, head, "APPROVE")
	fx.review(t, "tok-bob", o.PullRequest, head, "APPROVE")
	if approvals, err = fx.forge.Approvals(ctx, o); err != nil || !slices.Equal(logins(approvals), []string{"bob", "alice"}) {
		t.Fatalf("approvals %v (%v), want one of bob and alice's", logins(approvals), err)
	}
}

// Reviews are requested of everyone the policy names but the pull
// request's real author (whoever the token is), not the --as login.
func TestOpenLeavesOutThePullRequestsAuthorNotTheProposer(t *testing.T) {
	fx := newFixture(t)
	p := proposal("20261124T060000Z-enrichment-0000as")
	p.Author = "alice" // --as alice, with the bot's token
	p.Reviewers = []string{"alice", "CRMOPS-BOT", "bob"}
	o, err := fx.forge.Open(context.Background(), p)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if o.Author != "crmops-bot" {
		t.Errorf("author %q, want the pull request's: crmops-bot", o.Author)
	}
	if got := fx.srv.PR(o.PullRequest).RequestedReviewers; !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("requested %v, want alice and bob", got)
	}
}

// A step that fails after the push takes the whole open back: the pull
// request is closed (and not taken for a rejection), the branch deleted, and
// the batch can be proposed again.
func TestAFailedOpenLeavesNoProposalBehind(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := proposal("20261124T060000Z-enrichment-0undo0")
	p.Reviewers = []string{"stranger"} // no access: GitHub answers 422
	_, err := fx.forge.Open(ctx, p)
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 {
		t.Fatalf("open: %v, want GitHub's 422", err)
	}
	if pr := fx.srv.PR(1); pr.State != "closed" || pr.Merged {
		t.Errorf("the pull request is %s (merged %v), want closed", pr.State, pr.Merged)
	}
	if _, err := fx.bare(t).Ref(gitrepo.BranchRef(forge.BranchPrefix + p.BatchID)); !errors.Is(err, gitrepo.ErrRefNotFound) {
		t.Errorf("branch still there: %v", err)
	}
	if _, err := fx.forge.Get(ctx, p.BatchID); !errors.Is(err, forge.ErrNoProposal) {
		t.Errorf("get: %v, want no proposal", err)
	}
	if closed, err := fx.forge.ClosedUnmerged(ctx); err != nil || len(closed) != 0 {
		t.Errorf("closed unmerged %+v (%v): a failed open is no rejection", closed, err)
	}
	p.Reviewers = []string{"alice"}
	if _, err := fx.forge.Open(ctx, p); err != nil {
		t.Fatalf("proposing again: %v", err)
	}
}

// forkPR opens a pull request from mallory's fork whose branch has the name
// of the batch's crmops branch.
func forkPR(t *testing.T, fx *fixture, id string) (int, string) {
	t.Helper()
	repo := fx.bare(t)
	mainTip, err := repo.Ref(gitrepo.BranchRef("main"))
	if err != nil {
		t.Fatal(err)
	}
	path := "proposals/2026-11/" + id + ".yaml"
	mallory := who("mallory", fx.srv.NoReplyEmail("mallory"))
	head, err := repo.CommitTree(gitrepo.CommitOptions{
		Base: mainTip, Parents: []gitrepo.Hash{mainTip}, Files: map[string][]byte{path: []byte("version: 1\nbatch: " + id + "\n# fork\n")},
		Message: "mine\n", Author: mallory, Committer: mallory,
	})
	if err != nil {
		t.Fatal(err)
	}
	return fx.srv.OpenForkPR(githubtest.ForkPR{Owner: "mallory", Branch: forge.BranchPrefix + id, Head: head, Title: "fork"}), path
}

// A fork's pull request is visible, marked, and never acted on: Merge
// refuses it, whatever the caller says, and deletes nothing of this
// repository, not even a branch of the same name.
func TestAForkPullRequestIsListedButNeverMerged(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := "20261124T060000Z-enrichment-0f0rk0"
	own, err := fx.forge.Open(ctx, proposal(id))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := forkPR(t, fx, id)
	list, err := fx.forge.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var fork *forge.Open
	for _, o := range list {
		if o.PullRequest == n {
			fork = o
		}
	}
	if len(list) != 2 || fork == nil || !fork.FromFork || fork.BatchID != id {
		t.Fatalf("list %+v, want both pull requests, the fork's marked", list)
	}
	if got, err := fx.forge.Get(ctx, id); err != nil || got.PullRequest != own.PullRequest || got.FromFork {
		t.Fatalf("get: %+v (%v), want crmops's own pull request", got, err)
	}
	base, err := fx.ws.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, claim := range []bool{true, false} {
		o := *fork
		o.FromFork = claim // a caller that lost the flag must not matter
		_, err := fx.forge.Merge(ctx, &o, forge.Merge{Base: base.String(), Head: o.Head, Title: "merge"})
		if err == nil || !strings.Contains(err.Error(), "only branches of this repository") {
			t.Fatalf("merge of a fork (FromFork %v): %v, want a refusal", claim, err)
		}
	}
	if pr := fx.srv.PR(n); pr.State != "open" || pr.Merged {
		t.Errorf("fork pull request %s merged %v", pr.State, pr.Merged)
	}
	if pr := fx.srv.PR(own.PullRequest); pr.State != "open" || pr.HeadSHA != own.Head {
		t.Errorf("crmops's own pull request was disturbed: %+v", pr)
	}
	if _, err := fx.bare(t).Ref(gitrepo.BranchRef(own.Branch)); err != nil {
		t.Errorf("branch %s: %v", own.Branch, err)
	}
	if closed, err := fx.forge.ClosedUnmerged(ctx); err != nil || len(closed) != 0 {
		t.Errorf("closed %+v (%v)", closed, err)
	}
}

// A fork's pull request merged by hand in GitHub's interface is no crmops
// evidence: MergedBy looks only for this repository's crmops/<id> branch.
func TestAForkPullRequestMergedByHandIsNoEvidence(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	id := "20261124T060000Z-enrichment-0hand0"
	n, path := forkPR(t, fx, id)
	fx.review(t, "tok-bob", n, hash(fx.srv.PR(n).HeadSHA), "APPROVE")
	if _, _, err := fx.srv.Client("tok-alice").PullRequests.Merge(ctx, "acme", "crm-changes", n, "", &gh.PullRequestOptions{MergeMethod: "merge"}); err != nil {
		t.Fatal(err)
	}
	if !fx.srv.PR(n).Merged {
		t.Fatal("the fork's pull request was not merged")
	}
	if _, err := fx.ws.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := fx.forge.MergedBy(ctx, id, path)
	if err != nil {
		t.Fatal(err)
	}
	if m.PullRequest != 0 || m.Decision != "" || m.MergeCommit != "" || len(m.Approvals) != 0 {
		t.Fatalf("merge evidence %+v from a fork merged by hand, want none", m)
	}
}

// An author GitHub links to no account is enough to make a commit
// unattributed, even when its committer is someone GitHub knows: whoever
// wrote it cannot be excluded from approving.
func TestAnUnlinkedAuthorAloneMakesACommitUnattributed(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	o, edit := openWithEdit(t, fx, "20261124T060000Z-enrichment-0au7h0", who("Someone", "someone@example.com"), who("Bob", fx.srv.NoReplyEmail("bob")))
	got, err := fx.forge.Get(ctx, o.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Unattributed, []string{edit.String()}) {
		t.Fatalf("unattributed %v, want the edit %s: its author is linked to no account", got.Unattributed, edit)
	}
}

// An approval counts only from someone who can still write to the
// repository: a reviewer with read access approves nothing.
func TestAReviewerWhoCanOnlyReadDoesNotCount(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	o, err := fx.forge.Open(ctx, proposal("20261124T060000Z-enrichment-0read0"))
	if err != nil {
		t.Fatal(err)
	}
	fx.review(t, "tok-alice", o.PullRequest, hash(o.Head), "APPROVE")
	fx.review(t, "tok-bob", o.PullRequest, hash(o.Head), "APPROVE")
	fx.srv.SetPermission("alice", "read")
	approvals, err := fx.forge.Approvals(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(logins(approvals), []string{"bob"}) {
		t.Fatalf("approvals %v, want bob's only: alice can only read", logins(approvals))
	}
}
