// Package forge is where proposals are reviewed: a branch per batch, reviews,
// merges and rejections. The local forge keeps all of it in git on a bare
// remote; the GitHub forge maps it onto pull requests.
package forge

import (
	"context"
	"errors"
	"strings"
	"time"
)

// BranchPrefix starts every proposal branch: crmops/<batch-id>.
const BranchPrefix = "crmops/"

// Errors callers act on.
var (
	ErrNoProposal = errors.New("no open proposal")
	ErrSelfReview = errors.New("the author of a proposal cannot review it")
	// ErrMoved reports a proposal whose head, or whose base branch, moved
	// after it was evaluated: evaluate it again before merging.
	ErrMoved = errors.New("the proposal or its base branch moved after it was evaluated")
	// ErrExists reports a proposal branch that is already on the remote:
	// a concurrent run proposed the same batch first.
	ErrExists = errors.New("a proposal branch for this batch already exists")
)

// Proposal is a batch file to open for review.
type Proposal struct {
	BatchID string
	Path    string // proposals/<id>.yaml (or sharded below proposals/)
	Content []byte
	Title   string
	Body    string // Markdown for a pull request: summary, table, diffs
	// Summary is plain text, for a commit message.
	Summary string
	Author  string // login of whoever proposes
	Labels  []string
	// Reviewers to request, from the policy rules that matched.
	Reviewers []string
	// Status is the policy's verdict as a commit status on the head:
	// success (auto), pending (waiting for review) or failure (denied).
	Status, StatusDescription string
	At                        time.Time
}

// Open is a proposal under review.
type Open struct {
	BatchID     string
	Branch      string
	PullRequest int
	URL         string
	Head        string // commit the proposal branch points at
	Base        string // commit of the base branch it was compared with
	Author      string
	Created     time.Time
	// Files the proposal changes relative to its merge base.
	Files []string
	// Content is the batch file as it stands on the head commit, at Path.
	Path    string
	Content []byte
	// FromFork is true when the head lives in another repository.
	FromFork bool
	// ChangedBy are the identities that authored or committed a commit
	// changing the batch file since it was proposed (the proposer's first
	// commit included). None of them may approve it.
	ChangedBy []string
	// Unattributed lists commits that changed the batch file but that the
	// forge cannot attribute to an account (GitHub: an author or committer
	// e-mail linked to no user). Whoever pushed them cannot be excluded from
	// approving, so while any is listed no approval counts.
	Unattributed []string
}

// Approval is one counted approval of a head commit.
type Approval struct {
	Login string
	Head  string
	At    time.Time
}

// Merge asks to merge a proposal at exactly the evaluated head.
type Merge struct {
	// Base and Head are the commits the policy and approvals were evaluated
	// on; the merge is refused if either moved.
	Base     string
	Head     string
	Title    string
	Trailers [][2]string // the audit trailers, in order
	At       time.Time
	Actor    string
}

// Merged describes how a batch reached the base branch, as the forge
// itself recorded it: the evidence apply checks before executing anything.
type Merged struct {
	// MergeCommit added the batch to the base branch; Base is its first parent
	// (where the policy is read), Head the proposal commit that was merged.
	MergeCommit string
	Base        string
	Head        string
	PullRequest int
	Author      string
	// Decision is what the merge recorded: "auto" or "approved"; "" if the
	// batch reached the base branch some other way.
	Decision string
	// Approvals counted on Head, by people other than Author.
	Approvals []Approval
	// Files the merge changed relative to Base.
	Files []string
	// FromFork is true when the merged head came from another repository.
	FromFork bool
	// ChangedBy are the identities that changed the batch file between its
	// proposal and the merged head (see Open.ChangedBy).
	ChangedBy []string
	// Unattributed: see Open.Unattributed.
	Unattributed []string
}

// Closed is a proposal closed without being merged.
type Closed struct {
	Open *Open
	By   string
	At   time.Time
}

// Forge is the review system behind proposals.
type Forge interface {
	// Open pushes the proposal's branch and opens it for review.
	Open(ctx context.Context, p Proposal) (*Open, error)
	// List returns every open proposal.
	List(ctx context.Context) ([]*Open, error)
	// Get returns the open proposal for a batch, or ErrNoProposal.
	Get(ctx context.Context, batchID string) (*Open, error)
	// Approvals returns the approvals that count for o: the latest review of
	// each reviewer other than the author, approving o.Head.
	Approvals(ctx context.Context, o *Open) ([]Approval, error)
	// Approve records login's approval of o's current head.
	Approve(ctx context.Context, o *Open, login string, at time.Time) error
	// Close closes o without merging (the caller records the rejection).
	Close(ctx context.Context, o *Open, login, reason string, at time.Time) error
	// Merge merges o at m.Head into the base branch and returns the merge commit.
	Merge(ctx context.Context, o *Open, m Merge) (string, error)
	// MergedBy finds how the batch at path reached the base branch. It
	// reads only what the forge and git recorded, never the batch's own
	// claims (such as its created time).
	MergedBy(ctx context.Context, batchID, path string) (*Merged, error)
}

// CountApprovals is the four-eyes rule, in one place for every forge: of
// the approvals of a head (the latest review of each person), one counts
// per person, logins compared case-insensitively as GitHub compares them,
// and none from the proposer or from anyone who changed the batch since it
// was proposed. Order is kept.
func CountApprovals(approvals []Approval, proposer string, changedBy []string) []Approval {
	excluded := map[string]bool{strings.ToLower(proposer): true}
	for _, who := range changedBy {
		excluded[strings.ToLower(who)] = true
	}
	seen := map[string]bool{}
	var out []Approval
	for _, a := range approvals {
		key := strings.ToLower(strings.TrimSpace(a.Login))
		if key == "" || excluded[key] || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, a)
	}
	return out
}
