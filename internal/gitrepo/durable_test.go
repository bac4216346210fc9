package gitrepo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A process killed in the middle of moving main leaves the ref moved, a
// torn file and the journal: the next Open must finish the checkout.
func TestOpenFinishesACheckoutAKillInterrupted(t *testing.T) {
	tests := []struct {
		name      string
		refMoved  bool
		wantFile  string
		wantIndex func(a, b Hash) Hash
	}{
		{"after the ref moved, the new content is written", true, "b\n", func(a, b Hash) Hash { return b }},
		{"before the ref moved, the old content is restored", false, "a\n", func(a, b Hash) Hash { return a }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newForge(t)
			r := f.repo
			a := commit(t, r, ZeroHash, 1, map[string]string{"proposals/x.yaml": "a\n", "keep.txt": "k\n"})
			b := commit(t, r, a, 2, map[string]string{"proposals/x.yaml": "b\n"})
			if err := r.AdvanceBranch("main", ZeroHash, a); err != nil {
				t.Fatal(err)
			}
			// Simulate the kill: journal written, maybe the ref moved, file torn.
			gitDir := filepath.Join(r.Dir(), ".git")
			if err := os.WriteFile(filepath.Join(gitDir, journalName), []byte(a.String()+" "+b.String()+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.refMoved {
				if err := r.SetRef(BranchRef("main"), b); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(r.Dir(), "proposals/x.yaml"), nil, 0o644); err != nil {
				t.Fatal(err)
			}

			r2, err := Open(r.Dir())
			if err != nil {
				t.Fatalf("Open after the kill: %v", err)
			}
			got, _ := os.ReadFile(filepath.Join(r2.Dir(), "proposals/x.yaml"))
			if string(got) != tt.wantFile {
				t.Errorf("proposals/x.yaml = %q, want %q", got, tt.wantFile)
			}
			if _, err := os.Stat(filepath.Join(gitDir, journalName)); err == nil {
				t.Error("journal left behind")
			}
			wt, err := r2.Git().Worktree()
			if err != nil {
				t.Fatal(err)
			}
			st, err := wt.Status()
			if err != nil {
				t.Fatal(err)
			}
			if !st.IsClean() {
				t.Errorf("work tree not clean after recovery:\n%s", st)
			}
		})
	}
}

func TestRefWritesLeaveNothingBesideTheRef(t *testing.T) {
	f := newForge(t)
	h := commit(t, f.repo, ZeroHash, 1, map[string]string{"a": "a"})
	for i := 0; i < 20; i++ {
		if err := f.repo.SetRef("refs/remotes/origin/main", h); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(f.repo.Dir(), ".git", "refs", "remotes", "origin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "main" {
			t.Errorf("unexpected file beside the ref: %s", e.Name())
		}
	}
	// An empty temporary file a kill left behind in .git is not a ref.
	if err := os.WriteFile(filepath.Join(f.repo.Dir(), ".git", "crmops-tmp-123"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	refs, err := f.repo.Refs("refs/")
	if err != nil {
		t.Fatalf("listing refs with a leftover temporary file: %v", err)
	}
	for name := range refs {
		if strings.Contains(name, "tmp") {
			t.Errorf("a temporary file was read as ref %s", name)
		}
	}
}
