package mcpserver

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TokenEnv names the environment variable holding the bearer token the
// HTTP transport requires: always off loopback, and on loopback when set.
const TokenEnv = "CRMOPS_MCP_TOKEN"

// CheckListen refuses to serve addr off the loopback interface without a
// token: anyone who can reach the port could otherwise propose as the agent.
func CheckListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--http %s: want HOST:PORT, e.g. 127.0.0.1:8765: %w", addr, err)
	}
	if token != "" || Loopback(host) {
		return nil
	}
	if host == "" {
		host = "every interface"
	}
	return fmt.Errorf("--http %s listens on %s, beyond this machine: set %s to a secret bearer token that clients must send, or listen on 127.0.0.1", addr, host, TokenEnv)
}

// Loopback reports whether host names only this machine.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Handler serves srv over the streamable HTTP transport. With a token,
// every request must carry it as "Authorization: Bearer <token>". The SDK
// keeps its DNS-rebinding protection for loopback listeners.
func Handler(srv *mcp.Server, token string) http.Handler {
	h := http.Handler(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	if token == "" {
		return h
	}
	verify := func(_ context.Context, got string, _ *http.Request) (*auth.TokenInfo, error) {
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: "bearer", Expiration: time.Now().Add(time.Hour)}, nil
	}
	inner := auth.RequireBearerToken(verify, nil)(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inner.ServeHTTP(challenger{w}, r) })
}

// challenger adds the Bearer challenge RFC 9110 (section 11.6.1) requires
// of a 401, which the SDK's middleware writes only for OAuth resource
// metadata.
type challenger struct{ http.ResponseWriter }

func (c challenger) WriteHeader(code int) {
	if code == http.StatusUnauthorized && c.Header().Get("WWW-Authenticate") == "" {
		c.Header().Set("WWW-Authenticate", `Bearer realm="crmops"`)
	}
	c.ResponseWriter.WriteHeader(code)
}

// Flush passes streaming through: the transport's event streams flush.
func (c challenger) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
