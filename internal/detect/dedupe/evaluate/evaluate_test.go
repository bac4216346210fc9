package evaluate

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestScoreByHand(t *testing.T) {
	// True clusters: {1,2,3} {4,5} {6}: 3 + 1 = 4 true pairs, 3 clusters.
	truth, err := ReadTruth("truth.csv", strings.NewReader("cluster,id\nA,1\nA,2\nA,3\nB,4\nB,5\nC,6\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Predicted groups: {1,2} {3} {4,5,6}: pairs 1-2 (right), 4-5 (right),
	// 4-6 and 5-6 (wrong): 2 of 4 predicted pairs correct, 2 of 4 true found.
	s, err := Score(truth, []Merge{{"1", "2"}, {"4", "5"}, {"5", "6"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.PredictedPairs != 4 || s.CorrectPairs != 2 || s.TruePairs != 4 || !near(s.Precision, 0.5) || !near(s.Recall, 0.5) || !near(s.F1, 0.5) {
		t.Errorf("pairwise %+v", s)
	}
	// Groups {1,2} {3} {4,5,6}: none equals a true cluster exactly.
	if s.PredictedGroups != 3 || s.TrueClusters != 3 || s.ExactGroups != 0 || s.ClusterF1 != 0 {
		t.Errorf("cluster %+v", s)
	}

	// A perfect prediction, merges chained through a loser.
	s, _ = Score(truth, []Merge{{"1", "2"}, {"2", "3"}, {"5", "4"}})
	if !near(s.F1, 1) || !near(s.ClusterF1, 1) || s.ExactGroups != 3 {
		t.Errorf("perfect %+v", s)
	}
	// Nothing merged: no predicted pairs (precision 1), recall 0; the
	// singleton cluster {6} is right, so cluster precision 1/6, recall 1/3.
	s, _ = Score(truth, nil)
	if !near(s.Precision, 1) || s.Recall != 0 || s.F1 != 0 || !near(s.ClusterPrecision, 1.0/6) || !near(s.ClusterRecall, 1.0/3) {
		t.Errorf("nothing %+v", s)
	}
}

func TestTruthErrors(t *testing.T) {
	for in, want := range map[string]string{
		"id,group\n1,a\n":        "t.csv:1: the header needs columns id and cluster",
		"id,cluster\n1,a\n1,b\n": `t.csv:3: id "1" is listed twice`,
		"id,cluster\n1,\n":       "t.csv:2: empty id or cluster",
	} {
		if _, err := ReadTruth("t.csv", strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	truth, _ := ReadTruth("t.csv", strings.NewReader("id,cluster\n1,a\n"))
	if _, err := Score(truth, []Merge{{"1", "9"}}); err == nil || !strings.Contains(err.Error(), `record "9" is not in the truth`) {
		t.Errorf("unknown id: %v", err)
	}
}
