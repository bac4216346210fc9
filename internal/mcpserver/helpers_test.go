package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crmops/crmops/internal/audit"
	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/hubspot/hubspottest"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/forge/local"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/propose"
	"github.com/crmops/crmops/internal/review"
	"github.com/crmops/crmops/internal/workspace"
)

const agentName = "scout"

// env is a change-request repository made by crmops init, on a real bare
// remote, with an embedded CRM and one agent's server.
type env struct {
	t     *testing.T
	dir   string
	ws    *workspace.Workspace
	fg    *local.Forge
	db    *sqlite.DB
	clock *hubspottest.Clock
	srv   *Server
	mcp   *mcp.Server
}

// defaultRails lets the agent read contacts (not their phone) and propose
// lifecycle stages and job titles.
func defaultRails() *config.Agent {
	return &config.Agent{
		Read:              map[string][]string{"contacts": {"email", "firstname", "lifecyclestage", "jobtitle"}},
		Propose:           map[string][]string{"contacts": {"lifecyclestage", "jobtitle"}},
		MaxChangesPerHour: 100,
	}
}

func newEnv(t *testing.T, rails *config.Agent) *env {
	t.Helper()
	ctx := context.Background()
	c := hubspottest.NewClock(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	ws, err := workspace.Init(ctx, filepath.Join(dir, "repo"), c.Now(), workspace.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(dir, "crm.db"), sqlite.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var recs []crm.Record
	for i, stage := range []string{"lead", "lead", "subscriber", "lead", "opportunity", "lead", "lead", "lead", "lead", "lead", "lead", "lead"} {
		recs = append(recs, crm.Record{ID: id(i), Fields: map[string]string{
			"email": "person" + id(i) + "@example.com", "firstname": "P" + id(i), "phone": "+1 555 01" + id(i)[2:], "lifecyclestage": stage,
		}})
	}
	if _, _, err := db.Upsert(ctx, "contacts", recs, "test"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, ws: ws, db: db, clock: c}
	e.srv, e.fg = e.server(ws, rails)
	e.mcp = e.srv.MCP()
	return e
}

func id(i int) string { return "10" + string(rune('0'+i/10)) + string(rune('0'+i%10)) }

// server builds the agent's server on a checkout, as crmops mcp does.
func (e *env) server(ws *workspace.Workspace, rails *config.Agent) (*Server, *local.Forge) {
	e.t.Helper()
	fg := local.New(ws)
	rv := &review.Service{WS: ws, Forge: fg, Now: e.clock.Now}
	runner := &propose.Runner{WS: ws, Forge: fg, Review: rv, Now: e.clock.Now, Author: agentName, Agent: agentName}
	srv, err := New(Config{Agent: agentName, Rails: rails, WS: ws, Forge: fg, Review: rv, Propose: runner,
		Audit: &audit.Auditor{Dir: ws.Dir, Opens: fg, Merges: fg, Blobs: ws.Git}, CRM: e.db, Now: e.clock.Now, Version: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	return srv, fg
}

// client connects an SDK client to srv over an in-memory transport.
func client(t *testing.T, srv *mcp.Server) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	return cs
}

// call calls a tool and returns its result, failing on protocol errors.
func call(t *testing.T, cs *mcp.ClientSession, tool string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return res
}

// ok calls a tool that must succeed and decodes its structured result.
func ok[T any](t *testing.T, cs *mcp.ClientSession, tool string, args any) T {
	t.Helper()
	res := call(t, cs, tool, args)
	if res.IsError {
		t.Fatalf("%s: tool error: %s", tool, text(res))
	}
	out, err := structured[T](res)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return out
}

// structured decodes a result's structured content.
func structured[T any](res *mcp.CallToolResult) (T, error) {
	var out T
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("%w in %s", err, raw)
	}
	return out, nil
}

// toolError calls a tool that must fail and returns its message.
func toolError(t *testing.T, cs *mcp.ClientSession, tool string, args any) string {
	t.Helper()
	res := call(t, cs, tool, args)
	if !res.IsError {
		t.Fatalf("%s: want a tool error, got %s", tool, text(res))
	}
	return text(res)
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// set is a change as an agent gives it.
func set(record, field, before, after string) map[string]any {
	return map[string]any{"kind": "lifecycle", "object": "contacts", "record": record, "op": "set", "field": field,
		"before": before, "after": after, "source": "agent-test", "confidence": 0.9, "trigger": "event", "reason": "test"}
}

func changes(cs ...map[string]any) map[string]any { return map[string]any{"changes": cs} }

// opens returns the batches of the open proposals on the remote, by id.
func (e *env) opens() map[string]*batch.Batch {
	e.t.Helper()
	if _, err := e.ws.Sync(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	list, err := e.fg.List(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]*batch.Batch{}
	for _, o := range list {
		b, err := batch.Decode(o.Path, o.Content)
		if err != nil {
			e.t.Fatal(err)
		}
		out[o.BatchID] = b
	}
	return out
}

// crmState is every contact's fields, to show that nothing changed them.
func (e *env) crmState() map[string]map[string]string {
	e.t.Helper()
	out := map[string]map[string]string{}
	err := e.db.List(context.Background(), "contacts", nil, func(r crm.Record) error {
		out[r.ID] = r.Fields
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// commitPolicy puts policy on the base branch.
func (e *env) commitPolicy(policy string) {
	e.t.Helper()
	_, err := e.ws.CommitToBase(context.Background(), map[string][]byte{"policies/default.yaml": []byte(policy)}, "policy for the test",
		gitrepo.Identity{Name: "ops", Email: "ops@example.com", When: e.clock.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
}
