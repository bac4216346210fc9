package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/workspace"
)

// fakeCRM is a CRM in memory with the compare-and-swap semantics of the
// real connectors, recording every call.
type fakeCRM struct {
	mu      sync.Mutex
	records map[string]map[string]*crm.Record // object → id → record
	calls   []string                          // "set c1,c2", "merge 1002", ...
	// fail, when set, is asked before every write call; an error fails it.
	fail func(call int) error
	// short drops the last result of every write call.
	short bool
}

func newCRM() *fakeCRM { return &fakeCRM{records: map[string]map[string]*crm.Record{}} }

func (c *fakeCRM) put(object, id string, fields map[string]string, mergedInto string) {
	if c.records[object] == nil {
		c.records[object] = map[string]*crm.Record{}
	}
	c.records[object][id] = &crm.Record{ID: id, Fields: fields, MergedInto: mergedInto}
}

func (c *fakeCRM) field(object, id, field string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.records[object][id].Fields[field]
}

func (c *fakeCRM) writes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *fakeCRM) Get(_ context.Context, object string, ids []string, _ []string) (map[string]crm.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]crm.Record{}
	for _, id := range ids {
		if r, ok := c.records[object][id]; ok {
			out[id] = *r
		}
	}
	return out, nil
}

func (c *fakeCRM) List(context.Context, string, []string, func(crm.Record) error) error {
	return errors.New("not used")
}

func (c *fakeCRM) call(name string, keys []string) error {
	c.calls = append(c.calls, name+" "+strings.Join(keys, ","))
	if c.fail != nil {
		return c.fail(len(c.calls))
	}
	return nil
}

func (c *fakeCRM) trim(rs []crm.Result) []crm.Result {
	if c.short && len(rs) > 0 {
		return rs[:len(rs)-1]
	}
	return rs
}

func (c *fakeCRM) CompareAndSet(_ context.Context, reqs []crm.SetRequest) ([]crm.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	for _, r := range reqs {
		keys = append(keys, r.Record+"."+r.Field)
	}
	if err := c.call("set", keys); err != nil {
		return nil, err
	}
	var out []crm.Result
	for _, r := range reqs {
		rec, ok := c.records[r.Object][r.Record]
		switch {
		case !ok:
			out = append(out, crm.Result{Status: crm.Failed, Error: "record not found"})
		case rec.Fields[r.Field] == r.After:
			out = append(out, crm.Result{Status: crm.AlreadyApplied, Observed: r.After})
		case rec.Fields[r.Field] == r.Before:
			rec.Fields[r.Field] = r.After
			out = append(out, crm.Result{Status: crm.Applied, Observed: r.Before})
		default:
			out = append(out, crm.Result{Status: crm.Stale, Observed: rec.Fields[r.Field], Error: "changed since detection"})
		}
	}
	return c.trim(out), nil
}

func (c *fakeCRM) merge(name string, reqs []crm.MergeRequest, undo bool) ([]crm.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	for _, r := range reqs {
		keys = append(keys, r.Loser+">"+r.Survivor)
	}
	if err := c.call(name, keys); err != nil {
		return nil, err
	}
	var out []crm.Result
	for _, r := range reqs {
		loser, ok := c.records[r.Object][r.Loser]
		switch {
		case !ok:
			out = append(out, crm.Result{Status: crm.Failed, Error: "record not found"})
		case !undo && loser.MergedInto == r.Survivor, undo && loser.MergedInto == "":
			out = append(out, crm.Result{Status: crm.AlreadyApplied, Observed: loser.MergedInto})
		case !undo && loser.MergedInto == "":
			loser.MergedInto = r.Survivor
			out = append(out, crm.Result{Status: crm.Applied})
		case undo && loser.MergedInto == r.Survivor:
			loser.MergedInto = ""
			out = append(out, crm.Result{Status: crm.Applied, Observed: r.Survivor})
		default:
			out = append(out, crm.Result{Status: crm.Stale, Observed: loser.MergedInto})
		}
	}
	return c.trim(out), nil
}

func (c *fakeCRM) Merge(_ context.Context, reqs []crm.MergeRequest) ([]crm.Result, error) {
	return c.merge("merge", reqs, false)
}

func (c *fakeCRM) Unmerge(_ context.Context, reqs []crm.MergeRequest) ([]crm.Result, error) {
	return c.merge("unmerge", reqs, true)
}

func (c *fakeCRM) Close() error { return nil }

// fakeEvidence answers MergedBy with what a test crafted per batch.
type fakeEvidence struct {
	merged map[string]*forge.Merged
	err    error
	mu     sync.Mutex
	asked  []string // "id path" per call
}

func (e *fakeEvidence) questions() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.asked...)
}

func (e *fakeEvidence) MergedBy(_ context.Context, id, path string) (*forge.Merged, error) {
	e.mu.Lock()
	e.asked = append(e.asked, id+" "+path)
	e.mu.Unlock()
	if e.err != nil {
		return nil, e.err
	}
	if m, ok := e.merged[id]; ok {
		cp := *m
		return &cp, nil
	}
	return &forge.Merged{}, nil
}

var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// fixture is a change-request repository with its local bare remote, a
// CRM in memory and crafted approval evidence.
type fixture struct {
	t     *testing.T
	ws    *workspace.Workspace
	crm   *fakeCRM
	ev    *fakeEvidence
	log   bytes.Buffer
	clock time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ws, err := workspace.Init(context.Background(), filepath.Join(t.TempDir(), "repo"), t0, workspace.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{t: t, ws: ws, crm: newCRM(), ev: &fakeEvidence{merged: map[string]*forge.Merged{}}, clock: t0}
	for i := 1001; i <= 1010; i++ {
		fx.crm.put("contacts", fmt.Sprint(i), map[string]string{"jobtitle": "", "city": "Berlin"}, "")
	}
	return fx
}

// now ticks half a second per reading, so receipts show the truncation.
func (fx *fixture) now() time.Time {
	fx.clock = fx.clock.Add(500 * time.Millisecond)
	return fx.clock
}

func (fx *fixture) runner() *Runner {
	return &Runner{WS: fx.ws, Evidence: fx.ev, CRM: fx.crm, Now: fx.now, ExecutedBy: "crmops/test", Log: &fx.log}
}

func (fx *fixture) run(opts Options) *Report {
	fx.t.Helper()
	rep, err := fx.runner().Run(context.Background(), opts)
	if err != nil {
		fx.t.Fatalf("apply: %v", err)
	}
	return rep
}

func (fx *fixture) base() gitrepo.Hash {
	fx.t.Helper()
	h, err := fx.ws.Sync(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	return h
}

// commit writes files on top of parent (nothing else points at it).
func (fx *fixture) commit(parent gitrepo.Hash, files map[string][]byte, del ...string) gitrepo.Hash {
	fx.t.Helper()
	who := gitrepo.Identity{Name: "alice", Email: workspace.LoginEmail("alice"), When: t0}
	h, err := fx.ws.Git.CommitTree(gitrepo.CommitOptions{Base: parent, Parents: []gitrepo.Hash{parent}, Files: files, Delete: del, Message: "edit\n", Author: who})
	if err != nil {
		fx.t.Fatal(err)
	}
	return h
}

// toBase commits files straight onto the base branch, as a push bypassing
// review would.
func (fx *fixture) toBase(files map[string][]byte, msg string) gitrepo.Hash {
	fx.t.Helper()
	who := gitrepo.Identity{Name: "mallory", Email: workspace.LoginEmail("mallory"), When: t0}
	h, err := fx.ws.CommitToBase(context.Background(), files, msg, who)
	if err != nil {
		fx.t.Fatal(err)
	}
	return h
}

// merge proposes data at path on a branch of its own and merges it into the
// base branch with a real merge commit. It registers, and returns, the
// evidence a crmops merge of it leaves: decision auto, proposed by crmops,
// the one batch file changed.
func (fx *fixture) merge(id, path string, data []byte) *forge.Merged {
	fx.t.Helper()
	base := fx.base()
	head := fx.commit(base, map[string][]byte{path: data})
	who := gitrepo.Identity{Name: "crmops", Email: workspace.LoginEmail("crmops"), When: t0}
	var from gitrepo.Hash
	mc, err := fx.ws.UpdateBase(context.Background(), func(b gitrepo.Hash) (gitrepo.Hash, error) {
		from = b
		return fx.ws.Git.CommitTree(gitrepo.CommitOptions{
			Base: b, Parents: []gitrepo.Hash{b, head}, Files: map[string][]byte{path: data},
			Message: "Merge batch " + id + "\n\nCrmops-Batch: " + id + "\n", Author: who,
		})
	})
	if err != nil {
		fx.t.Fatal(err)
	}
	m := &forge.Merged{
		MergeCommit: mc.String(), Base: from.String(), Head: head.String(), PullRequest: 7,
		Author: "crmops", Decision: batch.ModeAuto, Files: []string{path},
	}
	fx.ev.merged[id] = m
	return m
}

// receipt reads the receipt committed beside the batch at path.
func (fx *fixture) receipt(path string) *batch.Receipt {
	fx.t.Helper()
	rp := batch.ReceiptPath(path)
	data, err := fx.ws.Git.ReadFile(fx.base(), rp)
	if err != nil {
		fx.t.Fatalf("no receipt: %v", err)
	}
	rc, err := batch.DecodeReceipt(rp, data)
	if err != nil {
		fx.t.Fatal(err)
	}
	return rc
}

func (fx *fixture) hasReceipt(path string) bool {
	fx.t.Helper()
	_, err := fx.ws.Git.ReadFile(fx.base(), batch.ReceiptPath(path))
	return err == nil
}

// tip is the base branch's last commit.
func (fx *fixture) tip() *gitrepo.Commit {
	fx.t.Helper()
	c, err := fx.ws.Git.CommitInfo(fx.base())
	if err != nil {
		fx.t.Fatal(err)
	}
	return c
}

// set is a change setting contacts/<record>.<field> from before to after:
// the default policy lets it be auto when before is empty (and the field
// is one an enrichment may fill), and sends it to review otherwise.
func set(id, record, field, before, after string) batch.Change {
	return batch.Change{ID: id, Kind: "enrichment", Object: "contacts", Record: record, Op: batch.OpSet,
		Field: field, Before: before, After: after, Source: "clay", Confidence: 0.95, Trigger: "import"}
}

func mergeOf(id, op, survivor, loser string) batch.Change {
	return batch.Change{ID: id, Kind: "dedupe", Object: "contacts", Record: survivor, Op: op, MergeFrom: loser,
		Source: "dedupe", Confidence: 0.93, Trigger: "rule", Snapshot: map[string]string{"email": loser + "@example.com"}}
}

func encode(t *testing.T, id string, changes ...batch.Change) []byte {
	t.Helper()
	data, err := batch.Encode(&batch.Batch{Version: 1, ID: id, Created: t0, Detector: "enrichment", Title: "test batch", Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func approval(login string, at time.Time) forge.Approval {
	return forge.Approval{Login: login, At: at}
}

func hash(s string) gitrepo.Hash { return plumbing.NewHash(s) }

// blob is the git blob id of the file at path on the base branch.
func (fx *fixture) blob(path string) string {
	fx.t.Helper()
	data, err := fx.ws.Git.ReadFile(fx.base(), path)
	if err != nil {
		fx.t.Fatal(err)
	}
	return plumbing.ComputeHash(plumbing.BlobObject, data).String()
}

// edit is one commit of a proposal branch.
type edit struct {
	data              []byte
	author, committer string
	other             bool // changes another file, not the batch
}

// mergeBranch is merge with a proposal branch of several commits: the
// proposal, then edits, the last one the reviewed head.
func (fx *fixture) mergeBranch(id, path string, edits ...edit) (*forge.Merged, []gitrepo.Hash) {
	fx.t.Helper()
	base := fx.base()
	head := base
	var commits []gitrepo.Hash
	var data []byte
	for _, e := range edits {
		files := map[string][]byte{path: e.data}
		if e.other {
			files = map[string][]byte{"notes/" + e.author: []byte("x")}
		} else {
			data = e.data
		}
		h, err := fx.ws.Git.CommitTree(gitrepo.CommitOptions{Base: head, Parents: []gitrepo.Hash{head}, Files: files, Message: "edit\n",
			Author:    gitrepo.Identity{Name: e.author, Email: workspace.LoginEmail(e.author), When: t0},
			Committer: gitrepo.Identity{Name: e.committer, Email: workspace.LoginEmail(e.committer), When: t0}})
		if err != nil {
			fx.t.Fatal(err)
		}
		head = h
		commits = append(commits, h)
	}
	who := gitrepo.Identity{Name: "crmops", Email: workspace.LoginEmail("crmops"), When: t0}
	mc, err := fx.ws.UpdateBase(context.Background(), func(b gitrepo.Hash) (gitrepo.Hash, error) {
		return fx.ws.Git.CommitTree(gitrepo.CommitOptions{
			Base: b, Parents: []gitrepo.Hash{b, head}, Files: map[string][]byte{path: data},
			Message: "Merge batch " + id + "\n\nCrmops-Batch: " + id + "\n", Author: who,
		})
	})
	if err != nil {
		fx.t.Fatal(err)
	}
	m := &forge.Merged{MergeCommit: mc.String(), Base: base.String(), Head: head.String(), Author: "crmops", Decision: batch.ModeAuto, Files: []string{path}}
	fx.ev.merged[id] = m
	return m, commits
}

// rewrite replaces (or, with nil data, deletes) files on the base branch.
func (fx *fixture) rewrite(files map[string][]byte) {
	fx.t.Helper()
	var del []string
	keep := map[string][]byte{}
	for p, d := range files {
		if d == nil {
			del = append(del, p)
		} else {
			keep[p] = d
		}
	}
	who := gitrepo.Identity{Name: "mallory", Email: workspace.LoginEmail("mallory"), When: t0}
	if _, err := fx.ws.UpdateBase(context.Background(), func(b gitrepo.Hash) (gitrepo.Hash, error) {
		return fx.ws.Git.CommitTree(gitrepo.CommitOptions{Base: b, Parents: []gitrepo.Hash{b}, Files: keep, Delete: del, Message: "rewrite\n", Author: who})
	}); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *fixture) read(path string) []byte {
	fx.t.Helper()
	data, err := fx.ws.Git.ReadFile(fx.base(), path)
	if err != nil {
		fx.t.Fatal(err)
	}
	return data
}
