package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	gh "github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/modify"
)

// maxPullCommits is the most commits GitHub lists for a pull request
// ("List commits on a pull request" stops at 250): a pull request with that
// many may have more, whose authors cannot be read.
const maxPullCommits = 250

// webFlow is GitHub itself as the committer of web edits, merges and
// "Update branch": not a person, so not someone to exclude.
const webFlow = "web-flow"

// attribution reads who changed the batch file at path in pull request pr:
// four eyes on every pusher. GitHub does not say who pushed a commit, only
// which accounts its author and committer e-mail addresses are linked to
// (author.login, committer.login of "List commits on a pull request"), so
// everyone who authored or committed a commit that changed the batch file
// is in changedBy, and a commit with an author or committer linked to no
// account is in unattributed: whoever pushed it cannot be excluded.
//
// A commit changed the batch file when the file's content differs from its
// first parent's: a merge of the base branch into the pull request that
// leaves the batch alone does not count, nor does a commit that changes
// other files.
//
// Nor does a commit, after the one that starts the pull request, that only
// drops changes (modify.PureDrop of its first parent's version, both read
// from git): it narrows what was proposed and adds nothing, so its author
// and committer may approve the new head, and it needs no attribution (a
// drop commit crmops writes carries the dropper's crmops address, which
// GitHub links to no account).
//
// One commit is the proposal itself: the single commit changing the batch
// file that starts the pull request (its first parent is outside it), when
// it adds the file and GitHub recorded no force push or deletion of the
// head, which could have replaced it. It is vouched for by the proposer, pr.user.login, who
// opened the pull request with it; the commits crmops writes carry the
// proposer's crmops address, which GitHub links to no account, and are
// attributed to the proposer that way.
func (f *Forge) attribution(ctx context.Context, pr *gh.PullRequest, path string) (changedBy, unattributed []string, err error) {
	n := pr.GetNumber()
	commits, err := f.pullCommits(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	rewritten, err := f.headRewritten(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	inPR := map[string]bool{}
	for _, c := range commits {
		inPR[c.GetSHA()] = true
	}
	type change struct {
		sha      string
		start    bool     // its first parent is outside the pull request
		adds     bool     // its first parent has no batch file
		logins   []string // linked author and committer
		unlinked bool     // an author or committer linked to no account
	}
	var changes []change
	starts := 0
	for _, c := range commits {
		info, err := f.ws.Git.CommitInfo(plumbing.NewHash(c.GetSHA()))
		if err != nil {
			return nil, nil, fmt.Errorf("pull request #%d: %w", n, err)
		}
		changed, adds, err := changesFile(f.ws.Git, info, path)
		if err != nil {
			return nil, nil, fmt.Errorf("pull request #%d: %w", n, err)
		}
		if !changed {
			continue
		}
		start := len(info.Parents) == 0 || !inPR[info.Parents[0].String()]
		if !start {
			if pure, err := pureDrop(f.ws.Git, info, path); err != nil {
				return nil, nil, fmt.Errorf("pull request #%d: %w", n, err)
			} else if pure {
				continue // it only narrowed the proposal: nobody to exclude
			}
		}
		ch := change{sha: c.GetSHA(), start: start, adds: adds}
		if login := c.GetAuthor().GetLogin(); login != "" {
			ch.logins = append(ch.logins, login)
		} else {
			ch.unlinked = true
		}
		switch login := c.GetCommitter().GetLogin(); {
		case strings.EqualFold(login, webFlow):
		case login != "":
			ch.logins = append(ch.logins, login)
		default:
			ch.unlinked = true
		}
		if ch.start {
			starts++
		}
		changes = append(changes, ch)
	}
	seen := map[string]bool{}
	add := func(login string) {
		if key := strings.ToLower(login); !seen[key] {
			seen[key] = true
			changedBy = append(changedBy, login)
		}
	}
	proposal := !rewritten && starts == 1
	for _, ch := range changes {
		for _, login := range ch.logins {
			add(login)
		}
		switch {
		case !ch.unlinked:
		case ch.start && ch.adds && proposal:
			add(pr.GetUser().GetLogin())
		default:
			unattributed = append(unattributed, ch.sha)
		}
	}
	if len(commits) >= maxPullCommits {
		unattributed = append(unattributed, fmt.Sprintf(
			"pull request #%d has %d commits or more, the most GitHub lists: the others cannot be attributed", n, maxPullCommits))
	}
	return changedBy, unattributed, nil
}

// pureDrop reports whether commit c only dropped changes from the batch
// file at path, relative to its first parent (modify.PureDrop), reading
// both versions from git.
func pureDrop(git *gitrepo.Repo, c *gitrepo.Commit, path string) (bool, error) {
	if len(c.Parents) == 0 {
		return false, nil
	}
	cur, err := git.ReadFile(c.Hash, path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	old, err := git.ReadFile(c.Parents[0], path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return modify.PureDrop(path, old, cur), nil
}

// changesFile reports whether commit c changes path relative to its first
// parent (a root commit relative to nothing), and whether it adds it.
func changesFile(git *gitrepo.Repo, c *gitrepo.Commit, path string) (changed, adds bool, err error) {
	read := func(h gitrepo.Hash) ([]byte, bool, error) {
		data, err := git.ReadFile(h, path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return data, err == nil, err
	}
	cur, has, err := read(c.Hash)
	if err != nil {
		return false, false, err
	}
	var old []byte
	had := false
	if len(c.Parents) > 0 {
		if old, had, err = read(c.Parents[0]); err != nil {
			return false, false, err
		}
	}
	return has != had || !bytes.Equal(cur, old), has && !had, nil
}

// pullCommits lists pull request n's commits, oldest first, following
// pagination (GitHub stops at maxPullCommits).
func (f *Forge) pullCommits(ctx context.Context, n int) ([]*gh.RepositoryCommit, error) {
	opts := &gh.ListOptions{PerPage: 100}
	var out []*gh.RepositoryCommit
	for {
		commits, resp, err := f.client.PullRequests.ListCommits(ctx, f.owner, f.repo, n, opts)
		if err != nil {
			return nil, fmt.Errorf("commits of pull request #%d: %w", n, err)
		}
		out = append(out, commits...)
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// headRewritten reports whether GitHub recorded a force push or a deletion
// of pull request n's head branch: its first commit may then not be the one
// it was opened with.
func (f *Forge) headRewritten(ctx context.Context, n int) (bool, error) {
	opts := &gh.ListOptions{PerPage: 100}
	for {
		events, resp, err := f.client.Issues.ListIssueEvents(ctx, f.owner, f.repo, n, opts)
		if err != nil {
			return false, fmt.Errorf("events of pull request #%d: %w", n, err)
		}
		for _, e := range events {
			switch e.GetEvent() {
			case "head_ref_force_pushed", "head_ref_deleted", "head_ref_restored":
				return true, nil
			}
		}
		if resp.NextPage == 0 {
			return false, nil
		}
		opts.Page = resp.NextPage
	}
}
