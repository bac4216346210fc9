// Package github is the forge on GitHub: a proposal is a pull request from
// branch crmops/<batch-id>, reviews are GitHub reviews, and a merge is
// GitHub's merge of the evaluated head commit.
//
// Approval evidence comes from GitHub's API — the pull request that merged a
// batch and its reviews — never from trailers in commits, which a pull
// request's author could write.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	gh "github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/workspace"
)

// Config locates the repository on GitHub.
type Config struct {
	// Repository is "owner/repo" (GITHUB_REPOSITORY in Actions).
	Repository string
	// APIURL is the REST API's base (GITHUB_API_URL); empty = api.github.com.
	APIURL string
	Token  string
	// HTTPClient carries requests; nil = http.DefaultClient's transport.
	HTTPClient *http.Client
	// Sleep waits out rate limits; nil = a real timer. Tests pass a fake.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Forge is the GitHub forge of one workspace.
type Forge struct {
	ws          *workspace.Workspace
	client      *gh.Client
	owner, repo string
	// Committer is the identity the proposal commits are made as.
	Committer string
	// MergeableWait is how long Merge waits for GitHub to compute whether a
	// pull request is mergeable.
	MergeableWait time.Duration
	sleep         func(ctx context.Context, d time.Duration) error
}

var _ forge.Forge = (*Forge)(nil)

// New connects the workspace to its repository on GitHub.
func New(ws *workspace.Workspace, cfg Config) (*Forge, error) {
	owner, repo, ok := strings.Cut(cfg.Repository, "/")
	if !ok || owner == "" || repo == "" {
		return nil, fmt.Errorf("github forge: repository %q is not owner/repo (set GITHUB_REPOSITORY)", cfg.Repository)
	}
	if cfg.Token == "" {
		return nil, errors.New("github forge: no token (set the variable forge.token_env names, GITHUB_TOKEN by default)")
	}
	base := http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	}
	sleep := cfg.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	httpClient := &http.Client{Transport: &retryTransport{base: base, sleep: sleep, maxWait: 15 * time.Minute, attempts: 6}}
	client := gh.NewClient(httpClient).WithAuthToken(cfg.Token)
	if cfg.APIURL != "" && strings.TrimRight(cfg.APIURL, "/") != "https://api.github.com" {
		u, err := url.Parse(strings.TrimRight(cfg.APIURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("github forge: API URL %q: %w", cfg.APIURL, err)
		}
		client.BaseURL = u
	}
	return &Forge{ws: ws, client: client, owner: owner, repo: repo, Committer: "crmops", MergeableWait: 30 * time.Second, sleep: sleep}, nil
}

func (f *Forge) branchRef(id string) string { return "refs/heads/" + forge.BranchPrefix + id }

func (f *Forge) trackingRef(id string) string {
	return "refs/remotes/" + f.ws.Remote() + "/" + forge.BranchPrefix + id
}

// Open pushes the proposal branch and opens its pull request. If any step
// after the push fails (the pull request, its labels, its review requests,
// its status), the pull request is closed and the branch deleted again:
// a failed open leaves no half-opened proposal behind.
func (f *Forge) Open(ctx context.Context, p forge.Proposal) (*forge.Open, error) {
	base, err := f.ws.Git.Ref(f.ws.RemoteRef())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p.BatchID, err)
	}
	who := gitrepo.Identity{Name: p.Author, Email: workspace.LoginEmail(p.Author), When: p.At}
	head, err := f.ws.Git.CommitTree(gitrepo.CommitOptions{
		Base: base, Parents: []gitrepo.Hash{base}, Files: map[string][]byte{p.Path: p.Content},
		Message: "Propose " + p.Title + "\n\nCrmops-Batch: " + p.BatchID + "\n", Author: who, Committer: who,
	})
	if err != nil {
		return nil, err
	}
	// The commit itself is pushed, never a ref another crmops process
	// could move in between.
	err = f.ws.Git.Push(ctx, f.ws.Remote(), head.String()+":"+f.branchRef(p.BatchID))
	if errors.Is(err, gitrepo.ErrRejected) {
		return nil, fmt.Errorf("open %s: branch %s%s is already on the remote (another run may have opened it); nothing was changed: %w", p.BatchID, forge.BranchPrefix, p.BatchID, forge.ErrExists)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: push branch: %w", p.BatchID, err)
	}
	pr, _, err := f.client.PullRequests.Create(ctx, f.owner, f.repo, &gh.NewPullRequest{
		Title: gh.String(p.Title), Head: gh.String(forge.BranchPrefix + p.BatchID),
		Base: gh.String(f.ws.Branch()), Body: gh.String(p.Body),
	})
	if err != nil {
		return nil, f.undoOpen(ctx, p.BatchID, 0, fmt.Errorf("open %s: create pull request: %w", p.BatchID, err))
	}
	n := pr.GetNumber()
	// The pull request's author is whoever the token is, not the proposal's
	// --as login: GitHub refuses (422) to request its review.
	author := pr.GetUser().GetLogin()
	if len(p.Labels) > 0 {
		if _, _, err := f.client.Issues.AddLabelsToIssue(ctx, f.owner, f.repo, n, p.Labels); err != nil {
			return nil, f.undoOpen(ctx, p.BatchID, n, fmt.Errorf("open %s: label pull request #%d: %w", p.BatchID, n, err))
		}
	}
	if req := reviewersRequest(p.Reviewers, author); len(req.Reviewers)+len(req.TeamReviewers) > 0 {
		if _, _, err := f.client.PullRequests.RequestReviewers(ctx, f.owner, f.repo, n, req); err != nil {
			return nil, f.undoOpen(ctx, p.BatchID, n, fmt.Errorf("open %s: request reviewers on #%d: %w", p.BatchID, n, err))
		}
	}
	if p.Status != "" {
		// The verdict as a status check on the head: an auto decision is
		// recorded by crmops, never as a fake approval.
		_, _, err := f.client.Repositories.CreateStatus(ctx, f.owner, f.repo, head.String(), &gh.RepoStatus{
			State: gh.String(p.Status), Context: gh.String(StatusContext), Description: gh.String(truncate(p.StatusDescription, 140)),
		})
		if err != nil {
			return nil, f.undoOpen(ctx, p.BatchID, n, fmt.Errorf("open %s: status on #%d: %w", p.BatchID, n, err))
		}
	}
	_ = f.ws.Locked(func() error { return f.ws.Git.SetRef(f.trackingRef(p.BatchID), head) })
	return &forge.Open{
		BatchID: p.BatchID, Branch: forge.BranchPrefix + p.BatchID, PullRequest: n, URL: pr.GetHTMLURL(),
		Head: head.String(), Base: base.String(), Author: author, Created: p.At,
		Files: []string{p.Path}, Path: p.Path, Content: p.Content,
		// The one commit, just pushed with the author's token, is the proposal.
		ChangedBy: []string{author},
	}, nil
}

// openFailedMarker starts the body of a pull request that Open closed
// because opening it failed: ClosedUnmerged skips it, since nobody rejected
// its changes.
const openFailedMarker = "<!-- crmops: open failed -->"

// undoOpen takes back a failed Open: it closes pull request n (when one was
// created), marked as a failed open rather than a rejection, and deletes the
// branch. It returns cause, with what could not be undone. It runs even when
// ctx is cancelled, the likeliest reason for the failure.
func (f *Forge) undoOpen(ctx context.Context, id string, n int, cause error) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	if n > 0 {
		body := openFailedMarker + "\nOpening this proposal failed, so crmops closed it; it is not a rejection.\n\n" + cause.Error()
		if _, _, err := f.client.PullRequests.Edit(ctx, f.owner, f.repo, n, &gh.PullRequest{State: gh.String("closed"), Body: gh.String(body)}); err != nil {
			errs = append(errs, fmt.Errorf("close pull request #%d: %w", n, err))
		}
	}
	if err := f.ws.Git.Push(ctx, f.ws.Remote(), ":"+f.branchRef(id)); err != nil {
		errs = append(errs, fmt.Errorf("delete branch %s%s: %w", forge.BranchPrefix, id, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w (undoing it failed, remove it by hand: %w)", cause, errors.Join(errs...))
	}
	return cause
}

// StatusContext names crmops' commit status, for branch protection rules.
const StatusContext = "crmops/policy"

// truncate keeps a status description within GitHub's 140 characters.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// reviewersRequest splits policy reviewers into people and teams
// ("org/team"), leaving out the pull request's author (compared
// case-insensitively, as GitHub compares logins), whom GitHub refuses (422).
func reviewersRequest(names []string, author string) gh.ReviewersRequest {
	var req gh.ReviewersRequest
	for _, n := range names {
		if _, team, ok := strings.Cut(n, "/"); ok {
			req.TeamReviewers = append(req.TeamReviewers, team)
		} else if !strings.EqualFold(n, author) {
			req.Reviewers = append(req.Reviewers, n)
		}
	}
	return req
}

// List returns the open crmops pull requests.
func (f *Forge) List(ctx context.Context) ([]*forge.Open, error) {
	prs, err := f.pulls(ctx, "open", "")
	if err != nil {
		return nil, err
	}
	var out []*forge.Open
	for _, pr := range prs {
		o, err := f.describe(ctx, pr, true)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// pulls lists crmops pull requests in state (open, closed), optionally for
// one batch, following pagination.
func (f *Forge) pulls(ctx context.Context, state, id string) ([]*gh.PullRequest, error) {
	opts := &gh.PullRequestListOptions{State: state, Base: f.ws.Branch(), ListOptions: gh.ListOptions{PerPage: 100}}
	if id != "" {
		opts.Head = f.owner + ":" + forge.BranchPrefix + id
	}
	var out []*gh.PullRequest
	for {
		prs, resp, err := f.client.PullRequests.List(ctx, f.owner, f.repo, opts)
		if err != nil {
			return nil, fmt.Errorf("list pull requests: %w", err)
		}
		for _, pr := range prs {
			if strings.HasPrefix(pr.GetHead().GetRef(), forge.BranchPrefix) {
				out = append(out, pr)
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// describe reads a pull request: its files from the API, its batch file
// from git (fetching the head when it is not here yet, as for forks), and
// when attribute is set who changed the batch file (see attribution).
func (f *Forge) describe(ctx context.Context, pr *gh.PullRequest, attribute bool) (*forge.Open, error) {
	n := pr.GetNumber()
	id := strings.TrimPrefix(pr.GetHead().GetRef(), forge.BranchPrefix)
	head := plumbing.NewHash(pr.GetHead().GetSHA())
	if _, err := f.ws.Git.CommitInfo(head); err != nil {
		ref := fmt.Sprintf("refs/crmops-pr/%d", n)
		fetch := func() error { return f.ws.Git.Fetch(ctx, f.ws.Remote(), fmt.Sprintf("+refs/pull/%d/head:%s", n, ref)) }
		if err := f.ws.Locked(fetch); err != nil {
			return nil, fmt.Errorf("pull request #%d: fetch its head: %w", n, err)
		}
	}
	files, err := f.files(ctx, n)
	if err != nil {
		return nil, err
	}
	path := batch.Path(id)
	for _, p := range files {
		if batch.IsBatchFile(p) && strings.HasPrefix(p, batch.Dir+"/") && batch.IDFromPath(p) == id {
			path = p
		}
	}
	content, err := f.ws.Git.ReadFile(head, path)
	if err != nil {
		return nil, fmt.Errorf("pull request #%d: %w", n, err)
	}
	base, err := f.ws.Git.Ref(f.ws.RemoteRef())
	if err != nil {
		return nil, err
	}
	o := &forge.Open{
		BatchID: id, Branch: pr.GetHead().GetRef(), PullRequest: n, URL: pr.GetHTMLURL(),
		Head: head.String(), Base: base.String(), Author: pr.GetUser().GetLogin(), Created: pr.GetCreatedAt().Time,
		Files: files, Path: path, Content: content, FromFork: f.fromFork(pr),
	}
	if attribute {
		if o.ChangedBy, o.Unattributed, err = f.attribution(ctx, pr, path); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (f *Forge) fromFork(pr *gh.PullRequest) bool {
	return !strings.EqualFold(pr.GetHead().GetRepo().GetFullName(), f.owner+"/"+f.repo)
}

func (f *Forge) files(ctx context.Context, n int) ([]string, error) {
	opts := &gh.ListOptions{PerPage: 100}
	var out []string
	for {
		files, resp, err := f.client.PullRequests.ListFiles(ctx, f.owner, f.repo, n, opts)
		if err != nil {
			return nil, fmt.Errorf("files of pull request #%d: %w", n, err)
		}
		for _, file := range files {
			out = append(out, file.GetFilename())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Get returns the open pull request of batch id.
func (f *Forge) Get(ctx context.Context, id string) (*forge.Open, error) {
	prs, err := f.pulls(ctx, "open", id)
	if err != nil {
		return nil, err
	}
	if len(prs) == 0 {
		return nil, fmt.Errorf("%s: %w", id, forge.ErrNoProposal)
	}
	return f.describe(ctx, prs[0], true)
}

// Approvals counts the latest review of each person that changes the
// verdict, when it approves exactly the head commit, under the four-eyes
// rule (forge.CountApprovals: not the author, nobody in o.ChangedBy), and
// when the reviewer can still write to the repository. o.ChangedBy is what
// Get or List read with o.Head; approvals count for nothing while
// o.Unattributed lists anything, which the caller checks.
func (f *Forge) Approvals(ctx context.Context, o *forge.Open) ([]forge.Approval, error) {
	return f.approvals(ctx, o.PullRequest, o.Head, o.Author, o.ChangedBy)
}

func (f *Forge) approvals(ctx context.Context, n int, head, author string, changedBy []string) ([]forge.Approval, error) {
	// One latest review per person: GitHub compares logins
	// case-insensitively, and so does the grouping.
	latest := map[string]*gh.PullRequestReview{}
	var order []string
	opts := &gh.ListOptions{PerPage: 100}
	for {
		reviews, resp, err := f.client.PullRequests.ListReviews(ctx, f.owner, f.repo, n, opts)
		if err != nil {
			return nil, fmt.Errorf("reviews of pull request #%d: %w", n, err)
		}
		for _, r := range reviews {
			switch r.GetState() {
			case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
			default:
				continue // a comment does not withdraw an approval
			}
			key := strings.ToLower(r.GetUser().GetLogin())
			if _, seen := latest[key]; !seen {
				order = append(order, key)
			}
			latest[key] = r
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	var approving []forge.Approval
	for _, key := range order {
		if r := latest[key]; r.GetState() == "APPROVED" && r.GetCommitID() == head {
			approving = append(approving, forge.Approval{Login: r.GetUser().GetLogin(), Head: head, At: r.GetSubmittedAt().Time})
		}
	}
	var out []forge.Approval
	for _, a := range forge.CountApprovals(approving, author, changedBy) {
		perm, _, err := f.client.Repositories.GetPermissionLevel(ctx, f.owner, f.repo, a.Login)
		if err != nil {
			return nil, fmt.Errorf("permission of %s: %w", a.Login, err)
		}
		switch perm.GetPermission() {
		case "admin", "maintain", "write":
			out = append(out, a)
		}
	}
	return out, nil
}

// Approve submits an approving review of the head as the token's user
// (GitHub refuses the author's own approval with 422).
func (f *Forge) Approve(ctx context.Context, o *forge.Open, login string, at time.Time) error {
	_, _, err := f.client.PullRequests.CreateReview(ctx, f.owner, f.repo, o.PullRequest, &gh.PullRequestReviewRequest{
		CommitID: gh.String(o.Head), Event: gh.String("APPROVE"),
	})
	if err != nil {
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response.StatusCode == http.StatusUnprocessableEntity {
			return fmt.Errorf("approve #%d: %w (%s)", o.PullRequest, forge.ErrSelfReview, er.Message)
		}
		return fmt.Errorf("approve #%d: %w", o.PullRequest, err)
	}
	return nil
}

// Close comments the reason and closes the pull request.
func (f *Forge) Close(ctx context.Context, o *forge.Open, login, reason string, at time.Time) error {
	if reason != "" {
		body := fmt.Sprintf("Rejected by %s: %s", login, reason)
		if _, _, err := f.client.Issues.CreateComment(ctx, f.owner, f.repo, o.PullRequest, &gh.IssueComment{Body: gh.String(body)}); err != nil {
			return fmt.Errorf("close #%d: %w", o.PullRequest, err)
		}
	}
	if _, _, err := f.client.PullRequests.Edit(ctx, f.owner, f.repo, o.PullRequest, &gh.PullRequest{State: gh.String("closed")}); err != nil {
		return fmt.Errorf("close #%d: %w", o.PullRequest, err)
	}
	return nil
}

// Merge merges the pull request at exactly the evaluated head (GitHub
// refuses with 409 if the head moved) after checking the base has not moved
// since the policy was read. It refuses a pull request from a fork: crmops
// merges only its own crmops/ branches of this repository, and deletes only
// those.
func (f *Forge) Merge(ctx context.Context, o *forge.Open, m forge.Merge) (string, error) {
	if o.FromFork {
		return "", forkRefusal(o.PullRequest)
	}
	pr, err := f.mergeable(ctx, o.PullRequest)
	if err != nil {
		return "", err
	}
	// GitHub's word, not the caller's: the head must be a crmops branch of
	// this repository.
	branch := pr.GetHead().GetRef()
	if f.fromFork(pr) {
		return "", forkRefusal(o.PullRequest)
	}
	if !strings.HasPrefix(branch, forge.BranchPrefix) || branch != o.Branch {
		return "", fmt.Errorf("merge #%d: its head is branch %q, not %q: crmops merges only its own %s branches", o.PullRequest, branch, o.Branch, forge.BranchPrefix)
	}
	if pr.GetHead().GetSHA() != m.Head {
		return "", fmt.Errorf("merge #%d: head: %w", o.PullRequest, forge.ErrMoved)
	}
	// pull.base.sha is not the base branch's live tip (GitHub refreshes it
	// only when the head is pushed), so ask the remote itself.
	tips, err := f.ws.Git.RemoteRefs(ctx, f.ws.Remote(), "refs/heads/"+f.ws.Branch())
	if err != nil {
		return "", fmt.Errorf("merge #%d: %w", o.PullRequest, err)
	}
	if tip := tips["refs/heads/"+f.ws.Branch()]; tip.String() != m.Base {
		return "", fmt.Errorf("merge #%d: base: %w", o.PullRequest, forge.ErrMoved)
	}
	var lines []string
	for _, t := range m.Trailers {
		lines = append(lines, t[0]+": "+t[1])
	}
	res, _, err := f.client.PullRequests.Merge(ctx, f.owner, f.repo, o.PullRequest, strings.Join(lines, "\n")+"\n",
		&gh.PullRequestOptions{CommitTitle: m.Title, SHA: m.Head, MergeMethod: "merge"})
	if err != nil {
		var er *gh.ErrorResponse
		if errors.As(err, &er) {
			switch er.Response.StatusCode {
			case http.StatusConflict:
				return "", fmt.Errorf("merge #%d: %w (%s)", o.PullRequest, forge.ErrMoved, er.Message)
			case http.StatusMethodNotAllowed:
				return "", fmt.Errorf("merge #%d: GitHub will not merge it: %s", o.PullRequest, er.Message)
			}
		}
		return "", fmt.Errorf("merge #%d: %w", o.PullRequest, err)
	}
	if _, err := f.client.Git.DeleteRef(ctx, f.owner, f.repo, "heads/"+branch); err != nil {
		return res.GetSHA(), fmt.Errorf("merge #%d: merged, but deleting the branch failed: %w", o.PullRequest, err)
	}
	_ = f.ws.Locked(func() error { return f.ws.Git.DeleteRef(f.trackingRef(o.BatchID)) })
	return res.GetSHA(), nil
}

func forkRefusal(n int) error {
	return fmt.Errorf("merge #%d: the pull request comes from a fork; crmops merges only branches of this repository "+
		"(a writer can push the change to a %s branch here, where it is reviewed like any proposal)", n, forge.BranchPrefix)
}

// mergeable reads the pull request until GitHub has computed whether it can
// be merged: the field is null while that runs in the background.
func (f *Forge) mergeable(ctx context.Context, n int) (*gh.PullRequest, error) {
	deadline := time.Now().Add(f.MergeableWait)
	for wait := 250 * time.Millisecond; ; wait *= 2 {
		pr, _, err := f.client.PullRequests.Get(ctx, f.owner, f.repo, n)
		if err != nil {
			return nil, fmt.Errorf("pull request #%d: %w", n, err)
		}
		if pr.GetState() != "open" {
			return nil, fmt.Errorf("pull request #%d is %s", n, pr.GetState())
		}
		if pr.Mergeable != nil {
			if !pr.GetMergeable() {
				return nil, fmt.Errorf("pull request #%d cannot be merged (%s)", n, pr.GetMergeableState())
			}
			return pr, nil
		}
		if time.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("pull request #%d: GitHub has not computed whether it is mergeable; try again", n)
		}
		if err := f.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// MergedBy finds the merged pull request of the batch and reads its
// evidence from GitHub: who opened it, who changed the batch file at path,
// the reviews of the merged head. The decision is what that evidence
// supports; apply checks it against the base branch's policy. Only a pull
// request from this repository's crmops/<id> branch is looked for (head
// owner:crmops/<id>): a fork's pull request merged by hand is no crmops
// evidence.
func (f *Forge) MergedBy(ctx context.Context, id, path string) (*forge.Merged, error) {
	prs, err := f.pulls(ctx, "closed", id)
	if err != nil {
		return nil, err
	}
	for _, pr := range prs {
		if pr.MergedAt == nil || pr.GetMergeCommitSHA() == "" {
			continue
		}
		merge := plumbing.NewHash(pr.GetMergeCommitSHA())
		c, err := f.ws.Git.CommitInfo(merge)
		if err != nil {
			return nil, fmt.Errorf("merge commit of #%d: %w", pr.GetNumber(), err)
		}
		head := pr.GetHead().GetSHA()
		if len(c.Parents) != 2 || c.Parents[1].String() != head {
			// A squash or rebase merge leaves no reviewed head on main.
			return &forge.Merged{}, nil
		}
		files, err := f.ws.Git.ChangedPaths(c.Parents[0], merge)
		if err != nil {
			return nil, err
		}
		author := pr.GetUser().GetLogin()
		changedBy, unattributed, err := f.attribution(ctx, pr, path)
		if err != nil {
			return nil, err
		}
		approvals, err := f.approvals(ctx, pr.GetNumber(), head, author, changedBy)
		if err != nil {
			return nil, err
		}
		decision := batch.ModeAuto
		if len(approvals) > 0 && len(unattributed) == 0 {
			// With a change nobody can be held to, approvals prove nothing.
			decision = batch.ModeApproved
		}
		return &forge.Merged{
			MergeCommit: merge.String(), Base: c.Parents[0].String(), Head: head, PullRequest: pr.GetNumber(),
			Author: author, Decision: decision, Approvals: approvals, Files: files, FromFork: f.fromFork(pr),
			ChangedBy: changedBy, Unattributed: unattributed,
		}, nil
	}
	return &forge.Merged{}, nil
}

// ClosedUnmerged returns crmops pull requests closed without merging, with
// who closed them, so their rejection can be recorded on the base branch.
func (f *Forge) ClosedUnmerged(ctx context.Context) ([]forge.Closed, error) {
	prs, err := f.pulls(ctx, "closed", "")
	if err != nil {
		return nil, err
	}
	var out []forge.Closed
	for _, pr := range prs {
		if pr.MergedAt != nil || strings.HasPrefix(pr.GetBody(), openFailedMarker) {
			// Merged, or closed by a failed Open: nobody rejected it.
			continue
		}
		// A closed proposal is never approved: who changed it is not read.
		o, err := f.describe(ctx, pr, false)
		if err != nil {
			return nil, err
		}
		issue, _, err := f.client.Issues.Get(ctx, f.owner, f.repo, pr.GetNumber())
		if err != nil {
			return nil, fmt.Errorf("pull request #%d: %w", pr.GetNumber(), err)
		}
		by := issue.GetClosedBy().GetLogin()
		if by == "" {
			by = "unknown"
		}
		out = append(out, forge.Closed{Open: o, By: by, At: pr.GetClosedAt().Time})
	}
	return out, nil
}
