package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/propose"
)

// Batch is one batch a call proposed.
type Batch struct {
	Batch    string   `json:"batch"`
	Decision string   `json:"decision" jsonschema:"auto, review or deny, under the base branch's policy"`
	Rules    []string `json:"rules" jsonschema:"the rules (or guards) that decided it"`
	// Why says what sent the batch to review over its rules, if anything.
	Why         string `json:"why,omitempty"`
	State       string `json:"state" jsonschema:"open (waiting for review), merged (will be applied), or planned"`
	Changes     int    `json:"changes"`
	Branch      string `json:"branch"`
	PullRequest int    `json:"pull_request,omitempty"`
	URL         string `json:"url,omitempty"`
	// NotMerged says why an auto batch stayed open.
	NotMerged string `json:"not_merged,omitempty"`
}

// Left is a change of the call that was not proposed, and why.
type Left struct {
	Object string `json:"object"`
	Record string `json:"record"`
	Field  string `json:"field,omitempty"`
	Op     string `json:"op"`
	Why    string `json:"why"`
}

type proposeOut struct {
	Batches []Batch `json:"batches"`
	// Skipped changes collide with an open proposal, repeat a rejected
	// one, or touch a record another change of the call touches.
	Skipped []Left `json:"skipped"`
	// Denied changes the policy refuses.
	Denied []Left `json:"denied"`
}

func (s *Server) proposeChanges(ctx context.Context, _ *mcp.CallToolRequest, in changesIn) (*mcp.CallToolResult, proposeOut, error) {
	out := proposeOut{Batches: []Batch{}, Skipped: []Left{}, Denied: []Left{}}
	changes, err := s.decode(ctx, in)
	if err != nil {
		return nil, out, err
	}
	if err := checkTitle(in.Title); err != nil {
		return nil, out, err
	}
	s.git.Lock()
	defer s.git.Unlock()
	// Processes sharing the checkout take turns too, so the hourly count
	// and the proposals it allows are one step.
	unlock, err := s.cfg.WS.Git.Lock("crmops-agent-" + s.cfg.Agent + ".lock")
	if err != nil {
		return nil, out, err
	}
	defer unlock()
	if err := s.withinHourlyLimit(ctx, len(changes)); err != nil {
		return nil, out, err
	}
	opts := propose.Options{Title: in.Title}
	if !s.cfg.Rails.Auto {
		opts.Review = fmt.Sprintf("proposed by the AI agent %s, which crmops.yaml does not allow auto changes (agents.%s.auto)", s.cfg.Agent, s.cfg.Agent)
	}
	res, err := s.cfg.Propose.Run(ctx, Detector(s.cfg.Agent), changes, opts)
	if res != nil {
		out = outcome(res, out)
	}
	if err != nil {
		// Batches proposed before the failure are real: say which.
		return nil, out, fmt.Errorf("propose: %w (proposed before the failure: %d batch(es); list_proposals shows them)", err, len(out.Batches))
	}
	return nil, out, nil
}

func outcome(res *propose.Result, out proposeOut) proposeOut {
	for _, o := range res.Outcomes {
		out.Batches = append(out.Batches, Batch{Batch: o.Batch, Decision: o.Decision, Rules: o.Rules, Why: o.Why, State: o.State,
			Changes: o.Changes, Branch: o.Branch, PullRequest: o.PullRequest, URL: o.URL, NotMerged: o.Blocked})
	}
	left := func(list []propose.Skip) []Left {
		ls := []Left{}
		for _, sk := range list {
			ls = append(ls, Left{Object: sk.Change.Object, Record: sk.Change.Record, Field: sk.Change.Field, Op: sk.Change.Op, Why: sk.Why})
		}
		return ls
	}
	out.Skipped, out.Denied = left(res.Plan.Skipped), left(res.Plan.Denied)
	return out
}

// withinHourlyLimit refuses n more changes when the agent's proposals of
// the last hour (open and merged, as git has them) and n would pass its
// max_changes_per_hour.
func (s *Server) withinHourlyLimit(ctx context.Context, n int) error {
	limit := s.cfg.Rails.MaxChangesPerHour
	since := s.cfg.Now().Add(-time.Hour)
	base, err := s.cfg.WS.Sync(ctx)
	if err != nil {
		return err
	}
	used, oldest, err := s.proposedSince(ctx, base, since)
	if err != nil {
		return err
	}
	if used+n <= limit {
		return nil
	}
	msg := fmt.Sprintf("changes: %d change(s) would pass the agent's limit of %d an hour (crmops.yaml agents.%s.max_changes_per_hour): %d proposed in the last hour; nothing was proposed",
		n, limit, s.cfg.Agent, used)
	if used > 0 {
		msg += fmt.Sprintf("; room opens from %s", oldest.Add(time.Hour).UTC().Format(time.RFC3339))
	}
	return errors.New(msg)
}

// proposedSince counts the changes of the agent's batches created since
// then: open proposals, and batches on base (merged, applied). It reads
// only base files whose id, which starts with the batch's creation time,
// is recent enough.
func (s *Server) proposedSince(ctx context.Context, base gitrepo.Hash, since time.Time) (count int, oldest time.Time, err error) {
	add := func(b *batch.Batch) {
		if b.Agent != s.cfg.Agent || b.Created.Before(since) {
			return
		}
		count += len(b.Changes)
		if oldest.IsZero() || b.Created.Before(oldest) {
			oldest = b.Created
		}
	}
	opens, err := s.cfg.Forge.List(ctx)
	if err != nil {
		return 0, oldest, err
	}
	open := map[string]bool{}
	for _, o := range opens {
		open[o.BatchID] = true
		if b, err := batch.Decode(o.Path, o.Content); err == nil {
			add(b)
		}
	}
	files, err := s.cfg.WS.Files(base, batch.Dir)
	if err != nil {
		return 0, oldest, err
	}
	for _, f := range files {
		id := batch.IDFromPath(f)
		if !batch.IsBatchFile(f) || open[id] || !createdSince(id, since) {
			continue
		}
		data, err := s.cfg.WS.Git.ReadFile(base, f)
		if err != nil {
			return 0, oldest, err
		}
		if b, err := batch.Decode(f, data); err == nil {
			add(b)
		}
	}
	return count, oldest, nil
}

// createdSince reports whether a batch id's leading timestamp (batch.NewID)
// is not before since; an id without one might be recent, so it is read.
func createdSince(id string, since time.Time) bool {
	const layout = "20060102T150405Z"
	if len(id) < len(layout) {
		return true
	}
	t, err := time.Parse(layout, id[:len(layout)])
	return err != nil || !t.Before(since.Truncate(time.Second))
}

// Decision is how one change would be decided.
type Decision struct {
	Change    int      `json:"change" jsonschema:"the change's position in changes, from 0"`
	Decision  string   `json:"decision" jsonschema:"auto, review or deny"`
	Rule      string   `json:"rule" jsonschema:"the deciding rule, or the guard that overrode it"`
	Why       string   `json:"why,omitempty"`
	Approvals int      `json:"approvals,omitempty" jsonschema:"approvals it needs under review"`
	Reviewers []string `json:"reviewers,omitempty"`
}

type explainOut struct {
	Policy    string     `json:"policy" jsonschema:"the policy file and the base commit it was read at"`
	Decisions []Decision `json:"decisions"`
}

func (s *Server) explainDecision(ctx context.Context, _ *mcp.CallToolRequest, in changesIn) (*mcp.CallToolResult, explainOut, error) {
	out := explainOut{Decisions: []Decision{}}
	changes, err := s.decode(ctx, in)
	if err != nil {
		return nil, out, err
	}
	s.git.Lock()
	defer s.git.Unlock()
	base, err := s.cfg.WS.Sync(ctx)
	if err != nil {
		return nil, out, err
	}
	pol, ref, err := s.cfg.WS.PolicyAt(base)
	if err != nil {
		return nil, out, fmt.Errorf("policy of %s: %w", s.cfg.WS.Branch(), err)
	}
	out.Policy = ref
	by := policy.Proposer{Login: s.cfg.Propose.Author, Agent: s.cfg.Agent}
	for i, c := range changes {
		v := pol.Evaluate(c, by)
		d := Decision{Change: i, Decision: string(v.Decision), Rule: v.Rule, Why: v.Why, Approvals: v.Approvals, Reviewers: v.Reviewers}
		if v.Decision == policy.Auto && !s.cfg.Rails.Auto {
			d.Decision, d.Rule = string(policy.Review), policy.RuleBatchReview
			d.Why = fmt.Sprintf("the rule %s would allow it, but crmops.yaml does not allow the agent %s auto changes (agents.%s.auto)", v.Rule, s.cfg.Agent, s.cfg.Agent)
			d.Approvals = max(pol.Approvals, 1)
		}
		out.Decisions = append(out.Decisions, d)
	}
	return nil, out, nil
}

// maxTitle bounds an agent's title: a pull request title, not a document.
const maxTitle = 200

// checkTitle refuses a title an agent could use to show reviewers or the
// audit trail something else: it becomes the pull request's title and part
// of the merge commit's message, where a line break could start a forged
// trailer, and control characters could hide text on a terminal.
func checkTitle(title string) error {
	switch {
	case utf8.RuneCountInString(title) > maxTitle:
		return fmt.Errorf("title: longer than %d characters; say the rest in each change's reason", maxTitle)
	case strings.ContainsFunc(title, unicode.IsControl):
		return errors.New("title: must be one line without control characters")
	}
	return nil
}
