package local

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/gitrepo"
	"github.com/crmops/crmops/internal/workspace"
)

var t0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

const id = "20261124T060000Z-enrichment-aaaaaa"

type fixture struct {
	t  *testing.T
	ws *workspace.Workspace
	f  *Forge
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ws, err := workspace.Init(context.Background(), filepath.Join(t.TempDir(), "repo"), t0, workspace.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ws: ws, f: New(ws)}
}

func (fx *fixture) sync() gitrepo.Hash {
	fx.t.Helper()
	h, err := fx.ws.Sync(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	return h
}

// content is a batch file; created says nothing about when it merged.
func content(batchID string, created time.Time) []byte {
	return []byte("version: 1\nbatch: " + batchID + "\ncreated: " + created.Format(time.RFC3339) +
		"\ndetector: enrichment\nchanges:\n  - {id: c1, kind: enrichment, object: contacts, record: \"1\", op: set, field: jobtitle, before: \"\", after: X, source: s, confidence: 1}\n")
}

// open proposes batch bid at path as author.
func (fx *fixture) open(bid, path, author string) *forge.Open {
	fx.t.Helper()
	o, err := fx.f.Open(context.Background(), forge.Proposal{BatchID: bid, Path: path, Content: content(bid, t0), Title: "t", Summary: "s", Author: author, At: t0})
	if err != nil {
		fx.t.Fatal(err)
	}
	return o
}

func (fx *fixture) get(bid string) *forge.Open {
	fx.t.Helper()
	fx.sync()
	o, err := fx.f.Get(context.Background(), bid)
	if err != nil {
		fx.t.Fatal(err)
	}
	return o
}

// push adds a commit to the proposal branch on the remote, as a writer's
// push would: files on top of the branch's head, by author and committer.
func (fx *fixture) push(o *forge.Open, files map[string][]byte, author, email, committer string) gitrepo.Hash {
	fx.t.Helper()
	head := hashOf(o.Head)
	c, err := fx.ws.Git.CommitTree(gitrepo.CommitOptions{Base: head, Parents: []gitrepo.Hash{head}, Files: files, Message: "edit\n",
		Author:    gitrepo.Identity{Name: author, Email: email, When: t0.Add(time.Minute)},
		Committer: gitrepo.Identity{Name: committer, Email: workspace.LoginEmail(committer), When: t0.Add(time.Minute)}})
	if err != nil {
		fx.t.Fatal(err)
	}
	if err := fx.ws.Git.Push(context.Background(), fx.ws.Remote(), c.String()+":refs/heads/"+o.Branch); err != nil {
		fx.t.Fatal(err)
	}
	return c
}

// review records a review as login, bypassing Approve's refusal of the
// proposer: as anyone who can push to the review ref could.
func (fx *fixture) review(o *forge.Open, state, login, head string, at time.Time) {
	fx.t.Helper()
	if err := fx.f.record(context.Background(), o, review{state: state, login: login, head: head, at: at}, ""); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *fixture) approvals(o *forge.Open) []string {
	fx.t.Helper()
	as, err := fx.f.Approvals(context.Background(), o)
	if err != nil {
		fx.t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		if a.Head != o.Head {
			fx.t.Errorf("approval %+v is not of head %s", a, o.Head)
		}
		out = append(out, a.Login)
	}
	return out
}

func TestOpenProposesABranchWithTheBatch(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	base := fx.sync()
	path := "proposals/shard/" + id + ".yaml"
	o := fx.open(id, path, "alice")
	if o.Branch != "crmops/"+id || o.Base != base.String() || o.Author != "alice" || o.Path != path || !slices.Equal(o.Files, []string{path}) {
		t.Errorf("open %+v", o)
	}
	got := fx.get(id)
	if got.Head != o.Head || got.Base != base.String() || got.Author != "alice" || !got.Created.Equal(t0) || got.Path != path ||
		string(got.Content) != string(content(id, t0)) || !slices.Equal(got.Files, []string{path}) || !slices.Equal(got.ChangedBy, []string{"alice"}) {
		t.Errorf("get %+v", got)
	}
	c, err := fx.ws.Git.CommitInfo(hashOf(o.Head))
	if err != nil {
		t.Fatal(err)
	}
	if c.Author.Name != "alice" || c.Committer.Name != "crmops" || !slices.Equal(c.TrailerValues(TrailerBatch), []string{id}) || !strings.HasPrefix(c.Message, "Propose t\n\ns\n\n") {
		t.Errorf("proposal commit %+v", c)
	}
	list, err := fx.f.List(context.Background())
	if err != nil || len(list) != 1 || list[0].BatchID != id || list[0].Head != o.Head {
		t.Errorf("list %+v, %v", list, err)
	}
	if _, err := fx.f.Open(context.Background(), forge.Proposal{BatchID: id, Path: path, Content: []byte("x"), Author: "alice", At: t0}); !errors.Is(err, forge.ErrExists) {
		t.Errorf("second open: err = %v", err)
	}
	if _, err := fx.f.Get(context.Background(), "20261124T060000Z-none-bbbbbb"); !errors.Is(err, forge.ErrNoProposal) {
		t.Errorf("get of nothing: err = %v", err)
	}
}

// An approval counts when it is the latest review of its reviewer, of the
// head commit, by someone who neither proposed nor changed the batch; one
// per person, logins folded.
func TestApprovalsCountOnlyFourEyesOnTheHead(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	o := fx.open(id, batch.Path(id), "alice")
	if err := fx.f.Approve(ctx, o, "ALICE", t0); !errors.Is(err, forge.ErrSelfReview) {
		t.Errorf("the proposer approved: %v", err)
	}
	at := t0.Add(time.Hour)
	fx.review(o, stateApproved, "alice", o.Head, at) // written by hand
	if err := fx.f.Approve(ctx, o, "bob", at); err != nil {
		t.Fatal(err)
	}
	fx.review(o, stateApproved, "BOB", o.Head, at)
	fx.review(o, stateApproved, "frank", "0123456789012345678901234567890123456789", at)
	fx.review(o, stateApproved, "grace", o.Head, at)
	fx.review(o, "changes_requested", "Grace", o.Head, at)
	fx.review(o, "changes_requested", "heidi", o.Head, at)
	fx.review(o, stateApproved, "heidi", o.Head, at.Add(time.Minute))
	if got := fx.approvals(fx.get(id)); !slices.Equal(got, []string{"BOB", "heidi"}) {
		t.Errorf("approvals %v, want BOB (bob's latest, once) and heidi: not the proposer, not another head, not grace's withdrawn one", got)
	}
}

// Whoever changed the batch after it was proposed cannot approve it, by
// name or by the login of their e-mail; a commit that leaves the batch
// alone does not count, nor does crmops' own committer identity. Approvals
// of the head before the push no longer count.
func TestWhoeverChangedTheBatchCannotApproveIt(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	o := fx.open(id, batch.Path(id), "alice")
	fx.review(o, stateApproved, "erin", o.Head, t0)
	edited := content(id, t0.Add(24*time.Hour))
	fx.push(o, map[string][]byte{o.Path: edited}, "Carol Smith", "carol@example.com", "dave")
	got := fx.get(id)
	fx.push(got, map[string][]byte{"notes.txt": []byte("x")}, "frank", "frank@example.com", "frank")
	got = fx.get(id)
	if want := []string{"Carol Smith", "carol", "dave", "alice"}; !slices.Equal(got.ChangedBy, want) {
		t.Errorf("changed by %v, want %v", got.ChangedBy, want)
	}
	if string(got.Content) != string(edited) {
		t.Error("the proposal does not show the edited batch")
	}
	if got := fx.approvals(got); len(got) != 0 {
		t.Errorf("approvals of the old head count on the new one: %v", got)
	}
	for _, who := range []string{"carol", "Carol Smith", "dave", "frank", "erin"} {
		fx.review(got, stateApproved, who, got.Head, t0.Add(time.Hour))
	}
	if a := fx.approvals(got); !slices.Equal(a, []string{"frank", "erin"}) {
		t.Errorf("approvals %v, want frank and erin only", a)
	}
}

// Calling oneself "crmops" hides nothing: only crmops' own identity, its
// name and address both, is left out of who changed the batch.
func TestAnEditorNamedCrmopsStillChangedTheBatch(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	o := fx.open(id, batch.Path(id), "alice")
	fx.push(o, map[string][]byte{o.Path: content(id, t0.Add(24*time.Hour))}, "crmops", "mallory@example.com", "crmops")
	got := fx.get(id)
	if want := []string{"crmops", "mallory", "alice"}; !slices.Equal(got.ChangedBy, want) {
		t.Errorf("changed by %v, want %v", got.ChangedBy, want)
	}
	fx.review(got, stateApproved, "mallory", got.Head, t0.Add(time.Hour))
	if a := fx.approvals(got); len(a) != 0 {
		t.Errorf("the editor's approval counts: %v", a)
	}
}

// Review records of another batch on the review ref, or without one, are
// not reviews of this batch.
func TestReviewsOfAnotherBatchDoNotCount(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	o := fx.open(id, batch.Path(id), "alice")
	other := *o
	other.BatchID = "20261124T060000Z-enrichment-bbbbbb"
	fx.review(o, stateApproved, "bob", o.Head, t0)
	// A record naming two batches, written onto this batch's ref by hand.
	ref := reviewRef(id)
	tip, err := fx.ws.Git.Ref(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{
		"x\n\nCrmops-Batch: " + id + "\nCrmops-Batch: " + other.BatchID + "\nCrmops-Review: approved\nCrmops-Reviewer: carol\nCrmops-Head: " + o.Head + "\n",
		"x\n\nCrmops-Batch: " + other.BatchID + "\nCrmops-Review: approved\nCrmops-Reviewer: dave\nCrmops-Head: " + o.Head + "\n",
		"x\n\nCrmops-Review: approved\nCrmops-Reviewer: erin\nCrmops-Head: " + o.Head + "\n",
	} {
		tip, err = fx.ws.Git.CommitTree(gitrepo.CommitOptions{Parents: []gitrepo.Hash{tip}, Message: msg, Author: gitrepo.Identity{Name: "m", When: t0}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := fx.ws.Git.Push(context.Background(), fx.ws.Remote(), tip.String()+":"+ref); err != nil {
		t.Fatal(err)
	}
	if got := fx.approvals(fx.get(id)); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("approvals %v, want bob's only", got)
	}
	if rs, err := fx.f.reviews("20261124T060000Z-none-cccccc"); err != nil || rs != nil {
		t.Errorf("reviews of a batch never reviewed: %v, %v", rs, err)
	}
}

// Two reviewers recording at once: the second push is rejected, and the
// record is appended to what the first wrote.
func TestAReviewRecordedMeanwhileIsKept(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	o := fx.open(id, batch.Path(id), "alice")
	remote, err := gitrepo.Open(filepath.Join(fx.ws.Dir, workspace.LocalRemote))
	if err != nil {
		t.Fatal(err)
	}
	// bob approves from another clone: straight onto the remote.
	msg := "approved by bob\n\nCrmops-Batch: " + id + "\nCrmops-Review: approved\nCrmops-Reviewer: bob\nCrmops-Head: " + o.Head + "\n"
	c, err := remote.CommitTree(gitrepo.CommitOptions{Message: msg, Author: gitrepo.Identity{Name: "bob", When: t0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.SetRef(reviewRef(id), c); err != nil {
		t.Fatal(err)
	}
	if err := fx.f.Approve(ctx, o, "carol", t0); err != nil {
		t.Fatal(err)
	}
	if got := fx.approvals(fx.get(id)); !slices.Equal(got, []string{"bob", "carol"}) {
		t.Errorf("approvals %v, want bob's and carol's", got)
	}
}

// MergedBy finds the merge on the base branch's first-parent history,
// however far back and whatever the batch says of its creation, and reads
// the evidence from git: the merged head, its approvals, who proposed and
// who changed it.
func TestMergedByFindsTheMergeAndItsEvidence(t *testing.T) {
	for _, created := range []time.Time{t0.AddDate(-5, 0, 0), t0.AddDate(70, 0, 0)} {
		t.Run(created.Format("2006"), func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			ctx := context.Background()
			path := batch.Path(id)
			o, err := fx.f.Open(ctx, forge.Proposal{BatchID: id, Path: path, Content: content(id, created), Title: "t", Author: "alice", At: t0})
			if err != nil {
				t.Fatal(err)
			}
			fx.push(o, map[string][]byte{path: content(id, created.Add(time.Hour))}, "carol", "carol@x", "carol")
			o = fx.get(id)
			fx.review(o, stateApproved, "carol", o.Head, t0)
			fx.review(o, stateApproved, "bob", o.Head, t0.Add(time.Hour))
			base := fx.sync()
			mc, err := fx.f.Merge(ctx, o, forge.Merge{Base: base.String(), Head: o.Head, Title: "Merge batch " + id,
				Trailers: [][2]string{{TrailerBatch, id}, {TrailerDecision, "approved"}}, At: t0.Add(2 * time.Hour), Actor: "bob"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fx.f.Get(ctx, id); !errors.Is(err, forge.ErrNoProposal) {
				t.Errorf("the merged proposal is still open: %v", err)
			}
			// Later commits: the receipt (the batch's trailer, one parent)
			// and another batch's merge.
			who := gitrepo.Identity{Name: "crmops", Email: "crmops@x", When: t0.Add(3 * time.Hour)}
			if _, err := fx.ws.CommitToBase(ctx, map[string][]byte{batch.ReceiptPath(path): []byte("x")}, "Apply\n\nCrmops-Batch: "+id+"\nCrmops-Receipt: approved\n", who); err != nil {
				t.Fatal(err)
			}
			other := "20261124T070000Z-enrichment-bbbbbb"
			o2 := fx.open(other, batch.Path(other), "alice")
			b2 := fx.sync()
			if _, err := fx.f.Merge(ctx, o2, forge.Merge{Base: b2.String(), Head: o2.Head, Title: "m", Trailers: [][2]string{{TrailerBatch, other}, {TrailerDecision, "auto"}}, At: t0, Actor: "bob"}); err != nil {
				t.Fatal(err)
			}
			fx.sync()

			m, err := fx.f.MergedBy(ctx, id, path)
			if err != nil {
				t.Fatal(err)
			}
			if m.MergeCommit != mc || m.Base != base.String() || m.Head != o.Head || m.Author != "alice" || m.Decision != "approved" ||
				!slices.Equal(m.Files, []string{path}) || !slices.Equal(m.ChangedBy, []string{"carol", "alice"}) || m.FromFork || len(m.Unattributed) != 0 {
				t.Errorf("merged %+v", m)
			}
			if len(m.Approvals) != 1 || m.Approvals[0].Login != "bob" || m.Approvals[0].Head != o.Head || !m.Approvals[0].At.Equal(t0.Add(time.Hour)) {
				t.Errorf("approvals %+v, want bob's", m.Approvals)
			}
			c, err := fx.ws.Git.CommitInfo(hashOf(mc))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Parents) != 2 || c.Parents[0] != base || c.Parents[1].String() != o.Head || c.Author.Name != "bob" || c.Committer.Name != "crmops" ||
				!strings.HasPrefix(c.Message, "Merge batch "+id+"\n\nMerge branch 'crmops/"+id+"'\n\nCrmops-Batch: "+id+"\nCrmops-Decision: approved\n") {
				t.Errorf("merge commit %+v", c)
			}
		})
	}
}

// A batch that reached the base branch without a merge has no evidence.
func TestMergedByOfABatchPushedStraightToTheBranch(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	path := batch.Path(id)
	who := gitrepo.Identity{Name: "mallory", Email: "m@x", When: t0}
	if _, err := fx.ws.CommitToBase(ctx, map[string][]byte{path: content(id, t0)}, "sneak\n\nCrmops-Batch: "+id+"\nCrmops-Decision: approved\n", who); err != nil {
		t.Fatal(err)
	}
	m, err := fx.f.MergedBy(ctx, id, path)
	if err != nil {
		t.Fatal(err)
	}
	if m.MergeCommit != "" || m.Decision != "" {
		t.Errorf("merged %+v, want no evidence", m)
	}
}

// Merge refuses when the base or the head moved after evaluation.
func TestMergeRefusesWhatMoved(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	o := fx.open(id, batch.Path(id), "alice")
	base := fx.sync()
	if _, err := fx.f.Merge(ctx, o, forge.Merge{Base: strings.Repeat("1", 40), Head: o.Head, Title: "m", At: t0, Actor: "bob"}); !errors.Is(err, forge.ErrMoved) {
		t.Errorf("stale base: err = %v", err)
	}
	fx.push(o, map[string][]byte{o.Path: content(id, t0.Add(time.Hour))}, "alice", "alice@x", "alice")
	fx.sync()
	if _, err := fx.f.Merge(ctx, o, forge.Merge{Base: base.String(), Head: o.Head, Title: "m", At: t0, Actor: "bob"}); !errors.Is(err, forge.ErrMoved) {
		t.Errorf("stale head: err = %v", err)
	}
	if fx.sync() != base {
		t.Error("a refused merge moved the base branch")
	}
}

// Closing records who closed and deletes the branch; the closer's latest
// review is then no approval.
func TestCloseRecordsAndDeletes(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	o := fx.open(id, batch.Path(id), "alice")
	if err := fx.f.Approve(ctx, o, "bob", t0); err != nil {
		t.Fatal(err)
	}
	if err := fx.f.Close(ctx, o, "bob", " no thanks ", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	fx.sync()
	if _, err := fx.f.Get(ctx, id); !errors.Is(err, forge.ErrNoProposal) {
		t.Errorf("the closed proposal is open: %v", err)
	}
	if got, _ := fx.f.approvalsOf(id, o.Head, "alice", nil); len(got) != 0 {
		t.Errorf("approvals after closing %+v", got)
	}
	rs, err := fx.f.reviews(id)
	if err != nil || len(rs) != 2 || rs[0].state != stateClosed || rs[0].login != "bob" || rs[0].head != o.Head || !rs[0].at.Equal(t0.Add(time.Minute)) {
		t.Errorf("reviews %+v, %v", rs, err)
	}
	tip, err := fx.ws.Git.Ref(reviewRef(id))
	if err != nil {
		t.Fatal(err)
	}
	c, err := fx.ws.Git.CommitInfo(tip)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Message, "closed crmops/"+id+" by bob\n\nno thanks\n\n") {
		t.Errorf("close record %q", c.Message)
	}
}

// A proposal branch already on the base branch (merged by hand, never
// deleted) is not open.
func TestABranchMergedOutsideCrmopsIsNotOpen(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	o := fx.open(id, batch.Path(id), "alice")
	fx.open("20261124T070000Z-enrichment-bbbbbb", batch.Path("20261124T070000Z-enrichment-bbbbbb"), "alice")
	if err := fx.ws.Git.Push(ctx, fx.ws.Remote(), o.Head+":refs/heads/"+fx.ws.Branch()); err != nil {
		t.Fatal(err)
	}
	fx.sync()
	if _, err := fx.f.Get(ctx, id); !errors.Is(err, forge.ErrNoProposal) || !strings.Contains(err.Error(), "already on the base branch") {
		t.Errorf("err = %v", err)
	}
	list, err := fx.f.List(ctx)
	if err != nil || len(list) != 1 || list[0].BatchID != "20261124T070000Z-enrichment-bbbbbb" {
		t.Errorf("list %+v, %v", list, err)
	}
}

func hashOf(s string) gitrepo.Hash { return plumbing.NewHash(s) }

// A batch crmops proposed itself names only crmops, its author, in
// ChangedBy (crmops' committer identity is left out): its approval as
// crmops never counts, live or as merge evidence, because crmops is the
// proposer.
func TestCrmopsCannotApproveWhatItProposed(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	o := fx.open(id, batch.Path(id), "crmops")
	o = fx.get(id)
	if !slices.Equal(o.ChangedBy, []string{"crmops"}) || o.Author != "crmops" {
		t.Fatalf("proposal by %s changed by %v", o.Author, o.ChangedBy)
	}
	fx.review(o, stateApproved, "crmops", o.Head, t0)
	fx.review(o, stateApproved, "bob", o.Head, t0)
	if got := fx.approvals(o); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("approvals %v, want bob's only", got)
	}
	base := fx.sync()
	if _, err := fx.f.Merge(ctx, o, forge.Merge{Base: base.String(), Head: o.Head, Title: "m", Trailers: [][2]string{{TrailerBatch, id}, {TrailerDecision, "approved"}}, At: t0, Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	m, err := fx.f.MergedBy(ctx, id, o.Path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Author != "crmops" || len(m.Approvals) != 1 || m.Approvals[0].Login != "bob" {
		t.Errorf("merge evidence by %s approved by %+v, want bob's only", m.Author, m.Approvals)
	}
}

// The batch of a proposal is its batch file below proposals/, not a file
// outside it or a file below it that only shares the batch's name.
func TestTheBatchFileIsTheOneBelowProposals(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	o := fx.open(id, batch.Path(id), "alice")
	fx.push(o, map[string][]byte{"proposals/" + id: []byte("not a batch"), "zz/" + id + ".yaml": []byte("not this one")}, "alice", "alice@x", "alice")
	got := fx.get(id)
	if got.Path != batch.Path(id) || string(got.Content) != string(content(id, t0)) || len(got.Files) != 3 {
		t.Errorf("path %s, files %v, content %q", got.Path, got.Files, got.Content)
	}
}
