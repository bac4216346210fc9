package githubtest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/crmops/crmops/internal/gitrepo"
)

// mergeBase returns a best common ancestor of a and b: b itself or a itself
// when one contains the other, otherwise the newest commit (by committer
// time, git log's order) of b's history that a's history also holds. It is
// ZeroHash when the histories are unrelated. With criss-cross merges git has
// several merge bases and merges them recursively; the double takes one.
func mergeBase(repo *gitrepo.Repo, a, b gitrepo.Hash) (gitrepo.Hash, error) {
	if ok, err := repo.IsAncestor(a, b); err != nil || ok {
		return a, err
	}
	if ok, err := repo.IsAncestor(b, a); err != nil || ok {
		return b, err
	}
	inA := map[gitrepo.Hash]bool{}
	err := repo.Log(a, false, func(c *gitrepo.Commit) error {
		inA[c.Hash] = true
		return nil
	})
	if err != nil {
		return gitrepo.ZeroHash, fmt.Errorf("merge base of %s and %s: %w", a, b, err)
	}
	base := gitrepo.ZeroHash
	err = repo.Log(b, false, func(c *gitrepo.Commit) error {
		if inA[c.Hash] {
			base = c.Hash
			return gitrepo.ErrStop
		}
		return nil
	})
	if err != nil {
		return gitrepo.ZeroHash, fmt.Errorf("merge base of %s and %s: %w", a, b, err)
	}
	return base, nil
}

// countCommits counts the commits reachable from head and not from base:
// what a pull request's "commits" reports.
func countCommits(repo *gitrepo.Repo, head, base gitrepo.Hash) (int, error) {
	inBase := map[gitrepo.Hash]bool{}
	if !base.IsZero() {
		err := repo.Log(base, false, func(c *gitrepo.Commit) error {
			inBase[c.Hash] = true
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("count commits: %w", err)
		}
	}
	n := 0
	err := repo.Log(head, false, func(c *gitrepo.Commit) error {
		if !inBase[c.Hash] {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count commits: %w", err)
	}
	return n, nil
}

// writeMerge writes the merge commit of theirs into ours, with parents
// [ours, theirs], and returns it; when the merge conflicts it writes nothing
// and returns the conflicting paths instead. It moves no ref.
func writeMerge(repo *gitrepo.Repo, ours, theirs gitrepo.Hash, message string, author, committer gitrepo.Identity) (gitrepo.Hash, []string, error) {
	mb, err := mergeBase(repo, ours, theirs)
	if err != nil {
		return gitrepo.ZeroHash, nil, err
	}
	if mb.IsZero() {
		return gitrepo.ZeroHash, []string{"(no common history)"}, nil
	}
	opts := gitrepo.CommitOptions{
		Parents:   []gitrepo.Hash{ours, theirs},
		Message:   message,
		Author:    author,
		Committer: committer,
	}
	switch mb {
	case theirs:
		// Everything theirs brings is in ours already.
		opts.Base = ours
	case ours:
		// Nothing happened on ours: theirs' tree exactly, modes included.
		opts.Base = theirs
	default:
		files, del, conflicts, err := threeWay(repo, mb, ours, theirs)
		if err != nil {
			return gitrepo.ZeroHash, nil, err
		}
		if len(conflicts) > 0 {
			return gitrepo.ZeroHash, conflicts, nil
		}
		opts.Base, opts.Files, opts.Delete = ours, files, del
	}
	h, err := repo.CommitTree(opts)
	if err != nil {
		return gitrepo.ZeroHash, nil, fmt.Errorf("merge %s into %s: %w", theirs, ours, err)
	}
	return h, nil, nil
}

// side is what one side of a merge did to a path since the merge base.
type side struct {
	data    []byte
	deleted bool
}

// sideChanges reads, for every path that differs between from and to, what
// to holds there.
func sideChanges(repo *gitrepo.Repo, from, to gitrepo.Hash) (map[string]side, error) {
	paths, err := repo.ChangedPaths(from, to)
	if err != nil {
		return nil, err
	}
	out := make(map[string]side, len(paths))
	for _, p := range paths {
		data, err := repo.ReadFile(to, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			out[p] = side{deleted: true}
		case err != nil:
			return nil, err
		default:
			out[p] = side{data: data}
		}
	}
	return out, nil
}

// threeWay merges per path: a path changed on one side only takes that
// side's version, a path changed identically on both is kept, and a path
// changed differently on both sides is a conflict, as is a file on one side
// where the other made a directory. It returns the edits that turn ours into
// the merge.
func threeWay(repo *gitrepo.Repo, mb, ours, theirs gitrepo.Hash) (files map[string][]byte, del, conflicts []string, err error) {
	o, err := sideChanges(repo, mb, ours)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := sideChanges(repo, mb, theirs)
	if err != nil {
		return nil, nil, nil, err
	}
	// Directories that hold a file each side wrote.
	dirsOf := func(m map[string]side) map[string]bool {
		dirs := map[string]bool{}
		for p, sd := range m {
			for d := path.Dir(p); !sd.deleted && d != "."; d = path.Dir(d) {
				dirs[d] = true
			}
		}
		return dirs
	}
	oDirs, tDirs := dirsOf(o), dirsOf(t)
	written := func(m map[string]side, p string) bool { sd, ok := m[p]; return ok && !sd.deleted }
	files = map[string][]byte{}
	for p, ts := range t {
		if oc, ok := o[p]; ok {
			if oc.deleted != ts.deleted || !bytes.Equal(oc.data, ts.data) {
				conflicts = append(conflicts, p)
			}
			continue
		}
		if !ts.deleted && oDirs[p] {
			conflicts = append(conflicts, p)
			continue
		}
		clash := false
		for d := path.Dir(p); !ts.deleted && d != "."; d = path.Dir(d) {
			clash = clash || written(o, d)
		}
		if clash {
			conflicts = append(conflicts, p)
			continue
		}
		if ts.deleted {
			del = append(del, p)
		} else {
			files[p] = ts.data
		}
	}
	for p := range o {
		// Ours wrote a file where theirs made a directory.
		if written(o, p) && tDirs[p] {
			conflicts = append(conflicts, p)
		}
	}
	slices.Sort(conflicts)
	conflicts = slices.Compact(conflicts)
	slices.Sort(del)
	return files, del, conflicts, nil
}

// fileJSON is one entry of a pull request's files ("diff-entry").
type fileJSON struct {
	SHA         string `json:"sha"`
	Filename    string `json:"filename"`
	Status      string `json:"status"`
	Additions   int    `json:"additions"`
	Deletions   int    `json:"deletions"`
	Changes     int    `json:"changes"`
	BlobURL     string `json:"blob_url"`
	RawURL      string `json:"raw_url"`
	ContentsURL string `json:"contents_url"`
}

// prFiles lists the files that differ between the merge base and head, in
// git's path order, with line counts. The patch text is not produced.
func prFiles(repo *gitrepo.Repo, mb, head gitrepo.Hash) ([]fileJSON, error) {
	paths, err := repo.ChangedPaths(mb, head)
	if err != nil {
		return nil, err
	}
	out := make([]fileJSON, 0, len(paths))
	for _, p := range paths {
		read := func(at gitrepo.Hash) ([]byte, bool, error) {
			data, err := repo.ReadFile(at, p)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, false, nil
			}
			return data, err == nil, err
		}
		old, hadOld, err := read(mb)
		if err != nil {
			return nil, err
		}
		cur, hasNew, err := read(head)
		if err != nil {
			return nil, err
		}
		f := fileJSON{Filename: p, Status: "modified"}
		blob := cur
		switch {
		case !hadOld:
			f.Status = "added"
		case !hasNew:
			f.Status, blob = "removed", old
		}
		f.SHA = plumbing.ComputeHash(plumbing.BlobObject, blob).String()
		f.Additions, f.Deletions = lineCounts(old, cur)
		f.Changes = f.Additions + f.Deletions
		out = append(out, f)
	}
	return out, nil
}

// lineCounts counts added and deleted lines, zero for binary content as on
// GitHub.
func lineCounts(old, cur []byte) (added, deleted int) {
	if bytes.IndexByte(old, 0) >= 0 || bytes.IndexByte(cur, 0) >= 0 {
		return 0, 0
	}
	dmp := diffmatchpatch.New()
	a, b, lines := dmp.DiffLinesToChars(string(old), string(cur))
	for _, d := range dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines) {
		n := strings.Count(d.Text, "\n")
		if d.Text != "" && !strings.HasSuffix(d.Text, "\n") {
			n++
		}
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			added += n
		case diffmatchpatch.DiffDelete:
			deleted += n
		}
	}
	return added, deleted
}
