package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// label is a repository label.
type label struct {
	id   int64
	name string
}

// labelJSON is the "label" schema.
type labelJSON struct {
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
	Description *string `json:"description"`
}

func (s *Server) labelView(l *label) labelJSON {
	return labelJSON{
		ID:     l.id,
		NodeID: fmt.Sprintf("LA_%d", l.id),
		URL:    s.apiURL("/labels/" + url.PathEscape(l.name)),
		Name:   l.name,
		// GitHub's colour for a label created by adding it to an issue.
		Color: "ededed",
	}
}

// comment is an issue comment.
type comment struct {
	id      int64
	user    string
	body    string
	created time.Time
}

// commentJSON is the "issue-comment" schema.
type commentJSON struct {
	ID                int64    `json:"id"`
	NodeID            string   `json:"node_id"`
	URL               string   `json:"url"`
	HTMLURL           string   `json:"html_url"`
	Body              string   `json:"body"`
	User              userJSON `json:"user"`
	CreatedAt         string   `json:"created_at"`
	UpdatedAt         string   `json:"updated_at"`
	IssueURL          string   `json:"issue_url"`
	AuthorAssociation string   `json:"author_association"`
}

func (s *Server) commentView(p *pull, cm *comment) commentJSON {
	n := strconv.Itoa(p.number)
	return commentJSON{
		ID:                cm.id,
		NodeID:            fmt.Sprintf("IC_%d", cm.id),
		URL:               s.apiURL(fmt.Sprintf("/issues/comments/%d", cm.id)),
		HTMLURL:           s.htmlURL(fmt.Sprintf("/pull/%s#issuecomment-%d", n, cm.id)),
		Body:              cm.body,
		User:              s.user(cm.user),
		CreatedAt:         timestamp(cm.created),
		UpdatedAt:         timestamp(cm.created),
		IssueURL:          s.apiURL("/issues/" + n),
		AuthorAssociation: s.association(cm.user),
	}
}

// issueJSON is the "issue" schema of a pull request seen as an issue.
type issueJSON struct {
	URL           string      `json:"url"`
	RepositoryURL string      `json:"repository_url"`
	ID            int64       `json:"id"`
	NodeID        string      `json:"node_id"`
	HTMLURL       string      `json:"html_url"`
	Number        int         `json:"number"`
	State         string      `json:"state"`
	StateReason   *string     `json:"state_reason"`
	Title         string      `json:"title"`
	Body          *string     `json:"body"`
	User          userJSON    `json:"user"`
	Labels        []labelJSON `json:"labels"`
	Assignee      any         `json:"assignee"`
	Assignees     []userJSON  `json:"assignees"`
	Milestone     any         `json:"milestone"`
	Locked        bool        `json:"locked"`
	Comments      int         `json:"comments"`
	PullRequest   struct {
		URL      string  `json:"url"`
		HTMLURL  string  `json:"html_url"`
		DiffURL  string  `json:"diff_url"`
		PatchURL string  `json:"patch_url"`
		MergedAt *string `json:"merged_at"`
	} `json:"pull_request"`
	ClosedAt          *string   `json:"closed_at"`
	CreatedAt         string    `json:"created_at"`
	UpdatedAt         string    `json:"updated_at"`
	ClosedBy          *userJSON `json:"closed_by"`
	AuthorAssociation string    `json:"author_association"`
}

// getIssue returns a pull request as an issue, which is where GitHub says
// who closed it (closed_by).
// https://docs.github.com/en/rest/issues/issues#get-an-issue
func (s *Server) getIssue(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	pv := s.simpleView(p)
	v := issueJSON{
		URL:               pv.IssueURL,
		RepositoryURL:     s.apiURL(""),
		ID:                p.id,
		NodeID:            fmt.Sprintf("I_%d", p.id),
		HTMLURL:           pv.HTMLURL,
		Number:            p.number,
		State:             p.state,
		Title:             p.title,
		Body:              pv.Body,
		User:              pv.User,
		Labels:            pv.Labels,
		Assignees:         pv.Assignees,
		Comments:          len(p.comments),
		ClosedAt:          pv.ClosedAt,
		CreatedAt:         pv.CreatedAt,
		UpdatedAt:         pv.UpdatedAt,
		AuthorAssociation: pv.AuthorAssociation,
	}
	v.PullRequest.URL, v.PullRequest.HTMLURL = pv.URL, pv.HTMLURL
	v.PullRequest.DiffURL, v.PullRequest.PatchURL, v.PullRequest.MergedAt = pv.DiffURL, pv.PatchURL, pv.MergedAt
	if p.closedBy != "" {
		u := s.user(p.closedBy)
		v.ClosedBy = &u
	}
	return http.StatusOK, v, nil
}

// addLabels adds labels to a pull request (an issue, to this API),
// creating repository labels that do not exist yet, and returns all of the
// issue's labels. GitHub takes the names as a bare array (what go-github
// sends), as {"labels": [...]}, or as {"labels": [{"name": ...}]}.
// https://docs.github.com/en/rest/issues/labels#add-labels-to-an-issue
func (s *Server) addLabels(c *call) (int, any, error) {
	const docs = docsLabels + "#add-labels-to-an-issue"
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var raw json.RawMessage
	if err := c.decode(&raw); err != nil {
		return 0, nil, err
	}
	names, ok := labelNames(raw)
	if !ok {
		return 0, nil, validationFailed(docs, fieldError{Resource: "Label", Field: "labels", Code: "invalid"})
	}
	for _, name := range names {
		if name == "" {
			return 0, nil, validationFailed(docs, fieldError{Resource: "Label", Field: "name", Code: "missing_field"})
		}
		if s.labels[name] == nil {
			s.labels[name] = &label{id: s.newID(), name: name}
		}
		if !slices.Contains(p.labels, name) {
			p.labels = append(p.labels, name)
		}
	}
	p.updated = c.now()
	return http.StatusOK, s.simpleView(p).Labels, nil
}

// labelNames accepts the three body shapes addLabels documents.
func labelNames(raw json.RawMessage) ([]string, bool) {
	var names []string
	if json.Unmarshal(raw, &names) == nil {
		return names, true
	}
	var wrapped struct {
		Labels json.RawMessage `json:"labels"`
	}
	if json.Unmarshal(raw, &wrapped) != nil || wrapped.Labels == nil {
		return nil, false
	}
	if json.Unmarshal(wrapped.Labels, &names) == nil {
		return names, true
	}
	var objs []struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(wrapped.Labels, &objs) != nil {
		return nil, false
	}
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names, true
}

// listLabels lists a pull request's labels.
// https://docs.github.com/en/rest/issues/labels#list-labels-for-an-issue
func (s *Server) listLabels(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, paginate(c, s.simpleView(p).Labels), nil
}

// createComment comments on a pull request's conversation.
// https://docs.github.com/en/rest/issues/comments#create-an-issue-comment
func (s *Server) createComment(c *call) (int, any, error) {
	const docs = docsComments + "#create-an-issue-comment"
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	if in.Body == "" {
		return 0, nil, validationFailed(docs, fieldError{Resource: "IssueComment", Field: "body", Code: "missing_field"})
	}
	cm := &comment{id: s.newID(), user: c.login, body: in.Body, created: c.now()}
	p.comments = append(p.comments, cm)
	v := s.commentView(p, cm)
	c.header.Set("Location", v.URL)
	return http.StatusCreated, v, nil
}

// listComments lists a pull request's conversation, oldest first.
// https://docs.github.com/en/rest/issues/comments#list-issue-comments
func (s *Server) listComments(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	page := paginate(c, p.comments)
	out := make([]commentJSON, 0, len(page))
	for _, cm := range page {
		out = append(out, s.commentView(p, cm))
	}
	return http.StatusOK, out, nil
}
