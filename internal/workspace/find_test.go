package workspace_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/workspace"
)

// mkdirs makes each directory under root; a path ending in a file name
// (crmops.yaml) makes the file.
func mkdirs(t *testing.T, root string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		full := filepath.Join(root, p)
		if filepath.Base(p) == "crmops.yaml" {
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte("version: 1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(full, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindWalksUpToTheDirectoryHoldingCrmopsYAML(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root, "repo/.git", "repo/crmops.yaml", "repo/proposals/2026/11")
	for _, start := range []string{"repo", "repo/proposals", "repo/proposals/2026/11"} {
		got, err := workspace.Find(filepath.Join(root, start), "")
		if err != nil || got != filepath.Join(root, "repo") {
			t.Errorf("Find(%s) = %q, %v; want the repository", start, got, err)
		}
	}
}

func TestFindStopsAtTheGitWorkTree(t *testing.T) {
	root := t.TempDir()
	// A crmops repository above another git work tree is not the inner
	// one's: the search stops at the inner .git.
	mkdirs(t, root, "crmops.yaml", "inner/.git", "inner/sub")
	_, err := workspace.Find(filepath.Join(root, "inner", "sub"), "")
	inner := filepath.Join(root, "inner")
	want := "no crmops.yaml in " + filepath.Join(inner, "sub") + " or any directory above it up to " + inner +
		" (the root of its git work tree); run crmops init to create a repository, or pass --repo DIR"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	_, err = workspace.Find(inner, "")
	if err == nil || !strings.HasPrefix(err.Error(), "no crmops.yaml in "+inner+" (the root of its git work tree)") {
		t.Errorf("at the work tree's root: %v", err)
	}
}

func TestFindWithConfigNeedsNoCrmopsYAML(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root, "repo/.git", "repo/proposals")
	got, err := workspace.Find(filepath.Join(root, "repo", "proposals"), "other.yaml")
	if err != nil || got != filepath.Join(root, "repo") {
		t.Errorf("Find with --config = %q, %v; want the git work tree", got, err)
	}
	// Outside any work tree the start stays the repository, as before.
	mkdirs(t, root, "loose")
	got, err = workspace.Find(filepath.Join(root, "loose"), "other.yaml")
	if err != nil || got != filepath.Join(root, "loose") {
		t.Errorf("Find outside a work tree = %q, %v", got, err)
	}
}
