package apply

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/policy"
)

const (
	idA = "20261124T060000Z-enrichment-aaaaaa"
	idB = "20261124T070000Z-enrichment-bbbbbb"
)

var (
	pathA = batch.Path(idA)
	pathB = batch.Path(idB)
	// auto is what the default policy applies without review; review needs
	// one approval (enrichment-overwrite); misfit is denied (a lifecycle
	// change may write only lifecyclestage).
	auto   = set("c1", "1001", "jobtitle", "", "VP Sales")
	review = set("c1", "1001", "city", "Berlin", "Munich")
	misfit = batch.Change{ID: "c1", Kind: "lifecycle", Object: "contacts", Record: "1001", Op: batch.OpSet,
		Field: "jobtitle", After: "VP Sales", Source: "hubspot", Confidence: 1, Trigger: "event"}
	bob = approval("bob", time.Date(2026, 11, 24, 8, 0, 0, 700_000_000, time.FixedZone("CET", 3600)))
)

// Every way a batch can reach the base branch without the evidence that
// lets it execute is refused: nothing runs, and the refusal is committed
// as a receipt with mode refused whose every change is skipped.
func TestApplyRefusesABatchWithoutApprovalEvidence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change batch.Change
		edit   func(fx *fixture, m *forge.Merged)
		want   string
	}{
		{"no crmops merge", auto, func(fx *fixture, m *forge.Merged) { *m = forge.Merged{} },
			"no approval evidence: the batch reached main without a crmops merge"},
		{"the merge changed another file too", auto, func(fx *fixture, m *forge.Merged) { m.Files = []string{pathA, policy.Path} },
			"changed " + pathA + ", " + policy.Path + ", not only " + pathA},
		{"the merge changed one other file", auto, func(fx *fixture, m *forge.Merged) { m.Files = []string{pathB} },
			"changed " + pathB + ", not only " + pathA},
		{"the merge changed nothing", auto, func(fx *fixture, m *forge.Merged) { m.Files = nil },
			"not only " + pathA},
		{"the batch differs from the reviewed head", auto, func(fx *fixture, m *forge.Merged) {
			m.Head = fx.commit(hash(m.Base), map[string][]byte{pathA: encode(fx.t, idA, set("c1", "1001", "jobtitle", "", "CEO"))}).String()
		}, "the batch on main differs from the reviewed head"},
		{"the reviewed head has no batch", auto, func(fx *fixture, m *forge.Merged) { m.Head = m.Base },
			"the batch on main differs from the reviewed head"},
		{"the policy is unreadable", auto, func(fx *fixture, m *forge.Merged) {
			m.Base = fx.commit(hash(m.Base), map[string][]byte{policy.Path: []byte("version: 2\n")}).String()
		}, "the policy the merge was decided under cannot be read"},
		{"the policy is missing", auto, func(fx *fixture, m *forge.Merged) {
			m.Base = fx.commit(hash(m.Base), nil, policy.Path).String()
		}, "the policy the merge was decided under cannot be read"},
		{"a review batch without approvals", review, func(fx *fixture, m *forge.Merged) { m.Decision = batch.ModeApproved },
			"no approval evidence: needs 1 approval(s) on the head commit from someone who neither proposed nor changed it, has 0"},
		{"approvals beside an unattributed commit", review, func(fx *fixture, m *forge.Merged) {
			m.Decision, m.Approvals, m.Unattributed = batch.ModeApproved, []forge.Approval{bob}, []string{strings.Repeat("ab", 20), "and more"}
		}, "commit(s) changed the batch that the forge links to no account: " + strings.Repeat("ab", 20) + ", and more"},
		{"an auto batch beside an unattributed commit", auto, func(fx *fixture, m *forge.Merged) {
			m.Unattributed = []string{"x"}
		}, "commit(s) changed the batch that the forge links to no account: x"},
		{"a denied batch, approved", misfit, func(fx *fixture, m *forge.Merged) {
			m.Decision, m.Approvals = batch.ModeApproved, []forge.Approval{bob}
		}, "no approval evidence: the policy denies it (invariant:field-kind)"},
		{"an approved review batch from a fork", review, func(fx *fixture, m *forge.Merged) {
			m.Decision, m.Approvals, m.FromFork = batch.ModeApproved, []forge.Approval{bob}, true
		}, "a pull request from a fork is never applied"},
		{"an approved auto batch from a fork", auto, func(fx *fixture, m *forge.Merged) {
			m.Decision, m.Approvals, m.FromFork = batch.ModeApproved, []forge.Approval{bob}, true
		}, "a pull request from a fork is never applied"},
		{"auto claimed for an approved review batch", review, func(fx *fixture, m *forge.Merged) {
			m.Approvals = []forge.Approval{bob}
		}, "the merge recorded auto, but the base policy requires review"},
		{"no crmops decision", auto, func(fx *fixture, m *forge.Merged) { m.Decision = "" },
			"the merge records no crmops decision"},
		{"a decision crmops never records", auto, func(fx *fixture, m *forge.Merged) { m.Decision = batch.ModeRefused },
			"the merge records no crmops decision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			m := fx.merge(idA, pathA, encode(t, idA, tt.change))
			tt.edit(fx, m)
			rep := fx.run(Options{})
			if len(rep.Batches) != 1 {
				t.Fatalf("report %+v, want one batch", rep)
			}
			br := rep.Batches[0]
			if br.Mode != batch.ModeRefused || !strings.Contains(br.Refused, tt.want) {
				t.Fatalf("batch %s: mode %q refused %q; want refused: %q", br.Batch, br.Mode, br.Refused, tt.want)
			}
			if rep.Problems() != 1 {
				t.Errorf("problems = %d, want 1 for a refused batch", rep.Problems())
			}
			if w := fx.crm.writes(); len(w) != 0 {
				t.Errorf("a refused batch wrote to the CRM: %v", w)
			}
			if got := strings.Join(fx.ev.asked, ";"); got != idA+" "+pathA {
				t.Errorf("evidence asked for %q, want the batch and its path", got)
			}
			rc := fx.receipt(pathA)
			if rc.Approval.Mode != batch.ModeRefused || rc.Approval.Refused != br.Refused || rc.ExecutedBy != "crmops/test" || rc.MergeCommit != "" {
				t.Errorf("receipt %+v does not record the refusal", rc)
			}
			if len(rc.Changes) != 1 || rc.Changes[0].ID != "c1" || rc.Changes[0].Status != batch.StatusSkipped ||
				rc.Changes[0].After != tt.change.After || rc.Changes[0].Error != "not executed: "+br.Refused ||
				!rc.Changes[0].At.Equal(t0.Add(500*time.Millisecond).Truncate(time.Second)) {
				t.Errorf("receipt changes %+v, want c1 skipped as not executed", rc.Changes)
			}
			tip := fx.tip()
			if subject := strings.SplitN(tip.Message, "\n", 2)[0]; subject != "Refuse batch "+idA+": "+br.Refused {
				t.Errorf("receipt commit subject %q", subject)
			}
			if v := tip.TrailerValues("Crmops-Receipt"); len(v) != 1 || v[0] != batch.ModeRefused {
				t.Errorf("receipt commit trailers %v, want Crmops-Receipt: refused", tip.Trailers)
			}
			if !strings.Contains(tip.Message, "[skip actions]") || tip.Author.Name != "crmops" {
				t.Errorf("receipt commit %q by %s", tip.Message, tip.Author.Name)
			}
			// Refused once is done: a second run leaves it alone.
			if rep := fx.run(Options{}); len(rep.Batches) != 0 {
				t.Errorf("a refused batch was taken up again: %+v", rep.Batches)
			}
		})
	}
}

// A batch that does not decode is refused without asking for evidence,
// and its receipt lists no changes.
func TestApplyRefusesAnInvalidBatch(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.toBase(map[string][]byte{pathA: []byte("version: 1\nbatch: " + idA + "\n")}, "hand-made\n")
	rep := fx.run(Options{})
	if len(rep.Batches) != 1 || rep.Batches[0].Mode != batch.ModeRefused || !strings.HasPrefix(rep.Batches[0].Refused, "invalid batch: ") {
		t.Fatalf("report %+v, want the invalid batch refused", rep.Batches)
	}
	if len(fx.ev.asked) != 0 {
		t.Errorf("evidence was asked for an invalid batch: %v", fx.ev.asked)
	}
	rc := fx.receipt(pathA)
	if rc.Approval.Mode != batch.ModeRefused || rc.Approval.Refused != rep.Batches[0].Refused || len(rc.Changes) != 0 {
		t.Errorf("receipt %+v", rc)
	}
}

// A dry run reports a refusal but records nothing.
func TestDryRunOfARefusedBatchRecordsNothing(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	m := fx.merge(idA, pathA, encode(t, idA, auto))
	m.Decision = ""
	rep := fx.run(Options{DryRun: true})
	if len(rep.Batches) != 1 || rep.Batches[0].Refused == "" || rep.Batches[0].Planned != nil {
		t.Fatalf("report %+v, want a refusal", rep.Batches)
	}
	if fx.hasReceipt(pathA) || len(fx.crm.writes()) != 0 {
		t.Error("a dry run recorded or executed a refused batch")
	}
}

func TestApplyExecutesAnAutoBatch(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	m := fx.merge(idA, pathA, encode(t, idA, auto))
	// Approvals the forge lists on an auto merge are not approvers.
	m.Approvals = []forge.Approval{bob}
	rep := fx.run(Options{})
	if len(rep.Batches) != 1 {
		t.Fatalf("report %+v", rep)
	}
	br := rep.Batches[0]
	if br.Batch != idA || br.Mode != batch.ModeAuto || br.Refused != "" || br.Counts[batch.StatusApplied] != 1 || rep.Problems() != 0 {
		t.Fatalf("batch report %+v, want auto with one change applied", br)
	}
	if got := fx.crm.field("contacts", "1001", "jobtitle"); got != "VP Sales" {
		t.Errorf("jobtitle = %q, want VP Sales", got)
	}
	rc := fx.receipt(pathA)
	want := batch.Approval{Mode: batch.ModeAuto, Policy: policy.Path + "@" + m.Base, Rules: []string{"enrichment-fill-empty"}, PullRequest: 7}
	if rc.Approval.Mode != want.Mode || rc.Approval.Policy != want.Policy || !slices.Equal(rc.Approval.Rules, want.Rules) ||
		rc.Approval.PullRequest != 7 || len(rc.Approval.Approvers) != 0 || rc.Approval.Refused != "" {
		t.Errorf("approval %+v, want %+v", rc.Approval, want)
	}
	if rc.MergeCommit != m.MergeCommit || rc.ExecutedBy != "crmops/test" || rc.Batch != idA {
		t.Errorf("receipt %+v", rc)
	}
	if len(rc.Changes) != 1 || rc.Changes[0].Status != batch.StatusApplied || rc.Changes[0].After != "VP Sales" ||
		rc.Changes[0].ObservedBefore != "" || rc.Changes[0].At.Nanosecond() != 0 || rc.Changes[0].At.Location() != time.UTC {
		t.Errorf("changes %+v", rc.Changes)
	}
	tip := fx.tip()
	if subject := strings.SplitN(tip.Message, "\n", 2)[0]; subject != "Apply batch "+idA+": 1 applied" {
		t.Errorf("subject %q", subject)
	}
	if v := tip.TrailerValues("Crmops-Receipt"); len(v) != 1 || v[0] != batch.ModeAuto {
		t.Errorf("trailers %v", tip.Trailers)
	}
	if v := tip.TrailerValues("Crmops-Batch"); len(v) != 1 || v[0] != idA {
		t.Errorf("trailers %v", tip.Trailers)
	}
	if _, err := os.Stat(fx.ws.Path(".crmops/partial/" + idA + batch.ReceiptSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the partial receipt was left behind: %v", err)
	}
	before := fx.base()
	if rep := fx.run(Options{}); len(rep.Batches) != 0 {
		t.Errorf("an applied batch was applied again: %+v", rep.Batches)
	}
	if fx.base() != before || fx.log.Len() != 0 {
		t.Errorf("a run with nothing to do committed or logged: %q", fx.log.String())
	}
}

func TestApplyExecutesAnApprovedBatchNamingItsApprovers(t *testing.T) {
	t.Parallel()
	for _, change := range []batch.Change{review, auto} {
		t.Run(change.Field, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			m := fx.merge(idA, pathA, encode(t, idA, change))
			carol := approval("carol", time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
			m.Decision, m.Approvals = batch.ModeApproved, []forge.Approval{bob, carol}
			rep := fx.run(Options{})
			if br := rep.Batches[0]; br.Mode != batch.ModeApproved || br.Counts[batch.StatusApplied] != 1 {
				t.Fatalf("batch report %+v", br)
			}
			if got := fx.crm.field("contacts", "1001", change.Field); got != change.After {
				t.Errorf("%s = %q, want %q", change.Field, got, change.After)
			}
			a := fx.receipt(pathA).Approval
			want := []batch.Approver{{Login: "bob", At: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)}, {Login: "carol", At: carol.At}}
			if a.Mode != batch.ModeApproved || len(a.Approvers) != 2 || a.Approvers[0].Login != "bob" || !a.Approvers[0].At.Equal(want[0].At) ||
				a.Approvers[1].Login != "carol" || !a.Approvers[1].At.Equal(want[1].At) {
				t.Errorf("approval %+v, want approvers %+v (UTC, whole seconds)", a, want)
			}
		})
	}
}

// Results are recorded per change; stale and failed ones are problems.
func TestApplyRecordsEveryOutcome(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.crm.put("contacts", "1002", map[string]string{"jobtitle": "CTO"}, "")
	fx.crm.put("contacts", "1003", map[string]string{"jobtitle": "CFO"}, "")
	fx.crm.put("contacts", "1004", map[string]string{"jobtitle": "VP Sales"}, "")
	m := fx.merge(idA, pathA, encode(t, idA,
		set("c1", "1001", "jobtitle", "", "VP Sales"), // applied
		set("c2", "1002", "jobtitle", "", "VP Sales"), // stale
		set("c3", "1003", "jobtitle", "", "VP Sales"), // stale
		set("c4", "1004", "jobtitle", "", "VP Sales"), // already applied
		set("c5", "4040", "jobtitle", "", "VP Sales"), // failed
	))
	_ = m
	rep := fx.run(Options{})
	br := rep.Batches[0]
	if br.Counts[batch.StatusApplied] != 1 || br.Counts[batch.StatusStale] != 2 || br.Counts[batch.StatusAlreadyApplied] != 1 || br.Counts[batch.StatusFailed] != 1 {
		t.Fatalf("counts %v", br.Counts)
	}
	if rep.Problems() != 3 {
		t.Errorf("problems = %d, want 3 (two stale, one failed)", rep.Problems())
	}
	rc := fx.receipt(pathA)
	var got []string
	for _, c := range rc.Changes {
		got = append(got, c.ID+":"+c.Status+":"+c.ObservedBefore)
	}
	if want := []string{"c1:applied:", "c2:stale:CTO", "c3:stale:CFO", "c4:already_applied:VP Sales", "c5:failed:"}; !slices.Equal(got, want) {
		t.Errorf("receipt changes %v, want %v", got, want)
	}
	if rc.Changes[1].Error == "" || rc.Changes[4].Error != "record not found" {
		t.Errorf("errors not recorded: %+v", rc.Changes)
	}
	if subject := strings.SplitN(fx.tip().Message, "\n", 2)[0]; subject != "Apply batch "+idA+": 1 applied, 1 already_applied, 2 stale, 1 failed" {
		t.Errorf("subject %q", subject)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	if got := Summary(nil); got != "nothing to do" {
		t.Errorf("Summary(nil) = %q", got)
	}
	got := Summary(map[string]int{batch.StatusSkipped: 2, batch.StatusApplied: 1, batch.StatusFailed: 0})
	if got != "1 applied, 2 skipped" {
		t.Errorf("Summary = %q", got)
	}
}

// Changes go to the CRM in chunks of ChunkSize consecutive changes of one
// op, each kind of op to its own call, and the receipt keeps the batch's
// order.
func TestApplyChunksChangesByOp(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.crm.put("contacts", "1006", map[string]string{}, "1001")
	m := fx.merge(idA, pathA, encode(t, idA,
		set("c1", "1001", "jobtitle", "", "A"),
		set("c2", "1002", "jobtitle", "", "B"),
		set("c3", "1003", "jobtitle", "", "C"),
		mergeOf("c4", batch.OpMerge, "1001", "1004"),
		mergeOf("c5", batch.OpMerge, "1001", "1005"),
		mergeOf("c6", batch.OpUnmerge, "1001", "1006"),
		set("c7", "1007", "jobtitle", "", "D"),
	))
	m.Decision, m.Approvals = batch.ModeApproved, []forge.Approval{bob}
	r := fx.runner()
	r.ChunkSize = 2
	var after []int
	r.AfterChunk = func(id string, done int) {
		if id != idA {
			t.Errorf("AfterChunk for %q", id)
		}
		after = append(after, done)
	}
	if _, err := r.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"set 1001.jobtitle,1002.jobtitle", "set 1003.jobtitle", "merge 1004>1001,1005>1001", "unmerge 1006>1001", "set 1007.jobtitle"}
	if got := fx.crm.writes(); !slices.Equal(got, want) {
		t.Errorf("CRM calls\n %q\nwant\n %q", got, want)
	}
	if !slices.Equal(after, []int{2, 3, 5, 6, 7}) {
		t.Errorf("AfterChunk saw %v", after)
	}
	rc := fx.receipt(pathA)
	var ids []string
	for _, c := range rc.Changes {
		ids = append(ids, c.ID+":"+c.Status)
	}
	if !slices.Equal(ids, []string{"c1:applied", "c2:applied", "c3:applied", "c4:applied", "c5:applied", "c6:applied", "c7:applied"}) {
		t.Errorf("receipt %v", ids)
	}
	if fx.crm.records["contacts"]["1004"].MergedInto != "1001" || fx.crm.records["contacts"]["1006"].MergedInto != "" {
		t.Error("the merge or the unmerge did not reach the CRM")
	}
}

func TestApplyDefaultsToChunksOfAHundred(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	var changes []batch.Change
	for i := 1; i <= 9; i++ {
		changes = append(changes, set("c"+string(rune('0'+i)), "100"+string(rune('0'+i)), "jobtitle", "", "X"))
	}
	fx.merge(idA, pathA, encode(t, idA, changes...))
	fx.run(Options{})
	if got := fx.crm.writes(); len(got) != 1 {
		t.Errorf("%d CRM calls for nine changes, want one: %v", len(got), got)
	}
}

// chunkedCRM is a CRM that asks for chunks of four changes.
type chunkedCRM struct{ *fakeCRM }

func (chunkedCRM) ApplyChunk() int { return 4 }

func TestApplyHandsACRMTheChunkItAsksFor(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	var changes []batch.Change
	for i := 1; i <= 9; i++ {
		changes = append(changes, set("c"+string(rune('0'+i)), "100"+string(rune('0'+i)), "jobtitle", "", "X"))
	}
	fx.merge(idA, pathA, encode(t, idA, changes...))
	r := fx.runner()
	r.CRM = chunkedCRM{fx.crm}
	if _, err := r.Run(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := fx.crm.writes(); len(got) != 3 {
		t.Errorf("%d CRM calls for nine changes in chunks of four, want 3: %v", len(got), got)
	}
}

// The CRM failing a whole call, or answering for fewer changes than asked,
// stops apply before it records a receipt.
func TestApplyStopsOnACRMFailure(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		setup func(fx *fixture)
		want  string
	}{
		{"the call fails", func(fx *fixture) { fx.crm.fail = func(int) error { return errors.New("503 from the CRM") } }, "crm: 503 from the CRM"},
		{"too few results", func(fx *fixture) { fx.crm.short = true }, "crm returned 1 results for 2 changes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			fx.merge(idA, pathA, encode(t, idA, set("c1", "1001", "jobtitle", "", "A"), set("c2", "1002", "jobtitle", "", "B")))
			tt.setup(fx)
			_, err := fx.runner().Run(context.Background(), Options{})
			if err == nil || !strings.Contains(err.Error(), "apply "+idA+": "+tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if fx.hasReceipt(pathA) {
				t.Error("a receipt was committed for a batch that did not finish")
			}
		})
	}
}

func TestApplyStopsWhenTheEvidenceCannotBeRead(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, auto))
	fx.ev.err = errors.New("GitHub is down")
	_, err := fx.runner().Run(context.Background(), Options{})
	if err == nil || !strings.Contains(err.Error(), "GitHub is down") {
		t.Fatalf("err = %v", err)
	}
	if fx.hasReceipt(pathA) || len(fx.crm.writes()) != 0 {
		t.Error("apply went on without evidence")
	}
}

// A run killed mid-batch resumes from its saved progress: changes already
// done are neither sent again nor recorded twice.
func TestApplyResumesFromSavedProgress(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA,
		set("c1", "1001", "jobtitle", "", "A"),
		set("c2", "1002", "jobtitle", "", "B"),
		set("c3", "1003", "jobtitle", "", "C"),
	))
	r := fx.runner()
	r.ChunkSize = 1
	fx.crm.fail = func(call int) error {
		if call == 2 {
			return errors.New("killed")
		}
		return nil
	}
	if _, err := r.Run(context.Background(), Options{}); err == nil {
		t.Fatal("the interrupted run reported success")
	}
	partial := fx.ws.Path(".crmops/partial/" + idA + batch.ReceiptSuffix)
	data, err := os.ReadFile(partial)
	if err != nil {
		t.Fatalf("no saved progress: %v", err)
	}
	saved, err := batch.DecodeReceipt(partial, data)
	if err != nil || len(saved.Changes) != 1 || saved.Changes[0].ID != "c1" || saved.Changes[0].Status != batch.StatusApplied {
		t.Fatalf("saved progress %+v (%v), want c1 applied", saved, err)
	}
	if _, err := os.Stat(partial + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file was left: %v", err)
	}
	if fx.hasReceipt(pathA) {
		t.Fatal("an unfinished batch has a receipt")
	}

	fx.crm.fail = nil
	fx.crm.calls = nil
	rep := fx.run(Options{})
	if got := fx.crm.writes(); !slices.Equal(got, []string{"set 1002.jobtitle,1003.jobtitle"}) {
		t.Errorf("the resumed run sent %v, want only c2 and c3", got)
	}
	if rep.Batches[0].Counts[batch.StatusApplied] != 3 {
		t.Errorf("counts %v, want three applied", rep.Batches[0].Counts)
	}
	rc := fx.receipt(pathA)
	var got []string
	for _, c := range rc.Changes {
		got = append(got, c.ID+":"+c.Status+":"+c.At.Format(time.TimeOnly))
	}
	if !slices.Equal(got, []string{"c1:applied:06:00:00", "c2:applied:06:00:01", "c3:applied:06:00:01"}) {
		t.Errorf("receipt %v: c1 keeps the result of the first run", got)
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the partial receipt outlived the receipt: %v", err)
	}
}

// Progress saved out of the batch's order is put back in it.
func TestApplyKeepsTheBatchsOrderWhenResuming(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA,
		set("c1", "1001", "jobtitle", "", "A"),
		set("c2", "1002", "jobtitle", "", "B"),
		set("c3", "1003", "jobtitle", "", "C"),
	))
	partial := fx.ws.Path(".crmops/partial/" + idA + batch.ReceiptSuffix)
	saved := &batch.Receipt{Version: 1, Batch: idA, Approval: batch.Approval{Mode: batch.ModeAuto}, ExecutedBy: "crmops/old", BatchBlob: fx.blob(pathA),
		Changes: []batch.ChangeResult{{ID: "c3", Status: batch.StatusStale, ObservedBefore: "X", After: "C", At: t0}}}
	data, err := batch.Encode(saved)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(partial), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(partial, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fx.run(Options{})
	if got := fx.crm.writes(); !slices.Equal(got, []string{"set 1001.jobtitle,1002.jobtitle"}) {
		t.Errorf("CRM calls %v", got)
	}
	rc := fx.receipt(pathA)
	var got []string
	for _, c := range rc.Changes {
		got = append(got, c.ID+":"+c.Status)
	}
	if !slices.Equal(got, []string{"c1:applied", "c2:applied", "c3:stale"}) {
		t.Errorf("receipt %v, want the batch's order with c3 as saved", got)
	}
	if rc.ExecutedBy != "crmops/test" || rc.Approval.Policy == "" {
		t.Errorf("the resumed receipt keeps the old run's approval: %+v", rc)
	}
}

func TestApplyIgnoresUnreadableProgress(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, auto))
	partial := fx.ws.Path(".crmops/partial/" + idA + batch.ReceiptSuffix)
	if err := os.MkdirAll(filepath.Dir(partial), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(partial, []byte("version: 1\nbatch: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := fx.run(Options{})
	if rep.Batches[0].Counts[batch.StatusApplied] != 1 {
		t.Errorf("report %+v", rep.Batches)
	}
	if !strings.Contains(fx.log.String(), idA+": ignoring unreadable partial receipt") {
		t.Errorf("log %q does not mention the unreadable partial", fx.log.String())
	}
}

// A full run removes progress of batches no longer pending; a run of one
// batch, or a dry run, keeps every other batch's progress.
func TestSweepKeepsTheProgressOfPendingBatches(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, set("c1", "1001", "jobtitle", "", "A"), set("c2", "1002", "jobtitle", "", "B")))
	fx.merge(idB, pathB, encode(t, idB, set("c1", "1003", "jobtitle", "", "C")))
	dir := fx.ws.Path(".crmops/partial")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, "20261101T000000Z-gone-000000"+batch.ReceiptSuffix)
	if err := os.WriteFile(stray, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A is interrupted after its first change.
	r := fx.runner()
	r.ChunkSize = 1
	fx.crm.fail = func(call int) error {
		if call == 2 {
			return errors.New("killed")
		}
		return nil
	}
	if _, err := r.Run(context.Background(), Options{Batch: idA}); err == nil {
		t.Fatal("no error")
	}
	fx.crm.fail = nil
	partialA := filepath.Join(dir, idA+batch.ReceiptSuffix)
	for _, opts := range []Options{{Batch: idB}, {DryRun: true}} {
		fx.run(opts)
		for _, p := range []string{partialA, stray} {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("a run with %+v removed %s: %v", opts, filepath.Base(p), err)
			}
		}
	}
	if !fx.hasReceipt(pathB) || fx.hasReceipt(pathA) {
		t.Fatal("the run of batch B did not apply just B")
	}
	fx.crm.calls = nil
	fx.run(Options{})
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the progress of a batch no longer pending survived a full run: %v", err)
	}
	if got := fx.crm.writes(); !slices.Equal(got, []string{"set 1002.jobtitle"}) {
		t.Errorf("the full run sent %v, want only A's second change", got)
	}
}

// Pending batches run oldest first by id, wherever they are sharded; a
// receipt goes beside its batch.
func TestApplyRunsBatchesInIDOrderAndPutsReceiptsBesideThem(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	// git lists proposals/a/ before proposals/z/; the ids sort the other way.
	pA, pB := "proposals/z/"+idA+".yaml", "proposals/a/"+idB+".yaml"
	fx.merge(idA, pA, encode(t, idA, set("c1", "1001", "jobtitle", "", "A")))
	fx.merge(idB, pB, encode(t, idB, set("c1", "1002", "jobtitle", "", "B")))
	rep := fx.run(Options{})
	if len(rep.Batches) != 2 || rep.Batches[0].Batch != idA || rep.Batches[1].Batch != idB {
		t.Fatalf("report %+v, want %s then %s", rep.Batches, idA, idB)
	}
	if got := fx.crm.writes(); !slices.Equal(got, []string{"set 1001.jobtitle", "set 1002.jobtitle"}) {
		t.Errorf("CRM calls %v", got)
	}
	for _, p := range []string{pA, pB} {
		if !fx.hasReceipt(p) {
			t.Errorf("no receipt beside %s", p)
		}
	}
}

func TestApplyOfOneBatch(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, set("c1", "1001", "jobtitle", "", "A")))
	fx.merge(idB, pathB, encode(t, idB, set("c1", "1002", "jobtitle", "", "B")))
	rep := fx.run(Options{Batch: idB})
	if len(rep.Batches) != 1 || rep.Batches[0].Batch != idB || fx.hasReceipt(pathA) {
		t.Fatalf("report %+v, want only %s", rep.Batches, idB)
	}
	if rep := fx.run(Options{Batch: idB}); len(rep.Batches) != 0 {
		t.Errorf("an applied batch was pending again: %+v", rep.Batches)
	}
	_, err := fx.runner().Run(context.Background(), Options{Batch: "20261124T090000Z-nothing-000000"})
	if err == nil || !strings.Contains(err.Error(), "batch 20261124T090000Z-nothing-000000 is not on main (is it merged?)") {
		t.Errorf("err = %v, want the batch reported missing", err)
	}
}

// A dry run predicts each change from the CRM's current values and changes
// nothing.
func TestDryRunPredictsEveryChange(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	c := fx.crm
	c.put("contacts", "1002", map[string]string{"jobtitle": "VP Sales"}, "")
	c.put("contacts", "1003", map[string]string{"jobtitle": "CFO"}, "")
	// merges: 2001 ← 2002 live; 2003 already merged into 2001; 2004 and
	// 2001 both merged into 2999 (HubSpot's new id); 2005 merged elsewhere.
	for _, id := range []string{"2001", "2002", "2999", "2998"} {
		c.put("contacts", id, map[string]string{}, "")
	}
	c.put("contacts", "2003", nil, "2001")
	c.put("contacts", "2004", nil, "2999")
	c.put("contacts", "2005", nil, "2998")
	c.put("contacts", "2010", nil, "2999")
	c.put("contacts", "3001", map[string]string{}, "")
	c.put("contacts", "3002", nil, "3001")
	c.put("contacts", "3003", nil, "")
	c.put("contacts", "3004", nil, "2998")
	m := fx.merge(idA, pathA, encode(t, idA,
		set("s1", "1001", "jobtitle", "", "VP Sales"),
		set("s2", "1002", "jobtitle", "", "VP Sales"),
		set("s3", "1003", "jobtitle", "", "VP Sales"),
		set("s4", "4040", "jobtitle", "", "VP Sales"),
		mergeOf("m1", batch.OpMerge, "2001", "2002"),
		mergeOf("m2", batch.OpMerge, "2001", "2003"),
		mergeOf("m3", batch.OpMerge, "2010", "2004"),
		mergeOf("m4", batch.OpMerge, "2001", "2005"),
		mergeOf("u1", batch.OpUnmerge, "3001", "3002"),
		mergeOf("u2", batch.OpUnmerge, "3001", "3003"),
		mergeOf("u3", batch.OpUnmerge, "3001", "3004"),
	))
	m.Decision, m.Approvals = batch.ModeApproved, []forge.Approval{bob}
	rep := fx.run(Options{DryRun: true})
	br := rep.Batches[0]
	var got []string
	for _, p := range br.Planned {
		got = append(got, p.Change+":"+p.Status+":"+p.Observed)
	}
	want := []string{
		"s1:applied:", "s2:already_applied:VP Sales", "s3:stale:CFO", "s4:failed:",
		"m1:applied:", "m2:already_applied:2001", "m3:already_applied:2999", "m4:stale:2998",
		"u1:applied:3001", "u2:already_applied:", "u3:stale:2998",
	}
	if !slices.Equal(got, want) {
		t.Errorf("planned\n %q\nwant\n %q", got, want)
	}
	if br.Mode != batch.ModeApproved || br.Counts[batch.StatusApplied] != 3 || br.Counts[batch.StatusAlreadyApplied] != 4 ||
		br.Counts[batch.StatusStale] != 3 || br.Counts[batch.StatusFailed] != 1 {
		t.Errorf("mode %s counts %v", br.Mode, br.Counts)
	}
	if len(c.writes()) != 0 || fx.hasReceipt(pathA) {
		t.Error("a dry run changed something")
	}
	if _, err := os.Stat(fx.ws.Path(".crmops/partial/" + idA + batch.ReceiptSuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Error("a dry run saved progress")
	}
}

// While another apply holds the lock, Run waits for it before reading or
// changing anything, and goes on once it is released.
func TestApplyWaitsForTheLock(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.merge(idA, pathA, encode(t, idA, auto))
	f, err := os.OpenFile(fx.ws.Path(".crmops/apply.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := fx.runner().Run(context.Background(), Options{})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Run did not wait for the lock (err = %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if len(fx.ev.questions()) != 0 || len(fx.crm.writes()) != 0 {
		t.Fatal("Run went on while the lock was held")
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not take the released lock")
	}
	if !fx.hasReceipt(pathA) {
		t.Error("the batch was not applied after the lock was released")
	}
	// The lock is released when Run returns.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Errorf("Run kept the lock: %v", err)
	}
}

func TestLockNeedsItsDirectory(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ensureDir(filepath.Join(file, "sub", "apply.lock")); err == nil {
		t.Error("ensureDir under a regular file succeeded")
	}
	if unlock, err := lock(filepath.Join(file, "apply.lock")); err == nil {
		unlock()
		t.Error("lock under a regular file succeeded")
	}
	if err := ensureDir(filepath.Join(t.TempDir(), "a", "b", "apply.lock")); err != nil {
		t.Error(err)
	}
}

func TestProblemsCountsRefusalsStaleAndFailed(t *testing.T) {
	t.Parallel()
	r := &Report{Batches: []BatchReport{
		{Counts: map[string]int{batch.StatusStale: 2, batch.StatusFailed: 1, batch.StatusApplied: 5}},
		{Refused: "no", Counts: map[string]int{}},
		{Counts: map[string]int{batch.StatusAlreadyApplied: 1, batch.StatusSkipped: 1}},
	}}
	if n := r.Problems(); n != 4 {
		t.Errorf("problems = %d, want 4", n)
	}
}
