package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpDeadline bounds every wait on a crmops mcp session, so a server that
// hangs fails the test instead of stalling it.
const mcpDeadline = 30 * time.Second

// lockedBuffer is a buffer a running command writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startMCP runs crmops with argv in-process, in the harness's repository,
// until ctx ends or the command returns; the exit code arrives on the
// channel.
func startMCP(ctx context.Context, h *harness, in io.Reader, out, errOut io.Writer, argv ...string) <-chan int {
	f := newFactory(in, out, errOut, func(k string) string { return h.env[k] })
	done := make(chan int, 1)
	go func() { done <- run(ctx, f, append([]string{"--repo", h.dir}, argv...)) }()
	return done
}

// runMCP runs a crmops mcp command that must end by itself (it must not
// start serving) and returns its result.
func runMCP(t *testing.T, h *harness, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), mcpDeadline)
	defer cancel()
	var out, errOut lockedBuffer
	select {
	case code := <-startMCP(ctx, h, strings.NewReader(""), &out, &errOut, argv...):
		if ctx.Err() != nil {
			t.Fatalf("crmops %s ran until it was stopped (it started serving)\nstdout: %s\nstderr: %s", strings.Join(argv, " "), out.String(), errOut.String())
		}
		return result{out: out.String(), err: errOut.String(), code: code}
	case <-time.After(mcpDeadline + 10*time.Second):
		t.Fatalf("crmops %s: still running after %s", strings.Join(argv, " "), mcpDeadline)
		return result{}
	}
}

// initAssistantOnly makes a repository with crmops init and checks that its
// crmops.yaml configures exactly the agent assistant.
func initAssistantOnly(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.initRepo()
	ws := h.workspace()
	if got := slices.Sorted(maps.Keys(ws.Config.Agents)); !slices.Equal(got, []string{"assistant"}) {
		t.Fatalf("crmops init's crmops.yaml configures agents %v, want only assistant", got)
	}
	if _, err := ws.Config.Agent("assistant"); err != nil {
		t.Fatalf("crmops init's crmops.yaml: %v", err)
	}
	return h
}

func TestMCPRefusesAnAgentCrmopsYamlDoesNotConfigure(t *testing.T) {
	h := initAssistantOnly(t)
	r := runMCP(t, h, "mcp", "--agent", "nobody")
	if r.code != exitError {
		t.Fatalf("crmops mcp --agent nobody: exit %d, want %d\nstdout: %s\nstderr: %s", r.code, exitError, r.out, r.err)
	}
	if r.out != "" {
		t.Errorf("crmops mcp --agent nobody wrote to stdout (an MCP host would read it as the protocol): %q", r.out)
	}
	if strings.Count(r.err, "\n") != 1 || !strings.HasSuffix(r.err, "\n") {
		t.Errorf("crmops mcp --agent nobody: want a one-line error, got:\n%s", r.err)
	}
	for _, want := range []string{"crmops: ", "agents.nobody", "crmops.yaml", "assistant"} {
		if !strings.Contains(r.err, want) {
			t.Errorf("crmops mcp --agent nobody: error lacks %q: %s", want, r.err)
		}
	}
}

func TestMCPBadAgentNameIsAUsageError(t *testing.T) {
	h := initAssistantOnly(t)
	for _, name := range []string{"Bad_Name!", "Assistant", "", "a/b"} {
		r := runMCP(t, h, "mcp", "--agent", name)
		if r.code != exitUsage {
			t.Errorf("crmops mcp --agent %q: exit %d, want %d (usage)\nstdout: %s\nstderr: %s", name, r.code, exitUsage, r.out, r.err)
		}
		if r.out != "" {
			t.Errorf("crmops mcp --agent %q wrote to stdout: %q", name, r.out)
		}
		for _, want := range []string{"--agent", fmt.Sprintf("%q", name), "crmops --help"} {
			if !strings.Contains(r.err, want) {
				t.Errorf("crmops mcp --agent %q: error lacks %q: %s", name, want, r.err)
			}
		}
	}
}

func TestMCPHTTPBeyondLoopbackNeedsAToken(t *testing.T) {
	h := initAssistantOnly(t)
	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		r := runMCP(t, h, "mcp", "--http", addr)
		if r.code != exitError {
			t.Errorf("crmops mcp --http %s without CRMOPS_MCP_TOKEN: exit %d, want %d\nstdout: %s\nstderr: %s", addr, r.code, exitError, r.out, r.err)
		}
		if !strings.Contains(r.err, "CRMOPS_MCP_TOKEN") || !strings.Contains(r.err, addr) || strings.Count(r.err, "\n") != 1 {
			t.Errorf("crmops mcp --http %s without a token: want a one-line error naming %s and CRMOPS_MCP_TOKEN, got:\n%s", addr, addr, r.err)
		}
		if strings.Contains(r.err, "serving") || r.out != "" {
			t.Errorf("crmops mcp --http %s without a token started serving:\nstdout: %s\nstderr: %s", addr, r.out, r.err)
		}
	}
	r := runMCP(t, h, "mcp", "--http", "8765")
	if r.code == 0 || !strings.Contains(r.err, "HOST:PORT") || strings.Contains(r.err, "serving") {
		t.Errorf("crmops mcp --http 8765: exit %d, want non-zero and an error asking for HOST:PORT\nstderr: %s", r.code, r.err)
	}
}

// bearerHeader adds Authorization: Bearer <token> to every request.
type bearerHeader struct {
	token string
	base  http.RoundTripper
}

func (b bearerHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// transport is an HTTP transport of the test's own, whose idle
// connections are closed when the test ends. A connection the client
// dialled but never sent a request on would otherwise hold up
// http.Server.Shutdown for 5 seconds (net/http treats it as active), which
// is crmops mcp's own shutdown timeout.
func transport(t *testing.T) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// httpServer is a crmops mcp --http running in-process.
type httpServer struct {
	url    string
	token  string
	stop   context.CancelFunc
	done   <-chan int
	stdout *lockedBuffer
	stderr *lockedBuffer
}

// serveHTTPMCP starts crmops mcp --http 127.0.0.1:0 with CRMOPS_MCP_TOKEN
// set and waits for it to say where it serves.
func serveHTTPMCP(t *testing.T, h *harness) *httpServer {
	t.Helper()
	s := &httpServer{token: "tok-for-mcp-http", stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	h.env["CRMOPS_MCP_TOKEN"] = s.token
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.stop = cancel
	s.done = startMCP(ctx, h, strings.NewReader(""), s.stdout, s.stderr, "mcp", "--http", "127.0.0.1:0")
	serving := regexp.MustCompile(`crmops mcp: serving (http://127\.0\.0\.1:\d+/) \(streamable HTTP\)`)
	for deadline := time.Now().Add(mcpDeadline); s.url == ""; time.Sleep(10 * time.Millisecond) {
		if m := serving.FindStringSubmatch(s.stderr.String()); m != nil {
			s.url = m[1]
		}
		select {
		case code := <-s.done:
			t.Fatalf("crmops mcp --http exited %d before serving\nstderr: %s", code, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("crmops mcp --http 127.0.0.1:0 did not say where it serves within %s\nstderr: %s", mcpDeadline, s.stderr.String())
		}
	}
	return s
}

// connect connects an SDK client sending the token, over tr.
func (s *httpServer) connect(t *testing.T, tr *http.Transport, standaloneSSE bool) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), mcpDeadline)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: s.url, HTTPClient: &http.Client{Transport: bearerHeader{s.token, tr}}, DisableStandaloneSSE: !standaloneSSE,
	}, nil)
	if err != nil {
		t.Fatalf("connect to crmops mcp --http with the token: %v", err)
	}
	return cs
}

// crmops mcp --http with CRMOPS_MCP_TOKEN set serves streamable HTTP, says
// where on stderr, lets in only clients sending the token, and stops when
// its context does (Ctrl-C).
func TestMCPHTTPServesClientsWithTheToken(t *testing.T) {
	h := initAssistantOnly(t)
	h.importCSV("contacts", contactsCSV)
	s := serveHTTPMCP(t, h)

	ctx, cancel := context.WithTimeout(context.Background(), mcpDeadline)
	defer cancel()
	tr := transport(t)
	if cs, err := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: s.url, HTTPClient: &http.Client{Transport: tr}}, nil); err == nil {
		cs.Close()
		t.Errorf("a client without the token connected to crmops mcp --http")
	} else if !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("connect without the token: %v, want Unauthorized", err)
	}
	// No standalone SSE stream: the server is stopped after this client has
	// gone (TestMCPHTTPStopsWithAnAgentConnected keeps one open).
	cs := s.connect(t, tr, false)
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != len(mcpTools) {
		t.Errorf("tools/list over HTTP: %v, %d tools, want %d", err, len(tools.Tools), len(mcpTools))
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_record", Arguments: map[string]any{"object": "contacts", "id": "1002"}})
	if err != nil || res.IsError {
		t.Fatalf("get_record contacts/1002 over HTTP: %v %+v", err, res)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var rec struct {
		ID     string            `json:"id"`
		Fields map[string]string `json:"fields"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil || rec.ID != "1002" || rec.Fields["jobtitle"] != "CTO" || rec.Fields["email"] != "bob@beta.io" {
		t.Errorf("get_record contacts/1002 over HTTP: %s (%v), want Bob, CTO", raw, err)
	}
	cs.Close()
	tr.CloseIdleConnections() // the client has gone

	s.stop()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("crmops mcp --http exited %d when stopped, want 0\nstderr: %s", code, s.stderr.String())
		}
	case <-time.After(mcpDeadline):
		t.Fatalf("crmops mcp --http did not stop within %s of its context ending", mcpDeadline)
	}
	if s.stdout.String() != "" {
		t.Errorf("crmops mcp --http wrote to stdout: %q", s.stdout.String())
	}
}

// Ctrl-C while an agent is connected (its client holds the standalone SSE
// stream open, as the SDKs' clients do by default) stops crmops mcp --http
// cleanly.
func TestMCPHTTPStopsWithAnAgentConnected(t *testing.T) {
	h := initAssistantOnly(t)
	s := serveHTTPMCP(t, h)
	cs := s.connect(t, transport(t), true)
	defer cs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), mcpDeadline)
	defer cancel()
	if _, err := cs.ListTools(ctx, nil); err != nil {
		t.Fatalf("tools/list over HTTP: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // the client opens its GET stream after initialize

	began := time.Now()
	s.stop()
	var code int
	select {
	case code = <-s.done:
	case <-time.After(mcpDeadline):
		t.Fatalf("crmops mcp --http did not stop within %s of its context ending with an agent connected", mcpDeadline)
	}
	took := time.Since(began)
	if code != 0 {
		t.Errorf("crmops mcp --http exited %d when stopped with an agent connected, want 0\nstderr: %s", code, s.stderr.String())
	}
	if took > 3*time.Second {
		t.Errorf("crmops mcp --http took %s to stop with an agent connected", took)
	}
}

// rpcMessage is one JSON-RPC message crmops mcp writes on stdout.
type rpcMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
}

// An MCP host runs crmops mcp (no --agent: the assistant crmops init
// configures) and speaks newline-delimited JSON-RPC on its stdin and
// stdout: initialize, tools/list, get_record. When the host closes stdin
// the command exits 0.
func TestMCPStdioSessionWithTheDefaultAgent(t *testing.T) {
	h := newHarness(t)
	if r := h.run("", "quickstart", h.dir); r.code != 0 {
		t.Fatalf("quickstart: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if got := slices.Sorted(maps.Keys(h.workspace().Config.Agents)); !slices.Equal(got, []string{"assistant"}) {
		t.Fatalf("the quickstart's crmops.yaml configures agents %v, want assistant as crmops init writes it", got)
	}
	// A contact of the quickstart's CRM, as crmops crm get shows it.
	ids := slices.Sorted(maps.Keys(csvColumn(t, h.ok("", "crm", "export", "contacts"), "email")))
	if len(ids) == 0 {
		t.Fatal("the quickstart's CRM has no contacts")
	}
	id := ids[0]
	var want map[string]string
	h.jsonOut(&want, "", "crm", "get", "contacts/"+id, "--json")
	delete(want, "id")
	if len(want) == 0 {
		t.Fatalf("crm get contacts/%s shows no fields", id)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errOut lockedBuffer
	f := newFactory(inR, outW, &errOut, func(k string) string { return h.env[k] })
	done := make(chan int, 1)
	go func() {
		code := run(ctx, f, []string{"--repo", h.dir, "mcp"})
		// Nothing reads stdin or writes stdout any more: unblock the test.
		inR.CloseWithError(fmt.Errorf("crmops mcp exited %d", code))
		outW.Close()
		done <- code
	}()

	// Every line on stdout must be a JSON-RPC message: the host parses them.
	responses := make(chan rpcMessage, 16)
	var stray lockedBuffer
	go func() {
		defer close(responses)
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var m rpcMessage
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.JSONRPC != "2.0" {
				fmt.Fprintf(&stray, "%s\n", sc.Bytes())
				continue
			}
			responses <- m
		}
	}()
	got := map[string]rpcMessage{}
	await := func(id string) rpcMessage {
		t.Helper()
		timeout := time.After(mcpDeadline)
		for {
			if m, ok := got[id]; ok {
				return m
			}
			select {
			case m, ok := <-responses:
				if !ok {
					t.Fatalf("crmops mcp closed stdout before answering request %s\nstderr: %s", id, errOut.String())
				}
				if len(m.ID) > 0 {
					got[string(m.ID)] = m
				}
			case <-timeout:
				t.Fatalf("crmops mcp did not answer request %s within %s\nstderr: %s", id, mcpDeadline, errOut.String())
			}
		}
	}
	send := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			t.Fatalf("writing to crmops mcp's stdin: %v\nstderr: %s", err, errOut.String())
		}
	}

	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test-host","version":"1"}}}`)
	var hello struct {
		ProtocolVersion string `json:"protocolVersion"`
		ServerInfo      struct {
			Name string `json:"name"`
		} `json:"serverInfo"`
		Instructions string `json:"instructions"`
	}
	if m := await("1"); json.Unmarshal(m.Result, &hello) != nil || hello.ProtocolVersion != "2025-06-18" || hello.ServerInfo.Name != "crmops" {
		t.Fatalf("initialize: %s %s, want crmops speaking 2025-06-18", m.Result, m.Error)
	}
	if !strings.Contains(hello.Instructions, "agent assistant") {
		t.Errorf("initialize instructions %q do not name the agent assistant", hello.Instructions)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`)
	send(fmt.Sprintf(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_record","arguments":{"object":"contacts","id":%q}}}`, id))

	call := await("3")
	list := await("2")
	var tools struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(list.Result, &tools); err != nil {
		t.Fatalf("tools/list: %v: %s %s", err, list.Result, list.Error)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	if slices.Sort(names); !slices.Equal(names, slices.Sorted(slices.Values(mcpTools))) {
		t.Errorf("tools/list names %v, want exactly %v", names, mcpTools)
	}
	var res struct {
		IsError           bool `json:"isError"`
		StructuredContent struct {
			Object string            `json:"object"`
			ID     string            `json:"id"`
			Fields map[string]string `json:"fields"`
		} `json:"structuredContent"`
	}
	if err := json.Unmarshal(call.Result, &res); err != nil || res.IsError {
		t.Fatalf("tools/call get_record contacts/%s: %v: %s %s", id, err, call.Result, call.Error)
	}
	if sc := res.StructuredContent; sc.Object != "contacts" || sc.ID != id || !maps.Equal(sc.Fields, want) {
		t.Errorf("get_record contacts/%s: structuredContent %+v\nwant the fields crm get shows (the assistant reads contacts: [\"*\"]): %v", id, sc, want)
	}

	// The host closes stdin: the session ends and crmops exits 0.
	inW.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("crmops mcp exited %d when stdin closed, want 0\nstderr: %s", code, errOut.String())
		}
	case <-time.After(mcpDeadline):
		t.Fatalf("crmops mcp still running %s after stdin closed\nstderr: %s", mcpDeadline, errOut.String())
	}
	for range responses { // drain until stdout closes
	}
	if s := stray.String(); s != "" {
		t.Errorf("crmops mcp wrote lines on stdout that are not JSON-RPC (a host cannot parse them):\n%s", s)
	}
}
