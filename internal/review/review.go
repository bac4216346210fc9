// Package review is the human side of the loop: listing proposals, showing
// a batch as a reviewer reads it, approving, rejecting, and the merge gate
// that lets a batch onto the base branch only with approval evidence.
package review

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/workspace"
)

// Service performs reviews in one workspace through its forge.
type Service struct {
	WS    *workspace.Workspace
	Forge forge.Forge
	Now   func() time.Time
}

// Evaluation is everything the gate knows about an open proposal.
type Evaluation struct {
	Open      *forge.Open
	Batch     *batch.Batch
	PolicyRef string
	Verdict   policy.BatchVerdict
	Approvals []forge.Approval
	// Decision is "auto" or "approved" when the batch may be merged.
	Decision string
	// Blocked says why the batch may not be merged, when it may not.
	Blocked string
	// Waiting is true when the only thing missing is approvals: a state
	// that more reviews will end, not a fault.
	Waiting bool
}

// Evaluate checks an open proposal against the policy of the base branch it
// would merge into.
func (s *Service) Evaluate(ctx context.Context, o *forge.Open) (*Evaluation, error) {
	ev := &Evaluation{Open: o}
	base := plumbing.NewHash(o.Base)
	pol, ref, err := s.WS.PolicyAt(base)
	if err != nil {
		return nil, fmt.Errorf("policy of the base branch: %w", err)
	}
	ev.PolicyRef = ref
	b, err := batch.Decode(o.Path, o.Content)
	if err != nil {
		ev.Blocked = "invalid batch: " + err.Error()
		return ev, nil
	}
	ev.Batch = b
	ev.Verdict = pol.EvaluateBatch(b, ProposerOf(o))
	if b.ID != o.BatchID {
		ev.Blocked = fmt.Sprintf("the batch file says batch %q but the proposal is for %q", b.ID, o.BatchID)
		return ev, nil
	}
	if msg := outsideProposals(o); msg != "" {
		ev.Blocked = msg
		return ev, nil
	}
	if _, err := s.WS.Git.ReadFile(base, o.Path); err == nil {
		ev.Blocked = o.Path + " is already on the base branch"
		return ev, nil
	}
	// The same id at another path (another month's folder) is the same
	// batch as far as every reader is concerned: one id, one batch.
	if at, err := s.idOnBase(base, o.BatchID); err != nil {
		return nil, err
	} else if at != "" {
		ev.Blocked = fmt.Sprintf("batch %s is already on the base branch, at %s", o.BatchID, at)
		return ev, nil
	}
	if o.FromFork {
		ev.Blocked = "it comes from a fork; crmops merges only branches of this repository (a writer can push the batch to a crmops/ branch here, where it is reviewed like any proposal)"
		return ev, nil
	}
	if ev.Approvals, err = s.Forge.Approvals(ctx, o); err != nil {
		return nil, err
	}
	if len(o.Unattributed) > 0 {
		// Whoever pushed these cannot be told apart from the reviewers.
		ev.Approvals = nil
		ev.Blocked = fmt.Sprintf("commit(s) %s changed the batch but the forge links them to no account, so their pusher cannot be excluded from approving; push the change again from an account the forge knows", strings.Join(shortAll(o.Unattributed), ", "))
		return ev, nil
	}
	decision, err := policy.Sufficient(ev.Verdict, len(ev.Approvals))
	if err != nil {
		if ev.Blocked == "" {
			ev.Blocked = err.Error()
			ev.Waiting = ev.Verdict.Decision == policy.Review
		}
		return ev, nil
	}
	if ev.Blocked == "" {
		ev.Decision = decision
	}
	return ev, nil
}

// idOnBase returns a file on base that belongs to batch id (its batch
// file, receipt or rejection), or "".
func (s *Service) idOnBase(base gitrepo.Hash, id string) (string, error) {
	files, err := s.WS.Files(base, batch.Dir)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		// Only a name starting with id can be one of its files: the
		// cheap test first, across the tens of thousands on the base.
		if strings.HasPrefix(path.Base(f), id) && batch.IDOfFile(f) == id {
			return f, nil
		}
	}
	return "", nil
}

// ProposerOf is who proposed o, as the forge knows it: the one fact about a
// proposal's origin the policy may trust.
func ProposerOf(o *forge.Open) policy.Proposer {
	return policy.Proposer{Login: o.Author, Outside: o.FromFork}
}

// shortAll abbreviates the commit hashes among entries; an entry that is
// a sentence (a forge's note on what it could not attribute) stays whole.
func shortAll(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e
		if plumbing.IsHash(e) {
			out[i] = workspace.Short(e)
		}
	}
	return out
}

// outsideProposals refuses proposals that change anything but their one
// batch file: a policy or workflow edit riding along with a batch would be
// merged without the review such edits need.
func outsideProposals(o *forge.Open) string {
	for _, f := range o.Files {
		if f != o.Path {
			if !strings.HasPrefix(f, batch.Dir+"/") {
				return fmt.Sprintf("it changes %s, outside %s/; crmops merges only batch files", f, batch.Dir)
			}
			return fmt.Sprintf("it changes %s besides its batch file; a proposal holds exactly one batch", f)
		}
	}
	return ""
}

// ErrBlocked reports a merge the gate refused.
var ErrBlocked = errors.New("not mergeable")

// MergeResult is a completed merge.
type MergeResult struct {
	Evaluation *Evaluation
	Commit     string
}

// Merge merges an open proposal if the policy and approvals allow it. ref
// is the proposal as first found; it is read again after every sync, by its
// pull request number where it has one (a fork's branch is not this
// repository's crmops/<id>).
func (s *Service) Merge(ctx context.Context, ref *forge.Open, actor string) (*MergeResult, error) {
	for attempt := 0; attempt < workspace.Attempts; attempt++ {
		if attempt > 0 {
			// Another merge or receipt moved the base: evaluate again on
			// the new tip, after a moment, so racing clones spread out.
			if err := workspace.Sleep(ctx, workspace.Backoff(attempt)); err != nil {
				return nil, err
			}
		}
		if _, err := s.WS.Sync(ctx); err != nil {
			return nil, err
		}
		o, err := s.find(ctx, ref)
		if err != nil {
			return nil, err
		}
		ev, err := s.Evaluate(ctx, o)
		if err != nil {
			return nil, err
		}
		if ev.Decision == "" {
			return &MergeResult{Evaluation: ev}, fmt.Errorf("merge %s: %w: %s", o.BatchID, ErrBlocked, ev.Blocked)
		}
		commit, err := s.Forge.Merge(ctx, o, forge.Merge{
			Base: o.Base, Head: o.Head, Title: "Merge batch " + o.BatchID + ": " + ev.Batch.Title,
			Trailers: Trailers(ev), At: s.Now(), Actor: actor,
		})
		if errors.Is(err, forge.ErrMoved) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &MergeResult{Evaluation: ev, Commit: commit}, nil
	}
	return nil, fmt.Errorf("merge %s: the base branch kept moving; try again", ref.BatchID)
}

// find reads a proposal again.
func (s *Service) find(ctx context.Context, ref *forge.Open) (*forge.Open, error) {
	if ref.PullRequest == 0 {
		return s.Forge.Get(ctx, ref.BatchID)
	}
	opens, err := s.Forge.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range opens {
		if o.PullRequest == ref.PullRequest {
			return o, nil
		}
	}
	return nil, fmt.Errorf("pull request #%d: %w", ref.PullRequest, forge.ErrNoProposal)
}

// Trailers are the audit facts a merge commit carries.
func Trailers(ev *Evaluation) [][2]string {
	t := [][2]string{
		{"Crmops-Batch", ev.Batch.ID},
		{"Crmops-Decision", ev.Decision},
		{"Crmops-Policy", ev.PolicyRef},
	}
	for _, r := range ev.Verdict.Rules {
		t = append(t, [2]string{"Crmops-Rule", r})
	}
	// Who proposed, as the forge knows it: for people reading git log
	// (evidence is always re-derived from the forge, never from this).
	t = append(t, [2]string{"Crmops-Proposer", ev.Open.Author})
	t = append(t, [2]string{"Crmops-Head", ev.Open.Head})
	if ev.Open.PullRequest > 0 {
		t = append(t, [2]string{"Crmops-Pull-Request", strconv.Itoa(ev.Open.PullRequest)})
	}
	for _, a := range ev.Approvals {
		t = append(t, [2]string{"Approved-by", a.Login})
	}
	return t
}

// Approve records login's approval of the proposal's current head.
func (s *Service) Approve(ctx context.Context, id, login string) (*Evaluation, error) {
	if _, err := s.WS.Sync(ctx); err != nil {
		return nil, err
	}
	o, err := s.Forge.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := batch.Decode(o.Path, o.Content); err != nil {
		return nil, fmt.Errorf("approve %s: the batch is invalid, fix it first: %w", id, err)
	}
	if err := s.Forge.Approve(ctx, o, login, s.Now()); err != nil {
		return nil, err
	}
	return s.Evaluate(ctx, o)
}

// Reject closes a proposal and records the rejection on the base branch, so
// its changes are not proposed again. A proposal from someone the policy
// does not trust is closed without a record (recorded is false): what an
// outsider chose to propose must not suppress genuine proposals later.
func (s *Service) Reject(ctx context.Context, id, login, reason string) (recorded bool, err error) {
	base, err := s.WS.Sync(ctx)
	if err != nil {
		return false, err
	}
	o, err := s.Forge.Get(ctx, id)
	if err != nil {
		return false, err
	}
	pol, _, err := s.WS.PolicyAt(base)
	if err != nil {
		return false, err
	}
	if pol.Trusts(ProposerOf(o)) {
		if err := RecordRejection(ctx, s.WS, o, login, reason, s.Now()); err != nil {
			return false, err
		}
		recorded = true
	}
	return recorded, s.Forge.Close(ctx, o, login, reason, s.Now())
}

// RecordRejection commits proposals/<id>.rejected.yaml to the base branch.
// A batch too broken to decode is still recorded, without its changes.
func RecordRejection(ctx context.Context, ws *workspace.Workspace, o *forge.Open, login, reason string, at time.Time) error {
	rej := batch.Rejection{Version: batch.Version, Batch: o.BatchID, RejectedBy: login, At: at.UTC().Truncate(time.Second), Reason: reason, PullRequest: o.PullRequest}
	if b, err := batch.Decode(o.Path, o.Content); err == nil {
		for _, c := range b.Changes {
			rej.Changes = append(rej.Changes, batch.Rejected(c))
		}
	}
	file := batch.RejectionPath(o.Path)
	data, err := batch.EncodeAt(file, rej)
	if err != nil {
		return err
	}
	who := gitrepo.Identity{Name: login, Email: workspace.LoginEmail(login), When: at}
	msg := fmt.Sprintf("Reject batch %s\n\n%s\n\nCrmops-Batch: %s\nCrmops-Decision: rejected\nRejected-by: %s\n", o.BatchID, strings.TrimSpace(reason), o.BatchID, login)
	_, err = ws.CommitToBase(ctx, map[string][]byte{file: data}, msg, who)
	if err != nil {
		return fmt.Errorf("record rejection of %s: %w", o.BatchID, err)
	}
	return nil
}

// Item is one batch in a listing.
type Item struct {
	Batch    string `json:"batch"`
	Decision string `json:"decision"`
	Changes  int    `json:"changes"`
	State    string `json:"state"`
	Title    string `json:"-"`
	Blocked  string `json:"-"`
	// Frozen: the base branch's policy has freeze: true, so this open
	// proposal's auto decisions are review.
	Frozen bool `json:"-"`
}

// List returns open proposals and, with all, every batch on the base branch.
func (s *Service) List(ctx context.Context, all bool) ([]Item, error) {
	base, err := s.WS.Sync(ctx)
	if err != nil {
		return nil, err
	}
	opens, err := s.Forge.List(ctx)
	if err != nil {
		return nil, err
	}
	var items []Item
	for _, o := range opens {
		it := Item{Batch: o.BatchID, State: "open"}
		ev, err := s.Evaluate(ctx, o)
		if err != nil {
			return nil, err
		}
		it.Decision, it.Blocked, it.Frozen = string(ev.Verdict.Decision), ev.Blocked, ev.Verdict.Frozen
		if ev.Batch != nil {
			it.Changes, it.Title = len(ev.Batch.Changes), ev.Batch.Title
		} else {
			it.Decision = "invalid"
		}
		items = append(items, it)
	}
	if all {
		closed, err := s.closedItems(base)
		if err != nil {
			return nil, err
		}
		items = append(items, closed...)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Batch < items[j].Batch })
	return items, nil
}

// Merged is a batch already on the base branch, with its receipt if it has
// been applied.
type Merged struct {
	Path string
	// Batch is the batch as it was merged, whatever the file says now.
	Batch   *batch.Batch
	Verdict policy.BatchVerdict
	Receipt *batch.Receipt
	// EditedAfterMerge reports a batch file on the base branch that
	// differs from what was merged.
	EditedAfterMerge bool
}

// merged returns the batch file at f as it was merged, which is what ran
// or will run: the version the receipt names, else the one in the merge
// commit, else (no merge found) the base's.
func (s *Service) merged(base gitrepo.Hash, f string, rc *batch.Receipt, how *forge.Merged) ([]byte, error) {
	if rc != nil && plumbing.IsHash(rc.BatchBlob) {
		return s.WS.Git.Blob(plumbing.NewHash(rc.BatchBlob))
	}
	if how.MergeCommit != "" {
		return s.WS.Git.ReadFile(plumbing.NewHash(how.MergeCommit), f)
	}
	return s.WS.Git.ReadFile(base, f)
}

// FindMerged reads batch id from the base branch. The verdict is the
// receipt's policy's when there is a receipt, else the current base's.
func (s *Service) FindMerged(ctx context.Context, id string) (*Merged, error) {
	base, err := s.WS.Sync(ctx)
	if err != nil {
		return nil, err
	}
	files, err := s.WS.Files(base, batch.Dir)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if !batch.IsBatchFile(f) || batch.IDFromPath(f) != id {
			continue
		}
		m := &Merged{Path: f}
		policyAt := base
		if data, err := s.WS.Git.ReadFile(base, batch.ReceiptPath(f)); err == nil {
			if m.Receipt, err = batch.DecodeReceipt(batch.ReceiptPath(f), data); err != nil {
				return nil, err
			}
			if _, commit, ok := strings.Cut(m.Receipt.Approval.Policy, "@"); ok {
				policyAt = plumbing.NewHash(commit)
			}
		}
		pol, _, err := s.WS.PolicyAt(policyAt)
		if err != nil {
			return nil, err
		}
		// The proposer as the forge recorded the merge, never as the batch
		// says; unknown when it reached the branch without one.
		how, err := s.Forge.MergedBy(ctx, id, f)
		if err != nil {
			return nil, err
		}
		data, err := s.merged(base, f, m.Receipt, how)
		if err != nil {
			return nil, err
		}
		current, err := s.WS.Git.ReadFile(base, f)
		if err != nil {
			return nil, err
		}
		m.EditedAfterMerge = !bytes.Equal(current, data)
		if m.Batch, err = batch.Decode(f, data); err != nil {
			return nil, err
		}
		m.Verdict = pol.EvaluateBatch(m.Batch, policy.Proposer{Login: how.Author, Outside: how.FromFork})
		return m, nil
	}
	if rej := rejectionOf(s.WS, base, files, id); rej != "" {
		return nil, fmt.Errorf("%s %s, so nothing of it ran", id, rej)
	}
	if _, err := s.Forge.Get(ctx, id); err == nil {
		return nil, fmt.Errorf("%s is an open proposal, not merged: nothing of it has run (crmops review show %s; to withdraw it, crmops review reject %s)", id, id, id)
	}
	return nil, fmt.Errorf("%s: no such batch, open or merged (crmops review list --all shows them)", id)
}

// NotOpen explains why batch id has no open proposal: it was rejected, it
// is already merged, or there is no such batch. The error wraps
// forge.ErrNoProposal.
func (s *Service) NotOpen(id string) error {
	base, err := s.WS.Git.Ref(s.WS.RemoteRef())
	if err != nil {
		return fmt.Errorf("%s: %w", id, forge.ErrNoProposal)
	}
	files, err := s.WS.Files(base, batch.Dir)
	if err != nil {
		return err
	}
	if rej := rejectionOf(s.WS, base, files, id); rej != "" {
		return notOpen(fmt.Sprintf("%s %s; a rejected batch is not merged (propose its changes again to have them reviewed again)", id, rej))
	}
	for _, f := range files {
		if batch.IsBatchFile(f) && batch.IDFromPath(f) == id {
			return notOpen(fmt.Sprintf("%s is already merged (%s; crmops review show %s)", id, f, id))
		}
	}
	return notOpen(fmt.Sprintf("%s: no batch with that id, open, merged or rejected (crmops review list --all shows them)", id))
}

// notOpen is an error that is forge.ErrNoProposal for callers, and says
// only its own words to people.
type notOpen string

func (e notOpen) Error() string        { return string(e) }
func (e notOpen) Is(target error) bool { return target == forge.ErrNoProposal }

// rejectionOf says who rejected batch id and why, from its rejection
// record on base, or "" when it has none.
func rejectionOf(ws *workspace.Workspace, base gitrepo.Hash, files []string, id string) string {
	for _, f := range files {
		if !strings.HasSuffix(f, batch.RejectionSuffix) || batch.IDOfFile(f) != id {
			continue
		}
		data, err := ws.Git.ReadFile(base, f)
		if err != nil {
			return "was rejected"
		}
		rej, err := batch.DecodeRejection(f, data)
		if err != nil || rej.Batch != id {
			continue // not a rejection crmops wrote
		}
		why := ""
		if rej.Reason != "" {
			why = fmt.Sprintf(" (\"%s\")", display.Terminal(rej.Reason))
		}
		return fmt.Sprintf("was rejected by %s on %s%s", display.Terminal(rej.RejectedBy), rej.At.UTC().Format("2006-01-02"), why)
	}
	return ""
}
