package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/propose"
)

// Every tool reads; none changes the CRM. propose_changes writes only
// proposals, which the policy or a person decides on.
var readOnly = &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)}

func (s *Server) register(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "get_record",
		Description: "Read one CRM record by object and id. Returns only the fields this agent may see; merged_into names the surviving record when this one was merged away.",
		Annotations: readOnly,
	}, s.getRecord)
	mcp.AddTool(srv, &mcp.Tool{
		Name: "search_records",
		Description: "Find CRM records of an object whose fields equal the given values (compared ignoring case and surrounding spaces), in id order. " +
			"An empty filter lists the first records. Only fields this agent may see can be filtered on or are returned.",
		Annotations: readOnly,
	}, s.searchRecords)
	mcp.AddTool(srv, &mcp.Tool{
		Name: "propose_changes",
		Description: "Propose changes to CRM records. Nothing is written to the CRM: the changes become batches (a pull request each) that the repository's policy " +
			"or a person approves before crmops applies them. Give each set's before as the value you read (\"\" for empty): it is applied only if the CRM still holds it. " +
			"Returns each batch with its decision, the deciding rules, its state and its pull request; changes that were not proposed are listed with why. " +
			"If any change is invalid or outside what this agent may propose, the call is an error naming the change and key, and nothing is proposed. " +
			"Follow a batch up with proposal_status instead of proposing it again.",
		InputSchema: changesSchema(true),
		Annotations: &mcp.ToolAnnotations{DestructiveHint: new(false), OpenWorldHint: new(false)},
	}, s.proposeChanges)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "explain_decision",
		Description: "Say how each change would be decided (auto, review or deny), by which rule and why, under the policy on the base branch, without proposing anything.",
		InputSchema: changesSchema(false),
		Annotations: readOnly,
	}, s.explainDecision)
	mcp.AddTool(srv, &mcp.Tool{
		Name:        "list_proposals",
		Description: "List batches: open proposals (the default), or those merged, applied, rejected, or all of them.",
		Annotations: readOnly,
	}, s.listProposals)
	mcp.AddTool(srv, &mcp.Tool{
		Name: "proposal_status",
		Description: "Follow one batch up: its state (open, merged, applied, rejected), decision and rules, the approvals it has, what it still waits for, " +
			"and once applied what happened to each change (applied, already_applied, stale, failed, skipped).",
		Annotations: readOnly,
	}, s.proposalStatus)
	mcp.AddTool(srv, &mcp.Tool{
		Name: "record_history",
		Description: "Every proposal, decision, approver and execution that touched a record (optionally one field), oldest first, from the repository's git history. " +
			"Values of fields this agent may not see are left out.",
		Annotations: readOnly,
	}, s.recordHistory)
}

// changeDoc documents a change as the agent gives it: the batch file's
// change without its id. It only describes the input; the changes are
// decoded by propose.DecodeChanges, the one decoder of the format.
type changeDoc struct {
	Kind       string  `json:"kind" jsonschema:"what the change is, in your words: enrichment, lifecycle, owner, email_verification, dedupe or custom. The policy decides by the field the change writes, whatever kind it claims."`
	Object     string  `json:"object" jsonschema:"the CRM object, e.g. contacts or companies"`
	Record     string  `json:"record" jsonschema:"the record's id; for a merge, the record that survives"`
	Op         string  `json:"op" jsonschema:"set (write one field) or merge (merge the record merge_from into record)"`
	Field      string  `json:"field,omitempty" jsonschema:"set: the field to write"`
	Before     *string `json:"before,omitempty" jsonschema:"set (required): the field's value as you read it, \"\" when empty; the change applies only if the CRM still holds it"`
	After      *string `json:"after,omitempty" jsonschema:"set (required): the new value, \"\" to empty the field"`
	MergeFrom  string  `json:"merge_from,omitempty" jsonschema:"merge: the id of the record merged away"`
	Follows    string  `json:"follows,omitempty" jsonschema:"a set that completes a merge of this call names it as c<N>, N being the merge's 1-based position in changes"`
	Source     string  `json:"source" jsonschema:"where the new value comes from (a data provider, a document, a conversation)"`
	Confidence float64 `json:"confidence" jsonschema:"your confidence that the change is right, from 0 to 1"`
	Trigger    string  `json:"trigger,omitempty" jsonschema:"what prompted the change: event, score, rule, import or manual"`
	Reason     string  `json:"reason,omitempty" jsonschema:"why, for the reviewer: the evidence in a sentence"`
}

type changesDoc struct {
	Changes []changeDoc `json:"changes" jsonschema:"the changes"`
	Title   string      `json:"title,omitempty" jsonschema:"a title for the reviewers (default: one crmops makes from the changes)"`
}

// changesSchema is the input schema of propose_changes (withTitle) and
// explain_decision.
func changesSchema(withTitle bool) *jsonschema.Schema {
	s, err := jsonschema.For[changesDoc](nil)
	if err != nil {
		panic(fmt.Sprintf("mcp: changes schema: %v", err)) // a static type: cannot fail at run time
	}
	if !withTitle {
		delete(s.Properties, "title")
	}
	s.Properties["changes"].MinItems = new(1)
	// Unknown keys are left to the one decoder, whose error names the
	// change ("changes[2]: unknown key …"); the SDK's would not.
	s.Properties["changes"].Items.AdditionalProperties = nil
	return s
}

// changesIn is what propose_changes and explain_decision receive: each
// change raw, for the one decoder.
type changesIn struct {
	Changes []json.RawMessage `json:"changes"`
	Title   string            `json:"title,omitempty"`
}

// decode reads and checks in's changes: the batch format's validation,
// then this agent's guard rails. Every error names the change and key.
func (s *Server) decode(ctx context.Context, in changesIn) ([]batch.Change, error) {
	raws := make([][]byte, len(in.Changes))
	for i, r := range in.Changes {
		raws[i] = r
	}
	changes, err := propose.DecodeChanges(raws)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, errors.New("changes: give at least one change")
	}
	for i := range changes {
		if err := s.allowed(i, changes[i]); err != nil {
			return nil, err
		}
	}
	if err := s.checkAgainstCRM(ctx, changes); err != nil {
		return nil, err
	}
	return changes, nil
}

// allowed applies the agent's guard rails to change i.
func (s *Server) allowed(i int, c batch.Change) error {
	rails, key := s.cfg.Rails, "agents."+s.cfg.Agent
	for _, k := range []string{"id", "snapshot", "survivor_snapshot"} {
		if !c.Pos.Has(k) {
			continue
		}
		why := "crmops takes a merge's snapshots from the CRM itself"
		if k == "id" {
			why = "crmops numbers the changes itself (a follower names its merge as c<N>)"
		}
		return fmt.Errorf("changes[%d].%s: leave it out; %s", i, k, why)
	}
	switch c.Op {
	case batch.OpSet:
		if !rails.MayPropose(c.Object, c.Field) {
			return fmt.Errorf("changes[%d].field: the agent %s may not propose changes to %s.%s (crmops.yaml %s.propose allows %s)",
				i, s.cfg.Agent, c.Object, c.Field, key, describe(rails.Propose))
		}
	case batch.OpMerge:
		if !rails.MayMerge(c.Object) {
			return fmt.Errorf("changes[%d].op: the agent %s may not propose merges of %s (crmops.yaml %s.merge allows %s)",
				i, s.cfg.Agent, c.Object, key, orNothing(rails.Merge))
		}
	default:
		// unmerge is written only by crmops revert.
		return fmt.Errorf("changes[%d].op: an agent proposes set or merge, not %s", i, c.Op)
	}
	return nil
}

func describe(m map[string][]string) string {
	if len(m) == 0 {
		return "nothing"
	}
	var parts []string
	for _, object := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, object+": "+strings.Join(m[object], ", "))
	}
	return strings.Join(parts, "; ")
}

func orNothing(list []string) string {
	if len(list) == 0 {
		return "nothing"
	}
	return strings.Join(list, ", ")
}
