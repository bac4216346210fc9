package batch_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/strictyaml"
)

func TestDecodeSpecReceipt(t *testing.T) {
	name := "proposals/" + specID + batch.ReceiptSuffix
	data, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := batch.DecodeReceipt(name, data)
	if err != nil {
		t.Fatalf("the SPEC's example receipt does not decode: %v", err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"the batch is named", r.Batch, specID},
		{"the approval mode is read", r.Approval.Mode, batch.ModeAuto},
		{"the deciding rules are read", r.Approval.Rules, []string{"enrichment-fill-empty"}},
		{"the pull request is read", r.Approval.PullRequest, 42},
		{"an empty list of approvers is read", len(r.Approval.Approvers), 0},
		{"the change's status is read", r.Changes[0].Status, batch.StatusApplied},
		{"the execution time is read", r.Changes[0].At, time.Date(2026, 11, 24, 9, 13, 5, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestReceiptRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 12, 0, 0, time.UTC)
	tests := []struct {
		name    string
		receipt batch.Receipt
	}{
		{
			name: "an auto receipt survives encode and decode",
			receipt: batch.Receipt{
				Version: 1, Batch: "b1", ExecutedBy: "crmops/dev", MergeCommit: "abc123",
				Approval: batch.Approval{Mode: batch.ModeAuto, Policy: "policies/default.yaml@abc", Rules: []string{"enrichment-fill-empty"}, PullRequest: 4},
				Changes: []batch.ChangeResult{
					{ID: "c1", Status: batch.StatusApplied, ObservedBefore: "", After: "VP Sales", At: at},
					{ID: "c2", Status: batch.StatusStale, ObservedBefore: "CEO", After: "VP Sales", At: at, Error: "before no longer matches"},
				},
			},
		},
		{
			name: "an approved receipt keeps its approvers",
			receipt: batch.Receipt{
				Version: 1, Batch: "b1", ExecutedBy: "crmops/dev",
				Approval: batch.Approval{Mode: batch.ModeApproved, Approvers: []batch.Approver{{Login: "alice", At: at}, {Login: "bob", At: at.Add(time.Minute)}}, Rules: []string{"dedupe-always-review"}},
				Changes:  []batch.ChangeResult{{ID: "c1", Status: batch.StatusAlreadyApplied, ObservedBefore: "x", After: "x", At: at}},
			},
		},
		{
			name: "a refused receipt keeps its reason",
			receipt: batch.Receipt{
				Version: 1, Batch: "b1", ExecutedBy: "crmops/dev",
				Approval: batch.Approval{Mode: batch.ModeRefused, Refused: "no approval evidence"},
				Changes:  []batch.ChangeResult{{ID: "c1", Status: batch.StatusSkipped, At: at}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, err := batch.Encode(&tt.receipt)
			if err != nil {
				t.Fatal(err)
			}
			r, err := batch.DecodeReceipt("proposals/2026-11/b1"+batch.ReceiptSuffix, first)
			if err != nil {
				t.Fatalf("encoded receipt does not decode: %v\n%s", err, first)
			}
			got := *r
			// Positions are where the decoder found things, not content.
			got.Pos, got.Approval.Pos = strictyaml.Pos{}, strictyaml.Pos{}
			got.Changes = append([]batch.ChangeResult(nil), got.Changes...)
			for i := range got.Changes {
				got.Changes[i].Pos = strictyaml.Pos{}
			}
			if !reflect.DeepEqual(normalReceipt(got), normalReceipt(tt.receipt)) {
				t.Errorf("round trip changed the receipt:\n got %+v\nwant %+v", got, tt.receipt)
			}
			second, err := batch.Encode(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Errorf("second encoding differs:\n--- first\n%s--- second\n%s", first, second)
			}
		})
	}
}

// normalReceipt treats nil and empty lists alike.
func normalReceipt(r batch.Receipt) batch.Receipt {
	if len(r.Approval.Approvers) == 0 {
		r.Approval.Approvers = nil
	}
	if len(r.Approval.Rules) == 0 {
		r.Approval.Rules = nil
	}
	return r
}

func TestDecodeReceiptErrors(t *testing.T) {
	const valid = "version: 1\nbatch: b1\napproval:\n  mode: auto\nexecuted_by: crmops/dev\nchanges:\n  - id: c1\n    status: applied\n"
	tests := []struct {
		name string
		file string
		data string
		want []string
	}{
		{"a receipt for another batch is refused", "proposals/b2.receipt.yaml", valid, []string{"proposals/b2.receipt.yaml:2: batch:", "differs from the file name"}},
		{"an unknown key is refused", "proposals/b1.receipt.yaml", valid + "signed_by: x\n", []string{"proposals/b1.receipt.yaml:9: signed_by: unknown key"}},
		{"a receipt without approval is refused", "proposals/b1.receipt.yaml", strings.Replace(valid, "approval:\n  mode: auto\n", "", 1), []string{"proposals/b1.receipt.yaml:1: approval: missing required key"}},
		{"an unsupported version is refused", "proposals/b1.receipt.yaml", strings.Replace(valid, "version: 1", "version: 9", 1), []string{"proposals/b1.receipt.yaml:1: version:", "unsupported version"}},
		{"an unknown status is refused", "proposals/b1.receipt.yaml", strings.Replace(valid, "status: applied", "status: done", 1), []string{"proposals/b1.receipt.yaml", "changes", "status", `unknown status "done"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := batch.DecodeReceipt(tt.file, []byte(tt.data))
			if err == nil {
				t.Fatal("DecodeReceipt succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("an unknown status names the line and the change's key path", func(t *testing.T) {
		_, err := batch.DecodeReceipt("proposals/b1.receipt.yaml", []byte(strings.Replace(valid, "status: applied", "status: done", 1)))
		if want := "proposals/b1.receipt.yaml:8: changes[0].status: "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error = %v, want it to start with %q", err, want)
		}
	})
	t.Run("an unknown approval mode is refused", func(t *testing.T) {
		_, err := batch.DecodeReceipt("proposals/b1.receipt.yaml", []byte(strings.Replace(valid, "mode: auto", "mode: yolo", 1)))
		if want := "proposals/b1.receipt.yaml:4: approval.mode: "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error = %v, want it to start with %q", err, want)
		}
	})
}

func TestReceiptComplete(t *testing.T) {
	b := &batch.Batch{Changes: []batch.Change{{ID: "c1"}, {ID: "c2"}}}
	results := func(ids ...string) *batch.Receipt {
		r := &batch.Receipt{}
		for _, id := range ids {
			r.Changes = append(r.Changes, batch.ChangeResult{ID: id, Status: batch.StatusApplied})
		}
		return r
	}
	tests := []struct {
		name    string
		receipt *batch.Receipt
		want    bool
	}{
		{"a receipt with a result for every change is complete", results("c1", "c2"), true},
		{"results in another order still complete the receipt", results("c2", "c1"), true},
		{"a receipt missing one change is not complete", results("c1"), false},
		{"an empty receipt is not complete", results(), false},
		{"results for other changes do not complete it", results("c1", "c3"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.receipt.Complete(b); got != tt.want {
				t.Errorf("Complete = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("Result finds a change's outcome by id", func(t *testing.T) {
		r := results("c1", "c2")
		r.Changes[1].Status = batch.StatusFailed
		if got, ok := r.Result("c2"); !ok || got.Status != batch.StatusFailed {
			t.Errorf("Result(c2) = %+v, %v", got, ok)
		}
		if _, ok := r.Result("c9"); ok {
			t.Error("Result(c9) found a result that does not exist")
		}
	})
}

func TestRejectionRoundTrip(t *testing.T) {
	set := batch.Change{ID: "c1", Kind: "enrichment", Object: "contacts", Record: "1001", Op: batch.OpSet, Field: "jobtitle", Before: "", After: "VP Sales", Source: "clay", Confidence: 0.97}
	merge := batch.Change{ID: "c2", Kind: "dedupe", Object: "contacts", Record: "1001", Op: batch.OpMerge, MergeFrom: "1002", Source: "dedupe", Confidence: 0.9}
	rej := batch.Rejection{
		Version: 1, Batch: "b1", RejectedBy: "alice", At: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC),
		Reason: "wrong person", PullRequest: 7,
		Changes: []batch.RejectedChange{batch.Rejected(set), batch.Rejected(merge)},
	}
	first, err := batch.Encode(&rej)
	if err != nil {
		t.Fatal(err)
	}
	got, err := batch.DecodeRejection("proposals/b1"+batch.RejectionSuffix, first)
	if err != nil {
		t.Fatalf("encoded rejection does not decode: %v\n%s", err, first)
	}

	t.Run("a rejection survives encode and decode", func(t *testing.T) {
		g := *got
		g.Pos = strictyaml.Pos{}
		if !reflect.DeepEqual(g, rej) {
			t.Errorf("got %+v\nwant %+v", g, rej)
		}
	})
	t.Run("encoding a decoded rejection gives identical bytes", func(t *testing.T) {
		second, _ := batch.Encode(got)
		if !bytes.Equal(first, second) {
			t.Errorf("second encoding differs:\n%s\n%s", first, second)
		}
	})
	t.Run("a rejected change keeps the key of the change it came from", func(t *testing.T) {
		for i, c := range []batch.Change{set, merge} {
			if got.Changes[i].Key() != c.RejectionKey() {
				t.Errorf("change %s: key after round trip differs", c.ID)
			}
		}
	})
	t.Run("the same change with another value has another key", func(t *testing.T) {
		other := set
		other.After = "CEO"
		if other.RejectionKey() == set.RejectionKey() {
			t.Error("a different after gives the same rejection key")
		}
	})
	t.Run("the same change with another confidence or source has the same key", func(t *testing.T) {
		other := set
		other.Confidence, other.Source, other.ID, other.Before = 0.5, "zoominfo", "c9", "old"
		if other.RejectionKey() != set.RejectionKey() {
			t.Error("confidence, source, id or before changed the rejection key")
		}
	})
	t.Run("a rejection with an unknown key is refused with file and line", func(t *testing.T) {
		_, err := batch.DecodeRejection("proposals/b1.rejected.yaml", append(append([]byte(nil), first...), "approved: true\n"...))
		if err == nil || !strings.Contains(err.Error(), "proposals/b1.rejected.yaml:") || !strings.Contains(err.Error(), "approved: unknown key") {
			t.Errorf("error = %v", err)
		}
	})
}
