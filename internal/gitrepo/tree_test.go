package gitrepo

import (
	"errors"
	"io/fs"
	"reflect"
	"sort"
	"strconv"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func TestCommitTree(t *testing.T) {
	f := newForge(t)
	r := f.repo
	base := commit(t, r, ZeroHash, 0, map[string]string{
		"crmops.yaml":                   "version: 1\n",
		"policies/default.yaml":         "default: review\n",
		"proposals/2026-11/a.yaml":      "a\n",
		"proposals/2026-11/b.yaml":      "b\n",
		"proposals/2026-12/c.yaml":      "c\n",
		"proposals/2026-12/deep/d.yaml": "d\n",
	})

	tests := []struct {
		name    string
		files   map[string]string
		delete  []string
		want    map[string]string // every file in the result
		wantErr bool
	}{
		{
			name:  "replacing a nested file keeps its siblings",
			files: map[string]string{"proposals/2026-11/a.yaml": "a2\n"},
			want: map[string]string{
				"crmops.yaml": "version: 1\n", "policies/default.yaml": "default: review\n",
				"proposals/2026-11/a.yaml": "a2\n", "proposals/2026-11/b.yaml": "b\n",
				"proposals/2026-12/c.yaml": "c\n", "proposals/2026-12/deep/d.yaml": "d\n",
			},
		},
		{
			name:   "deleting the last file of a directory removes the directory",
			delete: []string{"proposals/2026-12/deep/d.yaml", "proposals/2026-12/c.yaml"},
			want: map[string]string{
				"crmops.yaml": "version: 1\n", "policies/default.yaml": "default: review\n",
				"proposals/2026-11/a.yaml": "a\n", "proposals/2026-11/b.yaml": "b\n",
			},
		},
		{
			name:   "adding and deleting in one commit creates new directories",
			files:  map[string]string{"proposals/2027-01/e.yaml": "e\n", "proposals/2026-11/a.receipt.yaml": "r\n"},
			delete: []string{"policies/default.yaml", "no/such/file"},
			want: map[string]string{
				"crmops.yaml":              "version: 1\n",
				"proposals/2026-11/a.yaml": "a\n", "proposals/2026-11/b.yaml": "b\n",
				"proposals/2026-11/a.receipt.yaml": "r\n",
				"proposals/2026-12/c.yaml":         "c\n", "proposals/2026-12/deep/d.yaml": "d\n",
				"proposals/2027-01/e.yaml": "e\n",
			},
		},
		{
			name:   "deleting a directory removes everything below it",
			delete: []string{"proposals"},
			want:   map[string]string{"crmops.yaml": "version: 1\n", "policies/default.yaml": "default: review\n"},
		},
		{name: "a path escaping the tree is refused", files: map[string]string{"../x": "x"}, wantErr: true},
		{name: "a path inside .git is refused", files: map[string]string{".git/hooks/pre-commit": "x"}, wantErr: true},
		{name: "a path written and deleted is refused", files: map[string]string{"a": "x"}, delete: []string{"a"}, wantErr: true},
		{name: "a path used as file and directory is refused", files: map[string]string{"a": "x", "a/b": "y"}, wantErr: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			for p, s := range tt.files {
				files[p] = []byte(s)
			}
			h, err := r.CommitTree(CommitOptions{
				Base: base, Files: files, Delete: tt.delete, Parents: []Hash{base},
				Message: tt.name + "\n", Author: who(i + 1),
			})
			if tt.wantErr {
				if err == nil {
					t.Fatal("CommitTree succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, r, h)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("files = %v\nwant    %v", got, tt.want)
			}
			assertTreeMatchesGoGit(t, r, h)
		})
	}
}

func TestCommitTreeOnALargeDirectoryEditsOneTree(t *testing.T) {
	f := newForge(t)
	r := f.repo
	files := map[string]string{}
	for i := range 3000 {
		files["proposals/b"+itoa(i)+".yaml"] = itoa(i)
	}
	base := commit(t, r, ZeroHash, 0, files)
	next := commit(t, r, base, 1, map[string]string{"proposals/new.yaml": "new"})

	changed, err := r.ChangedPaths(base, next)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(changed, []string{"proposals/new.yaml"}) {
		t.Errorf("changed = %v", changed)
	}
	list, err := r.ListFiles(next, "proposals")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3001 {
		t.Errorf("ListFiles found %d files, want 3001", len(list))
	}
	assertTreeMatchesGoGit(t, r, next)
}

func TestReadFile(t *testing.T) {
	f := newForge(t)
	h := commit(t, f.repo, ZeroHash, 0, map[string]string{"proposals/a.yaml": "a\n"})
	tests := []struct {
		name, path string
		want       string
		notExist   bool
	}{
		{name: "a file is read", path: "proposals/a.yaml", want: "a\n"},
		{name: "a missing file wraps fs.ErrNotExist", path: "proposals/b.yaml", notExist: true},
		{name: "a path below a file wraps fs.ErrNotExist", path: "proposals/a.yaml/x", notExist: true},
		{name: "a directory wraps fs.ErrNotExist", path: "proposals", notExist: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.repo.ReadFile(h, tt.path)
			if tt.notExist {
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("err = %v, want fs.ErrNotExist", err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("ReadFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestListFiles(t *testing.T) {
	f := newForge(t)
	h := commit(t, f.repo, ZeroHash, 0, map[string]string{
		"crmops.yaml": "", "proposals/a.yaml": "", "proposals/2026-11/b.yaml": "", "proposals/2026-11/b.receipt.yaml": "",
	})
	tests := []struct {
		name, dir string
		want      []string
	}{
		{"files below a directory are listed recursively in git order", "proposals",
			[]string{"proposals/2026-11/b.receipt.yaml", "proposals/2026-11/b.yaml", "proposals/a.yaml"}},
		{"the root lists everything", "", []string{"crmops.yaml", "proposals/2026-11/b.receipt.yaml", "proposals/2026-11/b.yaml", "proposals/a.yaml"}},
		{"a missing directory lists nothing", "receipts", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.repo.ListFiles(h, tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListFiles(%q) = %v, want %v", tt.dir, got, tt.want)
			}
		})
	}
}

func TestChangedPaths(t *testing.T) {
	f := newForge(t)
	r := f.repo
	a := commit(t, r, ZeroHash, 0, map[string]string{
		"crmops.yaml": "1", "proposals/x.yaml": "x", "proposals/old/y.yaml": "y", "data": "file",
	})
	tests := []struct {
		name   string
		files  map[string]string
		delete []string
		want   []string
	}{
		{"an unchanged tree has no changed paths", nil, nil, nil},
		{"a modified nested file is reported", map[string]string{"proposals/x.yaml": "x2"}, nil, []string{"proposals/x.yaml"}},
		{"added and removed files are reported", map[string]string{"proposals/z.yaml": "z"}, []string{"proposals/old/y.yaml"},
			[]string{"proposals/old/y.yaml", "proposals/z.yaml"}},
		{"a file replaced by a directory reports both sides", map[string]string{"data/1.csv": "1"}, []string{"data"},
			[]string{"data", "data/1.csv"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := commit(t, r, a, i+1, tt.files, tt.delete...)
			got, err := r.ChangedPaths(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ChangedPaths = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("from the zero hash every file is changed", func(t *testing.T) {
		got, err := r.ChangedPaths(ZeroHash, a)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"crmops.yaml", "data", "proposals/old/y.yaml", "proposals/x.yaml"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ChangedPaths = %v, want %v", got, want)
		}
	})
}

func readAll(t *testing.T, r *Repo, h Hash) map[string]string {
	t.Helper()
	paths, err := r.ListFiles(h, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range paths {
		data, err := r.ReadFile(h, p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = string(data)
	}
	return out
}

// assertTreeMatchesGoGit re-reads a commit through go-git's own object model,
// which refuses unsorted trees, so a sorting bug cannot hide.
func assertTreeMatchesGoGit(t *testing.T, r *Repo, h Hash) {
	t.Helper()
	g, err := git.PlainOpen(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := tree.Files().ForEach(func(*object.File) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	want, err := r.ListFiles(h, "")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("go-git sees %d files, gitrepo %d", n, len(want))
	}
	// Re-encoding every tree with go-git must reproduce its hash.
	walkTrees(t, g, tree)
}

func walkTrees(t *testing.T, g *git.Repository, tree *object.Tree) {
	t.Helper()
	if !sort.IsSorted(object.TreeEntrySorter(tree.Entries)) {
		t.Errorf("tree %s is not in git order", tree.Hash)
	}
	o := &plumbing.MemoryObject{}
	if err := tree.Encode(o); err != nil {
		t.Fatal(err)
	}
	if o.Hash() != tree.Hash {
		t.Errorf("tree %s re-encodes to %s", tree.Hash, o.Hash())
	}
	for _, e := range tree.Entries {
		if e.Mode != filemode.Dir {
			continue
		}
		sub, err := g.TreeObject(e.Hash)
		if err != nil {
			t.Fatal(err)
		}
		walkTrees(t, g, sub)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestCommitTreeRefusesAMissingParent(t *testing.T) {
	f := newForge(t)
	_, err := f.repo.CommitTree(CommitOptions{
		Parents: []Hash{plumbing.NewHash("1111111111111111111111111111111111111111")},
		Message: "orphan\n", Author: who(0),
	})
	if err == nil {
		t.Error("CommitTree accepted a parent that does not exist")
	}
}
