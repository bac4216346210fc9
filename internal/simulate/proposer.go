package simulate

import (
	"errors"
	"fmt"

	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
)

// History is what Proposers reads of a git repository; *gitrepo.Repo has it.
type History interface {
	Log(from gitrepo.Hash, firstParent bool, fn func(*gitrepo.Commit) error) error
	IsAncestor(a, b gitrepo.Hash) (bool, error)
}

// trailerBatch is the trailer by which a merge commit names the batch it
// brought onto the base branch (forge/local.TrailerBatch; review writes it
// on every forge's merge).
const trailerBatch = "Crmops-Batch"

// Proposers finds who proposed every batch merged into tip's first-parent
// history (the base branch's own history of merges), by batch id, as the
// local forge finds a merged proposal's author: the author of the first
// commit of the merged branch that is not on the branch it was merged into,
// that is the second parent's first own commit. Git records no fork, so no
// proposer it returns is Outside; crmops never merges a proposal from a
// fork. Of two merges of one batch the newer counts.
func Proposers(h History, tip gitrepo.Hash) (map[string]policy.Proposer, error) {
	out := map[string]policy.Proposer{}
	if tip.IsZero() {
		return out, nil
	}
	var merges []*gitrepo.Commit
	err := h.Log(tip, true, func(c *gitrepo.Commit) error {
		if ids := c.TrailerValues(trailerBatch); len(c.Parents) == 2 && len(ids) == 1 {
			merges = append(merges, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find who proposed each batch: %w", err)
	}
	for _, m := range merges {
		id := m.TrailerValues(trailerBatch)[0]
		if _, seen := out[id]; seen {
			continue
		}
		first, err := firstOwnCommit(h, m.Parents[1], m.Parents[0])
		if err != nil {
			return nil, fmt.Errorf("find who proposed %s (merge %s): %w", id, m.Hash, err)
		}
		if first != nil && first.Author.Name != "" {
			out[id] = policy.Proposer{Login: first.Author.Name}
		}
	}
	return out, nil
}

// firstOwnCommit walks back from head along first parents to the oldest
// commit not already on base: the proposal's first commit, whose author
// proposed it. It is nil when head is on base.
func firstOwnCommit(h History, head, base gitrepo.Hash) (*gitrepo.Commit, error) {
	var first *gitrepo.Commit
	err := h.Log(head, true, func(c *gitrepo.Commit) error {
		on, err := h.IsAncestor(c.Hash, base)
		if err != nil {
			return err
		}
		if on {
			return gitrepo.ErrStop
		}
		first = c
		return nil
	})
	if err != nil && !errors.Is(err, gitrepo.ErrStop) {
		return nil, err
	}
	return first, nil
}
