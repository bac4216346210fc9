package mcpserver

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const testToken = "s3cret-token-for-the-test"

// The seven tools an agent gets, and no others.
var wantTools = []string{"explain_decision", "get_record", "list_proposals", "proposal_status", "propose_changes", "record_history", "search_records"}

func TestHTTPCheckListenRefusesEveryInterfaceWithoutAToken(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "localhost:0", "127.0.0.1:8765", "127.1.2.3:8765", "LocalHost:8765"} {
		if err := CheckListen(addr, ""); err != nil {
			t.Errorf("CheckListen(%q, no token) = %v, want nil: loopback needs no token", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:8765", ":8765", "10.1.2.3:8765", "example.com:80", "[::]:8765", "192.168.1.10:0"} {
		err := CheckListen(addr, "")
		if err == nil {
			t.Errorf("CheckListen(%q, no token) = nil, want it refused: anyone who can reach the port could propose as the agent", addr)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, TokenEnv) || !strings.Contains(msg, "CRMOPS_MCP_TOKEN") || !strings.Contains(msg, addr) {
			t.Errorf("CheckListen(%q, no token) = %q, want it to name the address and CRMOPS_MCP_TOKEN", addr, msg)
		}
		if err := CheckListen(addr, testToken); err != nil {
			t.Errorf("CheckListen(%q, token) = %v, want nil: with a token clients must authenticate", addr, err)
		}
	}
	for _, addr := range []string{"8765", "127.0.0.1", "", "http://127.0.0.1:8765"} {
		for _, token := range []string{"", testToken} {
			err := CheckListen(addr, token)
			if err == nil {
				t.Errorf("CheckListen(%q, token %q) = nil, want an error: not HOST:PORT", addr, token)
				continue
			}
			if !strings.Contains(err.Error(), "HOST:PORT") {
				t.Errorf("CheckListen(%q) = %q, want it to say HOST:PORT", addr, err)
			}
		}
	}
}

// serve serves the env's server over HTTP as crmops mcp --http does.
func serve(t *testing.T, token string) *httptest.Server {
	t.Helper()
	e := newEnv(t, defaultRails())
	ts := httptest.NewServer(Handler(e.mcp, token))
	t.Cleanup(ts.Close)
	return ts
}

// bearer adds an Authorization header to every request.
type bearer struct {
	header string
	base   http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", b.header)
	return b.base.RoundTrip(r)
}

func withAuth(header string) *http.Client {
	return &http.Client{Transport: bearer{header: header, base: http.DefaultTransport}}
}

// connectHTTP connects an SDK client to url, closing it when the test ends.
func connectHTTP(t *testing.T, url string, hc *http.Client) (*mcp.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc}, nil)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { cs.Close() })
	return cs, nil
}

// useTools lists the tools and reads a contact, as an agent would first.
func useTools(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("tools/list over HTTP: %v", err)
		}
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, wantTools) {
		t.Errorf("tools/list over HTTP = %v, want %v", names, wantTools)
	}
	r := ok[Record](t, cs, "get_record", map[string]any{"object": "contacts", "id": "1000"})
	want := map[string]string{"email": "person1000@example.com", "firstname": "P1000", "lifecyclestage": "lead"}
	if r.Object != "contacts" || r.ID != "1000" || !maps.Equal(r.Fields, want) {
		t.Errorf("get_record contacts/1000 over HTTP = %+v, want fields %v (phone is not readable)", r, want)
	}
}

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`

// post sends one raw initialize request, as curl would, and returns the
// response with its body read.
func post(t *testing.T, url, host, authorization string) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(initialize))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the body: %v", url, err)
	}
	return resp, string(body)
}

func TestHTTPWithATokenOnlyClientsSendingItGetIn(t *testing.T) {
	ts := serve(t, testToken)

	t.Run("requests without the right bearer token are answered 401 and reach no tool", func(t *testing.T) {
		for _, authz := range []string{"", "Bearer wrong", "Bearer " + testToken[:len(testToken)-1], "Basic " + testToken, testToken, "Bearer " + testToken + "x"} {
			resp, body := post(t, ts.URL, "", authz)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST initialize with Authorization %q: status %d, want 401\n%s", authz, resp.StatusCode, body)
			}
			if strings.Contains(body, "serverInfo") || strings.Contains(body, "crmops") {
				t.Errorf("POST initialize with Authorization %q: the server answered the request: %s", authz, body)
			}
		}
		// The same request with the token is served: the 401s were the token's.
		resp, body := post(t, ts.URL, "", "Bearer "+testToken)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"serverInfo"`) || !strings.Contains(body, `"crmops"`) {
			t.Errorf("POST initialize with the token: status %d, want 200 and crmops' serverInfo\n%s", resp.StatusCode, body)
		}
	})

	t.Run("a 401 challenges the client for a bearer token", func(t *testing.T) {
		resp, _ := post(t, ts.URL, "", "")
		got := resp.Header.Get("WWW-Authenticate")
		// RFC 9110 §11.6.1: a 401 MUST carry a WWW-Authenticate challenge.
		if !strings.HasPrefix(strings.ToLower(got), "bearer") {
			t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
		}
	})

	t.Run("an SDK client without the token cannot connect", func(t *testing.T) {
		if cs, err := connectHTTP(t, ts.URL, http.DefaultClient); err == nil {
			cs.Close()
			t.Fatal("a client without Authorization connected")
		} else if !strings.Contains(err.Error(), "Unauthorized") && !strings.Contains(err.Error(), "401") {
			t.Errorf("connect without a token: %v, want it to report 401 Unauthorized", err)
		}
	})

	t.Run("an SDK client with the wrong token cannot connect", func(t *testing.T) {
		if cs, err := connectHTTP(t, ts.URL, withAuth("Bearer not-"+testToken)); err == nil {
			cs.Close()
			t.Fatal("a client with the wrong token connected")
		} else if !strings.Contains(err.Error(), "Unauthorized") && !strings.Contains(err.Error(), "401") {
			t.Errorf("connect with the wrong token: %v, want it to report 401 Unauthorized", err)
		}
	})

	t.Run("an SDK client with the token connects and uses the tools", func(t *testing.T) {
		cs, err := connectHTTP(t, ts.URL, withAuth("Bearer "+testToken))
		if err != nil {
			t.Fatalf("connect with the token: %v", err)
		}
		useTools(t, cs)
	})
}

func TestHTTPOnLoopbackWithoutATokenClientsConnect(t *testing.T) {
	ts := serve(t, "")
	cs, err := connectHTTP(t, ts.URL, http.DefaultClient)
	if err != nil {
		t.Fatalf("connect to a loopback server without a token: %v", err)
	}
	useTools(t, cs)
}

// httptest.NewServer listens on 127.0.0.1, so the SDK's DNS-rebinding
// protection applies: a request that reached the loopback listener under a
// foreign Host name (a web page whose name was rebound to 127.0.0.1) is
// refused with 403 before it reaches any tool.
func TestHTTPRefusesForeignHostNamesOnLoopback(t *testing.T) {
	for name, token := range map[string]string{"without a token": "", "with a token": testToken} {
		t.Run(name, func(t *testing.T) {
			ts := serve(t, token)
			authz := ""
			if token != "" {
				authz = "Bearer " + token
			}
			for _, host := range []string{"evil.example", "evil.example:80", "127.0.0.1.evil.example"} {
				resp, body := post(t, ts.URL, host, authz)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "invalid Host header") {
					t.Errorf("POST with Host %s to %s: status %d, want 403 invalid Host header\n%s", host, ts.URL, resp.StatusCode, body)
				}
				if strings.Contains(body, "serverInfo") {
					t.Errorf("POST with Host %s: the server answered the request: %s", host, body)
				}
			}
			// The loopback names themselves are served.
			for _, host := range []string{"", "localhost:1234"} {
				resp, body := post(t, ts.URL, host, authz)
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"serverInfo"`) {
					t.Errorf("POST with Host %q: status %d, want 200 and the initialize result\n%s", host, resp.StatusCode, body)
				}
			}
		})
	}
}
