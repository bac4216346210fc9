// Package gitrepo is crmops' narrow, fast interface to git, built on go-git:
// writing commits without touching the work tree, reading files and trailers
// from history, moving branches with a work tree kept in step, and talking to
// remotes.
//
// Everything here is sized for change-request repositories whose proposals/
// folder holds tens of thousands of files: no operation hashes the work tree or
// walks the whole history when only a few paths or commits are involved.
package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Hash names a git object. It is go-git's type, so callers can pass hashes to
// go-git directly where they must.
type Hash = plumbing.Hash

// ZeroHash is the hash of no object: a branch that does not exist yet, or the
// empty tree when given as a base.
var ZeroHash = plumbing.ZeroHash

// DefaultBranch is the branch new repositories start on.
const DefaultBranch = "main"

var (
	// ErrRefNotFound reports a reference that does not exist, locally or on a
	// remote.
	ErrRefNotFound = errors.New("reference not found")
	// ErrRejected reports a ref update the remote (or the local fast-forward
	// check) refused because the ref moved: fetch, rebuild and push again.
	ErrRejected = errors.New("update rejected")
	// ErrRefMoved reports a local compare-and-swap that found the ref somewhere
	// other than expected.
	ErrRefMoved = errors.New("reference moved")
	// ErrDirtyWorktree reports a work tree file that differs from what git
	// recorded for it, which a branch move would otherwise overwrite.
	ErrDirtyWorktree = errors.New("work tree has local changes")
	// ErrStop, returned from a Log callback, ends the walk early without error.
	ErrStop = errors.New("stop walking")
)

// Identity is the author or committer of a commit. When is passed in by the
// caller rather than read from the clock so tests and replays are
// deterministic.
type Identity struct {
	Name  string
	Email string
	When  time.Time
}

func (id Identity) signature() object.Signature {
	return object.Signature{Name: id.Name, Email: id.Email, When: id.When}
}

func identityOf(s object.Signature) Identity {
	return Identity{Name: s.Name, Email: s.Email, When: s.When}
}

// Repo is an open repository, bare or with a work tree. Use it from one
// goroutine at a time: go-git's storage makes no promises about concurrent
// writers.
type Repo struct {
	// Auth authenticates fetch, push and ref listing; nil for path remotes.
	// For GitHub use &http.BasicAuth{Username: "x-access-token", Password: token}.
	Auth transport.AuthMethod

	dir    string // the work tree, or the git directory when bare
	bare   bool
	git    *git.Repository
	storer storage.Storer
	trees  *treeCache
	// noAutoPack turns packing after a push off, for benchmarks measuring
	// what it costs.
	noAutoPack bool
}

// InitBare creates a bare repository in dir whose HEAD names refs/heads/main,
// the shape of the local forge's remote.
func InitBare(dir string) error {
	_, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(DefaultBranch)},
		Bare:        true,
	})
	if err != nil {
		return fmt.Errorf("init bare repository %s: %w", dir, err)
	}
	return nil
}

// Init creates a repository with a work tree in dir, on an unborn main branch,
// with remote "origin" at remoteURL (a path or URL; empty for none).
func Init(dir, remoteURL string) (*Repo, error) {
	_, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(DefaultBranch)},
	})
	if err != nil {
		return nil, fmt.Errorf("init repository %s: %w", dir, err)
	}
	r, err := Open(dir)
	if err != nil {
		return nil, err
	}
	if remoteURL != "" {
		if err := r.AddRemote("origin", remoteURL); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Open opens the repository whose work tree (or, for a bare repository, git
// directory) is dir. It does not search parent directories: commands resolve
// --repo before calling it.
func Open(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	gitDir, bare := filepath.Join(abs, git.GitDirName), false
	if fi, err := os.Stat(gitDir); err != nil || !fi.IsDir() {
		// Worktrees and submodules use a .git file; crmops repositories are
		// plain clones, so a missing .git directory means bare or nothing.
		if _, err := os.Stat(filepath.Join(abs, "HEAD")); err != nil {
			return nil, fmt.Errorf("open repository %s: %w", dir, git.ErrRepositoryNotExists)
		}
		gitDir, bare = abs, true
	}
	fsStorage := filesystem.NewStorage(newListingFS(gitDir), cache.NewObjectLRUDefault())
	st := &durableStorage{Storage: fsStorage, gitDir: gitDir}
	var g *git.Repository
	if bare {
		g, err = git.Open(st, nil)
	} else {
		g, err = git.Open(st, osfs.New(abs))
	}
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	// 200,000 entries is about 20 MB: the latest trees of a repository
	// with tens of thousands of proposals.
	r := &Repo{dir: abs, bare: bare, git: g, storer: st, trees: newTreeCache(200_000)}
	if !bare {
		if err := r.recoverCheckout(); err != nil {
			return nil, fmt.Errorf("open repository %s: %w", dir, err)
		}
	}
	return r, nil
}

// Lock takes the repository-wide lock named name (a file in the git
// directory), waiting for whoever holds it; call the returned function to
// release it. It is a kernel lock: a killed process never leaves it held.
// It serializes crmops processes sharing one checkout; two checkouts of one
// remote are kept apart by the remote's own compare-and-swap on push.
func (r *Repo) Lock(name string) (func(), error) {
	gitDir := r.dir
	if !r.bare {
		gitDir = filepath.Join(r.dir, git.GitDirName)
	}
	return lockFile(filepath.Join(gitDir, name))
}

// Clone clones url into dir and checks out the remote's default branch. An
// empty remote yields a repository on an unborn main branch with origin set,
// ready for its first commit. auth may be nil for path remotes; it is kept as
// the Repo's Auth.
func Clone(ctx context.Context, url, dir string, auth transport.AuthMethod) (*Repo, error) {
	_, err := git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{URL: url, Auth: auth})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		// Start from a clean slate whatever go-git left behind.
		if rmErr := os.RemoveAll(filepath.Join(dir, git.GitDirName)); rmErr != nil {
			return nil, fmt.Errorf("clone %s: %w", url, rmErr)
		}
		r, err := Init(dir, url)
		if err != nil {
			return nil, fmt.Errorf("clone empty %s: %w", url, err)
		}
		r.Auth = auth
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", url, err)
	}
	r, err := Open(dir)
	if err != nil {
		return nil, err
	}
	r.Auth = auth
	return r, nil
}

// Dir is the absolute path of the work tree, or of the git directory for a
// bare repository.
func (r *Repo) Dir() string { return r.dir }

// Bare reports whether the repository has no work tree.
func (r *Repo) Bare() bool { return r.bare }

// Git exposes the underlying go-git repository for the rare operation this
// package does not wrap.
func (r *Repo) Git() *git.Repository { return r.git }

// AddRemote records a remote whose fetch refspec mirrors its branches under
// refs/remotes/<name>/, as git clone would.
func (r *Repo) AddRemote(name, url string) error {
	_, err := r.git.CreateRemote(&config.RemoteConfig{
		Name:  name,
		URLs:  []string{url},
		Fetch: []config.RefSpec{config.RefSpec("+refs/heads/*:refs/remotes/" + name + "/*")},
	})
	if err != nil {
		return fmt.Errorf("add remote %s: %w", name, err)
	}
	return nil
}

// RemoteURL is the URL of the named remote.
func (r *Repo) RemoteURL(name string) (string, error) {
	rem, err := r.git.Remote(name)
	if err != nil {
		return "", fmt.Errorf("remote %s: %w", name, err)
	}
	urls := rem.Config().URLs
	if len(urls) == 0 {
		return "", fmt.Errorf("remote %s has no URL", name)
	}
	return urls[0], nil
}

// Repack moves every object reachable from a ref into one delta-compressed
// pack and deletes the loose copies, as git gc does. CommitTree writes loose
// objects, and each one of a large flat directory is a full copy of that
// directory's tree: 5,000 batches in a flat proposals/ leave about 1.2 GB of
// loose trees that pack into a few MB. Call it now and then from long-lived
// repositories (the local forge); CI clones are packed already. Like gc
// without a grace period, it drops packed objects that no ref reaches;
// unreferenced loose objects (a commit just written, not yet on a ref) and
// packs written while it runs are kept.
func (r *Repo) Repack() error {
	err := r.git.RepackObjects(&git.RepackConfig{OnlyDeletePacksOlderThan: time.Now()})
	if err != nil {
		return fmt.Errorf("repack %s: %w", r.dir, err)
	}
	return nil
}
