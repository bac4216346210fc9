package githubtest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/gitrepo"
)

// getPermission reports login's permission on the repository. GitHub's
// "permission" field folds maintain into write and triage into read; the
// exact role is in "role_name".
// https://docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user
func (s *Server) getPermission(c *call) (int, any, error) {
	login := c.params[0]
	role := s.permission(login)
	perm := role
	switch role {
	case "maintain":
		perm = "write"
	case "triage":
		perm = "read"
	}
	type collaborator struct {
		userJSON
		Permissions map[string]bool `json:"permissions"`
		RoleName    string          `json:"role_name"`
	}
	return http.StatusOK, struct {
		Permission string       `json:"permission"`
		RoleName   string       `json:"role_name"`
		User       collaborator `json:"user"`
	}{
		Permission: perm,
		RoleName:   role,
		User: collaborator{
			userJSON: s.user(login),
			Permissions: map[string]bool{
				"admin":    atLeast(role, "admin"),
				"maintain": atLeast(role, "maintain"),
				"push":     atLeast(role, "write"),
				"triage":   atLeast(role, "triage"),
				"pull":     atLeast(role, "read"),
			},
			RoleName: role,
		},
	}, nil
}

// status is a commit status.
type status struct {
	id          int64
	state       string
	context     string
	description string
	targetURL   string
	creator     string
	created     time.Time
}

// statusJSON is the "status" schema.
type statusJSON struct {
	URL         string   `json:"url"`
	AvatarURL   *string  `json:"avatar_url"`
	ID          int64    `json:"id"`
	NodeID      string   `json:"node_id"`
	State       string   `json:"state"`
	Description *string  `json:"description"`
	TargetURL   *string  `json:"target_url"`
	Context     string   `json:"context"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
	Creator     userJSON `json:"creator"`
}

func (s *Server) statusView(sha gitrepo.Hash, st *status) statusJSON {
	return statusJSON{
		URL:         s.apiURL("/statuses/" + sha.String()),
		ID:          st.id,
		NodeID:      fmt.Sprintf("SC_%d", st.id),
		State:       st.state,
		Description: nullable(st.description),
		TargetURL:   nullable(st.targetURL),
		Context:     st.context,
		CreatedAt:   timestamp(st.created),
		UpdatedAt:   timestamp(st.created),
		Creator:     s.user(st.creator),
	}
}

// statusesNewestFirst is the order GitHub lists a commit's statuses in.
func (s *Server) statusesNewestFirst(sha gitrepo.Hash) []*status {
	out := slices.Clone(s.statuses[sha])
	slices.Reverse(out)
	return out
}

// createStatus records a status on a commit, named by its full SHA.
// https://docs.github.com/en/rest/commits/statuses#create-a-commit-status
func (s *Server) createStatus(c *call) (int, any, error) {
	const docs = docsStatuses + "#create-a-commit-status"
	repo, err := c.repo()
	if err != nil {
		return 0, nil, err
	}
	sha, ok := parseSHA(c.params[0])
	if ok {
		_, err := repo.CommitInfo(sha)
		ok = err == nil
	}
	if !ok {
		return 0, nil, fail(http.StatusUnprocessableEntity, docs, "No commit found for SHA: "+c.params[0])
	}
	var in struct {
		State       string `json:"state"`
		TargetURL   string `json:"target_url"`
		Description string `json:"description"`
		Context     string `json:"context"`
	}
	if err := c.decode(&in); err != nil {
		return 0, nil, err
	}
	switch in.State {
	case "pending", "success", "failure", "error":
	default:
		return 0, nil, validationFailed(docs, fieldError{Resource: "Status", Field: "state", Code: "custom",
			Message: "state is not included in the list"})
	}
	if in.Context == "" {
		in.Context = "default"
	}
	st := &status{
		id: s.newID(), state: in.State, context: in.Context, description: in.Description,
		targetURL: in.TargetURL, creator: c.login, created: c.now(),
	}
	s.statuses[sha] = append(s.statuses[sha], st)
	v := s.statusView(sha, st)
	c.header.Set("Location", v.URL)
	return http.StatusCreated, v, nil
}

// listStatuses lists the statuses of a commit named by SHA, branch or tag,
// newest first.
// https://docs.github.com/en/rest/commits/statuses#list-commit-statuses-for-a-reference
func (s *Server) listStatuses(c *call) (int, any, error) {
	sha, err := s.resolve(c, c.params[0])
	if err != nil {
		return 0, nil, err
	}
	if sha.IsZero() {
		return 0, nil, fail(http.StatusNotFound, docsStatuses+"#list-commit-statuses-for-a-reference",
			"No commit found for SHA: "+c.params[0])
	}
	page := paginate(c, s.statusesNewestFirst(sha))
	out := make([]statusJSON, 0, len(page))
	for _, st := range page {
		out = append(out, s.statusView(sha, st))
	}
	return http.StatusOK, out, nil
}

// commitPulls lists the pull requests a commit belongs to: the one it is
// the merge commit of, and those whose own commits (reachable from the head,
// not from the base) include it. Newest first.
// https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit
func (s *Server) commitPulls(c *call) (int, any, error) {
	sha, err := s.resolve(c, c.params[0])
	if err != nil {
		return 0, nil, err
	}
	if sha.IsZero() {
		return 0, nil, fail(http.StatusUnprocessableEntity, docsCommits+"#list-pull-requests-associated-with-a-commit",
			"No commit found for SHA: "+c.params[0])
	}
	repo, err := c.repo()
	if err != nil {
		return 0, nil, err
	}
	var found []*pull
	for _, p := range slices.Backward(s.pulls) {
		if err := s.sync(c, p); err != nil {
			return 0, nil, err
		}
		in := p.merged && p.mergeCommit == sha
		if !in {
			inHead, err := repo.IsAncestor(sha, p.headSHA)
			if err != nil {
				return 0, nil, err
			}
			inBase, err := repo.IsAncestor(sha, p.baseTip)
			if err != nil {
				return 0, nil, err
			}
			in = inHead && !inBase
		}
		if in {
			found = append(found, p)
		}
	}
	page := paginate(c, found)
	out := make([]pullSimpleJSON, 0, len(page))
	for _, p := range page {
		out = append(out, s.simpleView(p))
	}
	return http.StatusOK, out, nil
}

// deleteRef deletes a branch or tag; an open pull request whose head or
// base it was is closed, as GitHub closes it.
// https://docs.github.com/en/rest/git/refs#delete-a-reference
func (s *Server) deleteRef(c *call) (int, any, error) {
	const docs = docsRefs + "#delete-a-reference"
	name := "refs/" + c.params[0]
	gone := fail(http.StatusUnprocessableEntity, docs, "Reference does not exist")
	if !strings.HasPrefix(name, "refs/heads/") && !strings.HasPrefix(name, "refs/tags/") {
		return 0, nil, gone
	}
	repo, err := c.repo()
	if err != nil {
		return 0, nil, err
	}
	if _, err := repo.Ref(name); errors.Is(err, gitrepo.ErrRefNotFound) {
		return 0, nil, gone
	} else if err != nil {
		return 0, nil, err
	}
	if err := repo.DeleteRef(name); err != nil {
		return 0, nil, err
	}
	for _, p := range s.pulls {
		wasOpen, seen := p.state == stateOpen, len(p.events)
		if err := s.sync(c, p); err != nil {
			return 0, nil, err
		}
		if wasOpen && p.state == stateClosed {
			// The deletion is this request's: it knows who did it.
			p.closedBy = c.login
			for _, e := range p.events[seen:] {
				e.actor = c.login
			}
		}
	}
	return http.StatusNoContent, nil, nil
}

// resolve names a commit by full SHA, branch or tag; ZeroHash when nothing
// matches.
func (s *Server) resolve(c *call, ref string) (gitrepo.Hash, error) {
	repo, err := c.repo()
	if err != nil {
		return gitrepo.ZeroHash, err
	}
	if h, ok := parseSHA(ref); ok {
		if _, err := repo.CommitInfo(h); err != nil {
			return gitrepo.ZeroHash, nil
		}
		return h, nil
	}
	for _, name := range []string{"refs/heads/" + ref, "refs/tags/" + ref} {
		h, err := repo.Ref(name)
		if errors.Is(err, gitrepo.ErrRefNotFound) {
			continue
		}
		return h, err
	}
	return gitrepo.ZeroHash, nil
}

// parseSHA accepts a full 40-digit hex SHA only, as the endpoints that want
// one do.
func parseSHA(s string) (gitrepo.Hash, bool) {
	if len(s) != 40 || !plumbing.IsHash(s) {
		return gitrepo.ZeroHash, false
	}
	return plumbing.NewHash(s), true
}
