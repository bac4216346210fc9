package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// interopDir holds the node client and its package.json; `npm ci` there
// installs the official TypeScript MCP SDK into its node_modules.
const interopDir = "testdata/mcp-interop"

// interopInstall is the command, from the repository root, that installs
// what the interop test needs besides node itself.
const interopInstall = "npm ci --prefix cmd/crmops/testdata/mcp-interop"

// mcpTools are the tools crmops mcp serves.
var mcpTools = []string{"get_record", "search_records", "propose_changes", "explain_decision", "list_proposals", "proposal_status", "record_history"}

// requireInterop skips the test when node or the SDK is missing, or fails
// it when CRMOPS_REQUIRE_INTEROP=1 (CI sets it, so CI never skips
// silently). It returns node's path.
func requireInterop(t *testing.T) string {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (Node.js 18 or later) on PATH: install Node.js (e.g. apt-get install nodejs npm), then run "+interopInstall)
	}
	sdk := filepath.Join(interopDir, "node_modules", "@modelcontextprotocol", "sdk", "package.json")
	if _, err := os.Stat(sdk); err != nil {
		missing = append(missing, "the TypeScript MCP SDK (cmd/crmops/"+filepath.ToSlash(filepath.Dir(sdk))+" is not there): run "+interopInstall+" from the repository root")
	}
	if len(missing) == 0 {
		return node
	}
	msg := "MCP interop test needs " + strings.Join(missing, "; and ")
	if os.Getenv("CRMOPS_REQUIRE_INTEROP") == "1" {
		t.Fatal(msg + " (CRMOPS_REQUIRE_INTEROP=1, so this is a failure, not a skip)")
	}
	t.Skip(msg)
	return ""
}

// interopEnv is the test's environment less the variables that would
// point crmops at another identity, forge or CRM.
func interopEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CRMOPS_") || strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "HUBSPOT_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// runCmd runs a command with a timeout and returns its stdout, failing the
// test with its stderr when it does not exit 0.
func runCmd(t *testing.T, timeout time.Duration, dir, name string, argv ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Dir = dir
	cmd.Env = interopEnv()
	cmd.WaitDelay = 10 * time.Second // a child left holding the pipes cannot hang the test
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("%s %s: timed out after %s\nstdout: %s\nstderr: %s", name, strings.Join(argv, " "), timeout, out.String(), errOut.String())
	}
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(argv, " "), err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// TestMCPInteropWithTheTypeScriptSDK drives crmops mcp over stdio with the
// official TypeScript SDK's Client and StdioClientTransport, as an MCP
// host would: list the tools, search and read a contact, propose a
// lifecycle change, and send an invalid one. The proposal must be open for
// review and the CRM untouched.
func TestMCPInteropWithTheTypeScriptSDK(t *testing.T) {
	node := requireInterop(t)

	bin := filepath.Join(t.TempDir(), "crmops")
	runCmd(t, 5*time.Minute, ".", "go", "build", "-o", bin, ".")

	h := newHarness(t)
	runCmd(t, 2*time.Minute, ".", bin, "quickstart", h.dir)
	crmBefore := h.ok("", "crm", "export", "contacts")
	var openBefore []reviewItem
	h.jsonOut(&openBefore, "", "review", "list", "--json")

	client, err := filepath.Abs(filepath.Join(interopDir, "client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := runCmd(t, 2*time.Minute, interopDir, node, client, bin, h.dir)
	if stderr != "" {
		t.Logf("node client.mjs stderr (crmops mcp's stderr included):\n%s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var saw struct {
		Tools  []string `json:"tools"`
		Record string   `json:"record"`
		Batch  string   `json:"batch"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &saw); err != nil {
		t.Fatalf("node client.mjs: last line of stdout is not its JSON report: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	t.Logf("node client.mjs saw tools %v, proposed a change to contacts/%s in batch %s", saw.Tools, saw.Record, saw.Batch)
	for _, want := range mcpTools {
		if !slices.Contains(saw.Tools, want) {
			t.Errorf("tools/list as the TypeScript SDK saw it lacks %s: %v", want, saw.Tools)
		}
	}
	if saw.Record == "" || saw.Batch == "" {
		t.Fatalf("node client.mjs reported no record or batch: %s", stdout)
	}

	t.Run("the agent's batch is open for review", func(t *testing.T) {
		var open []reviewItem
		h.jsonOut(&open, "", "review", "list", "--json")
		i := slices.IndexFunc(open, func(it reviewItem) bool { return it.Batch == saw.Batch })
		if i < 0 {
			t.Fatalf("crmops review list --json does not list batch %s: %+v", saw.Batch, open)
		}
		if got := open[i]; got.State != "open" || got.Decision == "auto" {
			t.Errorf("batch %s: state %q decision %q, want open and not auto (an agent's changes are never auto by default)", saw.Batch, got.State, got.Decision)
		}
		if got := open[i].Changes; got != 1 {
			t.Errorf("batch %s has %d changes, want the 1 the client proposed (the invalid one must not be in it)", saw.Batch, got)
		}
		if len(open) != len(openBefore)+1 {
			t.Errorf("review list has %d open batches, want %d before the client plus its one: %+v", len(open), len(openBefore), open)
		}
	})

	t.Run("the CRM is unchanged", func(t *testing.T) {
		if got := h.ok("", "crm", "export", "contacts"); got != crmBefore {
			t.Errorf("crm export contacts changed across the MCP session (a proposal must not write the CRM)\nbefore:\n%s\nafter:\n%s", crmBefore, got)
		}
		stage, ok := csvColumn(t, crmBefore, "lifecyclestage")[saw.Record]
		if !ok {
			t.Fatalf("contacts/%s, the record the client proposed to change, is not in crm export contacts", saw.Record)
		}
		if got := h.field("contacts", saw.Record, "lifecyclestage"); got != stage {
			t.Errorf("contacts/%s lifecyclestage = %q after the MCP session, want %q as before it", saw.Record, got, stage)
		}
	})
}

// reviewItem is one entry of crmops review list --json.
type reviewItem struct {
	Batch    string `json:"batch"`
	Decision string `json:"decision"`
	Changes  int    `json:"changes"`
	State    string `json:"state"`
}

// csvColumn maps each record id of a crm export to its value of field.
func csvColumn(t *testing.T, export, field string) map[string]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(export)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("crm export contacts: not CSV (%v):\n%s", err, export)
	}
	id, col := slices.Index(rows[0], "id"), slices.Index(rows[0], field)
	if id < 0 || col < 0 {
		t.Fatalf("crm export contacts: no id or %s column: %v", field, rows[0])
	}
	m := map[string]string{}
	for _, r := range rows[1:] {
		m[r[id]] = r[col]
	}
	return m
}
