package simulate_test

import (
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/simulate"
)

var update = flag.Bool("update", false, "rewrite golden files")

var defaultPolicy = mustLoad(policy.Default)

func mustLoad(text string) *policy.Policy {
	p, err := policy.Load(policy.Path, []byte(text))
	if err != nil {
		panic(err)
	}
	return p
}

// edited returns policy.Default with old replaced by new.
func edited(t testing.TB, old, new string) *policy.Policy {
	t.Helper()
	if !strings.Contains(policy.Default, old) {
		t.Fatalf("the default policy lacks %q", old)
	}
	return mustLoad(strings.Replace(policy.Default, old, new, 1))
}

// expect counts what a replay must report, from the seeded truth and a
// predicate that says what the proposed policy decides, written by hand.
type expect struct {
	changes, batches int
	byKind           map[string]int
}

func count(h history, since time.Time, in func(seededChange) bool) expect {
	e := expect{byKind: map[string]int{}}
	batches := map[string]bool{}
	for _, s := range h.changes {
		if s.was == "" || s.created.Before(since) || !in(s) {
			continue
		}
		e.changes++
		e.byKind[s.c.Kind]++
		batches[s.batch] = true
	}
	e.batches = len(batches)
	return e
}

func checkGroup(t *testing.T, name string, g simulate.Group, want expect, byRule map[string]int) {
	t.Helper()
	if g.Changes != want.changes || g.Batches != want.batches {
		t.Errorf("%s: %d changes in %d batches, want %d in %d", name, g.Changes, g.Batches, want.changes, want.batches)
	}
	if !maps.Equal(g.ByKind, want.byKind) {
		t.Errorf("%s: by kind %v, want %v", name, g.ByKind, want.byKind)
	}
	if byRule != nil && !maps.Equal(g.ByRule, byRule) {
		t.Errorf("%s: by rule %v, want %v", name, g.ByRule, byRule)
	}
	if len(g.Examples) != min(want.changes, simulate.MaxExamples) {
		t.Errorf("%s: %d examples", name, len(g.Examples))
	}
	for i := 1; i < len(g.Examples); i++ {
		if g.Examples[i].Created > g.Examples[i-1].Created {
			t.Errorf("%s: examples not newest first: %s after %s", name, g.Examples[i].Created, g.Examples[i-1].Created)
		}
	}
}

func TestReplayingHistory(t *testing.T) {
	dir := t.TempDir()
	h := seedHistory(t, dir, 400, 8, realistic, 1)
	if h.rejectedOff == 0 || h.batches < 300 {
		t.Fatalf("seeded %d batches and %d rejections", h.batches, h.rejectedOff)
	}
	has := func(was string) bool {
		for _, s := range h.changes {
			if s.was == was {
				return true
			}
		}
		return false
	}
	for _, was := range []string{simulate.WasAuto, simulate.WasApproved, simulate.WasPending, simulate.WasRefused} {
		if !has(was) {
			t.Fatalf("the seeded history has no %s batch", was)
		}
	}
	isAuto := func(s seededChange) bool { return s.was == simulate.WasAuto }
	approved := func(s seededChange) bool { return s.was == simulate.WasApproved }

	t.Run("under the policy that decided it, nothing would be decided differently", func(t *testing.T) {
		rep, err := simulate.Run(dir, defaultPolicy, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Differs() {
			t.Errorf("differences under the same policy: %+v %+v %+v", rep.ToReview, rep.ToAuto, rep.Denied)
		}
		if rep.Batches != h.batches || rep.NotReplayed != h.rejectedOff || len(rep.Errors) != 0 {
			t.Errorf("%d batches, %d not replayed, errors %v; want %d, %d", rep.Batches, rep.NotReplayed, rep.Errors, h.batches, h.rejectedOff)
		}
		if got, want := rep.Decisions[simulate.WasAuto]["auto"], count(h, time.Time{}, isAuto).changes; got != want || len(rep.Decisions[simulate.WasAuto]) != 1 {
			t.Errorf("auto changes still auto: %d (%v), want %d", got, rep.Decisions[simulate.WasAuto], want)
		}
		if got, want := rep.Decisions[simulate.WasApproved]["review"], count(h, time.Time{}, approved).changes; got != want {
			t.Errorf("approved changes still review: %d, want %d", got, want)
		}
		total := 0
		for _, row := range rep.Decisions {
			for _, n := range row {
				total += n
			}
		}
		if total != rep.Changes || rep.Changes != count(h, time.Time{}, func(seededChange) bool { return true }).changes {
			t.Errorf("decisions add up to %d of %d changes", total, rep.Changes)
		}
	})

	t.Run("a higher confidence threshold sends the auto fills below it to review", func(t *testing.T) {
		pol := edited(t, "min_confidence: 0.9}", "min_confidence: 0.95}")
		rep, err := simulate.Run(dir, pol, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := count(h, time.Time{}, func(s seededChange) bool {
			return isAuto(s) && s.c.Kind == "enrichment" && s.c.Before == "" && s.c.Confidence < 0.95
		})
		if want.changes == 0 {
			t.Fatal("the history has no fill between 0.9 and 0.95")
		}
		checkGroup(t, "to review", rep.ToReview, want, map[string]int{policy.RuleDefault: want.changes})
		checkGroup(t, "to auto", rep.ToAuto, expect{byKind: map[string]int{}}, nil)
		for _, e := range rep.ToReview.Examples {
			if e.Was != "auto" || e.Now != "review" || e.Rule != "default" || !slices.Equal(e.WasRules, []string{"enrichment-fill-empty"}) || e.Confidence >= 0.95 {
				t.Errorf("example %+v", e)
			}
		}
	})

	t.Run("making risky emails auto would auto-apply what people approved and rejected", func(t *testing.T) {
		pol := edited(t, "    when: {kind: email_verification}\n    decision: review", "    when: {kind: email_verification}\n    decision: auto")
		rep, err := simulate.Run(dir, pol, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := count(h, time.Time{}, func(s seededChange) bool {
			return (approved(s) || s.was == simulate.WasRejected) && s.c.Kind == "email_verification" && !s.limit
		})
		if want.changes == 0 {
			t.Fatal("the history has no approved risky email")
		}
		checkGroup(t, "to auto", rep.ToAuto, want, map[string]int{"email-risky": want.changes})
		for _, e := range rep.ToAuto.Examples {
			if !slices.Equal(e.Approvers, []string{"alice"}) || e.Was != "approved" {
				t.Errorf("example %+v", e)
			}
		}
	})

	t.Run("a batch held for review by a run limit stays in review", func(t *testing.T) {
		want := count(h, time.Time{}, func(s seededChange) bool { return s.limit && approved(s) })
		if want.changes == 0 {
			t.Fatal("the history has no limit-held batch")
		}
		rep, err := simulate.Run(dir, defaultPolicy, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.ToAuto.Changes != 0 {
			t.Errorf("%d limit-held changes would be auto", rep.ToAuto.Changes)
		}
	})

	t.Run("denying a source reports every change from it, whatever happened to the change", func(t *testing.T) {
		pol := edited(t, "rules:                           # first match wins\n",
			"rules:\n  - name: no-zerobounce\n    when: {source: zerobounce}\n    decision: deny\n")
		rep, err := simulate.Run(dir, pol, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := count(h, time.Time{}, func(s seededChange) bool { return s.c.Source == "zerobounce" })
		checkGroup(t, "denied", rep.Denied, want, map[string]int{"no-zerobounce": want.changes})
		var was, wantWas []string
		for w, row := range rep.Decisions {
			if row["deny"] > 0 {
				was = append(was, w)
			}
		}
		for _, s := range h.changes {
			if s.c.Source == "zerobounce" && s.was != "" && !slices.Contains(wantWas, s.was) {
				wantWas = append(wantWas, s.was)
			}
		}
		slices.Sort(was)
		slices.Sort(wantWas)
		if !slices.Equal(was, wantWas) || len(was) < 2 {
			t.Errorf("denied changes were %v before, want %v", was, wantWas)
		}
	})

	t.Run("since leaves out the batches created before it", func(t *testing.T) {
		since := start.Add(200 * 37 * time.Minute)
		pol := edited(t, "min_confidence: 0.9}", "min_confidence: 0.95}")
		rep, err := simulate.Run(dir, pol, simulate.Options{Since: since})
		if err != nil {
			t.Fatal(err)
		}
		all := count(h, since, func(seededChange) bool { return true })
		if rep.Changes != all.changes || rep.Batches != all.batches || rep.Since != since.Format(time.RFC3339) {
			t.Errorf("%d changes in %d batches since %s, want %d in %d", rep.Changes, rep.Batches, rep.Since, all.changes, all.batches)
		}
		want := count(h, since, func(s seededChange) bool {
			return isAuto(s) && s.c.Kind == "enrichment" && s.c.Before == "" && s.c.Confidence < 0.95
		})
		checkGroup(t, "to review", rep.ToReview, want, nil)
		if rep.NotReplayed >= h.rejectedOff || rep.NotReplayed == 0 {
			t.Errorf("%d rejections counted since, of %d", rep.NotReplayed, h.rejectedOff)
		}
	})
}

func TestFilesThatCannotBeReadAreReportedAndTheRestReplayed(t *testing.T) {
	dir := t.TempDir()
	h := seedHistory(t, dir, 60, 5, applied, 2)
	var batches []string
	err := filepath.WalkDir(filepath.Join(dir, "proposals"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && batch.IsBatchFile(p) {
			batches = append(batches, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(batches)
	edit := func(path, old, new string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), old) {
			t.Fatalf("%s lacks %q", path, old)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit(batches[3], "    source: ", "    sauce: x\n    source: ")
	edit(batch.ReceiptPath(batches[7]), "  mode: ", "  mode: maybe\n  x: ")

	rep, err := simulate.Run(dir, defaultPolicy, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rel := func(p string) string { r, _ := filepath.Rel(dir, p); return filepath.ToSlash(r) }
	want := []simulate.FileError{
		{File: rel(batches[3]), Error: rel(batches[3]) + ":" + lineOf(t, batches[3], "sauce") + ": changes[0].sauce: unknown key (known keys: after, before, confidence, field, follows, id, kind, merge_from, object, op, reason, record, snapshot, source, survivor_snapshot, trigger)"},
		{File: rel(batch.ReceiptPath(batches[7])), Error: rel(batch.ReceiptPath(batches[7])) + ":6: approval.x: unknown key (known keys: approvers, mode, policy, proposer, pull_request, refused, rules)"},
	}
	slices.SortFunc(want, func(a, b simulate.FileError) int { return strings.Compare(a.File, b.File) })
	if !slices.Equal(rep.Errors, want) {
		t.Errorf("errors:\n%v\nwant\n%v", rep.Errors, want)
	}
	if rep.Batches != h.batches-2 {
		t.Errorf("%d batches replayed, want %d", rep.Batches, h.batches-2)
	}
}

// lineOf is the line number of the first line of file containing s.
func lineOf(t *testing.T, file, s string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("%s lacks %q", file, s)
	return ""
}

func TestAnEmptyRepositoryHasNothingToReplay(t *testing.T) {
	rep, err := simulate.Run(t.TempDir(), defaultPolicy, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Batches != 0 || rep.Differs() {
		t.Errorf("report %+v", rep)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"errors":[]`, `"examples":[]`, `"by_rule":{}`, `"decisions":{}`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("JSON lacks %s: %s", key, data)
		}
	}
}

func TestMarkdown(t *testing.T) {
	dir := t.TempDir()
	seedHistory(t, dir, 120, 4, realistic, 3)
	text := policy.Default
	for _, r := range [][2]string{
		{"min_confidence: 0.9}", "min_confidence: 0.95}"},
		{"    when: {kind: email_verification}\n    decision: review", "    when: {kind: email_verification}\n    decision: auto"},
	} {
		if !strings.Contains(text, r[0]) {
			t.Fatalf("the default policy lacks %q", r[0])
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	pol := mustLoad(text)
	pol.Rules = append(pol.Rules, policy.Rule{Name: "no-custom", When: policy.Match{Kind: policy.OneOrMany{"custom"}}, Decision: policy.Deny})
	pol.Rules = append(pol.Rules[len(pol.Rules)-1:], pol.Rules[:len(pol.Rules)-1]...)
	rep, err := simulate.Run(dir, pol, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep.Policy = "policies/default.yaml"
	got := rep.Markdown()
	golden := filepath.Join("testdata", "simulate.golden.md")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("Markdown differs from %s (run with -update to accept):\n%s", golden, got)
	}

	t.Run("values from batch files cannot inject markup or mentions", func(t *testing.T) {
		dir := t.TempDir()
		b := &batch.Batch{Version: 1, ID: "evil", Created: start, Detector: "x", Changes: []batch.Change{{
			ID: "c1", Kind: "custom", Object: "contacts", Record: "1", Op: "set", Field: "f",
			Before: "", After: "`@alice` | <img src=x> [link](http://x)\nnext line", Source: "x", Confidence: 1,
		}}}
		writeYAML(t, filepath.Join(dir, "proposals", "evil.yaml"), b)
		rep, err := simulate.Run(dir, pol, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		md := rep.Markdown()
		line := ""
		for _, l := range strings.Split(md, "\n") {
			if strings.Contains(l, "evil") {
				line = l
			}
		}
		if line == "" || strings.Count(line, "|") != strings.Count(line, `\|`)+5 {
			t.Errorf("the example breaks its table row: %s", line)
		}
		parts := strings.Split(line, "`")
		for i := 0; i < len(parts); i += 2 { // outside code spans
			if strings.ContainsAny(parts[i], "@<[") {
				t.Errorf("markup outside a code span: %q in %s", parts[i], line)
			}
		}
	})
}
