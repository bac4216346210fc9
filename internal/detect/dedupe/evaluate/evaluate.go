// Package evaluate scores a deduplication against labelled truth: which
// records are really one person or company.
//
// The truth is a CSV file with a header naming the columns id and cluster:
// records sharing a cluster are one entity, and every record of the data set
// is listed (a record alone in its cluster has no duplicate). A prediction
// is a list of merges (survivor, loser); records joined by merges, directly
// or through others, form one predicted group, and every record of the truth
// that no merge names is a group of its own.
//
// Two families of figures:
//
//   - Pairwise. A pair of records is predicted when both are in one
//     predicted group and true when both are in one true cluster.
//     Precision = correct predicted pairs / predicted pairs, recall =
//     correct predicted pairs / true pairs, F1 their harmonic mean. A group
//     of k records holds k(k-1)/2 pairs, so large groups weigh most; this
//     is the figure the record-linkage literature (and Splink) reports.
//   - Cluster (exact match). A predicted group is correct when a true
//     cluster has exactly its records. Precision = correct groups /
//     predicted groups, recall = correct groups / true clusters, F1 their
//     harmonic mean. Groups and clusters of one record count too, so a
//     detector that merges nothing scores the share of records without
//     duplicates, not zero.
//
// An empty denominator gives 1 for precision and recall (nothing claimed,
// nothing wrong; nothing to find, nothing missed).
package evaluate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Truth maps each record id to its true cluster.
type Truth map[string]string

// ReadTruth reads a truth CSV (columns id and cluster, in any order,
// named by the header). name is used in errors.
func ReadTruth(name string, r io.Reader) (Truth, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: read header: %w", name, err)
	}
	idCol, clCol := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) {
		case "id":
			idCol = i
		case "cluster":
			clCol = i
		}
	}
	if idCol < 0 || clCol < 0 {
		return nil, fmt.Errorf("%s:1: the header needs columns id and cluster, has %q", name, header)
	}
	t := Truth{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if len(rec) <= max(idCol, clCol) {
			return nil, fmt.Errorf("%s:%d: %d columns, want at least %d", name, line, len(rec), max(idCol, clCol)+1)
		}
		id, cl := strings.TrimSpace(rec[idCol]), strings.TrimSpace(rec[clCol])
		if id == "" || cl == "" {
			return nil, fmt.Errorf("%s:%d: empty id or cluster", name, line)
		}
		if _, dup := t[id]; dup {
			return nil, fmt.Errorf("%s:%d: id %q is listed twice", name, line, id)
		}
		t[id] = cl
	}
	return t, nil
}

// Merge is one predicted merge of Loser into Survivor.
type Merge struct{ Survivor, Loser string }

// Scores are the figures of one prediction (see the package comment).
type Scores struct {
	Precision, Recall, F1                      float64 // pairwise
	TruePairs, PredictedPairs, CorrectPairs    int
	ClusterPrecision, ClusterRecall, ClusterF1 float64 // exact-match clusters
	TrueClusters, PredictedGroups, ExactGroups int
}

func (s Scores) String() string {
	return fmt.Sprintf("pairwise P=%.3f R=%.3f F1=%.3f (%d of %d predicted pairs correct, %d true); cluster P=%.3f R=%.3f F1=%.3f",
		s.Precision, s.Recall, s.F1, s.CorrectPairs, s.PredictedPairs, s.TruePairs, s.ClusterPrecision, s.ClusterRecall, s.ClusterF1)
}

// Score compares merges with the truth. A merge naming a record the truth
// does not list is an error: the two do not describe one data set.
func Score(truth Truth, merges []Merge) (Scores, error) {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	for _, m := range merges {
		for _, id := range []string{m.Survivor, m.Loser} {
			if _, ok := truth[id]; !ok {
				return Scores{}, fmt.Errorf("evaluate: merge %s <- %s: record %q is not in the truth", m.Survivor, m.Loser, id)
			}
		}
		a, b := find(m.Survivor), find(m.Loser)
		if a != b {
			if a > b {
				a, b = b, a
			}
			parent[b] = a
		}
	}
	ids := make([]string, 0, len(truth))
	for id := range truth {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	predicted := map[string][]string{}
	trueCl := map[string][]string{}
	type cell struct{ pred, truth string }
	both := map[cell]int{}
	for _, id := range ids {
		g := find(id)
		predicted[g] = append(predicted[g], id)
		trueCl[truth[id]] = append(trueCl[truth[id]], id)
		both[cell{g, truth[id]}]++
	}
	pairs := func(n int) int { return n * (n - 1) / 2 }
	var s Scores
	for _, ms := range predicted {
		s.PredictedPairs += pairs(len(ms))
	}
	for _, ms := range trueCl {
		s.TruePairs += pairs(len(ms))
	}
	for _, n := range both {
		s.CorrectPairs += pairs(n)
	}
	s.Precision, s.Recall, s.F1 = prf(s.CorrectPairs, s.PredictedPairs, s.TruePairs)

	s.PredictedGroups, s.TrueClusters = len(predicted), len(trueCl)
	for g, ms := range predicted {
		// Exact when the group's records are all of one cluster and that
		// cluster has no other record.
		if n := both[cell{g, truth[ms[0]]}]; n == len(ms) && len(trueCl[truth[ms[0]]]) == n {
			s.ExactGroups++
		}
	}
	s.ClusterPrecision, s.ClusterRecall, s.ClusterF1 = prf(s.ExactGroups, s.PredictedGroups, s.TrueClusters)
	return s, nil
}

func prf(correct, predicted, real int) (p, r, f float64) {
	p, r = 1, 1
	if predicted > 0 {
		p = float64(correct) / float64(predicted)
	}
	if real > 0 {
		r = float64(correct) / float64(real)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}
