package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/config"
)

// These tests change the process's working directory (t.Chdir), so none
// of them may run in parallel.

// mkdir makes dir (and its parents) and returns it.
func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCommandsFindTheRepositoryFromASubdirectory(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	h.importCSV("contacts", "id,email\n1,ann@acme.com\n")
	for _, sub := range []string{"proposals", filepath.Join("proposals", "2026", "11")} {
		t.Run(sub, func(t *testing.T) {
			t.Chdir(mkdir(t, filepath.Join(h.dir, sub)))
			for _, argv := range [][]string{
				{"review", "list"},
				{"policy", "test"},
				{"detect"},
				{"crm", "get", "contacts/1"},
				{"doctor"},
			} {
				if r := h.runArgv(argv...); r.code != 0 {
					t.Errorf("crmops %s in %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), sub, r.code, r.out, r.err)
				}
			}
			// The default --repo . is the same as none.
			if r := h.runArgv("--repo", ".", "review", "list"); r.code != 0 {
				t.Errorf("--repo . in %s: exit %d: %s", sub, r.code, r.err)
			}
		})
	}
}

func TestARepositoryAboveAnotherWorkTreeIsNotFound(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	// A git work tree of its own inside the repository (git-ignored, say)
	// is not part of it: the search stops at its .git.
	inner := mkdir(t, filepath.Join(h.dir, ".crmops", "other"))
	mkdir(t, filepath.Join(inner, ".git"))
	t.Chdir(mkdir(t, filepath.Join(inner, "sub")))
	r := h.runArgv("review", "list")
	want := "crmops: no crmops.yaml in " + filepath.Join(inner, "sub") + " or any directory above it up to " + inner +
		" (the root of its git work tree); run crmops init to create a repository, or pass --repo DIR\n"
	if r.code != exitError || r.err != want {
		t.Errorf("exit %d, stderr %q\nwant %q", r.code, r.err, want)
	}
}

func TestNoRepositoryAnywhereSaysSoInOneLine(t *testing.T) {
	dir := mkdir(t, filepath.Join(t.TempDir(), "nowhere", "deeper"))
	t.Chdir(dir)
	h := newHarness(t)
	r := h.runArgv("review", "list")
	if r.code != exitError || strings.Count(r.err, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want one line and exit 1", r.code, r.err)
	}
	for _, w := range []string{"no crmops.yaml in " + dir + " or any directory above it", "(the filesystem root)", "crmops init", "--repo"} {
		if !strings.Contains(r.err, w) {
			t.Errorf("stderr %q lacks %q", r.err, w)
		}
	}
}

func TestAnExplicitRepoIsNotSearchedUpwards(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	r := h.runArgv("--repo", filepath.Join(h.dir, "proposals"), "review", "list")
	if r.code != exitError || !strings.Contains(r.err, filepath.Join("proposals", config.File)+": no configuration here") {
		t.Errorf("exit %d, stderr %q", r.code, r.err)
	}
}

func TestConfigIsRelativeToTheWorkingDirectory(t *testing.T) {
	h := newHarness(t)
	h.initRepo()
	cfg := readFile(t, filepath.Join(h.dir, config.File))
	sub := mkdir(t, filepath.Join(h.dir, "proposals", "sub"))
	if err := os.WriteFile(filepath.Join(sub, "alt.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if r := h.runArgv("--config", "alt.yaml", "review", "list"); r.code != 0 {
		t.Errorf("--config alt.yaml in a subdirectory: exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
	}
	// A mistake in it is reported under the name it was given.
	if err := os.WriteFile(filepath.Join(sub, "alt.yaml"), []byte(strings.Replace(cfg, "detectors: {}\n", "detectors:\n  owner:\n    owners: []\n    fields: x\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := h.runArgv("--config", "alt.yaml", "review", "list"); r.code != exitError || !strings.Contains(r.err, "alt.yaml:") || !strings.Contains(r.err, "detectors.owner.fields: unknown key") {
		t.Errorf("a mistake in --config alt.yaml: exit %d, stderr %q", r.code, r.err)
	}
}
