package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/mcpserver"
)

// defaultAgent is the agent `crmops init` configures.
const defaultAgent = "assistant"

func newMCPCmd(f *factory) *cobra.Command {
	var agent, addr string
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the Model Context Protocol to an AI agent: it reads the CRM and proposes changes for review",
		Long: "Runs an MCP server (stdio by default, streamable HTTP with --http) for one agent, named by --agent and\n" +
			"limited by agents.NAME in crmops.yaml (what it may read and propose, how much an hour, whether it may ever be auto).\n" +
			"The agent proposes through the same gate as crmops propose; no tool approves, merges, applies or writes the CRM.\n" +
			"With --http off loopback, clients must send the bearer token in " + mcpserver.TokenEnv + ".",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !batch.ValidAgent(agent) {
				return usageError{fmt.Errorf("--agent %q: lower case letters, digits, '.', '_', '-'", agent)}
			}
			token := f.getenv(mcpserver.TokenEnv)
			if addr != "" {
				if _, _, err := net.SplitHostPort(addr); err != nil {
					return usageError{fmt.Errorf("--http %q: want HOST:PORT, e.g. 127.0.0.1:8765", addr)}
				}
				if err := mcpserver.CheckListen(addr, token); err != nil {
					return err
				}
			}
			srv, closeCRM, err := f.mcpServer(agent)
			if err != nil {
				return err
			}
			defer closeCRM()
			if addr == "" {
				err := srv.MCP().Run(cmd.Context(), &mcp.IOTransport{Reader: io.NopCloser(f.in), Writer: nopWriteCloser{f.out}})
				if errors.Is(err, cmd.Context().Err()) {
					return nil
				}
				return err
			}
			return serveHTTP(cmd, f, srv, addr, token)
		},
	}
	cmd.Flags().StringVar(&agent, "agent", defaultAgent, "the agent's name: its proposals' proposer, and its entry under agents: in crmops.yaml")
	cmd.Flags().StringVar(&addr, "http", "", "serve streamable HTTP on HOST:PORT instead of stdio (e.g. 127.0.0.1:8765)")
	return cmd
}

// mcpServer builds the server for agent from the repository's
// configuration: its guard rails, the forge, and a read-only CRM.
func (f *factory) mcpServer(agent string) (*mcpserver.Server, func(), error) {
	ws, err := f.workspace()
	if err != nil {
		return nil, nil, err
	}
	rails, err := ws.Config.Agent(agent)
	if err != nil {
		return nil, nil, err
	}
	fg, err := f.forgeOf(ws)
	if err != nil {
		return nil, nil, err
	}
	c, err := f.connector(ws)
	if err != nil {
		return nil, nil, err
	}
	// On the local forge the proposer recorded is the agent; on GitHub the
	// token's login is the pull request's author and the batch names the agent.
	login := ""
	if ws.Config.Forge.Kind == "local" {
		login = agent
	}
	runner := f.proposer(ws, fg, login)
	runner.Agent = agent
	srv, err := mcpserver.New(mcpserver.Config{
		Agent: agent, Rails: rails, WS: ws, Forge: fg, Review: runner.Review, Propose: runner,
		Audit: f.auditor(ws, fg), CRM: c, Now: f.now, Version: version(),
	})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return srv, func() { c.Close() }, nil
}

func serveHTTP(cmd *cobra.Command, f *factory, srv *mcpserver.Server, addr, token string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mcp: %w", err)
	}
	protocol := srv.MCP()
	hs := &http.Server{Handler: mcpserver.Handler(protocol, token), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(f.err, "crmops mcp: serving http://%s/ (streamable HTTP)\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-cmd.Context().Done():
		// An agent's event stream never ends by itself: end the sessions,
		// let calls in flight finish, then drop what is left.
		for ss := range protocol.Sessions() {
			ss.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			return hs.Close()
		}
		return nil
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
