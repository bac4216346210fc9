package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crmops/crmops/internal/audit"
	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/forge"
)

type listIn struct {
	State string `json:"state,omitempty" jsonschema:"open (the default), merged, applied, rejected or all"`
}

// Listed is one batch in a listing.
type Listed struct {
	Batch    string `json:"batch"`
	State    string `json:"state"`
	Decision string `json:"decision"`
	Changes  int    `json:"changes"`
	Title    string `json:"title,omitempty"`
	// Waiting says what an open proposal waits for.
	Waiting string `json:"waiting,omitempty"`
}

type listOut struct {
	Proposals []Listed `json:"proposals"`
}

var listStates = []string{"open", "merged", "applied", "rejected", "all"}

func (s *Server) listProposals(ctx context.Context, _ *mcp.CallToolRequest, in listIn) (*mcp.CallToolResult, listOut, error) {
	out := listOut{Proposals: []Listed{}}
	state := in.State
	if state == "" {
		state = "open"
	}
	if !slices.Contains(listStates, state) {
		return nil, out, fmt.Errorf("state: %q is not one of %s", in.State, strings.Join(listStates, ", "))
	}
	s.git.Lock()
	defer s.git.Unlock()
	items, err := s.cfg.Review.List(ctx, state != "open")
	if err != nil {
		return nil, out, err
	}
	for _, it := range items {
		if state != "all" && it.State != state {
			continue
		}
		l := Listed{Batch: it.Batch, State: it.State, Decision: it.Decision, Changes: it.Changes, Title: it.Title}
		if it.State == "open" {
			l.Waiting = it.Blocked
		}
		out.Proposals = append(out.Proposals, l)
	}
	return nil, out, nil
}

type statusIn struct {
	Batch string `json:"batch" jsonschema:"the batch id, as propose_changes or list_proposals gave it"`
}

// Approval is one counted approval.
type Approval struct {
	Login string `json:"login"`
	At    string `json:"at,omitempty"`
}

// ChangeStatus is what apply did with one change.
type ChangeStatus struct {
	Change string `json:"change"`
	Status string `json:"status" jsonschema:"applied, already_applied, stale (the CRM no longer held before), failed or skipped"`
	// Observed is the value apply found, for a stale change.
	Observed string `json:"observed_before,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Status is where a batch stands.
type Status struct {
	Batch       string   `json:"batch"`
	State       string   `json:"state" jsonschema:"open, merged (waiting to be applied), applied or rejected"`
	Decision    string   `json:"decision,omitempty" jsonschema:"open: auto, review or deny; applied: auto, approved or refused"`
	Rules       []string `json:"rules,omitempty"`
	PullRequest int      `json:"pull_request,omitempty"`
	URL         string   `json:"url,omitempty"`
	// Approvals are those that count so far (open) or that counted (applied).
	Approvals []Approval `json:"approvals"`
	// ApprovalsNeeded is how many the policy asks for (open, review).
	ApprovalsNeeded int `json:"approvals_needed,omitempty"`
	// WaitingFor says what an open batch still needs before it can merge.
	WaitingFor string `json:"waiting_for,omitempty"`
	// Mergeable: an open batch that a merge would let through now.
	Mergeable bool `json:"mergeable,omitempty"`
	// Changes: per-change results once applied.
	Changes []ChangeStatus `json:"changes,omitempty"`
	// RejectedBy, Reason and At describe a rejection.
	RejectedBy string `json:"rejected_by,omitempty"`
	Reason     string `json:"reason,omitempty"`
	At         string `json:"at,omitempty"`
}

func (s *Server) proposalStatus(ctx context.Context, _ *mcp.CallToolRequest, in statusIn) (*mcp.CallToolResult, Status, error) {
	st := Status{Batch: in.Batch, Approvals: []Approval{}}
	if !batch.ValidID(in.Batch) {
		return nil, st, fmt.Errorf("batch: %q is not a batch id", in.Batch)
	}
	s.git.Lock()
	defer s.git.Unlock()
	base, err := s.cfg.WS.Sync(ctx)
	if err != nil {
		return nil, st, err
	}
	o, err := s.cfg.Forge.Get(ctx, in.Batch)
	switch {
	case err == nil:
		st, err = s.openStatus(ctx, o, st)
		return nil, st, err
	case !errors.Is(err, forge.ErrNoProposal):
		return nil, st, err
	}
	files, err := s.cfg.WS.Files(base, batch.Dir)
	if err != nil {
		return nil, st, err
	}
	for _, f := range files {
		if batch.IDOfFile(f) != in.Batch || !strings.HasSuffix(f, batch.RejectionSuffix) {
			continue
		}
		data, err := s.cfg.WS.Git.ReadFile(base, f)
		if err != nil {
			return nil, st, err
		}
		rej, err := batch.DecodeRejection(f, data)
		if err != nil {
			return nil, st, err
		}
		st.State, st.Decision, st.RejectedBy, st.Reason, st.At, st.PullRequest = "rejected", "rejected", rej.RejectedBy, rej.Reason, stamp(rej.At), rej.PullRequest
		return nil, st, nil
	}
	m, err := s.cfg.Review.FindMerged(ctx, in.Batch)
	if err != nil {
		return nil, st, fmt.Errorf("batch: %s is not open, merged, applied or rejected (list_proposals with state all lists every batch)", in.Batch)
	}
	st.State, st.Decision, st.Rules = "merged", string(m.Verdict.Decision), m.Verdict.Rules
	st.WaitingFor = "crmops apply, which runs merged batches"
	if rc := m.Receipt; rc != nil {
		st.State, st.Decision, st.Rules, st.PullRequest, st.WaitingFor = "applied", rc.Approval.Mode, rc.Approval.Rules, rc.Approval.PullRequest, ""
		for _, a := range rc.Approval.Approvers {
			st.Approvals = append(st.Approvals, Approval{Login: a.Login, At: stamp(a.At)})
		}
		for _, c := range rc.Changes {
			st.Changes = append(st.Changes, ChangeStatus{Change: c.ID, Status: c.Status, Observed: observed(c), Error: c.Error})
		}
	}
	return nil, st, nil
}

func (s *Server) openStatus(ctx context.Context, o *forge.Open, st Status) (Status, error) {
	ev, err := s.cfg.Review.Evaluate(ctx, o)
	if err != nil {
		return st, err
	}
	st.State, st.PullRequest, st.URL = "open", o.PullRequest, o.URL
	st.Decision, st.Rules = string(ev.Verdict.Decision), ev.Verdict.Rules
	if ev.Verdict.Decision == "review" {
		st.ApprovalsNeeded = ev.Verdict.Approvals
	}
	for _, a := range ev.Approvals {
		st.Approvals = append(st.Approvals, Approval{Login: a.Login, At: stamp(a.At)})
	}
	st.WaitingFor, st.Mergeable = ev.Blocked, ev.Decision != ""
	if st.Mergeable {
		st.WaitingFor = "a merge by a person or the workflow (crmops merge " + o.BatchID + ")"
	}
	return st, nil
}

func observed(c batch.ChangeResult) string {
	if c.Status == batch.StatusStale {
		return c.ObservedBefore
	}
	return ""
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

type historyIn struct {
	Object string `json:"object" jsonschema:"the CRM object, e.g. contacts"`
	ID     string `json:"id" jsonschema:"the record's id"`
	Field  string `json:"field,omitempty" jsonschema:"only changes to this field (and merges)"`
}

// Event is one entry of a record's history.
type Event struct {
	Batch       string   `json:"batch"`
	Change      string   `json:"change"`
	Op          string   `json:"op"`
	Field       string   `json:"field,omitempty"`
	Before      string   `json:"before,omitempty"`
	After       string   `json:"after,omitempty"`
	MergeFrom   string   `json:"merge_from,omitempty"`
	Hidden      bool     `json:"hidden,omitempty" jsonschema:"true when the field's values are not shown to this agent"`
	Source      string   `json:"source,omitempty"`
	Decision    string   `json:"decision"`
	Approvers   []string `json:"approvers"`
	Status      string   `json:"status"`
	At          string   `json:"at,omitempty"`
	Commit      string   `json:"commit,omitempty"`
	PullRequest int      `json:"pull_request,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	Error       string   `json:"error,omitempty"`
}

type historyOut struct {
	Events []Event `json:"events"`
}

func (s *Server) recordHistory(ctx context.Context, _ *mcp.CallToolRequest, in historyIn) (*mcp.CallToolResult, historyOut, error) {
	out := historyOut{Events: []Event{}}
	if err := s.mayRead(in.Object); err != nil {
		return nil, out, err
	}
	if strings.TrimSpace(in.ID) == "" {
		return nil, out, errors.New("id: give the record's id")
	}
	if in.Field != "" && !s.cfg.Rails.MayRead(in.Object, in.Field) {
		return nil, out, fmt.Errorf("field: the agent %s may not read %s.%s (crmops.yaml agents.%s.read)", s.cfg.Agent, in.Object, in.Field, s.cfg.Agent)
	}
	s.git.Lock()
	defer s.git.Unlock()
	if _, err := s.cfg.WS.Sync(ctx); err != nil {
		return nil, out, err
	}
	entries, err := s.cfg.Audit.Record(ctx, audit.Query{Object: in.Object, Record: in.ID, Field: in.Field})
	if err != nil {
		return nil, out, err
	}
	// A reason may quote any field ("same email …"): it is shown only to
	// an agent that may read every field of the object.
	seesAll := slices.Contains(s.cfg.Rails.Read[in.Object], config.AllFields)
	for _, e := range entries {
		ev := Event{Batch: e.Batch, Change: e.Change, Op: e.Op, Field: e.Field, Before: e.Before, After: e.After, MergeFrom: e.MergeFrom,
			Source: e.Source, Decision: e.Decision, Approvers: e.Approvers, Status: e.Status, At: e.At, Commit: e.Commit,
			PullRequest: e.PullRequest, Error: e.Error}
		if ev.Approvers == nil {
			ev.Approvers = []string{}
		}
		if e.Field != "" && !s.cfg.Rails.MayRead(in.Object, e.Field) {
			ev.Before, ev.After, ev.Hidden, ev.Error = "", "", true, ""
		}
		if seesAll {
			ev.Reason = e.Reason
		}
		out.Events = append(out.Events, ev)
	}
	return nil, out, nil
}
