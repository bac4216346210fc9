package modify_test

import (
	"context"
	"errors"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/forge/local"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/modify"
	"github.com/crmops/crmops/internal/workspace"
)

var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

type fixture struct {
	t  *testing.T
	ws *workspace.Workspace
	f  *local.Forge
	o  *forge.Open
}

// newFixture is a repository on the local forge with original proposed by
// carol.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	ws, err := workspace.Init(ctx, filepath.Join(t.TempDir(), "repo"), t0, workspace.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{t: t, ws: ws, f: local.New(ws)}
	if _, err := ws.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	fx.o, err = fx.f.Open(ctx, forge.Proposal{BatchID: dropID, Path: dropPath, Content: []byte(original), Title: "t", Summary: "s", Author: "carol", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func (fx *fixture) dropper() *modify.Dropper { return &modify.Dropper{WS: fx.ws, Forge: fx.f} }

func (fx *fixture) drop(login string, ids ...string) (*modify.Result, error) {
	return fx.dropper().Drop(context.Background(), modify.Request{Batch: dropID, IDs: ids, Login: login, Reason: "not the same person", At: t0.Add(time.Hour)})
}

func (fx *fixture) sync() gitrepo.Hash {
	fx.t.Helper()
	h, err := fx.ws.Sync(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	return h
}

func (fx *fixture) get() *forge.Open {
	fx.t.Helper()
	if _, err := fx.ws.Sync(context.Background()); err != nil {
		fx.t.Fatal(err)
	}
	o, err := fx.f.Get(context.Background(), dropID)
	if err != nil {
		fx.t.Fatal(err)
	}
	return o
}

func changeIDs(t *testing.T, o *forge.Open) []string {
	t.Helper()
	b, err := batch.Decode(o.Path, o.Content)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range b.Changes {
		out = append(out, c.ID)
	}
	return out
}

func TestDroppingAMergeTakesItsFollowersAndRecordsThemRejected(t *testing.T) {
	fx := newFixture(t)
	res, err := fx.drop("alice", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Dropped, []string{"c1", "c2"}) || !slices.Equal(res.Followers, []string{"c2"}) {
		t.Fatalf("dropped %v (followers %v), want c1 and its follower c2", res.Dropped, res.Followers)
	}
	o := fx.get()
	if o.Head != res.Head || !slices.Equal(changeIDs(t, o), []string{"c3", "c4"}) {
		t.Fatalf("the proposal is at %s with %v; want %s with c3, c4", o.Head, changeIDs(t, o), res.Head)
	}
	c, err := fx.ws.Git.CommitInfo(plumbing.NewHash(o.Head))
	if err != nil {
		t.Fatal(err)
	}
	if c.Author.Name != "alice" || c.Committer.Name != "alice" || c.Parents[0].String() != fx.o.Head ||
		!slices.Equal(c.TrailerValues(modify.TrailerDropped), []string{"c1, c2"}) || !strings.Contains(c.Message, "not the same person") {
		t.Fatalf("drop commit by %s/%s on %v:\n%s", c.Author.Name, c.Committer.Name, c.Parents, c.Message)
	}
	// Only the proposer changed the batch: alice may approve the new head.
	if !slices.Equal(o.ChangedBy, []string{"carol"}) {
		t.Fatalf("changed by %v, want carol only", o.ChangedBy)
	}
	if err := fx.f.Approve(context.Background(), o, "alice", t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("the dropper cannot approve: %v", err)
	}
	// The rejection record is beside the batch, with both changes.
	if len(res.Records) != 1 {
		t.Fatalf("records %v, want one", res.Records)
	}
	want := path.Join(path.Dir(dropPath), modify.RecordID(dropID, plumbing.NewHash(res.Head))+batch.RejectionSuffix)
	if res.Records[0] != want {
		t.Fatalf("record at %s, want %s", res.Records[0], want)
	}
	base, err := fx.ws.Git.Ref(fx.ws.RemoteRef())
	if err != nil {
		t.Fatal(err)
	}
	data, err := fx.ws.Git.ReadFile(base, want)
	if err != nil {
		t.Fatal(err)
	}
	rej, err := batch.DecodeRejection(want, data)
	if err != nil {
		t.Fatal(err)
	}
	if rej.Batch != batch.IDOfFile(want) || rej.RejectedBy != "alice" || len(rej.Changes) != 2 ||
		rej.Changes[0].Op != batch.OpMerge || rej.Changes[0].MergeFrom != "1005" || rej.Changes[1].Field != "jobtitle" ||
		!strings.Contains(rej.Reason, "not the same person") {
		t.Fatalf("rejection record %+v", rej)
	}
	// It does not read as the batch's own file: the batch stays mergeable.
	if batch.IDOfFile(want) == dropID || batch.IsBatchFile(want) {
		t.Fatalf("record %s reads as batch %s's file", want, dropID)
	}
}

func TestDroppingRefusesWhatItCannotDo(t *testing.T) {
	fx := newFixture(t)
	if _, err := fx.drop("alice", "c1", "c7", "x9"); !errors.Is(err, modify.ErrUnknown) || !strings.Contains(err.Error(), "c7, x9") {
		t.Fatalf("unknown ids: %v; want ErrUnknown naming c7, x9", err)
	}
	if _, err := fx.drop("alice", "c1", "c3", "c4"); !errors.Is(err, modify.ErrEverything) || !strings.Contains(err.Error(), "crmops review reject") {
		t.Fatalf("dropping every change: %v; want ErrEverything saying to reject", err)
	}
	if o := fx.get(); o.Head != fx.o.Head {
		t.Fatalf("a refused drop moved the proposal to %s", o.Head)
	}
	if _, err := fx.dropper().Drop(context.Background(), modify.Request{Batch: "20261124T060000Z-nothing-000000", IDs: []string{"c1"}, Login: "alice", At: t0}); !errors.Is(err, forge.ErrNoProposal) {
		t.Fatalf("a batch with no proposal: %v", err)
	}
}

// racing is a forge that, after the first Get, runs a push from elsewhere:
// what the caller read is then stale.
type racing struct {
	forge.Forge
	then func()
}

func (r *racing) Get(ctx context.Context, id string) (*forge.Open, error) {
	o, err := r.Forge.Get(ctx, id)
	if r.then != nil {
		r.then()
		r.then = nil
	}
	return o, err
}

// A drop builds on the head it read and pushes with compare-and-swap: a
// push to the branch in between is not overwritten, the drop is rebuilt on
// it.
func TestADropRebuildsOnAProposalThatMoved(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	other := cloneOf(t, fx)
	var raced *modify.Result
	f := &racing{Forge: fx.f, then: func() {
		// Another clone drops c4 just after this one read the proposal.
		var err error
		if raced, err = (&modify.Dropper{WS: other, Forge: local.New(other)}).Drop(ctx, modify.Request{Batch: dropID, IDs: []string{"c4"}, Login: "bob", At: t0}); err != nil {
			t.Fatal(err)
		}
	}}
	res, err := (&modify.Dropper{WS: fx.ws, Forge: f}).Drop(ctx, modify.Request{Batch: dropID, IDs: []string{"c3"}, Login: "alice", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	o := fx.get()
	if !slices.Equal(changeIDs(t, o), []string{"c1", "c2"}) || !slices.Equal(res.Dropped, []string{"c3"}) {
		t.Fatalf("after two drops: %v (this one dropped %v); want c1, c2 left", changeIDs(t, o), res.Dropped)
	}
	c, err := fx.ws.Git.CommitInfo(plumbing.NewHash(res.Head))
	if err != nil || c.Parents[0].String() != raced.Head {
		t.Fatalf("alice's drop %s is not on bob's %s: %v", res.Head, raced.Head, err)
	}
	if !slices.Equal(o.ChangedBy, []string{"carol"}) {
		t.Fatalf("changed by %v, want carol only", o.ChangedBy)
	}
}

// A drop racing a merge of the head it read loses cleanly: the merge moved
// the branch away, so the drop pushes nothing and says the proposal is
// gone; nothing claims a drop that did not happen.
func TestADropThatLosesToAMergeSaysSo(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	f := &racing{Forge: fx.f, then: func() {
		o := fx.get()
		base, _ := fx.ws.Git.Ref(fx.ws.RemoteRef())
		if _, err := fx.f.Merge(ctx, o, forge.Merge{Base: base.String(), Head: o.Head, Title: "merge", Actor: "bob", At: t0}); err != nil {
			t.Fatal(err)
		}
	}}
	_, err := (&modify.Dropper{WS: fx.ws, Forge: f}).Drop(ctx, modify.Request{Batch: dropID, IDs: []string{"c3"}, Login: "alice", At: t0})
	if !errors.Is(err, forge.ErrNoProposal) {
		t.Fatalf("drop after a merge: %v, want no open proposal", err)
	}
}

// A merge of a head that a drop replaced meanwhile is refused: the local
// forge moves the base and deletes the branch in one push, only from the
// commits it evaluated.
func TestAMergeOfAHeadThatADropReplacedIsRefused(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	stale := fx.get()
	other := cloneOf(t, fx)
	if _, err := (&modify.Dropper{WS: other, Forge: local.New(other)}).Drop(ctx, modify.Request{Batch: dropID, IDs: []string{"c4"}, Login: "bob", At: t0}); err != nil {
		t.Fatal(err)
	}
	// This checkout read the base after the drop's record, and the
	// proposal before the drop: only the remote can tell it moved.
	base := fx.sync()
	if err := fx.ws.Git.SetRef("refs/remotes/origin/"+stale.Branch, plumbing.NewHash(stale.Head)); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.f.Merge(ctx, stale, forge.Merge{Base: base.String(), Head: stale.Head, Title: "merge", Actor: "alice", At: t0}); !errors.Is(err, forge.ErrMoved) {
		t.Fatalf("merge of the replaced head: %v, want ErrMoved", err)
	}
	tips, err := fx.ws.Git.RemoteRefs(ctx, "origin", "refs/heads/")
	if err != nil {
		t.Fatal(err)
	}
	if tips["refs/heads/main"] != base || tips["refs/heads/"+stale.Branch].String() == stale.Head {
		t.Fatalf("after the refused merge: %v", tips)
	}
}

func cloneOf(t *testing.T, fx *fixture) *workspace.Workspace {
	t.Helper()
	url, err := fx.ws.Git.RemoteURL("origin")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "clone")
	if _, err := gitrepo.Clone(context.Background(), url, dir, nil); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ws
}

// Asking again for what was dropped records it if it is not recorded yet:
// a retry after a failed record, or a drop made by editing the file.
func TestAskingAgainRecordsAnEarlierDrop(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	// Dana deletes c4 in an editor and pushes.
	head := plumbing.NewHash(fx.o.Head)
	who := gitrepo.Identity{Name: "dana", Email: "dana@example.com", When: t0}
	edit, err := fx.ws.Git.CommitTree(gitrepo.CommitOptions{Base: head, Parents: []gitrepo.Hash{head},
		Files: map[string][]byte{dropPath: []byte(without(original, "c4"))}, Message: "delete c4\n", Author: who, Committer: who})
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.ws.Git.Push(ctx, "origin", edit.String()+":refs/heads/"+fx.o.Branch); err != nil {
		t.Fatal(err)
	}
	if o := fx.get(); !slices.Equal(o.ChangedBy, []string{"carol"}) {
		t.Fatalf("a pure drop in an editor made %v changers, want carol only", o.ChangedBy)
	}
	res, err := fx.drop("alice", "c4")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Dropped) != 0 || !slices.Equal(res.Earlier, []string{"c4"}) || len(res.Records) != 1 || !strings.Contains(res.Records[0], edit.String()[:12]) {
		t.Fatalf("result %+v; want c4 found dropped in %s and recorded", res, edit)
	}
	again, err := fx.drop("alice", "c4")
	if err != nil || !slices.Equal(again.Records, res.Records) {
		t.Fatalf("a third time: %+v, %v", again, err)
	}
	base, _ := fx.ws.Git.Ref(fx.ws.RemoteRef())
	n := 0
	_ = fx.ws.Git.Log(base, true, func(c *gitrepo.Commit) error {
		if len(c.TrailerValues(modify.TrailerDrop)) > 0 {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Fatalf("%d rejection commits for one drop, want 1", n)
	}
}

// An edit is no drop: whoever made it still cannot approve, even if
// they drop changes afterwards.
func TestAnEditorWhoAlsoDropsStillChangedTheBatch(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	head := plumbing.NewHash(fx.o.Head)
	who := gitrepo.Identity{Name: "alice", Email: workspace.LoginEmail("alice"), When: t0}
	edit, err := fx.ws.Git.CommitTree(gitrepo.CommitOptions{Base: head, Parents: []gitrepo.Hash{head},
		Files: map[string][]byte{dropPath: []byte(strings.Replace(original, "after: Founder", "after: CEO", 1))}, Message: "edit\n", Author: who, Committer: who})
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.ws.Git.Push(ctx, "origin", edit.String()+":refs/heads/"+fx.o.Branch); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.drop("alice", "c4"); err != nil {
		t.Fatal(err)
	}
	o := fx.get()
	if !slices.Contains(o.ChangedBy, "alice") {
		t.Fatalf("changed by %v; alice edited a value and must be among them", o.ChangedBy)
	}
	if err := fx.f.Approve(ctx, o, "alice", t0.Add(time.Hour)); !errors.Is(err, forge.ErrSelfReview) {
		t.Fatalf("alice approved what she edited: %v", err)
	}
}

func TestCompareAndSwapMovesOnlyFromTheOldValue(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	head := plumbing.NewHash(fx.o.Head)
	ref := "refs/heads/" + fx.o.Branch
	who := gitrepo.Identity{Name: "alice", Email: "alice@example.com", When: t0}
	next, err := fx.ws.Git.CommitTree(gitrepo.CommitOptions{Base: head, Parents: []gitrepo.Hash{head},
		Files: map[string][]byte{dropPath: []byte(without(original, "c4"))}, Message: "x\n", Author: who})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := fx.ws.Git.Ref(fx.ws.RemoteRef())
	// Stale: the branch is at head, not base.
	if err := fx.ws.Git.PushExpect(ctx, "origin", gitrepo.RefUpdate{Name: ref, Old: base, New: next}); !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("update from a stale old value: %v, want ErrRejected", err)
	}
	// Deleted meanwhile: not re-created.
	if err := fx.ws.Git.PushExpect(ctx, "origin", gitrepo.RefUpdate{Name: ref, Old: head}); err != nil {
		t.Fatal(err)
	}
	if err := fx.ws.Git.PushExpect(ctx, "origin", gitrepo.RefUpdate{Name: ref, Old: head, New: next}); !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("update of a deleted ref: %v, want ErrRejected", err)
	}
	refs, err := fx.ws.Git.RemoteRefs(ctx, "origin", ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := refs[ref]; ok {
		t.Fatalf("the deleted branch came back: %v", refs)
	}
	// Atomic: one stale update refuses the other.
	if err := fx.ws.Git.PushExpect(ctx, "origin",
		gitrepo.RefUpdate{Name: ref, New: head},
		gitrepo.RefUpdate{Name: "refs/heads/" + fx.ws.Branch(), Old: head, New: next}); !errors.Is(err, gitrepo.ErrRejected) {
		t.Fatalf("atomic update with one stale ref: %v, want ErrRejected", err)
	}
	if refs, _ := fx.ws.Git.RemoteRefs(ctx, "origin", ref); len(refs) != 0 {
		t.Fatalf("half of an atomic update happened: %v", refs)
	}
	// Created from nothing, then moved.
	if err := fx.ws.Git.PushExpect(ctx, "origin", gitrepo.RefUpdate{Name: ref, New: head}); err != nil {
		t.Fatal(err)
	}
	if err := fx.ws.Git.PushExpect(ctx, "origin", gitrepo.RefUpdate{Name: ref, Old: head, New: next}); err != nil {
		t.Fatal(err)
	}
	other := cloneOf(t, fx)
	if got, err := other.Git.Ref("refs/remotes/origin/" + fx.o.Branch); err != nil || got != next {
		t.Fatalf("a fresh clone sees the branch at %s (%v), want %s", got, err, next)
	}
	if data, err := other.Git.ReadFile(next, dropPath); err != nil || string(data) != without(original, "c4") {
		t.Fatalf("the pushed commit's file in a fresh clone: %v", err)
	}
}
