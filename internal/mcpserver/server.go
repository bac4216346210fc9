// Package mcpserver is crmops mcp: a Model Context Protocol server through
// which an AI agent reads the CRM and proposes changes. Its writes arrive as
// proposals, through the same planner, policy and forge as crmops propose;
// it holds no way to approve, merge, apply or write the CRM.
package mcpserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crmops/crmops/internal/audit"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/propose"
	"github.com/crmops/crmops/internal/review"
	"github.com/crmops/crmops/internal/workspace"
)

// Records is what the server needs of the CRM: reads only. The server is
// given no connector that could write, so no tool can change the CRM.
type Records interface {
	Get(ctx context.Context, object string, ids []string, fields []string) (map[string]crm.Record, error)
	List(ctx context.Context, object string, fields []string, fn func(crm.Record) error) error
}

// Config is everything a server is built from.
type Config struct {
	// Agent is the name the operator started the server with: the
	// proposer of everything it proposes. The agent cannot choose it.
	Agent string
	// Rails are the agent's guard rails from crmops.yaml.
	Rails *config.Agent

	WS      *workspace.Workspace
	Forge   forge.Forge
	Review  *review.Service
	Propose *propose.Runner
	Audit   *audit.Auditor
	CRM     Records
	Now     func() time.Time
	// Version is crmops' version, reported to clients.
	Version string
}

// Server serves one agent's tools.
type Server struct {
	cfg Config
	// git serialises the tools that read or move the checkout's refs: one
	// go-git repository is not safe for concurrent use, and a proposal's
	// hourly count must not race its own proposing.
	git sync.Mutex
}

// Detector is what an agent's batches record as their detector: who
// proposed them, as crmops propose --source records a script's.
func Detector(agent string) string { return "mcp-" + agent }

// New checks cfg and returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.Rails == nil {
		return nil, fmt.Errorf("mcp: agent %q has no guard rails", cfg.Agent)
	}
	if cfg.Propose.Agent != cfg.Agent {
		return nil, fmt.Errorf("mcp: the proposer runs as agent %q, not %q", cfg.Propose.Agent, cfg.Agent)
	}
	return &Server{cfg: cfg}, nil
}

// MCP returns the protocol server with every tool registered.
func (s *Server) MCP() *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "crmops", Title: "crmops: CRM changes through review", Version: s.cfg.Version},
		&mcp.ServerOptions{Instructions: instructions(s.cfg.Agent)})
	s.register(srv)
	return srv
}

func instructions(agent string) string {
	return "You are connected to crmops as the agent " + agent + ". You can read CRM records (only the fields you are allowed to see) " +
		"and propose changes. You cannot change the CRM: every change you propose becomes a batch that the repository's policy " +
		"or a person decides on, and only then does crmops apply it. Call explain_decision to see how changes would be decided, " +
		"propose_changes to propose them, and proposal_status to follow a batch up instead of proposing it again."
}
