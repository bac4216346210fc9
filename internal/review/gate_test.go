package review

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
	"github.com/crmops/crmops/internal/policy"
	"github.com/crmops/crmops/internal/workspace"
)

// gateForge is a forge in memory: the proposals it lists, the approvals it
// counts per head, and what it was asked to do.
type gateForge struct {
	opens        []*forge.Open
	approvals    map[string][]forge.Approval // by head
	approvalsErr error
	asked        int // Approvals calls
	merges       []forge.Merge
	mergeErrs    []error // one per Merge call, then nil
	approved     []string
	closed       []string
	merged       map[string]*forge.Merged
}

func (f *gateForge) Open(context.Context, forge.Proposal) (*forge.Open, error) {
	return nil, errors.New("not used")
}

func (f *gateForge) List(context.Context) ([]*forge.Open, error) { return f.opens, nil }

func (f *gateForge) Get(_ context.Context, id string) (*forge.Open, error) {
	for _, o := range f.opens {
		if o.BatchID == id {
			return o, nil
		}
	}
	return nil, forge.ErrNoProposal
}

func (f *gateForge) Approvals(_ context.Context, o *forge.Open) ([]forge.Approval, error) {
	f.asked++
	return f.approvals[o.Head], f.approvalsErr
}

func (f *gateForge) Approve(_ context.Context, o *forge.Open, login string, _ time.Time) error {
	f.approved = append(f.approved, o.BatchID+" "+login)
	return nil
}

func (f *gateForge) Close(_ context.Context, o *forge.Open, login, reason string, _ time.Time) error {
	f.closed = append(f.closed, o.BatchID+" "+login+" "+reason)
	return nil
}

func (f *gateForge) Merge(_ context.Context, o *forge.Open, m forge.Merge) (string, error) {
	f.merges = append(f.merges, m)
	if len(f.mergeErrs) > 0 {
		err := f.mergeErrs[0]
		f.mergeErrs = f.mergeErrs[1:]
		if err != nil {
			return "", err
		}
	}
	return "merge-of-" + o.BatchID, nil
}

func (f *gateForge) MergedBy(_ context.Context, id, _ string) (*forge.Merged, error) {
	if m, ok := f.merged[id]; ok {
		return m, nil
	}
	return &forge.Merged{}, nil
}

var gateT0 = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

type gate struct {
	t  *testing.T
	ws *workspace.Workspace
	f  *gateForge
	s  *Service
}

func newGate(t *testing.T) *gate {
	t.Helper()
	ws, err := workspace.Init(context.Background(), filepath.Join(t.TempDir(), "repo"), gateT0, workspace.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := &gateForge{approvals: map[string][]forge.Approval{}, merged: map[string]*forge.Merged{}}
	return &gate{t: t, ws: ws, f: f, s: &Service{WS: ws, Forge: f, Now: func() time.Time { return gateT0.Add(time.Hour) }}}
}

func (g *gate) base() gitrepo.Hash {
	g.t.Helper()
	h, err := g.ws.Sync(context.Background())
	if err != nil {
		g.t.Fatal(err)
	}
	return h
}

func (g *gate) toBase(files map[string][]byte) gitrepo.Hash {
	g.t.Helper()
	h, err := g.ws.CommitToBase(context.Background(), files, "edit\n", gitrepo.Identity{Name: "alice", Email: "alice@x", When: gateT0})
	if err != nil {
		g.t.Fatal(err)
	}
	return h
}

var (
	gateAuto   = batch.Change{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001", Op: "set", Field: "jobtitle", After: "VP Sales", Source: "clay", Confidence: 0.95, Trigger: "import"}
	gateReview = batch.Change{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001", Op: "set", Field: "city", Before: "Berlin", After: "Munich", Source: "clay", Confidence: 0.95, Trigger: "import"}
	gateDeny   = batch.Change{ID: "c1", Kind: "lifecycle", Object: "contacts", Record: "1001", Op: "set", Field: "jobtitle", After: "VP Sales", Source: "hubspot", Confidence: 1, Trigger: "event"}
	gateBob    = forge.Approval{Login: "bob", Head: "h", At: gateT0}
)

const gateID = "20261124T060000Z-enrichment-aaaaaa"

func gateBatch(t *testing.T, id string, changes ...batch.Change) []byte {
	t.Helper()
	data, err := batch.Encode(&batch.Batch{Version: 1, ID: id, Created: gateT0, Detector: "enrichment", Title: "fill titles", Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// open is a proposal of one batch as a forge describes it, its head a real
// commit on top of the base branch.
func (g *gate) open(id string, content []byte) *forge.Open {
	g.t.Helper()
	base := g.base()
	path := batch.Path(id)
	head, err := g.ws.Git.CommitTree(gitrepo.CommitOptions{Base: base, Parents: []gitrepo.Hash{base}, Files: map[string][]byte{path: content},
		Message: "Propose\n", Author: gitrepo.Identity{Name: "crmops", Email: "crmops@x", When: gateT0}})
	if err != nil {
		g.t.Fatal(err)
	}
	return &forge.Open{BatchID: id, Branch: forge.BranchPrefix + id, Head: head.String(), Base: base.String(), Author: "crmops",
		Created: gateT0, Files: []string{path}, Path: path, Content: content}
}

func TestTheGateDecidesOnlyWithEvidence(t *testing.T) {
	t.Parallel()
	hash := strings.Repeat("ab", 20)
	tests := []struct {
		name      string
		change    batch.Change
		edit      func(g *gate, o *forge.Open)
		approvals bool // bob approved the head
		decision  string
		blocked   string
		waiting   bool
	}{
		{name: "auto", change: gateAuto, decision: batch.ModeAuto},
		{name: "auto with an approval", change: gateAuto, approvals: true, decision: batch.ModeAuto},
		{name: "review, approved", change: gateReview, approvals: true, decision: batch.ModeApproved},
		{name: "review, waiting", change: gateReview, waiting: true,
			blocked: "needs 1 approval(s) on the head commit from someone who neither proposed nor changed it, has 0"},
		{name: "denied", change: gateDeny, approvals: true, blocked: "the policy denies it (invariant:field-kind)"},
		{name: "invalid batch", edit: func(g *gate, o *forge.Open) { o.Content = []byte("version: 1\nbatch: " + gateID + "\n") },
			blocked: "invalid batch: "},
		{name: "batch id mismatch", change: gateAuto, edit: func(g *gate, o *forge.Open) { o.BatchID = "20261124T060000Z-other-bbbbbb" },
			blocked: `the batch file says batch "` + gateID + `" but the proposal is for "20261124T060000Z-other-bbbbbb"`},
		{name: "a file outside proposals/", change: gateAuto, edit: func(g *gate, o *forge.Open) { o.Files = []string{o.Path, policy.Path} },
			blocked: "it changes policies/default.yaml, outside proposals/; crmops merges only batch files"},
		{name: "a file outside proposals/ first", change: gateAuto, edit: func(g *gate, o *forge.Open) { o.Files = []string{".github/workflows/x.yml", o.Path} },
			blocked: "it changes .github/workflows/x.yml, outside proposals/"},
		{name: "a second batch", change: gateAuto, edit: func(g *gate, o *forge.Open) { o.Files = []string{o.Path, "proposals/other.yaml"} },
			blocked: "it changes proposals/other.yaml besides its batch file; a proposal holds exactly one batch"},
		{name: "a proposals/ look-alike", change: gateAuto, edit: func(g *gate, o *forge.Open) { o.Files = []string{o.Path, "proposals-x/a.yaml"} },
			blocked: "it changes proposals-x/a.yaml, outside proposals/"},
		{name: "already on the base branch", change: gateAuto, edit: func(g *gate, o *forge.Open) {
			o.Base = g.toBase(map[string][]byte{o.Path: o.Content}).String()
		}, blocked: "proposals/2026-11/" + gateID + ".yaml is already on the base branch"},
		{name: "its id on the base branch at another path", change: gateAuto, edit: func(g *gate, o *forge.Open) {
			o.Base = g.toBase(map[string][]byte{"proposals/2026-10/" + gateID + ".receipt.yaml": []byte("x")}).String()
		}, blocked: "batch " + gateID + " is already on the base branch, at proposals/2026-10/" + gateID + ".receipt.yaml"},
		{name: "from a fork", change: gateReview, approvals: true, edit: func(g *gate, o *forge.Open) { o.FromFork = true },
			blocked: "it comes from a fork; crmops merges only branches of this repository"},
		{name: "unattributed, approved", change: gateReview, approvals: true, edit: func(g *gate, o *forge.Open) {
			o.Unattributed = []string{hash, "pull request #3 has 250 commits or more"}
		}, blocked: "commit(s) " + hash[:10] + ", pull request #3 has 250 commits or more changed the batch but the forge links them to no account"},
		{name: "unattributed, auto", change: gateAuto, edit: func(g *gate, o *forge.Open) { o.Unattributed = []string{hash} },
			blocked: "commit(s) " + hash[:10] + " changed the batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGate(t)
			o := g.open(gateID, gateBatch(t, gateID, tt.change))
			if tt.edit != nil {
				tt.edit(g, o)
			}
			if tt.approvals {
				g.f.approvals[o.Head] = []forge.Approval{gateBob}
			}
			ev, err := g.s.Evaluate(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Decision != tt.decision || !strings.Contains(ev.Blocked, tt.blocked) || (tt.blocked == "") != (ev.Blocked == "") || ev.Waiting != tt.waiting {
				t.Fatalf("decision %q blocked %q waiting %v; want %q, %q, %v", ev.Decision, ev.Blocked, ev.Waiting, tt.decision, tt.blocked, tt.waiting)
			}
			if ev.Open != o || ev.PolicyRef != policy.Path+"@"+o.Base {
				t.Errorf("evaluation of %p under %s", ev.Open, ev.PolicyRef)
			}
			if ev.Batch != nil && ev.Verdict.Proposer != (policy.Proposer{Login: "crmops", Outside: o.FromFork}) {
				t.Errorf("judged as proposed by %+v", ev.Verdict.Proposer)
			}
			if ev.Decision == "" && ev.Blocked == "" {
				t.Error("neither decided nor blocked")
			}
			wantApprovals := tt.approvals && (ev.Decision != "" || strings.HasPrefix(ev.Blocked, "the policy denies"))
			if got := len(ev.Approvals) > 0; got != wantApprovals {
				t.Errorf("approvals %v", ev.Approvals)
			}
		})
	}
}

// The gate never asks a fork's forge for approvals; an invalid batch is
// never judged.
func TestTheGateStopsEarly(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateReview))
	o.FromFork = true
	if _, err := g.s.Evaluate(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if g.f.asked != 0 {
		t.Errorf("approvals of a fork's proposal were asked %d times", g.f.asked)
	}
	o = g.open(gateID, []byte("nonsense"))
	ev, err := g.s.Evaluate(context.Background(), o)
	if err != nil || ev.Batch != nil || ev.Verdict.Decision != "" {
		t.Errorf("an invalid batch was judged: %+v, %v", ev, err)
	}
}

func TestTheGateFailsWithoutPolicyOrApprovals(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateReview))
	g.f.approvalsErr = errors.New("GitHub is down")
	if _, err := g.s.Evaluate(context.Background(), o); err == nil || !strings.Contains(err.Error(), "GitHub is down") {
		t.Errorf("err = %v", err)
	}
	broken := g.toBase(map[string][]byte{policy.Path: []byte("version: 2\n")})
	o = g.open(gateID, gateBatch(t, gateID, gateAuto))
	if o.Base != broken.String() {
		t.Fatal("the proposal is not on the broken policy")
	}
	if _, err := g.s.Evaluate(context.Background(), o); err == nil || !strings.Contains(err.Error(), "policy of the base branch") {
		t.Errorf("err = %v", err)
	}
}

func TestMergeMergesTheEvaluatedHeadWithItsTrailers(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateReview))
	o.PullRequest = 7
	other := g.open("20261124T060000Z-enrichment-cccccc", gateBatch(t, "20261124T060000Z-enrichment-cccccc", gateAuto))
	other.PullRequest = 3
	g.f.opens = []*forge.Open{other, o}
	g.f.approvals[o.Head] = []forge.Approval{gateBob, {Login: "carol", At: gateT0}}
	res, err := g.s.Merge(context.Background(), &forge.Open{BatchID: gateID, PullRequest: 7}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != "merge-of-"+gateID || res.Evaluation.Decision != batch.ModeApproved {
		t.Fatalf("result %+v", res)
	}
	if len(g.f.merges) != 1 {
		t.Fatalf("%d merges", len(g.f.merges))
	}
	m := g.f.merges[0]
	if m.Base != o.Base || m.Head != o.Head || m.Title != "Merge batch "+gateID+": fill titles" || m.Actor != "alice" || !m.At.Equal(gateT0.Add(time.Hour)) {
		t.Errorf("merge %+v", m)
	}
	want := [][2]string{
		{"Crmops-Batch", gateID}, {"Crmops-Decision", "approved"}, {"Crmops-Policy", policy.Path + "@" + o.Base},
		{"Crmops-Rule", "enrichment-overwrite"}, {"Crmops-Proposer", "crmops"}, {"Crmops-Head", o.Head},
		{"Crmops-Pull-Request", "7"}, {"Approved-by", "bob"}, {"Approved-by", "carol"},
	}
	if !slices.Equal(m.Trailers, want) {
		t.Errorf("trailers\n %q\nwant\n %q", m.Trailers, want)
	}
}

func TestTrailersOfAnAutoMergeWithoutPullRequest(t *testing.T) {
	t.Parallel()
	ev := &Evaluation{Open: &forge.Open{Author: "crmops", Head: "h"}, Batch: &batch.Batch{ID: "b"}, PolicyRef: "p@c",
		Decision: "auto", Verdict: policy.BatchVerdict{Rules: []string{"r1", "r2"}}}
	want := [][2]string{{"Crmops-Batch", "b"}, {"Crmops-Decision", "auto"}, {"Crmops-Policy", "p@c"},
		{"Crmops-Rule", "r1"}, {"Crmops-Rule", "r2"}, {"Crmops-Proposer", "crmops"}, {"Crmops-Head", "h"}}
	if got := Trailers(ev); !slices.Equal(got, want) {
		t.Errorf("trailers %q, want %q", got, want)
	}
}

func TestMergeRefusesWhatTheGateBlocks(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateReview))
	g.f.opens = []*forge.Open{o}
	res, err := g.s.Merge(context.Background(), o, "alice")
	if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "merge "+gateID+": not mergeable: needs 1 approval(s)") {
		t.Fatalf("err = %v, want blocked", err)
	}
	if res == nil || res.Evaluation == nil || !res.Evaluation.Waiting || res.Commit != "" {
		t.Errorf("result %+v", res)
	}
	if len(g.f.merges) != 0 {
		t.Error("the forge was asked to merge a blocked proposal")
	}
}

func TestMergeEvaluatesAgainWhenTheProposalMoved(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateAuto))
	g.f.opens = []*forge.Open{o}
	g.f.mergeErrs = []error{forge.ErrMoved}
	res, err := g.s.Merge(context.Background(), o, "alice")
	if err != nil || res.Commit != "merge-of-"+gateID {
		t.Fatalf("result %+v, err %v", res, err)
	}
	if len(g.f.merges) != 2 {
		t.Errorf("%d merge attempts, want 2", len(g.f.merges))
	}
}

func TestMergeStopsOnAForgeError(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateAuto))
	g.f.opens = []*forge.Open{o}
	g.f.mergeErrs = []error{errors.New("405 not allowed")}
	if _, err := g.s.Merge(context.Background(), o, "alice"); err == nil || !strings.Contains(err.Error(), "405 not allowed") {
		t.Fatalf("err = %v", err)
	}
	if len(g.f.merges) != 1 {
		t.Errorf("%d merge attempts, want 1", len(g.f.merges))
	}
}

func TestMergeOfAProposalThatIsGone(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	if _, err := g.s.Merge(context.Background(), &forge.Open{BatchID: gateID}, "alice"); !errors.Is(err, forge.ErrNoProposal) {
		t.Errorf("by batch: err = %v", err)
	}
	o := g.open(gateID, gateBatch(t, gateID, gateAuto))
	o.PullRequest = 3
	g.f.opens = []*forge.Open{o}
	_, err := g.s.Merge(context.Background(), &forge.Open{BatchID: gateID, PullRequest: 4}, "alice")
	if !errors.Is(err, forge.ErrNoProposal) || !strings.Contains(err.Error(), "pull request #4") {
		t.Errorf("by pull request: err = %v", err)
	}
}

func TestApproveRecordsAndEvaluates(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateReview))
	bad := g.open("20261124T060000Z-enrichment-dddddd", []byte("version: 1\n"))
	g.f.opens = []*forge.Open{o, bad}
	g.f.approvals[o.Head] = []forge.Approval{gateBob}
	ev, err := g.s.Approve(context.Background(), gateID, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Decision != batch.ModeApproved || !slices.Equal(g.f.approved, []string{gateID + " bob"}) {
		t.Errorf("decision %q, approved %v", ev.Decision, g.f.approved)
	}
	if _, err := g.s.Approve(context.Background(), bad.BatchID, "bob"); err == nil || !strings.Contains(err.Error(), "the batch is invalid") {
		t.Errorf("err = %v", err)
	}
	if _, err := g.s.Approve(context.Background(), "20261124T060000Z-none-eeeeee", "bob"); !errors.Is(err, forge.ErrNoProposal) {
		t.Errorf("err = %v", err)
	}
	if len(g.f.approved) != 1 {
		t.Errorf("approved %v", g.f.approved)
	}
}

func TestRejectRecordsTheRejectionOfATrustedProposer(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateReview))
	o.PullRequest = 9
	g.f.opens = []*forge.Open{o}
	recorded, err := g.s.Reject(context.Background(), gateID, "bob", "  wrong city \n")
	if err != nil || !recorded {
		t.Fatalf("recorded %v, err %v", recorded, err)
	}
	if !slices.Equal(g.f.closed, []string{gateID + " bob   wrong city \n"}) {
		t.Errorf("closed %q", g.f.closed)
	}
	base := g.base()
	p := batch.RejectionPath(o.Path)
	data, err := g.ws.Git.ReadFile(base, p)
	if err != nil {
		t.Fatal(err)
	}
	rej, err := batch.DecodeRejection(p, data)
	if err != nil {
		t.Fatal(err)
	}
	if rej.Batch != gateID || rej.RejectedBy != "bob" || rej.Reason != "  wrong city \n" || rej.PullRequest != 9 || !rej.At.Equal(gateT0.Add(time.Hour)) ||
		len(rej.Changes) != 1 || rej.Changes[0].Record != "1001" || rej.Changes[0].After != "Munich" {
		t.Errorf("rejection %+v", rej)
	}
	c, err := g.ws.Git.CommitInfo(base)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Message, "Reject batch "+gateID+"\n\nwrong city\n\n") || c.Author.Name != "bob" ||
		!slices.Equal(c.TrailerValues("Crmops-Decision"), []string{"rejected"}) || !slices.Equal(c.TrailerValues("Rejected-by"), []string{"bob"}) {
		t.Errorf("commit %q by %s", c.Message, c.Author.Name)
	}
}

func TestRejectOfAForksProposalRecordsNothing(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateReview))
	o.FromFork = true
	g.f.opens = []*forge.Open{o}
	before := g.base()
	recorded, err := g.s.Reject(context.Background(), gateID, "bob", "spam")
	if err != nil || recorded {
		t.Fatalf("recorded %v, err %v", recorded, err)
	}
	if g.base() != before || len(g.f.closed) != 1 {
		t.Errorf("closed %v; base moved: %v", g.f.closed, g.base() != before)
	}
	if _, err := g.s.Reject(context.Background(), "20261124T060000Z-none-eeeeee", "bob", ""); !errors.Is(err, forge.ErrNoProposal) {
		t.Errorf("err = %v", err)
	}
}

func TestRecordRejectionOfAnInvalidBatchKeepsNoChanges(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, []byte("version: 1\n"))
	if err := RecordRejection(context.Background(), g.ws, o, "bob", "broken", gateT0); err != nil {
		t.Fatal(err)
	}
	p := batch.RejectionPath(o.Path)
	data, err := g.ws.Git.ReadFile(g.base(), p)
	if err != nil {
		t.Fatal(err)
	}
	rej, err := batch.DecodeRejection(p, data)
	if err != nil || rej.Batch != gateID || len(rej.Changes) != 0 {
		t.Errorf("rejection %+v, %v", rej, err)
	}
}

func TestListShowsOpenAndClosedBatches(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	idOpen, idBad := "20261124T060000Z-enrichment-000002", "20261124T060000Z-enrichment-000001"
	idMerged, idApplied, idRejected := "20261124T060000Z-enrichment-000004", "20261124T060000Z-enrichment-000003", "20261124T060000Z-enrichment-000005"
	idBroken := "20261124T060000Z-enrichment-000006"
	receipt, err := batch.Encode(&batch.Receipt{Version: 1, Batch: idApplied, Approval: batch.Approval{Mode: batch.ModeApproved}, ExecutedBy: "crmops"})
	if err != nil {
		t.Fatal(err)
	}
	g.toBase(map[string][]byte{
		batch.Path(idMerged):                        gateBatch(t, idMerged, gateAuto, gateReview2()),
		batch.Path(idApplied):                       gateBatch(t, idApplied, gateReview),
		batch.ReceiptPath(batch.Path(idApplied)):    receipt,
		batch.RejectionPath(batch.Path(idRejected)): []byte("x"),
		batch.Path(idBroken):                        []byte("nonsense"),
		batch.ReceiptPath(batch.Path(idBroken)):     []byte("nonsense"),
		"proposals/notes.txt":                       []byte("x"),
	})
	g.f.opens = []*forge.Open{g.open(idOpen, gateBatch(t, idOpen, gateReview)), g.open(idBad, []byte("nonsense"))}
	items, err := g.s.List(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Batch+" "+it.State+" "+it.Decision+" "+string(rune('0'+it.Changes))+" "+it.Title)
	}
	want := []string{idBad + " open invalid 0 ", idOpen + " open review 1 fill titles"}
	if !slices.Equal(got, want) {
		t.Errorf("open items\n %q\nwant\n %q", got, want)
	}
	if !strings.Contains(items[1].Blocked, "needs 1 approval") {
		t.Errorf("blocked %q", items[1].Blocked)
	}
	items, err = g.s.List(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, it := range items {
		got = append(got, it.Batch+" "+it.State+" "+it.Decision+" "+string(rune('0'+it.Changes)))
	}
	want = []string{
		idBad + " open invalid 0", idOpen + " open review 1", idApplied + " applied approved 1",
		idMerged + " merged  2", idRejected + " rejected rejected 0", idBroken + " applied  0",
	}
	slices.Sort(want)
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if !slices.Equal(sorted, want) {
		t.Errorf("all items\n %q\nwant\n %q", got, want)
	}
	if !slices.IsSortedFunc(items, func(a, b Item) int { return strings.Compare(a.Batch, b.Batch) }) {
		t.Errorf("items not sorted by batch: %q", got)
	}
}

func gateReview2() batch.Change {
	c := gateReview
	c.ID, c.Record = "c2", "1002"
	return c
}

func TestFindMergedJudgesAsTheForgeRecordedTheProposer(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	path := batch.Path(gateID)
	g.toBase(map[string][]byte{path: gateBatch(t, gateID, gateAuto)})
	g.f.merged[gateID] = &forge.Merged{Author: "mallory", FromFork: true}
	m, err := g.s.FindMerged(context.Background(), gateID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Path != path || m.Batch.ID != gateID || m.Receipt != nil || m.Verdict.Proposer != (policy.Proposer{Login: "mallory", Outside: true}) ||
		m.Verdict.Decision != policy.Review {
		t.Errorf("merged %+v", m)
	}
	if _, err := g.s.FindMerged(context.Background(), "20261124T060000Z-none-eeeeee"); err == nil || !strings.Contains(err.Error(), "no such batch") {
		t.Errorf("err = %v", err)
	}
}

// With a receipt, the verdict is the policy's the receipt names, not the
// current base's.
func TestFindMergedReadsThePolicyOfTheReceipt(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	path := batch.Path(gateID)
	old := g.toBase(map[string][]byte{path: gateBatch(t, gateID, gateAuto)})
	receipt, err := batch.Encode(&batch.Receipt{Version: 1, Batch: gateID, ExecutedBy: "crmops",
		Approval: batch.Approval{Mode: batch.ModeAuto, Policy: policy.Path + "@" + old.String()}})
	if err != nil {
		t.Fatal(err)
	}
	frozen := strings.Replace(policy.Default, "# freeze: true", "freeze: true", 1)
	g.toBase(map[string][]byte{batch.ReceiptPath(path): receipt, policy.Path: []byte(frozen)})
	m, err := g.s.FindMerged(context.Background(), gateID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Receipt == nil || m.Receipt.Approval.Mode != batch.ModeAuto || m.Verdict.Decision != policy.Auto || m.Verdict.Frozen {
		t.Errorf("verdict %+v under receipt %+v", m.Verdict, m.Receipt)
	}
	g.toBase(map[string][]byte{batch.ReceiptPath(path): []byte("nonsense")})
	if _, err := g.s.FindMerged(context.Background(), gateID); err == nil {
		t.Error("an unreadable receipt was accepted")
	}
}

// The batch shown is the one that merged (or ran), whatever the file on
// the base branch says now.
func TestFindMergedShowsTheBatchAsMerged(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"receipt", "merge commit"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			g := newGate(t)
			path := batch.Path(gateID)
			original := gateBatch(t, gateID, gateAuto)
			merge := g.toBase(map[string][]byte{path: original})
			if how == "receipt" {
				receipt, err := batch.Encode(&batch.Receipt{Version: 1, Batch: gateID, ExecutedBy: "crmops", Approval: batch.Approval{Mode: batch.ModeAuto},
					BatchBlob: plumbing.ComputeHash(plumbing.BlobObject, original).String()})
				if err != nil {
					t.Fatal(err)
				}
				g.toBase(map[string][]byte{batch.ReceiptPath(path): receipt})
			} else {
				g.f.merged[gateID] = &forge.Merged{MergeCommit: merge.String(), Author: "crmops"}
			}
			m, err := g.s.FindMerged(context.Background(), gateID)
			if err != nil {
				t.Fatal(err)
			}
			if m.EditedAfterMerge {
				t.Error("an untouched batch reads as edited")
			}
			g.toBase(map[string][]byte{path: gateBatch(t, gateID, gateReview)})
			m, err = g.s.FindMerged(context.Background(), gateID)
			if err != nil {
				t.Fatal(err)
			}
			if !m.EditedAfterMerge || m.Batch.Changes[0].Field != "jobtitle" || m.Verdict.Decision != policy.Auto {
				t.Errorf("edited %v, batch %+v, verdict %s: want the merged batch, flagged as edited since", m.EditedAfterMerge, m.Batch.Changes, m.Verdict.Decision)
			}
		})
	}
}

// A rejection file whose name is no batch id is not listed.
func TestListSkipsARejectionNamingNoBatch(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	g.toBase(map[string][]byte{"proposals/x.receipt" + batch.RejectionSuffix: []byte("x")})
	items, err := g.s.List(context.Background(), true)
	if err != nil || len(items) != 0 {
		t.Errorf("items %+v, %v", items, err)
	}
}

// A base branch that keeps moving ends the merge after workspace.Attempts
// evaluations, with an error saying so.
func TestMergeGivesUpWhenTheBaseKeepsMoving(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	o := g.open(gateID, gateBatch(t, gateID, gateAuto))
	g.f.opens = []*forge.Open{o}
	for range workspace.Attempts + 1 {
		g.f.mergeErrs = append(g.f.mergeErrs, forge.ErrMoved)
	}
	_, err := g.s.Merge(context.Background(), o, "alice")
	if err == nil || !strings.Contains(err.Error(), "merge "+gateID+": the base branch kept moving; try again") {
		t.Fatalf("err = %v", err)
	}
	if len(g.f.merges) != workspace.Attempts {
		t.Errorf("%d merge attempts, want %d", len(g.f.merges), workspace.Attempts)
	}
}
