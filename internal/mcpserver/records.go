package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
)

type recordIn struct {
	Object string `json:"object" jsonschema:"the CRM object, e.g. contacts or companies"`
	ID     string `json:"id" jsonschema:"the record's id"`
}

// Record is a record as an agent sees it: only the fields it may read.
type Record struct {
	Object string            `json:"object"`
	ID     string            `json:"id"`
	Fields map[string]string `json:"fields"`
	// MergedInto names the survivor of a record merged away.
	MergedInto string `json:"merged_into,omitempty"`
}

func (s *Server) getRecord(ctx context.Context, _ *mcp.CallToolRequest, in recordIn) (*mcp.CallToolResult, Record, error) {
	if err := s.mayRead(in.Object); err != nil {
		return nil, Record{}, err
	}
	if strings.TrimSpace(in.ID) == "" {
		return nil, Record{}, errors.New("id: give the record's id")
	}
	got, err := s.cfg.CRM.Get(ctx, in.Object, []string{in.ID}, nil)
	if err != nil {
		return nil, Record{}, fmt.Errorf("read %s/%s: %w", in.Object, in.ID, err)
	}
	r, ok := got[in.ID]
	if !ok {
		return nil, Record{}, fmt.Errorf("id: %s/%s does not exist", in.Object, in.ID)
	}
	return nil, s.visible(in.Object, r), nil
}

type searchIn struct {
	Object string            `json:"object" jsonschema:"the CRM object, e.g. contacts or companies"`
	Filter map[string]string `json:"filter,omitempty" jsonschema:"field: value pairs every record returned must hold (ignoring case and surrounding spaces)"`
	Limit  int               `json:"limit,omitempty" jsonschema:"how many records at most (default 20, at most 100)"`
}

type searchOut struct {
	Records []Record `json:"records"`
	// Truncated: more records match than were returned.
	Truncated bool `json:"truncated"`
}

// Search limits: an answer an agent can read in one go.
const (
	defaultSearchLimit = 20
	maxSearchLimit     = 100
)

// errEnough stops a listing once a search has what it asked for.
var errEnough = errors.New("enough records")

func (s *Server) searchRecords(ctx context.Context, _ *mcp.CallToolRequest, in searchIn) (*mcp.CallToolResult, searchOut, error) {
	out := searchOut{Records: []Record{}}
	if err := s.mayRead(in.Object); err != nil {
		return nil, out, err
	}
	limit := in.Limit
	switch {
	case limit < 0:
		return nil, out, errors.New("limit: must not be negative")
	case limit == 0:
		limit = defaultSearchLimit
	case limit > maxSearchLimit:
		limit = maxSearchLimit
	}
	for _, field := range slices.Sorted(maps.Keys(in.Filter)) {
		// Filtering on a hidden field would answer questions about it.
		if !s.cfg.Rails.MayRead(in.Object, field) {
			return nil, out, fmt.Errorf("filter.%s: the agent %s may not read %s.%s (crmops.yaml agents.%s.read)", field, s.cfg.Agent, in.Object, field, s.cfg.Agent)
		}
	}
	err := s.cfg.CRM.List(ctx, in.Object, nil, func(r crm.Record) error {
		for field, want := range in.Filter {
			if !strings.EqualFold(strings.TrimSpace(r.Fields[field]), strings.TrimSpace(want)) {
				return nil
			}
		}
		if len(out.Records) == limit {
			out.Truncated = true
			return errEnough
		}
		out.Records = append(out.Records, s.visible(in.Object, r))
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, out, fmt.Errorf("search %s: %w", in.Object, err)
	}
	return nil, out, nil
}

func (s *Server) mayRead(object string) error {
	if !batch.ValidObject(object) {
		return fmt.Errorf("object: %q is not a valid object name (letters, digits, _)", object)
	}
	if !s.cfg.Rails.MayReadObject(object) {
		return fmt.Errorf("object: the agent %s may not read %s (crmops.yaml agents.%s.read allows %s)", s.cfg.Agent, object, s.cfg.Agent, describe(s.cfg.Rails.Read))
	}
	return nil
}

// visible is r with only the fields the agent may read.
func (s *Server) visible(object string, r crm.Record) Record {
	out := Record{Object: object, ID: r.ID, Fields: map[string]string{}, MergedInto: r.MergedInto}
	for k, v := range r.Fields {
		if s.cfg.Rails.MayRead(object, k) {
			out.Fields[k] = v
		}
	}
	return out
}

// checkAgainstCRM reads the records changes name: a set's record must be
// live and still hold before (the agent learns now, not at apply, that it
// read a stale value); a merge's records must both be live, and their
// snapshots are taken here, from the CRM, never from the agent.
func (s *Server) checkAgainstCRM(ctx context.Context, changes []batch.Change) error {
	ids := map[string][]string{}
	for _, c := range changes {
		ids[c.Object] = append(ids[c.Object], c.Record)
		if c.Op == batch.OpMerge {
			ids[c.Object] = append(ids[c.Object], c.MergeFrom)
		}
	}
	have := map[string]map[string]crm.Record{}
	for _, object := range slices.Sorted(maps.Keys(ids)) {
		got, err := s.cfg.CRM.Get(ctx, object, ids[object], nil)
		if err != nil {
			return fmt.Errorf("read %s: %w", object, err)
		}
		have[object] = got
	}
	live := func(i int, key, object, id string) (crm.Record, error) {
		r, ok := have[object][id]
		switch {
		case !ok:
			return r, fmt.Errorf("changes[%d].%s: %s/%s does not exist", i, key, object, id)
		case r.MergedInto != "":
			return r, fmt.Errorf("changes[%d].%s: %s/%s was merged into %s; propose the change on %s/%s", i, key, object, id, r.MergedInto, object, r.MergedInto)
		}
		return r, nil
	}
	for i := range changes {
		c := &changes[i]
		r, err := live(i, "record", c.Object, c.Record)
		if err != nil {
			return err
		}
		switch c.Op {
		case batch.OpSet:
			now := r.Fields[c.Field]
			if now == c.Before {
				continue
			}
			if s.cfg.Rails.MayRead(c.Object, c.Field) {
				return fmt.Errorf("changes[%d].before: %s/%s %s is %q now, not %q; read the record again", i, c.Object, c.Record, c.Field, now, c.Before)
			}
			return fmt.Errorf("changes[%d].before: it is not the current value of %s/%s %s", i, c.Object, c.Record, c.Field)
		case batch.OpMerge:
			loser, err := live(i, "merge_from", c.Object, c.MergeFrom)
			if err != nil {
				return err
			}
			c.Snapshot, c.SurvivorSnapshot = maps.Clone(loser.Fields), maps.Clone(r.Fields)
		}
	}
	return nil
}
