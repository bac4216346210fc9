package githubtest_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/crmops/crmops/internal/forge/github/githubtest"
	"github.com/crmops/crmops/internal/gitrepo"
)

const (
	owner = "acme"
	name  = "crm-changes"
)

// fixture is a double over a bare repository whose main branch holds a
// change-request repository's skeleton, with three users: the bot that
// proposes and two reviewers.
type fixture struct {
	t    *testing.T
	ctx  context.Context
	s    *githubtest.Server
	repo *gitrepo.Repo // the test's own handle on the bare repository
	main gitrepo.Hash
	tick int

	bot, alice, bob *github.Client
}

func newFixture(t *testing.T, opts githubtest.Options) *fixture {
	t.Helper()
	bare := filepath.Join(t.TempDir(), name+".git")
	if err := gitrepo.InitBare(bare); err != nil {
		t.Fatal(err)
	}
	repo, err := gitrepo.Open(bare)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: context.Background(), repo: repo}
	f.main = f.commit(gitrepo.ZeroHash, map[string]string{
		"crmops.yaml":           "version: 1\n",
		"policies/default.yaml": "version: 1\ndefault: review\n",
	})
	f.setRef(gitrepo.BranchRef("main"), f.main)

	opts.Owner, opts.Repo, opts.BareRepo = owner, name, bare
	opts.Tokens = map[string]string{"bot-token": "crmops-bot", "alice-token": "alice", "bob-token": "bob"}
	if opts.Now == nil {
		opts.Now = clock()
	}
	f.s = githubtest.New(t, opts)
	f.bot, f.alice, f.bob = f.s.Client("bot-token"), f.s.Client("alice-token"), f.s.Client("bob-token")
	return f
}

// clock is a deterministic Options.Now: one second later at every call.
func clock() func() time.Time {
	var n atomic.Int64
	start := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

// commit writes a commit on parent (none for ZeroHash) with files written
// and paths deleted, touching no ref.
func (f *fixture) commit(parent gitrepo.Hash, files map[string]string, del ...string) gitrepo.Hash {
	f.t.Helper()
	f.tick++
	var parents []gitrepo.Hash
	if !parent.IsZero() {
		parents = []gitrepo.Hash{parent}
	}
	fm := map[string][]byte{}
	for p, s := range files {
		fm[p] = []byte(s)
	}
	who := gitrepo.Identity{Name: "crmops", Email: "crmops@example.com",
		When: time.Date(2026, 11, 24, 5, 0, f.tick, 0, time.UTC)}
	h, err := f.repo.CommitTree(gitrepo.CommitOptions{
		Base: parent, Parents: parents, Files: fm, Delete: del, Message: "test commit\n", Author: who,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *fixture) setRef(name string, h gitrepo.Hash) {
	f.t.Helper()
	if err := f.repo.SetRef(name, h); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) ref(name string) gitrepo.Hash {
	f.t.Helper()
	h, err := f.repo.Ref(name)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// branch commits files on base and points branch at the commit, as a push
// of the branch would.
func (f *fixture) branch(branch string, base gitrepo.Hash, files map[string]string, del ...string) gitrepo.Hash {
	f.t.Helper()
	h := f.commit(base, files, del...)
	f.setRef(gitrepo.BranchRef(branch), h)
	return h
}

// open opens a pull request from branch into main as client.
func (f *fixture) open(client *github.Client, branch, title string) *github.PullRequest {
	f.t.Helper()
	pr, resp, err := client.PullRequests.Create(f.ctx, owner, name, &github.NewPullRequest{
		Title: github.String(title), Head: github.String(branch), Base: github.String("main"),
	})
	if err != nil {
		f.t.Fatalf("create pull request from %s: %v", branch, err)
	}
	if resp.StatusCode != 201 {
		f.t.Fatalf("create pull request from %s: status %d, want 201", branch, resp.StatusCode)
	}
	return pr
}

// get reads pull request n until GitHub has computed its mergeability, as a
// client must.
func (f *fixture) get(client *github.Client, n int) *github.PullRequest {
	f.t.Helper()
	for range 3 {
		pr, _, err := client.PullRequests.Get(f.ctx, owner, name, n)
		if err != nil {
			f.t.Fatalf("get #%d: %v", n, err)
		}
		if pr.Mergeable != nil || pr.GetState() != "open" {
			return pr
		}
	}
	f.t.Fatalf("get #%d: mergeable still null after 3 reads", n)
	return nil
}

// apiError asserts err is GitHub's error response with the given status.
func apiError(t *testing.T, err error, status int) *github.ErrorResponse {
	t.Helper()
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("error %v (%T), want *github.ErrorResponse with status %d", err, err, status)
	}
	if er.Response.StatusCode != status {
		t.Fatalf("status %d (%s), want %d", er.Response.StatusCode, er.Message, status)
	}
	return er
}

// firstError is the message of a 422's first detailed error.
func firstError(t *testing.T, er *github.ErrorResponse) string {
	t.Helper()
	if len(er.Errors) == 0 {
		t.Fatalf("%s: no errors listed", er.Message)
	}
	return er.Errors[0].Message
}
