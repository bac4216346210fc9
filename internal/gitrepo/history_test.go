package gitrepo

import (
	"reflect"
	"testing"
)

// history builds main: root -> m1 (merge of p1) -> r1 (receipt), with p1 a
// proposal branched from root, and p2 a proposal branched from m1 and never
// merged.
type history struct {
	root, p1, m1, r1, p2 Hash
}

func buildHistory(t *testing.T, r *Repo) history {
	t.Helper()
	var h history
	h.root = commit(t, r, ZeroHash, 0, map[string]string{"crmops.yaml": "1"})
	h.p1 = commit(t, r, h.root, 1, map[string]string{"proposals/p1.yaml": "p1"})
	m1, err := r.CommitTree(CommitOptions{Base: h.p1, Parents: []Hash{h.root, h.p1}, Message: "Merge p1\n", Author: who(2)})
	if err != nil {
		t.Fatal(err)
	}
	h.m1 = m1
	h.r1 = commit(t, r, h.m1, 3, map[string]string{"proposals/p1.receipt.yaml": "ok"})
	h.p2 = commit(t, r, h.m1, 4, map[string]string{"proposals/p2.yaml": "p2"})
	return h
}

func TestIsAncestor(t *testing.T) {
	f := newForge(t)
	h := buildHistory(t, f.repo)
	tests := []struct {
		name string
		a, b Hash
		want bool
	}{
		{"a commit is its own ancestor", h.r1, h.r1, true},
		{"the root is an ancestor of the tip", h.root, h.r1, true},
		{"a merged proposal is an ancestor through the second parent", h.p1, h.r1, true},
		{"the tip is not an ancestor of its parent", h.r1, h.m1, false},
		{"an unmerged proposal is not an ancestor of main", h.p2, h.r1, false},
		{"main is not an ancestor of a proposal branched before it", h.r1, h.p2, false},
		{"the branch point is an ancestor of the proposal", h.m1, h.p2, true},
		{"the empty history precedes every commit", ZeroHash, h.root, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.repo.IsAncestor(tt.a, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("IsAncestor = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLog(t *testing.T) {
	f := newForge(t)
	h := buildHistory(t, f.repo)
	collect := func(firstParent bool, limit int) []Hash {
		var out []Hash
		err := f.repo.Log(h.r1, firstParent, func(c *Commit) error {
			out = append(out, c.Hash)
			if len(out) == limit {
				return ErrStop
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Run("first-parent history is main's own commits", func(t *testing.T) {
		if got, want := collect(true, 0), []Hash{h.r1, h.m1, h.root}; !reflect.DeepEqual(got, want) {
			t.Errorf("log = %v, want %v", got, want)
		}
	})
	t.Run("full history includes merged proposals, newest first", func(t *testing.T) {
		if got, want := collect(false, 0), []Hash{h.r1, h.m1, h.p1, h.root}; !reflect.DeepEqual(got, want) {
			t.Errorf("log = %v, want %v", got, want)
		}
	})
	t.Run("ErrStop ends the walk without an error", func(t *testing.T) {
		if got, want := collect(false, 2), []Hash{h.r1, h.m1}; !reflect.DeepEqual(got, want) {
			t.Errorf("log = %v, want %v", got, want)
		}
	})
}
