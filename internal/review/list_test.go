package review

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
)

// listed is what review list --all shows of each batch.
func listed(t *testing.T, g *gate) []string {
	t.Helper()
	items, err := g.s.List(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprintf("%s %s %s %d %s", it.Batch, it.State, it.Decision, it.Changes, it.Title))
	}
	return out
}

// history puts n batches over two months on the base branch, every other
// one with its receipt, and returns what a listing must show.
func history(t *testing.T, g *gate, n int) (want []string, paths []string) {
	t.Helper()
	files := map[string][]byte{}
	for i := 0; i < n; i++ {
		at := time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 6 * time.Hour)
		var changes []batch.Change
		for c := 0; c <= i%3; c++ {
			ch := gateAuto
			ch.ID, ch.Record = fmt.Sprintf("c%d", c+1), fmt.Sprint(2000+i*10+c)
			changes = append(changes, ch)
		}
		b := &batch.Batch{Version: 1, ID: batch.NewID(at, "enrichment", changes), Created: at, Detector: "enrichment", Title: fmt.Sprintf("batch %d", i), Changes: changes}
		data, err := batch.Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		p := batch.Path(b.ID)
		files[p], paths = data, append(paths, p)
		state, mode := "merged", ""
		if i%2 == 0 {
			state, mode = "applied", []string{batch.ModeAuto, batch.ModeApproved}[i%4/2]
			rc, err := batch.Encode(&batch.Receipt{Version: 1, Batch: b.ID, ExecutedBy: "crmops", Approval: batch.Approval{Mode: mode}})
			if err != nil {
				t.Fatal(err)
			}
			files[batch.ReceiptPath(p)] = rc
		}
		want = append(want, fmt.Sprintf("%s %s %s %d %s", b.ID, state, mode, len(changes), b.Title))
	}
	g.toBase(files)
	slices.Sort(want)
	return want, paths
}

// The listing is read from the base commit's objects, several at a time,
// loose or packed, and from a cache of earlier listings: each way it shows
// the same, and never what the work tree says instead of history.
func TestListAllShowsWhatTheBaseCommitHolds(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	want, paths := history(t, g, 150)
	cache := g.ws.CacheDir("review-list")
	check := func(how string) {
		t.Helper()
		if got := listed(t, g); !slices.Equal(got, want) {
			t.Fatalf("%s: listed\n %q\nwant\n %q", how, got, want)
		}
	}
	check("loose objects")
	if names, err := os.ReadDir(cache); err != nil || len(names) != 2 {
		t.Fatalf("cache of two month folders: %d entries, %v", len(names), err)
	}
	check("cached")

	// A batch deleted and another edited in the work tree are still on
	// the base branch as they were.
	if err := os.Remove(filepath.Join(g.ws.Dir, paths[0])); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(g.ws.Dir, paths[1]), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("cached, work tree edited")
	if err := os.RemoveAll(cache); err != nil {
		t.Fatal(err)
	}
	check("work tree edited")

	// An unreadable cache entry is computed again.
	names, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range names {
		if err := os.WriteFile(filepath.Join(cache, e.Name()), []byte(`[{"changes":99}]`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check("cache garbled")

	if err := g.ws.Git.Repack(); err != nil {
		t.Fatal(err)
	}
	if loose, _ := filepath.Glob(filepath.Join(g.ws.Dir, ".git", "objects", "??", "*")); len(loose) > 0 {
		t.Fatalf("%d loose objects after repacking", len(loose))
	}
	if err := os.RemoveAll(cache); err != nil {
		t.Fatal(err)
	}
	check("packed objects")
}

// A batch changed on the base branch after a listing is listed as it is
// now, and the folder's old cache entry is dropped.
func TestListAllFollowsAnEditOnTheBase(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	want, paths := history(t, g, 80)
	listed(t, g)
	b := &batch.Batch{Version: 1, ID: batch.IDFromPath(paths[3]), Created: gateT0, Detector: "enrichment", Title: "edited on main", Changes: []batch.Change{gateAuto}}
	data, err := batch.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	g.toBase(map[string][]byte{paths[3]: data})
	for i, w := range want {
		if w[:len(b.ID)] == b.ID {
			want[i] = b.ID + " merged  1 edited on main"
		}
	}
	if got := listed(t, g); !slices.Equal(got, want) {
		t.Fatalf("listed\n %q\nwant\n %q", got, want)
	}
	if names, err := os.ReadDir(g.ws.CacheDir("review-list")); err != nil || len(names) != 2 {
		t.Errorf("cache after the edit: %d entries, want 2 (one per month), %v", len(names), err)
	}
}
