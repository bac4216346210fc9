// Drives `crmops mcp` over stdio with the official TypeScript MCP SDK
// client, the way an MCP host (Claude Desktop, an IDE, an agent framework)
// would: list the tools, search and read contacts, propose a lifecycle
// change to the first contact that has no open proposal (the quickstart
// leaves some), and send an invalid change. Run by ../../mcp_interop_test.go:
//
//   node client.mjs CRMOPS_BINARY REPOSITORY_DIR
//
// On success it prints one JSON line, {"tools":[...],"record":ID,"batch":ID},
// and exits 0; on any failed assertion it prints the reason to stderr and
// exits 1.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const WANT_TOOLS = [
  "get_record",
  "search_records",
  "propose_changes",
  "explain_decision",
  "list_proposals",
  "proposal_status",
  "record_history",
];

class AssertionFailed extends Error {}

function fail(msg) {
  throw new AssertionFailed(msg);
}

function show(v) {
  return JSON.stringify(v, null, 2);
}

// checkRecord asserts r is a contact as search_records and get_record
// return it: {object, id, fields}.
function checkRecord(tool, r) {
  if (r === null || typeof r !== "object" || r.object !== "contacts" || typeof r.id !== "string" || r.id === "" ||
      r.fields === null || typeof r.fields !== "object" || Array.isArray(r.fields)) {
    fail(`${tool}: want {object: "contacts", id, fields}, got ${show(r)}`);
  }
}

function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

// call runs one tool and returns its result; a JSON-RPC error (rather than
// a tool result) is a failure of its own, reported with the request.
async function call(client, name, args) {
  try {
    return await client.callTool({ name, arguments: args });
  } catch (err) {
    fail(`tools/call ${name} ${JSON.stringify(args)}: protocol error instead of a tool result: ${err?.stack ?? err}`);
  }
}

// ok asserts a tool call succeeded and returns its structured content.
function ok(name, args, result) {
  if (result.isError) {
    fail(`tools/call ${name} ${JSON.stringify(args)}: isError is true: ${textOf(result)}`);
  }
  const sc = result.structuredContent;
  if (sc === null || typeof sc !== "object") {
    fail(`tools/call ${name} ${JSON.stringify(args)}: no structuredContent in ${show(result)}`);
  }
  return sc;
}

async function main() {
  const [bin, repo] = process.argv.slice(2);
  if (!bin || !repo) {
    fail("usage: node client.mjs CRMOPS_BINARY REPOSITORY_DIR");
  }

  const transport = new StdioClientTransport({
    command: bin,
    args: ["--repo", repo, "mcp", "--agent", "assistant"],
    // The test's environment, not only the SDK's short default list, so
    // crmops sees the same HOME, git settings and CRMOPS_* variables.
    env: { ...process.env },
    stderr: "inherit",
  });
  const client = new Client({ name: "crmops-interop-test", version: "1.0.0" });
  await client.connect(transport);
  try {
    // tools/list
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const want of WANT_TOOLS) {
      const tool = tools.find((t) => t.name === want);
      if (!tool) {
        fail(`tools/list lacks ${want}: it has ${names.join(", ")}`);
      }
      if (typeof tool.description !== "string" || tool.description.trim() === "") {
        fail(`tools/list: ${want} has no description: ${show(tool)}`);
      }
      if (!tool.inputSchema || tool.inputSchema.type !== "object") {
        fail(`tools/list: ${want} has no object inputSchema: ${show(tool)}`);
      }
    }

    // search_records: any one contact.
    const searchArgs = { object: "contacts", filter: {}, limit: 1 };
    const found = ok("search_records", searchArgs, await call(client, "search_records", searchArgs));
    if (!Array.isArray(found.records) || found.records.length !== 1) {
      fail(`search_records ${JSON.stringify(searchArgs)}: want 1 record, got ${show(found)}`);
    }
    checkRecord("search_records", found.records[0]);
    if (found.truncated !== true) {
      fail(`search_records ${JSON.stringify(searchArgs)}: the CRM has more than one contact, want truncated true, got ${show(found)}`);
    }

    // The quickstart leaves open proposals on some contacts, and a record
    // with an open proposal is skipped (as crmops propose skips it): try
    // the first contact, then the next ones, as an agent would.
    const candidates = [found.records[0].id];
    const moreArgs = { object: "contacts", filter: {}, limit: 25 };
    const more = ok("search_records", moreArgs, await call(client, "search_records", moreArgs));
    if (!Array.isArray(more.records) || more.records.length < 2) {
      fail(`search_records ${JSON.stringify(moreArgs)}: want several records, got ${show(more)}`);
    }
    for (const r of more.records) {
      checkRecord("search_records", r);
      if (!candidates.includes(r.id)) candidates.push(r.id);
    }

    let id, change, batch;
    const skips = [];
    for (const candidate of candidates.slice(0, 10)) {
      // get_record: the contact, with its current stage.
      const getArgs = { object: "contacts", id: candidate };
      const rec = ok("get_record", getArgs, await call(client, "get_record", getArgs));
      checkRecord("get_record", rec);
      if (rec.id !== candidate) {
        fail(`get_record ${JSON.stringify(getArgs)}: got record ${JSON.stringify(rec.id)}`);
      }
      const before = rec.fields.lifecyclestage ?? "";
      const after = before === "customer" ? "opportunity" : "customer";

      // propose_changes: one valid lifecycle change.
      const c = {
        kind: "lifecycle",
        object: "contacts",
        record: candidate,
        op: "set",
        field: "lifecyclestage",
        before,
        after,
        source: "interop-test",
        confidence: 0.9,
        reason: "interop",
      };
      const proposeArgs = { changes: [c], title: "interop test" };
      const proposed = ok("propose_changes", proposeArgs, await call(client, "propose_changes", proposeArgs));
      if (!Array.isArray(proposed.batches) || !Array.isArray(proposed.skipped) || !Array.isArray(proposed.denied)) {
        fail(`propose_changes ${JSON.stringify(proposeArgs)}: want batches, skipped and denied arrays, got ${show(proposed)}`);
      }
      if (proposed.denied.length > 0) {
        fail(`propose_changes ${JSON.stringify(proposeArgs)}: the assistant agent may propose lifecyclestage on contacts, but it was denied: ${show(proposed)}`);
      }
      if (proposed.batches.length === 0) {
        const why = proposed.skipped.map((s) => s.why ?? "").join("; ");
        if (proposed.skipped.length !== 1 || !/open proposal/.test(why)) {
          fail(`propose_changes ${JSON.stringify(proposeArgs)}: want at least one batch (or a skip for an open proposal), got ${show(proposed)}`);
        }
        skips.push(`contacts/${candidate}: ${why}`);
        continue;
      }
      batch = proposed.batches[0].batch;
      if (typeof batch !== "string" || batch === "") {
        fail(`propose_changes: batches[0] has no batch id: ${show(proposed.batches[0])}`);
      }
      id = candidate;
      change = c;
      break;
    }
    if (!batch) {
      fail(`propose_changes: no contact among ${candidates.slice(0, 10).join(", ")} could take a proposal:\n${skips.join("\n")}`);
    }

    // propose_changes: an invalid change is a tool error naming the key.
    const badArgs = { changes: [{ ...change, confidence: 7 }] };
    const bad = await call(client, "propose_changes", badArgs);
    if (bad.isError !== true) {
      fail(`propose_changes with confidence 7: want isError true, got ${show(bad)}`);
    }
    const badText = textOf(bad);
    if (!badText.includes("confidence") || !badText.includes("changes[0]")) {
      fail(`propose_changes with confidence 7: the error text does not name the change (changes[0]) and its key (confidence): ${JSON.stringify(badText)}`);
    }

    process.stdout.write(JSON.stringify({ tools: names, record: id, batch }) + "\n");
  } finally {
    await client.close();
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  if (err instanceof AssertionFailed) {
    process.stderr.write(`mcp interop: ${err.message}\n`);
  } else {
    process.stderr.write(`mcp interop: ${err?.stack ?? err}\n`);
  }
  process.exit(1);
}
