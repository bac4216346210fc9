package dedupe

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/csvio"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/dedupe/evaluate"
	"github.com/crmops/crmops/internal/detect/detecttest"
)

// datasetDir holds the labelled public data sets (../shared/datasets from
// the repository root); CRMOPS_DATASETS overrides it.
func datasetDir(tb testing.TB) string {
	if d := os.Getenv("CRMOPS_DATASETS"); d != "" {
		return d
	}
	d, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "shared", "datasets"))
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// datasets are the labelled sets with the only settings each gets: a field
// mapping for the columns it has beyond the standard properties.
var datasets = []struct {
	name, object, settings string
}{
	// FEBRL persons: ssn is an id number; address2 is a second address line.
	{"febrl1", "contacts", "objects: [contacts]\ncontacts:\n  identifiers: [ssn]\n  fields: {address2: address}"},
	// Chicago early-childhood sites: standard company fields only.
	{"dedupe_csv_example", "companies", "objects: [companies]"},
}

// loadDataset imports NAME.csv into a new embedded CRM, as crmops crm
// import does, and reads NAME.truth.csv.
func loadDataset(tb testing.TB, name, object string) (*sqlite.DB, evaluate.Truth) {
	tb.Helper()
	dir := datasetDir(tb)
	f, err := os.Open(filepath.Join(dir, name+".csv"))
	if os.IsNotExist(err) {
		tb.Skipf("data set %s not found in %s (set CRMOPS_DATASETS)", name, dir)
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, _, err := csvio.ReadAll(f, name+".csv", csvio.ReadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "crm.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, _, err := db.Upsert(tb.Context(), object, recs, "import"); err != nil {
		tb.Fatal(err)
	}
	tf, err := os.Open(filepath.Join(dir, name+".truth.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer tf.Close()
	truth, err := evaluate.ReadTruth(name+".truth.csv", tf)
	if err != nil {
		tb.Fatal(err)
	}
	return db, truth
}

func mergesOf(changes []batch.Change) []evaluate.Merge {
	var out []evaluate.Merge
	for _, c := range changes {
		if c.Op == batch.OpMerge {
			out = append(out, evaluate.Merge{Survivor: c.Record, Loser: c.MergeFrom})
		}
	}
	return out
}

// BenchmarkDatasets runs the detector with its defaults and each set's
// field mapping over the labelled data sets and reports pairwise and
// cluster precision, recall and F1 against their truth.
//
//	go test ./internal/detect/dedupe/ -run '^$' -bench Datasets -benchtime 1x
func BenchmarkDatasets(b *testing.B) {
	for _, ds := range datasets {
		b.Run(ds.name, func(b *testing.B) {
			db, truth := loadDataset(b, ds.name, ds.object)
			det := detecttest.MustDetector(b, Name, New, ds.settings).(*Detector)
			var res *detect.Result
			var rep *Report
			for b.Loop() {
				var err error
				res, rep, err = det.Run(b.Context(), detect.Env{CRM: crm.Connector(db), Progress: detect.NoProgress{}})
				if err != nil {
					b.Fatal(err)
				}
			}
			s, err := evaluate.Score(truth, mergesOf(res.Changes))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(s.Precision, "precision")
			b.ReportMetric(s.Recall, "recall")
			b.ReportMetric(s.F1, "F1")
			b.ReportMetric(s.ClusterF1, "cluster-F1")
			b.Logf("%s: %s", ds.name, s)
			for _, r := range rep.Rules {
				b.Logf("  %s", r)
			}
			for _, m := range rep.Models {
				fmt.Fprintf(os.Stderr, "  model %s: %d records, %d candidates, prior %.1f, lambda %.3f, %d EM iterations (converged %v)\n", m.Object, m.Records, m.Candidates, m.Prior, m.Lambda, m.Iterations, m.Converged)
				for _, w := range m.Weights {
					fmt.Fprintf(os.Stderr, "    %s\n", w)
				}
			}
			if os.Getenv("CRMOPS_DATASET_ERRORS") != "" {
				logErrors(truth, res.Changes)
				l, edges, err := det.link(b.Context(), detect.Env{CRM: crm.Connector(db), Progress: detect.NoProgress{}}, ds.object, &detect.Result{}, &Report{})
				if err != nil {
					b.Fatal(err)
				}
				logMisses(l, edges, truth, res.Changes)
			}
		})
	}
}

// logErrors prints wrong merges and some missed pairs to stderr, for
// looking at by eye (benchmark logs are cut short).
func logErrors(truth evaluate.Truth, changes []batch.Change) {
	wrong := 0
	for _, c := range changes {
		if c.Op == batch.OpMerge && truth[c.Record] != truth[c.MergeFrom] {
			wrong++
			if wrong <= 40 {
				fmt.Fprintf(os.Stderr, "wrong %s <- %s (%.2f): %s\n   %v\n   %v\n", c.Record, c.MergeFrom, c.Confidence, c.Reason, c.SurvivorSnapshot, c.Snapshot)
			}
		}
	}
}

// logMisses prints, for every true cluster the merges split, its parts and
// the waterfall of the closest pair across two parts, to stderr.
func logMisses(l *linker, edges []edge, truth evaluate.Truth, changes []batch.Change) {
	index := map[string]int{}
	for i := range l.t.len() {
		id := l.t.id(int32(i))
		index[id] = i
	}
	uf := newUnionFind(l.t.len())
	for _, c := range changes {
		if c.Op == batch.OpMerge {
			uf.union(int32(index[c.Record]), int32(index[c.MergeFrom]))
		}
	}
	clusters := map[string][]int{}
	for i := range l.t.len() {
		id := l.t.id(int32(i))
		clusters[truth[id]] = append(clusters[truth[id]], i)
	}
	names := slices.Sorted(maps.Keys(clusters))
	missed := 0
	for _, cl := range names {
		ms := clusters[cl]
		parts := map[int32][]int{}
		for _, m := range ms {
			r := uf.find(int32(m))
			parts[r] = append(parts[r], m)
		}
		if len(parts) < 2 {
			continue
		}
		lost := len(ms) * (len(ms) - 1) / 2
		for _, p := range parts {
			lost -= len(p) * (len(p) - 1) / 2
		}
		missed += lost
		fmt.Fprintf(os.Stderr, "cluster %s: %d records in %d parts, %d pairs missed\n", cl, len(ms), len(parts), lost)
		for _, r := range slices.Sorted(maps.Keys(parts)) {
			fmt.Fprintf(os.Stderr, "  part:\n")
			for _, m := range parts[r] {
				var vals []string
				for _, c := range l.t.cols {
					if v := c.str(m); v != "" {
						vals = append(vals, c.field+"="+v)
					}
				}
				fmt.Fprintf(os.Stderr, "    %s %s\n", l.t.id(int32(m)), strings.Join(vals, " | "))
			}
		}
		bi, bj, bw := -1, -1, math.Inf(-1)
		for _, i := range ms {
			for _, j := range ms {
				if uf.find(int32(i)) < uf.find(int32(j)) {
					p := l.t.pattern(l.md.comps, i, j)
					if w := l.md.score(l.t, p, i, j); w > bw {
						bi, bj, bw = i, j, w
					}
				}
			}
		}
		linked := 0
		for _, e := range edges {
			if truth[l.t.id(e.a)] == cl && truth[l.t.id(e.b)] == cl && uf.find(e.a) != uf.find(e.b) {
				linked++
			}
		}
		fmt.Fprintf(os.Stderr, "  %d accepted pairs across parts (not merged by grouping)\n", linked)
		fmt.Fprintf(os.Stderr, "  closest %s / %s: %s\n", l.t.id(int32(bi)), l.t.id(int32(bj)), l.explain(bi, bj))
	}
	fmt.Fprintf(os.Stderr, "%d true pairs missed\n", missed)
}
