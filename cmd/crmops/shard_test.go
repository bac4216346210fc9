package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/forge/local"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/sample"
	"github.com/crmops/crmops/internal/workspace"
)

// shardRepo is a change-request repository holding the quickstart's
// sample CRM exports, detector inputs and settings, with its CRM at an
// absolute path (committed), so that every clone of it reads one CRM as CI
// runners read one HubSpot account.
type shardRepo struct {
	t      *testing.T
	root   string
	dir    string // the checkout init made
	remote string
}

func newShardRepo(t *testing.T) *shardRepo {
	t.Helper()
	ctx := t.Context()
	root := t.TempDir()
	r := &shardRepo{t: t, root: root, dir: filepath.Join(root, "a")}
	at := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	ws, err := workspace.Init(ctx, r.dir, at, workspace.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.remote = filepath.Join(r.dir, workspace.LocalRemote)
	data := sample.Generate(sample.Options{Seed: 1})
	inputs, err := data.Inputs()
	if err != nil {
		t.Fatal(err)
	}
	crmPath := filepath.Join(root, "shared", "crm.db")
	cfg := readFile(t, ws.Path(config.File))
	edited := strings.Replace(cfg, "detectors: {}\n", inputs.Detectors, 1)
	edited = strings.Replace(edited, "path: .crmops/crm.db", "path: "+strconv.Quote(crmPath), 1)
	if !strings.Contains(edited, crmPath) || !strings.Contains(edited, "dedupe:") {
		t.Fatalf("crmops.yaml has no crm.path or detectors: to set:\n%s", cfg)
	}
	files := inputs.Files
	files[config.File] = []byte(edited)
	who := gitrepo.Identity{Name: "crmops", Email: workspace.LoginEmail("crmops"), When: at}
	if _, err := ws.CommitToBase(ctx, files, "sample CRM inputs and detectors\n", who); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(crmPath, sqlite.Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for object, recs := range map[string][]crm.Record{"contacts": data.Contacts, "companies": data.Companies} {
		if _, _, err := db.Upsert(ctx, object, recs, "seed"); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// clone makes another checkout of the repository, as a CI job's.
func (r *shardRepo) clone(name string) string {
	r.t.Helper()
	dir := filepath.Join(r.root, name)
	if _, err := gitrepo.Clone(r.t.Context(), r.remote, dir, nil); err != nil {
		r.t.Fatal(err)
	}
	return dir
}

// crmops runs one command line in dir with a clock of its own (ticking a
// second per reading), so that runs can go side by side.
func crmopsIn(dir string, argv ...string) result {
	var out, errOut bytes.Buffer
	f := newFactory(strings.NewReader(""), &out, &errOut, func(string) string { return "" })
	clock := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	f.now = func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Second); return clock }
	code := run(context.Background(), f, append([]string{"--repo", dir}, argv...))
	return result{out: out.String(), err: errOut.String(), code: code}
}

func mustDetect(t *testing.T, dir string, argv ...string) []proposed {
	t.Helper()
	r := crmopsIn(dir, append([]string{"detect", "--json"}, argv...)...)
	if r.code != 0 {
		t.Fatalf("crmops detect %s in %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), filepath.Base(dir), r.code, r.out, r.err)
	}
	var ps []proposed
	if err := json.Unmarshal([]byte(r.out), &ps); err != nil {
		t.Fatalf("crmops detect %s: not JSON: %v\n%s", strings.Join(argv, " "), err, r.out)
	}
	return ps
}

// untimed is a batch id without the time it was made: the rest names the
// detector and hashes the batch's changes.
func untimed(id string) string {
	_, rest, _ := strings.Cut(id, "-")
	return rest
}

// proposals reads every batch the repository holds, merged or open, as
// state and batch file with its time and id left out, by untimed id.
func (r *shardRepo) proposals() map[string]string {
	r.t.Helper()
	ctx := r.t.Context()
	dir := r.clone("read-" + strconv.Itoa(int(time.Now().UnixNano())))
	ws, err := workspace.Open(dir, "")
	if err != nil {
		r.t.Fatal(err)
	}
	base, err := ws.Sync(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]string{}
	add := func(state, path string, content []byte) {
		b, err := batch.Decode(path, content)
		if err != nil {
			r.t.Fatal(err)
		}
		id := untimed(b.ID)
		b.ID, b.Created = "", time.Time{}
		text, err := batch.Encode(b)
		if err != nil {
			r.t.Fatal(err)
		}
		if _, dup := out[id]; dup {
			r.t.Errorf("two batches %s", id)
		}
		out[id] = state + "\n" + string(text)
	}
	files, err := ws.Files(base, batch.Dir)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, f := range files {
		if !batch.IsBatchFile(f) {
			continue
		}
		data, err := ws.Git.ReadFile(base, f)
		if err != nil {
			r.t.Fatal(err)
		}
		add("merged", f, data)
	}
	opens, err := local.New(ws).List(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, o := range opens {
		add("open", o.Path, o.Content)
	}
	return out
}

type shardOutcome struct{ Decision, State string }

func outcomes(t *testing.T, ps []proposed) map[string]shardOutcome {
	t.Helper()
	out := map[string]shardOutcome{}
	for _, p := range ps {
		out[untimed(p.Batch)] = shardOutcome{p.Decision, p.State}
	}
	return out
}

// Two shards of a detect run, side by side in two checkouts of one
// repository, propose between them the very batches one unsharded run
// proposes in an identical repository: the same ids (their time aside),
// changes, titles, decisions and states, auto batches merged and review
// batches open. Each shard proposes only changes to the objects it owns.
func TestShardsProposeWhatOneRunDoes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs detection three times on the sample CRM")
	}
	one := newShardRepo(t)
	whole := mustDetect(t, one.dir)

	two := newShardRepo(t)
	dirs := []string{two.clone("shard1"), two.clone("shard2")}
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i, dir := range dirs {
		wg.Go(func() { results[i] = crmopsIn(dir, "detect", "--json", "--shard", strconv.Itoa(i+1)+"/2") })
	}
	wg.Wait()
	var sharded []proposed
	owns := []string{"shard 1/2 owns companies (of companies, contacts)", "shard 2/2 owns contacts (of companies, contacts)"}
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("shard %d/2: exit %d\nstdout: %s\nstderr: %s", i+1, r.code, r.out, r.err)
		}
		if !strings.Contains(r.err, owns[i]) {
			t.Errorf("shard %d/2 does not say what it owns (%q):\n%s", i+1, owns[i], r.err)
		}
		var ps []proposed
		if err := json.Unmarshal([]byte(r.out), &ps); err != nil {
			t.Fatalf("shard %d/2: not JSON: %v\n%s", i+1, err, r.out)
		}
		if len(ps) == 0 {
			t.Errorf("shard %d/2 proposed nothing", i+1)
		}
		sharded = append(sharded, ps...)
	}

	if len(whole) < 5 {
		t.Fatalf("the unsharded run proposed %d batches; the sample should give every kind: %+v", len(whole), whole)
	}
	if got, want := outcomes(t, sharded), outcomes(t, whole); !maps.Equal(got, want) {
		t.Errorf("the shards proposed\n  %v\none run\n  %v", got, want)
	}
	got, want := two.proposals(), one.proposals()
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if got[id] != want[id] {
			t.Errorf("batch %s: the shards' repository holds\n%s\none run's\n%s", id, got[id], want[id])
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("the shards proposed batch %s, one run did not:\n%s", id, got[id])
		}
	}
	if len(want) != len(whole) {
		t.Errorf("one run's repository holds %d batches, it proposed %d", len(want), len(whole))
	}
	objects := map[string]bool{}
	for _, text := range want {
		for _, line := range strings.Split(text, "\n") {
			if o, ok := strings.CutPrefix(strings.TrimSpace(line), "object: "); ok {
				objects[o] = true
			}
		}
	}
	if !objects["contacts"] || !objects["companies"] {
		t.Errorf("the proposals touch %v; the test needs contacts and companies", objects)
	}
}

// --shard takes I/N with 1 <= I <= N, else exit 2 with a line saying so; a
// shard owning no object (more shards than objects) proposes nothing.
func TestShardFlag(t *testing.T) {
	r := newShardRepo(t)
	for _, bad := range []string{"0/2", "3/2", "2", "a/b", ""} {
		res := crmopsIn(r.dir, "detect", "--shard", bad)
		first, _, _ := strings.Cut(res.err, "\n")
		if res.code != 2 || !strings.Contains(first, "--shard") || !strings.Contains(first, "want I/N") {
			t.Errorf("detect --shard %q: exit %d, stderr %q; want exit 2 and one line saying I/N", bad, res.code, res.err)
		}
	}
	if res := crmopsIn(r.dir, "detect", "--shard", "1/2", "--truth", "contacts=truth.csv"); res.code != 2 || !strings.Contains(res.err, "--truth scores a whole run") {
		t.Errorf("detect --shard with --truth: exit %d, stderr %q; want exit 2", res.code, res.err)
	}
	if ps := mustDetect(t, r.dir, "--shard", "3/3"); len(ps) != 0 {
		t.Errorf("shard 3/3 of two objects proposed %+v", ps)
	}
	res := crmopsIn(r.dir, "detect", "--shard", "3/3", "--dry-run")
	if !strings.Contains(res.err, "shard 3/3 owns no object (of companies, contacts)") {
		t.Errorf("shard 3/3 does not say it owns nothing:\n%s", res.err)
	}
}
