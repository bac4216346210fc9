package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/workspace"
)

// TestStressConcurrentCommands runs, in one checkout and in two clones of
// one remote, 8 propose, 4 merge and 2 apply processes at once, several
// rounds in a row (project issue 10). After every round, and once more at
// the end: every proposed change is in exactly one batch, no two branches
// point at one commit, every merged batch has exactly one receipt and each
// change was written to the CRM exactly once, git fsck is clean on the
// remote and every checkout, no checkout has tracked changes, and the next
// command works.
func TestStressConcurrentCommands(t *testing.T) {
	bin := buildBinary(t)
	cfg := stressConfig{rounds: 3, proposers: 8, mergers: 4, appliers: 2, perPropose: 3}
	if testing.Short() {
		cfg.rounds, cfg.perPropose = 2, 2
	}
	for _, clones := range []int{1, 2} {
		name := "one checkout"
		if clones == 2 {
			name = "two clones"
		}
		t.Run(name, func(t *testing.T) {
			s := newStress(t, bin, clones, cfg)
			for r := 1; r <= cfg.rounds; r++ {
				start := time.Now()
				s.round(r)
				ran := time.Now()
				s.settle()
				s.verify(fmt.Sprintf("after round %d", r))
				t.Logf("round %d: %s, checks %s", r, ran.Sub(start).Round(time.Millisecond), time.Since(ran).Round(time.Millisecond))
				if t.Failed() {
					return // later rounds would only repeat the report
				}
			}
			s.finish()
		})
	}
}

type stressConfig struct {
	rounds, proposers, mergers, appliers, perPropose int
}

// stressChange is one change the test proposed, and what the CRM must end
// up holding because of it.
type stressChange struct {
	record, field, before, after string
	review                       bool
}

func (c stressChange) key() string { return "contacts/" + c.record + "/" + c.field + "=" + c.after }

func (c stressChange) jsonLine() string {
	return fmt.Sprintf(`{"kind":"enrichment","object":"contacts","record":%q,"op":"set","field":%q,"before":%q,"after":%q,"source":"clay","confidence":0.97,"trigger":"import","reason":"stress"}`+"\n",
		c.record, c.field, c.before, c.after)
}

type stress struct {
	t       *testing.T
	bin     string
	cfg     stressConfig
	root    string
	remote  string
	dirs    []string // the checkouts: the first is where init ran
	crmPath string
	env     []string

	nextRecord int
	records    int
	changes    map[string]stressChange // by key
	batches    map[string]int          // batch id -> changes, as propose reported
}

func newStress(t *testing.T, bin string, clones int, cfg stressConfig) *stress {
	t.Helper()
	root := t.TempDir()
	s := &stress{
		t: t, bin: bin, cfg: cfg, root: root,
		changes: map[string]stressChange{}, batches: map[string]int{},
		records: cfg.rounds * (cfg.proposers*cfg.perPropose + cfg.mergers),
	}
	// Nothing of the developer's git configuration may change what git
	// does here; commits made with the system git need an identity.
	s.env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+filepath.Join(root, "gitconfig"),
		"GIT_AUTHOR_NAME=stress", "GIT_AUTHOR_EMAIL=stress@example.com",
		"GIT_COMMITTER_NAME=stress", "GIT_COMMITTER_EMAIL=stress@example.com",
		"CRMOPS_LOGIN=", "GITHUB_ACTOR=")
	a := filepath.Join(root, "a")
	s.must(root, "", "init", a)
	s.dirs = []string{a}
	s.remote = filepath.Join(a, workspace.LocalRemote)
	s.crmPath = filepath.Join(a, ".crmops", "crm.db")
	if clones == 2 {
		// Both clones apply to one CRM, as two CI runners would to one
		// HubSpot account: crm.path is an absolute path, committed.
		s.crmPath = filepath.Join(root, "shared", "crm.db")
		if err := os.MkdirAll(filepath.Dir(s.crmPath), 0o755); err != nil {
			t.Fatal(err)
		}
		cfgPath := filepath.Join(a, "crmops.yaml")
		data, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(data), "path: .crmops/crm.db", "path: "+strconv.Quote(s.crmPath), 1)
		if edited == string(data) {
			t.Fatalf("crmops.yaml has no crm.path to change:\n%s", data)
		}
		if err := os.WriteFile(cfgPath, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		s.git(a, "commit", "-q", "-m", "one CRM for both clones", "crmops.yaml")
		s.git(a, "push", "-q", "origin", "main")
		b := filepath.Join(root, "b")
		s.git(root, "clone", "-q", s.remote, b)
		s.dirs = append(s.dirs, b)
	}

	var csv strings.Builder
	csv.WriteString("id,email,jobtitle,city\n")
	for i := 0; i < s.records; i++ {
		fmt.Fprintf(&csv, "%d,p%d@example.com,,Old %d\n", 5000+i, i, i)
	}
	csvPath := filepath.Join(root, "contacts.csv")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s.must(a, "", "crm", "import", "contacts", csvPath)
	for _, d := range s.dirs {
		s.must(d, "", "review", "list")
	}
	return s
}

// procResult is one finished crmops (or git) process.
type procResult struct {
	dir  string
	argv []string
	out  string
	err  string
	code int
	took time.Duration
}

func (p procResult) String() string {
	return fmt.Sprintf("crmops %s (in %s, exit %d, %s)\nstderr: %s\nstdout: %s",
		strings.Join(p.argv, " "), filepath.Base(p.dir), p.code, p.took.Round(time.Millisecond), strings.TrimSpace(p.err), strings.TrimSpace(p.out))
}

func (s *stress) command(dir, stdin string, argv ...string) *exec.Cmd {
	cmd := exec.Command(s.bin, append([]string{"--repo", dir}, argv...)...)
	cmd.Dir = dir
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

func finished(dir string, argv []string, start time.Time, out, errOut *bytes.Buffer, err error) procResult {
	r := procResult{dir: dir, argv: argv, out: out.String(), err: errOut.String(), took: time.Since(start)}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else {
			r.code = -1
			r.err += "\n(exec: " + err.Error() + ")"
		}
	}
	return r
}

func (s *stress) run(dir, stdin string, argv ...string) procResult {
	cmd := s.command(dir, stdin, argv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	return finished(dir, argv, start, &out, &errOut, err)
}

func (s *stress) must(dir, stdin string, argv ...string) string {
	s.t.Helper()
	r := s.run(dir, stdin, argv...)
	if r.code != 0 {
		s.t.Fatalf("setup: %s", r)
	}
	return r.out
}

// git runs the system git in dir and returns its stdout.
func (s *stress) git(dir string, argv ...string) string {
	s.t.Helper()
	out, err := s.gitOut(dir, "", argv...)
	if err != nil {
		s.t.Fatalf("git %s (in %s): %v", strings.Join(argv, " "), dir, err)
	}
	return out
}

func (s *stress) gitOut(dir, stdin string, argv ...string) (string, error) {
	cmd := exec.Command("git", argv...)
	cmd.Dir = dir
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%v\n%s%s", err, errOut.String(), out.String())
	}
	return out.String(), nil
}

func (s *stress) dir(i int) string { return s.dirs[i%len(s.dirs)] }

func (s *stress) newChange(field string, review bool) stressChange {
	if s.nextRecord >= s.records {
		s.t.Fatalf("out of records (%d)", s.records)
	}
	i := s.nextRecord
	s.nextRecord++
	c := stressChange{record: strconv.Itoa(5000 + i), field: field, review: review}
	if review {
		// An overwrite of a present value: review under the default policy.
		c.before, c.after = fmt.Sprintf("Old %d", i), fmt.Sprintf("New %d", i)
	} else {
		// A fill of an empty field at high confidence: auto.
		c.after = fmt.Sprintf("Title %d", i)
	}
	s.changes[c.key()] = c
	return c
}

// round prepares review proposals for the merges, then starts every
// process of the round at once and checks that each succeeded.
func (s *stress) round(r int) {
	t := s.t
	prep := time.Now()
	var toMerge []string
	for m := 0; m < s.cfg.mergers; m++ {
		c := s.newChange("city", true)
		var out []proposed
		raw := s.must(s.dir(m), c.jsonLine(), "propose", "--json", "--source", "stress")
		if err := json.Unmarshal([]byte(raw), &out); err != nil || len(out) != 1 || out[0].Decision != "review" || out[0].State != "open" {
			t.Fatalf("round %d: review proposal: want one open review batch, got %v\n%s", r, err, raw)
		}
		s.batches[out[0].Batch] = 1
		// Approved in the other clone, where there are two.
		s.must(s.dir(m+1), "", "review", "approve", out[0].Batch, "--as", "bob")
		toMerge = append(toMerge, out[0].Batch)
	}

	type job struct {
		kind  string
		dir   string
		stdin string
		argv  []string
		want  []stressChange
	}
	t.Logf("round %d: review proposals ready in %s", r, time.Since(prep).Round(time.Millisecond))
	var jobs []job
	for p := 0; p < s.cfg.proposers; p++ {
		var in strings.Builder
		var want []stressChange
		for k := 0; k < s.cfg.perPropose; k++ {
			c := s.newChange("jobtitle", false)
			in.WriteString(c.jsonLine())
			want = append(want, c)
		}
		jobs = append(jobs, job{kind: "propose", dir: s.dir(p), stdin: in.String(), argv: []string{"propose", "--json", "--source", "stress"}, want: want})
	}
	for m, id := range toMerge {
		jobs = append(jobs, job{kind: "merge", dir: s.dir(m), argv: []string{"merge", id, "--as", "alice"}})
	}
	for a := 0; a < s.cfg.appliers; a++ {
		jobs = append(jobs, job{kind: "apply", dir: s.dir(a), argv: []string{"apply"}})
	}

	results := make([]procResult, len(jobs))
	var ready, done sync.WaitGroup
	barrier := make(chan struct{})
	for i, j := range jobs {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			cmd := s.command(j.dir, j.stdin, j.argv...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			ready.Done()
			<-barrier
			start := time.Now()
			err := cmd.Run()
			results[i] = finished(j.dir, j.argv, start, &out, &errOut, err)
		}()
	}
	ready.Wait()
	close(barrier)
	done.Wait()

	slowest := map[string]time.Duration{}
	for i, j := range jobs {
		slowest[j.kind] = max(slowest[j.kind], results[i].took)
	}
	t.Logf("round %d: slowest propose %s, merge %s, apply %s", r,
		slowest["propose"].Round(time.Millisecond), slowest["merge"].Round(time.Millisecond), slowest["apply"].Round(time.Millisecond))
	for i, j := range jobs {
		res := results[i]
		if res.code != 0 {
			t.Errorf("round %d: %s", r, res)
			continue
		}
		switch j.kind {
		case "propose":
			var out []proposed
			if err := json.Unmarshal([]byte(res.out), &out); err != nil {
				t.Errorf("round %d: propose output is not JSON: %v\n%s", r, err, res)
				continue
			}
			n := 0
			for _, o := range out {
				n += o.Changes
				s.batches[o.Batch] = o.Changes
				if o.Decision != "auto" || o.State != "merged" {
					t.Errorf("round %d: propose: batch %s is %s/%s, want auto/merged (every auto batch merges at once)\n%s", r, o.Batch, o.Decision, o.State, res)
				}
			}
			if n != len(j.want) {
				t.Errorf("round %d: propose put %d of %d changes into batches\n%s", r, n, len(j.want), res)
			}
			if strings.Contains(res.err, "skipped") || strings.Contains(res.err, "denied") {
				t.Errorf("round %d: propose skipped or denied changes on records nothing else touches\n%s", r, res)
			}
		case "merge":
			if !strings.Contains(res.out, "Merged "+j.argv[1]+" (approved)") {
				t.Errorf("round %d: merge did not report the merge\n%s", r, res)
			}
		case "apply":
			if strings.TrimSpace(res.err) != "" {
				t.Logf("round %d: apply said on stderr: %s", r, strings.TrimSpace(res.err))
			}
		}
	}
}

// settle runs the next command in every checkout, then one apply, which
// executes whatever the round merged after its applies had looked.
func (s *stress) settle() {
	for _, d := range s.dirs {
		if r := s.run(d, "", "review", "list"); r.code != 0 {
			s.t.Errorf("the next command failed: %s", r)
		}
	}
	if r := s.run(s.dirs[0], "", "apply"); r.code != 0 {
		s.t.Errorf("settling apply failed: %s", r)
	}
}

// finish is the end of the test: one more apply in every checkout finds
// nothing to do, and the listing of every batch agrees with the facts.
func (s *stress) finish() {
	t := s.t
	for _, d := range s.dirs {
		r := s.run(d, "", "apply")
		if r.code != 0 || !strings.Contains(r.out, "Nothing to apply") {
			t.Errorf("final apply: want nothing to apply: %s", r)
		}
		r = s.run(d, "", "review", "list", "--all", "--json")
		if r.code != 0 {
			t.Errorf("final review list: %s", r)
			continue
		}
		var items []struct {
			Batch, Decision, State string
			Changes                int
		}
		if err := json.Unmarshal([]byte(r.out), &items); err != nil {
			t.Errorf("review list --all --json: %v\n%s", err, r.out)
			continue
		}
		seen := map[string]int{}
		for _, it := range items {
			seen[it.Batch]++
			want, ok := s.batches[it.Batch]
			switch {
			case !ok:
				t.Errorf("%s: review list shows batch %s that no propose reported", filepath.Base(d), it.Batch)
			case it.State != "applied" || it.Changes != want:
				t.Errorf("%s: review list: %s is %s with %d changes, want applied with %d", filepath.Base(d), it.Batch, it.State, it.Changes, want)
			}
		}
		for id := range s.batches {
			if seen[id] != 1 {
				t.Errorf("%s: review list shows batch %s %d times, want once", filepath.Base(d), id, seen[id])
			}
		}
	}
	s.verify("at the end")
}

// verify checks every invariant of a quiet repository.
func (s *stress) verify(when string) {
	t := s.t
	t.Helper()

	// Refs on the remote: no two branches at one commit; nothing left open.
	refs := s.git(s.remote, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
	byCommit := map[string][]string{}
	var open []string
	for _, line := range strings.Split(strings.TrimSpace(refs), "\n") {
		hash, name, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		byCommit[hash] = append(byCommit[hash], name)
		if strings.HasPrefix(name, "refs/heads/crmops/") {
			open = append(open, name)
		}
	}
	for hash, names := range byCommit {
		if len(names) > 1 {
			t.Errorf("%s: branches %s all point at %s", when, strings.Join(names, ", "), hash)
		}
	}

	// Every batch file, on main and on each open branch (its own file only).
	type located struct{ where, id string }
	var specs []string
	var locs []located
	mainFiles := s.git(s.remote, "ls-tree", "-r", "--name-only", "main", "--", batch.Dir)
	have := map[string]bool{}
	for _, f := range strings.Fields(mainFiles) {
		have[f] = true
	}
	var onMain []string
	for f := range have {
		if batch.IsBatchFile(f) {
			onMain = append(onMain, f)
			specs = append(specs, "main:"+f)
			locs = append(locs, located{"main", batch.IDFromPath(f)})
		}
	}
	sort.Strings(onMain)
	for _, ref := range open {
		id := strings.TrimPrefix(ref, "refs/heads/crmops/")
		t.Errorf("%s: proposal %s is still open after the round", when, id)
		specs = append(specs, ref+":"+batch.Path(id))
		locs = append(locs, located{ref, id})
	}
	blobs := s.catFiles(specs)
	count := map[string][]string{}
	batchChanges := map[string]*batch.Batch{}
	for i, data := range blobs {
		where := locs[i].where + ":" + locs[i].id
		if data == nil {
			t.Errorf("%s: %s: no batch file %s", when, where, specs[i])
			continue
		}
		b, err := batch.Decode(specs[i], data)
		if err != nil {
			t.Errorf("%s: %s: %v", when, where, err)
			continue
		}
		if locs[i].where == "main" {
			batchChanges[locs[i].id] = b
		}
		for _, c := range b.Changes {
			k := stressChange{record: c.Record, field: c.Field, after: c.After}.key()
			count[k] = append(count[k], where)
		}
	}
	for k, where := range count {
		if _, ok := s.changes[k]; !ok {
			t.Errorf("%s: change %s was never proposed, yet is in %s", when, k, strings.Join(where, ", "))
		}
	}
	for k := range s.changes {
		if n := len(count[k]); n != 1 {
			t.Errorf("%s: change %s is in %d batches (%s), want exactly one", when, k, n, strings.Join(count[k], ", "))
		}
	}
	for id := range s.batches {
		if batchChanges[id] == nil {
			t.Errorf("%s: batch %s, reported by propose, is not on main", when, id)
		}
	}

	// Every merged batch: one merge commit, one receipt commit, a receipt
	// saying each change was applied.
	merges, receipts := map[string]int{}, map[string]int{}
	hist := s.git(s.remote, "log", "--first-parent", "main", "--format=%p%x1f%(trailers:key=Crmops-Batch,valueonly,separator=%x2C)%x1f%(trailers:key=Crmops-Receipt,valueonly,separator=%x2C)%x1e")
	for _, rec := range strings.Split(hist, "\x1e") {
		parts := strings.Split(strings.TrimSpace(rec), "\x1f")
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		id := strings.TrimSpace(parts[1])
		switch {
		case strings.TrimSpace(parts[2]) != "":
			receipts[id]++
		case len(strings.Fields(parts[0])) == 2:
			merges[id]++
		}
	}
	var rspecs []string
	for _, f := range onMain {
		rspecs = append(rspecs, "main:"+batch.ReceiptPath(f))
	}
	rblobs := s.catFiles(rspecs)
	for i, f := range onMain {
		id := batch.IDFromPath(f)
		if merges[id] != 1 {
			t.Errorf("%s: batch %s has %d merge commits on main, want one", when, id, merges[id])
		}
		if receipts[id] != 1 {
			t.Errorf("%s: batch %s has %d receipt commits on main, want one (every merged batch runs once)", when, id, receipts[id])
		}
		if rblobs[i] == nil {
			t.Errorf("%s: merged batch %s has no receipt", when, id)
			continue
		}
		rc, err := batch.DecodeReceipt(rspecs[i], rblobs[i])
		if err != nil {
			t.Errorf("%s: receipt of %s: %v", when, id, err)
			continue
		}
		b := batchChanges[id]
		if b != nil && len(rc.Changes) != len(b.Changes) {
			t.Errorf("%s: receipt of %s holds %d results for %d changes", when, id, len(rc.Changes), len(b.Changes))
		}
		for _, c := range rc.Changes {
			if c.Status != batch.StatusApplied {
				t.Errorf("%s: receipt of %s: change %s is %s (%s), want applied: each change is executed by one apply", when, id, c.ID, c.Status, c.Error)
			}
		}
	}

	// The CRM: each change's value is there, written exactly once.
	s.checkCRM(when)

	// git itself: the remote and every checkout are sound and clean, and
	// every checkout's main is the remote's.
	remoteMain := strings.TrimSpace(s.git(s.remote, "rev-parse", "refs/heads/main"))
	for _, d := range append([]string{s.remote}, s.dirs...) {
		if out, err := s.gitOut(d, "", "fsck", "--full", "--no-dangling", "--no-progress"); err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("%s: git fsck in %s: %v\n%s", when, d, err, out)
		}
	}
	for _, d := range s.dirs {
		if st := s.git(d, "status", "--porcelain", "--untracked-files=no"); strings.TrimSpace(st) != "" {
			t.Errorf("%s: %s has tracked changes:\n%s", when, filepath.Base(d), st)
		}
		if r := s.run(d, "", "review", "list"); r.code != 0 {
			t.Errorf("%s: the next command failed: %s", when, r)
		}
		// That command synced: the checkout's main is the remote's.
		for _, ref := range []string{"refs/heads/main", "refs/remotes/origin/main"} {
			if h := strings.TrimSpace(s.git(d, "rev-parse", ref)); h != remoteMain {
				t.Errorf("%s: %s: %s is %s, the remote's main is %s", when, filepath.Base(d), ref, h, remoteMain)
			}
		}
	}
}

// checkCRM reads the embedded CRM: every change the test proposed holds
// its new value, and the CRM's history has exactly one write of it.
func (s *stress) checkCRM(when string) {
	t := s.t
	db, err := sqlite.Open(s.crmPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var ids []string
	for _, c := range s.changes {
		ids = append(ids, c.record)
	}
	recs, err := db.Get(ctx, "contacts", ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range s.changes {
		if got := recs[c.record].Fields[c.field]; got != c.after {
			t.Errorf("%s: contacts/%s %s is %q, want %q", when, c.record, c.field, got, c.after)
		}
		hist, err := db.History(ctx, "contacts", c.record)
		if err != nil {
			t.Fatal(err)
		}
		writes := 0
		for _, e := range hist {
			if e.Field == c.field && e.Source == "clay" {
				writes++
			}
		}
		if writes != 1 {
			t.Errorf("%s: contacts/%s %s written %d times, want exactly once: %+v", when, c.record, c.field, writes, hist)
		}
	}
	// And the last change through the command, as a user would look,
	// from the last checkout.
	last := strconv.Itoa(5000 + s.nextRecord - 1)
	for _, c := range s.changes {
		if c.record != last {
			continue
		}
		r := s.run(s.dirs[len(s.dirs)-1], "", "crm", "get", "contacts/"+c.record, "--json")
		var rec map[string]string
		if r.code != 0 || json.Unmarshal([]byte(r.out), &rec) != nil || rec[c.field] != c.after {
			t.Errorf("%s: crm get contacts/%s: want %s %q: %s", when, c.record, c.field, c.after, r)
		}
	}
}

// catFiles reads "rev:path" objects from the remote in one git process;
// a missing object is nil.
func (s *stress) catFiles(specs []string) [][]byte {
	s.t.Helper()
	out := make([][]byte, len(specs))
	if len(specs) == 0 {
		return out
	}
	cmd := exec.Command("git", "cat-file", "--batch")
	cmd.Dir = s.remote
	cmd.Env = s.env
	cmd.Stdin = strings.NewReader(strings.Join(specs, "\n") + "\n")
	var raw, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &raw, &errOut
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("git cat-file: %v\n%s", err, errOut.String())
	}
	rd := bufio.NewReader(&raw)
	for i := range specs {
		header, err := rd.ReadString('\n')
		if err != nil {
			s.t.Fatalf("git cat-file: %v", err)
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			continue // "<spec> missing"
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			s.t.Fatalf("git cat-file header %q", header)
		}
		data := make([]byte, size+1) // and the newline after it
		if _, err := io.ReadFull(rd, data); err != nil {
			s.t.Fatalf("git cat-file: %v", err)
		}
		out[i] = data[:size]
	}
	return out
}
