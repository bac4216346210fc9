// Package workspace is a change-request repository as crmops uses it: the
// configuration, the git repository, and the base branch on the remote that
// every decision is read from and every record is committed to.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/clock"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/policy"
)

// Workspace is an open change-request repository.
type Workspace struct {
	Dir    string
	Config *config.Config
	Git    *gitrepo.Repo

	// listed is the last Files answer: one command asks for the same
	// commit's proposals/ several times (propose, then the merge gate),
	// and a commit's files never change.
	listedMu sync.Mutex
	listed   struct {
		commit gitrepo.Hash
		dir    string
		files  []string
	}
}

// Open opens the repository at dir with the configuration at configPath
// ("" = crmops.yaml in dir). dir "" means the repository the working
// directory is in, found as git finds its work tree (see Find); configPath,
// when given, is a path as the user typed it, relative to the working
// directory.
func Open(dir, configPath string) (*Workspace, error) {
	if dir == "" {
		found, err := Find(".", configPath)
		if err != nil {
			return nil, err
		}
		dir = found
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if configPath == "" {
		configPath = filepath.Join(abs, config.File)
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, err
	}
	repo, err := gitrepo.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("%s is not a git repository (run crmops init): %w", abs, err)
	}
	return &Workspace{Dir: abs, Config: cfg, Git: repo}, nil
}

// Find returns the root of the change-request repository that start (a
// directory) is in: the first directory, from start upwards, that holds
// crmops.yaml. The search stops at the root of the git work tree start is
// in (the first directory holding .git), so a repository is never
// confused with another one above it, or else at the filesystem root.
//
// With configPath set (--config), the configuration is that file and the
// repository need not hold crmops.yaml: the root is the first directory
// holding crmops.yaml or .git, or, when there is none, start itself (which
// Open then reports is not a git repository).
func Find(start, configPath string) (string, error) {
	abs, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("find the repository from %s: %w", start, err)
	}
	for dir := abs; ; {
		if isFile(filepath.Join(dir, config.File)) {
			return dir, nil
		}
		_, gitErr := os.Stat(filepath.Join(dir, ".git"))
		if gitErr == nil && configPath != "" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if gitErr == nil || parent == dir {
			if configPath != "" {
				return abs, nil
			}
			return "", notFound(abs, dir, gitErr == nil)
		}
		dir = parent
	}
}

// notFound is Find's one-line error: where it looked, where it stopped and
// why, and what to do.
func notFound(start, stop string, worktree bool) error {
	where := "in " + start
	if stop != start {
		where = fmt.Sprintf("in %s or any directory above it up to %s", start, stop)
	}
	why := "the filesystem root"
	if worktree {
		why = "the root of its git work tree"
	}
	return fmt.Errorf("no %s %s (%s); run crmops init to create a repository, or pass --repo DIR", config.File, where, why)
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

// Path resolves a repository-relative path (such as the CRM database).
func (w *Workspace) Path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(w.Dir, rel)
}

// Remote is the name of the forge's git remote.
func (w *Workspace) Remote() string { return w.Config.Forge.Remote }

// Branch is the base branch proposals merge into.
func (w *Workspace) Branch() string { return w.Config.Forge.Branch }

// RemoteRef is the remote-tracking ref of the base branch.
func (w *Workspace) RemoteRef() string {
	return "refs/remotes/" + w.Remote() + "/" + w.Branch()
}

// ErrDiverged reports a local base branch with commits the remote lacks.
var ErrDiverged = errors.New("local branch has commits that are not on the remote")

// lockName is the lock that serializes what moves refs in one checkout:
// fetching (a slower fetch must not put a tracking ref back behind a newer
// one), fast-forwarding the local branch and its work tree, and pushing to
// the base branch.
const lockName = "crmops-workspace.lock"

// Locked runs fn holding the checkout's lock, for a forge writing refs that
// Sync fetches into (remote-tracking refs, review refs): a write beside a
// fetch fails the fetch's compare-and-set. fn must not call Sync or
// UpdateBase: the lock is not reentrant.
func (w *Workspace) Locked(fn func() error) error { return w.locked(fn) }

// locked runs fn holding the checkout's lock. fn must not call Sync or
// UpdateBase (the lock is not reentrant); it calls sync instead.
func (w *Workspace) locked(fn func() error) error {
	unlock, err := w.Git.Lock(lockName)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// Sync fetches the base branch, the proposal branches and crmops' own refs
// from the remote, fast-forwards the local base branch (and its work tree)
// to the remote's, and returns the remote's base commit.
func (w *Workspace) Sync(ctx context.Context) (gitrepo.Hash, error) {
	var base gitrepo.Hash
	err := w.locked(func() error {
		var err error
		base, err = w.sync(ctx)
		return err
	})
	return base, err
}

func (w *Workspace) sync(ctx context.Context) (gitrepo.Hash, error) {
	remote := w.Remote()
	err := w.Git.Fetch(ctx, remote,
		"+refs/heads/"+w.Branch()+":"+w.RemoteRef(),
		"+refs/heads/crmops/*:refs/remotes/"+remote+"/crmops/*",
		"+refs/crmops/*:refs/crmops/*")
	if err != nil {
		return gitrepo.ZeroHash, fmt.Errorf("fetch from %s: %w", remote, err)
	}
	base, err := w.Git.Ref(w.RemoteRef())
	if err != nil {
		return gitrepo.ZeroHash, fmt.Errorf("%s has no branch %s: %w", remote, w.Branch(), err)
	}
	return base, w.fastForward(base)
}

// fastForward brings the local base branch to to, if it is behind.
func (w *Workspace) fastForward(to gitrepo.Hash) error {
	local, err := w.Git.Ref(gitrepo.BranchRef(w.Branch()))
	if errors.Is(err, gitrepo.ErrRefNotFound) {
		local = gitrepo.ZeroHash
	} else if err != nil {
		return err
	}
	if local == to {
		return nil
	}
	if !local.IsZero() {
		ok, err := w.Git.IsAncestor(local, to)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: %w (push them or reset to %s first)", w.Branch(), ErrDiverged, w.RemoteRef())
		}
	}
	if err := w.Git.AdvanceBranch(w.Branch(), local, to); err != nil {
		return fmt.Errorf("update %s: %w", w.Branch(), err)
	}
	return nil
}

// PolicyAt reads and checks the policy at commit. ref names it for receipts
// and trailers: policies/default.yaml@<commit>.
func (w *Workspace) PolicyAt(commit gitrepo.Hash) (pol *policy.Policy, ref string, err error) {
	data, err := w.Git.ReadFile(commit, policy.Path)
	if err != nil {
		return nil, "", fmt.Errorf("read %s at %s: %w", policy.Path, short(commit), err)
	}
	pol, err = policy.Load(policy.Path, data)
	if err != nil {
		return nil, "", err
	}
	return pol, policy.Path + "@" + commit.String(), nil
}

// CommitToBase commits files on top of the remote base branch and pushes it,
// rebuilding on the new tip when someone else pushed first, then brings the
// local branch along. It returns the new commit.
func (w *Workspace) CommitToBase(ctx context.Context, files map[string][]byte, message string, who gitrepo.Identity) (gitrepo.Hash, error) {
	return w.UpdateBase(ctx, func(base gitrepo.Hash) (gitrepo.Hash, error) {
		return w.Git.CommitTree(gitrepo.CommitOptions{
			Base: base, Parents: []gitrepo.Hash{base}, Files: files,
			Message: message, Author: who, Committer: who,
		})
	})
}

// Attempts bounds how often crmops rebuilds a commit on a base branch that
// moved under it (another crmops, in this checkout or another clone,
// pushed first) before it gives up and says so.
const Attempts = 20

// Backoff is how long to wait before attempt n (from 1) of a rebuild on a
// moved branch: growing, with jitter so that clones racing each other do
// not retry in lockstep.
func Backoff(n int) time.Duration {
	d := time.Duration(n) * 20 * time.Millisecond
	return d + rand.N(d+time.Millisecond)
}

// UpdateBase builds a commit on the remote base branch's tip with build and
// pushes it; when the push is rejected because the branch moved, it fetches
// and builds again on the new tip, up to Attempts times, before giving up.
// It returns only once the commit is on the remote. build must not call
// Sync or UpdateBase: it runs holding the checkout's lock.
func (w *Workspace) UpdateBase(ctx context.Context, build func(base gitrepo.Hash) (gitrepo.Hash, error)) (gitrepo.Hash, error) {
	var lastErr error
	for attempt := 0; attempt < Attempts; attempt++ {
		if attempt > 0 {
			if err := Sleep(ctx, Backoff(attempt)); err != nil {
				return gitrepo.ZeroHash, err
			}
		}
		var commit gitrepo.Hash
		err := w.locked(func() error {
			base, err := w.sync(ctx)
			if err != nil {
				return err
			}
			if commit, err = build(base); err != nil {
				return err
			}
			// The commit itself is pushed, never a ref another process
			// could move meanwhile.
			if err := w.Git.Push(ctx, w.Remote(), commit.String()+":refs/heads/"+w.Branch()); err != nil {
				return err
			}
			if err := w.Git.SetRef(w.RemoteRef(), commit); err != nil {
				return err
			}
			if err := w.fastForward(commit); err != nil {
				return fmt.Errorf("%s is on the remote, but the checkout could not follow: %w", Short(commit.String()), err)
			}
			return nil
		})
		if errors.Is(err, gitrepo.ErrRejected) {
			lastErr = err
			continue
		}
		if err != nil {
			return gitrepo.ZeroHash, fmt.Errorf("push %s: %w", w.Branch(), err)
		}
		return commit, nil
	}
	return gitrepo.ZeroHash, fmt.Errorf("push %s: the branch kept moving (%d attempts): %w", w.Branch(), Attempts, lastErr)
}

// Sleep waits d, or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error { return clock.Sleep(ctx, d) }

// Files lists every file below proposals/ on the base commit.
func (w *Workspace) Files(commit gitrepo.Hash, dir string) ([]string, error) {
	w.listedMu.Lock()
	defer w.listedMu.Unlock()
	if l := w.listed; l.files != nil && l.commit == commit && l.dir == dir {
		return slices.Clone(l.files), nil
	}
	files, err := w.Git.ListFiles(commit, dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err == nil && files != nil {
		w.listed.commit, w.listed.dir, w.listed.files = commit, dir, slices.Clone(files)
	}
	return files, nil
}

func short(h gitrepo.Hash) string { return h.String()[:10] }

// Short abbreviates a commit hash for people.
func Short(h string) string {
	if len(h) > 10 {
		return h[:10]
	}
	return h
}

// LoginEmail is the e-mail address crmops writes for a login.
func LoginEmail(login string) string {
	return strings.ToLower(login) + "@users.noreply.crmops"
}

// MergedVersion returns the git blob id of the batch file at path as it
// was merged into the base branch at commit base, and the commit that says
// so: the version its receipt names as the one that ran, else the one in
// its merge commit, else (no merge found, or history too shallow to walk,
// as in a pull request's check) the base's own. ok is false for a file
// that is not on base.
func (w *Workspace) MergedVersion(base gitrepo.Hash, path string) (commit, blob string, ok bool, err error) {
	onBase, err := w.Git.ReadFile(base, path)
	if err != nil {
		return "", "", false, nil
	}
	if raw, err := w.Git.ReadFile(base, batch.ReceiptPath(path)); err == nil {
		if rc, err := batch.DecodeReceipt(batch.ReceiptPath(path), raw); err == nil && plumbing.IsHash(rc.BatchBlob) {
			return rc.MergeCommit, rc.BatchBlob, true, nil
		}
	}
	id := batch.IDFromPath(path)
	var merge gitrepo.Hash
	_ = w.Git.Log(base, true, func(c *gitrepo.Commit) error {
		if len(c.Parents) == 2 && slices.Contains(c.TrailerValues("Crmops-Batch"), id) {
			merge = c.Hash
			return gitrepo.ErrStop
		}
		return nil
	})
	if !merge.IsZero() {
		if data, err := w.Git.ReadFile(merge, path); err == nil {
			return merge.String(), gitrepo.BlobHash(data).String(), true, nil
		}
	}
	return base.String(), gitrepo.BlobHash(onBase).String(), true, nil
}

// CacheDir is the folder for crmops' cache named name, inside the git
// directory: never committed, never in the work tree, and gone with the
// clone. What is kept there can always be computed again.
func (w *Workspace) CacheDir(name string) string {
	if w.Git.Bare() {
		return filepath.Join(w.Git.Dir(), "crmops-cache", name)
	}
	return filepath.Join(w.Git.Dir(), ".git", "crmops-cache", name)
}
