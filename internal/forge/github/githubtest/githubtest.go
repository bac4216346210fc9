// Package githubtest is an in-process double of the GitHub REST API: the
// pull-request endpoints crmops calls, answered the way GitHub documents them
// (status codes, JSON shapes, error bodies, Link-header pagination, rate-limit
// headers), so that the GitHub forge can be tested end to end without a
// network or a token.
//
// The repository behind the API is a real bare git repository on disk. Tests
// and the code under test push to it by path, as they would push to GitHub;
// pull requests follow their head branches there, and a merge writes a real
// two-parent merge commit and moves the base branch with a compare-and-swap,
// as GitHub's "Create a merge commit" method does. Only that merge method is
// enabled: squash and rebase merges are refused with 405, as on a repository
// whose settings allow merge commits only.
//
// Point go-github v62 at URL (or use Client):
//
//	s := githubtest.New(t, githubtest.Options{
//		Owner: "acme", Repo: "crm-changes", BareRepo: remote,
//		Tokens: map[string]string{"bot-token": "crmops-bot", "alice-token": "alice"},
//	})
//	client := github.NewClient(nil).WithAuthToken("bot-token")
//	client.BaseURL, _ = url.Parse(s.URL()) // ".../api-v3/", trailing slash included
//
// Behaviour the double does not reproduce is listed on New.
package githubtest

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/gitrepo"
)

// Options configures a Server.
type Options struct {
	// Owner and Repo name the repository, as in "acme/crm-changes". Paths for
	// any other repository answer 404, as GitHub does for a repository the
	// token cannot see.
	Owner, Repo string
	// BareRepo is the bare repository that backs the GitHub repository: the
	// remote that tests and crmops push to. Empty creates one in a temporary
	// directory; RemoteDir returns its path.
	BareRepo string
	// DefaultBranch is the repository's default branch; "main" when empty.
	DefaultBranch string
	// Tokens maps each accepted token to the login it authenticates. Requests
	// send "Authorization: Bearer <token>" (go-github's WithAuthToken) or
	// "token <token>"; anything else is refused with 401.
	Tokens map[string]string
	// Now stamps pull requests, reviews, comments, statuses and commits;
	// time.Now when nil. Rate-limit reset times use the wall clock instead,
	// because go-github compares them with time.Now to decide whether to
	// refuse calls without sending them.
	Now func() time.Time
	// RateLimit is the primary rate limit per login and hour; 5000 (a
	// personal access token's) when zero.
	RateLimit int
	// DismissStaleReviews dismisses approving reviews when a pull request's
	// head moves, like the branch protection setting "Dismiss stale pull
	// request approvals when new commits are pushed".
	DismissStaleReviews bool
	// Emails links commit e-mail addresses to logins, as verified addresses
	// on GitHub accounts do (see LinkEmail). GitHub's no-reply addresses
	// (NoReplyEmail) are linked without being listed, and noreply@github.com
	// is WebFlow. Any other address belongs to no account: the commit's
	// author or committer is null in commit lists.
	Emails map[string]string
}

// RateLimitKind selects the rate-limit response RateLimitNext injects.
type RateLimitKind int

const (
	// Primary is the primary rate limit as GitHub usually reports it: 403
	// with x-ratelimit-remaining: 0 and x-ratelimit-reset one second ahead.
	// go-github v62 turns it into *github.RateLimitError.
	Primary RateLimitKind = iota
	// Primary429 is the primary rate limit reported with status 429, which
	// GitHub documents as equally possible. go-github v62 does not recognise
	// it: the caller gets a plain *github.ErrorResponse.
	Primary429
	// Secondary is a secondary rate limit: 403, "You have exceeded a
	// secondary rate limit", retry-after: 1. go-github v62 turns it into
	// *github.AbuseRateLimitError with RetryAfter set.
	Secondary
	// Secondary429 is the same with status 429, which go-github v62 reports
	// as a plain *github.ErrorResponse.
	Secondary429
)

// Server is the GitHub double. Its methods and its HTTP handler are safe for
// concurrent use: one mutex serialises every request, as the state (and
// gitrepo, which wants one user at a time) needs.
type Server struct {
	t    testing.TB
	opts Options
	http *httptest.Server

	mu        sync.Mutex
	routes    []route
	perms     map[string]string // login -> permission set by SetPermission
	limitNext int               // requests still to refuse with limitKind
	limitKind RateLimitKind
	used      map[string]int // requests per login in the current window
	window    time.Time      // when the current rate-limit window resets
	requests  []string
	seq       int   // request counter, for x-github-request-id
	lastID    int64 // ids of pull requests, reviews, comments, labels, statuses
	pulls     []*pull
	labels    map[string]*label // repository labels by name
	statuses  map[gitrepo.Hash][]*status
	emails    map[string]string // lower-cased commit e-mail -> login
}

// New starts a Server for the test; t.Cleanup stops it. It fails the test at
// once if the options are unusable.
//
// Not reproduced: pushes through the API (contents, git data endpoints),
// issues that are not pull requests, review comments, pending reviews'
// submission, teams (team_reviewers are recorded by slug only), branch
// protection other than DismissStaleReviews, checks, webhooks, GraphQL,
// commit signatures (every commit is unverified), issue events other than
// closed, reopened, merged, head_ref_deleted and head_ref_force_pushed (and
// who pushed: events the double infers from a push have a null actor),
// conditional requests (ETag), and a pull request marked merged when its head
// is pushed straight to the base branch. Mergeability is computed by a
// per-path three-way merge from the newest common ancestor, not by git's
// recursive merge of file contents: the same file changed on both sides is a
// conflict even when the changes would merge line by line.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Owner == "" || opts.Repo == "" {
		t.Fatal("githubtest: Options.Owner and Options.Repo are required")
	}
	if opts.DefaultBranch == "" {
		opts.DefaultBranch = gitrepo.DefaultBranch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = 5000
	}
	if opts.BareRepo == "" {
		opts.BareRepo = filepath.Join(t.TempDir(), opts.Repo+".git")
		if err := gitrepo.InitBare(opts.BareRepo); err != nil {
			t.Fatalf("githubtest: %v", err)
		}
	}
	// Fail here rather than with a 500 on the first request.
	if _, err := gitrepo.Open(opts.BareRepo); err != nil {
		t.Fatalf("githubtest: %v", err)
	}
	s := &Server{
		t:        t,
		opts:     opts,
		perms:    map[string]string{},
		used:     map[string]int{},
		labels:   map[string]*label{},
		statuses: map[gitrepo.Hash][]*status{},
		emails:   map[string]string{},
	}
	for email, login := range opts.Emails {
		s.emails[strings.ToLower(email)] = login
	}
	s.routes = s.routeTable()
	s.http = httptest.NewServer(s)
	t.Cleanup(s.http.Close)
	return s
}

// URL is the API base URL to give go-github as Client.BaseURL (and
// UploadURL): the server's address followed by "/api-v3/", trailing slash
// included, the layout of go-github's own tests.
func (s *Server) URL() string { return s.http.URL + apiPrefix }

// Client returns a go-github client for the double that authenticates with
// token, or not at all when token is empty. Each call returns a new client,
// so a test can start afresh after a rate limit that go-github remembers.
func (s *Server) Client(token string) *github.Client {
	c := github.NewClient(nil)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	u, err := url.Parse(s.URL())
	if err != nil {
		// httptest URLs always parse; this would be a bug in the double.
		panic(fmt.Sprintf("githubtest: parse %q: %v", s.URL(), err))
	}
	c.BaseURL, c.UploadURL = u, u
	return c
}

// RemoteDir is the path of the bare repository behind the API, the remote to
// clone from and push to.
func (s *Server) RemoteDir() string { return s.opts.BareRepo }

// SetPermission sets login's permission on the repository: admin, maintain,
// write, triage, read or none. Logins of configured tokens have write by
// default, everyone else none. none hides the repository (404), read allows
// reading, reviewing and commenting, triage adds labels, review requests and
// closing, write adds merging, statuses and deleting branches.
func (s *Server) SetPermission(login, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := permLevel(perm); !ok {
		s.t.Fatalf("githubtest: SetPermission(%q, %q): want admin, maintain, write, triage, read or none", login, perm)
	}
	s.perms[login] = perm
}

// RateLimitNext makes the next n authenticated requests fail with the given
// kind of rate-limit response. Requests go-github refuses on its own, having
// seen a rate limit, never reach the server and do not count.
func (s *Server) RateLimitNext(n int, kind RateLimitKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitNext, s.limitKind = n, kind
}

// Requests returns every request received so far as "METHOD /path", the path
// without the /api-v3 prefix and without the query, in arrival order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ForkPR describes a pull request whose head lives in a fork.
type ForkPR struct {
	// Owner owns the fork, e.g. "mallory"; the fork is Owner/<Options.Repo>.
	Owner string
	// Branch is the head branch's name in the fork.
	Branch string
	// Head is the fork's head commit. Write it into RemoteDir with gitrepo
	// first: the double stores it under refs/pull/<n>/head, where GitHub
	// keeps a fork's commits in the base repository.
	Head gitrepo.Hash
	// Base is the branch to merge into; the default branch when empty.
	Base string
	// Title and Body of the pull request.
	Title, Body string
	// Author is the login that opens it; Owner when empty.
	Author string
	// Draft opens it as a draft.
	Draft bool
}

// OpenForkPR opens a pull request from a fork, which the API itself cannot
// (the double knows no other repositories), and returns its number. Its JSON
// has head.repo.full_name "<Owner>/<Repo>" and head.repo.fork true. Move its
// head with PushFork.
func (s *Server) OpenForkPR(f ForkPR) int {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Owner == "" || f.Branch == "" || f.Head.IsZero() {
		s.t.Fatal("githubtest: OpenForkPR needs Owner, Branch and Head")
	}
	if f.Base == "" {
		f.Base = s.opts.DefaultBranch
	}
	if f.Author == "" {
		f.Author = f.Owner
	}
	repo, err := gitrepo.Open(s.opts.BareRepo)
	if err != nil {
		s.t.Fatalf("githubtest: %v", err)
	}
	base, err := repo.Ref(gitrepo.BranchRef(f.Base))
	if err != nil {
		s.t.Fatalf("githubtest: OpenForkPR: base %s: %v", f.Base, err)
	}
	now := s.opts.Now()
	p := &pull{
		number:    len(s.pulls) + 1,
		id:        s.newID(),
		title:     f.Title,
		body:      f.Body,
		author:    f.Author,
		draft:     f.Draft,
		state:     stateOpen,
		headOwner: f.Owner,
		headRef:   f.Branch,
		fork:      true,
		headSHA:   f.Head,
		baseRef:   f.Base,
		baseTip:   base,
		baseSHA:   base,
		created:   now,
		updated:   now,
	}
	if err := repo.SetRef(p.pullHeadRef(), f.Head); err != nil {
		s.t.Fatalf("githubtest: OpenForkPR: %v", err)
	}
	s.pulls = append(s.pulls, p)
	return p.number
}

// PushFork moves the head of fork pull request n to head, as a push to the
// fork's branch does on GitHub. head must already be in RemoteDir.
func (s *Server) PushFork(n int, head gitrepo.Hash) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pull(n)
	if p == nil || !p.fork {
		s.t.Fatalf("githubtest: PushFork: #%d is not a fork pull request", n)
	}
	repo, err := gitrepo.Open(s.opts.BareRepo)
	if err != nil {
		s.t.Fatalf("githubtest: %v", err)
	}
	if err := repo.SetRef(p.pullHeadRef(), head); err != nil {
		s.t.Fatalf("githubtest: PushFork: %v", err)
	}
}

// PullRequestState is a snapshot of one pull request, for assertions. SHAs
// are hex strings, as the API reports them.
type PullRequestState struct {
	Number             int
	State              string // "open" or "closed"
	Draft              bool
	Title, Body        string
	Author             string
	HeadRef, HeadSHA   string
	HeadRepo           string // full name, "owner/repo"
	Fork               bool
	BaseRef            string
	BaseSHA            string // as the API reports it: the base when the head last moved
	BaseTip            string // the base branch now, or its commit when merged
	ClosedBy           string // who closed or merged it; "" if unknown
	Merged             bool
	MergedBy           string
	MergedAt           time.Time
	MergeCommitSHA     string // the merge commit; "" until merged
	Labels             []string
	RequestedReviewers []string
	RequestedTeams     []string
	Reviews            []Review  // oldest first, pending ones included
	Comments           []Comment // oldest first
	Statuses           []Status  // on HeadSHA, newest first
}

// Review is a pull request review as recorded by the double.
type Review struct {
	ID          int64
	User        string
	State       string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING
	CommitID    string
	Body        string
	SubmittedAt time.Time // zero while pending
}

// Comment is an issue comment on a pull request.
type Comment struct {
	ID        int64
	User      string
	Body      string
	CreatedAt time.Time
}

// Status is a commit status.
type Status struct {
	ID          int64
	State       string
	Context     string
	Description string
	TargetURL   string
	Creator     string
	CreatedAt   time.Time
}

// PR returns the state of pull request n after bringing it up to date with
// the bare repository, as any API read would. An unknown n fails the test.
func (s *Server) PR(n int) PullRequestState {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pull(n)
	if p == nil {
		s.t.Fatalf("githubtest: no pull request #%d", n)
	}
	c := &call{s: s}
	if err := s.sync(c, p); err != nil {
		s.t.Fatalf("githubtest: %v", err)
	}
	st := PullRequestState{
		Number:             p.number,
		State:              p.state,
		Draft:              p.draft,
		Title:              p.title,
		Body:               p.body,
		Author:             p.author,
		HeadRef:            p.headRef,
		HeadSHA:            p.headSHA.String(),
		HeadRepo:           p.headOwner + "/" + s.opts.Repo,
		Fork:               p.fork,
		BaseRef:            p.baseRef,
		BaseSHA:            p.baseSHA.String(),
		BaseTip:            p.baseTip.String(),
		ClosedBy:           p.closedBy,
		Merged:             p.merged,
		MergedBy:           p.mergedBy,
		MergedAt:           p.mergedAt,
		Labels:             slices.Clone(p.labels),
		RequestedReviewers: slices.Clone(p.reviewers),
		RequestedTeams:     slices.Clone(p.teams),
	}
	if p.merged {
		st.MergeCommitSHA = p.mergeCommit.String()
	}
	for _, r := range p.reviews {
		st.Reviews = append(st.Reviews, Review{
			ID: r.id, User: r.user, State: r.state, CommitID: r.commit.String(), Body: r.body, SubmittedAt: r.submitted,
		})
	}
	for _, cm := range p.comments {
		st.Comments = append(st.Comments, Comment{ID: cm.id, User: cm.user, Body: cm.body, CreatedAt: cm.created})
	}
	for _, x := range s.statusesNewestFirst(p.headSHA) {
		st.Statuses = append(st.Statuses, Status{
			ID: x.id, State: x.state, Context: x.context, Description: x.description,
			TargetURL: x.targetURL, Creator: x.creator, CreatedAt: x.created,
		})
	}
	return st
}

// pull returns pull request n, or nil.
func (s *Server) pull(n int) *pull {
	if n < 1 || n > len(s.pulls) {
		return nil
	}
	return s.pulls[n-1]
}

func (s *Server) newID() int64 {
	s.lastID++
	return s.lastID
}
