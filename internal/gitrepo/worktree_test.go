package gitrepo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	git "github.com/go-git/go-git/v5"
)

// assertClean checks with go-git's own status, which compares the index with
// the work tree and HEAD's tree, that nothing but the listed untracked files
// differs.
func assertClean(t *testing.T, r *Repo, untracked ...string) {
	t.Helper()
	g, err := git.PlainOpen(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	wt, err := g.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	st, err := wt.Status()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, p := range untracked {
		allowed[p] = true
	}
	for p, s := range st {
		if s.Staging == git.Untracked && allowed[p] {
			continue
		}
		t.Errorf("status %s: staging %c worktree %c", p, s.Staging, s.Worktree)
	}
}

func readDisk(t *testing.T, r *Repo, p string) (string, bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.Dir(), filepath.FromSlash(p)))
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data), true
}

func TestAdvanceBranch(t *testing.T) {
	f := newForge(t)
	r := f.repo
	c1 := commit(t, r, ZeroHash, 0, map[string]string{
		"crmops.yaml":           "version: 1\n",
		"policies/default.yaml": "default: review\n",
		"proposals/old/a.yaml":  "a\n",
		"proposals/b.yaml":      "b\n",
		"bin/tool":              "#!/bin/sh\n",
	})

	t.Run("the first advance checks out every file", func(t *testing.T) {
		if err := r.AdvanceBranch("main", ZeroHash, c1); err != nil {
			t.Fatal(err)
		}
		if got, _ := readDisk(t, r, "proposals/old/a.yaml"); got != "a\n" {
			t.Errorf("a.yaml on disk = %q", got)
		}
		assertClean(t, r)
	})

	if err := os.WriteFile(filepath.Join(r.Dir(), "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	c2 := commit(t, r, c1, 1,
		map[string]string{"proposals/b.yaml": "b2\n", "proposals/2026-11/c.yaml": "c\n", "proposals/c.receipt.yaml": "r\n"},
		"proposals/old/a.yaml")

	t.Run("advancing writes, replaces and removes only the changed files", func(t *testing.T) {
		if err := r.AdvanceBranch("main", c1, c2); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]string{
			"proposals/b.yaml":         "b2\n",
			"proposals/2026-11/c.yaml": "c\n",
			"proposals/c.receipt.yaml": "r\n",
			"notes.txt":                "mine",
			"crmops.yaml":              "version: 1\n",
		} {
			if got, ok := readDisk(t, r, p); !ok || got != want {
				t.Errorf("%s on disk = %q (exists %v), want %q", p, got, ok, want)
			}
		}
		if _, ok := readDisk(t, r, "proposals/old/a.yaml"); ok {
			t.Error("deleted a.yaml is still on disk")
		}
		if _, err := os.Stat(filepath.Join(r.Dir(), "proposals/old")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("emptied directory proposals/old remains: %v", err)
		}
		if got := mustRef(t, r, "refs/heads/main"); got != c2 {
			t.Errorf("main = %s, want %s", got, c2)
		}
		assertClean(t, r, "notes.txt")
	})

	t.Run("a branch not at the expected commit is not moved", func(t *testing.T) {
		err := r.AdvanceBranch("main", c1, c2)
		if !errors.Is(err, ErrRefMoved) {
			t.Errorf("err = %v, want ErrRefMoved", err)
		}
	})

	t.Run("a local edit to a file that would change stops the move", func(t *testing.T) {
		c3 := commit(t, r, c2, 2, map[string]string{"proposals/b.yaml": "b3\n"})
		if err := os.WriteFile(filepath.Join(r.Dir(), "proposals/b.yaml"), []byte("edited by hand\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := r.AdvanceBranch("main", c2, c3)
		if !errors.Is(err, ErrDirtyWorktree) {
			t.Fatalf("err = %v, want ErrDirtyWorktree", err)
		}
		if got := mustRef(t, r, "refs/heads/main"); got != c2 {
			t.Errorf("main moved to %s despite the refusal", got)
		}
		if got, _ := readDisk(t, r, "proposals/b.yaml"); got != "edited by hand\n" {
			t.Errorf("the local edit was overwritten: %q", got)
		}
		// Undo the edit; the same move now succeeds.
		if err := os.WriteFile(filepath.Join(r.Dir(), "proposals/b.yaml"), []byte("b2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := r.AdvanceBranch("main", c2, c3); err != nil {
			t.Fatal(err)
		}
		assertClean(t, r, "notes.txt")
	})

	t.Run("an untracked file where a new one would go stops the move", func(t *testing.T) {
		tip := mustRef(t, r, "refs/heads/main")
		next := commit(t, r, tip, 3, map[string]string{"notes.txt": "from git"})
		err := r.AdvanceBranch("main", tip, next)
		if !errors.Is(err, ErrDirtyWorktree) {
			t.Errorf("err = %v, want ErrDirtyWorktree", err)
		}
	})

	t.Run("advancing another branch touches no files", func(t *testing.T) {
		tip := mustRef(t, r, "refs/heads/main")
		p := commit(t, r, tip, 4, map[string]string{"proposals/x.yaml": "x"})
		if err := r.AdvanceBranch("crmops/x", ZeroHash, p); err != nil {
			t.Fatal(err)
		}
		if _, ok := readDisk(t, r, "proposals/x.yaml"); ok {
			t.Error("a proposal branch's file appeared in main's work tree")
		}
		assertClean(t, r, "notes.txt")
	})
}

func TestAdvanceBranchAfterPullingFromTheRemote(t *testing.T) {
	ctx := context.Background()
	f := newForge(t)
	base := f.pushMain(t, map[string]string{"crmops.yaml": "1"})
	clone, err := Clone(ctx, f.remote, filepath.Join(t.TempDir(), "clone"), nil)
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, clone)

	receipt := commit(t, f.repo, base, 1, map[string]string{"proposals/a.receipt.yaml": "ok"})
	if err := f.repo.Push(ctx, "origin", receipt.String()+":refs/heads/main"); err != nil {
		t.Fatal(err)
	}
	if err := clone.Fetch(ctx, "origin"); err != nil {
		t.Fatal(err)
	}
	if err := clone.AdvanceBranch("main", base, mustRef(t, clone, "refs/remotes/origin/main")); err != nil {
		t.Fatal(err)
	}
	if got, _ := readDisk(t, clone, "proposals/a.receipt.yaml"); got != "ok" {
		t.Errorf("receipt on disk = %q", got)
	}
	assertClean(t, clone)
}

func TestCheckout(t *testing.T) {
	t.Run("checking out from an unborn HEAD writes the whole tree", func(t *testing.T) {
		r, err := Init(filepath.Join(t.TempDir(), "fresh"), "")
		if err != nil {
			t.Fatal(err)
		}
		c := commit(t, r, ZeroHash, 0, map[string]string{"a": "1", "dir/b": "2"})
		if err := r.SetRef(BranchRef("feature"), c); err != nil {
			t.Fatal(err)
		}
		if err := r.Checkout("feature"); err != nil {
			t.Fatal(err)
		}
		if got, _ := readDisk(t, r, "dir/b"); got != "2" {
			t.Errorf("dir/b = %q", got)
		}
		assertClean(t, r)
	})

	t.Run("switching branches writes only the difference", func(t *testing.T) {
		r := newForge(t).repo
		c1 := commit(t, r, ZeroHash, 0, map[string]string{"a": "1", "dir/b": "2"})
		if err := r.AdvanceBranch("main", ZeroHash, c1); err != nil {
			t.Fatal(err)
		}
		c2 := commit(t, r, c1, 1, map[string]string{"dir/c": "3"}, "a")
		if err := r.SetRef(BranchRef("crmops/x"), c2); err != nil {
			t.Fatal(err)
		}
		if err := r.Checkout("crmops/x"); err != nil {
			t.Fatal(err)
		}
		if _, ok := readDisk(t, r, "a"); ok {
			t.Error("a survived the switch")
		}
		if got, _ := readDisk(t, r, "dir/c"); got != "3" {
			t.Errorf("dir/c = %q", got)
		}
		if head, _ := r.headBranch(); head != "crmops/x" {
			t.Errorf("HEAD on %q", head)
		}
		assertClean(t, r)
	})
}
