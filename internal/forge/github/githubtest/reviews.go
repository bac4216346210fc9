package githubtest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmops/crmops/internal/gitrepo"
)

// review is a pull request review.
type review struct {
	id        int64
	user      string
	state     string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
	commit    gitrepo.Hash
	body      string
	submitted time.Time // zero while pending
}

// reviewJSON is the "pull-request-review" schema.
type reviewJSON struct {
	ID                int64    `json:"id"`
	NodeID            string   `json:"node_id"`
	User              userJSON `json:"user"`
	Body              string   `json:"body"`
	State             string   `json:"state"`
	HTMLURL           string   `json:"html_url"`
	PullRequestURL    string   `json:"pull_request_url"`
	AuthorAssociation string   `json:"author_association"`
	SubmittedAt       *string  `json:"submitted_at,omitempty"`
	CommitID          string   `json:"commit_id"`
}

func (s *Server) reviewView(p *pull, r *review) reviewJSON {
	n := strconv.Itoa(p.number)
	return reviewJSON{
		ID:                r.id,
		NodeID:            fmt.Sprintf("PRR_%d", r.id),
		User:              s.user(r.user),
		Body:              r.body,
		State:             r.state,
		HTMLURL:           s.htmlURL(fmt.Sprintf("/pull/%s#pullrequestreview-%d", n, r.id)),
		PullRequestURL:    s.apiURL("/pulls/" + n),
		AuthorAssociation: s.association(r.user),
		SubmittedAt:       timestampOrNull(r.submitted),
		CommitID:          r.commit.String(),
	}
}

// listReviews lists reviews oldest first; a pending review is visible to
// its author only.
// https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request
func (s *Server) listReviews(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var visible []*review
	for _, r := range p.reviews {
		if r.state != "PENDING" || r.user == c.login {
			visible = append(visible, r)
		}
	}
	page := paginate(c, visible)
	out := make([]reviewJSON, 0, len(page))
	for _, r := range page {
		out = append(out, s.reviewView(p, r))
	}
	return http.StatusOK, out, nil
}

// createReview submits a review, or starts a pending one when event is
// empty. commit_id defaults to the current head; the author can neither
// approve nor request changes.
// https://docs.github.com/en/rest/pulls/reviews#create-a-review-for-a-pull-request
func (s *Server) createReview(c *call) (int, any, error) {
	const docs = docsReviews + "#create-a-review-for-a-pull-request"
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		CommitID string `json:"commit_id"`
		Body     string `json:"body"`
		Event    string `json:"event"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	var state string
	switch in.Event {
	case "APPROVE":
		state = "APPROVED"
	case "REQUEST_CHANGES":
		state = "CHANGES_REQUESTED"
	case "COMMENT":
		state = "COMMENTED"
	case "":
		state = "PENDING"
	default:
		return 0, nil, validationFailed(docs, fieldError{Resource: "PullRequestReview", Field: "event", Code: "invalid"})
	}
	switch {
	case p.state != stateOpen:
		return 0, nil, unprocessable(docs, "Can not review a closed pull request")
	case c.login == p.author && state == "APPROVED":
		return 0, nil, unprocessable(docs, "Can not approve your own pull request")
	case c.login == p.author && state == "CHANGES_REQUESTED":
		return 0, nil, unprocessable(docs, "Can not request changes on your own pull request")
	case in.Body == "" && (state == "CHANGES_REQUESTED" || state == "COMMENTED"):
		return 0, nil, unprocessable(docs, "Review body is required for "+in.Event)
	}
	if state == "PENDING" && slices.ContainsFunc(p.reviews, func(r *review) bool { return r.user == c.login && r.state == "PENDING" }) {
		return 0, nil, unprocessable(docs, "User can only have one pending review per pull request")
	}
	commit := p.headSHA
	if in.CommitID != "" {
		repo, err := c.repo()
		if err != nil {
			return 0, nil, err
		}
		h, ok := parseSHA(in.CommitID)
		if ok {
			_, err := repo.CommitInfo(h)
			ok = err == nil
		}
		if !ok {
			return 0, nil, unprocessable(docs, "Commit "+in.CommitID+" is not part of the pull request")
		}
		commit = h
	}
	r := &review{id: s.newID(), user: c.login, state: state, commit: commit, body: in.Body}
	if state != "PENDING" {
		r.submitted = c.now()
		// A submitted review answers the request for it.
		p.reviewers = slices.DeleteFunc(p.reviewers, func(l string) bool { return l == c.login })
	}
	p.reviews = append(p.reviews, r)
	return http.StatusOK, s.reviewView(p, r), nil
}

// requestReviewers asks users (and teams, by slug) for reviews; the author
// cannot be asked, nor can anyone without access to the repository.
// https://docs.github.com/en/rest/pulls/review-requests#request-reviewers-for-a-pull-request
func (s *Server) requestReviewers(c *call) (int, any, error) {
	const docs = docsReviewReqs + "#request-reviewers-for-a-pull-request"
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Reviewers     []string `json:"reviewers"`
		TeamReviewers []string `json:"team_reviewers"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	for _, r := range in.Reviewers {
		// Logins are case-insensitive on GitHub.
		if strings.EqualFold(r, p.author) {
			return 0, nil, fail(http.StatusUnprocessableEntity, docs, "Review cannot be requested from pull request author.")
		}
		if !atLeast(s.permission(r), "read") {
			return 0, nil, fail(http.StatusUnprocessableEntity, docs, fmt.Sprintf(
				"Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the %s/%s repository.",
				s.opts.Owner, s.opts.Repo))
		}
	}
	for _, r := range in.Reviewers {
		if !slices.Contains(p.reviewers, r) {
			p.reviewers = append(p.reviewers, r)
		}
	}
	for _, t := range in.TeamReviewers {
		if !slices.Contains(p.teams, t) {
			p.teams = append(p.teams, t)
		}
	}
	p.updated = c.now()
	return http.StatusCreated, s.simpleView(p), nil
}

// listRequestedReviewers lists the outstanding review requests.
// https://docs.github.com/en/rest/pulls/review-requests#get-all-requested-reviewers-for-a-pull-request
func (s *Server) listRequestedReviewers(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	v := s.simpleView(p)
	return http.StatusOK, struct {
		Users []userJSON `json:"users"`
		Teams []teamJSON `json:"teams"`
	}{v.RequestedReviewers, v.RequestedTeams}, nil
}
