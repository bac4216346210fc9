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

// MaxPullCommits is how many commits "List commits on a pull request"
// returns at most, whatever the pagination: GitHub documents the cap of 250
// and points to the repository's commit list for more.
const MaxPullCommits = 250

// WebFlow is the login GitHub reports as the committer of commits it makes
// itself (web edits, merges, "Update branch"): noreply@github.com.
const WebFlow = "web-flow"

// NoReplyEmail is login's GitHub no-reply address, <id>+<login>@users.noreply.github.com,
// which GitHub links to the account without it being listed anywhere. The
// double uses it for the commits it writes (merges, test merges).
func (s *Server) NoReplyEmail(login string) string {
	return fmt.Sprintf("%d+%s@users.noreply.github.com", userID(login), login)
}

// LinkEmail links a commit e-mail address to login, as a verified address on
// a GitHub account does: commits whose author or committer has that address
// are reported with that account. It applies to every read from then on,
// commits written earlier included (GitHub links retroactively too). An
// empty login unlinks the address, as removing it from the account does.
func (s *Server) LinkEmail(email, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emails[strings.ToLower(email)] = login
}

// linkedLogin is the account GitHub attributes a commit identity to, or ""
// when the address belongs to no account: a listed address (Options.Emails,
// LinkEmail), a no-reply address whose id matches its login, or GitHub's own
// noreply@github.com (web-flow). The name is never looked at, as on GitHub.
func (s *Server) linkedLogin(email string) string {
	e := strings.ToLower(strings.TrimSpace(email))
	if login, ok := s.emails[e]; ok {
		return login
	}
	if e == "noreply@github.com" {
		return WebFlow
	}
	local, ok := strings.CutSuffix(e, "@users.noreply.github.com")
	if !ok {
		return ""
	}
	id, login, ok := strings.Cut(local, "+")
	if !ok || login == "" || id != strconv.FormatInt(userID(login), 10) {
		return ""
	}
	return login
}

// gitUserJSON is a git identity in a commit ("git-user").
type gitUserJSON struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Date  string `json:"date"`
}

// commitJSON is the "commit" schema that pull request commit lists return.
type commitJSON struct {
	URL         string `json:"url"`
	SHA         string `json:"sha"`
	NodeID      string `json:"node_id"`
	HTMLURL     string `json:"html_url"`
	CommentsURL string `json:"comments_url"`
	Commit      struct {
		URL          string      `json:"url"`
		Author       gitUserJSON `json:"author"`
		Committer    gitUserJSON `json:"committer"`
		Message      string      `json:"message"`
		CommentCount int         `json:"comment_count"`
		Tree         struct {
			SHA string `json:"sha"`
			URL string `json:"url"`
		} `json:"tree"`
		Verification struct {
			Verified  bool    `json:"verified"`
			Reason    string  `json:"reason"`
			Signature *string `json:"signature"`
			Payload   *string `json:"payload"`
		} `json:"verification"`
	} `json:"commit"`
	// Author and Committer are the GitHub accounts the git identities'
	// e-mail addresses are linked to; null when none is.
	Author    *userJSON `json:"author"`
	Committer *userJSON `json:"committer"`
	Parents   []struct {
		SHA     string `json:"sha"`
		URL     string `json:"url"`
		HTMLURL string `json:"html_url"`
	} `json:"parents"`
}

func (s *Server) commitView(c *gitrepo.Commit) commitJSON {
	sha := c.Hash.String()
	var v commitJSON
	v.URL = s.apiURL("/commits/" + sha)
	v.SHA = sha
	v.NodeID = "C_" + sha[:12]
	v.HTMLURL = s.htmlURL("/commit/" + sha)
	v.CommentsURL = s.apiURL("/commits/" + sha + "/comments")
	v.Commit.URL = s.apiURL("/git/commits/" + sha)
	v.Commit.Author = gitUserJSON{Name: c.Author.Name, Email: c.Author.Email, Date: timestamp(c.Author.When)}
	v.Commit.Committer = gitUserJSON{Name: c.Committer.Name, Email: c.Committer.Email, Date: timestamp(c.Committer.When)}
	v.Commit.Message = strings.TrimSuffix(c.Message, "\n")
	v.Commit.Tree.SHA = c.Tree.String()
	v.Commit.Tree.URL = s.apiURL("/git/trees/" + c.Tree.String())
	// The double signs nothing.
	v.Commit.Verification.Reason = "unsigned"
	if login := s.linkedLogin(c.Author.Email); login != "" {
		u := s.user(login)
		v.Author = &u
	}
	if login := s.linkedLogin(c.Committer.Email); login != "" {
		u := s.user(login)
		v.Committer = &u
	}
	for _, p := range c.Parents {
		v.Parents = append(v.Parents, struct {
			SHA     string `json:"sha"`
			URL     string `json:"url"`
			HTMLURL string `json:"html_url"`
		}{p.String(), s.apiURL("/commits/" + p.String()), s.htmlURL("/commit/" + p.String())})
	}
	return v
}

// pullCommits returns the commits reachable from head and not from base,
// oldest first.
func pullCommits(repo *gitrepo.Repo, head, base gitrepo.Hash) ([]*gitrepo.Commit, error) {
	inBase := map[gitrepo.Hash]bool{}
	if !base.IsZero() {
		err := repo.Log(base, false, func(c *gitrepo.Commit) error {
			inBase[c.Hash] = true
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("pull request commits: %w", err)
		}
	}
	var out []*gitrepo.Commit
	err := repo.Log(head, false, func(c *gitrepo.Commit) error {
		if !inBase[c.Hash] {
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pull request commits: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}

// listPullCommits lists a pull request's commits, oldest first, at most
// MaxPullCommits of them, with the GitHub accounts their authors' and
// committers' e-mail addresses are linked to (null when none is).
// https://docs.github.com/en/rest/pulls/pulls#list-commits-on-a-pull-request
func (s *Server) listPullCommits(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	repo, err := c.repo()
	if err != nil {
		return 0, nil, err
	}
	commits, err := pullCommits(repo, p.headSHA, p.baseTip)
	if err != nil {
		return 0, nil, err
	}
	page := paginate(c, commits[:min(len(commits), MaxPullCommits)])
	out := make([]commitJSON, 0, len(page))
	for _, cm := range page {
		out = append(out, s.commitView(cm))
	}
	return http.StatusOK, out, nil
}

// event is an issue event of a pull request. The double records closed,
// reopened, merged, head_ref_deleted and head_ref_force_pushed.
type event struct {
	id     int64
	event  string
	actor  string // "" when the double cannot know (a push it only sees)
	commit gitrepo.Hash
	at     time.Time
}

// eventJSON is the "issue-event" schema.
type eventJSON struct {
	ID                    int64     `json:"id"`
	NodeID                string    `json:"node_id"`
	URL                   string    `json:"url"`
	Actor                 *userJSON `json:"actor"`
	Event                 string    `json:"event"`
	CommitID              *string   `json:"commit_id"`
	CommitURL             *string   `json:"commit_url"`
	CreatedAt             string    `json:"created_at"`
	PerformedViaGithubApp any       `json:"performed_via_github_app"`
}

// addEvent records an event on p.
func (s *Server) addEvent(p *pull, name, actor string, commit gitrepo.Hash, at time.Time) {
	p.events = append(p.events, &event{id: s.newID(), event: name, actor: actor, commit: commit, at: at})
}

// listEvents lists a pull request's issue events, oldest first. A push the
// double notices on its own (a head moved to a commit that does not descend
// from the previous head, a head branch gone) has a null actor: pushes reach
// the bare repository without saying who made them.
// https://docs.github.com/en/rest/issues/events#list-issue-events
func (s *Server) listEvents(c *call) (int, any, error) {
	p, err := s.pullParam(c)
	if err != nil {
		return 0, nil, err
	}
	page := paginate(c, p.events)
	out := make([]eventJSON, 0, len(page))
	for _, e := range page {
		v := eventJSON{
			ID:        e.id,
			NodeID:    fmt.Sprintf("E_%d", e.id),
			URL:       s.apiURL(fmt.Sprintf("/issues/events/%d", e.id)),
			Event:     e.event,
			CreatedAt: timestamp(e.at),
		}
		if e.actor != "" {
			u := s.user(e.actor)
			v.Actor = &u
		}
		if !e.commit.IsZero() {
			v.CommitID = nullable(e.commit.String())
			v.CommitURL = nullable(s.apiURL("/commits/" + e.commit.String()))
		}
		out = append(out, v)
	}
	return http.StatusOK, out, nil
}
