package gitrepo

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func TestPushedBranchCanBeReadFromAClone(t *testing.T) {
	ctx := context.Background()
	f := newForge(t)
	main := f.pushMain(t, map[string]string{"crmops.yaml": "version: 1\n"})

	proposal := commit(t, f.repo, main, 1, map[string]string{"proposals/b1.yaml": "batch: b1\n"})
	if err := f.repo.SetRef(BranchRef("crmops/b1"), proposal); err != nil {
		t.Fatal(err)
	}
	if err := f.repo.Push(ctx, "origin", "refs/heads/crmops/b1:refs/heads/crmops/b1"); err != nil {
		t.Fatal(err)
	}

	t.Run("the remote lists the branch at the pushed commit", func(t *testing.T) {
		refs, err := f.repo.RemoteRefs(ctx, "origin", "refs/heads/crmops/")
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != 1 || refs["refs/heads/crmops/b1"] != proposal {
			t.Errorf("remote refs = %v, want only crmops/b1 at %s", refs, proposal)
		}
	})

	t.Run("the push updates the remote-tracking ref", func(t *testing.T) {
		if got := mustRef(t, f.repo, "refs/remotes/origin/crmops/b1"); got != proposal {
			t.Errorf("tracking ref = %s, want %s", got, proposal)
		}
	})

	t.Run("a clone reads the batch file from the branch", func(t *testing.T) {
		clone, err := Clone(ctx, f.remote, filepath.Join(t.TempDir(), "clone"), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := clone.ReadFile(mustRef(t, clone, "refs/remotes/origin/crmops/b1"), "proposals/b1.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "batch: b1\n" {
			t.Errorf("batch file = %q", got)
		}
		if got := mustRef(t, clone, "HEAD"); got != main {
			t.Errorf("clone HEAD = %s, want main %s", got, main)
		}
	})

	t.Run("pushing the same thing again is not an error", func(t *testing.T) {
		if err := f.repo.Push(ctx, "origin", "refs/heads/crmops/b1:refs/heads/crmops/b1"); err != nil {
			t.Errorf("second push: %v", err)
		}
	})

	t.Run("git agrees the remote is complete and consistent", func(t *testing.T) {
		// go-git's own reading of the remote: every object of the pushed
		// history must be there.
		bare, err := git.PlainOpen(f.remote)
		if err != nil {
			t.Fatal(err)
		}
		c, err := bare.CommitObject(proposal)
		if err != nil {
			t.Fatal(err)
		}
		files, err := c.Files()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := files.ForEach(func(*object.File) error { n++; return nil }); err != nil {
			t.Fatalf("walking the pushed tree: %v", err)
		}
		if n != 2 {
			t.Errorf("pushed tree has %d files, want 2", n)
		}
	})
}

func TestPushRefusals(t *testing.T) {
	ctx := context.Background()

	t.Run("a non-fast-forward push is rejected so the caller can fetch and retry", func(t *testing.T) {
		f := newForge(t)
		base := f.pushMain(t, map[string]string{"a": "1"})
		other, err := Clone(ctx, f.remote, filepath.Join(t.TempDir(), "other"), nil)
		if err != nil {
			t.Fatal(err)
		}
		theirs := commit(t, other, base, 1, map[string]string{"b": "theirs"})
		if err := other.Push(ctx, "origin", theirs.String()+":refs/heads/main"); err != nil {
			t.Fatal(err)
		}

		ours := commit(t, f.repo, base, 2, map[string]string{"b": "ours"})
		err = f.repo.Push(ctx, "origin", ours.String()+":refs/heads/main")
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("push = %v, want ErrRejected", err)
		}

		// The documented recovery: fetch, rebuild on the new tip, push.
		if err := f.repo.Fetch(ctx, "origin"); err != nil {
			t.Fatal(err)
		}
		tip := mustRef(t, f.repo, "refs/remotes/origin/main")
		if tip != theirs {
			t.Fatalf("fetched main = %s, want %s", tip, theirs)
		}
		retry := commit(t, f.repo, tip, 3, map[string]string{"c": "ours"})
		if err := f.repo.Push(ctx, "origin", retry.String()+":refs/heads/main"); err != nil {
			t.Errorf("retry after fetch: %v", err)
		}
	})

	t.Run("a remote that refuses a forced rewrite reports ErrRejected", func(t *testing.T) {
		f := newForge(t)
		base := f.pushMain(t, map[string]string{"a": "1"})
		next := commit(t, f.repo, base, 1, map[string]string{"a": "2"})
		if err := f.repo.Push(ctx, "origin", next.String()+":refs/heads/main"); err != nil {
			t.Fatal(err)
		}
		denyNonFastForwards(t, f.remote)

		rewrite := commit(t, f.repo, base, 2, map[string]string{"a": "3"})
		err := f.repo.Push(ctx, "origin", "+"+rewrite.String()+":refs/heads/main")
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("forced push = %v, want ErrRejected from the remote", err)
		}
		refs, err := f.repo.RemoteRefs(ctx, "origin", "refs/heads/main")
		if err != nil {
			t.Fatal(err)
		}
		if refs["refs/heads/main"] != next {
			t.Errorf("remote main = %s, want unchanged %s", refs["refs/heads/main"], next)
		}
	})

	t.Run("a forced push replaces a proposal branch", func(t *testing.T) {
		f := newForge(t)
		base := f.pushMain(t, map[string]string{"a": "1"})
		v1 := commit(t, f.repo, base, 1, map[string]string{"proposals/x.yaml": "v1"})
		v2 := commit(t, f.repo, base, 2, map[string]string{"proposals/x.yaml": "v2"})
		if err := f.repo.Push(ctx, "origin", v1.String()+":refs/heads/crmops/x"); err != nil {
			t.Fatal(err)
		}
		if err := f.repo.Push(ctx, "origin", "+"+v2.String()+":refs/heads/crmops/x"); err != nil {
			t.Fatal(err)
		}
		refs, err := f.repo.RemoteRefs(ctx, "origin", "refs/heads/crmops/")
		if err != nil {
			t.Fatal(err)
		}
		if refs["refs/heads/crmops/x"] != v2 {
			t.Errorf("crmops/x = %s, want %s", refs["refs/heads/crmops/x"], v2)
		}
	})
}

func TestPushDeletesARemoteBranch(t *testing.T) {
	ctx := context.Background()
	f := newForge(t)
	base := f.pushMain(t, map[string]string{"a": "1"})
	p := commit(t, f.repo, base, 1, map[string]string{"proposals/x.yaml": "x"})
	if err := f.repo.Push(ctx, "origin", p.String()+":refs/heads/crmops/x"); err != nil {
		t.Fatal(err)
	}

	if err := f.repo.Push(ctx, "origin", ":refs/heads/crmops/x"); err != nil {
		t.Fatalf("delete: %v", err)
	}

	refs, err := f.repo.RemoteRefs(ctx, "origin", "refs/heads/")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := refs["refs/heads/crmops/x"]; ok {
		t.Error("crmops/x still on the remote")
	}
	if refs["refs/heads/main"] != base {
		t.Errorf("main = %s, want untouched %s", refs["refs/heads/main"], base)
	}
	if _, err := f.repo.Ref("refs/remotes/origin/crmops/x"); !errors.Is(err, ErrRefNotFound) {
		t.Errorf("tracking ref after delete: %v, want ErrRefNotFound", err)
	}
	if err := f.repo.Push(ctx, "origin", ":refs/heads/crmops/x"); err != nil {
		t.Errorf("deleting it again: %v, want nil", err)
	}
}

func TestPushSeveralRefsAtOnce(t *testing.T) {
	ctx := context.Background()
	f := newForge(t)
	base := f.pushMain(t, map[string]string{"a": "1"})
	p := commit(t, f.repo, base, 1, map[string]string{"proposals/x.yaml": "x"})
	if err := f.repo.Push(ctx, "origin", p.String()+":refs/heads/crmops/x"); err != nil {
		t.Fatal(err)
	}
	merge, err := f.repo.CommitTree(CommitOptions{Base: p, Parents: []Hash{base, p}, Message: "Merge x\n", Author: who(2)})
	if err != nil {
		t.Fatal(err)
	}
	review := commit(t, f.repo, ZeroHash, 3, nil)

	err = f.repo.Push(ctx, "origin",
		merge.String()+":refs/heads/main",
		":refs/heads/crmops/x",
		review.String()+":refs/crmops/reviews/x")
	if err != nil {
		t.Fatal(err)
	}

	refs, err := f.repo.RemoteRefs(ctx, "origin", "refs/")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Hash{"refs/heads/main": merge, "refs/crmops/reviews/x": review}
	if len(refs) != len(want) {
		t.Errorf("remote refs = %v, want %v", refs, want)
	}
	for name, h := range want {
		if refs[name] != h {
			t.Errorf("%s = %s, want %s", name, refs[name], h)
		}
	}
}

func TestFetch(t *testing.T) {
	ctx := context.Background()
	f := newForge(t)
	base := f.pushMain(t, map[string]string{"a": "1"})
	other, err := Clone(ctx, f.remote, filepath.Join(t.TempDir(), "other"), nil)
	if err != nil {
		t.Fatal(err)
	}
	review := commit(t, other, ZeroHash, 1, map[string]string{"approval": "alice"})
	if err := other.Push(ctx, "origin", review.String()+":refs/crmops/reviews/b1"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		refspecs []string
		ref      string
		want     Hash
		wantErr  error
	}{
		{"the configured refspecs bring the branches", nil, "refs/remotes/origin/main", base, nil},
		{"an explicit refspec brings review records", []string{"refs/crmops/reviews/*:refs/crmops/reviews/*"}, "refs/crmops/reviews/b1", review, nil},
		{"fetching what is current is not an error", []string{"refs/crmops/reviews/*:refs/crmops/reviews/*"}, "refs/crmops/reviews/b1", review, nil},
		{"a missing named ref is ErrRefNotFound", []string{"refs/heads/nope:refs/heads/nope"}, "", ZeroHash, ErrRefNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.repo.Fetch(ctx, "origin", tt.refspecs...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("fetch = %v, want %v", err, tt.wantErr)
			}
			if tt.ref == "" {
				return
			}
			if got := mustRef(t, f.repo, tt.ref); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.ref, got, tt.want)
			}
		})
	}
}

func denyNonFastForwards(t *testing.T, bareDir string) {
	t.Helper()
	r, err := git.PlainOpen(bareDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := r.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Raw.Section("receive").SetOption("denyNonFastForwards", "true")
	if err := r.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
}

// assertRemoteHasHistory reads, through go-git on the bare remote, every
// commit, tree and blob reachable from tip: what a clone would need.
func assertRemoteHasHistory(t *testing.T, remote string, tip Hash) {
	t.Helper()
	g, err := git.PlainOpen(remote)
	if err != nil {
		t.Fatal(err)
	}
	iter, err := g.Log(&git.LogOptions{From: tip})
	if err != nil {
		t.Fatal(err)
	}
	commits := 0
	err = iter.ForEach(func(c *object.Commit) error {
		commits++
		files, err := c.Files()
		if err != nil {
			return err
		}
		return files.ForEach(func(f *object.File) error {
			_, err := f.Contents()
			return err
		})
	})
	if err != nil {
		t.Fatalf("remote history from %s is incomplete after %d commits: %v", tip, commits, err)
	}
}

func TestPushSendsEverythingTheRemoteLacks(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		layout := "with a flat proposals folder"
		if sharded {
			layout = "with proposals sharded by month"
		}
		t.Run(layout, func(t *testing.T) { testPushSendsEverything(t, sharded) })
	}
}

func testPushSendsEverything(t *testing.T, sharded bool) {
	ctx := context.Background()
	f := newForge(t)
	main := seedHistory(t, f.repo, 40, sharded)

	t.Run("a first push sends the whole history", func(t *testing.T) {
		if err := f.repo.Push(ctx, "origin", main.String()+":refs/heads/main"); err != nil {
			t.Fatal(err)
		}
		assertRemoteHasHistory(t, f.remote, main)
	})

	t.Run("a proposal on an older main commit is complete on the remote", func(t *testing.T) {
		var old Hash
		err := f.repo.Log(main, true, func(c *Commit) error {
			old = c.Hash
			if c.Message == "Receipt for batch 10\n\n[skip actions]\n" {
				return ErrStop
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		p := commit(t, f.repo, old, 1000, map[string]string{batchPath(10, sharded, ".yaml"): "edited", "proposals/late/x.yaml": "x"})
		if err := f.repo.Push(ctx, "origin", p.String()+":refs/heads/crmops/late"); err != nil {
			t.Fatal(err)
		}
		assertRemoteHasHistory(t, f.remote, p)
	})

	t.Run("commits that all share one timestamp are still sent", func(t *testing.T) {
		tip := main
		for i := range 5 {
			tip = commit(t, f.repo, tip, 0, map[string]string{"proposals/same/" + itoa(i) + ".yaml": itoa(i)})
		}
		if err := f.repo.Push(ctx, "origin", tip.String()+":refs/heads/main"); err != nil {
			t.Fatal(err)
		}
		assertRemoteHasHistory(t, f.remote, tip)
	})
}

func TestAnEmptyRemote(t *testing.T) {
	ctx := context.Background()
	f := newForge(t)

	t.Run("lists no refs", func(t *testing.T) {
		refs, err := f.repo.RemoteRefs(ctx, "origin", "")
		if err != nil || len(refs) != 0 {
			t.Errorf("RemoteRefs = %v, %v; want none", refs, err)
		}
	})

	t.Run("clones into a repository ready for its first commit", func(t *testing.T) {
		clone, err := Clone(ctx, f.remote, filepath.Join(t.TempDir(), "clone"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := clone.Ref("HEAD"); !errors.Is(err, ErrRefNotFound) {
			t.Errorf("HEAD of an empty clone: %v, want ErrRefNotFound", err)
		}
		first := commit(t, clone, ZeroHash, 0, map[string]string{"crmops.yaml": "version: 1\n"})
		if err := clone.AdvanceBranch("main", ZeroHash, first); err != nil {
			t.Fatal(err)
		}
		if err := clone.Push(ctx, "origin", "refs/heads/main:refs/heads/main"); err != nil {
			t.Fatal(err)
		}
		assertRemoteHasHistory(t, f.remote, first)
	})
}

func TestFetchPrunesOnlyRemoteTrackingRefs(t *testing.T) {
	ctx := context.Background()
	f := newForge(t)
	base := f.pushMain(t, map[string]string{"a": "1"})
	p := commit(t, f.repo, base, 1, map[string]string{"proposals/x.yaml": "x"})
	if err := f.repo.Push(ctx, "origin", p.String()+":refs/heads/crmops/x"); err != nil {
		t.Fatal(err)
	}
	clone, err := Clone(ctx, f.remote, filepath.Join(t.TempDir(), "clone"), nil)
	if err != nil {
		t.Fatal(err)
	}
	local := commit(t, clone, ZeroHash, 2, map[string]string{"approval": "bob"})
	if err := clone.SetRef("refs/crmops/reviews/y", local); err != nil {
		t.Fatal(err)
	}
	if err := f.repo.Push(ctx, "origin", ":refs/heads/crmops/x"); err != nil {
		t.Fatal(err)
	}

	if err := clone.Fetch(ctx, "origin"); err != nil {
		t.Fatal(err)
	}
	if err := clone.Fetch(ctx, "origin", "refs/crmops/reviews/*:refs/crmops/reviews/*"); err != nil {
		t.Fatal(err)
	}

	t.Run("a branch deleted on the remote loses its tracking ref", func(t *testing.T) {
		if _, err := clone.Ref("refs/remotes/origin/crmops/x"); !errors.Is(err, ErrRefNotFound) {
			t.Errorf("tracking ref: %v, want ErrRefNotFound", err)
		}
	})
	t.Run("a review record not yet pushed survives", func(t *testing.T) {
		if got := mustRef(t, clone, "refs/crmops/reviews/y"); got != local {
			t.Errorf("review ref = %s, want %s", got, local)
		}
	})
}
