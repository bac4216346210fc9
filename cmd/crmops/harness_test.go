package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/csvio"
	"github.com/crmops/crmops/internal/crm/hubspot/hubspottest"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/forge/github/githubtest"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/workspace"
)

// harness runs crmops commands in-process against one repository, with a
// clock that ticks a second per reading so ids and receipts are stable.
type harness struct {
	t     testing.TB
	dir   string
	clock time.Time
	env   map[string]string
	// forge is "local" or "github"; with github, gh is the API double the
	// repository's remote stands behind.
	forge string
	gh    *githubtest.Server
	// crm is "sqlite" or "hubspot"; with hubspot, hs is the API double the
	// repository's CRM is.
	crm string
	hs  *hubspottest.Server
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return &harness{
		t:     t,
		dir:   filepath.Join(t.TempDir(), "crm-changes"),
		clock: time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC),
		env:   map[string]string{},
		forge: "local",
		crm:   "sqlite",
	}
}

// initRepo runs crmops init and, on the github forge, puts the repository
// behind the GitHub API double: crmops.yaml says forge github, and every
// command authenticates with the token of whoever runs it.
func (h *harness) initRepo() {
	h.t.Helper()
	h.ok("", "init", h.dir)
	if h.crm == "hubspot" {
		// HubSpot's merge keeping the primary's id is the documented legacy
		// behaviour; the connector handles both (see internal/crm/hubspot).
		h.hs = hubspottest.New(hubspottest.Options{Token: "hs-secret", LegacyMerge: true})
		h.t.Cleanup(h.hs.Close)
		cfg := strings.Replace(readFile(h.t, filepath.Join(h.dir, "crmops.yaml")),
			"  kind: sqlite ", "  kind: hubspot\n  base_url: "+h.hs.URL+"\n  #", 1)
		h.pushToMain("use HubSpot\n", map[string]string{"crmops.yaml": cfg})
		h.env["HUBSPOT_TOKEN"] = "hs-secret"
		// The double is not HubSpot's API host: allowed as a workflow would.
		h.env["CRMOPS_ALLOW_CRM_BASE_URL"] = h.hs.URL
		h.ok("", "review", "list") // brings crmops.yaml up to date
	}
	if h.forge != "github" {
		return
	}
	tokens, emails := map[string]string{}, map[string]string{}
	for _, login := range []string{"crmops-bot", "alice", "bob", "carol", "mallory"} {
		tokens["tok-"+login] = login
		// The addresses pushBranch commits with are verified on the
		// accounts, so GitHub attributes those commits.
		emails[login+"@example.com"] = login
	}
	h.gh = githubtest.New(h.t, githubtest.Options{
		Owner: "acme", Repo: "crm-changes", BareRepo: filepath.Join(h.dir, workspace.LocalRemote),
		DefaultBranch: "main", Tokens: tokens, Emails: emails,
		Now: func() time.Time { return time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC) },
	})
	cfg := strings.Replace(readFile(h.t, filepath.Join(h.dir, "crmops.yaml")), "  kind: local ", "  login: crmops-bot\n  kind: github", 1)
	// On GitHub the default policy's auto rules trust only the bot the
	// workflows act as.
	h.pushToMain("use the GitHub forge\n", map[string]string{"crmops.yaml": cfg, policy.Path: policy.DefaultFor([]string{"crmops-bot"})})
	h.env["GITHUB_REPOSITORY"] = "acme/crm-changes"
	h.env["GITHUB_API_URL"] = h.gh.URL()
	h.env["GITHUB_TOKEN"] = "tok-crmops-bot"
	h.ok("", "review", "list") // brings the checkout, and its crmops.yaml, up to date
}

// bot is the login proposals are opened as.
func (h *harness) bot() string {
	if h.forge == "github" {
		return "crmops-bot"
	}
	return "crmops"
}

// runAs runs a command as login: --as on the local forge, login's token on
// GitHub (where identity is the token's).
func (h *harness) runAs(login, stdin string, argv ...string) result {
	h.t.Helper()
	if h.forge == "github" {
		saved := h.env["GITHUB_TOKEN"]
		h.env["GITHUB_TOKEN"] = "tok-" + login
		defer func() { h.env["GITHUB_TOKEN"] = saved }()
	}
	return h.run(stdin, append(argv, "--as", login)...)
}

// expectAs is expect, run as login.
func (h *harness) expectAs(login string, code int, argv []string, want ...string) result {
	h.t.Helper()
	r := h.runAs(login, "", argv...)
	if r.code != code {
		h.t.Fatalf("crmops %s as %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), login, r.code, code, r.out, r.err)
	}
	for _, w := range want {
		if !strings.Contains(r.out+r.err, w) {
			h.t.Errorf("crmops %s as %s: output lacks %q\nstdout: %s\nstderr: %s", strings.Join(argv, " "), login, w, r.out, r.err)
		}
	}
	return r
}

type result struct {
	out, err string
	code     int
}

// run executes one crmops command line with stdin.
func (h *harness) run(stdin string, argv ...string) result {
	h.t.Helper()
	var out, errOut bytes.Buffer
	f := newFactory(strings.NewReader(stdin), &out, &errOut, func(k string) string { return h.env[k] })
	f.now = func() time.Time { h.clock = h.clock.Add(time.Second); return h.clock }
	code := run(context.Background(), f, append([]string{"--repo", h.dir}, argv...))
	return result{out: out.String(), err: errOut.String(), code: code}
}

// ok runs a command that must succeed.
func (h *harness) ok(stdin string, argv ...string) string {
	h.t.Helper()
	r := h.run(stdin, argv...)
	if r.code != 0 {
		h.t.Fatalf("crmops %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), r.code, r.out, r.err)
	}
	return r.out
}

// expect runs a command that must exit with code and mention every want
// on stdout or stderr.
func (h *harness) expect(code int, stdin string, argv []string, want ...string) result {
	h.t.Helper()
	r := h.run(stdin, argv...)
	if r.code != code {
		h.t.Fatalf("crmops %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), r.code, code, r.out, r.err)
	}
	for _, w := range want {
		if !strings.Contains(r.out+r.err, w) {
			h.t.Errorf("crmops %s: output lacks %q\nstdout: %s\nstderr: %s", strings.Join(argv, " "), w, r.out, r.err)
		}
	}
	return r
}

func (h *harness) jsonOut(v any, stdin string, argv ...string) {
	h.t.Helper()
	out := h.ok(stdin, argv...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		h.t.Fatalf("crmops %s: not JSON: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

func (h *harness) writeFile(rel, content string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// importCSV loads records into the CRM: crm import on the embedded CRM;
// on HubSpot, straight into the double, as HubSpot's own UI would.
func (h *harness) importCSV(object, csv string) {
	h.t.Helper()
	if h.crm != "hubspot" {
		h.ok("", "crm", "import", object, h.writeFile(fmt.Sprintf("data/import-%d.csv", h.clock.UnixNano()), csv))
		return
	}
	err := csvio.Read(strings.NewReader(csv), "import.csv", func(_ int, r crm.Record) error {
		props, _, _ := h.hs.Get(object, r.ID)
		if props == nil {
			props = map[string]string{}
		}
		for k, v := range r.Fields {
			props[k] = v
		}
		h.hs.Seed(object, r.ID, props)
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// writes counts the CRM writes to a record crmops made or that a user made.
func (h *harness) writes(object, id string) int {
	h.t.Helper()
	if h.crm != "hubspot" {
		return len(h.history(object, id))
	}
	n := 0
	for _, w := range h.hs.Writes() {
		if w.Object == object && w.ID == id {
			n++
		}
	}
	return n
}

// field reads one field from the CRM, as crm get would show it.
func (h *harness) field(object, id, field string) string {
	h.t.Helper()
	var rec map[string]string
	h.jsonOut(&rec, "", "crm", "get", object+"/"+id, "--json")
	return rec[field]
}

func (h *harness) db() *sqlite.DB {
	h.t.Helper()
	db, err := sqlite.Open(filepath.Join(h.dir, ".crmops", "crm.db"), sqlite.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close() })
	return db
}

func (h *harness) history(object, id string) []crm.HistoryEntry {
	h.t.Helper()
	entries, err := h.db().History(context.Background(), object, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return entries
}

// receipt reads a batch's committed receipt from the checkout.
func (h *harness) receipt(id string) *batch.Receipt {
	h.t.Helper()
	p := filepath.Join(h.dir, batch.ReceiptPath(batch.Path(id)))
	data, err := os.ReadFile(p)
	if err != nil {
		h.t.Fatalf("receipt of %s: %v", id, err)
	}
	rc, err := batch.DecodeReceipt(p, data)
	if err != nil {
		h.t.Fatal(err)
	}
	return rc
}

func (h *harness) status(id, change string) string {
	h.t.Helper()
	r, ok := h.receipt(id).Result(change)
	if !ok {
		h.t.Fatalf("receipt of %s has no change %s", id, change)
	}
	return r.Status
}

func (h *harness) workspace() *workspace.Workspace {
	h.t.Helper()
	ws, err := workspace.Open(h.dir, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return ws
}

// pushToMain commits files straight onto the remote's main branch, as
// someone with push access but no review would.
func (h *harness) pushToMain(message string, files map[string]string, parents ...gitrepo.Hash) gitrepo.Hash {
	h.t.Helper()
	ws := h.workspace()
	content := map[string][]byte{}
	for k, v := range files {
		content[k] = []byte(v)
	}
	who := gitrepo.Identity{Name: "mallory", Email: "mallory@example.com", When: h.clock}
	commit, err := ws.UpdateBase(context.Background(), func(base gitrepo.Hash) (gitrepo.Hash, error) {
		return ws.Git.CommitTree(gitrepo.CommitOptions{
			Base: base, Parents: append([]gitrepo.Hash{base}, parents...), Files: content,
			Message: message, Author: who, Committer: who,
		})
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return commit
}

// pushBranch adds a commit with files on top of a proposal branch (or a new
// branch from main), as a reviewer editing the pull request would.
func (h *harness) pushBranch(branch, author string, files map[string]string) gitrepo.Hash {
	h.t.Helper()
	return h.pushBranchMessage(branch, author, "edit "+branch+"\n", files)
}

// pushBranchMessage is pushBranch with the commit message given.
func (h *harness) pushBranchMessage(branch, author, message string, files map[string]string) gitrepo.Hash {
	h.t.Helper()
	ws := h.workspace()
	ctx := context.Background()
	base, err := ws.Sync(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	if tip, err := ws.Git.Ref("refs/remotes/origin/" + branch); err == nil {
		base = tip
	}
	content := map[string][]byte{}
	for k, v := range files {
		content[k] = []byte(v)
	}
	who := gitrepo.Identity{Name: author, Email: author + "@example.com", When: h.clock}
	c, err := ws.Git.CommitTree(gitrepo.CommitOptions{
		Base: base, Parents: []gitrepo.Hash{base}, Files: content, Message: message, Author: who, Committer: who,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := ws.Git.SetRef("refs/heads/tmp-push", c); err != nil {
		h.t.Fatal(err)
	}
	if err := ws.Git.Push(ctx, "origin", "+refs/heads/tmp-push:refs/heads/"+branch); err != nil {
		h.t.Fatal(err)
	}
	_ = ws.Git.DeleteRef("refs/heads/tmp-push")
	return c
}

type proposed struct {
	Batch       string `json:"batch"`
	Decision    string `json:"decision"`
	Changes     int    `json:"changes"`
	Branch      string `json:"branch"`
	PullRequest int    `json:"pull_request"`
	State       string `json:"state"`
}

// propose sends JSON lines to crmops propose and returns its --json output.
func (h *harness) propose(lines string, extra ...string) []proposed {
	h.t.Helper()
	var out []proposed
	h.jsonOut(&out, lines, append([]string{"propose", "--json"}, extra...)...)
	return out
}

func byDecision(ps []proposed, decision string) []proposed {
	var out []proposed
	for _, p := range ps {
		if p.Decision == decision {
			out = append(out, p)
		}
	}
	return out
}
