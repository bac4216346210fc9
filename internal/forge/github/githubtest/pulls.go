package githubtest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/gitrepo"
)

const (
	stateOpen   = "open"
	stateClosed = "closed"
)

// pull is a pull request's state.
type pull struct {
	number int
	id     int64
	title  string
	body   string
	author string
	draft  bool
	state  string // stateOpen or stateClosed

	headOwner string // owner of the head repository
	headRef   string // branch name in the head repository
	fork      bool   // head repository is a fork; its commits are at refs/pull/<n>/head
	headSHA   gitrepo.Hash
	baseRef   string
	// baseTip is the base branch's commit: it follows the branch while the
	// pull request is open, and stays at the merge commit's first parent
	// once merged. Mergeability, files and merges use it.
	baseTip gitrepo.Hash
	// baseSHA is what the API reports as base.sha: the base branch as of
	// the pull request's creation or last head push ("synchronize"), not
	// its live tip. GitHub's field lags the same way (github/docs#431;
	// rust-lang/bors#40 resolves the branch instead for that reason).
	baseSHA gitrepo.Hash

	merged      bool
	mergedBy    string
	mergedAt    time.Time
	closedAt    time.Time
	closedBy    string       // "" when no one is known to have closed it
	mergeCommit gitrepo.Hash // the merge, or while open the last test merge
	created     time.Time
	updated     time.Time

	labels    []string
	reviewers []string
	teams     []string
	reviews   []*review
	comments  []*comment
	events    []*event // issue events, oldest first
	check     mergeCheck
}

// mergeCheck is GitHub's background mergeability computation for one pair
// of head and base commits. A pair seen for the first time is not known yet:
// the first read reports null, as GitHub's does while its job runs.
type mergeCheck struct {
	head, base gitrepo.Hash
	known      bool
	clean      bool
}

func (p *pull) pullHeadRef() string  { return "refs/pull/" + strconv.Itoa(p.number) + "/head" }
func (p *pull) pullMergeRef() string { return "refs/pull/" + strconv.Itoa(p.number) + "/merge" }

// sourceRef is where the head commit comes from: the branch for a pull
// request within the repository, refs/pull/<n>/head for a fork's.
func (p *pull) sourceRef() string {
	if p.fork {
		return p.pullHeadRef()
	}
	return gitrepo.BranchRef(p.headRef)
}

// headLabel is "owner:branch", GitHub's name for a head.
func (p *pull) headLabel() string { return p.headOwner + ":" + p.headRef }

// close closes p; by is who did it, "" when unknown (a branch deleted by a
// push).
func (s *Server) close(p *pull, at time.Time, by string) {
	p.state, p.closedAt, p.closedBy, p.updated = stateClosed, at, by, at
	s.addEvent(p, "closed", by, gitrepo.ZeroHash, at)
}

// sync brings an open pull request up to date with the repository, as
// GitHub does on every push: the head follows its branch, the base follows
// the base branch, and a pull request whose head or base branch is gone is
// closed. Closed pull requests are frozen.
func (s *Server) sync(c *call, p *pull) error {
	if p.state != stateOpen {
		return nil
	}
	repo, err := c.repo()
	if err != nil {
		return err
	}
	head, err := repo.Ref(p.sourceRef())
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		s.addEvent(p, "head_ref_deleted", "", gitrepo.ZeroHash, c.now())
		s.close(p, c.now(), "")
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync #%d: %w", p.number, err)
	}
	base, err := repo.Ref(gitrepo.BranchRef(p.baseRef))
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		s.close(p, c.now(), "")
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync #%d: %w", p.number, err)
	}
	p.baseTip = base
	if head == p.headSHA {
		return nil
	}
	// A head that does not descend from the previous one was force pushed
	// (or its branch deleted and pushed again): GitHub records that on the
	// pull request.
	if ff, err := repo.IsAncestor(p.headSHA, head); err != nil {
		return fmt.Errorf("sync #%d: %w", p.number, err)
	} else if !ff {
		s.addEvent(p, "head_ref_force_pushed", "", gitrepo.ZeroHash, c.now())
	}
	p.headSHA, p.baseSHA, p.updated = head, base, c.now()
	if !p.fork {
		// GitHub mirrors every head under refs/pull/<n>/head.
		if err := repo.SetRef(p.pullHeadRef(), head); err != nil {
			return fmt.Errorf("sync #%d: %w", p.number, err)
		}
	}
	if s.opts.DismissStaleReviews {
		for _, r := range p.reviews {
			if r.state == "APPROVED" {
				r.state = "DISMISSED"
			}
		}
	}
	return nil
}

// pullParam finds the pull request named by the first path parameter and
// syncs it.
func (s *Server) pullParam(c *call) (*pull, error) {
	n, err := strconv.Atoi(c.params[0])
	if err != nil {
		return nil, notFound()
	}
	p := s.pull(n)
	if p == nil {
		return nil, notFound()
	}
	if err := s.sync(c, p); err != nil {
		return nil, err
	}
	return p, nil
}

// look advances the mergeability computation by one read: a new pair of
// commits becomes pending, a pending one is computed.
func (s *Server) look(c *call, p *pull) error {
	if p.state != stateOpen {
		return nil
	}
	if p.check.head != p.headSHA || p.check.base != p.baseTip {
		p.check = mergeCheck{head: p.headSHA, base: p.baseTip}
		return nil
	}
	if p.check.known {
		return nil
	}
	repo, err := c.repo()
	if err != nil {
		return err
	}
	// Like GitHub, keep the test merge at refs/pull/<n>/merge.
	h, conflicts, err := writeMerge(repo, p.baseTip, p.headSHA,
		fmt.Sprintf("Merge %s into %s", p.headSHA, p.baseTip), s.identity(p.author, c.now()), s.githubIdentity(c.now()))
	if err != nil {
		return fmt.Errorf("test merge of #%d: %w", p.number, err)
	}
	p.check.known, p.check.clean = true, len(conflicts) == 0
	if p.check.clean {
		p.mergeCommit = h
		if err := repo.SetRef(p.pullMergeRef(), h); err != nil {
			return fmt.Errorf("test merge of #%d: %w", p.number, err)
		}
	}
	return nil
}

// JSON shapes, after the schemas on https://docs.github.com/rest/pulls/pulls.

type userJSON struct {
	Login     string `json:"login"`
	ID        int64  `json:"id"`
	NodeID    string `json:"node_id"`
	URL       string `json:"url"`
	HTMLURL   string `json:"html_url"`
	Type      string `json:"type"`
	SiteAdmin bool   `json:"site_admin"`
}

type repoJSON struct {
	ID            int64    `json:"id"`
	NodeID        string   `json:"node_id"`
	Name          string   `json:"name"`
	FullName      string   `json:"full_name"`
	Owner         userJSON `json:"owner"`
	Private       bool     `json:"private"`
	HTMLURL       string   `json:"html_url"`
	Fork          bool     `json:"fork"`
	URL           string   `json:"url"`
	DefaultBranch string   `json:"default_branch"`
}

type branchJSON struct {
	Label string   `json:"label"`
	Ref   string   `json:"ref"`
	SHA   string   `json:"sha"`
	User  userJSON `json:"user"`
	Repo  repoJSON `json:"repo"`
}

type teamJSON struct {
	ID     int64  `json:"id"`
	NodeID string `json:"node_id"`
	Slug   string `json:"slug"`
	Name   string `json:"name"`
}

// pullSimpleJSON is the "pull-request-simple" schema, what lists return.
type pullSimpleJSON struct {
	URL                string      `json:"url"`
	ID                 int64       `json:"id"`
	NodeID             string      `json:"node_id"`
	HTMLURL            string      `json:"html_url"`
	DiffURL            string      `json:"diff_url"`
	PatchURL           string      `json:"patch_url"`
	IssueURL           string      `json:"issue_url"`
	CommitsURL         string      `json:"commits_url"`
	ReviewCommentsURL  string      `json:"review_comments_url"`
	CommentsURL        string      `json:"comments_url"`
	StatusesURL        string      `json:"statuses_url"`
	Number             int         `json:"number"`
	State              string      `json:"state"`
	Locked             bool        `json:"locked"`
	Title              string      `json:"title"`
	User               userJSON    `json:"user"`
	Body               *string     `json:"body"`
	Labels             []labelJSON `json:"labels"`
	Milestone          any         `json:"milestone"`
	ActiveLockReason   any         `json:"active_lock_reason"`
	CreatedAt          string      `json:"created_at"`
	UpdatedAt          string      `json:"updated_at"`
	ClosedAt           *string     `json:"closed_at"`
	MergedAt           *string     `json:"merged_at"`
	MergeCommitSHA     *string     `json:"merge_commit_sha"`
	Assignee           any         `json:"assignee"`
	Assignees          []userJSON  `json:"assignees"`
	RequestedReviewers []userJSON  `json:"requested_reviewers"`
	RequestedTeams     []teamJSON  `json:"requested_teams"`
	Head               branchJSON  `json:"head"`
	Base               branchJSON  `json:"base"`
	AuthorAssociation  string      `json:"author_association"`
	AutoMerge          any         `json:"auto_merge"`
	Draft              bool        `json:"draft"`
}

// pullJSON is the full "pull-request" schema of a single pull request.
type pullJSON struct {
	pullSimpleJSON
	Merged              bool      `json:"merged"`
	Mergeable           *bool     `json:"mergeable"`
	Rebaseable          *bool     `json:"rebaseable"`
	MergeableState      string    `json:"mergeable_state"`
	MergedBy            *userJSON `json:"merged_by"`
	Comments            int       `json:"comments"`
	ReviewComments      int       `json:"review_comments"`
	MaintainerCanModify bool      `json:"maintainer_can_modify"`
	Commits             int       `json:"commits"`
	Additions           int       `json:"additions"`
	Deletions           int       `json:"deletions"`
	ChangedFiles        int       `json:"changed_files"`
}

func (s *Server) apiURL(path string) string {
	return s.http.URL + apiPrefix + "repos/" + s.opts.Owner + "/" + s.opts.Repo + path
}

// htmlURL is where a person would look, on github.com as in real responses,
// so rendered text is the same from run to run whatever the server's port.
func (s *Server) htmlURL(path string) string {
	return "https://github.com/" + s.opts.Owner + "/" + s.opts.Repo + path
}

func (s *Server) user(login string) userJSON {
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	id := userID(login)
	return userJSON{
		Login:  login,
		ID:     id,
		NodeID: fmt.Sprintf("U_%d", id),
		URL:    s.http.URL + apiPrefix + "users/" + url.PathEscape(login),
		// GitHub's own host, as for the pull request's html_url.
		HTMLURL: "https://github.com/" + login,
		Type:    typ,
	}
}

func (s *Server) repoJSON(owner string, fork bool) repoJSON {
	id := userID(owner+"/"+s.opts.Repo) + 1
	full := owner + "/" + s.opts.Repo
	return repoJSON{
		ID:            id,
		NodeID:        fmt.Sprintf("R_%d", id),
		Name:          s.opts.Repo,
		FullName:      full,
		Owner:         s.user(owner),
		Private:       true,
		HTMLURL:       "https://github.com/" + full,
		Fork:          fork,
		URL:           s.http.URL + apiPrefix + "repos/" + full,
		DefaultBranch: s.opts.DefaultBranch,
	}
}

// association is author_association: how login relates to the repository.
func (s *Server) association(login string) string {
	switch {
	case strings.EqualFold(login, s.opts.Owner):
		return "OWNER"
	case atLeast(s.permission(login), "read"):
		return "COLLABORATOR"
	default:
		return "NONE"
	}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) simpleView(p *pull) pullSimpleJSON {
	n := strconv.Itoa(p.number)
	v := pullSimpleJSON{
		URL:                s.apiURL("/pulls/" + n),
		ID:                 p.id,
		NodeID:             fmt.Sprintf("PR_%d", p.id),
		HTMLURL:            s.htmlURL("/pull/" + n),
		DiffURL:            s.htmlURL("/pull/" + n + ".diff"),
		PatchURL:           s.htmlURL("/pull/" + n + ".patch"),
		IssueURL:           s.apiURL("/issues/" + n),
		CommitsURL:         s.apiURL("/pulls/" + n + "/commits"),
		ReviewCommentsURL:  s.apiURL("/pulls/" + n + "/comments"),
		CommentsURL:        s.apiURL("/issues/" + n + "/comments"),
		StatusesURL:        s.apiURL("/statuses/" + p.headSHA.String()),
		Number:             p.number,
		State:              p.state,
		Title:              p.title,
		User:               s.user(p.author),
		Body:               nullable(p.body),
		Labels:             []labelJSON{},
		CreatedAt:          timestamp(p.created),
		UpdatedAt:          timestamp(p.updated),
		ClosedAt:           timestampOrNull(p.closedAt),
		MergedAt:           timestampOrNull(p.mergedAt),
		Assignees:          []userJSON{},
		RequestedReviewers: []userJSON{},
		RequestedTeams:     []teamJSON{},
		Head: branchJSON{
			Label: p.headLabel(), Ref: p.headRef, SHA: p.headSHA.String(),
			User: s.user(p.headOwner), Repo: s.repoJSON(p.headOwner, p.fork),
		},
		Base: branchJSON{
			Label: s.opts.Owner + ":" + p.baseRef, Ref: p.baseRef, SHA: p.baseSHA.String(),
			User: s.user(s.opts.Owner), Repo: s.repoJSON(s.opts.Owner, false),
		},
		AuthorAssociation: s.association(p.author),
		Draft:             p.draft,
	}
	if !p.mergeCommit.IsZero() {
		v.MergeCommitSHA = nullable(p.mergeCommit.String())
	}
	for _, name := range p.labels {
		v.Labels = append(v.Labels, s.labelView(s.labels[name]))
	}
	for _, r := range p.reviewers {
		v.RequestedReviewers = append(v.RequestedReviewers, s.user(r))
	}
	for _, t := range p.teams {
		id := userID("team/" + t)
		v.RequestedTeams = append(v.RequestedTeams, teamJSON{ID: id, NodeID: fmt.Sprintf("T_%d", id), Slug: t, Name: t})
	}
	return v
}

// fullView is the single pull request, with what GitHub computes for it.
// It reports mergeability as far as look has got, without advancing it.
func (s *Server) fullView(c *call, p *pull) (pullJSON, error) {
	v := pullJSON{pullSimpleJSON: s.simpleView(p), Merged: p.merged, MergeableState: "unknown", Comments: len(p.comments)}
	if p.merged {
		u := s.user(p.mergedBy)
		v.MergedBy = &u
	}
	if p.state == stateOpen && p.check.known && p.check.head == p.headSHA && p.check.base == p.baseTip {
		ok := p.check.clean
		v.Mergeable = &ok
		switch {
		case !ok:
			v.MergeableState = "dirty"
		case p.draft:
			v.MergeableState = "draft"
		default:
			v.MergeableState = "clean"
		}
	}
	repo, err := c.repo()
	if err != nil {
		return v, err
	}
	mb, err := mergeBase(repo, p.baseTip, p.headSHA)
	if err != nil {
		return v, err
	}
	files, err := prFiles(repo, mb, p.headSHA)
	if err != nil {
		return v, err
	}
	v.ChangedFiles = len(files)
	for _, f := range files {
		v.Additions += f.Additions
		v.Deletions += f.Deletions
	}
	v.Commits, err = countCommits(repo, p.headSHA, p.baseTip)
	return v, err
}

// createPull opens a pull request.
// https://docs.github.com/en/rest/pulls/pulls#create-a-pull-request
func (s *Server) createPull(c *call) (int, any, error) {
	const docs = docsPulls + "#create-a-pull-request"
	var in struct {
		Title *string `json:"title"`
		Head  string  `json:"head"`
		Base  string  `json:"base"`
		Body  string  `json:"body"`
		Draft bool    `json:"draft"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	var missing []any
	for field, v := range map[string]string{"head": in.Head, "base": in.Base} {
		if v == "" {
			missing = append(missing, fieldError{Resource: "PullRequest", Field: field, Code: "missing_field"})
		}
	}
	if in.Title == nil || *in.Title == "" {
		missing = append(missing, fieldError{Resource: "PullRequest", Field: "title", Code: "missing_field"})
	}
	if len(missing) > 0 {
		slices.SortFunc(missing, func(a, b any) int { return strings.Compare(a.(fieldError).Field, b.(fieldError).Field) })
		return 0, nil, validationFailed(docs, missing...)
	}
	owner, ref, ok := strings.Cut(in.Head, ":")
	if !ok {
		owner, ref = s.opts.Owner, in.Head
	}
	invalid := func(field string) error {
		return validationFailed(docs, fieldError{Resource: "PullRequest", Field: field, Code: "invalid"})
	}
	if !strings.EqualFold(owner, s.opts.Owner) {
		// The double knows no forks; OpenForkPR opens their pull requests.
		return 0, nil, invalid("head")
	}
	repo, err := c.repo()
	if err != nil {
		return 0, nil, err
	}
	base, err := repo.Ref(gitrepo.BranchRef(in.Base))
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		return 0, nil, invalid("base")
	}
	if err != nil {
		return 0, nil, err
	}
	head, err := repo.Ref(gitrepo.BranchRef(ref))
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		return 0, nil, invalid("head")
	}
	if err != nil {
		return 0, nil, err
	}
	for _, p := range s.pulls {
		if err := s.sync(c, p); err != nil {
			return 0, nil, err
		}
		if p.state == stateOpen && !p.fork && p.headRef == ref && p.baseRef == in.Base {
			return 0, nil, validationFailed(docs, customError("PullRequest",
				fmt.Sprintf("A pull request already exists for %s:%s.", s.opts.Owner, ref)))
		}
	}
	mb, err := mergeBase(repo, base, head)
	if err != nil {
		return 0, nil, err
	}
	if mb.IsZero() {
		return 0, nil, validationFailed(docs, customError("PullRequest",
			fmt.Sprintf("The %s branch has no history in common with %s", ref, in.Base)))
	}
	if mb == head {
		return 0, nil, validationFailed(docs, customError("PullRequest",
			fmt.Sprintf("No commits between %s and %s", in.Base, in.Head)))
	}
	now := c.now()
	p := &pull{
		number:    len(s.pulls) + 1,
		id:        s.newID(),
		title:     *in.Title,
		body:      in.Body,
		author:    c.login,
		draft:     in.Draft,
		state:     stateOpen,
		headOwner: s.opts.Owner,
		headRef:   ref,
		headSHA:   head,
		baseRef:   in.Base,
		baseTip:   base,
		baseSHA:   base,
		created:   now,
		updated:   now,
	}
	if err := repo.SetRef(p.pullHeadRef(), head); err != nil {
		return 0, nil, err
	}
	s.pulls = append(s.pulls, p)
	v, err := s.fullView(c, p)
	if err != nil {
		return 0, nil, err
	}
	c.header.Set("Location", v.URL)
	return http.StatusCreated, v, nil
}

// listPulls lists pull requests, newest first by default.
// https://docs.github.com/en/rest/pulls/pulls#list-pull-requests
func (s *Server) listPulls(c *call) (int, any, error) {
	const docs = docsPulls + "#list-pull-requests"
	q := c.r.URL.Query()
	state := q.Get("state")
	switch state {
	case "":
		state = stateOpen
	case stateOpen, stateClosed, "all":
	default:
		return 0, nil, validationFailed(docs, fieldError{Resource: "PullRequest", Field: "state", Code: "invalid"})
	}
	// A head without "owner:" is silently ignored, not an error: a classic
	// mistake that returns every pull request instead of one
	// (https://github.com/orgs/community/discussions/24354).
	headOwner, headRef, filterHead := strings.Cut(q.Get("head"), ":")
	base := q.Get("base")
	var out []*pull
	for _, p := range s.pulls {
		if err := s.sync(c, p); err != nil {
			return 0, nil, err
		}
		switch {
		case state != "all" && p.state != state,
			filterHead && (!strings.EqualFold(p.headOwner, headOwner) || p.headRef != headRef),
			base != "" && p.baseRef != base:
			continue
		}
		out = append(out, p)
	}
	sortPulls(out, q.Get("sort"), q.Get("direction"))
	page := paginate(c, out)
	views := make([]pullSimpleJSON, 0, len(page))
	for _, p := range page {
		views = append(views, s.simpleView(p))
	}
	return http.StatusOK, views, nil
}

// sortPulls orders as GitHub documents: by creation (default) or update
// time, descending unless direction says otherwise for creation, ascending
// by default for the other sorts. Ties, common with a fixed clock, fall back
// on the number.
func sortPulls(ps []*pull, sort, direction string) {
	desc := direction == "desc" || direction == "" && (sort == "" || sort == "created")
	key := func(p *pull) time.Time { return p.created }
	if sort == "updated" {
		key = func(p *pull) time.Time { return p.updated }
	}
	slices.SortStableFunc(ps, func(a, b *pull) int {
		c := key(a).Compare(key(b))
		if c == 0 {
			c = a.number - b.number
		}
		if desc {
			return -c
		}
		return c
	})
}

// getPull returns one pull request; each read moves GitHub's background
// mergeability computation on, so the first read after a change reports
// mergeable null.
// https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request
func (s *Server) getPull(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	if err := s.look(c, p); err != nil {
		return 0, nil, err
	}
	v, err := s.fullView(c, p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// updatePull edits the title, body, base or state; the author may do it
// without triage permission, as on GitHub.
// https://docs.github.com/en/rest/pulls/pulls#update-a-pull-request
func (s *Server) updatePull(c *call) (int, any, error) {
	const docs = docsPulls + "#update-a-pull-request"
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	if c.login != p.author && !atLeast(c.perm, "triage") {
		return 0, nil, forbidden()
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	repo, err := c.repo()
	if err != nil {
		return 0, nil, err
	}
	now := c.now()
	if in.State != nil {
		switch {
		case *in.State == stateClosed && p.state == stateOpen:
			s.close(p, now, c.login)
		case *in.State == stateOpen && p.merged:
			return 0, nil, validationFailed(docs, customError("PullRequest",
				"state cannot be changed. The pull request has been merged."))
		case *in.State == stateOpen && p.state == stateClosed:
			if _, err := repo.Ref(p.sourceRef()); err != nil {
				return 0, nil, validationFailed(docs, customError("PullRequest",
					"state cannot be changed. The "+p.headRef+" branch has been deleted."))
			}
			for _, o := range s.pulls {
				if o != p && o.state == stateOpen && !o.fork && !p.fork && o.headRef == p.headRef && o.baseRef == p.baseRef {
					return 0, nil, validationFailed(docs, customError("PullRequest",
						fmt.Sprintf("A pull request already exists for %s.", p.headLabel())))
				}
			}
			p.state, p.closedAt, p.closedBy = stateOpen, time.Time{}, ""
			s.addEvent(p, "reopened", c.login, gitrepo.ZeroHash, now)
			if err := s.sync(c, p); err != nil {
				return 0, nil, err
			}
		case *in.State != stateOpen && *in.State != stateClosed:
			return 0, nil, validationFailed(docs, fieldError{Resource: "PullRequest", Field: "state", Code: "invalid"})
		}
	}
	if in.Base != nil && *in.Base != p.baseRef {
		if p.state != stateOpen {
			return 0, nil, validationFailed(docs, customError("PullRequest", "Cannot change base branch of closed pull request."))
		}
		b, err := repo.Ref(gitrepo.BranchRef(*in.Base))
		if err != nil {
			return 0, nil, validationFailed(docs, fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
		}
		p.baseRef, p.baseTip, p.baseSHA = *in.Base, b, b
	}
	if in.Title != nil {
		p.title = *in.Title
	}
	if in.Body != nil {
		p.body = *in.Body
	}
	p.updated = now
	v, err := s.fullView(c, p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// listFiles lists the files a pull request changes: the difference between
// its head and the merge base, at most 3000 files, as GitHub caps it.
// https://docs.github.com/en/rest/pulls/pulls#list-pull-requests-files
func (s *Server) listFiles(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	repo, err := c.repo()
	if err != nil {
		return 0, nil, err
	}
	mb, err := mergeBase(repo, p.baseTip, p.headSHA)
	if err != nil {
		return 0, nil, err
	}
	files, err := prFiles(repo, mb, p.headSHA)
	if err != nil {
		return 0, nil, err
	}
	for i := range files {
		f := &files[i]
		f.BlobURL = s.htmlURL("/blob/" + p.headSHA.String() + "/" + f.Filename)
		f.RawURL = s.htmlURL("/raw/" + p.headSHA.String() + "/" + f.Filename)
		f.ContentsURL = s.apiURL("/contents/" + f.Filename + "?ref=" + p.headSHA.String())
	}
	return http.StatusOK, paginate(c, files[:min(len(files), 3000)]), nil
}

// isMerged answers 204 for a merged pull request and 404 otherwise.
// https://docs.github.com/en/rest/pulls/pulls#check-if-a-pull-request-has-been-merged
func (s *Server) isMerged(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	if !p.merged {
		return 0, nil, notFound()
	}
	return http.StatusNoContent, nil, nil
}

// mergePull merges with a merge commit, the only method this double
// enables: parents [base tip, head], the tree a three-way merge, the base
// branch moved by compare-and-swap.
// https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request
func (s *Server) mergePull(c *call) (int, any, error) {
	const docs = docsPulls + "#merge-a-pull-request"
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		CommitTitle   *string `json:"commit_title"`
		CommitMessage *string `json:"commit_message"`
		SHA           string  `json:"sha"`
		MergeMethod   string  `json:"merge_method"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	notMergeable := fail(http.StatusMethodNotAllowed, docs, "Pull Request is not mergeable")
	switch {
	case p.state != stateOpen:
		return 0, nil, notMergeable
	case p.draft:
		return 0, nil, fail(http.StatusMethodNotAllowed, docs, "Pull Request is still a draft")
	case in.SHA != "" && in.SHA != p.headSHA.String():
		return 0, nil, fail(http.StatusConflict, docs, "Head branch was modified. Review and try the merge again.")
	}
	switch in.MergeMethod {
	case "", "merge":
	case "squash", "rebase":
		// Repository settings here allow merge commits only.
		return 0, nil, fail(http.StatusMethodNotAllowed, docs,
			strings.ToUpper(in.MergeMethod[:1])+in.MergeMethod[1:]+" merges are not allowed on this repository.")
	default:
		return 0, nil, validationFailed(docs, fieldError{Resource: "PullRequest", Field: "merge_method", Code: "invalid"})
	}
	title := fmt.Sprintf("Merge pull request #%d from %s/%s", p.number, p.headOwner, p.headRef)
	if in.CommitTitle != nil && *in.CommitTitle != "" {
		title = *in.CommitTitle
	}
	// Without commit_message GitHub's default body is the pull request's
	// title; an explicit empty one leaves the title alone.
	body := p.title
	if in.CommitMessage != nil {
		body = *in.CommitMessage
	}
	message := title
	if body != "" {
		message += "\n\n" + body
	}
	repo, err := c.repo()
	if err != nil {
		return 0, nil, err
	}
	now := c.now()
	base := p.baseTip
	h, conflicts, err := writeMerge(repo, base, p.headSHA, message, s.identity(c.login, now), s.githubIdentity(now))
	if err != nil {
		return 0, nil, err
	}
	if len(conflicts) > 0 {
		p.check = mergeCheck{head: p.headSHA, base: base, known: true}
		return 0, nil, notMergeable
	}
	if err := repo.UpdateRef(gitrepo.BranchRef(p.baseRef), base, h); err != nil {
		if errors.Is(err, gitrepo.ErrRefMoved) {
			return 0, nil, fail(http.StatusMethodNotAllowed, docs, "Base branch was modified. Review and try the merge again.")
		}
		return 0, nil, err
	}
	p.merged, p.mergedBy, p.mergedAt, p.mergeCommit = true, c.login, now, h
	s.addEvent(p, "merged", c.login, h, now)
	s.close(p, now, c.login)
	return http.StatusOK, struct {
		SHA     string `json:"sha"`
		Merged  bool   `json:"merged"`
		Message string `json:"message"`
	}{h.String(), true, "Pull Request successfully merged"}, nil
}

// identity is the commit identity GitHub uses for login: its name and its
// private no-reply address.
func (s *Server) identity(login string, at time.Time) gitrepo.Identity {
	return gitrepo.Identity{
		Name:  login,
		Email: s.NoReplyEmail(login),
		When:  at,
	}
}

// githubIdentity commits every merge made on github.com.
func (s *Server) githubIdentity(at time.Time) gitrepo.Identity {
	return gitrepo.Identity{Name: "GitHub", Email: "noreply@github.com", When: at}
}
