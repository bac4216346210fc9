package mcpserver

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/apply"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/review"
	"github.com/crmops/crmops/internal/workspace"
)

func TestTheToolsAreTheSpecsAndNoneWrites(t *testing.T) {
	e := newEnv(t, defaultRails())
	cs := client(t, e.mcp)
	var names []string
	for tool, err := range cs.Tools(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
		if len(tool.Description) < 40 {
			t.Errorf("%s: description %q is too thin for an agent to act on", tool.Name, tool.Description)
		}
		if tool.InputSchema == nil {
			t.Errorf("%s: no input schema", tool.Name)
		}
	}
	slices.Sort(names)
	want := []string{"explain_decision", "get_record", "list_proposals", "proposal_status", "propose_changes", "record_history", "search_records"}
	if !slices.Equal(names, want) {
		t.Fatalf("tools = %v, want exactly %v (none approves, merges, applies or writes the CRM)", names, want)
	}
}

func TestGetRecordShowsOnlyTheFieldsTheAgentMayRead(t *testing.T) {
	e := newEnv(t, defaultRails())
	cs := client(t, e.mcp)
	r := ok[Record](t, cs, "get_record", map[string]any{"object": "contacts", "id": "1000"})
	want := map[string]string{"email": "person1000@example.com", "firstname": "P1000", "lifecyclestage": "lead"}
	if !maps.Equal(r.Fields, want) {
		t.Errorf("fields = %v, want %v (phone is not readable)", r.Fields, want)
	}
	for args, wantErr := range map[string]string{
		`{"object":"companies","id":"1"}`:     "may not read companies",
		`{"object":"contacts","id":"9999"}`:   "contacts/9999 does not exist",
		`{"object":"Contacts","id":"1000"}`:   "may not read Contacts",
		`{"object":"con-tacts","id":"1000"}`:  "not a valid object name",
		`{"object":"contacts","id":"  "}`:     "id: give the record's id",
		`{"object":"contacts","id":"1000/x"}`: "does not exist",
	} {
		if msg := toolError(t, cs, "get_record", json.RawMessage(args)); !strings.Contains(msg, wantErr) {
			t.Errorf("get_record %s: %q, want it to say %q", args, msg, wantErr)
		}
	}
}

func TestSearchRecordsFiltersLimitsAndHidesFields(t *testing.T) {
	e := newEnv(t, defaultRails())
	cs := client(t, e.mcp)
	got := ok[searchOut](t, cs, "search_records", map[string]any{"object": "contacts", "filter": map[string]string{"lifecyclestage": " LEAD "}, "limit": 3})
	if len(got.Records) != 3 || !got.Truncated {
		t.Fatalf("got %d records (truncated %v), want 3 of the 10 leads, truncated", len(got.Records), got.Truncated)
	}
	for _, r := range got.Records {
		if r.Fields["lifecyclestage"] != "lead" || r.Fields["phone"] != "" {
			t.Errorf("record %s: %v", r.ID, r.Fields)
		}
	}
	one := ok[searchOut](t, cs, "search_records", map[string]any{"object": "contacts", "filter": map[string]string{"email": "person1002@example.com"}})
	if len(one.Records) != 1 || one.Records[0].ID != "1002" || one.Truncated {
		t.Errorf("search by email: %+v", one)
	}
	// Filtering on a hidden field would tell the agent its values.
	if msg := toolError(t, cs, "search_records", map[string]any{"object": "contacts", "filter": map[string]string{"phone": "+1 555 0100"}}); !strings.Contains(msg, "filter.phone: the agent scout may not read contacts.phone") {
		t.Errorf("filter on phone: %q", msg)
	}
}

func TestProposeChangesOpensAProposalByTheAgentAndLeavesTheCRMAlone(t *testing.T) {
	e := newEnv(t, defaultRails())
	cs := client(t, e.mcp)
	before := e.crmState()
	title := set("1001", "jobtitle", "", "CFO")
	title["kind"] = "enrichment"
	out := ok[proposeOut](t, cs, "propose_changes", changes(set("1000", "lifecyclestage", "lead", "customer"), title))
	if len(out.Batches) == 0 {
		t.Fatalf("nothing proposed: %+v", out)
	}
	opens := e.opens()
	total := 0
	for _, b := range out.Batches {
		if b.State != "open" || b.Decision != "review" || b.Branch != "crmops/"+b.Batch {
			t.Errorf("batch %+v: want an open review proposal", b)
		}
		if !slices.Contains(b.Rules, policy.RuleInvariantProposer) {
			t.Errorf("batch %s rules %v: no rule of the default policy names the agent, so it is not trusted", b.Batch, b.Rules)
		}
		got := opens[b.Batch]
		if got == nil {
			t.Fatalf("batch %s is not open on the remote", b.Batch)
		}
		if got.Agent != agentName || got.Detector != "mcp-scout" {
			t.Errorf("batch %s: agent %q detector %q review %q", b.Batch, got.Agent, got.Detector, got.Review)
		}
		total += len(got.Changes)
	}
	if total != 2 {
		t.Errorf("%d changes proposed, want 2", total)
	}
	o, err := e.fg.Get(context.Background(), out.Batches[0].Batch)
	if err != nil || o.Author != agentName {
		t.Errorf("proposal author = %v (%v), want the agent's name %q", o, err, agentName)
	}
	if after := e.crmState(); !reflect.DeepEqual(before, after) {
		t.Errorf("the CRM changed:\nbefore %v\nafter  %v", before, after)
	}
	// Asked again, the same change is not proposed twice.
	again := ok[proposeOut](t, cs, "propose_changes", changes(set("1000", "lifecyclestage", "lead", "customer")))
	if len(again.Batches) != 0 || len(again.Skipped) != 1 || !strings.Contains(again.Skipped[0].Why, "open proposal") {
		t.Errorf("proposing again: %+v", again)
	}
}

func TestInvalidInputIsAToolErrorNamingTheChangeAndKeyAndProposesNothing(t *testing.T) {
	rails := defaultRails()
	rails.Merge = nil
	e := newEnv(t, rails)
	cs := client(t, e.mcp)
	good := set("1000", "lifecyclestage", "lead", "customer")
	with := func(k string, v any) map[string]any {
		c := set("1002", "lifecyclestage", "subscriber", "lead")
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	cases := map[string]struct {
		change map[string]any
		want   string
	}{
		"confidence out of range": {with("confidence", 7), "changes[1].confidence: 7 is outside 0..1"},
		"unknown kind":            {with("kind", "vibes"), `changes[1].kind: unknown kind "vibes"`},
		"before missing":          {with("before", nil), "changes[1].before: missing required key for op set"},
		"stale before":            {set("1002", "lifecyclestage", "lead", "customer"), `changes[1].before: contacts/1002 lifecyclestage is "subscriber" now, not "lead"`},
		"field not allowed":       {with("field", "email"), "changes[1].field: the agent scout may not propose changes to contacts.email"},
		"hidden field stale":      {with("field", "phone"), "changes[1].field: the agent scout may not propose changes to contacts.phone"},
		"object not allowed":      {with("object", "companies"), "changes[1].field: the agent scout may not propose changes to companies.lifecyclestage"},
		"merge not allowed": {map[string]any{"kind": "dedupe", "object": "contacts", "record": "1000", "op": "merge", "merge_from": "1003",
			"source": "agent", "confidence": 0.99}, "changes[1].op: the agent scout may not propose merges of contacts"},
		"unmerge": {map[string]any{"kind": "dedupe", "object": "contacts", "record": "1000", "op": "unmerge", "merge_from": "1003",
			"source": "agent", "confidence": 0.99}, "changes[1].op: an agent proposes set or merge, not unmerge"},
		"no such record": {with("record", "4242"), "changes[1].record: contacts/4242 does not exist"},
		"unknown key":    {with("bogus", "x"), "changes[1].bogus: unknown key"},
		"id given":       {with("id", "c9"), "changes[1].id: leave it out"},
		"snapshot given": {with("snapshot", map[string]string{"email": "x"}), "changes[1].snapshot: leave it out"},
	}
	for name, tc := range cases {
		for _, tool := range []string{"propose_changes", "explain_decision"} {
			msg := toolError(t, cs, tool, changes(good, tc.change))
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%s, %s: %q, want it to say %q", name, tool, msg, tc.want)
			}
		}
	}
	if msg := toolError(t, cs, "propose_changes", changes()); !strings.Contains(msg, "changes") {
		t.Errorf("no changes: %q", msg)
	}
	if opens := e.opens(); len(opens) != 0 {
		t.Errorf("invalid calls proposed %d batch(es); a bad call must propose nothing", len(opens))
	}
}

// agentPolicy is the default policy with a first rule that names the agent.
func agentPolicy(rule string) string {
	return strings.Replace(policy.Default, "rules:", "rules:\n"+rule, 1)
}

const scoutLifecycleAuto = `  - name: scout-lifecycle
    when: {kind: lifecycle, field: lifecyclestage, proposer: scout}
    decision: auto
`

func TestAnAgentIsAutoOnlyWhereThePolicyNamesItAndItsRailsAllow(t *testing.T) {
	change := set("1000", "lifecyclestage", "lead", "customer")
	cases := []struct {
		name        string
		auto        bool
		policy      string
		decision    string
		rule, state string
	}{
		{"default policy names no proposer", true, "", "review", policy.RuleInvariantProposer, "open"},
		{"policy names the agent, rails allow auto", true, scoutLifecycleAuto, "auto", "scout-lifecycle", "merged"},
		{"policy names the agent, rails say never", false, scoutLifecycleAuto, "review", policy.RuleBatchReview, "open"},
		{"policy names another agent", true, strings.Replace(scoutLifecycleAuto, "proposer: scout", "proposer: other", 1), "review", policy.RuleInvariantProposer, "open"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rails := defaultRails()
			rails.Auto = tc.auto
			e := newEnv(t, rails)
			if tc.policy != "" {
				e.commitPolicy(agentPolicy(tc.policy))
			}
			cs := client(t, e.mcp)
			ex := ok[explainOut](t, cs, "explain_decision", changes(change))
			if len(ex.Decisions) != 1 || ex.Decisions[0].Decision != tc.decision || ex.Decisions[0].Rule != tc.rule {
				t.Errorf("explain: %+v, want %s by %s", ex.Decisions, tc.decision, tc.rule)
			}
			if len(e.opens()) != 0 {
				t.Fatal("explain_decision proposed something")
			}
			out := ok[proposeOut](t, cs, "propose_changes", changes(change))
			if len(out.Batches) != 1 {
				t.Fatalf("batches: %+v", out)
			}
			b := out.Batches[0]
			if b.Decision != tc.decision || b.State != tc.state || !slices.Contains(b.Rules, tc.rule) {
				t.Errorf("batch %+v, want %s (%s) by %s", b, tc.decision, tc.state, tc.rule)
			}
		})
	}
}

func TestAMislabelledChangeFromAnAgentNeverRuns(t *testing.T) {
	// The agent may be auto and a rule trusts it with every lifecycle and
	// enrichment change; a change is still judged by the field it writes.
	disguisedEmail := set("1000", "email", "person1000@example.com", "attacker@example.net") // kind lifecycle
	disguisedOwner := set("1001", "owner", "", "o-99")
	disguisedOwner["kind"] = "enrichment"
	for name, tc := range map[string]struct {
		change            map[string]any
		decision, because string
	}{
		"an email overwrite calling itself a lifecycle event": {disguisedEmail, "deny", "kind lifecycle writes only lifecyclestage"},
		"an owner write calling itself enrichment":            {disguisedOwner, "review", "judged as owner too"},
	} {
		t.Run(name, func(t *testing.T) {
			rails := defaultRails()
			rails.Auto = true
			rails.Read["contacts"] = []string{"*"}
			rails.Propose["contacts"] = []string{"*"}
			e := newEnv(t, rails)
			e.commitPolicy(agentPolicy(`  - name: scout-anything
    when: {kind: [lifecycle, enrichment], proposer: scout}
    decision: auto
`))
			cs := client(t, e.mcp)
			before := e.crmState()
			ex := ok[explainOut](t, cs, "explain_decision", changes(tc.change))
			if ex.Decisions[0].Decision != tc.decision || !strings.Contains(ex.Decisions[0].Why, tc.because) {
				t.Errorf("explain: %+v, want %s because %q", ex.Decisions[0], tc.decision, tc.because)
			}
			out := ok[proposeOut](t, cs, "propose_changes", changes(tc.change))
			switch tc.decision {
			case "deny":
				if len(out.Batches) != 0 || len(out.Denied) != 1 || !strings.Contains(out.Denied[0].Why, tc.because) {
					t.Errorf("want it refused, named: %+v", out)
				}
			case "review":
				if len(out.Batches) != 1 || out.Batches[0].Decision != "review" || out.Batches[0].State != "open" {
					t.Errorf("want one batch open for review: %+v", out)
				}
			}
			// No tool, called on the record, changes the CRM.
			for _, tool := range []string{"get_record", "record_history"} {
				ok[map[string]any](t, cs, tool, map[string]any{"object": "contacts", "id": "1000"})
			}
			ok[map[string]any](t, cs, "search_records", map[string]any{"object": "contacts"})
			ok[map[string]any](t, cs, "list_proposals", map[string]any{"state": "all"})
			for id, b := range e.opens() {
				ok[map[string]any](t, cs, "proposal_status", map[string]any{"batch": id})
				// As the merge gate judges it: by the forge's author and the batch.
				if bv := mustPolicy(t, e).EvaluateBatch(b, policy.Proposer{Login: agentName}); bv.Decision == policy.Auto {
					t.Errorf("batch %s would be auto at the gate: %+v", b.ID, bv)
				}
			}
			if after := e.crmState(); !reflect.DeepEqual(before, after) {
				t.Errorf("the CRM changed")
			}
		})
	}
}

func mustPolicy(t *testing.T, e *env) *policy.Policy {
	t.Helper()
	base, err := e.ws.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pol, _, err := e.ws.PolicyAt(base)
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

func TestTheHourlyLimitCountsWhatGitHoldsAndProposesNothingPastIt(t *testing.T) {
	rails := defaultRails()
	rails.MaxChangesPerHour = 3
	e := newEnv(t, rails)
	cs := client(t, e.mcp)
	ok[proposeOut](t, cs, "propose_changes", changes(set("1000", "lifecyclestage", "lead", "customer"), set("1001", "lifecyclestage", "lead", "customer")))
	e.clock.Advance(10 * time.Minute)
	msg := toolError(t, cs, "propose_changes", changes(set("1003", "lifecyclestage", "lead", "customer"), set("1005", "lifecyclestage", "lead", "customer")))
	for _, want := range []string{"agents.scout.max_changes_per_hour", "2 proposed in the last hour", "nothing was proposed", "room opens from 2026-12-02T11:00:00Z"} {
		if !strings.Contains(msg, want) {
			t.Errorf("limit error %q does not say %q", msg, want)
		}
	}
	if n := len(e.opens()); n != 1 {
		t.Errorf("%d open proposals, want the first call's 1", n)
	}
	// A second server (another process) on the same remote counts the same.
	other, _ := e.server(e.ws, rails)
	cs2 := client(t, other.MCP())
	toolError(t, cs2, "propose_changes", changes(set("1003", "lifecyclestage", "lead", "customer"), set("1005", "lifecyclestage", "lead", "customer")))
	ok[proposeOut](t, cs2, "propose_changes", changes(set("1003", "lifecyclestage", "lead", "customer")))
	e.clock.Advance(51 * time.Minute)
	out := ok[proposeOut](t, cs, "propose_changes", changes(set("1005", "lifecyclestage", "lead", "customer"), set("1006", "lifecyclestage", "lead", "customer")))
	if len(out.Batches) != 1 {
		t.Errorf("an hour later: %+v", out)
	}
}

func TestConcurrentProposalsFromManyClientsAndProcessesExistExactlyOnce(t *testing.T) {
	e := newEnv(t, defaultRails())
	// A second process: another clone of the same remote with its own server.
	remote, err := e.ws.Git.RemoteURL("origin")
	if err != nil {
		t.Fatal(err)
	}
	ws2 := cloneWorkspace(t, remote)
	srv2, _ := e.server(ws2, defaultRails())
	mcps := []*mcp.Server{e.mcp, srv2.MCP()}
	const calls = 10
	var wg sync.WaitGroup
	results := make([]proposeOut, calls)
	errs := make([]string, calls)
	for i := range calls {
		cs := client(t, mcps[i%2])
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Calls 8 and 9 ask for the very change of calls 0 and 1.
			rec := id(i % 8)
			stage := map[string]string{"1002": "subscriber", "1004": "opportunity"}[rec]
			if stage == "" {
				stage = "lead"
			}
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "propose_changes", Arguments: changes(set(rec, "lifecyclestage", stage, "customer"))})
			switch {
			case err != nil:
				errs[i] = err.Error()
			case res.IsError:
				errs[i] = text(res)
			default:
				results[i], err = structured[proposeOut](res)
				if err != nil {
					errs[i] = err.Error()
				}
			}
		}()
	}
	wg.Wait()
	for i, msg := range errs {
		if msg != "" {
			t.Errorf("call %d: %s", i, msg)
		}
	}
	opens := e.opens()
	perRecord := map[string]int{}
	for _, b := range opens {
		for _, c := range b.Changes {
			perRecord[c.Record]++
		}
	}
	for i := range 8 {
		if perRecord[id(i)] != 1 {
			t.Errorf("record %s is in %d open proposals, want exactly 1", id(i), perRecord[id(i)])
		}
	}
	reported := map[string]bool{}
	for _, r := range results {
		for _, b := range r.Batches {
			if reported[b.Batch] && b.NotMerged == "" {
				t.Errorf("batch %s reported as proposed by two calls", b.Batch)
			}
			reported[b.Batch] = true
			if opens[b.Batch] == nil {
				t.Errorf("batch %s was reported but is not on the remote", b.Batch)
			}
		}
	}
	if len(reported) != len(opens) {
		t.Errorf("%d batches reported, %d open on the remote", len(reported), len(opens))
	}
}

func TestProposalStatusFollowsABatchToItsReceipt(t *testing.T) {
	e := newEnv(t, defaultRails())
	cs := client(t, e.mcp)
	out := ok[proposeOut](t, cs, "propose_changes", changes(set("1000", "lifecyclestage", "lead", "customer")))
	id := out.Batches[0].Batch
	st := ok[Status](t, cs, "proposal_status", map[string]any{"batch": id})
	if st.State != "open" || st.Decision != "review" || len(st.Approvals) != 0 || st.ApprovalsNeeded != 1 || st.Mergeable || !strings.Contains(st.WaitingFor, "approval") {
		t.Errorf("open status: %+v", st)
	}
	rv := &review.Service{WS: e.ws, Forge: e.fg, Now: e.clock.Now}
	if _, err := rv.Approve(context.Background(), id, "alice"); err != nil {
		t.Fatal(err)
	}
	st = ok[Status](t, cs, "proposal_status", map[string]any{"batch": id})
	if len(st.Approvals) != 1 || st.Approvals[0].Login != "alice" || !st.Mergeable {
		t.Errorf("approved status: %+v", st)
	}
	o, err := e.fg.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rv.Merge(context.Background(), o, "alice"); err != nil {
		t.Fatal(err)
	}
	if st = ok[Status](t, cs, "proposal_status", map[string]any{"batch": id}); st.State != "merged" || !strings.Contains(st.WaitingFor, "apply") {
		t.Errorf("merged status: %+v", st)
	}
	ap := &apply.Runner{WS: e.ws, Evidence: e.fg, CRM: e.db, Now: e.clock.Now, ExecutedBy: "crmops/test"}
	if _, err := ap.Run(context.Background(), apply.Options{}); err != nil {
		t.Fatal(err)
	}
	st = ok[Status](t, cs, "proposal_status", map[string]any{"batch": id})
	if st.State != "applied" || st.Decision != batch.ModeApproved || len(st.Changes) != 1 || st.Changes[0].Status != batch.StatusApplied ||
		len(st.Approvals) != 1 || st.Approvals[0].Login != "alice" {
		t.Errorf("applied status: %+v", st)
	}
	// The history shows it, and a rejected batch says who rejected it.
	h := ok[historyOut](t, cs, "record_history", map[string]any{"object": "contacts", "id": "1000"})
	if len(h.Events) != 1 || h.Events[0].After != "customer" || h.Events[0].Status != batch.StatusApplied {
		t.Errorf("history: %+v", h)
	}
	out = ok[proposeOut](t, cs, "propose_changes", changes(set("1001", "lifecyclestage", "lead", "customer")))
	if _, err := rv.Reject(context.Background(), out.Batches[0].Batch, "bob", "not yet"); err != nil {
		t.Fatal(err)
	}
	st = ok[Status](t, cs, "proposal_status", map[string]any{"batch": out.Batches[0].Batch})
	if st.State != "rejected" || st.RejectedBy != "bob" || st.Reason != "not yet" {
		t.Errorf("rejected status: %+v", st)
	}
	if msg := toolError(t, cs, "proposal_status", map[string]any{"batch": "20261202T100000Z-nothing-000000"}); !strings.Contains(msg, "not open, merged, applied or rejected") {
		t.Errorf("unknown batch: %q", msg)
	}
	lists := map[string]int{}
	for _, state := range []string{"open", "merged", "applied", "rejected", "all"} {
		lists[state] = len(ok[listOut](t, cs, "list_proposals", map[string]any{"state": state}).Proposals)
	}
	if want := map[string]int{"open": 0, "merged": 0, "applied": 1, "rejected": 1, "all": 2}; !maps.Equal(lists, want) {
		t.Errorf("list_proposals counts %v, want %v", lists, want)
	}
	if msg := toolError(t, cs, "list_proposals", map[string]any{"state": "pending"}); !strings.Contains(msg, "state:") {
		t.Errorf("bad state: %q", msg)
	}
}

func TestRecordHistoryLeavesOutWhatTheAgentMayNotSee(t *testing.T) {
	e := newEnv(t, defaultRails())
	cs := client(t, e.mcp)
	// Someone else (a script) proposes a phone change the agent cannot see.
	script := set("1000", "phone", "+1 555 0100", "+1 555 0199")
	script["kind"] = "enrichment"
	withPhone := defaultRails()
	withPhone.Read["contacts"] = append(withPhone.Read["contacts"], "phone")
	withPhone.Propose["contacts"] = append(withPhone.Propose["contacts"], "phone")
	other, _ := e.server(e.ws, withPhone)
	ok[proposeOut](t, client(t, other.MCP()), "propose_changes", changes(script))
	h := ok[historyOut](t, cs, "record_history", map[string]any{"object": "contacts", "id": "1000"})
	if len(h.Events) != 1 || !h.Events[0].Hidden || h.Events[0].Before != "" || h.Events[0].After != "" || h.Events[0].Reason != "" {
		t.Errorf("history of a hidden field: %+v", h.Events)
	}
	if msg := toolError(t, cs, "record_history", map[string]any{"object": "contacts", "id": "1000", "field": "phone"}); !strings.Contains(msg, "may not read contacts.phone") {
		t.Errorf("history of phone: %q", msg)
	}
}

func cloneWorkspace(t *testing.T, remote string) *workspace.Workspace {
	t.Helper()
	dir := t.TempDir()
	if _, err := gitrepo.Clone(context.Background(), remote, dir, nil); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestAMergeCarriesSnapshotsFromTheCRMAndNeedsAPerson(t *testing.T) {
	rails := defaultRails()
	rails.Merge = []string{"contacts"}
	rails.Auto = true
	e := newEnv(t, rails)
	e.commitPolicy(agentPolicy(`  - name: scout-everything
    when: {proposer: scout}
    decision: auto
`))
	cs := client(t, e.mcp)
	merge := map[string]any{"kind": "dedupe", "object": "contacts", "record": "1000", "op": "merge", "merge_from": "1003",
		"source": "agent", "confidence": 0.97, "reason": "same person"}
	follower := set("1000", "jobtitle", "", "CFO")
	follower["kind"], follower["follows"] = "dedupe", "c1"
	out := ok[proposeOut](t, cs, "propose_changes", changes(merge, follower))
	if len(out.Batches) != 1 || out.Batches[0].Decision != "review" || out.Batches[0].Changes != 2 {
		t.Fatalf("a merge and its follower: %+v, want one review batch of 2 changes", out)
	}
	b := e.opens()[out.Batches[0].Batch]
	m := b.Changes[0]
	if m.Op != batch.OpMerge || m.Snapshot["phone"] != "+1 555 0103" || m.Snapshot["email"] != "person1003@example.com" || m.SurvivorSnapshot["email"] != "person1000@example.com" {
		t.Errorf("merge snapshots are not the CRM's records: %+v / %+v", m.Snapshot, m.SurvivorSnapshot)
	}
	if b.Changes[1].Follows != m.ID {
		t.Errorf("the follower follows %q, want the merge %q", b.Changes[1].Follows, m.ID)
	}
	if msg := toolError(t, cs, "propose_changes", changes(map[string]any{"kind": "dedupe", "object": "contacts", "record": "1000", "op": "merge",
		"merge_from": "4242", "source": "agent", "confidence": 0.97})); !strings.Contains(msg, "changes[0].merge_from: contacts/4242 does not exist") {
		t.Errorf("a merge of a missing record: %q", msg)
	}
}

func TestAnAgentsOwnOpenProposalHoldsItsRecordsEvenWhereItIsNotTrusted(t *testing.T) {
	e := newEnv(t, defaultRails())
	// Auto rules that name only the workflow's login: the agent's open
	// proposals keep no detector off their records, but they must keep
	// the agent itself from proposing the same change twice.
	e.commitPolicy(agentPolicy("  - name: bot-stages\n    when: {kind: lifecycle, proposer: ops-bot}\n    decision: auto\n"))
	cs := client(t, e.mcp)
	first := ok[proposeOut](t, cs, "propose_changes", changes(set("1000", "lifecyclestage", "lead", "customer")))
	again := ok[proposeOut](t, cs, "propose_changes", changes(set("1000", "lifecyclestage", "lead", "customer")))
	if len(first.Batches) != 1 || len(again.Batches) != 0 || len(again.Skipped) != 1 || !strings.Contains(again.Skipped[0].Why, first.Batches[0].Batch) {
		t.Errorf("first %+v, again %+v: want the second call skipped, naming the first batch", first, again)
	}
}

// A title becomes the pull request's title and part of the merge commit's
// message: an agent must not be able to start a line there.
func TestAnAgentsTitleIsOneLine(t *testing.T) {
	e := newEnv(t, defaultRails())
	cs := client(t, e.mcp)
	c := set("1000", "lifecyclestage", "lead", "customer")
	for title, want := range map[string]string{
		"Stages\n\nCrmops-Approved-By: alice": "title: must be one line",
		"Stages\x1b[2K":                       "title: must be one line",
		strings.Repeat("x", 201):              "title: longer than 200",
	} {
		args := map[string]any{"changes": []any{c}, "title": title}
		if msg := toolError(t, cs, "propose_changes", args); !strings.Contains(msg, want) {
			t.Errorf("title %q: %q, want %q", title, msg, want)
		}
	}
	if len(e.opens()) != 0 {
		t.Fatal("a refused title proposed something")
	}
	out := ok[proposeOut](t, cs, "propose_changes", map[string]any{"changes": []any{c}, "title": "Stages after the webinar"})
	if b := e.opens()[out.Batches[0].Batch]; b == nil || b.Title != "Stages after the webinar" {
		t.Errorf("a plain title was not used: %+v", out)
	}
}
