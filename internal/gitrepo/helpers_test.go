package gitrepo

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

var epoch = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// who is a fixed identity; tick makes successive commits differ in time as
// real ones do.
func who(tick int) Identity {
	return Identity{Name: "crmops", Email: "crmops@example.com", When: epoch.Add(time.Duration(tick) * time.Second)}
}

// forge is a bare "local forge" remote plus a working clone of it.
type forge struct {
	remote string
	repo   *Repo
}

func newForge(t testing.TB) forge {
	t.Helper()
	dir := t.TempDir()
	remote := filepath.Join(dir, "remote.git")
	if err := InitBare(remote); err != nil {
		t.Fatal(err)
	}
	r, err := Init(filepath.Join(dir, "work"), remote)
	if err != nil {
		t.Fatal(err)
	}
	return forge{remote: remote, repo: r}
}

// commit writes a commit on base with files and fails the test on error.
func commit(t testing.TB, r *Repo, base Hash, tick int, files map[string]string, del ...string) Hash {
	t.Helper()
	var parents []Hash
	if !base.IsZero() {
		parents = []Hash{base}
	}
	fm := map[string][]byte{}
	for p, s := range files {
		fm[p] = []byte(s)
	}
	h, err := r.CommitTree(CommitOptions{
		Base: base, Files: fm, Delete: del, Parents: parents,
		Message: "test commit\n", Author: who(tick),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// pushMain commits files as main's first commit and pushes it.
func (f forge) pushMain(t testing.TB, files map[string]string) Hash {
	t.Helper()
	h := commit(t, f.repo, ZeroHash, 0, files)
	if err := f.repo.SetRef(BranchRef("main"), h); err != nil {
		t.Fatal(err)
	}
	if err := f.repo.Push(context.Background(), "origin", "refs/heads/main:refs/heads/main"); err != nil {
		t.Fatal(err)
	}
	return h
}

func mustRef(t testing.TB, r *Repo, name string) Hash {
	t.Helper()
	h, err := r.Ref(name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
